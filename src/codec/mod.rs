//! Sans-IO audio codecs and resampling.

pub mod audio_codec;
pub mod conceal;
pub mod error;
pub mod factory;
pub mod g711;
pub mod g711_codec;
pub mod g711_plc;
pub mod g722_codec;
pub mod kind;
pub mod l16_codec;
pub mod options;
pub mod opus_codec;
pub mod opus_fmtp;
pub mod resample;

pub use audio_codec::{AudioDecoder, AudioEncoder};
pub use error::CodecError;
pub use factory::{new_decoder, new_decoder_with, new_encoder, new_encoder_with};
pub use kind::CodecKind;
pub use options::CodecOptions;
pub use opus_fmtp::OpusParams;
