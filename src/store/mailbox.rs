//! The voicemail message store (DESIGN.md "Voicemail storage"): each
//! message is `ID.wav` plus `ID.json` in its mailbox's `INBOX` or `Old`
//! folder. Metadata is written before any audio and replaced atomically, so
//! a crash at any point leaves something [`MessageStore::recover`] can make
//! whole at the next start.

pub(crate) mod clock;
mod error;
mod files;
mod fs_store;
mod model;
mod recover;

use std::path::PathBuf;

pub use error::{StoreError, StoreProblem};
pub use fs_store::FsMessageStore;
pub use model::{
    Folder, Listing, MailboxCounts, MessageDraft, MessageMeta, NewMessage, RecoveryReport,
};

/// Where voicemail messages live. Every mailbox and message name is checked
/// with [`crate::config::is_safe_name`] first; an unsafe one is
/// [`StoreError::InvalidName`]. The calls block on file I/O: from async code,
/// run them with `spawn_blocking`.
pub trait MessageStore: Send + Sync + std::fmt::Debug {
    /// Starts a deposit: a new unique ID, the folders, and metadata on disk
    /// (`complete` false, duration 0) before any audio is recorded.
    fn begin(&self, mailbox: &str, message: NewMessage) -> Result<MessageDraft, StoreError>;
    /// Marks a recorded deposit complete with its duration.
    fn complete(&self, draft: &MessageDraft, duration_ms: u64) -> Result<MessageMeta, StoreError>;
    /// Removes a deposit and its audio (a message too short to keep).
    fn discard(&self, draft: &MessageDraft) -> Result<(), StoreError>;
    /// A folder's complete messages, oldest first. Unusable files are in
    /// `skipped`; an absent mailbox or folder lists empty.
    fn list(&self, mailbox: &str, folder: Folder) -> Result<Listing, StoreError>;
    fn counts(&self, mailbox: &str) -> Result<MailboxCounts, StoreError>;
    /// A complete message, in `INBOX` or `Old`.
    fn find(&self, mailbox: &str, id: &str) -> Result<MessageMeta, StoreError>;
    /// The existing WAV of a complete message.
    fn audio_path(&self, mailbox: &str, id: &str) -> Result<PathBuf, StoreError>;
    /// Moves a message from `INBOX` to `Old`; nothing to do if already there.
    fn mark_old(&self, mailbox: &str, id: &str) -> Result<(), StoreError>;
    fn delete(&self, mailbox: &str, id: &str) -> Result<(), StoreError>;
    /// Where the owner's recorded greeting is kept; the file may not exist.
    fn greeting_path(&self, mailbox: &str) -> Result<PathBuf, StoreError>;
    /// The PIN the owner set by phone, which replaces the configured one;
    /// `None` if never set.
    fn pin(&self, mailbox: &str) -> Result<Option<String>, StoreError>;
    /// Keeps the owner's new PIN (atomically: the old or the new one).
    fn set_pin(&self, mailbox: &str, pin: &str) -> Result<(), StoreError>;
    /// At start, after `recover_partial_recordings` and before any deposit
    /// (it removes metadata that has no audio yet): finishes deposits a
    /// crash cut off and reports what it could not understand.
    fn recover(&self) -> RecoveryReport;
}

#[cfg(test)]
mod tests;
