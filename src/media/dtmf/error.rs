//! Errors of the inband DTMF detector and generator.

use thiserror::Error;

#[derive(Debug, Error, Clone, Copy, PartialEq)]
pub enum DtmfError {
    #[error("sample rate {0} Hz is outside 8000..=48000")]
    UnsupportedSampleRate(u32),
    #[error("tone level {0} dBm0 is not finite or above the +3.17 dBm0 full scale")]
    InvalidLevel(f32),
    #[error("tone duration must be at least 1 ms")]
    ZeroDuration,
}

/// Lowest and highest sample rates accepted: telephone band to full band.
pub(crate) const MIN_SAMPLE_RATE: u32 = 8000;
pub(crate) const MAX_SAMPLE_RATE: u32 = 48_000;

pub(crate) fn check_rate(sample_rate: u32) -> Result<(), DtmfError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        Ok(())
    } else {
        Err(DtmfError::UnsupportedSampleRate(sample_rate))
    }
}
