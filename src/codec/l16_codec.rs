//! L16 (RFC 3551 §4.5.11) behind the codec traits: uncompressed 16-bit
//! signed linear PCM, mono, two octets per sample, most significant first
//! (network byte order, RFC 3551 §4.5.11).
//!
//! Any whole number of samples makes a frame; the rate (8 or 16 kHz here)
//! is the RTP clock and the audio rate alike.

use super::conceal::RepeatFadeConcealer;
use super::{AudioDecoder, AudioEncoder, CodecError, CodecKind};

/// Octets per sample.
const SAMPLE_BYTES: usize = 2;

/// The longest frame whose audio the concealment remembers whole: 120 ms
/// at 16 kHz.
const MAX_FRAME_SAMPLES: usize = 1920;

/// Checks that `kind` is one of the L16 rates.
fn l16_kind(kind: CodecKind) -> Result<CodecKind, CodecError> {
    match kind {
        CodecKind::L16At8000 | CodecKind::L16At16000 => Ok(kind),
        other => Err(CodecError::Library {
            kind: other,
            reason: "not an L16 format",
        }),
    }
}

/// L16 encoder; stateless apart from its rate.
#[derive(Debug)]
pub struct L16Encoder {
    kind: CodecKind,
}

impl L16Encoder {
    pub fn new(kind: CodecKind) -> Result<Self, CodecError> {
        Ok(L16Encoder {
            kind: l16_kind(kind)?,
        })
    }
}

impl AudioEncoder for L16Encoder {
    fn kind(&self) -> CodecKind {
        self.kind
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        let needed = pcm.len() * SAMPLE_BYTES;
        let available = out.len();
        let out = out
            .get_mut(..needed)
            .ok_or(CodecError::OutputTooSmall { needed, available })?;
        for (bytes, sample) in out.chunks_exact_mut(SAMPLE_BYTES).zip(pcm) {
            bytes.copy_from_slice(&sample.to_be_bytes());
        }
        Ok(needed)
    }
}

/// L16 decoder, with repeat-and-fade concealment.
#[derive(Debug)]
pub struct L16Decoder {
    kind: CodecKind,
    concealer: RepeatFadeConcealer,
}

impl L16Decoder {
    pub fn new(kind: CodecKind) -> Result<Self, CodecError> {
        Ok(L16Decoder {
            kind: l16_kind(kind)?,
            concealer: RepeatFadeConcealer::new(MAX_FRAME_SAMPLES),
        })
    }
}

impl AudioDecoder for L16Decoder {
    fn kind(&self) -> CodecKind {
        self.kind
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        // Half a sample cannot be decoded: the packet was cut or is not L16.
        if !payload.len().is_multiple_of(SAMPLE_BYTES) {
            return Err(CodecError::InvalidPayload(self.kind));
        }
        let samples = payload.len() / SAMPLE_BYTES;
        let available = out.len();
        let out = out.get_mut(..samples).ok_or(CodecError::OutputTooSmall {
            needed: samples,
            available,
        })?;
        for (sample, bytes) in out.iter_mut().zip(payload.chunks_exact(SAMPLE_BYTES)) {
            *sample = i16::from_be_bytes([bytes[0], bytes[1]]);
        }
        self.concealer.remember(out);
        Ok(samples)
    }

    fn conceal(&mut self, out: &mut [i16]) -> usize {
        self.concealer.conceal(out)
    }

    fn reset(&mut self) {
        self.concealer.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_value_round_trips_bit_exact() {
        let pcm: Vec<i16> = (i16::MIN..=i16::MAX).collect();
        let mut encoder = L16Encoder::new(CodecKind::L16At16000).unwrap();
        let mut decoder = L16Decoder::new(CodecKind::L16At16000).unwrap();
        let mut payload = vec![0u8; pcm.len() * 2];
        let mut decoded = vec![0i16; pcm.len()];
        assert_eq!(encoder.encode(&pcm, &mut payload), Ok(pcm.len() * 2));
        assert_eq!(decoder.decode(&payload, &mut decoded), Ok(pcm.len()));
        assert_eq!(decoded, pcm);
    }

    #[test]
    fn samples_are_big_endian() {
        // RFC 3551 §4.5.11: network byte order, most significant octet first.
        let mut encoder = L16Encoder::new(CodecKind::L16At8000).unwrap();
        let mut out = [0u8; 6];
        assert_eq!(encoder.encode(&[0x1234, -2, i16::MIN], &mut out), Ok(6));
        assert_eq!(out, [0x12, 0x34, 0xff, 0xfe, 0x80, 0x00]);
    }

    #[test]
    fn short_buffers_and_odd_payloads_are_errors() {
        let mut encoder = L16Encoder::new(CodecKind::L16At8000).unwrap();
        let mut decoder = L16Decoder::new(CodecKind::L16At8000).unwrap();
        let mut small = [0u8; 319];
        assert_eq!(
            encoder.encode(&[0; 160], &mut small),
            Err(CodecError::OutputTooSmall {
                needed: 320,
                available: 319
            })
        );
        let mut out = [0i16; 159];
        assert_eq!(
            decoder.decode(&[0; 320], &mut out),
            Err(CodecError::OutputTooSmall {
                needed: 160,
                available: 159
            })
        );
        assert_eq!(
            decoder.decode(&[0; 3], &mut out),
            Err(CodecError::InvalidPayload(CodecKind::L16At8000))
        );
        assert_eq!(decoder.decode(&[], &mut out), Err(CodecError::EmptyPayload));
    }

    #[test]
    fn only_l16_kinds_are_accepted() {
        assert!(L16Encoder::new(CodecKind::Pcmu).is_err());
        assert!(L16Decoder::new(CodecKind::Opus).is_err());
        assert_eq!(
            L16Encoder::new(CodecKind::L16At16000).unwrap().kind(),
            CodecKind::L16At16000
        );
    }

    #[test]
    fn a_lost_frame_is_concealed_from_the_last_one() {
        let mut decoder = L16Decoder::new(CodecKind::L16At8000).unwrap();
        let mut frame = [0i16; 160];
        let payload: Vec<u8> = (0..160i16).flat_map(|i| (i * 100).to_be_bytes()).collect();
        decoder.decode(&payload, &mut frame).unwrap();
        let mut concealed = [0i16; 160];
        assert_eq!(decoder.conceal(&mut concealed), 160);
        assert!(concealed.iter().any(|&s| s != 0));
        decoder.reset();
        assert_eq!(decoder.conceal(&mut concealed), 160);
        assert!(concealed.iter().all(|&s| s == 0));
    }
}
