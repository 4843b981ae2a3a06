//! The audio codec traits every codec implements.
//!
//! Sans-IO and frame at a time: the caller owns every buffer, a codec only
//! reads its input slice and writes into the output slice it is given, so the
//! packet path allocates nothing. Samples are mono 16-bit linear PCM at the
//! codec's audio rate ([`CodecKind::audio_rate`]).

use super::{CodecError, CodecKind};

/// Turns one frame of linear PCM into one RTP payload.
pub trait AudioEncoder: Send {
    /// The codec this encoder produces.
    fn kind(&self) -> CodecKind;

    /// Encodes one frame of `pcm` into `out`, returning the payload length.
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError>;
}

/// Turns RTP payloads back into linear PCM, and fills in frames that never came.
pub trait AudioDecoder: Send {
    /// The codec this decoder reads.
    fn kind(&self) -> CodecKind;

    /// Decodes one payload into `out`, returning the number of samples written.
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError>;

    /// Writes concealment for one missing frame of `out.len()` samples and
    /// returns how many samples were written.
    fn conceal(&mut self, out: &mut [i16]) -> usize;

    /// True when [`AudioDecoder::decode_fec`] can rebuild a lost frame from
    /// the packet that follows it, so the caller knows whether to look ahead.
    fn supports_fec(&self) -> bool {
        false
    }

    /// Rebuilds the frame lost just before `next_payload` from the redundancy
    /// that packet carries (Opus in-band FEC, RFC 7587 §3.3), writing
    /// `out.len()` samples.
    fn decode_fec(&mut self, next_payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let _ = (next_payload, out);
        Err(CodecError::FecUnsupported(self.kind()))
    }

    /// Forgets all stream state, as when the sender restarts (new SSRC).
    fn reset(&mut self);
}
