//! Parsers for the value of one SDP line or attribute (RFC 4566 §5, §6,
//! RFC 3605). Each returns the reason text on failure; the caller adds the
//! line number.

use super::error::quote;
use super::model::{
    protocol_is_rtp, AddressType, Attribute, Bandwidth, Connection, MediaDescription, Origin,
    RtcpAddress, RtpMap, Timing,
};

/// Reasons quote at most this many characters of a value.
const QUOTE_CHARS: usize = 40;

/// Payload types are 7 bits (RFC 3550 §5.1).
const MAX_PAYLOAD_TYPE: u8 = 127;

pub(crate) type FieldResult<T> = Result<T, String>;

/// Quotes a value for an error reason, escaped and shortened.
fn quoted(value: &str) -> String {
    quote(value, QUOTE_CHARS)
}

/// A decimal number of ASCII digits only; `str::parse` alone would also take
/// a leading `+`.
pub(crate) fn number<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `token` of RFC 4566 §9: visible ASCII except a few separators.
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| {
            matches!(b, 0x21 | 0x23..=0x27 | 0x2A..=0x2B | 0x2D..=0x2E | 0x30..=0x39 | 0x41..=0x5A | 0x5E..=0x7E)
        })
}

fn token<'a>(text: &'a str, what: &str) -> FieldResult<&'a str> {
    if is_token(text) {
        Ok(text)
    } else {
        Err(format!("{what} {} is not a token", quoted(text)))
    }
}

pub(crate) fn payload_type(text: &str) -> FieldResult<u8> {
    match number::<u8>(text) {
        Some(pt) if pt <= MAX_PAYLOAD_TYPE => Ok(pt),
        _ => Err(format!(
            "{} is not an RTP payload type (0-127)",
            quoted(text)
        )),
    }
}

fn address_type(text: &str) -> FieldResult<AddressType> {
    match text {
        "IP4" => Ok(AddressType::Ip4),
        "IP6" => Ok(AddressType::Ip6),
        _ => Err(format!("unknown address type {}", quoted(text))),
    }
}

/// `IN <addrtype> <address>`, shared by `c=`, `o=` and `a=rtcp`.
fn network_address(nettype: &str, addrtype: &str, address: &str) -> FieldResult<Connection> {
    // RFC 4566 §5.7: IN is the only network type defined.
    if nettype != "IN" {
        return Err(format!("unknown network type {}", quoted(nettype)));
    }
    Ok(Connection {
        address_type: address_type(addrtype)?,
        address: address.to_owned(),
    })
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>` (RFC 4566 §5.2).
pub(crate) fn origin(value: &str) -> FieldResult<Origin> {
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let [username, id, version, nettype, addrtype, address] = parts[..] else {
        return Err(format!("o= needs 6 fields, found {}", parts.len()));
    };
    let session_id =
        number(id).ok_or_else(|| format!("session id {} is not a number", quoted(id)))?;
    let session_version = number(version)
        .ok_or_else(|| format!("session version {} is not a number", quoted(version)))?;
    let connection = network_address(nettype, addrtype, address)?;
    Ok(Origin {
        username: username.to_owned(),
        session_id,
        session_version,
        address_type: connection.address_type,
        address: connection.address,
    })
}

/// `c=<nettype> <addrtype> <address>` (RFC 4566 §5.7).
pub(crate) fn connection(value: &str) -> FieldResult<Connection> {
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let [nettype, addrtype, address] = parts[..] else {
        return Err(format!("c= needs 3 fields, found {}", parts.len()));
    };
    network_address(nettype, addrtype, address)
}

/// `b=<bwtype>:<bandwidth>` (RFC 4566 §5.8).
pub(crate) fn bandwidth(value: &str) -> FieldResult<Bandwidth> {
    let (modifier, kbps) = value
        .split_once(':')
        .ok_or_else(|| "b= needs <type>:<bandwidth>".to_owned())?;
    Ok(Bandwidth {
        modifier: token(modifier, "bandwidth type")?.to_owned(),
        kbps: number(kbps.trim())
            .ok_or_else(|| format!("bandwidth {} is not a number", quoted(kbps)))?,
    })
}

/// `t=<start> <stop>` (RFC 4566 §5.9).
pub(crate) fn timing(value: &str) -> FieldResult<Timing> {
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let [start, stop] = parts[..] else {
        return Err(format!("t= needs 2 fields, found {}", parts.len()));
    };
    let time = |t: &str| number(t).ok_or_else(|| format!("time {} is not a number", quoted(t)));
    Ok(Timing {
        start: time(start)?,
        stop: time(stop)?,
        repeats: Vec::new(),
    })
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...` (RFC 4566 §5.14).
pub(crate) fn media(value: &str) -> FieldResult<MediaDescription> {
    let mut parts = value.split_ascii_whitespace();
    let (Some(kind), Some(ports), Some(protocol)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("m= needs <media> <port> <proto> <fmt>...".to_owned());
    };
    let kind = token(kind, "media type")?;
    let (port, port_count) = match ports.split_once('/') {
        Some((port, count)) => (port, Some(count)),
        None => (ports, None),
    };
    let port = number::<u16>(port).ok_or_else(|| format!("bad port {}", quoted(ports)))?;
    let port_count = match port_count {
        None => None,
        Some(count) => match number::<u16>(count) {
            Some(n) if n > 0 => Some(n),
            _ => return Err(format!("bad port count {}", quoted(ports))),
        },
    };
    if !protocol.split('/').all(is_token) {
        return Err(format!("transport {} is not valid", quoted(protocol)));
    }
    let mut media = MediaDescription::new(kind, port, protocol);
    media.port_count = port_count;
    let rtp = protocol_is_rtp(protocol);
    for format in parts {
        if rtp {
            payload_type(format)?;
        } else {
            token(format, "format")?;
        }
        media.formats.push(format.to_owned());
    }
    Ok(media)
}

/// `a=<name>[:<value>]` (RFC 4566 §5.13).
pub(crate) fn attribute(value: &str) -> FieldResult<Attribute> {
    let (name, value) = match value.split_once(':') {
        Some((name, value)) => (name, Some(value.to_owned())),
        None => (value, None),
    };
    Ok(Attribute::new(token(name, "attribute name")?, value))
}

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]` (RFC 4566 §6).
pub(crate) fn rtpmap(value: &str) -> FieldResult<(u8, RtpMap)> {
    let (pt, encoding) = value
        .split_once([' ', '\t'])
        .ok_or_else(|| "rtpmap needs <pt> <encoding>/<rate>".to_owned())?;
    let pt = payload_type(pt)?;
    let mut parts = encoding.trim().split('/');
    let name = parts.next().unwrap_or_default();
    let name = token(name, "encoding name")?;
    let clock_rate = match parts.next().and_then(number::<u32>) {
        Some(rate) if rate > 0 => rate,
        _ => {
            return Err(format!(
                "rtpmap {} has no valid clock rate",
                quoted(encoding)
            ))
        }
    };
    let channels = match parts.next() {
        None => None,
        Some(ch) => match number::<u16>(ch) {
            Some(n) if n > 0 => Some(n),
            _ => return Err(format!("rtpmap channel count {} is not valid", quoted(ch))),
        },
    };
    if parts.next().is_some() {
        return Err(format!("rtpmap {} has too many parts", quoted(encoding)));
    }
    Ok((
        pt,
        RtpMap {
            encoding_name: name.to_owned(),
            clock_rate,
            channels,
        },
    ))
}

/// `a=fmtp:<pt> <parameters>` (RFC 4566 §6); parameters are format specific
/// and kept verbatim.
pub(crate) fn fmtp(value: &str) -> FieldResult<(u8, String)> {
    let (pt, params) = match value.split_once([' ', '\t']) {
        Some((pt, params)) => (pt, params.trim_start()),
        None => (value, ""),
    };
    Ok((payload_type(pt)?, params.to_owned()))
}

/// `a=ptime` and `a=maxptime`, in milliseconds (RFC 4566 §6).
pub(crate) fn milliseconds(value: &str) -> FieldResult<u32> {
    number(value.trim()).ok_or_else(|| format!("{} is not a whole number of ms", quoted(value)))
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605 §2.1).
pub(crate) fn rtcp(value: &str) -> FieldResult<RtcpAddress> {
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let (port, connection) = match parts[..] {
        [port] => (port, None),
        [port, nettype, addrtype, address] => {
            (port, Some(network_address(nettype, addrtype, address)?))
        }
        _ => return Err("rtcp needs <port> [IN <addrtype> <address>]".to_owned()),
    };
    Ok(RtcpAddress {
        port: number(port).ok_or_else(|| format!("bad RTCP port {}", quoted(port)))?,
        connection,
    })
}
