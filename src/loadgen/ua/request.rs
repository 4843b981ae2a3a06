//! SIP text the test user agent writes: requests, the responses it gives to
//! server-initiated requests, and the identifiers they carry.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::message::{full_header_name, ReceivedMessage};
use crate::sip::Transport;

pub use crate::sip::ids::{new_branch, new_tag};

/// A fresh Call-ID, unique in space and time (RFC 3261 §8.1.1.4).
pub fn new_call_id(host: IpAddr) -> String {
    format!("{}@{host}", crate::sip::ids::new_call_id())
}

/// The Via value for a request sent from `local`, asking for rport (RFC 3581).
pub fn via_value(transport: Transport, local: SocketAddr, branch: &str) -> String {
    format!(
        "SIP/2.0/{} {local};branch={branch};rport",
        transport.via_token()
    )
}

/// The Contact URI of a user agent at `local`.
pub fn contact_uri(user: &str, transport: Transport, local: SocketAddr) -> String {
    match transport {
        Transport::Udp => format!("sip:{user}@{local}"),
        Transport::Tcp => format!("sip:{user}@{local};transport=tcp"),
        Transport::Tls => format!("sip:{user}@{local};transport=tls"),
    }
}

/// A request about to be written.
#[derive(Debug, Clone)]
pub(crate) struct OutgoingRequest<'a> {
    pub method: &'a str,
    pub request_uri: &'a str,
    pub via: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub call_id: &'a str,
    pub cseq: u32,
    pub contact: Option<&'a str>,
    pub routes: &'a [String],
    pub extra_headers: &'a [String],
    /// Content type and body.
    pub body: Option<(&'a str, &'a str)>,
}

impl OutgoingRequest<'_> {
    pub fn render(&self) -> String {
        let mut text = format!(
            "{method} {uri} SIP/2.0\r\n\
             Via: {via}\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\n\
             To: {to}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n",
            method = self.method,
            uri = self.request_uri,
            via = self.via,
            from = self.from,
            to = self.to,
            call_id = self.call_id,
            cseq = self.cseq,
        );
        for route in self.routes {
            let _ = write!(text, "Route: {route}\r\n");
        }
        if let Some(contact) = self.contact {
            let _ = write!(text, "Contact: <{contact}>\r\n");
        }
        text.push_str("User-Agent: mediaplane-loadgen\r\n");
        for header in self.extra_headers {
            let _ = write!(text, "{header}\r\n");
        }
        match self.body {
            Some((content_type, body)) => {
                let _ = write!(
                    text,
                    "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            }
            None => text.push_str("Content-Length: 0\r\n\r\n"),
        }
        text
    }
}

/// A body-less response to `request`, echoing the headers RFC 3261 §8.2.6.2
/// requires; a To tag is added when the request had none.
pub(crate) fn response_to(request: &ReceivedMessage, status: u16, reason: &str) -> String {
    let mut text = format!("SIP/2.0 {status} {reason}\r\n");
    for (name, value) in request.headers() {
        let name = full_header_name(name);
        let copied = ["Via", "From", "Call-ID", "CSeq"]
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name));
        if copied {
            let _ = write!(text, "{name}: {value}\r\n");
        } else if name.eq_ignore_ascii_case("To") {
            if request.to_tag().is_some() {
                let _ = write!(text, "To: {value}\r\n");
            } else {
                let _ = write!(text, "To: {value};tag={}\r\n", new_tag());
            }
        }
    }
    text.push_str("User-Agent: mediaplane-loadgen\r\nContent-Length: 0\r\n\r\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tokio::time::Instant;

    fn parse(text: String) -> ReceivedMessage {
        ReceivedMessage::parse(
            Bytes::from(text),
            "127.0.0.1:5060".parse().unwrap(),
            Instant::now(),
        )
        .unwrap()
    }

    #[test]
    fn rendered_request_parses_with_correct_length() {
        let local: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let branch = new_branch();
        let via = via_value(Transport::Udp, local, &branch);
        let contact = contact_uri("loadgen", Transport::Udp, local);
        let routes = vec!["<sip:proxy;lr>".to_string()];
        let extra = vec!["X-Test: 1".to_string()];
        let text = OutgoingRequest {
            method: "INVITE",
            request_uri: "sip:echo@127.0.0.1:5060",
            via: &via,
            from: "<sip:loadgen@127.0.0.1>;tag=abc",
            to: "<sip:echo@127.0.0.1:5060>",
            call_id: "cid",
            cseq: 1,
            contact: Some(&contact),
            routes: &routes,
            extra_headers: &extra,
            body: Some(("application/sdp", "v=0\r\n")),
        }
        .render();
        let m = parse(text);
        assert_eq!(m.method(), Some("INVITE"));
        assert_eq!(m.top_via_branch(), Some(branch.as_str()));
        assert!(branch.starts_with(crate::sip::transaction::MAGIC_COOKIE));
        assert_eq!(m.header("Content-Length"), Some("5"));
        assert_eq!(m.body(), b"v=0\r\n");
        assert_eq!(m.header("Route"), Some("<sip:proxy;lr>"));
        assert_eq!(m.header("X-Test"), Some("1"));
        assert_eq!(m.cseq(), Some((1, "INVITE")));
    }

    #[test]
    fn response_copies_dialog_headers_and_adds_missing_tag() {
        let request = parse(
            "OPTIONS sip:x SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b\r\n\
             From: <sip:s>;tag=9\r\nTo: <sip:x>\r\nCall-ID: c1\r\nCSeq: 4 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
                .to_string(),
        );
        let response = parse(response_to(&request, 200, "OK"));
        assert_eq!(response.status_code(), Some(200));
        assert_eq!(response.header_values("Via").count(), 2);
        assert_eq!(response.top_via_branch(), Some("z9hG4bK1"));
        assert_eq!(response.from_tag(), Some("9"));
        assert!(response.to_tag().is_some());
        assert_eq!(response.cseq(), Some((4, "OPTIONS")));
        assert_eq!(response.call_id(), Some("c1"));
    }
}
