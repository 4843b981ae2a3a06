//! [`FsMessageStore`]: messages as files under `DATA/voicemail`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::config::is_safe_name;

use super::clock::{message_id, rfc3339, unix_seconds};
use super::error::{io_err, StoreError, StoreProblem};
use super::files::{
    commit_json, corrupt, create_tmp_json, ensure_dir, json_path, part_path, read_json,
    remove_if_exists, replace_json, sync_dir, tmp_json_path, wav_info, wav_path, write_atomically,
};
use super::model::{
    Folder, Listing, MailboxCounts, MessageDraft, MessageMeta, NewMessage, RecoveryReport,
    StoredMeta,
};
use super::MessageStore;

/// The owner's PIN, set by phone, in the mailbox folder.
const PIN_FILE: &str = "pin";

/// IDs tried for one deposit before giving up; far more than one second of
/// deposits into one mailbox could take.
const MAX_ID_ATTEMPTS: u32 = 10_000;

/// The filesystem store: `ROOT/BOX/INBOX/ID.wav` and `ID.json`, listened
/// messages in `ROOT/BOX/Old/`, the owner's greeting in
/// `ROOT/BOX/greeting.wav`.
#[derive(Debug)]
pub struct FsMessageStore {
    root: PathBuf,
    /// Tells apart the IDs of deposits that start in the same second.
    counter: AtomicU32,
}

impl FsMessageStore {
    pub fn new(root: PathBuf) -> Self {
        FsMessageStore {
            root,
            counter: AtomicU32::new(1),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn folder_dir(&self, mailbox: &str, folder: Folder) -> PathBuf {
        self.root.join(mailbox).join(folder.dir_name())
    }
}

/// Every name becomes part of a path, so it is checked before any use.
pub(super) fn check_name(what: &'static str, name: &str) -> Result<(), StoreError> {
    if is_safe_name(name) {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            what,
            name: name.to_string(),
        })
    }
}

fn check_message(mailbox: &str, id: &str) -> Result<(), StoreError> {
    check_name("mailbox", mailbox)?;
    check_name("message", id)
}

fn not_found(mailbox: &str, id: &str) -> StoreError {
    StoreError::NotFound {
        mailbox: mailbox.to_string(),
        id: id.to_string(),
    }
}

impl MessageStore for FsMessageStore {
    fn begin(&self, mailbox: &str, message: NewMessage) -> Result<MessageDraft, StoreError> {
        check_name("mailbox", mailbox)?;
        let inbox = self.folder_dir(mailbox, Folder::Inbox);
        let old = self.folder_dir(mailbox, Folder::Old);
        ensure_dir(&inbox)?;
        ensure_dir(&old)?;
        let start_unix_s = unix_seconds(message.start);
        for _ in 0..MAX_ID_ATTEMPTS {
            let id = message_id(start_unix_s, self.counter.fetch_add(1, Ordering::Relaxed));
            let file = match create_tmp_json(&inbox, &id) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err("create", &tmp_json_path(&inbox, &id))(e)),
            };
            // Checked after the reservation, so a deposit racing for the same
            // ID either fails to reserve it or sees this one's files.
            let taken = [&inbox, &old].iter().any(|dir| {
                json_path(dir, &id).exists()
                    || wav_path(dir, &id).exists()
                    || part_path(dir, &id).exists()
            });
            if taken {
                drop(file);
                remove_if_exists(&tmp_json_path(&inbox, &id))?;
                continue;
            }
            let meta = MessageMeta {
                id: id.clone(),
                folder: Folder::Inbox,
                caller: message.caller,
                called: message.called,
                start: rfc3339(start_unix_s),
                start_unix_s,
                duration_ms: 0,
                codec: message.codec,
                rate_hz: message.rate_hz,
                complete: false,
                recovered: false,
            };
            commit_json(file, &inbox, &id, &StoredMeta::from_meta(&meta))?;
            return Ok(MessageDraft {
                mailbox: mailbox.to_string(),
                wav_path: wav_path(&inbox, &id),
                id,
                meta,
            });
        }
        Err(io_err("choose a message ID in", &inbox)(io::Error::other(
            "every ID of that second is taken",
        )))
    }

    fn complete(&self, draft: &MessageDraft, duration_ms: u64) -> Result<MessageMeta, StoreError> {
        check_message(&draft.mailbox, &draft.id)?;
        let inbox = self.folder_dir(&draft.mailbox, Folder::Inbox);
        if read_json(&json_path(&inbox, &draft.id))?.is_none() {
            return Err(not_found(&draft.mailbox, &draft.id));
        }
        // A finished recording, or one still `.part` that start-up recovery
        // would finish: either way the message has audio.
        let wav = wav_path(&inbox, &draft.id);
        if !wav.is_file() && !part_path(&inbox, &draft.id).is_file() {
            return Err(corrupt(&wav, "audio file missing"));
        }
        let mut meta = draft.meta.clone();
        meta.id = draft.id.clone();
        meta.folder = Folder::Inbox;
        meta.duration_ms = duration_ms;
        meta.complete = true;
        replace_json(&inbox, &draft.id, &StoredMeta::from_meta(&meta))?;
        Ok(meta)
    }

    fn discard(&self, draft: &MessageDraft) -> Result<(), StoreError> {
        check_message(&draft.mailbox, &draft.id)?;
        let inbox = self.folder_dir(&draft.mailbox, Folder::Inbox);
        // Audio before metadata: a crash in between leaves a JSON without
        // audio, which recovery removes, rather than audio it would revive.
        remove_if_exists(&part_path(&inbox, &draft.id))?;
        remove_if_exists(&wav_path(&inbox, &draft.id))?;
        remove_if_exists(&json_path(&inbox, &draft.id))?;
        sync_dir(&inbox)
    }

    fn list(&self, mailbox: &str, folder: Folder) -> Result<Listing, StoreError> {
        check_name("mailbox", mailbox)?;
        let dir = self.folder_dir(mailbox, folder);
        let mut listing = Listing::default();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(listing),
            Err(e) => return Err(io_err("read directory", &dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err("read directory", &dir))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if id.starts_with('.') {
                continue;
            }
            if !is_safe_name(id) {
                listing
                    .skipped
                    .push(StoreProblem::new(entry.path(), "not a message name"));
                continue;
            }
            let stored = match read_json(&entry.path()) {
                Ok(Some(stored)) => stored,
                // Deleted or moved since the folder was read.
                Ok(None) => continue,
                Err(e) => {
                    listing.skipped.push(e.into());
                    continue;
                }
            };
            if !stored.complete {
                continue;
            }
            if let Err(e) = wav_info(&wav_path(&dir, id)) {
                listing.skipped.push(e.into());
                continue;
            }
            listing.messages.push(stored.into_meta(id, folder));
        }
        listing
            .messages
            .sort_by(|a, b| (a.start_unix_s, &a.id).cmp(&(b.start_unix_s, &b.id)));
        listing.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(listing)
    }

    /// From the folder listings alone, without opening a file: counted on
    /// every deposit and every call to a mailbox, so it must stay cheap as
    /// a mailbox fills. A message is an ID with both `ID.json` and `ID.wav`
    /// (one being recorded has `ID.wav.part`); unlike [`Self::list`], a
    /// message whose files are corrupt is counted.
    fn counts(&self, mailbox: &str) -> Result<MailboxCounts, StoreError> {
        check_name("mailbox", mailbox)?;
        let count = |folder| -> Result<u32, StoreError> {
            let dir = self.folder_dir(mailbox, folder);
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(io_err("list", &dir)(e)),
            };
            let mut json = std::collections::HashSet::new();
            let mut wav = std::collections::HashSet::new();
            for entry in entries {
                let entry = entry.map_err(io_err("list", &dir))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if let Some(id) = name.strip_suffix(".json") {
                    json.insert(id.to_string());
                } else if let Some(id) = name.strip_suffix(".wav") {
                    wav.insert(id.to_string());
                }
            }
            let n = json
                .iter()
                .filter(|id| is_safe_name(id) && wav.contains(*id))
                .count();
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        };
        Ok(MailboxCounts {
            new: count(Folder::Inbox)?,
            old: count(Folder::Old)?,
        })
    }

    fn find(&self, mailbox: &str, id: &str) -> Result<MessageMeta, StoreError> {
        check_message(mailbox, id)?;
        for folder in Folder::ALL {
            match read_json(&json_path(&self.folder_dir(mailbox, folder), id))? {
                Some(stored) if stored.complete => return Ok(stored.into_meta(id, folder)),
                // Still being recorded: not a message yet.
                Some(_) => return Err(not_found(mailbox, id)),
                None => {}
            }
        }
        Err(not_found(mailbox, id))
    }

    fn audio_path(&self, mailbox: &str, id: &str) -> Result<PathBuf, StoreError> {
        // Twice, in case the message moved to Old between the two looks.
        for _ in 0..2 {
            let meta = self.find(mailbox, id)?;
            let wav = wav_path(&self.folder_dir(mailbox, meta.folder), id);
            if wav.is_file() {
                return Ok(wav);
            }
        }
        let meta = self.find(mailbox, id)?;
        Err(corrupt(
            &wav_path(&self.folder_dir(mailbox, meta.folder), id),
            "audio file missing",
        ))
    }

    fn mark_old(&self, mailbox: &str, id: &str) -> Result<(), StoreError> {
        let meta = self.find(mailbox, id)?;
        if meta.folder == Folder::Old {
            return Ok(());
        }
        let inbox = self.folder_dir(mailbox, Folder::Inbox);
        let old = self.folder_dir(mailbox, Folder::Old);
        ensure_dir(&old)?;
        let (from_wav, to_wav) = (wav_path(&inbox, id), wav_path(&old, id));
        let (from_json, to_json) = (json_path(&inbox, id), json_path(&old, id));
        if to_wav.exists() || to_json.exists() {
            return Err(corrupt(&to_wav, "a message with that ID is already in Old"));
        }
        // Audio first: a crash in between leaves Old/ID.wav and INBOX/ID.json,
        // which recovery joins up again; nothing is lost either way.
        fs::rename(&from_wav, &to_wav).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                corrupt(&from_wav, "audio file missing")
            } else {
                io_err("move", &from_wav)(e)
            }
        })?;
        fs::rename(&from_json, &to_json).map_err(io_err("move", &from_json))?;
        sync_dir(&old)?;
        sync_dir(&inbox)
    }

    fn delete(&self, mailbox: &str, id: &str) -> Result<(), StoreError> {
        check_message(mailbox, id)?;
        for folder in Folder::ALL {
            let dir = self.folder_dir(mailbox, folder);
            let (json, wav) = (json_path(&dir, id), wav_path(&dir, id));
            let found = match read_json(&json) {
                Ok(Some(stored)) if !stored.complete => return Err(not_found(mailbox, id)),
                Ok(Some(_)) => true,
                // Unreadable metadata must not keep a message from being deleted.
                Err(StoreError::Corrupt { .. }) => true,
                Ok(None) => wav.exists(),
                Err(e) => return Err(e),
            };
            if found {
                // Audio first: a crash in between leaves metadata that is
                // listed as skipped, never audio revived as a new message.
                remove_if_exists(&wav)?;
                remove_if_exists(&json)?;
                return sync_dir(&dir);
            }
        }
        Err(not_found(mailbox, id))
    }

    fn greeting_path(&self, mailbox: &str) -> Result<PathBuf, StoreError> {
        check_name("mailbox", mailbox)?;
        Ok(self.root.join(mailbox).join("greeting.wav"))
    }

    fn pin(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        check_name("mailbox", mailbox)?;
        let path = self.root.join(mailbox).join(PIN_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let pin = text.trim();
                if pin.is_empty() || !pin.chars().all(|c| c.is_ascii_digit()) {
                    return Err(corrupt(&path, "not a PIN of digits"));
                }
                Ok(Some(pin.to_string()))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("read", &path)(e)),
        }
    }

    fn set_pin(&self, mailbox: &str, pin: &str) -> Result<(), StoreError> {
        check_name("mailbox", mailbox)?;
        let dir = self.root.join(mailbox);
        ensure_dir(&dir)?;
        write_atomically(&dir, PIN_FILE, format!("{pin}\n").as_bytes())
    }

    fn recover(&self) -> RecoveryReport {
        super::recover::recover(&self.root)
    }
}
