//! G.722 (ITU-T G.722, 64 kbit/s mode 1; RTP format per RFC 3551 §4.5.2)
//! behind the codec traits.
//!
//! G.722 splits 16 kHz audio into two sub-bands with a QMF and codes each
//! with ADPCM, producing one octet per pair of input samples: 20 ms is 320
//! samples in, 160 octets out. Both ends adapt their predictors sample by
//! sample, so encoder and decoder state must run on across frames; it is only
//! dropped by `reset` (a new stream).
//!
//! The sub-band ADPCM itself comes from the `audio-codec` crate (a pure-Rust
//! port of the spandsp/CMU G.722 code). It was chosen over `ezk-g722`, which
//! measured the same ~35 dB SNR on speech, because it encodes and decodes
//! into caller-owned slices (no allocation per frame, as the codec traits
//! require), reports short buffers as errors rather than panicking, and with
//! default features off depends only on `libm` and `fearless_simd`, where
//! `ezk-g722` returns a fresh `Vec` per call and pulls in the whole ezk media
//! framework.

use audio_codec::g722::{Bitrate, G722Decoder as AdpcmDecoder, G722Encoder as AdpcmEncoder};
use audio_codec::Encoder as _;

use super::conceal::RepeatFadeConcealer;
use super::{AudioDecoder, AudioEncoder, CodecError, CodecKind};

/// Input samples per payload octet: one 8-bit code per QMF sample pair in
/// 64 kbit/s mode (ITU-T G.722 §1.4; RFC 3551 §4.5.2).
const SAMPLES_PER_OCTET: usize = 2;

/// The longest frame the concealment remembers whole: 120 ms at 16 kHz,
/// the largest ptime in common use.
const MAX_FRAME_SAMPLES: usize = 1920;

/// A fresh 64 kbit/s, 16 kHz, unpacked (one code per octet) encoder state.
fn fresh_encoder() -> AdpcmEncoder {
    // Argument order is (rate, eight_k, packed); the decoder's differs.
    AdpcmEncoder::with_options(Bitrate::Mode1_64000, false, false)
}

/// A fresh 64 kbit/s, 16 kHz, unpacked decoder state.
fn fresh_decoder() -> AdpcmDecoder {
    // Argument order is (rate, packed, eight_k).
    AdpcmDecoder::with_options(Bitrate::Mode1_64000, false, false)
}

/// Maps the crate's error onto ours; only a short buffer can occur once the
/// lengths have been checked, and the lengths are checked first.
fn map_error(error: audio_codec::CodecError, needed: usize, available: usize) -> CodecError {
    match error {
        audio_codec::CodecError::BufferTooSmall => CodecError::OutputTooSmall { needed, available },
        _ => CodecError::BadFrameLength {
            kind: CodecKind::G722,
            samples: needed,
        },
    }
}

/// G.722 encoder at 64 kbit/s; takes 16 kHz mono PCM.
pub struct G722Encoder {
    state: AdpcmEncoder,
}

impl G722Encoder {
    pub fn new() -> Self {
        Self {
            state: fresh_encoder(),
        }
    }

    /// Forgets the adaptive state, as for a new outgoing stream.
    pub fn reset(&mut self) {
        self.state = fresh_encoder();
    }
}

impl Default for G722Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for G722Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("G722Encoder").finish_non_exhaustive()
    }
}

impl AudioEncoder for G722Encoder {
    fn kind(&self) -> CodecKind {
        CodecKind::G722
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        // An odd count would leave half a QMF pair behind, and the crate
        // silently drops it; a frame of any ptime is an even count at 16 kHz.
        if pcm.is_empty() || !pcm.len().is_multiple_of(SAMPLES_PER_OCTET) {
            return Err(CodecError::BadFrameLength {
                kind: CodecKind::G722,
                samples: pcm.len(),
            });
        }
        let needed = pcm.len() / SAMPLES_PER_OCTET;
        let available = out.len();
        // Checked before encoding so a failure never leaves the ADPCM state
        // advanced over samples whose codes were not delivered.
        let out = out
            .get_mut(..needed)
            .ok_or(CodecError::OutputTooSmall { needed, available })?;
        self.state
            .encode_into(pcm, out)
            .map_err(|e| map_error(e, needed, available))
    }
}

/// G.722 decoder at 64 kbit/s with repeat-and-fade concealment.
pub struct G722Decoder {
    state: AdpcmDecoder,
    concealer: RepeatFadeConcealer,
}

impl G722Decoder {
    pub fn new() -> Self {
        Self {
            state: fresh_decoder(),
            concealer: RepeatFadeConcealer::new(MAX_FRAME_SAMPLES),
        }
    }
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for G722Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("G722Decoder")
            .field("concealer", &self.concealer)
            .finish_non_exhaustive()
    }
}

impl AudioDecoder for G722Decoder {
    fn kind(&self) -> CodecKind {
        CodecKind::G722
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        // Every octet is a valid code pair (6-bit low band, 2-bit high band,
        // G.722 §1.4.3), so any payload decodes; only the output can be short.
        let needed = payload.len() * SAMPLES_PER_OCTET;
        let available = out.len();
        let out = out
            .get_mut(..needed)
            .ok_or(CodecError::OutputTooSmall { needed, available })?;
        let written = self
            .state
            .decode_frame_into(payload, out)
            .map_err(|e| map_error(e, needed, available))?;
        self.concealer.remember(&out[..written]);
        Ok(written)
    }

    fn conceal(&mut self, out: &mut [i16]) -> usize {
        // The ADPCM state is left as it was and the next real packet is
        // decoded from it; the backward-adaptive predictors re-converge on
        // the following samples. ITU-T G.722 Appendix III and IV describe
        // concealment that also repairs that state, at a higher cost.
        self.concealer.conceal(out)
    }

    fn reset(&mut self) {
        self.state = fresh_decoder();
        self.concealer.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::conceal::FADE_FRAMES;

    const RATE: f64 = 16_000.0;
    const FRAME: usize = 320;
    const PAYLOAD: usize = 160;

    fn sine(samples: usize, hz: f64, amplitude: f64) -> Vec<i16> {
        (0..samples)
            .map(|i| {
                let t = i as f64 / RATE;
                (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()).round() as i16
            })
            .collect()
    }

    /// Voiced-speech stand-in: a 140 Hz pitch with harmonics up to 7 kHz
    /// falling 12 dB per octave (the glottal source's roll-off), under a
    /// 4 Hz syllabic envelope.
    fn speech_like(samples: usize) -> Vec<i16> {
        let f0 = 140.0;
        let harmonics = (7000.0 / f0) as usize;
        (0..samples)
            .map(|i| {
                let t = i as f64 / RATE;
                let envelope = 0.55 - 0.45 * (2.0 * std::f64::consts::PI * 4.0 * t).cos();
                let voiced: f64 = (1..=harmonics)
                    .map(|k| {
                        let phase = 2.0 * std::f64::consts::PI * f0 * k as f64 * t + k as f64;
                        phase.sin() / (k * k) as f64
                    })
                    .sum();
                (envelope * 12_000.0 * voiced).round() as i16
            })
            .collect()
    }

    /// Encodes and decodes `pcm` 20 ms at a time through one encoder and
    /// decoder pair, as a call would.
    fn round_trip(pcm: &[i16]) -> Vec<i16> {
        let mut encoder = G722Encoder::new();
        let mut decoder = G722Decoder::new();
        let mut payload = [0u8; PAYLOAD];
        let mut frame = [0i16; FRAME];
        let mut decoded = Vec::with_capacity(pcm.len());
        for chunk in pcm.chunks(FRAME) {
            let n = encoder.encode(chunk, &mut payload).unwrap();
            assert_eq!(n, chunk.len() / 2);
            let m = decoder.decode(&payload[..n], &mut frame).unwrap();
            assert_eq!(m, chunk.len());
            decoded.extend_from_slice(&frame[..m]);
        }
        decoded
    }

    /// The codec delay (QMF analysis plus synthesis), found as the lag with
    /// the highest cross-correlation.
    fn delay(reference: &[i16], decoded: &[i16]) -> usize {
        (0..64)
            .max_by_key(|&lag| {
                reference
                    .iter()
                    .zip(&decoded[lag..])
                    .map(|(&r, &d)| r as i64 * d as i64)
                    .sum::<i64>()
            })
            .unwrap()
    }

    /// SNR after aligning the delay, skipping the first 40 ms while the
    /// ADPCM adapts from its reset state.
    fn aligned_snr_db(reference: &[i16], decoded: &[i16]) -> (usize, f64) {
        let lag = delay(reference, decoded);
        let skip = 640;
        let pairs = reference[skip..]
            .iter()
            .zip(&decoded[skip + lag..])
            .map(|(&r, &d)| (r as f64, d as f64));
        let (signal, noise) = pairs.fold((0.0, 0.0), |(s, n), (r, d)| {
            (s + r * r, n + (r - d) * (r - d))
        });
        (lag, 10.0 * (signal / noise).log10())
    }

    /// Frequency estimated from zero crossings.
    fn frequency(pcm: &[i16]) -> f64 {
        let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        crossings as f64 / 2.0 / (pcm.len() as f64 / RATE)
    }

    #[test]
    fn tones_round_trip_with_their_frequency_and_snr() {
        // 1 kHz lies in the 6-bit lower sub-band; 5 kHz in the 2-bit upper
        // sub-band (4–8 kHz), which G.722 codes far more coarsely.
        for (hz, min_snr) in [(1000.0, 40.0), (5000.0, 18.0)] {
            let pcm = sine(16_000, hz, 10_000.0);
            let decoded = round_trip(&pcm);
            let (lag, snr) = aligned_snr_db(&pcm, &decoded);
            assert!(snr > min_snr, "{hz} Hz: SNR {snr:.1} dB at lag {lag}");
            let f = frequency(&decoded[640..]);
            assert!((f - hz).abs() < hz * 0.01, "{hz} Hz came back as {f:.0} Hz");
        }
    }

    #[test]
    fn speech_like_signal_keeps_snr() {
        let pcm = speech_like(32_000);
        let decoded = round_trip(&pcm);
        let (lag, snr) = aligned_snr_db(&pcm, &decoded);
        assert!(snr > 35.0, "speech-like SNR {snr:.1} dB at lag {lag}");
    }

    #[test]
    fn state_runs_on_across_frames() {
        // Frame by frame must equal one long encode: ADPCM state carries over.
        let pcm = speech_like(FRAME * 4);
        let mut whole = vec![0u8; pcm.len() / 2];
        G722Encoder::new().encode(&pcm, &mut whole).unwrap();
        let mut encoder = G722Encoder::new();
        let mut framed = Vec::new();
        let mut payload = [0u8; PAYLOAD];
        for chunk in pcm.chunks(FRAME) {
            let n = encoder.encode(chunk, &mut payload).unwrap();
            framed.extend_from_slice(&payload[..n]);
        }
        assert_eq!(framed, whole);
        // And reset returns to the initial state.
        encoder.reset();
        encoder.encode(&pcm[..FRAME], &mut payload).unwrap();
        assert_eq!(payload[..], whole[..PAYLOAD]);
    }

    #[test]
    fn wrong_sizes_are_typed_errors() {
        let mut encoder = G722Encoder::new();
        let mut payload = [0u8; PAYLOAD];
        for samples in [0usize, 1, 319] {
            assert_eq!(
                encoder.encode(&vec![0; samples], &mut payload),
                Err(CodecError::BadFrameLength {
                    kind: CodecKind::G722,
                    samples
                })
            );
        }
        let mut small = [0u8; 159];
        assert_eq!(
            encoder.encode(&[0; FRAME], &mut small),
            Err(CodecError::OutputTooSmall {
                needed: 160,
                available: 159
            })
        );
        // 10 and 30 ms frames are fine.
        assert_eq!(encoder.encode(&[0; 160], &mut payload), Ok(80));
        let mut long = [0u8; 240];
        assert_eq!(encoder.encode(&[0; 480], &mut long), Ok(240));

        let mut decoder = G722Decoder::new();
        let mut pcm = [0i16; FRAME];
        assert_eq!(decoder.decode(&[], &mut pcm), Err(CodecError::EmptyPayload));
        assert_eq!(
            decoder.decode(&[0xFA; 161], &mut pcm),
            Err(CodecError::OutputTooSmall {
                needed: 322,
                available: 320
            })
        );
    }

    #[test]
    fn random_payloads_decode_without_panic() {
        // A fixed xorshift keeps the test reproducible.
        let mut x: u32 = 0x9E37_79B9;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut decoder = G722Decoder::new();
        let mut pcm = [0i16; 1920];
        let mut payload = [0u8; 960];
        for round in 0..500 {
            let len = 1 + (next() as usize % payload.len());
            payload[..len].iter_mut().for_each(|b| *b = next() as u8);
            assert_eq!(decoder.decode(&payload[..len], &mut pcm), Ok(len * 2));
            if round % 50 == 0 {
                decoder.reset();
            }
        }
        // Extreme codes held for a long time must not overflow either.
        for code in [0x00u8, 0xFF, 0x3F, 0xC0] {
            for _ in 0..100 {
                decoder.decode(&[code; PAYLOAD], &mut pcm).unwrap();
            }
        }
    }

    #[test]
    fn full_scale_input_encodes_without_panic() {
        let mut encoder = G722Encoder::new();
        let mut payload = [0u8; PAYLOAD];
        for level in [i16::MAX, i16::MIN] {
            let square: Vec<i16> = (0..FRAME)
                .map(|i| {
                    if (i / 8) % 2 == 0 {
                        level
                    } else {
                        -(level / 2)
                    }
                })
                .collect();
            for _ in 0..50 {
                encoder.encode(&square, &mut payload).unwrap();
            }
        }
    }

    #[test]
    fn concealment_fades_to_silence() {
        let pcm = sine(FRAME * 3, 500.0, 12_000.0);
        let mut encoder = G722Encoder::new();
        let mut decoder = G722Decoder::new();
        let mut payload = [0u8; PAYLOAD];
        let mut good = [0i16; FRAME];
        for chunk in pcm.chunks(FRAME) {
            encoder.encode(chunk, &mut payload).unwrap();
            decoder.decode(&payload, &mut good).unwrap();
        }
        let peak = |f: &[i16]| f.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        let mut out = [0i16; FRAME];
        let mut previous = peak(&good);
        for frame in 1..=FADE_FRAMES {
            assert_eq!(decoder.conceal(&mut out), FRAME);
            let p = peak(&out);
            assert!(p < previous, "concealed frame {frame} not quieter");
            if frame == 1 {
                assert!(p > previous / 2, "first concealed frame too quiet");
            }
            previous = p;
        }
        decoder.conceal(&mut out);
        assert!(out.iter().all(|&s| s == 0), "not silent after the fade");
        // A real packet after the gap decodes normally.
        encoder.encode(&pcm[..FRAME], &mut payload).unwrap();
        assert_eq!(decoder.decode(&payload, &mut out), Ok(FRAME));
    }

    #[test]
    fn reset_drops_the_concealment_history() {
        let mut decoder = G722Decoder::new();
        let mut out = [0i16; FRAME];
        decoder.decode(&[0x20; PAYLOAD], &mut out).unwrap();
        decoder.reset();
        decoder.conceal(&mut out);
        assert!(out.iter().all(|&s| s == 0));
    }

    #[test]
    fn factory_and_kind_agree_on_framing() {
        // 20 ms is audio_rate · 0.02 samples in, and the RTP timestamp moves
        // by clock_rate · 0.02 = 160 ticks (RFC 3551 §4.5.2).
        assert_eq!(CodecKind::G722.audio_rate() as usize / 50, FRAME);
        assert_eq!(CodecKind::G722.clock_rate() / 50, 160);
        let mut encoder = crate::codec::new_encoder(CodecKind::G722).unwrap();
        let mut payload = [0u8; PAYLOAD];
        assert_eq!(encoder.encode(&[0; FRAME], &mut payload), Ok(PAYLOAD));
    }
}
