//! The receive side of the lossy hop: mediaplane's playout buffer and decoder.
//!
//! The only place the example touches the playout buffer, so a change of its
//! API is adapted here alone. It follows `MediaSession::receive_frame`: a
//! frame that is there is decoded, one that is missing (or does not decode)
//! is concealed, or rebuilt from the next packet's FEC when the codec has it.

use std::time::{Duration, Instant};

use mediaplane::codec::{new_decoder, AudioDecoder, CodecKind};
use mediaplane::media::jitter::{PacketInfo, Playout, PlayoutBuffer, PlayoutConfig, PlayoutStats};
use mediaplane::media::session::MAX_DATAGRAM;

/// Arbitrary RTP identity of the caller's stream.
const SSRC: u32 = 0x5eed_cafe;
const FIRST_SEQUENCE: u16 = 4321;

/// What the decoder did, beyond what the buffer counts.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeCounts {
    pub decoded: u64,
    pub concealed: u64,
    pub fec: u64,
    pub decode_errors: u64,
}

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
    counts: DecodeCounts,
}

impl Receiver {
    /// A buffer sized as `MediaSession` sizes it for `playout_ms` of target delay.
    pub fn new(codec: CodecKind, ptime: Duration, playout_ms: u32) -> Result<Self, String> {
        let ptime_ms = ptime.as_millis() as u32;
        let target = playout_ms.div_ceil(ptime_ms).max(1) as u16;
        let buffer = PlayoutBuffer::new(PlayoutConfig {
            ptime,
            clock_rate: codec.clock_rate(),
            target_delay_frames: target,
            capacity_frames: (target * 4).max(16),
            max_payload: MAX_DATAGRAM,
            ..PlayoutConfig::default()
        })
        .map_err(|e| format!("playout buffer: {e}"))?;
        let decoder = new_decoder(codec).map_err(|e| format!("decoder: {e}"))?;
        let frame = (codec.audio_rate() as u128 * ptime.as_millis() / 1000) as usize;
        Ok(Receiver {
            buffer,
            decoder,
            frame_ticks: ((u128::from(codec.clock_rate()) * ptime.as_millis() / 1000) as u32)
                .max(1),
            pcm: vec![0; frame],
            counts: DecodeCounts::default(),
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

    /// One ptime tick.
    pub fn tick(&mut self, now: Instant) -> Tick<'_> {
        let counts = &mut self.counts;
        let decoder = &mut *self.decoder;
        let pcm = &mut self.pcm[..];
        let frame = match self.buffer.pop(now) {
            Playout::Frame { payload, info } => {
                match decoder.decode(payload, pcm) {
                    Ok(n) if n == pcm.len() => counts.decoded += 1,
                    _ => {
                        counts.decode_errors += 1;
                        conceal(decoder, None, pcm, counts);
                    }
                }
                Some((info.timestamp / self.frame_ticks) as usize)
            }
            // The buffer does not hand out the packet after a gap yet, so
            // there is no FEC to read (PCMU, on this hop, has none anyway).
            Playout::Missing => {
                conceal(decoder, None, pcm, counts);
                None
            }
            Playout::Idle => return Tick::Idle,
        };
        Tick::Audio {
            pcm: &self.pcm,
            frame,
        }
    }

    pub fn playout_stats(&self) -> PlayoutStats {
        self.buffer.stats()
    }

    pub fn decode_counts(&self) -> DecodeCounts {
        self.counts
    }

    pub fn target_delay_frames(&self) -> u16 {
        self.buffer.target_delay_frames()
    }
}

/// Fills a missing frame: from the next packet's FEC when the codec carries
/// it and that packet is at hand, else by concealment.
fn conceal(
    decoder: &mut dyn AudioDecoder,
    next: Option<&[u8]>,
    pcm: &mut [i16],
    counts: &mut DecodeCounts,
) {
    if let Some(next) = next.filter(|_| decoder.supports_fec()) {
        if matches!(decoder.decode_fec(next, pcm), Ok(n) if n == pcm.len()) {
            counts.fec += 1;
            return;
        }
    }
    let written = decoder.conceal(pcm).min(pcm.len());
    pcm[written..].fill(0);
    counts.concealed += 1;
}
