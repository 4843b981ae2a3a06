//! A SIP message as received by the test user agent: parsed with `rsip`,
//! with the raw text kept so tests can look at exactly what arrived
//! (reason phrases and header spellings that typed parsing would normalise).

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::Bytes;
use tokio::time::Instant;

/// Why received bytes were not a SIP message.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("not a SIP message: {0}")]
    Parse(String),
    #[error("the SIP parser panicked on the input")]
    ParserPanicked,
}

/// One message received, with where and when it came from.
#[derive(Clone, Debug)]
pub struct ReceivedMessage {
    pub received_at: Instant,
    pub source: SocketAddr,
    pub raw: Bytes,
    pub message: rsip::SipMessage,
    start_line: String,
    headers: Vec<(String, String)>,
    body_start: usize,
}

impl ReceivedMessage {
    pub fn parse(
        raw: Bytes,
        source: SocketAddr,
        received_at: Instant,
    ) -> Result<ReceivedMessage, MessageError> {
        let (head, body_start) = match find_subslice(&raw, b"\r\n\r\n") {
            Some(i) => (&raw[..i], i + 4),
            None => (&raw[..], raw.len()),
        };
        // rsip does not unfold continuation lines; hand it an unfolded copy.
        let unfolded = unfold(head).map(|mut text| {
            text.extend_from_slice(&raw[head.len()..]);
            text
        });
        let for_rsip = unfolded.as_deref().unwrap_or(&raw[..]);
        // rsip is unmaintained and not fuzzed: contain any panic it raises.
        let parsed = catch_unwind(AssertUnwindSafe(|| rsip::SipMessage::try_from(for_rsip)))
            .map_err(|_| MessageError::ParserPanicked)?
            .map_err(|e| MessageError::Parse(e.to_string()))?;
        let head = String::from_utf8_lossy(head);
        let mut lines = head.split("\r\n");
        let start_line = lines.next().unwrap_or_default().to_string();
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                // Folded continuation line (RFC 3261 §7.3.1).
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
        Ok(ReceivedMessage {
            received_at,
            source,
            raw,
            message: parsed,
            start_line,
            headers,
            body_start,
        })
    }

    pub fn is_response(&self) -> bool {
        self.message.is_response()
    }

    pub fn is_request(&self) -> bool {
        self.message.is_request()
    }

    /// The first line, as sent.
    pub fn start_line(&self) -> &str {
        &self.start_line
    }

    pub fn status_code(&self) -> Option<u16> {
        match &self.message {
            rsip::SipMessage::Response(r) => Some(r.status_code().code()),
            rsip::SipMessage::Request(_) => None,
        }
    }

    /// The reason phrase exactly as sent.
    pub fn reason_phrase(&self) -> Option<&str> {
        if !self.is_response() {
            return None;
        }
        Some(self.start_line.splitn(3, ' ').nth(2).unwrap_or_default())
    }

    /// The request method, e.g. "BYE".
    pub fn method(&self) -> Option<&str> {
        if !self.is_request() {
            return None;
        }
        self.start_line.split(' ').next()
    }

    /// The request URI as sent.
    pub fn request_uri(&self) -> Option<&str> {
        if !self.is_request() {
            return None;
        }
        self.start_line.split(' ').nth(1)
    }

    /// Every header in order, names as sent.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of a header; compact forms count (RFC 3261 §7.3.3).
    pub fn header(&self, name: &str) -> Option<&str> {
        let wanted = full_header_name(name);
        self.headers
            .iter()
            .find(|(n, _)| full_header_name(n).eq_ignore_ascii_case(wanted))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, one per header line.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let wanted = full_header_name(name);
        self.headers
            .iter()
            .filter(move |(n, _)| full_header_name(n).eq_ignore_ascii_case(wanted))
            .map(|(_, v)| v.as_str())
    }

    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, &str)> {
        let mut parts = self.header("CSeq")?.split_ascii_whitespace();
        let number = parts.next()?.parse().ok()?;
        Some((number, parts.next()?))
    }

    pub fn from_tag(&self) -> Option<&str> {
        header_param(self.header("From")?, "tag")
    }

    pub fn to_tag(&self) -> Option<&str> {
        header_param(self.header("To")?, "tag")
    }

    /// The branch parameter of the top Via.
    pub fn top_via_branch(&self) -> Option<&str> {
        header_param(self.header("Via")?, "branch")
    }

    pub fn body(&self) -> &[u8] {
        &self.raw[self.body_start.min(self.raw.len())..]
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.body()).into_owned()
    }

    /// True for a response to `method` with a final status (≥ 200).
    pub fn is_final_response_to(&self, method: &str) -> bool {
        self.status_code().is_some_and(|s| s >= 200)
            && self
                .cseq()
                .is_some_and(|(_, m)| m.eq_ignore_ascii_case(method))
    }
}

/// The header section with folded lines joined (RFC 3261 §7.3.1), or
/// `None` when nothing is folded.
fn unfold(head: &[u8]) -> Option<Vec<u8>> {
    let folded = |w: &[u8]| w[0] == b'\r' && w[1] == b'\n' && (w[2] == b' ' || w[2] == b'\t');
    if !head.windows(3).any(folded) {
        return None;
    }
    let mut out = Vec::with_capacity(head.len());
    let mut i = 0;
    while i < head.len() {
        if head.len() - i >= 3 && folded(&head[i..i + 3]) {
            out.push(b' ');
            i += 2;
            while i < head.len() && (head[i] == b' ' || head[i] == b'\t') {
                i += 1;
            }
        } else {
            out.push(head[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Expands a compact header name (RFC 3261 §7.3.3); other names pass through.
pub fn full_header_name(name: &str) -> &str {
    crate::sip::message::expand_compact(name)
}

/// A header parameter such as `tag` or `branch`, looked for after the URI
/// (outside angle brackets, where URI parameters live).
pub fn header_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let params = match value.rfind('>') {
        Some(i) => &value[i + 1..],
        None => value,
    };
    params.split(';').skip(1).find_map(|p| {
        let (key, val) = p.split_once('=').unwrap_or((p, ""));
        key.trim().eq_ignore_ascii_case(name).then(|| val.trim())
    })
}

/// The URI of a name-addr or addr-spec header value (RFC 3261 §20.10).
pub fn header_uri(value: &str) -> &str {
    match (value.find('<'), value.find('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value.split(';').next().unwrap_or(value).trim(),
    }
}

/// Splits a header value holding a comma-separated list (RFC 3261 §7.3.1),
/// leaving commas inside quotes and angle brackets alone.
pub fn split_header_list(value: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut start, mut in_quotes, mut in_angle) = (0, false, false);
    for (i, ch) in value.char_indices() {
        match ch {
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => {
                items.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(value[start..].trim());
    items.retain(|item| !item.is_empty());
    items
}

pub(crate) fn find_subslice(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ReceivedMessage {
        ReceivedMessage::parse(
            Bytes::from(text.to_string()),
            "127.0.0.1:5060".parse().unwrap(),
            Instant::now(),
        )
        .unwrap()
    }

    #[test]
    fn response_fields_and_compact_headers() {
        let m = parse(
            "SIP/2.0 180 Ringing Loudly\r\n\
             v: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKabc;rport=1\r\n\
             Via: SIP/2.0/UDP 10.0.0.1:2;branch=z9hG4bKdef\r\n\
             f: <sip:a@x>;tag=111\r\n\
             To: \"Echo\" <sip:echo@x;transport=udp>;tag=222\r\n\
             i: call-1\r\n\
             CSeq: 7 INVITE\r\n\
             Subject: folded\r\n  continues\r\n\
             Content-Length: 4\r\n\r\nbody",
        );
        assert!(m.is_response());
        assert_eq!(m.status_code(), Some(180));
        assert_eq!(m.reason_phrase(), Some("Ringing Loudly"));
        assert_eq!(m.call_id(), Some("call-1"));
        assert_eq!(m.cseq(), Some((7, "INVITE")));
        assert_eq!(m.from_tag(), Some("111"));
        assert_eq!(m.to_tag(), Some("222"));
        assert_eq!(m.top_via_branch(), Some("z9hG4bKabc"));
        assert_eq!(m.header_values("Via").count(), 2);
        assert_eq!(m.header("subject"), Some("folded continues"));
        assert_eq!(m.body(), b"body");
        assert!(!m.is_final_response_to("INVITE"));
        assert_eq!(
            header_uri(m.header("To").unwrap()),
            "sip:echo@x;transport=udp"
        );
    }

    #[test]
    fn request_fields() {
        let m = parse(
            "BYE sip:ua@127.0.0.1:4000 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
             Call-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(m.method(), Some("BYE"));
        assert_eq!(m.request_uri(), Some("sip:ua@127.0.0.1:4000"));
        assert_eq!(m.status_code(), None);
        assert!(m.body().is_empty());
    }

    #[test]
    fn garbage_is_an_error() {
        let parsed = ReceivedMessage::parse(
            Bytes::from_static(b"\x00\x01 not sip"),
            "127.0.0.1:5060".parse().unwrap(),
            Instant::now(),
        );
        assert!(parsed.is_err());
    }

    #[test]
    fn params_and_uris() {
        assert_eq!(header_param("<sip:a@b;tag=no>;tag=yes", "tag"), Some("yes"));
        assert_eq!(header_param("sip:a@b;TAG=x", "tag"), Some("x"));
        assert_eq!(header_param("<sip:a@b>", "tag"), None);
        assert_eq!(header_uri("sip:a@b;tag=1"), "sip:a@b");
        assert_eq!(header_uri("\"A\" <sip:a@b>"), "sip:a@b");
        assert_eq!(
            split_header_list("<sip:p1;lr>, \"x, y\" <sip:p2,z>,<sip:p3>"),
            vec!["<sip:p1;lr>", "\"x, y\" <sip:p2,z>", "<sip:p3>"]
        );
    }
}
