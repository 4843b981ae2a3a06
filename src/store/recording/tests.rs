use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::*;

const RATE: u32 = 8000;
/// 20 ms at 8 kHz, one RTP packet's worth.
const CHUNK: usize = 160;

/// A deterministic, non-trivial signal so misplaced samples show up.
fn signal(n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| ((i as i64 * 7919 + 13) % 65536 - 32768) as i16)
        .collect()
}

fn record(path: &Path, samples: &[i16]) -> WavRecorder {
    let mut rec = WavRecorder::create(path, RATE).expect("create");
    for chunk in samples.chunks(CHUNK) {
        rec.write(chunk).expect("write");
    }
    rec
}

fn read_wav(path: &Path) -> (hound::WavSpec, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).expect("open wav");
    let spec = reader.spec();
    let samples = reader
        .samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .expect("read samples");
    (spec, samples)
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open part");
    f.write_all(bytes).expect("append");
}

#[test]
fn finished_recording_reads_back_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("msg.wav");
    let samples = signal(RATE as usize * 7 / 2);
    let rec = record(&path, &samples);
    assert_eq!(rec.duration(), Duration::from_millis(3500));
    assert!(dir.path().join("msg.wav.part").exists());

    let done = rec.finish().expect("finish");
    assert_eq!(done, path);
    assert!(!dir.path().join("msg.wav.part").exists());
    let (spec, read) = read_wav(&path);
    assert_eq!(spec.channels, 1);
    assert_eq!(spec.sample_rate, RATE);
    assert_eq!(spec.bits_per_sample, 16);
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    assert_eq!(read, samples);
}

#[test]
fn one_large_write_is_recorded_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.wav");
    let samples = signal(RATE as usize * 3 + 17);
    let mut rec = WavRecorder::create(&path, RATE).expect("create");
    rec.write(&samples).expect("write");
    rec.finish().expect("finish");
    assert_eq!(read_wav(&path).1, samples);
}

#[test]
fn part_file_is_a_valid_wav_after_each_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("live.wav");
    let samples = signal(RATE as usize * 3 / 2);
    let rec = record(&path, &samples);
    let (_, read) = read_wav(&dir.path().join("live.wav.part"));
    assert_eq!(read, samples[..RATE as usize]);
    drop(rec);
}

#[test]
fn crash_leaves_a_part_recovered_up_to_the_last_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.wav");
    let samples = signal(RATE as usize * 23 / 10);
    drop(record(&path, &samples));
    assert!(!path.exists());

    let recovered = recover_partial_recordings(dir.path()).expect("recover");
    assert_eq!(recovered, vec![path.clone()]);
    assert!(!dir.path().join("crash.wav.part").exists());
    let (_, read) = read_wav(&path);
    assert!(
        read.len() >= RATE as usize * 2,
        "only {} samples",
        read.len()
    );
    assert!(read.len() <= samples.len());
    assert_eq!(read, samples[..read.len()]);
}

#[test]
fn stale_header_is_repaired_to_the_full_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stale.wav");
    let part = dir.path().join("stale.wav.part");
    let first = signal(RATE as usize);
    drop(record(&path, &first));
    // Data the header does not cover yet, as if the process died between
    // writing samples and rewriting the sizes.
    let extra: Vec<i16> = signal(1234).iter().map(|s| s.wrapping_add(1)).collect();
    let bytes: Vec<u8> = extra.iter().flat_map(|s| s.to_le_bytes()).collect();
    append_bytes(&part, &bytes);
    assert_eq!(
        read_wav(&part).1.len(),
        first.len(),
        "header should be stale"
    );

    recover_partial_recordings(dir.path()).expect("recover");
    let mut expected = first;
    expected.extend_from_slice(&extra);
    assert_eq!(read_wav(&path).1, expected);
}

#[test]
fn odd_trailing_byte_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("odd.wav");
    let part = dir.path().join("odd.wav.part");
    let first = signal(RATE as usize);
    drop(record(&path, &first));
    append_bytes(&part, &[0x34, 0x12, 0x7f]);

    recover_partial_recordings(dir.path()).expect("recover");
    let mut expected = first;
    expected.push(0x1234);
    assert_eq!(read_wav(&path).1, expected);
    let len = fs::metadata(&path).expect("stat").len();
    assert_eq!(len, HEADER_LEN + expected.len() as u64 * 2);
}

#[test]
fn too_short_part_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.wav.part");
    let cut = dir.path().join("cut.wav.part");
    fs::write(&empty, b"").expect("write");
    fs::write(&cut, &header(RATE, 0)[..30]).expect("write");

    let recovered = recover_partial_recordings(dir.path()).expect("recover");
    assert!(recovered.is_empty());
    assert!(!empty.exists());
    assert!(!cut.exists());
    assert!(!dir.path().join("empty.wav").exists());
}

#[test]
fn header_only_part_recovers_as_empty_wav() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("silent.wav");
    drop(WavRecorder::create(&path, RATE).expect("create"));
    assert_eq!(
        recover_partial_recordings(dir.path()).expect("recover"),
        vec![path.clone()]
    );
    assert!(read_wav(&path).1.is_empty());
}

#[test]
fn recovery_walks_subdirectories_and_spares_what_it_cannot_repair() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = dir.path().join("voicemail/100/INBOX");
    fs::create_dir_all(&inbox).expect("mkdir");
    let nested = inbox.join("a.wav");
    let samples = signal(RATE as usize);
    drop(record(&nested, &samples));
    // Not a WAV: left for a person to look at.
    let junk = inbox.join("junk.wav.part");
    fs::write(&junk, vec![0u8; 100]).expect("write");
    // Final name taken: the .part is kept rather than overwriting a message.
    let taken = inbox.join("b.wav");
    drop(record(&taken, &samples));
    fs::write(&taken, b"existing").expect("write");
    // Other files are ignored.
    fs::write(inbox.join("a.json"), b"{}").expect("write");

    let recovered = recover_partial_recordings(dir.path()).expect("recover");
    assert_eq!(recovered, vec![nested.clone()]);
    assert_eq!(read_wav(&nested).1, samples);
    assert!(junk.exists());
    assert!(inbox.join("b.wav.part").exists());
    assert_eq!(fs::read(&taken).expect("read"), b"existing");
}

#[test]
fn create_in_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("missing/msg.wav");
    match WavRecorder::create(&path, RATE) {
        Err(RecordingError::Io {
            op,
            path: p,
            source,
        }) => {
            assert_eq!(op, "create");
            assert_eq!(p, dir.path().join("missing/msg.wav.part"));
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn existing_recordings_are_never_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("msg.wav");
    let rec = WavRecorder::create(&path, RATE).expect("create");
    assert!(matches!(
        WavRecorder::create(&path, RATE),
        Err(RecordingError::AlreadyExists { .. })
    ));
    rec.finish().expect("finish");
    assert!(matches!(
        WavRecorder::create(&path, RATE),
        Err(RecordingError::AlreadyExists { .. })
    ));
}

#[test]
fn zero_sample_rate_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        WavRecorder::create(&dir.path().join("x.wav"), 0),
        Err(RecordingError::InvalidSampleRate)
    ));
}

#[test]
fn finish_reports_a_failed_rename() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gone.wav");
    let rec = record(&path, &signal(100));
    fs::remove_file(dir.path().join("gone.wav.part")).expect("remove");
    match rec.finish() {
        Err(RecordingError::Io { op, .. }) => assert_eq!(op, "rename"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn recovering_a_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        recover_partial_recordings(&dir.path().join("nope")),
        Err(RecordingError::Io { .. })
    ));
}
