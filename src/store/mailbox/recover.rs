//! Start-up recovery: runs after `recover_partial_recordings` has turned
//! every `.wav.part` into a `.wav`, and makes each mailbox folder consistent
//! again. Files it cannot understand are reported and left in place.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::is_safe_name;

use super::clock::{rfc3339, unix_seconds};
use super::error::{io_err, StoreError, StoreProblem};
use super::files::{
    corrupt, json_path, part_path, read_json, remove_if_exists, replace_json, sync_dir, wav_info,
    wav_path,
};
use super::model::{Folder, RecoveryReport, StoredMeta};

/// Stands in for what a crash left unknown about a message.
const UNKNOWN: &str = "unknown";

pub(super) fn recover(root: &Path) -> RecoveryReport {
    let mut report = RecoveryReport::default();
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return report,
        Err(e) => {
            report
                .problems
                .push(io_err("read directory", root)(e).into());
            return report;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                report
                    .problems
                    .push(io_err("read directory", root)(e).into());
                break;
            }
        };
        // file_type does not follow symlinks: only real folders are mailboxes.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        match entry.file_name().to_str().filter(|n| is_safe_name(n)) {
            Some(mailbox) => recover_mailbox(&path, mailbox, &mut report),
            None => report
                .problems
                .push(StoreProblem::new(path, "not a mailbox name; left alone")),
        }
    }
    report.completed.sort();
    report.removed.sort();
    report.problems.sort_by(|a, b| a.path.cmp(&b.path));
    report
}

/// The message files of one folder, by ID.
#[derive(Default)]
struct Scan {
    json: BTreeSet<String>,
    wav: BTreeSet<String>,
    /// Temporary JSON files a crash left behind.
    tmp: Vec<PathBuf>,
}

fn scan(dir: &Path) -> Result<Scan, StoreError> {
    let mut found = Scan::default();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(io_err("read directory", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err("read directory", dir))?;
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            if name.ends_with(".json.tmp") {
                found.tmp.push(entry.path());
            }
        } else if let Some(id) = name.strip_suffix(".json") {
            found.json.insert(id.to_string());
        } else if let Some(id) = name.strip_suffix(".wav") {
            found.wav.insert(id.to_string());
        }
    }
    Ok(found)
}

fn recover_mailbox(dir: &Path, mailbox: &str, report: &mut RecoveryReport) {
    let mut scans = Vec::new();
    for folder in Folder::ALL {
        let folder_dir = dir.join(folder.dir_name());
        match scan(&folder_dir) {
            Ok(found) => scans.push((folder, folder_dir, found)),
            Err(e) => report.problems.push(e.into()),
        }
    }
    for (_, folder_dir, found) in &mut scans {
        // The JSON these were to replace is still there in its old version,
        // or the deposit died before any audio.
        for tmp in found.tmp.drain(..) {
            if let Err(e) = remove_if_exists(&tmp).and_then(|_| sync_dir(folder_dir)) {
                report.problems.push(e.into());
            }
        }
    }
    rejoin_moves(&mut scans, report);
    for (_, folder_dir, found) in &scans {
        finish_folder(folder_dir, mailbox, found, report);
    }
}

/// A move to the other folder cut off between the audio and the metadata
/// leaves the audio alone in one folder and its metadata alone in the other:
/// the metadata follows the audio.
fn rejoin_moves(scans: &mut [(Folder, PathBuf, Scan)], report: &mut RecoveryReport) {
    let [(_, dir_a, a), (_, dir_b, b)] = scans else {
        return;
    };
    rejoin_into(dir_a, a, dir_b, b, report);
    rejoin_into(dir_b, b, dir_a, a, report);
}

fn rejoin_into(
    to_dir: &Path,
    to: &mut Scan,
    from_dir: &Path,
    from: &mut Scan,
    report: &mut RecoveryReport,
) {
    let split: Vec<String> = to
        .wav
        .iter()
        .filter(|id| !to.json.contains(*id) && from.json.contains(*id) && !from.wav.contains(*id))
        .cloned()
        .collect();
    for id in split {
        let (source, target) = (json_path(from_dir, &id), json_path(to_dir, &id));
        let moved = fs::rename(&source, &target)
            .map_err(io_err("move", &source))
            .and_then(|()| sync_dir(to_dir))
            .and_then(|()| sync_dir(from_dir));
        match moved {
            Ok(()) => {
                tracing::info!(path = %target.display(), "message moved to its audio's folder");
                from.json.remove(&id);
                to.json.insert(id);
                report.completed.push(target);
            }
            Err(e) => report.problems.push(e.into()),
        }
    }
}

fn finish_folder(dir: &Path, mailbox: &str, found: &Scan, report: &mut RecoveryReport) {
    for id in &found.json {
        if !is_safe_name(id) {
            report.problems.push(StoreProblem::new(
                json_path(dir, id),
                "not a message name; left alone",
            ));
            continue;
        }
        if let Err(e) = finish_message(dir, id, report) {
            report.problems.push(e.into());
        }
    }
    for id in found.wav.difference(&found.json) {
        let wav = wav_path(dir, id);
        if !is_safe_name(id) {
            report
                .problems
                .push(StoreProblem::new(wav, "not a message name; left alone"));
            continue;
        }
        match describe_orphan(&wav, mailbox).and_then(|meta| replace_json(dir, id, &meta)) {
            Ok(json) => {
                tracing::info!(path = %json.display(), "metadata written for audio without any");
                report.completed.push(json);
            }
            Err(e) => report.problems.push(e.into()),
        }
    }
}

/// One message with metadata: finished if its recording was cut off,
/// removed if it died before any audio.
fn finish_message(dir: &Path, id: &str, report: &mut RecoveryReport) -> Result<(), StoreError> {
    let json = json_path(dir, id);
    let Some(mut stored) = read_json(&json)? else {
        return Ok(());
    };
    let wav = wav_path(dir, id);
    if stored.complete {
        return if wav.is_file() {
            Ok(())
        } else {
            Err(corrupt(&wav, "audio file missing"))
        };
    }
    if wav.is_file() {
        let info = wav_info(&wav)?;
        stored.duration_ms = info.duration_ms;
        stored.complete = true;
        stored.recovered = true;
        replace_json(dir, id, &stored)?;
        tracing::info!(path = %json.display(), "message cut off by a restart completed");
        report.completed.push(json);
    } else if part_path(dir, id).exists() {
        return Err(corrupt(
            &part_path(dir, id),
            "recording could not be recovered; left in place",
        ));
    } else {
        remove_if_exists(&json)?;
        sync_dir(dir)?;
        tracing::info!(path = %json.display(), "deposit without audio removed");
        report.removed.push(json);
    }
    Ok(())
}

/// Metadata for audio that has none: what the WAV and its file times say.
fn describe_orphan(wav: &Path, mailbox: &str) -> Result<StoredMeta, StoreError> {
    let info = wav_info(wav)?;
    let modified = fs::metadata(wav)
        .and_then(|m| m.modified())
        .map_err(io_err("stat", wav))?;
    // The file was last written when the recording ended.
    let started = modified
        .checked_sub(Duration::from_millis(info.duration_ms))
        .unwrap_or(modified);
    let start_unix_s = unix_seconds(started);
    Ok(StoredMeta {
        caller: UNKNOWN.to_string(),
        called: mailbox.to_string(),
        start: rfc3339(start_unix_s),
        start_unix_s,
        duration_ms: info.duration_ms,
        codec: UNKNOWN.to_string(),
        rate_hz: info.rate_hz,
        complete: true,
        recovered: true,
    })
}
