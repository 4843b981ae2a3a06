//! Errors of the conference mixer.

use thiserror::Error;

use super::MemberId;

#[derive(Debug, Error, Clone, Copy, PartialEq)]
pub enum MixerError {
    #[error("sample rate {0} Hz is outside 8000..=48000")]
    UnsupportedSampleRate(u32),
    #[error("frame length {0} is not between 1 sample and 100 ms")]
    InvalidFrameLength(usize),
    #[error("max_speakers {0} is outside 1..=64")]
    InvalidMaxSpeakers(usize),
    #[error("invalid voice activity setting: {0}")]
    InvalidVad(&'static str),
    #[error("switch margin {0} dB is negative or not finite")]
    InvalidSwitchMargin(f32),
    #[error("member {0} is already in the room")]
    DuplicateMember(MemberId),
}
