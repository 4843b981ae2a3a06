//! A dialog (RFC 3261 §12): the state one leg keeps to send and recognise
//! in-dialog requests.

use std::net::{IpAddr, SocketAddr};

use rsip::prelude::*;
use rsip::Request;

use crate::sip::peer::{Peer, Transport};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DialogError {
    #[error("missing or malformed {0}")]
    Header(&'static str),
    #[error("cannot build request: {0}")]
    Build(String),
}

/// Identifies a dialog from our side: Call-ID plus our tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogKey {
    pub call_id: String,
    pub local_tag: String,
}

#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// Our party as the To header named it, with our tag: the From of our requests.
    pub local_party: String,
    /// The remote party with its tag: the To of our requests.
    pub remote_party: String,
    /// The remote Contact URI (RFC 3261 §12.1.1).
    pub remote_target: String,
    /// Record-Route values, in the order a UAS keeps them (§12.1.1).
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: u32,
    /// Where the dialog-creating request came from.
    pub peer: Peer,
}

impl Dialog {
    /// The UAS side of a dialog created by an INVITE we answer (§12.1.1).
    pub fn from_invite(invite: &Request, local_tag: &str, peer: Peer) -> Result<Self, DialogError> {
        let from = invite
            .from_header()
            .map_err(|_| DialogError::Header("From"))?;
        let to = invite.to_header().map_err(|_| DialogError::Header("To"))?;
        Ok(Dialog {
            call_id: call_id_of(&invite.headers)?,
            local_tag: local_tag.to_string(),
            remote_tag: tag_of(from.tag()).ok_or(DialogError::Header("From tag"))?,
            local_party: format!("{};tag={local_tag}", to.value()),
            remote_party: from.value().to_string(),
            remote_target: contact_of(&invite.headers)?,
            route_set: record_route_of(&invite.headers),
            local_cseq: rand::random::<u16>() as u32 + 1,
            remote_cseq: cseq_of(&invite.headers)?,
            peer,
        })
    }

    pub fn key(&self) -> DialogKey {
        DialogKey {
            call_id: self.call_id.clone(),
            local_tag: self.local_tag.clone(),
        }
    }

    /// RFC 3261 §12.2.2: an in-dialog request with a CSeq lower than the last
    /// one is out of order. Returns false for such a request.
    pub fn accept_remote_cseq(&mut self, cseq: u32) -> bool {
        if cseq < self.remote_cseq {
            return false;
        }
        self.remote_cseq = cseq;
        true
    }

    /// Where in-dialog requests go: the first route if there is a route set,
    /// else the remote target. Over TCP or TLS we reuse the connection the
    /// dialog arrived on (RFC 3261 §18.1.1, §26.3.1); over UDP a target whose IP differs from where the peer
    /// really is (a NAT rewrote it) is reached at the source address.
    pub fn destination(&self) -> Peer {
        if self.peer.transport.is_reliable() {
            return self.peer;
        }
        let next_hop = self
            .route_set
            .first()
            .and_then(|r| angle_uri(r))
            .unwrap_or_else(|| self.remote_target.clone());
        match uri_socket_addr(&next_hop) {
            Some(addr) if addr.ip() == self.peer.addr.ip() || !self.route_set.is_empty() => {
                Peer::udp(addr)
            }
            _ => self.peer,
        }
    }

    /// The UAC side of a dialog created by a 2xx (or 1xx with a tag) to an
    /// INVITE we sent (§12.1.2): our From (with our tag) becomes the local
    /// party, the response's To the remote one, the route set is the
    /// response's Record-Route in reverse order.
    pub fn from_response(
        invite: &Request,
        response: &rsip::Response,
        peer: Peer,
    ) -> Result<Self, DialogError> {
        let from = invite
            .from_header()
            .map_err(|_| DialogError::Header("From"))?;
        let to = response
            .to_header()
            .map_err(|_| DialogError::Header("To"))?;
        let mut route_set = record_route_of(&response.headers);
        route_set.reverse();
        Ok(Dialog {
            call_id: call_id_of(&invite.headers)?,
            local_tag: tag_of(from.tag()).ok_or(DialogError::Header("From tag"))?,
            remote_tag: tag_of(to.tag()).ok_or(DialogError::Header("To tag"))?,
            local_party: from.value().to_string(),
            remote_party: to.value().to_string(),
            remote_target: contact_of(&response.headers)?,
            route_set,
            local_cseq: cseq_of(&invite.headers)?,
            remote_cseq: 0,
            peer,
        })
    }

    /// Builds an in-dialog request (§12.2.1.1) with the next local CSeq.
    pub fn request(
        &mut self,
        method: &str,
        via_host: &str,
        via_port: u16,
        branch: &str,
        extra_headers: &str,
    ) -> Result<Request, DialogError> {
        self.local_cseq += 1;
        self.request_with(
            method,
            self.local_cseq,
            via_host,
            via_port,
            branch,
            extra_headers,
            None,
        )
    }

    /// Builds an in-dialog request with CSeq `cseq` and an optional body
    /// `(content type, text)`: the ACK of a 2xx reuses its INVITE's CSeq
    /// (§13.2.2.4), a re-INVITE carries an offer.
    #[allow(clippy::too_many_arguments)]
    pub fn request_with(
        &self,
        method: &str,
        cseq: u32,
        via_host: &str,
        via_port: u16,
        branch: &str,
        extra_headers: &str,
        body: Option<(&str, &str)>,
    ) -> Result<Request, DialogError> {
        let transport = self.peer.transport.via_token();
        let mut text = format!(
            "{method} {target} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {via_host}:{via_port};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\n\
             To: {to}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n",
            target = self.remote_target,
            from = self.local_party,
            to = self.remote_party,
            call_id = self.call_id,
        );
        for route in &self.route_set {
            text.push_str(&format!("Route: {route}\r\n"));
        }
        text.push_str(extra_headers);
        match body {
            Some((content_type, body)) => text.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => text.push_str("Content-Length: 0\r\n\r\n"),
        }
        Request::try_from(text.as_str()).map_err(|e| DialogError::Build(e.to_string()))
    }
}

/// The value of a tag parameter, if the header has one.
fn tag_of<E>(tag: Result<Option<rsip::param::Tag>, E>) -> Option<String> {
    tag.ok().flatten().map(|t| t.value().to_string())
}

fn call_id_of(headers: &rsip::Headers) -> Result<String, DialogError> {
    headers
        .iter()
        .find_map(|h| match h {
            rsip::Header::CallId(c) => Some(c.value().to_string()),
            _ => None,
        })
        .ok_or(DialogError::Header("Call-ID"))
}

/// The remote target: the Contact's URI (§12.1.1, §12.1.2).
fn contact_of(headers: &rsip::Headers) -> Result<String, DialogError> {
    headers
        .iter()
        .find_map(|h| match h {
            rsip::Header::Contact(c) => angle_uri(c.value()),
            _ => None,
        })
        .ok_or(DialogError::Header("Contact"))
}

/// The Record-Route values in the order they stand in the message.
fn record_route_of(headers: &rsip::Headers) -> Vec<String> {
    headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::RecordRoute(rr) => Some(rr.value().to_string()),
            _ => None,
        })
        .flat_map(|v| split_list(&v))
        .collect()
}

fn cseq_of(headers: &rsip::Headers) -> Result<u32, DialogError> {
    headers
        .iter()
        .find_map(|h| match h {
            rsip::Header::CSeq(c) => c.seq().ok(),
            _ => None,
        })
        .ok_or(DialogError::Header("CSeq"))
}

/// The URI inside `<...>`, or the value up to its parameters.
pub fn angle_uri(value: &str) -> Option<String> {
    let value = value.trim();
    let uri = match (value.find('<'), value.find('>')) {
        (Some(start), Some(end)) if start < end => &value[start + 1..end],
        _ => value.split(';').next()?,
    };
    let uri = uri.trim();
    (!uri.is_empty() && uri.contains(':')).then(|| uri.to_string())
}

/// Splits a comma-separated header list, respecting quotes and angle brackets.
pub fn split_list(value: &str) -> Vec<String> {
    let (mut parts, mut start, mut quoted, mut angle) = (Vec::new(), 0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(value[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value[start..].trim().to_string());
    parts.retain(|p| !p.is_empty());
    parts
}

/// The socket address of a SIP URI whose host is an IP literal; None for
/// host names. Without a port: 5061 when the URI asks for TLS, else 5060
/// (RFC 3263 §4.2).
pub fn uri_socket_addr(uri: &str) -> Option<SocketAddr> {
    let default_port = match uri_transport(uri) {
        Transport::Tls => 5061,
        Transport::Udp | Transport::Tcp => 5060,
    };
    let rest = uri.split_once(':')?.1;
    let host_port = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host_port = host_port.split([';', '?']).next()?;
    if let Some(v6) = host_port.strip_prefix('[') {
        let (host, port) = v6.split_once(']')?;
        let ip: IpAddr = host.parse().ok()?;
        let port = port
            .strip_prefix(':')
            .map_or(Some(default_port), |p| p.parse().ok())?;
        return Some(SocketAddr::new(ip, port));
    }
    let (host, port) = match host_port.split_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (host_port, default_port),
    };
    Some(SocketAddr::new(host.parse().ok()?, port))
}

/// The transport a request to `uri` takes, for a URI naming an IP (RFC 3263
/// §4.1 without DNS): a `sips:` URI is TLS whatever else it says (RFC 3261
/// §26.2, §19.1.4), otherwise its `transport` parameter, UDP by default.
pub fn uri_transport(uri: &str) -> Transport {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Transport::Udp;
    };
    if scheme.trim().eq_ignore_ascii_case("sips") {
        return Transport::Tls;
    }
    // The parameters follow the host; a user part may hold `;` of its own.
    let host_part = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let params = host_part.split('?').next().unwrap_or_default();
    let transport = params.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("transport")
            .then(|| value.trim().to_ascii_lowercase())
    });
    match transport.as_deref() {
        Some("tls") => Transport::Tls,
        Some("tcp") => Transport::Tcp,
        _ => Transport::Udp,
    }
}

/// Where a request to `uri` is sent: its address and transport, with no
/// connection yet (the driver finds or opens one). None for host names.
pub fn uri_destination(uri: &str) -> Option<Peer> {
    Some(Peer {
        transport: uri_transport(uri),
        addr: uri_socket_addr(uri)?,
        connection: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:echo@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1\r\n\
Record-Route: <sip:p1.example;lr>, <sip:10.0.0.9:5070;lr>\r\n\
From: \"Alice\" <sip:alice@10.0.0.1>;tag=abc\r\n\
To: <sip:echo@127.0.0.1>\r\n\
Call-ID: c1\r\n\
CSeq: 7 INVITE\r\n\
Contact: <sip:alice@10.0.0.1:5062;transport=udp>\r\n\
Content-Length: 0\r\n\r\n";

    fn invite() -> Request {
        Request::try_from(INVITE).unwrap()
    }

    #[test]
    fn uas_dialog_from_invite() {
        let peer = Peer::udp("10.0.0.1:5062".parse().unwrap());
        let d = Dialog::from_invite(&invite(), "xyz", peer).unwrap();
        assert_eq!(d.remote_tag, "abc");
        assert_eq!(d.remote_target, "sip:alice@10.0.0.1:5062;transport=udp");
        assert_eq!(
            d.route_set,
            vec!["<sip:p1.example;lr>", "<sip:10.0.0.9:5070;lr>"]
        );
        assert_eq!(d.local_party, "<sip:echo@127.0.0.1>;tag=xyz");
        assert_eq!(d.remote_cseq, 7);
    }

    #[test]
    fn bye_carries_dialog_identity_and_routes() {
        let peer = Peer::udp("10.0.0.1:5062".parse().unwrap());
        let mut d = Dialog::from_invite(&invite(), "xyz", peer).unwrap();
        let first = d.local_cseq;
        let bye = d.request("BYE", "127.0.0.1", 5060, "z9hG4bKb", "").unwrap();
        let text = bye.to_string();
        // URI parameter values are case-insensitive (RFC 3261 §19.1.4).
        assert!(text
            .to_ascii_lowercase()
            .starts_with("bye sip:alice@10.0.0.1:5062;transport=udp sip/2.0"));
        assert!(text.contains("From: <sip:echo@127.0.0.1>;tag=xyz"));
        assert!(text.contains("To: \"Alice\" <sip:alice@10.0.0.1>;tag=abc"));
        assert!(text.contains(&format!("CSeq: {} BYE", first + 1)));
        assert!(
            text.find("Route: <sip:p1.example;lr>").unwrap()
                < text.find("Route: <sip:10.0.0.9").unwrap()
        );
    }

    #[test]
    fn destination_rules() {
        let peer = Peer::udp("10.0.0.1:5062".parse().unwrap());
        let mut d = Dialog::from_invite(&invite(), "xyz", peer).unwrap();
        d.route_set.clear();
        assert_eq!(d.destination(), Peer::udp("10.0.0.1:5062".parse().unwrap()));
        // Behind NAT: the Contact names a private address, the packets came from elsewhere.
        d.peer = Peer::udp("203.0.113.5:40000".parse().unwrap());
        assert_eq!(d.destination(), d.peer);
    }

    #[test]
    fn cseq_order_and_uri_parsing() {
        let peer = Peer::udp("10.0.0.1:5062".parse().unwrap());
        let mut d = Dialog::from_invite(&invite(), "xyz", peer).unwrap();
        assert!(d.accept_remote_cseq(8));
        assert!(!d.accept_remote_cseq(6));
        assert_eq!(
            uri_socket_addr("sip:[::1]:5070;transport=tcp"),
            Some("[::1]:5070".parse().unwrap())
        );
        assert_eq!(uri_socket_addr("sip:bob@example.com"), None);
        assert_eq!(
            uri_socket_addr("sip:bob@127.0.0.1"),
            Some("127.0.0.1:5060".parse().unwrap())
        );
        assert_eq!(
            uri_socket_addr("sips:bob@127.0.0.1"),
            Some("127.0.0.1:5061".parse().unwrap())
        );
        assert_eq!(
            angle_uri("\"x\" <sip:a@b>;tag=1").as_deref(),
            Some("sip:a@b")
        );
    }

    #[test]
    fn the_target_uri_chooses_the_transport() {
        let tls = |addr: &str| Peer {
            transport: Transport::Tls,
            addr: addr.parse().unwrap(),
            connection: 0,
        };
        assert_eq!(
            uri_destination("sips:trunk@127.0.0.1"),
            Some(tls("127.0.0.1:5061"))
        );
        assert_eq!(
            uri_destination("sip:trunk@127.0.0.1:5071;transport=TLS"),
            Some(tls("127.0.0.1:5071"))
        );
        assert_eq!(
            uri_destination("sip:trunk@127.0.0.1;transport=tls"),
            Some(tls("127.0.0.1:5061"))
        );
        // RFC 3261 §26.2: sips over a TCP connection is TLS.
        assert_eq!(
            uri_destination("SIPS:trunk@[::1]:5062;transport=tcp"),
            Some(tls("[::1]:5062"))
        );
        let tcp = uri_destination("sip:trunk@127.0.0.1:5070;transport=tcp").unwrap();
        assert_eq!(tcp.transport, Transport::Tcp);
        assert_eq!(tcp.addr, "127.0.0.1:5070".parse().unwrap());
        assert_eq!(
            uri_destination("sip:trunk@127.0.0.1;user=phone"),
            Some(Peer::udp("127.0.0.1:5060".parse().unwrap()))
        );
        assert_eq!(uri_destination("sips:trunk@example.com"), None);
    }
}
