//! Creates the encoder or decoder for a negotiated codec.
//!
//! This is the one place that maps a [`CodecKind`] to an implementation;
//! allocation happens here, once per call leg, never per frame.

use super::g711_codec::{G711Decoder, G711Encoder, G711Law};
use super::g722_codec::{G722Decoder, G722Encoder};
use super::l16_codec::{L16Decoder, L16Encoder};
use super::opus_codec::{OpusConfig, OpusDecoder, OpusEncoder};
use super::{AudioDecoder, AudioEncoder, CodecError, CodecKind, CodecOptions};

/// Creates an encoder for `kind` with default parameters (no fmtp).
pub fn new_encoder(kind: CodecKind) -> Result<Box<dyn AudioEncoder>, CodecError> {
    new_encoder_with(kind, &CodecOptions::default())
}

/// Creates an encoder for `kind` that codes as the peer's fmtp asks.
pub fn new_encoder_with(
    kind: CodecKind,
    options: &CodecOptions,
) -> Result<Box<dyn AudioEncoder>, CodecError> {
    match kind {
        CodecKind::Pcmu => Ok(Box::new(G711Encoder::new(G711Law::MuLaw))),
        CodecKind::Pcma => Ok(Box::new(G711Encoder::new(G711Law::ALaw))),
        CodecKind::G722 => Ok(Box::new(G722Encoder::new())),
        CodecKind::Opus => Ok(Box::new(OpusEncoder::new(OpusConfig::for_peer(
            &options.opus,
        ))?)),
        CodecKind::L16At8000 | CodecKind::L16At16000 => Ok(Box::new(L16Encoder::new(kind)?)),
        CodecKind::TelephoneEvent => Err(CodecError::NotAudio(kind)),
    }
}

/// Creates a decoder for `kind` with default parameters.
pub fn new_decoder(kind: CodecKind) -> Result<Box<dyn AudioDecoder>, CodecError> {
    new_decoder_with(kind, &CodecOptions::default())
}

/// Creates a decoder for `kind`. No fmtp parameter changes how we decode
/// today: Opus decodes any packet, stereo included, to mono (RFC 7587
/// §6.1), and uses FEC whenever the next packet carries it.
pub fn new_decoder_with(
    kind: CodecKind,
    options: &CodecOptions,
) -> Result<Box<dyn AudioDecoder>, CodecError> {
    let _ = options;
    match kind {
        CodecKind::Pcmu => Ok(Box::new(G711Decoder::new(G711Law::MuLaw))),
        CodecKind::Pcma => Ok(Box::new(G711Decoder::new(G711Law::ALaw))),
        CodecKind::G722 => Ok(Box::new(G722Decoder::new())),
        CodecKind::Opus => Ok(Box::new(OpusDecoder::new()?)),
        CodecKind::L16At8000 | CodecKind::L16At16000 => Ok(Box::new(L16Decoder::new(kind)?)),
        CodecKind::TelephoneEvent => Err(CodecError::NotAudio(kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telephone_event_is_not_an_audio_codec() {
        assert_eq!(
            new_encoder(CodecKind::TelephoneEvent).err(),
            Some(CodecError::NotAudio(CodecKind::TelephoneEvent))
        );
        assert_eq!(
            new_decoder(CodecKind::TelephoneEvent).err(),
            Some(CodecError::NotAudio(CodecKind::TelephoneEvent))
        );
    }

    #[test]
    fn every_audio_kind_has_an_encoder_and_decoder_of_that_kind() {
        for kind in CodecKind::ALL.into_iter().filter(|k| k.is_audio()) {
            let encoder = new_encoder(kind).unwrap();
            let decoder = new_decoder(kind).unwrap();
            assert_eq!(encoder.kind(), kind);
            assert_eq!(decoder.kind(), kind);
        }
    }

    #[test]
    fn g711_decoders_have_no_fec() {
        let mut decoder = new_decoder(CodecKind::Pcma).unwrap();
        assert!(!decoder.supports_fec());
        let mut out = [0i16; 160];
        assert_eq!(
            decoder.decode_fec(&[0xD5; 160], &mut out),
            Err(CodecError::FecUnsupported(CodecKind::Pcma))
        );
    }

    #[test]
    fn opus_decoders_have_fec() {
        let decoder = new_decoder(CodecKind::Opus).unwrap();
        assert!(decoder.supports_fec());
    }

    #[test]
    fn pcmu_and_pcma_produce_different_payloads() {
        // Guards against the factory wiring both kinds to the same law.
        let pcm: Vec<i16> = (0..160).map(|i| (i * 150 - 12_000) as i16).collect();
        let mut ulaw = [0u8; 160];
        let mut alaw = [0u8; 160];
        new_encoder(CodecKind::Pcmu)
            .unwrap()
            .encode(&pcm, &mut ulaw)
            .unwrap();
        new_encoder(CodecKind::Pcma)
            .unwrap()
            .encode(&pcm, &mut alaw)
            .unwrap();
        assert_eq!(ulaw[0], crate::codec::g711::ulaw_encode(pcm[0]));
        assert_eq!(alaw[0], crate::codec::g711::alaw_encode(pcm[0]));
        assert_ne!(ulaw, alaw);
    }
}
