//! The session description model (RFC 4566 §5): what a parsed SDP holds and
//! what the builder writes. Attributes mediaplane acts on get typed fields;
//! every other line is kept so that it survives a parse/build round trip.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::direction::Direction;

/// A whole SDP body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    pub session_name: String,
    /// `i=` (RFC 4566 §5.4).
    pub information: Option<String>,
    /// `u=` (RFC 4566 §5.5).
    pub uri: Option<String>,
    /// `e=` lines (RFC 4566 §5.6).
    pub emails: Vec<String>,
    /// `p=` lines (RFC 4566 §5.6).
    pub phones: Vec<String>,
    /// Session-level `c=`, the default for media without their own.
    pub connection: Option<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines with their `r=` lines; `t=0 0` is written if empty.
    pub timings: Vec<Timing>,
    /// `z=` (RFC 4566 §5.11), kept verbatim.
    pub time_zones: Option<String>,
    /// `k=` (RFC 4566 §5.12), kept verbatim.
    pub encryption_key: Option<String>,
    /// Session-level direction, the default for media without their own.
    pub direction: Option<Direction>,
    /// Session-level attributes other than the direction, in order.
    pub attributes: Vec<Attribute>,
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// A description with the mandatory lines only (a permanent session) and no media.
    pub fn new(origin: Origin, session_name: impl Into<String>) -> Self {
        SessionDescription {
            origin,
            session_name: session_name.into(),
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timings: vec![Timing::permanent()],
            time_zones: None,
            encryption_key: None,
            direction: None,
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }

    /// The connection that applies to `media`: its own, else the session's
    /// (RFC 4566 §5.7).
    pub fn connection_for<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    /// The direction that applies to `media`: its own, else the session's,
    /// else sendrecv (RFC 4566 §6, RFC 3264 §5.1).
    pub fn direction_for(&self, media: &MediaDescription) -> Direction {
        media.direction.or(self.direction).unwrap_or_default()
    }

    /// The first session-level attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// True when this SDP carries the same origin version as `previous`,
    /// which means it is the same description (RFC 3264 §8): a re-INVITE
    /// with it only refreshes the session.
    pub fn is_same_version_as(&self, previous: &SessionDescription) -> bool {
        let (a, b) = (&self.origin, &previous.origin);
        a.username == b.username
            && a.session_id == b.session_id
            && a.session_version == b.session_version
            && a.address == b.address
    }
}

/// The `o=` line (RFC 4566 §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: u64,
    pub session_version: u64,
    pub address_type: AddressType,
    pub address: String,
}

/// Address types of `c=` and `o=`; only the Internet network type `IN`
/// exists (RFC 4566 §5.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressType {
    Ip4,
    Ip6,
}

impl AddressType {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => AddressType::Ip4,
            IpAddr::V6(_) => AddressType::Ip6,
        }
    }

    pub fn token(self) -> &'static str {
        match self {
            AddressType::Ip4 => "IP4",
            AddressType::Ip6 => "IP6",
        }
    }
}

impl fmt::Display for AddressType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// A `c=` line, or the address part of `a=rtcp` (RFC 3605).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub address_type: AddressType,
    /// As written: an IP literal, possibly with `/ttl[/count]` for
    /// multicast, or a host name (RFC 4566 §5.7).
    pub address: String,
}

impl Connection {
    pub fn from_ip(ip: IpAddr) -> Self {
        Connection {
            address_type: AddressType::of(ip),
            address: ip.to_string(),
        }
    }

    /// The address as an IP, without multicast suffixes; `None` for a host name.
    pub fn ip(&self) -> Option<IpAddr> {
        let bare = self.address.split('/').next().unwrap_or_default();
        bare.parse().ok()
    }
}

/// A `b=` line (RFC 4566 §5.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bandwidth {
    pub modifier: String,
    pub kbps: u64,
}

/// A `t=` line and its `r=` lines (RFC 4566 §5.9, §5.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    pub start: u64,
    pub stop: u64,
    pub repeats: Vec<String>,
}

impl Timing {
    /// `t=0 0`: a session not bounded in time (RFC 4566 §5.9).
    pub fn permanent() -> Self {
        Timing {
            start: 0,
            stop: 0,
            repeats: Vec::new(),
        }
    }
}

/// An attribute kept as written: `a=name` or `a=name:value` (RFC 4566 §5.13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

impl Attribute {
    pub fn new(name: impl Into<String>, value: Option<String>) -> Self {
        Attribute {
            name: name.into(),
            value,
        }
    }
}

/// `a=rtpmap` (RFC 4566 §6): encoding name, clock rate and, for audio, channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpMap {
    pub encoding_name: String,
    pub clock_rate: u32,
    /// Absent means one channel (RFC 4566 §6).
    pub channels: Option<u16>,
}

impl RtpMap {
    pub fn channel_count(&self) -> u16 {
        self.channels.unwrap_or(1)
    }
}

/// `a=rtcp` (RFC 3605 §2.1): where the peer wants RTCP when it is not on
/// the RTP port plus one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtcpAddress {
    pub port: u16,
    pub connection: Option<Connection>,
}

/// One `m=` section (RFC 4566 §5.14) with what follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `image`, `application`, ...
    pub media: String,
    /// 0 marks a rejected or disabled stream (RFC 3264 §5.1, §6).
    pub port: u16,
    /// The `/<number of ports>` suffix, when present.
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP`, `udptl`, ...
    pub protocol: String,
    /// Formats in the order written; payload type numbers for RTP.
    pub formats: Vec<String>,
    pub information: Option<String>,
    pub connection: Option<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    pub encryption_key: Option<String>,
    /// `a=rtpmap` by payload type.
    pub rtpmaps: BTreeMap<u8, RtpMap>,
    /// `a=fmtp` parameters by payload type, verbatim.
    pub fmtps: BTreeMap<u8, String>,
    pub ptime_ms: Option<u32>,
    pub maxptime_ms: Option<u32>,
    pub direction: Option<Direction>,
    pub rtcp: Option<RtcpAddress>,
    /// `a=rtcp-mux` (RFC 5761 §5.1.1).
    pub rtcp_mux: bool,
    /// Media-level attributes not held in a field above (`crypto`, `mid`, ...), in order.
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// An `m=` section with no attributes.
    pub fn new(media: impl Into<String>, port: u16, protocol: impl Into<String>) -> Self {
        MediaDescription {
            media: media.into(),
            port,
            port_count: None,
            protocol: protocol.into(),
            formats: Vec::new(),
            information: None,
            connection: None,
            bandwidths: Vec::new(),
            encryption_key: None,
            rtpmaps: BTreeMap::new(),
            fmtps: BTreeMap::new(),
            ptime_ms: None,
            maxptime_ms: None,
            direction: None,
            rtcp: None,
            rtcp_mux: false,
            attributes: Vec::new(),
        }
    }

    /// True when the protocol is an RTP profile, whose formats are payload
    /// types (RFC 4566 §5.14).
    pub fn is_rtp(&self) -> bool {
        protocol_is_rtp(&self.protocol)
    }

    /// The formats that are payload type numbers, in the order written.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse::<u8>().ok())
    }

    /// The first media-level attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// RTP profiles are written `RTP/...` or with RTP as a later element, as in
/// `UDP/TLS/RTP/SAVPF` (RFC 5764 §8).
pub(crate) fn protocol_is_rtp(protocol: &str) -> bool {
    protocol
        .split('/')
        .any(|part| part.eq_ignore_ascii_case("RTP"))
}
