use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::clock::{message_id, rfc3339};
use super::*;
use crate::store::recording::{recover_partial_recordings, WavRecorder};

const RATE: u32 = 8000;
/// 2026-11-21T21:45:00Z.
const START: u64 = 1_795_297_500;

fn store() -> (tempfile::TempDir, FsMessageStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsMessageStore::new(dir.path().join("voicemail"));
    (dir, store)
}

fn new_message(start_s: u64) -> NewMessage {
    NewMessage {
        caller: "sip:alice@example.com".into(),
        called: "1000".into(),
        codec: "PCMU".into(),
        rate_hz: RATE,
        start: UNIX_EPOCH + Duration::from_secs(start_s),
    }
}

fn samples(n: usize) -> Vec<i16> {
    (0..n).map(|i| ((i % 100) * 50) as i16).collect()
}

/// A whole deposit: metadata, audio, completion.
fn deposit(store: &FsMessageStore, mailbox: &str, start_s: u64, ms: u64) -> MessageMeta {
    let draft = store.begin(mailbox, new_message(start_s)).expect("begin");
    let mut recorder = WavRecorder::create(&draft.wav_path, RATE).expect("recorder");
    recorder
        .write(&samples((ms * u64::from(RATE) / 1000) as usize))
        .expect("write");
    recorder.finish().expect("finish");
    store.complete(&draft, ms).expect("complete")
}

fn folder(store: &FsMessageStore, mailbox: &str, folder: Folder) -> PathBuf {
    store.root().join(mailbox).join(folder.dir_name())
}

fn ids(listing: &Listing) -> Vec<&str> {
    listing.messages.iter().map(|m| m.id.as_str()).collect()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn timestamps_and_ids_are_utc() {
    assert_eq!(rfc3339(START as i64), "2026-11-21T21:45:00Z");
    assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(message_id(START as i64, 1), "20261121-214500-0001");
    assert_eq!(message_id(START as i64, 10_002), "20261121-214500-0002");
}

#[test]
fn a_deposit_is_listed_moved_to_old_and_deleted() {
    let (_dir, store) = store();
    let draft = store.begin("1000", new_message(START)).expect("begin");
    let inbox = folder(&store, "1000", Folder::Inbox);
    assert_eq!(draft.wav_path, inbox.join(format!("{}.wav", draft.id)));
    assert!(draft.id.starts_with("20261121-214500-"), "{}", draft.id);
    assert!(!draft.meta.complete);
    assert_eq!(names_in(&inbox), vec![format!("{}.json", draft.id)]);
    assert!(folder(&store, "1000", Folder::Old).is_dir());
    // Being recorded: not a message yet.
    assert!(store
        .list("1000", Folder::Inbox)
        .expect("list")
        .messages
        .is_empty());
    assert!(matches!(
        store.find("1000", &draft.id),
        Err(StoreError::NotFound { .. })
    ));

    let mut recorder = WavRecorder::create(&draft.wav_path, RATE).expect("recorder");
    recorder.write(&samples(12_000)).expect("write");
    recorder.finish().expect("finish");
    let meta = store.complete(&draft, 1500).expect("complete");
    assert_eq!(
        meta,
        MessageMeta {
            id: draft.id.clone(),
            folder: Folder::Inbox,
            caller: "sip:alice@example.com".into(),
            called: "1000".into(),
            start: "2026-11-21T21:45:00Z".into(),
            start_unix_s: START as i64,
            duration_ms: 1500,
            codec: "PCMU".into(),
            rate_hz: RATE,
            complete: true,
            recovered: false,
        }
    );
    let listing = store.list("1000", Folder::Inbox).expect("list");
    assert_eq!(listing.messages, vec![meta.clone()]);
    assert!(listing.skipped.is_empty());
    assert_eq!(
        store.counts("1000").expect("counts"),
        MailboxCounts { new: 1, old: 0 }
    );
    assert_eq!(store.find("1000", &meta.id).expect("find"), meta);
    assert_eq!(
        store.audio_path("1000", &meta.id).expect("audio"),
        draft.wav_path
    );

    store.mark_old("1000", &meta.id).expect("mark old");
    store.mark_old("1000", &meta.id).expect("already old");
    assert_eq!(
        store.counts("1000").expect("counts"),
        MailboxCounts { new: 0, old: 1 }
    );
    let old = store.list("1000", Folder::Old).expect("list old");
    assert_eq!(old.messages.len(), 1);
    assert_eq!(old.messages[0].folder, Folder::Old);
    assert_eq!(old.messages[0].duration_ms, 1500);
    assert!(names_in(&inbox).is_empty());
    let old_wav = folder(&store, "1000", Folder::Old).join(format!("{}.wav", meta.id));
    assert_eq!(store.audio_path("1000", &meta.id).expect("audio"), old_wav);

    store.delete("1000", &meta.id).expect("delete");
    assert!(names_in(&folder(&store, "1000", Folder::Old)).is_empty());
    assert_eq!(
        store.counts("1000").expect("counts"),
        MailboxCounts::default()
    );
    assert!(matches!(
        store.delete("1000", &meta.id),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn listings_are_oldest_first_and_unknown_mailboxes_empty() {
    let (_dir, store) = store();
    let late = deposit(&store, "1000", START + 60, 200);
    let early = deposit(&store, "1000", START, 200);
    let listing = store.list("1000", Folder::Inbox).expect("list");
    assert_eq!(ids(&listing), vec![early.id.as_str(), late.id.as_str()]);
    let empty = store.list("2000", Folder::Old).expect("list");
    assert!(empty.messages.is_empty() && empty.skipped.is_empty());
    assert_eq!(
        store.counts("2000").expect("counts"),
        MailboxCounts::default()
    );
    assert_eq!(
        store.greeting_path("1000").expect("greeting"),
        store.root().join("1000/greeting.wav")
    );
}

#[test]
fn deposits_in_the_same_second_get_unique_ids() {
    let (_dir, store) = store();
    let mut seen: Vec<String> = (0..50)
        .map(|_| store.begin("1000", new_message(START)).expect("begin").id)
        .collect();
    // A second store on the same folder restarts its counter; the IDs
    // already on disk are still skipped.
    let again = FsMessageStore::new(store.root().to_path_buf());
    seen.extend((0..5).map(|_| again.begin("1000", new_message(START)).expect("begin").id));
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len());
    assert!(seen.iter().all(|id| crate::config::is_safe_name(id)));
}

#[test]
fn corrupt_metadata_and_missing_audio_are_skipped_and_reported() {
    let (_dir, store) = store();
    let good = deposit(&store, "1000", START, 200);
    let broken = deposit(&store, "1000", START + 1, 200);
    let silent = deposit(&store, "1000", START + 2, 200);
    let inbox = folder(&store, "1000", Folder::Inbox);
    let broken_json = inbox.join(format!("{}.json", broken.id));
    fs::write(&broken_json, b"{ not json").expect("corrupt");
    let silent_wav = inbox.join(format!("{}.wav", silent.id));
    fs::remove_file(&silent_wav).expect("remove audio");

    let listing = store.list("1000", Folder::Inbox).expect("list");
    assert_eq!(ids(&listing), vec![good.id.as_str()]);
    let skipped: Vec<&Path> = listing.skipped.iter().map(|p| p.path.as_path()).collect();
    assert_eq!(skipped, vec![broken_json.as_path(), silent_wav.as_path()]);
    assert!(listing.skipped[0]
        .to_string()
        .contains("unreadable metadata"));
    // Counting opens no file: the corrupt message, whose audio is there,
    // still counts (until deleted); the one without audio does not.
    assert_eq!(store.counts("1000").expect("counts").new, 2);
    assert!(matches!(
        store.find("1000", &broken.id),
        Err(StoreError::Corrupt { .. })
    ));
    // Broken messages can still be deleted.
    store.delete("1000", &broken.id).expect("delete corrupt");
    store
        .delete("1000", &silent.id)
        .expect("delete without audio");
    assert_eq!(
        names_in(&inbox),
        vec![format!("{}.json", good.id), format!("{}.wav", good.id)]
    );
}

#[test]
fn a_discarded_deposit_leaves_no_files() {
    let (_dir, store) = store();
    let draft = store.begin("1000", new_message(START)).expect("begin");
    let mut recorder = WavRecorder::create(&draft.wav_path, RATE).expect("recorder");
    recorder.write(&samples(400)).expect("write");
    drop(recorder);
    store.discard(&draft).expect("discard");
    assert!(names_in(&folder(&store, "1000", Folder::Inbox)).is_empty());
}

#[test]
fn unsafe_names_are_refused_everywhere() {
    let (dir, store) = store();
    let good = deposit(&store, "1000", START, 200);
    let bad_names = [
        "..", "../1000", "1000/..", "/etc", "", ".", "a.b", "%2e%2e", "a\0b",
    ];
    let invalid = |r: Result<(), StoreError>, name: &str| match r {
        Err(StoreError::InvalidName { .. }) => {}
        other => panic!("{name:?}: {other:?}"),
    };
    for bad in bad_names {
        invalid(store.begin(bad, new_message(START)).map(|_| ()), bad);
        invalid(store.list(bad, Folder::Inbox).map(|_| ()), bad);
        invalid(store.counts(bad).map(|_| ()), bad);
        invalid(store.greeting_path(bad).map(|_| ()), bad);
        for (mailbox, id) in [(bad, good.id.as_str()), ("1000", bad)] {
            invalid(store.find(mailbox, id).map(|_| ()), bad);
            invalid(store.audio_path(mailbox, id).map(|_| ()), bad);
            invalid(store.mark_old(mailbox, id), bad);
            invalid(store.delete(mailbox, id), bad);
            let draft = MessageDraft {
                mailbox: mailbox.into(),
                id: id.into(),
                wav_path: dir.path().join("x.wav"),
                meta: good.clone(),
            };
            invalid(store.complete(&draft, 1).map(|_| ()), bad);
            invalid(store.discard(&draft), bad);
        }
    }
    assert_eq!(store.counts("1000").expect("counts").new, 1);
}

#[test]
fn recovery_finishes_a_deposit_cut_off_mid_recording() {
    let (_dir, store) = store();
    let draft = store.begin("1000", new_message(START)).expect("begin");
    let mut recorder = WavRecorder::create(&draft.wav_path, RATE).expect("recorder");
    recorder
        .write(&samples(RATE as usize * 5 / 2))
        .expect("write");
    drop(recorder);
    recover_partial_recordings(store.root()).expect("wav recovery");
    let report = store.recover();
    let json = folder(&store, "1000", Folder::Inbox).join(format!("{}.json", draft.id));
    assert_eq!(report.completed, vec![json]);
    assert!(report.removed.is_empty() && report.problems.is_empty());
    let meta = store.find("1000", &draft.id).expect("find");
    assert!(meta.complete && meta.recovered);
    assert!(
        (2000..=2500).contains(&meta.duration_ms),
        "{}",
        meta.duration_ms
    );
    assert_eq!(meta.caller, "sip:alice@example.com");
    assert!(
        store.recover().completed.is_empty(),
        "a second run has nothing to do"
    );
}

#[test]
fn recovery_removes_a_deposit_that_died_before_audio() {
    let (_dir, store) = store();
    let kept = deposit(&store, "1000", START, 200);
    let draft = store.begin("1000", new_message(START)).expect("begin");
    let inbox = folder(&store, "1000", Folder::Inbox);
    fs::write(inbox.join(".stale.json.tmp"), b"{").expect("stale temp");
    let report = store.recover();
    assert_eq!(
        report.removed,
        vec![inbox.join(format!("{}.json", draft.id))]
    );
    assert!(report.completed.is_empty() && report.problems.is_empty());
    assert_eq!(
        names_in(&inbox),
        vec![format!("{}.json", kept.id), format!("{}.wav", kept.id)]
    );
}

#[test]
fn recovery_describes_audio_without_metadata() {
    let (_dir, store) = store();
    let inbox = folder(&store, "1000", Folder::Inbox);
    fs::create_dir_all(&inbox).expect("mkdir");
    let wav = inbox.join("orphan-1.wav");
    let mut recorder = WavRecorder::create(&wav, 16_000).expect("recorder");
    recorder.write(&samples(16_000)).expect("write");
    recorder.finish().expect("finish");
    let before = crate::store::mailbox::clock::unix_seconds(SystemTime::now());
    let report = store.recover();
    assert_eq!(report.completed, vec![inbox.join("orphan-1.json")]);
    let meta = store.find("1000", "orphan-1").expect("find");
    assert_eq!(meta.caller, "unknown");
    assert_eq!(meta.codec, "unknown");
    assert_eq!(meta.rate_hz, 16_000);
    assert_eq!(meta.duration_ms, 1000);
    assert!(meta.complete && meta.recovered);
    assert!((meta.start_unix_s - before).abs() < 60, "{}", meta.start);
    assert_eq!(
        store.list("1000", Folder::Inbox).expect("list").messages,
        vec![meta]
    );
}

#[test]
fn recovery_reports_corrupt_files_and_leaves_them() {
    let (_dir, store) = store();
    let inbox = folder(&store, "1000", Folder::Inbox);
    fs::create_dir_all(&inbox).expect("mkdir");
    fs::write(inbox.join("bad.json"), b"[1, 2").expect("json");
    fs::write(inbox.join("noise.wav"), b"not a wav at all, just text").expect("wav");
    let report = store.recover();
    let problems: Vec<&Path> = report.problems.iter().map(|p| p.path.as_path()).collect();
    assert_eq!(
        problems,
        vec![
            inbox.join("bad.json").as_path(),
            inbox.join("noise.wav").as_path()
        ]
    );
    assert!(report.completed.is_empty() && report.removed.is_empty());
    assert_eq!(names_in(&inbox), vec!["bad.json", "noise.wav"]);
}

#[test]
fn recovery_rejoins_a_move_to_old_cut_off_between_files() {
    let (_dir, store) = store();
    let meta = deposit(&store, "1000", START, 200);
    let (inbox, old) = (
        folder(&store, "1000", Folder::Inbox),
        folder(&store, "1000", Folder::Old),
    );
    // mark_old moves the audio first; the process died before the JSON.
    let name = format!("{}.wav", meta.id);
    fs::rename(inbox.join(&name), old.join(&name)).expect("move audio");
    let report = store.recover();
    assert_eq!(
        report.completed,
        vec![old.join(format!("{}.json", meta.id))]
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let found = store.find("1000", &meta.id).expect("find");
    assert_eq!(found.folder, Folder::Old);
    assert_eq!(found.caller, meta.caller);
    assert!(!found.recovered);
}
