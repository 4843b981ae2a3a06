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
pub mod opus_codec;
pub mod resample;

pub use audio_codec::{AudioDecoder, AudioEncoder};
pub use error::CodecError;
pub use factory::{new_decoder, new_encoder};
pub use kind::CodecKind;
