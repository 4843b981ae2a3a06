//! The auth-param lists of `Authorization` and `WWW-Authenticate`
//! (RFC 7616 §3.3 and §3.4, RFC 3261 §25.1 for tokens and quoted strings).

use super::digest::DigestError;

/// `name=value` pairs; a name given twice is an error, since which of the
/// two to trust cannot be told.
pub(super) fn parse_params(text: &str) -> Result<Vec<(String, String)>, DigestError> {
    let mut params: Vec<(String, String)> = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or(DigestError::Syntax("parameter without ="))?;
        let name = rest[..eq].trim();
        if name.is_empty() || !name.chars().all(is_token_char) {
            return Err(DigestError::Syntax("bad parameter name"));
        }
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let (text, after) = quoted_string(quoted)?;
            value = text;
            rest = after;
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            if value.is_empty() || !value.chars().all(is_token_char) {
                return Err(DigestError::Syntax("bad parameter value"));
            }
            rest = &rest[end..];
        }
        if params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(DigestError::Repeated(name.to_string()));
        }
        params.push((name.to_string(), value));
        rest = rest.trim_start();
        match rest.strip_prefix(',') {
            Some(after) => rest = after.trim_start(),
            None if rest.is_empty() => {}
            None => return Err(DigestError::Syntax("missing comma between parameters")),
        }
    }
    Ok(params)
}

/// The text of a quoted string whose opening quote is already consumed,
/// and what follows its closing quote (RFC 3261 §25.1 quoted-pair).
fn quoted_string(text: &str) -> Result<(String, &str), DigestError> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            c if c.is_control() => return Err(DigestError::Syntax("control character")),
            c => value.push(c),
        }
    }
    Err(DigestError::Syntax("unterminated quoted string"))
}

/// RFC 3261 §25.1 token characters.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}
