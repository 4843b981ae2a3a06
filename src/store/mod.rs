//! Voicemail storage (filesystem backend): message audio as WAV files that
//! survive a crash of the process while they are being recorded, and the
//! message store that keeps them with their metadata in mailbox folders.

pub mod mailbox;
pub mod recording;

pub use mailbox::{
    Folder, FsMessageStore, Listing, MailboxCounts, MessageDraft, MessageMeta, MessageStore,
    NewMessage, RecoveryReport, StoreError, StoreProblem,
};
pub use recording::{recover_partial_recordings, RecordingError, WavRecorder};
