//! Bridged calls: the two legs of one B2BUA call on one worker, each sending
//! what the other receives.
//!
//! The control plane creates both sessions on the same worker, then sends
//! `WorkerCommand::Bridge { a, b }`. Each session gets a [`BridgeLink`] to
//! the other and its source becomes `Source::Bridge`. An `Update` of either
//! leg rebuilds both links (the codecs may have changed), `Unbridge` or
//! `Destroy` of either removes both (the survivor falls back to silence).
//!
//! Two paths, chosen per bridge from the legs' negotiated codecs:
//!
//! * **Pass-through** (same codec, hence same clock): a packet received on
//!   one leg is forwarded at once out of the other leg's socket. No playout
//!   buffer and no decoding: the far end's buffer absorbs jitter. Only the
//!   header is rewritten ([`rewrite`]): the sending leg's SSRC and payload
//!   type, sequence and timestamp shifted by offsets fixed at the first
//!   packet, so loss and silence gaps stay visible. Ptimes may differ.
//! * **Transcode**: each leg's tick pulls one frame through its playout
//!   buffer and decoder (with concealment), resamples it to the peer's audio
//!   rate ([`crate::codec::resample::FrameResampler`], one frame in, one out,
//!   no allocation) and the worker pushes it into the peer's [`fifo`]. The
//!   peer's own tick encodes one frame from that queue. The queue starts
//!   after one frame when ptimes are equal (less than one frame of added
//!   delay), after `pop + push − gcd` samples otherwise (20 ms into 30 ms:
//!   40 ms), never underruns in steady state, and is bounded (overflow drops
//!   the oldest, counted). Total added delay: the playout buffer, the
//!   resampler (5 ms for 8↔48 kHz) and that queue.
//!
//! When the queue has nothing (the sender stopped talking, RFC 3551 §4.1
//! silence suppression) the leg sends nothing rather than comfort noise, and
//! the next packet starts a talkspurt with the marker bit: the far end
//! treats it like any sender using silence suppression.
//!
//! telephone-event (RFC 4733) crosses in both modes, under the receiving
//! leg's negotiated telephone-event payload type (dropped and counted when
//! it has none). In pass-through it goes through the same header rewrite as
//! the audio (same SSRC, one sequence space); when transcoding it is
//! re-timestamped into the outgoing timeline ([`events`]), and audio frames
//! are held back while an event is being sent, so the far end does not get
//! the tone twice (in the audio, where the decoded tone may still be heard,
//! and as the event) or audio overlapping the event's time span.
//!
//! A packet with a payload type that is neither the negotiated codec nor
//! telephone-event is counted (`rx_wrong_payload_type`) and dropped; a
//! codec switch arrives through `Update`, which recreates the codecs and
//! re-decides the path.

pub mod events;
pub mod fifo;
pub mod rewrite;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use crate::codec::resample::{FrameResampler, ResampleError};
use crate::codec::CodecKind;
use crate::media::rtp_header::RtpHeader;
use crate::media::session::{MediaParams, SessionId};

use events::EventRetimer;
use fifo::PcmFifo;
use rewrite::HeaderRewriter;

/// An event with no packet for this long is over even without its end
/// packet (the end packets were lost): audio resumes.
pub const EVENT_HOLD: Duration = Duration::from_millis(200);

/// How a bridge moves audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeMode {
    /// Packets are forwarded with a rewritten header, never decoded.
    PassThrough,
    /// Decode, resample, encode.
    Transcode,
}

impl BridgeMode {
    /// The path between legs with these parameters.
    pub fn between(a: &MediaParams, b: &MediaParams) -> BridgeMode {
        // Same codec means same clock and same payload format; payload type
        // numbers may differ and are rewritten. Ptime does not matter:
        // packets are forwarded as they come.
        if a.codec == b.codec {
            BridgeMode::PassThrough
        } else {
            BridgeMode::Transcode
        }
    }
}

/// Why two legs cannot be bridged.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("session {0} does not exist on this worker")]
    UnknownSession(SessionId),
    #[error("a session cannot be bridged to itself")]
    SameSession,
    #[error("resampler: {0}")]
    Resample(#[from] ResampleError),
}

/// What a leg received that its peer must send, handed from the receiving
/// session to the worker and on to the peer. The payload stays in the
/// worker's receive buffer; this holds its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    pub kind: ForwardKind,
    pub header: RtpHeader,
    /// Byte range of the payload within the datagram.
    pub payload_start: usize,
    pub payload_end: usize,
    /// RTP clock of the receiving leg, Hz.
    pub clock_rate: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardKind {
    /// A codec frame, in pass-through mode.
    Audio,
    /// An RFC 4733 event packet, in either mode.
    Event,
}

/// What a link depends on: a re-INVITE that changes none of it (hold,
/// a new address) keeps the link, and so the audio, running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkShape {
    own_codec: CodecKind,
    own_ptime_ms: u32,
    peer_codec: CodecKind,
    peer_ptime_ms: u32,
}

impl LinkShape {
    pub fn new(own: &MediaParams, peer: &MediaParams) -> Self {
        LinkShape {
            own_codec: own.codec,
            own_ptime_ms: own.ptime_ms,
            peer_codec: peer.codec,
            peer_ptime_ms: peer.ptime_ms,
        }
    }
}

/// One leg's half of a bridge: what it needs to feed its peer and to send
/// what its peer received. Built (and allocated) when the bridge is made or
/// changed, never on the packet path.
#[derive(Debug)]
pub struct BridgeLink {
    pub peer: SessionId,
    pub mode: BridgeMode,
    /// Codec and ptime of this leg and of the peer when the link was built:
    /// what the resampler and the queue are sized for.
    pub shape: LinkShape,
    /// Own decoded frames at the peer's audio rate (transcode only).
    pub to_peer: Option<FrameResampler>,
    /// The last resampled frame, waiting for the worker to collect it.
    pub to_peer_frame: Box<[i16]>,
    pub to_peer_ready: bool,
    /// The last tick had a frame for the peer (the resampler holds its tail).
    pub to_peer_streaming: bool,
    /// The peer's audio at this leg's rate, waiting to be encoded.
    pub fifo: PcmFifo,
    /// Header rewrite for packets forwarded from the peer (pass-through).
    pub rewriter: HeaderRewriter,
    /// Re-timestamping of the peer's events (transcode).
    pub events: EventRetimer,
    /// Audio is held back until then while an event is being sent.
    pub event_until: Option<Instant>,
    /// Received here, for the worker to hand to the peer.
    pub forward: Option<Forward>,
    /// SSRC and newest sequence number received (pass-through loss count).
    pub rx_newest: Option<(u32, u16)>,
}

impl BridgeLink {
    /// The link of the leg with `own` parameters to the leg `peer` with
    /// `peer_params`.
    pub fn new(
        peer: SessionId,
        own: &MediaParams,
        peer_params: &MediaParams,
    ) -> Result<Self, BridgeError> {
        let mode = BridgeMode::between(own, peer_params);
        let own_rate = own.codec.audio_rate();
        let peer_rate = peer_params.codec.audio_rate();
        let (to_peer, frame_len) = match mode {
            BridgeMode::PassThrough => (None, 0),
            BridgeMode::Transcode => {
                let resampler = FrameResampler::new(own_rate, peer_rate, own.ptime_ms)?;
                let len = resampler.output_len();
                (Some(resampler), len)
            }
        };
        // The peer pushes one of its frames (at this leg's rate) per peer
        // tick; this leg pops one of its own frames per tick.
        let push = (own_rate * peer_params.ptime_ms / 1000) as usize;
        let pop = (own_rate * own.ptime_ms / 1000) as usize;
        let fifo = match mode {
            BridgeMode::PassThrough => PcmFifo::new(1, 1),
            BridgeMode::Transcode => PcmFifo::new(push, pop),
        };
        Ok(BridgeLink {
            peer,
            mode,
            shape: LinkShape::new(own, peer_params),
            to_peer,
            to_peer_frame: vec![0; frame_len].into_boxed_slice(),
            to_peer_ready: false,
            to_peer_streaming: false,
            fifo,
            rewriter: HeaderRewriter::default(),
            events: EventRetimer::default(),
            event_until: None,
            forward: None,
            rx_newest: None,
        })
    }

    /// True while audio is held back for an event.
    pub fn event_active(&self, now: Instant) -> bool {
        self.event_until.is_some_and(|until| now < until)
    }
}
