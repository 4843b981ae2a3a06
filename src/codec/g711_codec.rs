//! PCMU and PCMA (ITU-T G.711, RFC 3551 §4.5.14) behind the codec traits.
//!
//! One byte per sample at 8 kHz, so any frame length works and the payload
//! length equals the sample count. Lost frames are concealed by pitch
//! repetition (ITU-T G.711 Appendix I, [`G711Plc`]).

use super::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};
use super::g711_plc::G711Plc;
use super::{AudioDecoder, AudioEncoder, CodecError, CodecKind};

/// Which G.711 companding law.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum G711Law {
    /// μ-law, RTP name PCMU.
    MuLaw,
    /// A-law, RTP name PCMA.
    ALaw,
}

impl G711Law {
    /// The RTP payload format of this law.
    pub fn kind(self) -> CodecKind {
        match self {
            G711Law::MuLaw => CodecKind::Pcmu,
            G711Law::ALaw => CodecKind::Pcma,
        }
    }
}

/// G.711 encoder; stateless apart from its law.
#[derive(Debug)]
pub struct G711Encoder {
    law: G711Law,
}

impl G711Encoder {
    pub fn new(law: G711Law) -> Self {
        Self { law }
    }
}

impl AudioEncoder for G711Encoder {
    fn kind(&self) -> CodecKind {
        self.law.kind()
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        let available = out.len();
        let out = out.get_mut(..pcm.len()).ok_or(CodecError::OutputTooSmall {
            needed: pcm.len(),
            available,
        })?;
        // The law is matched once per frame, not per sample.
        match self.law {
            G711Law::MuLaw => out
                .iter_mut()
                .zip(pcm)
                .for_each(|(o, &s)| *o = ulaw_encode(s)),
            G711Law::ALaw => out
                .iter_mut()
                .zip(pcm)
                .for_each(|(o, &s)| *o = alaw_encode(s)),
        }
        Ok(pcm.len())
    }
}

/// G.711 decoder with pitch-repetition concealment. It remembers its own
/// output, so the first good frame after a loss is cross-faded in.
#[derive(Debug)]
pub struct G711Decoder {
    law: G711Law,
    plc: G711Plc,
}

impl G711Decoder {
    pub fn new(law: G711Law) -> Self {
        Self {
            law,
            plc: G711Plc::new(),
        }
    }
}

impl AudioDecoder for G711Decoder {
    fn kind(&self) -> CodecKind {
        self.law.kind()
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        let available = out.len();
        let out = out
            .get_mut(..payload.len())
            .ok_or(CodecError::OutputTooSmall {
                needed: payload.len(),
                available,
            })?;
        match self.law {
            G711Law::MuLaw => out
                .iter_mut()
                .zip(payload)
                .for_each(|(o, &c)| *o = ulaw_decode(c)),
            G711Law::ALaw => out
                .iter_mut()
                .zip(payload)
                .for_each(|(o, &c)| *o = alaw_decode(c)),
        }
        self.plc.good_frame(out);
        Ok(payload.len())
    }

    fn conceal(&mut self, out: &mut [i16]) -> usize {
        self.plc.conceal(out)
    }

    fn reset(&mut self) {
        self.plc.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAWS: [G711Law; 2] = [G711Law::MuLaw, G711Law::ALaw];

    fn sine(samples: usize, hz: f64, amplitude: f64) -> Vec<i16> {
        (0..samples)
            .map(|i| {
                let t = i as f64 / 8000.0;
                (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()).round() as i16
            })
            .collect()
    }

    fn snr_db(reference: &[i16], decoded: &[i16]) -> f64 {
        let signal: f64 = reference.iter().map(|&s| (s as f64).powi(2)).sum();
        let noise: f64 = reference
            .iter()
            .zip(decoded)
            .map(|(&r, &d)| (r as f64 - d as f64).powi(2))
            .sum();
        10.0 * (signal / noise).log10()
    }

    #[test]
    fn sine_through_each_codec_keeps_snr_above_35_db() {
        // G.711 gives about 38 dB SNR over a wide range of levels
        // (ITU-T G.712 sets the floor); −10 dBm0-ish and louder tones here.
        for law in LAWS {
            for (hz, amplitude) in [(1004.0, 10_000.0), (440.0, 20_000.0), (2500.0, 3_000.0)] {
                let pcm = sine(8000, hz, amplitude);
                let mut encoder = G711Encoder::new(law);
                let mut decoder = G711Decoder::new(law);
                let mut payload = [0u8; 160];
                let mut decoded = Vec::with_capacity(pcm.len());
                let mut frame = [0i16; 160];
                for chunk in pcm.chunks(160) {
                    let n = encoder.encode(chunk, &mut payload).unwrap();
                    assert_eq!(n, 160);
                    let m = decoder.decode(&payload[..n], &mut frame).unwrap();
                    assert_eq!(m, 160);
                    decoded.extend_from_slice(&frame[..m]);
                }
                let snr = snr_db(&pcm, &decoded);
                assert!(
                    snr > 35.0,
                    "{law:?} {hz} Hz at {amplitude}: SNR {snr:.1} dB"
                );
            }
        }
    }

    #[test]
    fn encoder_output_matches_the_sample_functions() {
        let pcm = sine(160, 700.0, 25_000.0);
        let mut out = [0u8; 160];
        G711Encoder::new(G711Law::MuLaw)
            .encode(&pcm, &mut out)
            .unwrap();
        assert!(out.iter().zip(&pcm).all(|(&c, &s)| c == ulaw_encode(s)));
        G711Encoder::new(G711Law::ALaw)
            .encode(&pcm, &mut out)
            .unwrap();
        assert!(out.iter().zip(&pcm).all(|(&c, &s)| c == alaw_encode(s)));
    }

    #[test]
    fn short_output_buffers_are_errors_not_panics() {
        for law in LAWS {
            let mut small = [0u8; 80];
            assert_eq!(
                G711Encoder::new(law).encode(&[0; 160], &mut small),
                Err(CodecError::OutputTooSmall {
                    needed: 160,
                    available: 80
                })
            );
            let mut pcm = [0i16; 80];
            let mut decoder = G711Decoder::new(law);
            assert_eq!(
                decoder.decode(&[0xD5; 160], &mut pcm),
                Err(CodecError::OutputTooSmall {
                    needed: 160,
                    available: 80
                })
            );
            assert_eq!(decoder.decode(&[], &mut pcm), Err(CodecError::EmptyPayload));
        }
    }

    #[test]
    fn any_frame_length_round_trips() {
        // 10, 20, 30 ms and an odd size: G.711 has no frame structure.
        for law in LAWS {
            for len in [80usize, 160, 240, 37] {
                let pcm = sine(len, 300.0, 8_000.0);
                let mut payload = vec![0u8; len];
                let mut out = vec![0i16; len + 10];
                let mut encoder = G711Encoder::new(law);
                let mut decoder = G711Decoder::new(law);
                assert_eq!(encoder.encode(&pcm, &mut payload).unwrap(), len);
                assert_eq!(decoder.decode(&payload, &mut out).unwrap(), len);
                let worst = pcm
                    .iter()
                    .zip(&out)
                    .map(|(&a, &b)| (a as i32 - b as i32).abs())
                    .max()
                    .unwrap();
                // Largest step of the 8 kHz 8-bit laws near 8000 is 256 (A) / 256 (μ).
                assert!(worst <= 256, "{law:?} len {len}: error {worst}");
            }
        }
    }

    #[test]
    fn concealment_fades_to_silence_within_60_ms() {
        for law in LAWS {
            let mut encoder = G711Encoder::new(law);
            let mut decoder = G711Decoder::new(law);
            let pcm = sine(160, 500.0, 12_000.0);
            let mut payload = [0u8; 160];
            let mut good = [0i16; 160];
            encoder.encode(&pcm, &mut payload).unwrap();
            decoder.decode(&payload, &mut good).unwrap();

            let peak = |f: &[i16]| f.iter().map(|s| s.unsigned_abs() as u32).max().unwrap_or(0);
            let mut out = [0i16; 160];
            // 0–20 ms: full level for 10 ms, then falling (G.711 Appendix I).
            assert_eq!(decoder.conceal(&mut out), 160);
            assert!(peak(&out[..80]) > peak(&good) * 9 / 10, "{law:?} too quiet");
            assert!(
                peak(&out[140..]) < peak(&good) * 9 / 10,
                "{law:?} not fading"
            );
            // 20–40 ms quieter still, 40–60 ms reaches silence.
            let first = peak(&out);
            decoder.conceal(&mut out);
            assert!(peak(&out) < first, "{law:?} second frame not quieter");
            decoder.conceal(&mut out);
            assert_eq!(out[159], 0);
            for _ in 0..5 {
                decoder.conceal(&mut out);
                assert!(
                    out.iter().all(|&s| s == 0),
                    "{law:?} not silent after 60 ms"
                );
            }
        }
    }

    #[test]
    fn reset_drops_the_concealment_history() {
        let mut decoder = G711Decoder::new(G711Law::MuLaw);
        let mut out = [0i16; 160];
        decoder.decode(&[0x20; 160], &mut out).unwrap();
        decoder.reset();
        decoder.conceal(&mut out);
        assert!(out.iter().all(|&s| s == 0));
    }
}
