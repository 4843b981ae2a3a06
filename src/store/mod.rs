//! Voicemail storage (filesystem backend): message audio as WAV files that
//! survive a crash of the process while they are being recorded.

pub mod recording;

pub use recording::{recover_partial_recordings, RecordingError, WavRecorder};
