//! Recording the caller: frames reach the WAV through the recorder thread,
//! the session ends the recording at its limits, and a destroyed session
//! still closes its file.

use std::path::Path;
use std::sync::atomic::Ordering;

use super::*;
use crate::media::recorder::{Recorder, RecordingEnd, RecordingSpec};
use crate::media::worker::{MediaEvent, MediaEventKind};
use tokio::sync::mpsc;

fn spec(path: &Path, max: Duration, silence: Option<Duration>) -> RecordingSpec {
    RecordingSpec {
        path: path.to_path_buf(),
        max,
        silence,
    }
}

/// Feeds one 20 ms PCMU packet of a loud ramp per tick for `frames` ticks.
fn talk(session: &mut MediaSession, now: &mut Instant, first_seq: u16, frames: u16) {
    let payload: Vec<u8> = (0..160)
        .map(|i| ulaw_encode(((i % 32) * 600 - 9600) as i16))
        .collect();
    let from: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    for n in 0..frames {
        let seq = first_seq + n;
        session.handle_rtp(*now, from, &rtp(seq, u32::from(seq) * 160, &payload));
        let until = *now + Duration::from_millis(20);
        run(session, now, until);
    }
}

fn recorded(events: &mut mpsc::UnboundedReceiver<MediaEvent>) -> crate::media::RecordingOutcome {
    loop {
        let event = events.blocking_recv().expect("the recorder reports");
        if let MediaEventKind::Recorded(outcome) = event.kind {
            return outcome;
        }
    }
}

#[test]
fn what_the_caller_says_is_written_and_the_maximum_length_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    let metrics = Arc::new(MediaMetrics::default());
    let mut recorder = Recorder::start(tx, metrics.clone()).unwrap();
    let mut now = Instant::now();
    let mut session = session(now);
    let path = dir.path().join("m.wav");
    session.start_recording(
        &recorder.handle(),
        spec(&path, Duration::from_secs(1), None),
    );
    talk(&mut session, &mut now, 1, 60);
    assert_eq!(
        session.poll_event(),
        Some(SessionEvent::RecordingEnded(RecordingEnd::MaxLength))
    );
    let outcome = recorded(&mut events);
    assert_eq!(outcome.end, RecordingEnd::MaxLength);
    assert_eq!(outcome.duration, Duration::from_secs(1));
    assert_eq!(outcome.error, None);
    let mut reader = hound::WavReader::open(&path).unwrap();
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    assert_eq!(samples.len(), 8000);
    // The decoded ramp, once the playout delay has passed.
    let expected = ulaw_decode(ulaw_encode(-9600 + 600));
    assert!(samples.iter().skip(800).any(|&s| s == expected));
    assert_eq!(metrics.recording_chunks_dropped.load(Ordering::Relaxed), 0);
    recorder.shutdown();
}

#[test]
fn silence_ends_a_recording_and_a_destroyed_session_closes_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut recorder = Recorder::start(tx, Arc::new(MediaMetrics::default())).unwrap();
    let mut now = Instant::now();
    let mut session = session(now);
    let quiet = dir.path().join("quiet.wav");
    let limit = Some(Duration::from_millis(500));
    session.start_recording(
        &recorder.handle(),
        spec(&quiet, Duration::from_secs(60), limit),
    );
    talk(&mut session, &mut now, 1, 10);
    // Nothing more arrives: silence, 500 ms of it ends the recording.
    let until = now + Duration::from_secs(1);
    run(&mut session, &mut now, until);
    assert_eq!(
        session.poll_event(),
        Some(SessionEvent::RecordingEnded(RecordingEnd::Silence))
    );
    let outcome = recorded(&mut events);
    assert_eq!(outcome.end, RecordingEnd::Silence);
    assert!(
        outcome.duration >= Duration::from_millis(700),
        "{:?}",
        outcome.duration
    );

    let cut = dir.path().join("cut.wav");
    session.start_recording(
        &recorder.handle(),
        spec(&cut, Duration::from_secs(60), None),
    );
    talk(&mut session, &mut now, 100, 25);
    drop(session);
    let outcome = recorded(&mut events);
    assert_eq!(outcome.end, RecordingEnd::SessionClosed);
    assert!(cut.exists(), "finished under its final name");
    assert_eq!(outcome.duration, Duration::from_millis(500));
    recorder.shutdown();
}
