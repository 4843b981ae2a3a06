//! What a session is made from and tells: its source of audio, its
//! negotiated parameters, its setup and its events.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::SessionId;
use crate::codec::{CodecKind, CodecOptions};
use crate::media::dtmf::DtmfDigit;
use crate::media::stats::SessionStats;

/// What the session sends.
#[derive(Debug, Clone)]
pub enum Source {
    /// Nothing (still receiving, counting and latching).
    Silence,
    /// The caller's own audio, after the full receive path.
    Echo,
    /// A prompt at the codec's audio rate, from `position`.
    Prompt {
        samples: Arc<[i16]>,
        position: usize,
    },
    /// A prompt played over and over (music on hold), from `position`.
    Loop {
        samples: Arc<[i16]>,
        position: usize,
    },
    /// The mix of the conference room the leg is in, without its own voice
    /// (`crate::media::conference`); set by joining a room.
    Conference,
    /// What the bridged peer leg receives (`crate::media::bridge`); silence
    /// while not bridged. Bridging sets it; setting it again after a prompt
    /// on a bridged leg resumes the bridge.
    Bridge,
}

/// Negotiated parameters of a leg; also what a re-INVITE changes.
#[derive(Debug, Clone)]
pub struct MediaParams {
    pub codec: CodecKind,
    pub payload_type: u8,
    pub telephone_event_pt: Option<u8>,
    pub ptime_ms: u32,
    /// Where the signalling says to send; None while on hold.
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP when not muxed: the peer's `a=rtcp` (RFC 3605)
    /// or its RTP port plus one (RFC 3550 §11).
    pub remote_rtcp: Option<SocketAddr>,
    /// RTCP shares the RTP port both ways (RFC 5761), as negotiated.
    pub rtcp_mux: bool,
    pub send: bool,
    pub receive: bool,
    /// The peer's codec parameters from its fmtp (Opus FEC, bandwidth).
    pub codec_options: CodecOptions,
    /// The negotiated SDES-SRTP keys (RFC 4568), for an `RTP/SAVP` leg.
    /// Keys are wiped on drop and redacted in `Debug`.
    pub srtp: Option<SrtpSetup>,
}

/// A leg's SRTP: our line (suite and the key we protect with) and the
/// peer's (the key we unprotect with).
pub type SrtpSetup = crate::media::srtp::Negotiated;

/// Everything needed to create a session.
#[derive(Debug, Clone)]
pub struct SessionSetup {
    pub id: SessionId,
    pub params: MediaParams,
    pub jitter_delay_ms: u32,
    pub media_timeout: Duration,
    pub stats: Arc<SessionStats>,
    /// From where the leg's RTP may be latched.
    pub latching: super::Latching,
    pub rtcp: RtcpSetup,
}

/// What every leg's RTCP shares: the server's canonical name, the report
/// interval and the clock the Sender Reports are stamped with.
#[derive(Debug, Clone)]
pub struct RtcpSetup {
    /// RFC 3550 §6.5.1: one CNAME per endpoint, the same on every leg.
    pub cname: Arc<str>,
    /// The minimum report interval (RFC 3550 §6.2 recommends 5 s).
    pub interval: Duration,
    /// The wall clock at a monotonic instant: SR NTP times are this plus
    /// the monotonic time since, so the session reads no clock itself and
    /// its timestamps never step with the system clock.
    pub wall_anchor: (Instant, SystemTime),
}

impl RtcpSetup {
    /// A setup with a fresh random CNAME (RFC 7022 §4.2: 96 random bits,
    /// short-term persistent, telling nothing of the host) anchored now.
    pub fn new(interval: Duration) -> Self {
        let id: u128 = rand::random::<u128>() >> 32;
        RtcpSetup {
            cname: format!("{id:024x}@mediaplane").into(),
            interval,
            wall_anchor: (Instant::now(), SystemTime::now()),
        }
    }
}

impl Default for RtcpSetup {
    fn default() -> Self {
        RtcpSetup::new(crate::media::rtcp::interval::DEFAULT_MIN_INTERVAL)
    }
}

/// Something the control plane must hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    PlaybackFinished,
    MediaTimeout,
    /// The caller pressed a key (a telephone-event, or an inband tone on a
    /// leg listening for digits).
    Digit(DtmfDigit),
    /// The bridge peer's caller pressed a key, to be sent on this leg by
    /// signalling (see [`MediaSession::keys_by_signalling`]).
    PeerDigit(DtmfDigit),
    /// In a conference room: the member started (true) or stopped being
    /// mixed as one of the speakers.
    Speaking(bool),
    /// The session ended its recording by itself (maximum length, silence,
    /// or a codec change); the recorder reports the file when it is written.
    RecordingEnded(crate::media::recorder::RecordingEnd),
}
