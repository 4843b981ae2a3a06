//! One tick of received audio: what the playout buffer hands out, turned
//! into PCM by decoding, FEC recovery or concealment. Public so that
//! offline tools (the speech-quality bench) run the very same receive path.

use crate::codec::AudioDecoder;
use crate::media::jitter::{Adjust, Playout};
use crate::media::stats::{bump, SessionStats};

/// Below this RMS (about −48 dBFS) a frame is quiet enough to drop or
/// repeat unheard when the playout delay adapts.
const QUIET_RMS: i64 = 128;

/// What playing one [`Playout`] into the decoder gave.
pub struct Rendered {
    /// Audio is in the frame buffer.
    pub heard: bool,
    pub adjust: Adjust,
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
    let heard = match playout {
        Playout::Frame {
            payload,
            adjust: offered,
            ..
        } => {
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
            decoder.conceal(pcm);
            true
        }
        Playout::Idle => false,
    };
    Rendered { heard, adjust }
}

/// True when a frame is quiet enough to drop or stretch unheard.
pub fn quiet(pcm: &[i16]) -> bool {
    let energy: i64 = pcm.iter().map(|&s| s as i64 * s as i64).sum();
    energy < QUIET_RMS * QUIET_RMS * pcm.len() as i64
}
