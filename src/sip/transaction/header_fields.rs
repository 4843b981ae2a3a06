//! The few header field values transaction matching reads, taken from the
//! raw header text: rsip's typed parsers reject some valid forms (IPv6 URIs
//! in From/To), and matching must not depend on them.

use rsip::headers::UntypedHeader;
use rsip::Header;

use super::TransactionError;

/// CSeq sequence number and method (RFC 3261 §20.16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeqValue {
    pub seq: u32,
    pub method: String,
}

pub fn cseq(headers: &rsip::Headers) -> Result<CSeqValue, TransactionError> {
    let value = headers
        .iter()
        .find_map(|header| match header {
            Header::CSeq(cseq) => Some(cseq.value()),
            _ => None,
        })
        .ok_or(TransactionError::BadHeader("CSeq"))?;
    let mut parts = value.split_whitespace();
    let seq = parts
        .next()
        .and_then(|seq| seq.parse().ok())
        .ok_or(TransactionError::BadHeader("CSeq"))?;
    let method = parts.next().ok_or(TransactionError::BadHeader("CSeq"))?;
    Ok(CSeqValue {
        seq,
        method: method.to_owned(),
    })
}

pub fn call_id(headers: &rsip::Headers) -> Result<&str, TransactionError> {
    headers
        .iter()
        .find_map(|header| match header {
            Header::CallId(call_id) => Some(call_id.value().trim()),
            _ => None,
        })
        .ok_or(TransactionError::BadHeader("Call-ID"))
}

pub fn from_tag(headers: &rsip::Headers) -> Result<Option<&str>, TransactionError> {
    headers
        .iter()
        .find_map(|header| match header {
            Header::From(from) => Some(tag_param(from.value())),
            _ => None,
        })
        .ok_or(TransactionError::BadHeader("From"))
}

pub fn to_tag(headers: &rsip::Headers) -> Result<Option<&str>, TransactionError> {
    headers
        .iter()
        .find_map(|header| match header {
            Header::To(to) => Some(tag_param(to.value())),
            _ => None,
        })
        .ok_or(TransactionError::BadHeader("To"))
}

/// The `tag` parameter of a From/To value. Parameters after a bare URI
/// (no angle brackets) belong to the header field (RFC 3261 §20.10).
pub fn tag_param(value: &str) -> Option<&str> {
    let params = match value.rfind('>') {
        Some(end) => &value[end + 1..],
        None => value,
    };
    params.split(';').skip(1).find_map(|param| {
        let (name, tag) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("tag")
            .then(|| tag.trim())
            .filter(|tag| !tag.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_after_angle_brackets_ignores_uri_params() {
        assert_eq!(
            tag_param("\"Bob\" <sip:bob@[2001:db8::1];tag=uri>;tag=abc ; x=y"),
            Some("abc")
        );
        assert_eq!(tag_param("<sip:bob@example.com;tag=uri>"), None);
    }

    #[test]
    fn tag_of_bare_uri() {
        assert_eq!(tag_param("sip:bob@example.com;TAG=1928"), Some("1928"));
        assert_eq!(tag_param("sip:bob@example.com"), None);
    }

    #[test]
    fn cseq_parts() {
        let headers: rsip::Headers =
            vec![Header::CSeq(rsip::headers::CSeq::new("  314159   INVITE "))].into();
        assert_eq!(
            cseq(&headers).unwrap(),
            CSeqValue {
                seq: 314159,
                method: "INVITE".into()
            }
        );
        let bad: rsip::Headers = vec![Header::CSeq(rsip::headers::CSeq::new("x INVITE"))].into();
        assert_eq!(cseq(&bad), Err(TransactionError::BadHeader("CSeq")));
    }
}
