//! How rooms announce joins and leaves (`[[rooms]] announce`), end to end
//! over loopback: by recorded name, or not at all.

mod common;

use std::path::Path;
use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::config::{RoomAnnounce, RoomConfig};

use common::callee::tone_purity;
use common::room::{first_frame_of, join, member_ids, speak, Member};
use common::voice::{prompt_heard, share_found};
use common::TestServer;

const WAIT: Duration = Duration::from_secs(5);
/// The beep after "please say your name".
const BEEP_HZ: f64 = 1000.0;
/// What the second caller "says" as its name: a tone burst, easy to find.
const NAME_HZ: f64 = 1300.0;
/// Frames (20 ms) of that burst.
const NAME_FRAMES: u32 = 40;

async fn server_with(room: &str, announce: RoomAnnounce) -> TestServer {
    let room = room.to_string();
    TestServer::start(move |c| {
        c.rooms.push(RoomConfig {
            name: room,
            announce,
            ..RoomConfig::default()
        })
    })
    .await
}

/// The 20 ms frames (8 kHz) of `heard` that are mostly `hz`.
fn frames_of(heard: &[i16], hz: f64) -> Vec<usize> {
    heard
        .chunks(160)
        .enumerate()
        .filter(|(_, frame)| tone_purity(frame, 8000, hz, 160) > 0.5)
        .map(|(i, _)| i)
        .collect()
}

/// The recorded names of room `room` on disk.
fn names_on_disk(data: &Path, room: &str) -> usize {
    let dir = data.join("conferences").join(room).join("names");
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "wav"))
            .count()
    })
}

/// Member `m` listens (sending silence) for the beep, says its "name" (a
/// burst of [`NAME_HZ`]) and goes quiet; returns what it heard after.
async fn say_name(m: &mut Member) -> Vec<i16> {
    let mut heard = Vec::new();
    loop {
        heard.extend(speak(m, 5).await);
        let beep_over = first_frame_of(&heard, BEEP_HZ).is_some_and(|beep| {
            heard
                .chunks(160)
                .skip(beep)
                .any(|frame| tone_purity(frame, 8000, BEEP_HZ, 160) < 0.5)
        });
        if beep_over {
            break;
        }
        assert!(heard.len() < 8000 * 10, "no beep after the name prompt");
    }
    m.tone_hz = NAME_HZ;
    speak(m, NAME_FRAMES).await;
    m.tone_hz = 0.0;
    speak(m, 250).await
}

/// `heard` holds the name burst, then (after it) prompt `said`.
fn assert_name_then(heard: &[i16], said: &str) {
    let name = frames_of(heard, NAME_HZ);
    assert!(
        name.len() >= NAME_FRAMES as usize * 3 / 4,
        "the name is heard: {} frames of {NAME_HZ} Hz",
        name.len()
    );
    let (first, last) = (name[0], name[name.len() - 1]);
    assert!(last - first < NAME_FRAMES as usize + 10, "in one piece");
    let prompt = prompt_heard(said);
    let after = share_found(&heard[(last + 1) * 160..], &prompt, 0.9);
    assert!(after >= 0.7, "{said} after the name: {after:.2}");
    let before = share_found(&heard[..first * 160], &prompt, 0.9);
    assert!(before < 0.3, "{said} not before the name: {before:.2}");
}

#[tokio::test]
async fn a_named_room_plays_the_recorded_name_then_has_joined_and_has_left() {
    let server = server_with("named", RoomAnnounce::Name).await;
    // The first caller says nothing: it joins all the same, its name not
    // kept.
    let mut first = join(&server, "named", CodecKind::Pcmu, 0.0).await;
    let joined = common::wait_for(Duration::from_secs(10), || async {
        member_ids(&server, "named").await.len() == 1
    })
    .await;
    assert!(joined, "a caller who says nothing joins");
    assert_eq!(names_on_disk(server.data_dir(), "named"), 0);

    let mut second = join(&server, "named", CodecKind::Pcmu, 0.0).await;
    let (heard, heard_by_second) = tokio::join!(speak(&first, 450), say_name(&mut second));
    assert_eq!(member_ids(&server, "named").await.len(), 2);
    assert_name_then(&heard, "conf-has-joined");
    for hz in [600.0, 900.0] {
        assert!(frames_of(&heard, hz).is_empty(), "no join tone ({hz} Hz)");
    }
    assert!(
        frames_of(&heard_by_second, NAME_HZ).is_empty(),
        "the member does not hear its own name"
    );
    assert_eq!(names_on_disk(server.data_dir(), "named"), 1, "kept");

    let (heard, _) = tokio::join!(speak(&first, 200), second.call.bye(WAIT));
    assert_name_then(&heard, "conf-has-left");
    assert_eq!(
        names_on_disk(server.data_dir(), "named"),
        0,
        "deleted when the member left"
    );

    // A caller who says nothing is announced by the rising tone.
    let (heard, mut third) = tokio::join!(speak(&first, 300), async {
        let third = join(&server, "named", CodecKind::Pcmu, 0.0).await;
        let joined = common::wait_for(Duration::from_secs(10), || async {
            member_ids(&server, "named").await.len() == 2
        })
        .await;
        assert!(joined, "the silent caller joins");
        third
    });
    let low = first_frame_of(&heard, 600.0).expect("the join tone's low note");
    let high = first_frame_of(&heard, 900.0).expect("the join tone's high note");
    assert!(low < high, "rising: {low} then {high}");
    third.call.bye(WAIT).await.unwrap();
    first.call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_room_announcing_nothing_plays_no_join_or_leave_tone() {
    let server = server_with("quiet", RoomAnnounce::None).await;
    let mut first = join(&server, "quiet", CodecKind::Pcmu, 0.0).await;
    let (heard_join, mut second) = tokio::join!(
        speak(&first, 40),
        join(&server, "quiet", CodecKind::Pcmu, 0.0)
    );
    let joined = common::wait_for(WAIT, || async {
        member_ids(&server, "quiet").await.len() == 2
    })
    .await;
    assert!(joined);
    let (heard_leave, _) = tokio::join!(speak(&first, 40), second.call.bye(WAIT));
    for heard in [&heard_join, &heard_leave] {
        assert!(heard.len() >= 30 * 160, "listened: {}", heard.len());
        for hz in [600.0, 900.0] {
            assert!(frames_of(heard, hz).is_empty(), "no tone ({hz} Hz)");
        }
    }
    first.call.bye(WAIT).await.unwrap();
    server.stop().await;
}
