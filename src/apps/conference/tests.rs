//! The conference application's dialogue, without a media plane.

use super::*;
use std::sync::Arc;

fn app() -> ConferenceApp {
    let fetch: PromptFetch = Arc::new(|name: &str| Some(Arc::from(vec![name.len() as i16; 160])));
    ConferenceApp::new("100".into(), fetch)
}

fn member_pin(pin: &str) -> RoomOptions {
    RoomOptions {
        pins: RoomPins {
            member: Some(pin.into()),
            moderator: None,
        },
        ..RoomOptions::default()
    }
}

fn keys(app: &mut ConferenceApp, now: Instant, keys: &str) -> Vec<AppAction> {
    keys.chars()
        .flat_map(|c| app.on_digit(now, DtmfDigit::from_char(c).unwrap()))
        .collect()
}

#[test]
fn a_pin_is_asked_three_times_then_goodbye() {
    let now = Instant::now();
    let fetch: PromptFetch = Arc::new(|name: &str| Some(Arc::from(vec![1i16; name.len()])));
    let mut app = ConferenceApp::with_options("b".into(), fetch.clone(), member_pin("42"));
    // "enter-pin" is 9 samples long in this fake catalogue.
    assert!(
        matches!(&app.start(now)[..], [AppAction::SetSource(Source::Prompt { samples, .. })] if samples.len() == 9)
    );
    assert!(matches!(
        &keys(&mut app, now, "41#")[..],
        [AppAction::SetSource(_)]
    ));
    // The time running out is a wrong try too.
    let later = app.poll_timeout().unwrap();
    assert!(matches!(
        &app.handle_timeout(later)[..],
        [AppAction::SetSource(_)]
    ));
    assert!(app
        .on_media_event(later, SessionEvent::PlaybackFinished)
        .is_empty());
    // Third wrong PIN: goodbye, then the hang-up.
    assert!(
        matches!(&keys(&mut app, later, "4#")[..], [AppAction::SetSource(Source::Prompt { samples, .. })] if samples.len() == 7)
    );
    assert!(
        keys(&mut app, later, "42#").is_empty(),
        "keys after goodbye do nothing"
    );
    assert!(matches!(
        &app.on_media_event(later, SessionEvent::PlaybackFinished)[..],
        [AppAction::Hangup]
    ));

    let mut app = ConferenceApp::with_options("b".into(), fetch.clone(), member_pin("42"));
    app.start(now);
    assert!(
        matches!(&keys(&mut app, now, "42#")[..], [AppAction::JoinRoom { room, moderator: false }] if room == "b")
    );
    assert_eq!(app.poll_timeout(), None);

    for (admission, said) in [(RoomAdmission::Full, 9), (RoomAdmission::Locked, 11)] {
        let mut app = ConferenceApp::with_options(
            "b".into(),
            fetch.clone(),
            RoomOptions {
                admission,
                ..RoomOptions::default()
            },
        );
        assert!(
            matches!(&app.start(now)[..], [AppAction::SetSource(Source::Prompt { samples, .. })] if samples.len() == said)
        );
        assert!(matches!(
            &app.on_media_event(now, SessionEvent::PlaybackFinished)[..],
            [AppAction::Hangup]
        ));
    }
}

#[test]
fn joins_its_room_and_keys_mute_and_set_the_volume() {
    let now = Instant::now();
    let mut app = app();
    assert!(
        matches!(app.start(now).as_slice(), [AppAction::JoinRoom { room, moderator: false }] if room == "100")
    );
    let actions = app.on_digit(now, DtmfDigit::Digit0);
    assert!(matches!(actions[0], AppAction::SetMuted(true)));
    assert!(matches!(
        actions[1],
        AppAction::SetSource(Source::Prompt { .. })
    ));
    assert!(matches!(
        app.on_media_event(now, SessionEvent::PlaybackFinished)
            .as_slice(),
        [AppAction::SetSource(Source::Conference)]
    ));
    assert!(matches!(
        app.on_digit(now, DtmfDigit::Digit0)[0],
        AppAction::SetMuted(false)
    ));
    for _ in 0..10 {
        app.on_digit(now, DtmfDigit::Digit6);
    }
    assert_eq!(app.volume_db, VOLUME_LIMIT_DB);
    assert!(matches!(
        app.on_digit(now, DtmfDigit::Digit4).as_slice(),
        [AppAction::SetVolume(9)]
    ));
    assert!(app.on_digit(now, DtmfDigit::Digit5).is_empty());
}

/// A fake catalogue whose prompts are one sample long, that sample the
/// name's length, so a test can tell which prompt is played.
fn tagged() -> PromptFetch {
    Arc::new(|name: &str| Some(Arc::from(vec![name.len() as i16])))
}

/// The prompt a `SetSource` plays, by its tag.
fn said(action: &AppAction) -> Option<i16> {
    match action {
        AppAction::SetSource(Source::Prompt { samples, .. }) => samples.first().copied(),
        _ => None,
    }
}

fn tag(name: &str) -> Option<i16> {
    Some(name.len() as i16)
}

fn moderated(member: Option<&str>) -> ConferenceApp {
    let options = RoomOptions {
        pins: RoomPins {
            member: member.map(Into::into),
            moderator: Some("99".into()),
        },
        admission: RoomAdmission::Open,
        wait_music: Some("music-on-hold".into()),
        name_path: None,
    };
    ConferenceApp::with_options("m".into(), tagged(), options)
}

fn joins_as(actions: &[AppAction]) -> Option<bool> {
    match actions {
        [AppAction::JoinRoom { room, moderator }] if room == "m" => Some(*moderator),
        _ => None,
    }
}

#[test]
fn the_moderator_pin_makes_a_moderator_and_the_pin_a_member() {
    let now = Instant::now();
    let mut app = moderated(Some("12"));
    assert_eq!(said(&app.start(now)[0]), tag(phrases::ENTER_PIN));
    assert_eq!(joins_as(&keys(&mut app, now, "99#")), Some(true));

    let mut app = moderated(Some("12"));
    app.start(now);
    assert_eq!(joins_as(&keys(&mut app, now, "12#")), Some(false));

    // Without a member PIN: asked for the moderator PIN; `#` alone joins
    // as a member, and so does the time running out with nothing entered.
    let mut app = moderated(None);
    assert_eq!(
        said(&app.start(now)[0]),
        tag(phrases::CONF_ENTER_PIN_OR_JOIN)
    );
    assert_eq!(joins_as(&keys(&mut app, now, "#")), Some(false));
    let mut app = moderated(None);
    app.start(now);
    assert_eq!(joins_as(&keys(&mut app, now, "99#")), Some(true));
    let mut app = moderated(None);
    app.start(now);
    let deadline = app.poll_timeout().unwrap();
    assert_eq!(joins_as(&app.handle_timeout(deadline)), Some(false));

    // A wrong entry is a wrong try there too: three, then goodbye.
    let mut app = moderated(None);
    app.start(now);
    for _ in 0..2 {
        let actions = keys(&mut app, now, "98#");
        assert_eq!(said(&actions[0]), tag(phrases::PIN_INVALID));
    }
    let actions = keys(&mut app, now, "1#");
    assert_eq!(said(&actions[0]), tag(phrases::GOODBYE));
    assert!(matches!(
        &app.on_media_event(now, SessionEvent::PlaybackFinished)[..],
        [AppAction::Hangup]
    ));
}

#[test]
fn a_waiting_member_hears_the_wait_prompt_then_music_until_admitted() {
    let now = Instant::now();
    let mut app = moderated(None);
    app.start(now);
    keys(&mut app, now, "#");
    let waiting = app.on_room_event(now, RoomEvent::Waiting);
    assert_eq!(said(&waiting[0]), tag(phrases::CONF_WAIT_MODERATOR));
    let music = |actions: &[AppAction]| {
        matches!(actions, [AppAction::SetSource(Source::Loop { samples, .. })]
            if samples[0] == "music-on-hold".len() as i16)
    };
    assert!(music(
        &app.on_media_event(now, SessionEvent::PlaybackFinished)
    ));

    // Keys work while waiting; a confirmation ends in the music again,
    // not in the room.
    let actions = keys(&mut app, now, "0");
    assert!(matches!(actions[0], AppAction::SetMuted(true)));
    assert_eq!(said(&actions[1]), tag(phrases::CONF_MUTED));
    assert!(music(
        &app.on_media_event(now, SessionEvent::PlaybackFinished)
    ));
    assert!(matches!(
        keys(&mut app, now, "6")[..],
        [AppAction::SetVolume(3)]
    ));

    // Admitted: the volume chosen while waiting is set in the mix, and a
    // prompt's end now returns to the room.
    assert!(matches!(
        app.on_room_event(now, RoomEvent::Admitted)[..],
        [AppAction::SetVolume(3)]
    ));
    assert!(matches!(
        app.on_media_event(now, SessionEvent::PlaybackFinished)[..],
        [AppAction::SetSource(Source::Conference)]
    ));
    assert!(
        app.on_room_event(now, RoomEvent::Admitted).is_empty(),
        "admitted once"
    );
}

#[test]
fn without_music_a_waiting_member_hears_silence_after_the_prompt() {
    let now = Instant::now();
    let mut app = ConferenceApp::new("m".into(), tagged());
    app.start(now);
    app.on_room_event(now, RoomEvent::Waiting);
    assert!(matches!(
        app.on_media_event(now, SessionEvent::PlaybackFinished)[..],
        [AppAction::SetSource(Source::Silence)]
    ));
    // Before joining (still entering a PIN), the core's word changes nothing.
    let mut app = moderated(None);
    app.start(now);
    assert!(app.on_room_event(now, RoomEvent::Waiting).is_empty());
    assert!(app.poll_timeout().is_some(), "still asking");
}

fn named(pin: Option<&str>) -> ConferenceApp {
    let options = RoomOptions {
        pins: RoomPins {
            member: pin.map(Into::into),
            moderator: None,
        },
        name_path: Some("/data/conferences/n/names/x.wav".into()),
        ..RoomOptions::default()
    };
    ConferenceApp::with_options("n".into(), tagged(), options)
}

fn recorded(app: &mut ConferenceApp, now: Instant, kept: bool) -> Vec<AppAction> {
    let outcome = RecordingOutcome {
        path: "/data/conferences/n/names/x.wav".into(),
        duration: Duration::from_millis(if kept { 900 } else { 0 }),
        end: crate::media::RecordingEnd::Silence,
        error: None,
    };
    app.on_recorded(now, &outcome, kept)
}

#[test]
fn a_room_announcing_names_records_the_name_after_the_pin_then_joins() {
    let now = Instant::now();
    let mut app = named(Some("12"));
    assert_eq!(said(&app.start(now)[0]), tag(phrases::ENTER_PIN));
    // The PIN accepted: "say your name" and the beep, as one prompt.
    let asked = keys(&mut app, now, "12#");
    let [AppAction::SetSource(Source::Prompt { samples, .. })] = &asked[..] else {
        panic!("{asked:?}");
    };
    assert_eq!(
        &samples[..],
        [
            phrases::CONF_SAY_NAME.len() as i16,
            phrases::BEEP.len() as i16
        ]
    );
    assert!(
        keys(&mut app, now, "0#").is_empty(),
        "no keys before joining"
    );
    // The beep over: the name is recorded, short, to the path given.
    let record = app.on_media_event(now, SessionEvent::PlaybackFinished);
    let [AppAction::Record(request)] = &record[..] else {
        panic!("{record:?}");
    };
    let expected = std::path::PathBuf::from("/data/conferences/n/names/x.wav");
    assert_eq!(request.spec.path, expected);
    assert_eq!(request.spec.max, NAME_MAX);
    assert_eq!(request.spec.silence, Some(NAME_SILENCE));
    assert!(matches!(&request.purpose, RecordingPurpose::Name { path } if *path == expected));
    assert!(app
        .on_media_event(
            now,
            SessionEvent::RecordingEnded(crate::media::RecordingEnd::Silence)
        )
        .is_empty());
    // Reported: into the room.
    assert!(matches!(
        &recorded(&mut app, now, true)[..],
        [AppAction::JoinRoom { room, moderator: false }] if room == "n"
    ));
    assert!(recorded(&mut app, now, true).is_empty(), "joined once");
}

#[test]
fn a_caller_who_says_nothing_joins_all_the_same() {
    let now = Instant::now();
    let mut app = named(None);
    assert_eq!(said(&app.start(now)[0]).map(|_| ()), Some(()));
    app.on_media_event(now, SessionEvent::PlaybackFinished);
    assert!(matches!(
        &recorded(&mut app, now, false)[..],
        [AppAction::JoinRoom { .. }]
    ));
    // Without a name path (announce = "tone" or "none"), no recording.
    assert!(matches!(
        &app_without_names().start(now)[..],
        [AppAction::JoinRoom { .. }]
    ));
}

fn app_without_names() -> ConferenceApp {
    ConferenceApp::with_options("n".into(), tagged(), RoomOptions::default())
}
