//! One media leg, sans-IO: RTP datagrams and time in, RTP datagrams and
//! events out. The worker owns the sockets and the clock; this owns the
//! playout buffer, the codec pair, the outgoing stream and the ptime clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::codec::{new_decoder_with, new_encoder_with, AudioDecoder, AudioEncoder, CodecError};
use crate::media::bridge::{BridgeLink, ForwardKind};
use crate::media::conference::ConferenceLink;
use crate::media::jitter::{PacketInfo, PlayoutBuffer, PlayoutConfigError, PushOutcome};
use crate::media::recorder::RecordingEnd;
use crate::media::rtcp::is_rtcp;
use crate::media::rtp_header;
use crate::media::stats::{add, bump, set, MediaMetrics, SessionStats};
pub use conferenced::SharedMixKey;
use digits::SessionDigits;
pub use digits::{SendDigitError, SENT_KEY_DURATION};
pub use latching::{Latching, RtpLatching, LATCHING_VALUES};
use packet_time::PacketTime;
pub use receive::playout_buffer;
use receive::JitterEstimate;
use recording::SessionRecording;
use render::FrameOrigin;
use rtcp::SessionRtcp;
pub use rtcp::{Transmit, Via};
use srtp::SessionSrtp;
pub use types::{MediaParams, RtcpSetup, SessionEvent, SessionSetup, Source, SrtpSetup};

/// Identifies a session across the control and data planes.
pub type SessionId = u64;

/// Largest datagram we send or accept.
pub const MAX_DATAGRAM: usize = 1500;

/// Our RTP header: no CSRCs, no extension (RFC 3550 §5.1).
const RTP_HEADER_LEN: usize = 12;

/// The outgoing RTP stream's continuity state (RFC 3550 §5.1).
#[derive(Debug)]
struct OutgoingStream {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    /// The next packet starts a talkspurt (RFC 3551 §4.1 marker bit).
    marker: bool,
}

pub struct MediaSession {
    id: SessionId,
    params: MediaParams,
    playout: PlayoutBuffer,
    jitter_delay_ms: u32,
    decoder: Box<dyn AudioDecoder>,
    encoder: Box<dyn AudioEncoder>,
    source: Source,
    out: OutgoingStream,
    /// Address latched from incoming RTP (symmetric RTP, RFC 4961).
    latched: Option<SocketAddr>,
    latching: Latching,
    frame_samples: usize,
    ts_per_frame: u32,
    ptime: Duration,
    next_tick: Instant,
    last_rx: Instant,
    /// The last RTCP report of a peer that sends no RTP (RFC 3550 §6.4):
    /// alive, so its RTP silence does not time the call out.
    quiet_peer_at: Instant,
    media_timeout: Duration,
    /// The media timeout runs only once the call is answered: phones send
    /// no RTP while ringing.
    armed: bool,
    timed_out: bool,
    pcm: Vec<i16>,
    packet: [u8; MAX_DATAGRAM],
    packet_len: usize,
    pending_events: [Option<SessionEvent>; PENDING_EVENTS],
    digits: SessionDigits,
    keys_by_signalling: bool,
    /// Set by the control plane with each source (see `WorkerCommand::SetSource`).
    source_generation: u32,
    /// Where the last received frame came from, for the tone detector.
    origin: FrameOrigin,
    /// RTP timestamp of the frame the tone detector expects next.
    detector_next: Option<u32>,
    jitter: JitterEstimate,
    stats: Arc<SessionStats>,
    metrics: Arc<MediaMetrics>,
    /// The other leg of a bridged call, when there is one.
    bridge: Option<Box<BridgeLink>>,
    /// The conference room the leg is in, when it is in one.
    conference: Option<Box<ConferenceLink>>,
    /// What the caller says is being recorded (voicemail).
    recording: Option<Box<SessionRecording>>,
    /// Recordings this session started, numbering them for the recorder.
    recordings_started: u32,
    /// The peer's packet durations, followed when they differ from ptime.
    packet_time: PacketTime,
    rtcp: Box<SessionRtcp>,
    /// SRTP on an `RTP/SAVP` leg (see `srtp.rs`).
    srtp: Option<Box<SessionSrtp>>,
}

/// Events held between two polls by the worker (which polls after every
/// datagram and tick, so a handful is plenty).
pub const PENDING_EVENTS: usize = 8;

/// Why a session cannot be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("playout buffer: {0}")]
    Playout(#[from] PlayoutConfigError),
    #[error(transparent)]
    Srtp(#[from] crate::media::srtp::SrtpError),
}

impl MediaSession {
    pub fn new(
        setup: SessionSetup,
        now: Instant,
        metrics: Arc<MediaMetrics>,
    ) -> Result<Self, SessionError> {
        let params = setup.params;
        let frame_samples = (params.codec.audio_rate() * params.ptime_ms / 1000) as usize;
        let ptime = Duration::from_millis(params.ptime_ms as u64);
        let ssrc = rand::random();
        let delay = setup.jitter_delay_ms;
        let rtcp = SessionRtcp::new(&setup.rtcp, &params, ssrc, delay, now);
        Ok(MediaSession {
            id: setup.id,
            decoder: new_decoder_with(params.codec, &params.codec_options)?,
            encoder: new_encoder_with(params.codec, &params.codec_options)?,
            playout: playout_buffer(&params, setup.jitter_delay_ms)?,
            jitter_delay_ms: setup.jitter_delay_ms,
            source: Source::Silence,
            out: OutgoingStream {
                ssrc,
                sequence: rand::random(),
                timestamp: rand::random(),
                marker: true,
            },
            latched: None,
            latching: setup.latching,
            armed: false,
            frame_samples,
            ts_per_frame: params.codec.clock_rate() * params.ptime_ms / 1000,
            ptime,
            next_tick: now + ptime,
            last_rx: now,
            quiet_peer_at: now,
            media_timeout: setup.media_timeout,
            timed_out: false,
            pcm: vec![0; frame_samples],
            packet: [0; MAX_DATAGRAM],
            packet_len: 0,
            pending_events: [None; PENDING_EVENTS],
            digits: SessionDigits::new(&params, ptime, false),
            origin: FrameOrigin::Nothing,
            detector_next: None,
            source_generation: 0,
            keys_by_signalling: false,
            jitter: JitterEstimate::default(),
            stats: setup.stats,
            metrics,
            bridge: None,
            conference: None,
            recording: None,
            recordings_started: 0,
            packet_time: PacketTime::default(),
            rtcp,
            srtp: SessionSrtp::new(&params.srtp)?,
            params,
        })
        .inspect(|session| {
            session.publish_delay();
            set(
                &session.stats.payload_type,
                u64::from(session.params.payload_type),
            );
        })
    }

    /// The playout delay now and the one the buffer aims for, for the API.
    fn publish_delay(&self) {
        let target = self.playout.target_delay_frames() as u64;
        set(
            &self.stats.playout_target_ms,
            target * self.params.ptime_ms as u64,
        );
        set(
            &self.stats.playout_delay_ms,
            self.playout.current_delay().as_millis() as u64,
        );
    }

    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The call was answered: the media timeout starts counting from now.
    pub fn answered(&mut self, now: Instant) {
        self.armed = true;
        self.last_rx = now;
    }

    pub fn set_source(&mut self, source: Source) {
        self.keep_stream_continuous();
        self.source = source;
        self.out.marker = true;
    }

    pub fn set_source_generation(&mut self, generation: u32) {
        self.source_generation = generation;
    }

    pub fn source_generation(&self) -> u32 {
        self.source_generation
    }

    /// A re-INVITE changed the leg. A codec change restarts the codec pair and
    /// the playout buffer; the outgoing stream keeps its SSRC and sequence.
    pub fn update(&mut self, params: MediaParams, now: Instant) -> Result<(), SessionError> {
        // First, so that keys that cannot be used leave the leg as it was.
        self.update_srtp(&params.srtp)?;
        if params.codec != self.params.codec
            || params.ptime_ms != self.params.ptime_ms
            || params.telephone_event_pt != self.params.telephone_event_pt
        {
            let ptime = Duration::from_millis(params.ptime_ms as u64);
            self.digits = SessionDigits::new(&params, ptime, self.digits.listening());
        }
        if params.codec != self.params.codec || params.ptime_ms != self.params.ptime_ms {
            if self.records() && params.codec.audio_rate() != self.params.codec.audio_rate() {
                // A WAV has one rate: the recording ends here rather than
                // mix two.
                self.stop_recording(RecordingEnd::Stopped);
                self.push_event(SessionEvent::RecordingEnded(RecordingEnd::Stopped));
            }
            self.decoder = new_decoder_with(params.codec, &params.codec_options)?;
            self.encoder = new_encoder_with(params.codec, &params.codec_options)?;
            self.frame_samples = (params.codec.audio_rate() * params.ptime_ms / 1000) as usize;
            self.ts_per_frame = params.codec.clock_rate() * params.ptime_ms / 1000;
            self.ptime = Duration::from_millis(params.ptime_ms as u64);
            self.pcm = vec![0; self.frame_samples];
            self.rtcp.set_codec(&params);
            self.playout = playout_buffer(&params, self.jitter_delay_ms)?;
            self.publish_delay();
        } else if params.codec_options != self.params.codec_options {
            // New fmtp, same codec: only how we encode for the peer changes.
            self.encoder = new_encoder_with(params.codec, &params.codec_options)?;
        }
        if params.remote_rtp != self.params.remote_rtp {
            // A new signalled address re-opens latching (the peer moved).
            self.latched = None;
            self.rtcp.forget_source();
        }
        set(&self.stats.payload_type, u64::from(params.payload_type));
        self.params = params;
        self.last_rx = now;
        self.timed_out = false;
        Ok(())
    }

    /// An RTP or (multiplexed) RTCP datagram arrived on the RTP port.
    pub fn handle_rtp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if self.srtp.is_some() {
            return self.handle_srtp(now, from, datagram);
        }
        // RFC 5761 §4: payload types 64–95 on the RTP port are RTCP.
        if is_rtcp(datagram) {
            return self.handle_muxed_rtcp(now, from, datagram);
        }
        let Ok((header, payload)) = rtp_header::parse(datagram) else {
            return self.garbage();
        };
        if !self.accept_source(now, from) {
            bump(&self.stats.rx_foreign_source);
            bump(&self.metrics.rx_foreign_source);
            return;
        }
        self.last_rx = now;
        // Every packet of the peer's SSRC, telephone-events too.
        self.rtcp.on_rtp_received(now, &header, payload.len());
        if header.payload_type != self.params.payload_type {
            // Events go to a bridged peer or are the IVR layer's; anything
            // else is counted.
            if Some(header.payload_type) != self.params.telephone_event_pt {
                bump(&self.stats.rx_wrong_payload_type);
            } else if self.params.receive
                && !self.divert(datagram, &header, payload, ForwardKind::Event)
            {
                self.digits.heard_event(
                    now,
                    header.timestamp,
                    header.sequence,
                    header.marker,
                    payload,
                );
                self.collect_digits();
            }
            return;
        }
        bump(&self.stats.rx_packets);
        add(&self.stats.rx_bytes, datagram.len() as u64);
        bump(&self.metrics.rx_packets);
        let jitter = self
            .jitter
            .update(now, header.timestamp, self.params.codec.clock_rate());
        set(
            &self.stats.jitter_us,
            (jitter * 1e6 / self.params.codec.clock_rate() as f64) as u64,
        );
        if !self.params.receive || self.divert(datagram, &header, payload, ForwardKind::Audio) {
            return;
        }
        self.follow_packet_time(now, payload.len());
        let info = PacketInfo {
            sequence: header.sequence,
            timestamp: header.timestamp,
            ssrc: header.ssrc,
            marker: header.marker,
        };
        let resets = self.playout.resets();
        match self.playout.push(now, &info, payload) {
            PushOutcome::Duplicate => bump(&self.stats.duplicates),
            PushOutcome::TooLate => bump(&self.stats.late),
            _ => {}
        }
        if self.playout.resets() != resets {
            // A new source (another SSRC, RFC 3550 §8, or a jump): its
            // audio must not be decoded or concealed from the old one's state.
            self.decoder.reset();
        }
    }

    fn garbage(&mut self) {
        bump(&self.stats.rx_garbage);
        bump(&self.metrics.rx_garbage);
    }

    fn destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.params.remote_rtp)
    }

    /// Hangs up a call the peer went silent on: no RTP, and no report
    /// saying it is alive and quiet (a phone suppressing silence), for the
    /// media timeout.
    fn check_media_timeout(&mut self, now: Instant) {
        let expecting = self.armed && self.params.receive && self.params.remote_rtp.is_some();
        let heard = self.last_rx.max(self.quiet_peer_at);
        if expecting && !self.timed_out && now.duration_since(heard) >= self.media_timeout {
            self.timed_out = true;
            bump(&self.metrics.media_timeouts);
            self.push_event(SessionEvent::MediaTimeout);
        }
    }

    fn push_event(&mut self, event: SessionEvent) {
        if let Some(slot) = self.pending_events.iter_mut().find(|e| e.is_none()) {
            *slot = Some(event);
        }
    }

    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.pending_events.iter_mut().find_map(|e| e.take())
    }
}

mod bridged;
mod conferenced;
mod digits;
mod latching;
mod packet_time;
mod receive;
mod recording;
pub mod render;
mod rtcp;
mod srtp;
mod tick;
mod types;

#[cfg(test)]
mod tests;
