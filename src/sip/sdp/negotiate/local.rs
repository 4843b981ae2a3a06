//! What our side of a leg offers or accepts.

use std::net::IpAddr;

use crate::codec::CodecKind;

use super::secure::LocalSrtp;

/// The local end of an audio leg: where we receive and what we can do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMedia {
    /// The address written in our `c=` line.
    pub address: IpAddr,
    /// Our RTP port; RTCP is on the next one unless rtcp-mux is agreed.
    pub rtp_port: u16,
    /// Codecs we accept, most preferred first; event formats such as
    /// telephone-event are listed here too when supported.
    pub codecs: Vec<CodecKind>,
    /// Our packet time, used when the peer gives none or an odd one.
    pub ptime_ms: u32,
    /// Whether we can take RTP and RTCP on one port (RFC 5761).
    pub rtcp_mux_supported: bool,
    /// Whether and how the leg does SDES-SRTP.
    pub srtp: LocalSrtp,
}

impl LocalMedia {
    pub fn supports(&self, codec: CodecKind) -> bool {
        self.codecs.contains(&codec)
    }
}
