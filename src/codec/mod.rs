//! Sans-IO audio codecs and resampling.

pub mod g711;
pub mod resample;
