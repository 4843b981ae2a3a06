//! Sans-IO audio codecs and resampling.

pub mod g711;
pub mod kind;
pub mod resample;

pub use kind::CodecKind;
