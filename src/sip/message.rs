//! From bytes on the wire to a checked `rsip::SipMessage`.
//!
//! `rsip` parses the strict form of RFC 3261 only and has been seen to panic on
//! hostile input, so every message passes through [`decode`] first: it unfolds
//! continuation lines (RFC 3261 §7.3.1), expands compact header names (§7.3.3),
//! splits comma-joined Via values, checks the start line, the mandatory headers
//! (§8.1.1) and Content-Length (§18.3), and only then hands the normalised text
//! to `rsip` inside `catch_unwind`. A request that fails the checks but still
//! says where it came from gets a 400 whose reason phrase names the problem.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rsip::SipMessage;

/// What became of one datagram or stream frame.
#[derive(Debug)]
pub enum Decoded {
    Message(Box<SipMessage>),
    /// A request too broken to process but answerable: the 400 (or 501 for an
    /// unknown method) to send back.
    Reject {
        response: Vec<u8>,
        reason: String,
    },
    /// Neither processable nor answerable (a broken response, garbage, or a
    /// request without the headers a response needs).
    Drop {
        reason: String,
    },
    /// A keep-alive (RFC 5626 §3.5.1 CRLF ping); nothing to do.
    KeepAlive,
}

const REQUIRED_REQUEST_HEADERS: [&str; 5] = ["Via", "From", "To", "Call-ID", "CSeq"];

/// RFC 3261 §7.3.3 compact forms, plus the common extension ones.
pub fn expand_compact(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes()[0].to_ascii_lowercase() {
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'e' => "Content-Encoding",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'f' => "From",
        b's' => "Subject",
        b'k' => "Supported",
        b't' => "To",
        b'v' => "Via",
        b'o' => "Event",
        b'u' => "Allow-Events",
        b'r' => "Refer-To",
        b'b' => "Referred-By",
        b'x' => "Session-Expires",
        _ => name,
    }
}

/// Canonical spelling of the headers we look up, so matching is exact later.
fn canonical_name(name: &str) -> String {
    const KNOWN: [&str; 12] = [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Length",
        "Content-Type",
        "Max-Forwards",
        "Record-Route",
        "Route",
        "Expires",
    ];
    let name = expand_compact(name);
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map(|k| (*k).to_string())
        .unwrap_or_else(|| name.to_string())
}

/// A message split into start line, normalised headers and body.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub start_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawMessage {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_request(&self) -> bool {
        !self.start_line.starts_with("SIP/")
    }

    fn to_text(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.start_line.len() + self.body.len() + 512);
        out.extend_from_slice(self.start_line.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// Where the head of a message ends: the index of the first body byte and the
/// length of the separator, accepting bare LF line ends as RFC 3261 §7 asks
/// implementations to tolerate.
pub fn find_head_end(data: &[u8]) -> Option<(usize, usize)> {
    let crlf = data.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = data.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(c), Some(l)) if l < c => Some((l + 2, 2)),
        (Some(c), _) => Some((c + 4, 4)),
        (None, Some(l)) => Some((l + 2, 2)),
        (None, None) => None,
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// Splits and normalises a message; the error is a reason phrase.
pub fn split(data: &[u8]) -> Result<RawMessage, String> {
    let (head_end, sep) = find_head_end(data).ok_or("Missing end of headers")?;
    let head = std::str::from_utf8(&data[..head_end - sep]).map_err(|_| "Headers not UTF-8")?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start_line = lines.next().unwrap_or("").trim_end().to_string();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // RFC 3261 §7.3.1: a continuation line folds into the previous header.
            let (_, value) = headers
                .last_mut()
                .ok_or("Continuation line before any header")?;
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("Malformed header line: {}", truncate(line, 40)))?;
        let name = name.trim_end();
        if !is_token(name) {
            return Err(format!("Malformed header name: {}", truncate(name, 40)));
        }
        let name = canonical_name(name);
        let value = value.trim();
        if name == "Via" {
            // RFC 3261 §7.3.1: several values may share one header line.
            for part in split_unquoted_commas(value) {
                headers.push((name.clone(), part.trim().to_string()));
            }
        } else {
            headers.push((name, value.to_string()));
        }
    }
    Ok(RawMessage {
        start_line,
        headers,
        body: data[head_end..].to_vec(),
    })
}

fn split_unquoted_commas(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Methods the parser knows; any other gets 501 (RFC 3261 §8.2.1).
const KNOWN_METHODS: [&str; 14] = [
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
];

/// A check failure: the status code to answer with and its reason phrase.
type Failure = (u16, String);

/// Checks the start line and what RFC 3261 requires of every request.
fn check(raw: &mut RawMessage, stream: bool) -> Result<(), Failure> {
    check_syntax(raw, stream).map_err(|reason| (400, reason))?;
    if raw.is_request() {
        let method = raw.start_line.split(' ').next().unwrap_or("");
        if !KNOWN_METHODS.contains(&method) {
            return Err((501, "Not Implemented".to_string()));
        }
    }
    Ok(())
}

fn check_syntax(raw: &mut RawMessage, stream: bool) -> Result<(), String> {
    let parts: Vec<&str> = raw.start_line.split(' ').collect();
    if raw.is_request() {
        if parts.len() != 3 || parts[2] != "SIP/2.0" {
            return Err("Bad request line".into());
        }
        if !is_token(parts[0]) {
            return Err("Bad method".into());
        }
        if !parts[1].contains(':') {
            return Err("Bad Request-URI".into());
        }
        for name in REQUIRED_REQUEST_HEADERS {
            if raw.header(name).is_none() {
                return Err(format!("Missing {name} header"));
            }
        }
        let cseq = raw.header("CSeq").unwrap_or_default();
        let mut cseq_parts = cseq.split_whitespace();
        let number = cseq_parts.next().and_then(|n| n.parse::<u32>().ok());
        let method = cseq_parts.next();
        if number.is_none() || method.is_none() || cseq_parts.next().is_some() {
            return Err("Malformed CSeq".into());
        }
        // RFC 3261 §8.2.2 (CANCEL and ACK carry the INVITE's number, same method rule).
        if method != Some(parts[0]) {
            return Err("CSeq method does not match the request".into());
        }
        if let Some(mf) = raw.header("Max-Forwards") {
            if mf.parse::<u8>().is_err() {
                return Err("Malformed Max-Forwards".into());
            }
        }
    } else if parts.len() < 2
        || parts[0] != "SIP/2.0"
        || parts[1].len() != 3
        || parts[1]
            .parse::<u16>()
            .map_or(true, |c| !(100..700).contains(&c))
    {
        return Err("Bad status line".into());
    }
    check_content_length(raw, stream)
}

/// RFC 3261 §18.3: on UDP a body longer than Content-Length is truncated, a
/// shorter one is an error; on streams Content-Length is mandatory and framing
/// has already cut the body to it.
fn check_content_length(raw: &mut RawMessage, stream: bool) -> Result<(), String> {
    let declared = match raw.header("Content-Length") {
        Some(v) => Some(
            v.parse::<usize>()
                .map_err(|_| "Malformed Content-Length".to_string())?,
        ),
        None if stream => return Err("Missing Content-Length".into()),
        None => None,
    };
    if let Some(len) = declared {
        if raw.body.len() < len {
            return Err("Body shorter than Content-Length".into());
        }
        raw.body.truncate(len);
    }
    let len = raw.body.len().to_string();
    match raw.headers.iter_mut().find(|(n, _)| n == "Content-Length") {
        Some((_, v)) => *v = len,
        None => raw.headers.push(("Content-Length".into(), len)),
    }
    Ok(())
}

/// Builds a response to a request known only by its raw headers (RFC 3261
/// §8.2.6: Via, From, To, Call-ID and CSeq copied; a To tag added).
pub fn raw_response(raw: &RawMessage, code: u16, reason: &str, to_tag: &str) -> Option<Vec<u8>> {
    // A reason phrase must not break the status line.
    let reason: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    let mut have_via = false;
    for (name, value) in &raw.headers {
        if name == "Via" {
            have_via = true;
            out.push_str(&format!("Via: {value}\r\n"));
        }
    }
    if !have_via {
        return None;
    }
    // Whatever of the rest is present is copied: a request missing one of
    // them still deserves to learn why it failed.
    for name in ["From", "To", "Call-ID", "CSeq"] {
        let Some(value) = raw.header(name) else {
            continue;
        };
        if name == "To" && !value.contains(";tag=") {
            out.push_str(&format!("To: {value};tag={to_tag}\r\n"));
        } else {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}

/// Decodes one message. `stream` is true for TCP (Content-Length mandatory).
pub fn decode(data: &[u8], max_bytes: usize, stream: bool) -> Decoded {
    if data
        .iter()
        .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
    {
        return Decoded::KeepAlive;
    }
    if data.len() > max_bytes {
        return Decoded::Drop {
            reason: format!("message of {} bytes over the limit", data.len()),
        };
    }
    let mut raw = match split(data) {
        Ok(raw) => raw,
        Err(reason) => return Decoded::Drop { reason },
    };
    if let Err((code, reason)) = check(&mut raw, stream) {
        return reject_with(&raw, code, reason);
    }
    let text = raw.to_text();
    let parsed = catch_unwind(AssertUnwindSafe(|| SipMessage::try_from(text.as_slice())));
    let message = match parsed {
        Ok(Ok(message)) => message,
        Ok(Err(e)) => return reject(&raw, format!("Unparseable message: {}", first_line(&e))),
        Err(_) => return reject(&raw, "Unparseable message".to_string()),
    };
    // Typed access to the headers the core relies on must work later.
    if let Err(reason) = check_typed(&message) {
        return reject(&raw, reason);
    }
    Decoded::Message(Box::new(message))
}

fn first_line(e: &rsip::Error) -> String {
    truncate(&e.to_string(), 60)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

fn check_typed(message: &SipMessage) -> Result<(), String> {
    use rsip::prelude::*;
    let ok = catch_unwind(AssertUnwindSafe(|| {
        let via = message.via_header().ok().map(|v| v.typed().is_ok());
        let from = message.from_header().ok().map(|h| h.typed().is_ok());
        let to = message.to_header().ok().map(|h| h.typed().is_ok());
        let cseq = message.cseq_header().ok().map(|h| h.typed().is_ok());
        (via, from, to, cseq)
    }));
    match ok {
        Ok((Some(true), Some(true), Some(true), Some(true))) => Ok(()),
        Ok((via, from, to, _)) => Err(match (via, from, to) {
            (Some(false) | None, _, _) => "Malformed Via",
            (_, Some(false) | None, _) => "Malformed From",
            (_, _, Some(false) | None) => "Malformed To",
            _ => "Malformed CSeq",
        }
        .to_string()),
        Err(_) => Err("Malformed headers".to_string()),
    }
}

fn reject(raw: &RawMessage, reason: String) -> Decoded {
    reject_with(raw, 400, reason)
}

fn reject_with(raw: &RawMessage, code: u16, reason: String) -> Decoded {
    if !raw.is_request() || raw.start_line.starts_with("ACK ") {
        // RFC 3261 §17.1.1.3 / §8.2: never answer responses or ACKs.
        return Decoded::Drop { reason };
    }
    let tag = crate::sip::ids::new_tag();
    match raw_response(raw, code, &reason, &tag) {
        Some(response) => Decoded::Reject { response, reason },
        None => Decoded::Drop { reason },
    }
}

#[cfg(test)]
mod tests;
