//! The store's data: folders, message metadata, drafts, listings.

use std::path::PathBuf;
use std::time::SystemTime;

use super::error::StoreProblem;

/// Where a message lies: new messages in `INBOX`, listened ones in `Old`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Folder {
    #[default]
    Inbox,
    Old,
}

impl Folder {
    pub const ALL: [Folder; 2] = [Folder::Inbox, Folder::Old];

    /// The folder's name on disk.
    pub fn dir_name(self) -> &'static str {
        match self {
            Folder::Inbox => "INBOX",
            Folder::Old => "Old",
        }
    }
}

/// A message as listed. `id` and `folder` come from where the files lie,
/// not from the JSON, so moving the files cannot make them disagree.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MessageMeta {
    pub id: String,
    #[serde(default)]
    pub folder: Folder,
    pub caller: String,
    pub called: String,
    /// RFC 3339 UTC, e.g. `2026-11-21T21:45:00Z`.
    pub start: String,
    pub start_unix_s: i64,
    pub duration_ms: u64,
    pub codec: String,
    pub rate_hz: u32,
    /// False while recording; start-up recovery finishes what a crash left.
    pub complete: bool,
    /// Finished by start-up recovery, not by the call.
    #[serde(default)]
    pub recovered: bool,
}

/// What `ID.json` holds: the metadata without what the file's place says.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct StoredMeta {
    pub caller: String,
    pub called: String,
    pub start: String,
    pub start_unix_s: i64,
    pub duration_ms: u64,
    pub codec: String,
    pub rate_hz: u32,
    pub complete: bool,
    #[serde(default)]
    pub recovered: bool,
}

impl StoredMeta {
    pub fn into_meta(self, id: &str, folder: Folder) -> MessageMeta {
        MessageMeta {
            id: id.to_string(),
            folder,
            caller: self.caller,
            called: self.called,
            start: self.start,
            start_unix_s: self.start_unix_s,
            duration_ms: self.duration_ms,
            codec: self.codec,
            rate_hz: self.rate_hz,
            complete: self.complete,
            recovered: self.recovered,
        }
    }

    pub fn from_meta(meta: &MessageMeta) -> StoredMeta {
        StoredMeta {
            caller: meta.caller.clone(),
            called: meta.called.clone(),
            start: meta.start.clone(),
            start_unix_s: meta.start_unix_s,
            duration_ms: meta.duration_ms,
            codec: meta.codec.clone(),
            rate_hz: meta.rate_hz,
            complete: meta.complete,
            recovered: meta.recovered,
        }
    }
}

/// A deposit about to be recorded.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub caller: String,
    pub called: String,
    pub codec: String,
    pub rate_hz: u32,
    pub start: SystemTime,
}

/// A message whose metadata is on disk and whose audio is being recorded.
#[derive(Clone, Debug)]
pub struct MessageDraft {
    pub mailbox: String,
    pub id: String,
    /// The final `ROOT/BOX/INBOX/ID.wav`; the recorder writes `ID.wav.part`
    /// and renames it when finished.
    pub wav_path: PathBuf,
    pub meta: MessageMeta,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MailboxCounts {
    pub new: u32,
    pub old: u32,
}

/// One folder's complete messages, oldest first, and the files that could
/// not be listed.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub messages: Vec<MessageMeta>,
    pub skipped: Vec<StoreProblem>,
}

/// What start-up recovery did.
#[derive(Clone, Debug, Default)]
pub struct RecoveryReport {
    /// Metadata files written or finished (`ID.json`).
    pub completed: Vec<PathBuf>,
    /// Metadata of deposits that died before any audio.
    pub removed: Vec<PathBuf>,
    /// Files left in place because they could not be understood.
    pub problems: Vec<StoreProblem>,
}
