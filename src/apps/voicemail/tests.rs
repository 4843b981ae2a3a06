//! The voicemail applications driven without sockets: their actions for
//! each event, over a message store in a temporary folder.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::deposit::Envelope;
use super::{DepositApp, PinCheck, RecordingPurpose, RetrievalApp, Voicemail};
use crate::apps::{AppAction, CallApp, PromptFetch};
use crate::config::{MailboxConfig, VoicemailConfig};
use crate::media::dtmf::DtmfDigit;
use crate::media::session::{SessionEvent, Source};
use crate::media::{RecordingEnd, RecordingOutcome};
use crate::store::{Folder, FsMessageStore, MessageDraft, MessageStore, NewMessage, WavRecorder};

struct Fixture {
    _dir: tempfile::TempDir,
    voicemail: Arc<Voicemail>,
    store: Arc<dyn MessageStore>,
}

fn mailbox(max_messages: u32) -> MailboxConfig {
    MailboxConfig {
        number: "1001".into(),
        pin: "4321".into(),
        owner: Some("alice".into()),
        email: None,
        greeting: None,
        max_messages,
        max_message_s: 60,
    }
}

fn fixture(max_messages: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn MessageStore> = Arc::new(FsMessageStore::new(dir.path().join("vm")));
    let voicemail = Arc::new(Voicemail::new(
        store.clone(),
        &[mailbox(max_messages)],
        &VoicemailConfig::default(),
    ));
    Fixture {
        _dir: dir,
        voicemail,
        store,
    }
}

/// Every prompt is 20 ms of a level of its own.
fn fetch() -> PromptFetch {
    Arc::new(|name: &str| Some(vec![name.len() as i16; 160].into()))
}

fn envelope() -> Envelope {
    Envelope {
        caller: "1002".into(),
        called: "1001".into(),
        codec: "PCMU".into(),
        rate_hz: 8000,
    }
}

fn key(c: char) -> DtmfDigit {
    DtmfDigit::from_char(c).unwrap()
}

fn plays(actions: &[AppAction]) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, AppAction::SetSource(Source::Prompt { .. })))
}

/// A deposit begun in mailbox 1001: metadata written, no audio yet.
fn begin(store: &dyn MessageStore) -> MessageDraft {
    let message = NewMessage {
        caller: "1002".into(),
        called: "1001".into(),
        codec: "PCMU".into(),
        rate_hz: 8000,
        start: SystemTime::now(),
    };
    store.begin("1001", message).unwrap()
}

/// Writes `samples` as the draft's finished WAV.
fn record(draft: &MessageDraft, samples: &[i16]) {
    let mut wav = WavRecorder::create(&draft.wav_path, 8000).unwrap();
    wav.write(samples).unwrap();
    wav.finish().unwrap();
}

/// Stores a complete 2 s message of a ramp; returns its id.
fn stored_message(store: &dyn MessageStore) -> String {
    let draft = begin(store);
    let samples: Vec<i16> = (0..16_000)
        .map(|i| ((i % 40) * 500 - 10_000) as i16)
        .collect();
    record(&draft, &samples);
    store.complete(&draft, 2000).unwrap();
    draft.id
}

fn press(app: &mut dyn CallApp, now: Instant, keys: &str) -> Vec<AppAction> {
    keys.chars()
        .flat_map(|c| app.on_digit(now, key(c)))
        .collect()
}

#[test]
fn a_deposit_greets_beeps_records_until_hash_and_hangs_up_after_saving() {
    let f = fixture(100);
    let now = Instant::now();
    let mut app = DepositApp::new(f.voicemail.clone(), mailbox(100), fetch(), envelope());
    assert!(plays(&app.start(now)), "the greeting");
    assert!(
        plays(&app.on_media_event(now, SessionEvent::PlaybackFinished)),
        "the beep"
    );
    let actions = app.on_media_event(now, SessionEvent::PlaybackFinished);
    let Some(AppAction::Record(request)) = actions.first() else {
        panic!("recording starts after the beep: {actions:?}");
    };
    assert_eq!(request.spec.max, Duration::from_secs(60));
    assert_eq!(request.spec.silence, Some(Duration::from_secs(5)));
    let RecordingPurpose::Message { draft } = request.purpose.clone() else {
        panic!("a message");
    };
    assert_eq!(draft.mailbox, "1001");
    assert!(draft
        .wav_path
        .starts_with(f._dir.path().join("vm/1001/INBOX")));
    assert!(matches!(
        press(&mut app, now, "#")[..],
        [AppAction::StopRecording]
    ));

    // The recorder reports 3 s: kept, the message complete and counted.
    record(&draft, &[1000; 24_000]);
    let outcome = RecordingOutcome {
        path: draft.wav_path.clone(),
        duration: Duration::from_secs(3),
        end: RecordingEnd::Stopped,
        error: None,
    };
    let (kept, changed) = f
        .voicemail
        .finish_recording(request.purpose.clone(), &outcome);
    assert!(kept);
    assert_eq!(changed.as_deref(), Some("1001"));
    assert_eq!(f.voicemail.counts("1001").new, 1);
    assert!(
        plays(&app.on_recorded(now, &outcome, kept)),
        "message recorded"
    );
    let last = app.on_media_event(now, SessionEvent::PlaybackFinished);
    assert!(matches!(last[..], [AppAction::Hangup]));
}

#[test]
fn a_recording_under_the_minimum_is_discarded() {
    let f = fixture(100);
    let draft = begin(f.store.as_ref());
    record(&draft, &[1000; 4000]);
    let outcome = RecordingOutcome {
        path: draft.wav_path.clone(),
        duration: Duration::from_millis(500),
        end: RecordingEnd::SessionClosed,
        error: None,
    };
    let purpose = RecordingPurpose::Message {
        draft: draft.clone(),
    };
    assert_eq!(
        f.voicemail.finish_recording(purpose, &outcome),
        (false, None)
    );
    assert!(!draft.wav_path.exists());
    assert_eq!(f.voicemail.counts("1001").new, 0);
}

#[test]
fn star_in_the_greeting_lets_the_owner_log_in_and_a_full_mailbox_records_nothing() {
    let f = fixture(1);
    let now = Instant::now();
    let mut app = DepositApp::new(f.voicemail.clone(), mailbox(1), fetch(), envelope());
    app.start(now);
    let actions = press(&mut app, now, "*");
    assert!(matches!(&actions[..], [AppAction::Dial(user)] if user == "voicemail-1001"));

    stored_message(f.store.as_ref());
    let mut full = DepositApp::new(f.voicemail.clone(), mailbox(1), fetch(), envelope());
    assert!(plays(&full.start(now)), "mailbox full");
    assert!(
        press(&mut full, now, "#").is_empty(),
        "no recording to stop"
    );
    let last = full.on_media_event(now, SessionEvent::PlaybackFinished);
    assert!(matches!(last[..], [AppAction::Hangup]));
}

#[test]
fn the_owner_logs_in_hears_a_message_which_moves_to_old_and_deletes_it() {
    let f = fixture(100);
    let id = stored_message(f.store.as_ref());
    let now = Instant::now();
    let mut app = RetrievalApp::new(f.voicemail.clone(), Some(mailbox(100)), fetch(), 8000);
    assert!(plays(&app.start(now)), "enter your PIN");
    // A wrong PIN, then the right one typed over the notice (barge-in).
    press(&mut app, now, "1111#");
    let actions = press(&mut app, now, "4321#");
    assert!(plays(&actions), "the summary");
    let actions = press(&mut app, now, "1");
    assert!(plays(&actions), "the envelope");
    let actions = app.on_media_event(now, SessionEvent::PlaybackFinished);
    let message_audio = actions.iter().find_map(|a| match a {
        AppAction::SetSource(Source::Prompt { samples, .. }) => Some(samples.clone()),
        _ => None,
    });
    assert_eq!(
        message_audio.map(|s| s.len()),
        Some(16_000),
        "the message audio"
    );
    assert!(actions
        .iter()
        .any(|a| matches!(a, AppAction::MailboxChanged(m) if m == "1001")));
    assert_eq!(f.store.find("1001", &id).unwrap().folder, Folder::Old);
    let actions = press(&mut app, now, "7");
    assert!(actions
        .iter()
        .any(|a| matches!(a, AppAction::MailboxChanged(m) if m == "1001")));
    assert!(f.store.find("1001", &id).is_err(), "deleted");
    assert_eq!(f.voicemail.counts("1001"), Default::default());
}

#[test]
fn the_owner_changes_the_pin_from_the_options() {
    let f = fixture(100);
    let now = Instant::now();
    let mut app = RetrievalApp::new(f.voicemail.clone(), Some(mailbox(100)), fetch(), 8000);
    app.start(now);
    press(&mut app, now, "4321#");
    assert!(plays(&press(&mut app, now, "0")), "the options");
    assert!(plays(&press(&mut app, now, "2")), "enter your new PIN");
    assert!(plays(&press(&mut app, now, "97531#")), "PIN changed");
    assert_eq!(f.store.pin("1001").unwrap().as_deref(), Some("97531"));
    assert_eq!(
        f.voicemail.check_pin(now, "1001", "4321"),
        PinCheck::Wrong { left: 2 }
    );
    assert_eq!(
        f.voicemail.check_pin(now, "1001", "97531"),
        PinCheck::Accepted
    );
    // A PIN of letters or 17 digits is refused.
    assert!(!f.voicemail.change_pin("1001", "12345678901234567"));
    assert_eq!(f.store.pin("1001").unwrap().as_deref(), Some("97531"));
}

#[test]
fn silence_at_a_menu_is_asked_again_then_the_call_ends() {
    let f = fixture(100);
    let t0 = Instant::now();
    let mut app = RetrievalApp::new(f.voicemail.clone(), None, fetch(), 8000);
    app.start(t0);
    let mut now = t0;
    let mut hung_up = false;
    for _ in 0..6 {
        let Some(at) = app.poll_timeout() else {
            // A notice plays; its end asks again.
            app.on_media_event(now, SessionEvent::PlaybackFinished);
            continue;
        };
        now = at;
        let actions = app.handle_timeout(now);
        let ended = app.on_media_event(now, SessionEvent::PlaybackFinished);
        hung_up |= actions
            .iter()
            .chain(&ended)
            .any(|a| matches!(a, AppAction::Hangup));
        if hung_up {
            break;
        }
    }
    assert!(hung_up, "no entry at all ends the call");
    assert!(now - t0 >= Duration::from_secs(20), "after several waits");
}
