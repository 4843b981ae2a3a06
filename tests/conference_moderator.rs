//! Moderated conference rooms over loopback: in a `wait_for_moderator`
//! room, members who come first hear the wait prompt and music on hold,
//! not each other, until a moderator joins with the moderator PIN (keys as
//! RFC 4733 events); then everyone hears everyone. The API shows who is a
//! moderator and who waits.

mod common;

use std::path::Path;
use std::time::Duration;

use mediaplane::codec::{new_decoder, CodecKind};
use mediaplane::config::RoomConfig;

use common::callee::tone_purity;
use common::room::{
    self, first_frame_of, guess_wrong_pins, join_with_events, members_json, send_keys, speak,
    Member,
};
use common::{wait_for, write_tone, TestServer};

const WAIT: Duration = Duration::from_secs(5);
const RATE: u32 = 8000;
/// The test's music on hold and prompts: tones, to be told apart.
const MUSIC_HZ: f64 = 440.0;
const WAIT_PROMPT_HZ: f64 = 300.0;
const PIN_PROMPT_HZ: f64 = 2000.0;

/// A caller, answered, once it hears the PIN prompt: from then on the
/// server listens for its keys (the prompt is started after that).
async fn dial(server: &TestServer, room: &str, tone_hz: f64) -> Member {
    let member = join_with_events(server, room, tone_hz).await;
    let mut decoder = new_decoder(CodecKind::Pcmu).unwrap();
    let (mut buf, mut pcm) = ([0u8; 1500], [0i16; 1000]);
    let prompt = tokio::time::timeout(WAIT, async {
        loop {
            let (len, _) = member.rtp.recv_from(&mut buf).await.unwrap();
            if len <= 12 || buf[1] & 0x7f != member.payload_type {
                continue;
            }
            let n = decoder.decode(&buf[12..len], &mut pcm).unwrap();
            if tone_purity(&pcm[..n], RATE, PIN_PROMPT_HZ, n) > 0.5 {
                return;
            }
        }
    })
    .await;
    assert!(prompt.is_ok(), "the PIN prompt is heard");
    member
}

/// The room's members from the API: (id, moderator, waiting).
async fn members(server: &TestServer, room: &str) -> Vec<(u64, bool, bool)> {
    let members = members_json(server, room).await;
    members
        .iter()
        .map(|m| {
            (
                m["id"].as_u64().unwrap(),
                m["moderator"].as_bool().unwrap(),
                m["waiting"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The room's members' `muted` flags, from the API.
async fn muted(server: &TestServer, room: &str) -> Vec<bool> {
    let members = members_json(server, room).await;
    members.iter().map(|m| m["muted"] == true).collect()
}

/// Waits until the API lists `expected` (moderator, waiting) flags, in
/// the order the members joined.
async fn flags_become(server: &TestServer, room: &str, expected: &[(bool, bool)]) -> bool {
    wait_for(WAIT, || async {
        let flags: Vec<(bool, bool)> = members(server, room)
            .await
            .into_iter()
            .map(|(_, moderator, waiting)| (moderator, waiting))
            .collect();
        flags == expected
    })
    .await
}

/// The share of `hz` in the last half second a (PCMU) member heard.
fn share(heard: &[i16], hz: f64) -> f64 {
    room::share(heard, CodecKind::Pcmu, hz)
}

/// A prompts folder with a tone for music on hold and another for the
/// wait prompt, so that what a member hears can be told apart.
fn tone_prompts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en");
    std::fs::create_dir(&en).unwrap();
    // Whole cycles, so the music loops without a click.
    write_tone(&en.join("moh.wav"), MUSIC_HZ, Duration::from_secs(1), RATE);
    write_tone(
        &en.join("conf-wait-moderator.wav"),
        WAIT_PROMPT_HZ,
        Duration::from_millis(400),
        RATE,
    );
    write_tone(
        &en.join("conf-enter-pin-or-join.wav"),
        PIN_PROMPT_HZ,
        Duration::from_millis(200),
        RATE,
    );
    dir
}

async fn moderated_server(prompts: &Path) -> TestServer {
    let dir = prompts.to_path_buf();
    TestServer::start(move |c| {
        c.prompts.dir = dir;
        c.media.moh_prompt = "moh".into();
        c.rooms.push(RoomConfig {
            name: "mod".into(),
            moderator_pin: Some("99".into()),
            wait_for_moderator: true,
            ..RoomConfig::default()
        });
    })
    .await
}

#[tokio::test]
async fn members_hear_music_until_the_moderator_joins_then_each_other() {
    let prompts = tone_prompts();
    let server = moderated_server(prompts.path()).await;

    // Two members: `#` alone joins a room that has only a moderator PIN.
    let mut a = dial(&server, "mod", 700.0).await;
    send_keys(&a, "#").await;
    let mut b = dial(&server, "mod", 1100.0).await;
    send_keys(&b, "#").await;
    let waiting = [(false, true), (false, true)];
    assert!(
        flags_become(&server, "mod", &waiting).await,
        "both wait: {:?}",
        members(&server, "mod").await
    );

    // Waiting, each hears the wait prompt, then the music; not the other.
    let (heard_a, heard_b) = tokio::join!(speak(&a, 50), speak(&b, 50));
    for (heard, other) in [(&heard_a, 1100.0), (&heard_b, 700.0)] {
        let prompt = first_frame_of(heard, WAIT_PROMPT_HZ).expect("the wait prompt is heard");
        let music = first_frame_of(heard, MUSIC_HZ).expect("the music is heard");
        assert!(prompt < music, "prompt at frame {prompt}, music at {music}");
        assert!(share(heard, MUSIC_HZ) > 0.9, "music at the end");
        assert!(share(heard, other) < 0.01, "the other member is not heard");
    }

    // A third one waits and hangs up: it is listed no more.
    let mut quitter = dial(&server, "mod", 1500.0).await;
    send_keys(&quitter, "#").await;
    assert!(flags_become(&server, "mod", &[(false, true); 3]).await);
    quitter.call.bye(WAIT).await.unwrap();
    assert!(flags_become(&server, "mod", &waiting).await);

    // b mutes itself while waiting (key 0); the mute holds in the room.
    send_keys(&b, "0").await;
    let b_muted = wait_for(WAIT, || async {
        muted(&server, "mod").await == [false, true]
    })
    .await;
    assert!(b_muted, "b is muted");

    // The moderator comes with its PIN: the members are put in the room.
    let mut moderator = dial(&server, "mod", 400.0).await;
    send_keys(&moderator, "99#").await;
    let admitted = [(false, false), (false, false), (true, false)];
    assert!(
        flags_become(&server, "mod", &admitted).await,
        "admitted: {:?}",
        members(&server, "mod").await
    );
    let (heard_a, heard_b, heard_m) =
        tokio::join!(speak(&a, 60), speak(&b, 60), speak(&moderator, 60));
    assert!(share(&heard_a, MUSIC_HZ) < 0.01, "the music stops");
    assert!(share(&heard_a, 400.0) > 0.25, "a hears the moderator");
    assert!(share(&heard_a, 1100.0) < 0.01, "b is still muted");
    assert!(share(&heard_b, 700.0) > 0.25, "b hears a");
    assert!(share(&heard_m, 700.0) > 0.25, "the moderator hears a");
    assert!(share(&heard_m, 1100.0) < 0.01, "b is still muted");
    send_keys(&b, "0").await;
    let b_unmuted = wait_for(WAIT, || async { muted(&server, "mod").await == [false; 3] }).await;
    assert!(b_unmuted, "b unmuted");
    let (heard_a, _, _) = tokio::join!(speak(&a, 50), speak(&b, 50), speak(&moderator, 50));
    assert!(share(&heard_a, 1100.0) > 0.25, "a hears b");

    // The moderator leaves: the members stay together, and a newcomer joins
    // them at once.
    moderator.call.bye(WAIT).await.unwrap();
    let mut c = dial(&server, "mod", 1500.0).await;
    send_keys(&c, "#").await;
    let open = [(false, false), (false, false), (false, false)];
    assert!(
        flags_become(&server, "mod", &open).await,
        "open after the moderator: {:?}",
        members(&server, "mod").await
    );
    let (heard_a, _, _) = tokio::join!(speak(&a, 50), speak(&b, 50), speak(&c, 50));
    assert!(share(&heard_a, 1100.0) > 0.25, "a still hears b");
    assert!(share(&heard_a, 1500.0) > 0.25, "a hears the newcomer");
    for member in [&mut a, &mut b, &mut c] {
        member.call.bye(WAIT).await.unwrap();
    }
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_pin_is_refused_and_a_moderator_first_opens_the_room() {
    let prompts = tone_prompts();
    let server = moderated_server(prompts.path()).await;

    // Three wrong entries: goodbye, never listed.
    let mut guesser = dial(&server, "mod", 700.0).await;
    guess_wrong_pins(&mut guesser, &["1#", "98#", "999#"], WAIT).await;
    assert!(members(&server, "mod").await.is_empty(), "never joined");

    // A moderator first: the member after it does not wait.
    let mut moderator = dial(&server, "mod", 400.0).await;
    send_keys(&moderator, "99#").await;
    assert!(flags_become(&server, "mod", &[(true, false)]).await);
    let mut member = dial(&server, "mod", 700.0).await;
    send_keys(&member, "#").await;
    assert!(flags_become(&server, "mod", &[(true, false), (false, false)]).await);
    let (heard_m, heard_member) = tokio::join!(speak(&moderator, 50), speak(&member, 50));
    assert!(
        share(&heard_member, 400.0) > 0.25,
        "the member hears the moderator"
    );
    assert!(
        share(&heard_m, 700.0) > 0.25,
        "the moderator hears the member"
    );
    moderator.call.bye(WAIT).await.unwrap();
    member.call.bye(WAIT).await.unwrap();
    server.stop().await;
}
