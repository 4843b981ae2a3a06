//! One tick of received audio: what the playout buffer hands out, turned
//! into PCM by decoding, FEC recovery or concealment. Public so that
//! offline tools (the speech-quality bench) run the very same receive path.

use crate::codec::AudioDecoder;
use crate::media::jitter::{Adjust, Playout};
use crate::media::stats::{bump, SessionStats};

/// Below this RMS (about −48 dBFS) a frame is quiet enough to drop or
/// repeat unheard when the playout delay adapts.
const QUIET_RMS: i64 = 128;

/// Where a tick's audio came from, on the sender's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOrigin {
    /// A packet, with its RTP timestamp.
    Received { timestamp: u32 },
    /// Rebuilt or concealed in place of a frame that is not there.
    Lost,
    /// Concealment inserted to grow the delay: no time of the sender's.
    Inserted,
    /// Nothing to play.
    Nothing,
}

/// What playing one [`Playout`] into the decoder gave.
pub struct Rendered {
    /// Audio is in the frame buffer.
    pub heard: bool,
    pub adjust: Adjust,
    pub origin: FrameOrigin,
}

/// Decodes, conceals or recovers one tick's audio into `pcm`, counting
/// what happened.
pub fn render(
    decoder: &mut dyn AudioDecoder,
    pcm: &mut [i16],
    stats: &SessionStats,
    playout: Playout<'_>,
) -> Rendered {
    let mut adjust = Adjust::Keep;
    let mut origin = FrameOrigin::Nothing;
    let heard = match playout {
        Playout::Frame {
            payload,
            adjust: offered,
            info,
        } => {
            origin = FrameOrigin::Received {
                timestamp: info.timestamp,
            };
            match decoder.decode(payload, pcm) {
                Ok(n) if n == pcm.len() => adjust = offered,
                // A short or undecodable frame is concealed rather than played.
                _ => {
                    decoder.conceal(pcm);
                    bump(&stats.concealed);
                }
            }
            true
        }
        Playout::Missing { next } => {
            origin = FrameOrigin::Lost;
            bump(&stats.lost);
            // RFC 7587 §3.3: the next packet's in-band FEC rebuilds this one.
            let recovered = match next {
                Some(next) if decoder.supports_fec() => {
                    matches!(decoder.decode_fec(next, pcm), Ok(n) if n == pcm.len())
                }
                _ => false,
            };
            if recovered {
                bump(&stats.recovered);
            } else {
                decoder.conceal(pcm);
                bump(&stats.concealed);
            }
            true
        }
        Playout::Stretch => {
            origin = FrameOrigin::Inserted;
            decoder.conceal(pcm);
            true
        }
        Playout::Idle => false,
    };
    Rendered {
        heard,
        adjust,
        origin,
    }
}

/// True when a frame is quiet enough to drop or stretch unheard.
pub fn quiet(pcm: &[i16]) -> bool {
    let energy: i64 = pcm.iter().map(|&s| s as i64 * s as i64).sum();
    energy < QUIET_RMS * QUIET_RMS * pcm.len() as i64
}
