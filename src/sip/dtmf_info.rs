//! DTMF carried in SIP INFO bodies: `application/dtmf-relay` (key=value
//! lines, `Signal=5` and `Duration=160`) and `application/dtmf` (the
//! digit alone). Neither has a published grammar; what is read here is
//! what phones and gateways send, leniently: keys in any case, spaces
//! around keys and values, CRLF or bare LF, and 10/11 for `*`/`#`.
//! INFO itself is RFC 6086; these bodies predate its packages.

use crate::media::dtmf::DtmfDigit;

pub const DTMF_RELAY: &str = "application/dtmf-relay";
pub const DTMF: &str = "application/dtmf";

/// Why an INFO body gives no digit; [`InfoError::status_code`] is the
/// answer to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    #[error("content type is neither {DTMF_RELAY} nor {DTMF}")]
    UnsupportedContentType,
    #[error("body is not text")]
    NotText,
    #[error("no Signal in the body")]
    MissingSignal,
    #[error("more than one Signal in the body")]
    DuplicateSignal,
    #[error("Signal is not a DTMF digit")]
    BadSignal,
    #[error("Duration is not a whole number of milliseconds")]
    BadDuration,
}

impl InfoError {
    /// 415 names a type we do not read (RFC 3261 §21.4.13); anything else
    /// is a malformed body, 400 (RFC 3261 §21.4.1).
    pub fn status_code(&self) -> u16 {
        match self {
            InfoError::UnsupportedContentType => 415,
            _ => 400,
        }
    }
}

/// The body kinds this reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    DtmfRelay,
    Dtmf,
}

impl BodyKind {
    /// Reads a Content-Type value: case-insensitive, parameters ignored.
    pub fn from_content_type(value: &str) -> Option<Self> {
        let media = value.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case(DTMF_RELAY) {
            Some(BodyKind::DtmfRelay)
        } else if media.eq_ignore_ascii_case(DTMF) {
            Some(BodyKind::Dtmf)
        } else {
            None
        }
    }
}

/// The digit of an INFO body and its duration in milliseconds when the
/// body states one (a zero duration is taken as not stated).
pub fn parse_body(content_type: &str, body: &[u8]) -> Result<(DtmfDigit, Option<u32>), InfoError> {
    match BodyKind::from_content_type(content_type) {
        Some(BodyKind::DtmfRelay) => parse_dtmf_relay(body),
        Some(BodyKind::Dtmf) => parse_dtmf(body).map(|digit| (digit, None)),
        None => Err(InfoError::UnsupportedContentType),
    }
}

/// `application/dtmf-relay`: `Signal=` and an optional `Duration=` line;
/// other keys and lines without `=` are ignored.
pub fn parse_dtmf_relay(body: &[u8]) -> Result<(DtmfDigit, Option<u32>), InfoError> {
    let text = std::str::from_utf8(body).map_err(|_| InfoError::NotText)?;
    let mut signal = None;
    let mut duration = None;
    // Splitting on CR and on LF takes CRLF, bare LF and bare CR line ends
    // alike; the empty piece inside a CRLF has no `=` and is skipped.
    for line in text.split(['\n', '\r']) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("signal") {
            if signal.is_some() {
                return Err(InfoError::DuplicateSignal);
            }
            signal = Some(parse_signal(value)?);
        } else if key.eq_ignore_ascii_case("duration") {
            let ms: u32 = value.parse().map_err(|_| InfoError::BadDuration)?;
            duration = Some(ms).filter(|ms| *ms > 0);
        }
    }
    let digit = signal.ok_or(InfoError::MissingSignal)?;
    Ok((digit, duration))
}

/// `application/dtmf`: the body is the digit.
pub fn parse_dtmf(body: &[u8]) -> Result<DtmfDigit, InfoError> {
    let text = std::str::from_utf8(body).map_err(|_| InfoError::NotText)?;
    let value = text.trim();
    if value.is_empty() {
        return Err(InfoError::MissingSignal);
    }
    parse_signal(value)
}

/// One digit character (any case), or an event code 0-15 written out, as
/// some gateways send 10 and 11 for `*` and `#` (RFC 4733 §3.2 codes).
fn parse_signal(value: &str) -> Result<DtmfDigit, InfoError> {
    let mut chars = value.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (Some(c), None, _) => DtmfDigit::from_char(c.to_ascii_uppercase()),
        (Some('1'), Some(second), None) if second.is_ascii_digit() => {
            // Two digits: "10" to "15".
            let code = 10 + second as u8 - b'0';
            DtmfDigit::from_event_code(code)
        }
        _ => None,
    }
    .ok_or(InfoError::BadSignal)
}

/// An `application/dtmf-relay` body, in the form phones send.
pub fn dtmf_relay_body(digit: DtmfDigit, duration_ms: u32) -> String {
    format!("Signal={}\r\nDuration={}\r\n", digit.to_char(), duration_ms)
}

/// An `application/dtmf` body.
pub fn dtmf_body(digit: DtmfDigit) -> String {
    digit.to_char().to_string()
}

#[cfg(test)]
mod tests;
