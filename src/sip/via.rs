//! The top Via header field: parsing, the `received`/`rport` stamp a server
//! adds on receipt, and where a response to a request must go.
//!
//! rsip's typed Via cannot read IPv6 sent-by hosts nor a header line holding
//! several comma-separated values, so the top value is parsed here.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use rsip::headers::UntypedHeader;
use rsip::Header;
use thiserror::Error;

use super::peer::{Peer, Transport};

/// The port a sent-by without one stands for (RFC 3261 §18.2.2, §19.1.2).
pub const DEFAULT_SIP_PORT: u16 = 5060;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ViaError {
    #[error("message has no Via header")]
    Missing,
    #[error("malformed Via header: {0}")]
    Malformed(&'static str),
}

/// One Via field value (`via-parm`, RFC 3261 §25.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopVia {
    /// `SIP/2.0`, as written.
    pub protocol: String,
    /// The transport token, e.g. `UDP`.
    pub transport: String,
    /// The sent-by host, IPv6 without brackets.
    pub host: String,
    pub port: Option<u16>,
    /// Parameters in order; names as written.
    pub params: Vec<(String, Option<String>)>,
}

impl TopVia {
    /// The top Via of a message: the first value of the first Via header.
    pub fn from_headers(headers: &rsip::Headers) -> Result<Self, ViaError> {
        let value = headers
            .iter()
            .find_map(|header| match header {
                Header::Via(via) => Some(via.value()),
                _ => None,
            })
            .ok_or(ViaError::Missing)?;
        Self::parse(value)
    }

    /// Parses the first value of a Via header line.
    pub fn parse(line: &str) -> Result<Self, ViaError> {
        let (first, _) = split_first_value(line);
        let mut segments = split_outside_quotes(first, ';').into_iter();
        let head = segments.next().unwrap_or_default();

        // sent-protocol = name SLASH version SLASH transport, LWS allowed around
        // the slashes (RFC 3261 §25.1), then LWS and sent-by.
        let mut parts = head.splitn(3, '/');
        let name = parts.next().unwrap_or_default().trim();
        let version = parts.next().ok_or(ViaError::Malformed("sent-protocol"))?;
        let rest = parts
            .next()
            .ok_or(ViaError::Malformed("sent-protocol"))?
            .trim_start();
        let transport_end = rest
            .find(char::is_whitespace)
            .ok_or(ViaError::Malformed("sent-by"))?;
        let transport = &rest[..transport_end];
        let sent_by: String = rest[transport_end..]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if name.is_empty() || version.trim().is_empty() || transport.is_empty() {
            return Err(ViaError::Malformed("sent-protocol"));
        }
        let (host, port) = parse_sent_by(&sent_by)?;

        let params = segments
            .filter(|segment| !segment.trim().is_empty())
            .map(|segment| match segment.split_once('=') {
                Some((name, value)) => (name.trim().to_owned(), Some(value.trim().to_owned())),
                None => (segment.trim().to_owned(), None),
            })
            .collect();

        Ok(TopVia {
            protocol: format!("{}/{}", name, version.trim()),
            transport: transport.to_owned(),
            host,
            port,
            params,
        })
    }

    /// `Some(value)` if the parameter is present (value `None` for a flag).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(param, _)| param.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_deref())
    }

    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    pub fn received(&self) -> Option<IpAddr> {
        self.param("received").flatten().and_then(parse_ip)
    }

    /// `Some(None)` for a bare `rport`, `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport")
            .map(|value| value.and_then(|port| port.parse().ok()))
    }

    /// The sent-by host when it is an IP literal.
    pub fn host_ip(&self) -> Option<IpAddr> {
        parse_ip(&self.host)
    }

    /// sent-by as written, lowercased, for transaction matching.
    pub fn sent_by(&self) -> String {
        let host = self.host.to_ascii_lowercase();
        match self.port {
            Some(port) => format!("{}:{}", bracket(&host), port),
            None => bracket(&host),
        }
    }

    fn set_param(&mut self, name: &str, value: Option<String>) {
        match self
            .params
            .iter_mut()
            .find(|(param, _)| param.eq_ignore_ascii_case(name))
        {
            Some(param) => param.1 = value,
            None => self.params.push((name.to_owned(), value)),
        }
    }
}

impl fmt::Display for TopVia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} {}",
            self.protocol,
            self.transport,
            bracket(&self.host)
        )?;
        if let Some(port) = self.port {
            write!(f, ":{}", port)?;
        }
        for (name, value) in &self.params {
            match value {
                Some(value) => write!(f, ";{}={}", name, value)?,
                None => write!(f, ";{}", name)?,
            }
        }
        Ok(())
    }
}

/// Records where a request really came from in its top Via: `received` when
/// the sent-by host is not the source address (RFC 3261 §18.2.1), and both
/// `received` and the source port when the client asked with an empty
/// `rport` (RFC 3581 §4).
pub fn stamp_received(request: &mut rsip::Request, source: Peer) -> Result<(), ViaError> {
    let header = request
        .headers
        .iter_mut()
        .find_map(|header| match header {
            Header::Via(via) => Some(via),
            _ => None,
        })
        .ok_or(ViaError::Missing)?;
    let line = header.value().to_owned();
    let (first, rest) = split_first_value(&line);
    let mut via = TopVia::parse(first)?;

    let source_ip = source.addr.ip();
    let wants_rport = via.rport().is_some();
    // RFC 3581 §4: with rport, received is added even when it equals sent-by.
    if wants_rport || via.host_ip() != Some(source_ip) {
        via.set_param("received", Some(source_ip.to_string()));
    }
    if via.rport() == Some(None) {
        via.set_param("rport", Some(source.addr.port().to_string()));
    }

    let stamped = match rest {
        Some(rest) => format!("{},{}", via, rest),
        None => via.to_string(),
    };
    header.replace(stamped);
    Ok(())
}

/// Where a response goes, from the request's (stamped) top Via and the address
/// the request came from (RFC 3261 §18.2.2, RFC 3581 §4).
///
/// `maddr` (multicast) is not supported. A sent-by that is a domain name
/// would need DNS (RFC 3263 §6); without `received` the request's source
/// address stands in for it, at the sent-by port.
pub fn response_destination(top_via: &TopVia, request_source: Peer) -> Peer {
    // Reliable transport: back over the connection the request came on.
    if request_source.transport.is_reliable() {
        return request_source;
    }
    // RFC 3581 §4: rport asks for the source address and port.
    if top_via.rport().is_some() {
        return Peer::udp(request_source.addr);
    }
    let ip = top_via
        .received()
        .or_else(|| top_via.host_ip())
        .unwrap_or_else(|| request_source.addr.ip());
    let port = top_via.port.unwrap_or(DEFAULT_SIP_PORT);
    Peer {
        transport: Transport::Udp,
        addr: SocketAddr::new(ip, port),
        connection: 0,
    }
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{}]", host)
    } else {
        host.to_owned()
    }
}

/// sent-by = host [ ":" port ], IPv6 references in brackets (RFC 3261 §25.1).
fn parse_sent_by(sent_by: &str) -> Result<(String, Option<u16>), ViaError> {
    let (host, port) = if let Some(inner) = sent_by.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or(ViaError::Malformed("IPv6 reference"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or(ViaError::Malformed("sent-by port"))?,
            ),
        };
        (host, port)
    } else {
        match sent_by.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (sent_by, None),
        }
    };
    if host.is_empty() {
        return Err(ViaError::Malformed("sent-by host"));
    }
    let port = port
        .map(|port| port.parse::<u16>())
        .transpose()
        .map_err(|_| ViaError::Malformed("sent-by port"))?;
    Ok((host.to_owned(), port))
}

/// Splits a header line at its first top-level comma: the first value and
/// the rest, if any.
fn split_first_value(line: &str) -> (&str, Option<&str>) {
    let mut in_quotes = false;
    for (index, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => return (&line[..index], Some(&line[index + 1..])),
            _ => {}
        }
    }
    (line, None)
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == separator && !in_quotes {
            parts.push(&text[start..index]);
            start = index + 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsip::prelude::HeadersExt;

    fn request_with_via(via: &str) -> rsip::Request {
        let text = format!(
            "OPTIONS sip:server@192.0.2.10 SIP/2.0\r\n\
             Via: {via}\r\n\
             From: <sip:alice@example.com>;tag=1\r\n\
             To: <sip:server@192.0.2.10>\r\n\
             Call-ID: via-test\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        );
        rsip::Request::try_from(text.as_str()).unwrap()
    }

    fn top_via_of(request: &rsip::Request) -> TopVia {
        TopVia::parse(request.via_header().unwrap().value()).unwrap()
    }

    fn udp(addr: &str) -> Peer {
        Peer::udp(addr.parse().unwrap())
    }

    #[test]
    fn parses_sent_protocol_sent_by_and_params() {
        let via = TopVia::parse("SIP / 2.0 / UDP  host.example.com:5070 ; branch=z9hG4bKa ;rport")
            .unwrap();
        assert_eq!(via.protocol, "SIP/2.0");
        assert_eq!(via.transport, "UDP");
        assert_eq!(via.host, "host.example.com");
        assert_eq!(via.port, Some(5070));
        assert_eq!(via.branch(), Some("z9hG4bKa"));
        assert_eq!(via.rport(), Some(None));
        assert_eq!(via.host_ip(), None);
    }

    #[test]
    fn parses_ipv6_and_only_the_first_of_several_values() {
        let via = TopVia::parse(
            "SIP/2.0/TCP [2001:db8::1]:5062;branch=z9hG4bKb, SIP/2.0/UDP other;branch=x",
        )
        .unwrap();
        assert_eq!(via.host, "2001:db8::1");
        assert_eq!(via.port, Some(5062));
        assert_eq!(via.branch(), Some("z9hG4bKb"));
        assert_eq!(via.sent_by(), "[2001:db8::1]:5062");
        assert_eq!(
            via.to_string(),
            "SIP/2.0/TCP [2001:db8::1]:5062;branch=z9hG4bKb"
        );
    }

    #[test]
    fn rejects_malformed_values() {
        assert!(TopVia::parse("SIP/2.0/UDP").is_err());
        assert!(TopVia::parse("garbage").is_err());
        assert!(TopVia::parse("SIP/2.0/UDP host:notaport").is_err());
        assert!(TopVia::parse("SIP/2.0/UDP [::1").is_err());
    }

    #[test]
    fn received_added_when_sent_by_differs_from_source() {
        let mut request = request_with_via("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1");
        stamp_received(&mut request, udp("203.0.113.7:5060")).unwrap();
        let via = top_via_of(&request);
        assert_eq!(via.received(), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(via.rport(), None);
    }

    #[test]
    fn received_added_for_domain_sent_by() {
        let mut request = request_with_via("SIP/2.0/UDP pc.example.com;branch=z9hG4bK1");
        stamp_received(&mut request, udp("203.0.113.7:5060")).unwrap();
        assert_eq!(
            top_via_of(&request).received(),
            Some("203.0.113.7".parse().unwrap())
        );
    }

    #[test]
    fn nothing_added_when_sent_by_matches_source() {
        let mut request = request_with_via("SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK1");
        stamp_received(&mut request, udp("203.0.113.7:5060")).unwrap();
        assert_eq!(
            request.via_header().unwrap().value(),
            "SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK1"
        );
    }

    #[test]
    fn empty_rport_filled_and_received_always_added() {
        let mut request = request_with_via("SIP/2.0/UDP 203.0.113.7:5060;rport;branch=z9hG4bK1");
        stamp_received(&mut request, udp("203.0.113.7:40000")).unwrap();
        let via = top_via_of(&request);
        assert_eq!(via.rport(), Some(Some(40000)));
        assert_eq!(via.received(), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(via.branch(), Some("z9hG4bK1"));
    }

    #[test]
    fn stamp_keeps_the_other_values_on_the_line() {
        let mut request = request_with_via(
            "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1, SIP/2.0/UDP proxy;branch=z9hG4bK0",
        );
        stamp_received(&mut request, udp("203.0.113.7:5060")).unwrap();
        assert_eq!(
            request.via_header().unwrap().value(),
            "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1;received=203.0.113.7, SIP/2.0/UDP proxy;branch=z9hG4bK0"
        );
    }

    #[test]
    fn stamp_fails_without_via() {
        let mut request = request_with_via("SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1");
        request
            .headers
            .retain(|header| !matches!(header, Header::Via(_)));
        assert_eq!(
            stamp_received(&mut request, udp("203.0.113.7:5060")),
            Err(ViaError::Missing)
        );
    }

    #[test]
    fn destination_with_rport_is_the_source_address() {
        let via =
            TopVia::parse("SIP/2.0/UDP 10.0.0.5:5060;rport=40000;received=203.0.113.7").unwrap();
        assert_eq!(
            response_destination(&via, udp("203.0.113.7:40000")),
            udp("203.0.113.7:40000")
        );
    }

    #[test]
    fn destination_uses_received_at_the_sent_by_port() {
        let via = TopVia::parse("SIP/2.0/UDP 10.0.0.5:5070;received=203.0.113.7").unwrap();
        assert_eq!(
            response_destination(&via, udp("203.0.113.7:40000")),
            udp("203.0.113.7:5070")
        );
    }

    #[test]
    fn destination_defaults_to_sent_by_host_and_port_5060() {
        let via = TopVia::parse("SIP/2.0/UDP 198.51.100.2;branch=z9hG4bK1").unwrap();
        assert_eq!(
            response_destination(&via, udp("203.0.113.7:40000")),
            udp("198.51.100.2:5060")
        );
    }

    #[test]
    fn destination_for_domain_sent_by_falls_back_to_source_ip() {
        let via = TopVia::parse("SIP/2.0/UDP pc.example.com:5080;branch=z9hG4bK1").unwrap();
        assert_eq!(
            response_destination(&via, udp("203.0.113.7:40000")),
            udp("203.0.113.7:5080")
        );
    }

    #[test]
    fn destination_over_tcp_is_the_same_connection() {
        let via = TopVia::parse("SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK1").unwrap();
        let source = Peer {
            transport: Transport::Tcp,
            addr: "203.0.113.7:41000".parse().unwrap(),
            connection: 42,
        };
        assert_eq!(response_destination(&via, source), source);
    }
}
