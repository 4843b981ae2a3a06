//! What a successful negotiation hands to the media plane.

use std::net::SocketAddr;

use crate::codec::{CodecKind, CodecOptions};
use crate::sip::sdp::{Direction, SessionDescription};

/// The agreed audio stream of a leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiatedAudio {
    pub codec: CodecKind,
    /// The payload type the peer's SDP gave the codec, which it expects in
    /// the packets it receives (RFC 3264 §5.1).
    pub payload_type: u8,
    /// The peer's payload type for telephone-event, if both sides do it.
    pub telephone_event_pt: Option<u8>,
    /// Where to send RTP; `None` while the peer is on hold with no address.
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP: the RTP address when muxed, else `a=rtcp`
    /// (RFC 3605) or the RTP port plus one (RFC 3550 §11).
    pub remote_rtcp: Option<SocketAddr>,
    pub rtcp_mux: bool,
    /// Our direction: whether we send and whether we receive.
    pub direction: Direction,
    pub ptime_ms: u32,
    /// What the peer's fmtp for the codec asks of our encoder (RFC 7587
    /// §6.1 for Opus); defaults when it gave none.
    pub codec_options: CodecOptions,
    /// The SRTP key pair (ours and the peer's), for `RTP/SAVP`.
    pub srtp: Option<crate::media::srtp::Negotiated>,
}

/// The outcome of answering an offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The SDP to send back.
    pub answer: SessionDescription,
    pub audio: NegotiatedAudio,
}
