//! The files behind a message: `ID.json` written atomically, `ID.wav` read
//! for its length, folders synced so renames survive a power cut.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::error::{io_err, StoreError};
use super::model::StoredMeta;

/// Metadata is a few hundred bytes; anything far larger is not ours.
const MAX_JSON_BYTES: u64 = 64 * 1024;

pub(super) fn json_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

pub(super) fn wav_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.wav"))
}

pub(super) fn part_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.wav.part"))
}

/// The temporary name an `ID.json` is written under before its rename;
/// hidden, so listings never mistake it for a message.
pub(super) fn tmp_json_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!(".{id}.json.tmp"))
}

/// Creates the temporary file of a new message's JSON; failing when it
/// exists is what reserves the ID against a concurrent deposit.
pub(super) fn create_tmp_json(dir: &Path, id: &str) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp_json_path(dir, id))
}

/// Rewrites `dir/ID.json` atomically: readers see the old or the new file,
/// never a half-written one.
pub(super) fn replace_json(dir: &Path, id: &str, meta: &StoredMeta) -> Result<PathBuf, StoreError> {
    let tmp = tmp_json_path(dir, id);
    let file = File::create(&tmp).map_err(io_err("create", &tmp))?;
    commit_json(file, dir, id, meta)
}

/// Writes `meta` to the open temporary file, syncs it, renames it over
/// `ID.json` and syncs the folder. The temporary file is removed on failure.
pub(super) fn commit_json(
    file: File,
    dir: &Path,
    id: &str,
    meta: &StoredMeta,
) -> Result<PathBuf, StoreError> {
    let tmp = tmp_json_path(dir, id);
    let target = json_path(dir, id);
    let text = match serde_json::to_vec_pretty(meta) {
        Ok(text) => text,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(StoreError::Corrupt {
                path: target,
                reason: format!("cannot encode metadata: {e}"),
            });
        }
    };
    commit(file, &tmp, &target, dir, &text).map(|()| target)
}

/// Replaces `dir/NAME` atomically with `bytes` (temporary file, sync,
/// rename, folder sync).
pub(super) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let file = File::create(&tmp).map_err(io_err("create", &tmp))?;
    commit(file, &tmp, &dir.join(name), dir, bytes)
}

/// Writes `bytes` to the open temporary file `tmp`, syncs it, renames it
/// over `target` and syncs `dir`: readers see the old or the new file,
/// never a half-written one. The temporary file is removed on failure.
fn commit(
    mut file: File,
    tmp: &Path,
    target: &Path,
    dir: &Path,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let result = (|| {
        file.write_all(bytes).map_err(io_err("write", tmp))?;
        file.sync_all().map_err(io_err("sync", tmp))?;
        drop(file);
        fs::rename(tmp, target).map_err(io_err("rename", tmp))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// `None` when the file does not exist.
pub(super) fn read_json(path: &Path) -> Result<Option<StoredMeta>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let mut text = Vec::new();
    file.take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(io_err("read", path))?;
    if text.len() as u64 > MAX_JSON_BYTES {
        return Err(corrupt(path, "metadata file is too large"));
    }
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| corrupt(path, format!("unreadable metadata: {e}")))
}

pub(super) fn corrupt(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// What a WAV header says about the audio.
#[derive(Clone, Copy, Debug)]
pub(super) struct WavInfo {
    pub rate_hz: u32,
    pub duration_ms: u64,
}

/// Reads a WAV's header; an absent or unreadable file is `Corrupt`, since
/// callers only ask about audio a message should have.
pub(super) fn wav_info(path: &Path) -> Result<WavInfo, StoreError> {
    let reader = hound::WavReader::open(path).map_err(|e| match e {
        hound::Error::IoError(io) if io.kind() == io::ErrorKind::NotFound => {
            corrupt(path, "audio file missing")
        }
        other => corrupt(path, format!("unreadable audio: {other}")),
    })?;
    let rate_hz = reader.spec().sample_rate;
    if rate_hz == 0 {
        return Err(corrupt(path, "audio has a zero sample rate"));
    }
    let duration_ms = u64::from(reader.duration()) * 1000 / u64::from(rate_hz);
    Ok(WavInfo {
        rate_hz,
        duration_ms,
    })
}

/// Removes `path`; `false` when it was not there.
pub(super) fn remove_if_exists(path: &Path) -> Result<bool, StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err("remove", path)(e)),
    }
}

/// A rename or removal is only durable once its folder is synced.
pub(super) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync directory", dir))
}

/// Creates `dir` and any missing parents, syncing each parent that gained an
/// entry so the new folders survive a power cut.
pub(super) fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        ensure_dir(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        // Another deposit created it first.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(io_err("create directory", dir)(e)),
    }
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}
