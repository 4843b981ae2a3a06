//! The receive side of the lossy hop: mediaplane's playout buffer and decoder.
//!
//! The only place the example touches the playout buffer, so a change of its
//! API is adapted here alone. It runs `MediaSession`'s own receive path: the
//! buffer sized by `playout_buffer`, each tick rendered by `render` (decode,
//! FEC recovery from the next packet, or concealment), and the delay adapted
//! only in quiet frames, exactly as `MediaSession::receive_frame` does.

use std::time::{Duration, Instant};

use mediaplane::codec::{new_decoder, AudioDecoder, CodecKind};
use mediaplane::media::jitter::{Adjust, PacketInfo, Playout, PlayoutBuffer, PlayoutStats};
use mediaplane::media::session::render::{quiet, render};
use mediaplane::media::session::{playout_buffer, MediaParams};
use mediaplane::media::stats::{SessionStats, SessionStatsSnapshot};

/// Arbitrary RTP identity of the caller's stream.
const SSRC: u32 = 0x5eed_cafe;
const FIRST_SEQUENCE: u16 = 4321;

/// One tick's audio, or nothing while the buffer is idle.
pub enum Tick<'a> {
    Audio {
        pcm: &'a [i16],
        /// Number of the frame played, when one was.
        frame: Option<usize>,
    },
    Idle,
}

/// Playout buffer and decoder of one incoming stream.
pub struct Receiver {
    buffer: PlayoutBuffer,
    decoder: Box<dyn AudioDecoder>,
    /// RTP timestamp units per frame.
    frame_ticks: u32,
    pcm: Vec<i16>,
    stats: SessionStats,
}

impl Receiver {
    /// A buffer sized as `MediaSession` sizes it for `playout_ms` of jitter delay.
    pub fn new(codec: CodecKind, ptime: Duration, playout_ms: u32) -> Result<Self, String> {
        let ptime_ms = ptime.as_millis() as u32;
        let params = MediaParams {
            codec,
            payload_type: 0,
            telephone_event_pt: None,
            ptime_ms,
            remote_rtp: None,
            remote_rtcp: None,
            rtcp_mux: false,
            send: false,
            receive: true,
            codec_options: Default::default(),
            srtp: None,
        };
        let buffer =
            playout_buffer(&params, playout_ms).map_err(|e| format!("playout buffer: {e}"))?;
        let decoder = new_decoder(codec).map_err(|e| format!("decoder: {e}"))?;
        let frame = (codec.audio_rate() as u128 * ptime.as_millis() / 1000) as usize;
        Ok(Receiver {
            buffer,
            decoder,
            frame_ticks: ((u128::from(codec.clock_rate()) * ptime.as_millis() / 1000) as u32)
                .max(1),
            pcm: vec![0; frame],
            stats: SessionStats::default(),
        })
    }

    /// Delivers the packet of frame number `frame` (counted from 0).
    pub fn push(&mut self, now: Instant, frame: usize, payload: &[u8]) {
        let info = PacketInfo {
            sequence: FIRST_SEQUENCE.wrapping_add(frame as u16),
            timestamp: (frame as u32).wrapping_mul(self.frame_ticks),
            ssrc: SSRC,
            marker: frame == 0,
        };
        // Every outcome (late, duplicate...) is counted by the buffer itself.
        let _ = self.buffer.push(now, &info, payload);
    }

    /// One ptime tick, as `MediaSession::receive_frame` plays it.
    pub fn tick(&mut self, now: Instant) -> Tick<'_> {
        let playout = self.buffer.pop(now);
        let mut frame = frame_of(&playout, self.frame_ticks);
        let mut rendered = render(&mut *self.decoder, &mut self.pcm, &self.stats, playout);
        match rendered.adjust {
            Adjust::MayDrop if quiet(&self.pcm) => {
                let next = self.buffer.drop_and_pop(now);
                frame = frame_of(&next, self.frame_ticks);
                rendered = render(&mut *self.decoder, &mut self.pcm, &self.stats, next);
            }
            Adjust::MayStretch if quiet(&self.pcm) => {
                self.buffer.stretch();
            }
            _ => {}
        }
        if !rendered.heard {
            return Tick::Idle;
        }
        Tick::Audio {
            pcm: &self.pcm,
            frame,
        }
    }

    pub fn playout_stats(&self) -> PlayoutStats {
        self.buffer.stats()
    }

    /// Lost, concealed and FEC-recovered frames, as a session counts them.
    pub fn decode_counts(&self) -> SessionStatsSnapshot {
        self.stats.snapshot()
    }

    pub fn target_delay_frames(&self) -> u16 {
        self.buffer.target_delay_frames()
    }
}

/// The number of the frame a tick plays, when it plays one.
fn frame_of(playout: &Playout<'_>, frame_ticks: u32) -> Option<usize> {
    match playout {
        Playout::Frame { info, .. } => Some((info.timestamp / frame_ticks) as usize),
        _ => None,
    }
}
