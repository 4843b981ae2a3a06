//! Conference rooms end to end over loopback: callers with different
//! codecs in one room each hear the others and not themselves.

mod common;

use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::config::RoomConfig;
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use serde_json::Value;

use common::bridging::all_codecs;
use common::callee::tone_purity;
use common::room::{
    dial, first_frame_of, guess_wrong_pins, join, join_with_events, member_ids, send_keys, share,
    speak, Member,
};
use common::{http_get, http_request, metric, TestServer};

const WAIT: Duration = Duration::from_secs(5);

/// Three members send their tones for `frames` 20 ms frames; returns what
/// each heard meanwhile.
async fn talk(members: &[Member; 3], frames: u32) -> [Vec<i16>; 3] {
    let (a, b, c) = tokio::join!(
        speak(&members[0], frames),
        speak(&members[1], frames),
        speak(&members[2], frames)
    );
    [a, b, c]
}

#[tokio::test]
async fn three_callers_with_different_codecs_hear_each_other_and_not_themselves() {
    let server = TestServer::start(|c| c.media.codecs = all_codecs()).await;
    let members = [
        join(&server, "100", CodecKind::Pcmu, 400.0).await,
        join(&server, "100", CodecKind::G722, 700.0).await,
        join(&server, "100", CodecKind::Opus, 1100.0).await,
    ];
    let heard = talk(&members, 100).await;
    for (member, heard) in members.iter().zip(&heard) {
        let rate = member.codec.audio_rate();
        // The last second, past the joins and the queues filling.
        let window = rate as usize;
        assert!(
            heard.len() > window,
            "{:?} heard {} samples",
            member.codec,
            heard.len()
        );
        let own = tone_purity(heard, rate, member.tone_hz, window);
        let shares: Vec<String> = members
            .iter()
            .map(|o| {
                format!(
                    "{} Hz {:.3}",
                    o.tone_hz,
                    tone_purity(heard, rate, o.tone_hz, window)
                )
            })
            .collect();
        eprintln!("{:?} hears {}", member.codec, shares.join(", "));
        assert!(own < 0.01, "{:?} hears itself: {own:.4}", member.codec);
        for other in members.iter().filter(|o| o.tone_hz != member.tone_hz) {
            let share = tone_purity(heard, rate, other.tone_hz, window);
            assert!(
                share > 0.25,
                "{:?} hears {:?} at {:.3} of its audio",
                member.codec,
                other.codec,
                share
            );
        }
    }
    for mut member in members {
        member.call.bye(WAIT).await.unwrap();
    }
    let released = server.ports_released().await;
    assert!(released, "ports returned after the members left");
    server.stop().await;
}

#[tokio::test]
async fn the_api_lists_mutes_unmutes_and_kicks_members() {
    let server = TestServer::start(|c| c.media.codecs = all_codecs()).await;
    let mut members = [
        join(&server, "api", CodecKind::Pcmu, 400.0).await,
        join(&server, "api", CodecKind::Pcma, 700.0).await,
        join(&server, "api", CodecKind::G722, 1100.0).await,
    ];
    let ids = member_ids(&server, "api").await;
    assert_eq!(ids.len(), 3);
    let (_, list) = http_get(server.http_addr(), "/api/v1/conferences").await;
    let rooms: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(rooms[0]["room"], "api");
    assert_eq!(rooms[0]["members"][0]["codec"], "PCMU");

    // Muting the PCMU member (the first to join) silences it for the others.
    let path = format!("/api/v1/conferences/api/participants/{}/mute", ids[0]);
    assert_eq!(http_request(server.http_addr(), "POST", &path).await.0, 204);
    let heard = talk(&members, 60).await;
    assert!(share(&heard[1], CodecKind::Pcma, 400.0) < 0.01, "muted");
    assert!(
        share(&heard[1], CodecKind::Pcma, 1100.0) > 0.9,
        "the rest still heard"
    );
    assert!(
        share(&heard[0], CodecKind::Pcmu, 700.0) > 0.25,
        "the muted member still hears"
    );
    let path = format!("/api/v1/conferences/api/participants/{}/unmute", ids[0]);
    assert_eq!(http_request(server.http_addr(), "POST", &path).await.0, 204);
    let heard = talk(&members, 60).await;
    assert!(share(&heard[1], CodecKind::Pcma, 400.0) > 0.25, "unmuted");

    // Unknown members and actions are 404.
    let path = "/api/v1/conferences/api/participants/999/mute";
    assert_eq!(http_request(server.http_addr(), "POST", path).await.0, 404);
    let path = format!("/api/v1/conferences/other/participants/{}/mute", ids[0]);
    assert_eq!(http_request(server.http_addr(), "POST", &path).await.0, 404);

    // A kick ends that member's call; the others stay.
    let path = format!("/api/v1/conferences/api/participants/{}", ids[2]);
    assert_eq!(
        http_request(server.http_addr(), "DELETE", &path).await.0,
        204
    );
    members[2]
        .call
        .wait_bye(WAIT)
        .await
        .expect("the kicked member gets BYE");
    assert_eq!(member_ids(&server, "api").await, ids[..2]);
    let metrics = server.metrics_text().await;
    assert_eq!(metric(&metrics, "mediaplane_conference_joins_total"), 3.0);
    assert_eq!(metric(&metrics, "mediaplane_conference_leaves_total"), 1.0);
    for member in members.iter_mut().take(2) {
        member.call.bye(WAIT).await.unwrap();
    }
    server.stop().await;
}

#[tokio::test]
async fn key_0_mutes_and_unmutes_a_member_for_the_others() {
    let server = TestServer::start(|c| c.media.codecs = all_codecs()).await;
    let mut members = [
        join_with_events(&server, "keys", 400.0).await,
        join(&server, "keys", CodecKind::Pcmu, 700.0).await,
        join(&server, "keys", CodecKind::Pcmu, 1100.0).await,
    ];
    send_keys(&members[0], "0").await;
    let heard = talk(&members, 60).await;
    assert!(
        share(&heard[1], CodecKind::Pcmu, 400.0) < 0.01,
        "muted by key 0"
    );
    assert!(
        share(&heard[2], CodecKind::Pcmu, 400.0) < 0.01,
        "muted by key 0"
    );
    send_keys(&members[0], "0").await;
    let heard = talk(&members, 60).await;
    assert!(
        share(&heard[1], CodecKind::Pcmu, 400.0) > 0.25,
        "unmuted by key 0"
    );
    for member in members.iter_mut() {
        member.call.bye(WAIT).await.unwrap();
    }
    server.stop().await;
}

#[tokio::test]
async fn members_hear_a_rising_tone_when_someone_joins_and_a_falling_one_when_they_leave() {
    let server = TestServer::start(|_| {}).await;
    let first = join(&server, "tones", CodecKind::Pcmu, 0.0).await;
    let (heard_join, mut second) = tokio::join!(speak(&first, 40), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        join(&server, "tones", CodecKind::Pcmu, 0.0).await
    });
    let (heard_leave, _) = tokio::join!(speak(&first, 40), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        second.call.bye(WAIT).await.unwrap();
    });
    let order = |heard: &[i16]| {
        let at =
            |hz: f64| first_frame_of(heard, hz).unwrap_or_else(|| panic!("{hz} Hz never heard"));
        (at(600.0), at(900.0))
    };
    let (low, high) = order(&heard_join);
    assert!(
        low < high,
        "rising on join: 600 Hz at frame {low}, 900 Hz at {high}"
    );
    let (low, high) = order(&heard_leave);
    assert!(
        high < low,
        "falling on leave: 900 Hz at frame {high}, 600 Hz at {low}"
    );
    let mut first = first;
    first.call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn callers_sent_by_an_ivr_join_a_room_mixed_on_another_worker() {
    // Four media workers. The room is mixed on its first member's worker;
    // an IVR caller's media was made before the room was chosen, on the
    // worker its call hashed to, and moves to the room's worker to join.
    let prompts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let menus = common::with_menus(
        &prompts,
        "[[menus]]\nname = \"lobby\"\nprompts = [\"welcome\"]\n[menus.keys]\n\"1\" = \"conference 200\"\n",
    );
    let server = TestServer::start(|c| {
        menus(c);
        c.media.workers = 4;
    })
    .await;
    let mut direct = join(&server, "200", CodecKind::Pcmu, 700.0).await;
    let moved = || async {
        let metrics = server.metrics_text().await;
        metric(&metrics, "mediaplane_media_sessions_moved_total")
    };
    // Callers through the IVR until one lands on another worker than the
    // room's (each does with odds of 3 in 4); those before it stay in the
    // room, silent.
    let mut via_ivr = Vec::new();
    for n in 1..=8 {
        let caller = dial(
            &server,
            "ivr-lobby",
            &[CodecKind::Pcmu, CodecKind::TelephoneEvent],
            400.0,
        )
        .await;
        send_keys(&caller, "1").await;
        let joined = common::wait_for(WAIT, || async {
            member_ids(&server, "200").await.len() == n + 1
        })
        .await;
        assert!(joined, "IVR caller {n} joined room 200");
        via_ivr.push(caller);
        if moved().await > 0.0 {
            break;
        }
    }
    assert_eq!(moved().await, 1.0, "one caller's media moved workers");
    let mover = via_ivr.last().unwrap();
    let (a, b) = tokio::join!(speak(mover, 60), speak(&direct, 60));
    assert!(
        share(&a, CodecKind::Pcmu, 700.0) > 0.9,
        "the moved caller hears the other"
    );
    assert!(
        share(&b, CodecKind::Pcmu, 400.0) > 0.9,
        "the direct caller hears the moved one"
    );
    // Its later commands reach it where it went: a mute by the API.
    let ids = member_ids(&server, "200").await;
    let mover_id = *ids.iter().max().unwrap();
    let (status, _) = http_request(
        server.http_addr(),
        "POST",
        &format!("/api/v1/conferences/200/participants/{mover_id}/mute"),
    )
    .await;
    assert_eq!(status, 204);
    let heard = speak(&direct, 50).await;
    assert!(
        share(&heard, CodecKind::Pcmu, 400.0) < 0.05,
        "the moved caller is muted"
    );
    // Hang-ups end the moved session on its new worker: every port back.
    for mut caller in via_ivr {
        caller.call.bye(WAIT).await.unwrap();
    }
    direct.call.bye(WAIT).await.unwrap();
    assert!(server.ports_released().await, "ports returned");
    server.stop().await;
}

#[tokio::test]
async fn garbage_silence_and_a_codec_change_do_not_disturb_the_room() {
    let server = TestServer::start(|c| c.media.codecs = all_codecs()).await;
    let mut members = [
        join(&server, "rough", CodecKind::Pcmu, 400.0).await,
        join(&server, "rough", CodecKind::Pcmu, 700.0).await,
        join(&server, "rough", CodecKind::Pcmu, 1100.0).await,
    ];
    // Member 2 sends garbage and then nothing at all; 0 and 1 talk on.
    for n in 0..50u8 {
        let junk = [n, 0xff, n.wrapping_mul(7), 3, 1, 2];
        members[2]
            .rtp
            .send_to(&junk, members[2].remote)
            .await
            .unwrap();
    }
    let (a, b) = tokio::join!(speak(&members[0], 60), speak(&members[1], 60));
    assert!(share(&a, CodecKind::Pcmu, 700.0) > 0.9, "0 hears 1");
    assert!(share(&b, CodecKind::Pcmu, 400.0) > 0.9, "1 hears 0");
    let ids = member_ids(&server, "rough").await;
    let (_, calls) = http_get(server.http_addr(), "/api/v1/calls").await;
    let calls: Value = serde_json::from_str(&calls).unwrap();
    let garbage = calls
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_u64() == Some(ids[2]))
        .map(|c| c["stats"]["rx_garbage"].as_u64().unwrap())
        .unwrap();
    assert_eq!(garbage, 50, "garbage counted on its leg");

    // Member 1 moves to PCMA mid-call (a re-INVITE); the room follows.
    let offer = sdp_offer(members[1].rtp.local_addr().unwrap(), &[CodecKind::Pcma]);
    let response = members[1]
        .call
        .request("INVITE", &[], Some(("application/sdp", &offer)), WAIT)
        .await
        .unwrap();
    assert_eq!(response.status_code(), Some(200));
    let answer = SdpAnswer::parse(&response.body_text()).unwrap();
    assert_eq!(answer.codec, Some(CodecKind::Pcma));
    members[1].codec = CodecKind::Pcma;
    members[1].payload_type = answer.payload_type;
    let (a, b) = tokio::join!(speak(&members[0], 60), speak(&members[1], 60));
    assert!(share(&a, CodecKind::Pcmu, 700.0) > 0.9, "0 hears 1 in PCMA");
    assert!(
        share(&b, CodecKind::Pcma, 400.0) > 0.9,
        "1 hears 0 after the change"
    );
    for member in members.iter_mut() {
        member.call.bye(WAIT).await.unwrap();
    }
    server.stop().await;
}

#[tokio::test]
async fn a_pin_room_admits_the_right_pin_and_ends_a_guesser_after_three_tries() {
    let server = TestServer::start(|c| {
        c.rooms.push(RoomConfig {
            name: "board".into(),
            pin: Some("1234".into()),
            max_members: None,
            ..RoomConfig::default()
        })
    })
    .await;
    let mut guesser = join_with_events(&server, "board", 400.0).await;
    guess_wrong_pins(&mut guesser, &["1111#", "4321#", "9#"], WAIT).await;
    assert!(
        member_ids(&server, "board").await.is_empty(),
        "never joined"
    );
    let mut member = join_with_events(&server, "board", 700.0).await;
    send_keys(&member, "1234#").await;
    let joined = common::wait_for(WAIT, || async {
        member_ids(&server, "board").await.len() == 1
    })
    .await;
    assert!(joined, "the right PIN joins");
    member.call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_full_or_locked_room_turns_callers_away() {
    let server = TestServer::start(|c| {
        c.rooms.push(RoomConfig {
            name: "small".into(),
            pin: None,
            max_members: Some(2),
            ..RoomConfig::default()
        })
    })
    .await;
    let mut first = join(&server, "small", CodecKind::Pcmu, 400.0).await;
    let mut second = join(&server, "small", CodecKind::Pcmu, 700.0).await;
    let mut third = join(&server, "small", CodecKind::Pcmu, 1100.0).await;
    third.call.wait_bye(WAIT).await.expect("the room is full");
    assert_eq!(member_ids(&server, "small").await.len(), 2);
    second.call.bye(WAIT).await.unwrap();

    // Locked by the API: a caller is turned away until it is unlocked.
    let addr = server.http_addr();
    assert_eq!(
        http_request(addr, "POST", "/api/v1/conferences/small/lock")
            .await
            .0,
        204
    );
    let (_, room) = http_get(addr, "/api/v1/conferences/small").await;
    assert!(room.contains("\"locked\":true"), "{room}");
    let mut turned_away = join(&server, "small", CodecKind::Pcmu, 700.0).await;
    turned_away
        .call
        .wait_bye(WAIT)
        .await
        .expect("the room is locked");
    assert_eq!(
        http_request(addr, "POST", "/api/v1/conferences/small/unlock")
            .await
            .0,
        204
    );
    let mut welcome = join(&server, "small", CodecKind::Pcmu, 700.0).await;
    let joined = common::wait_for(WAIT, || async {
        member_ids(&server, "small").await.len() == 2
    })
    .await;
    assert!(joined, "unlocked, the caller joins");
    assert_eq!(
        http_request(addr, "POST", "/api/v1/conferences/none/lock")
            .await
            .0,
        404
    );
    first.call.bye(WAIT).await.unwrap();
    welcome.call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn key_hash_tells_a_member_how_many_are_in_the_room() {
    let server = TestServer::start(|_| {}).await;
    let mut members = [
        join_with_events(&server, "count", 400.0).await,
        join(&server, "count", CodecKind::Pcmu, 700.0).await,
        join(&server, "count", CodecKind::Pcmu, 1100.0).await,
    ];
    let before = talk(&members, 40).await;
    assert!(
        share(&before[0], CodecKind::Pcmu, 700.0) > 0.25,
        "the room first"
    );
    send_keys(&members[0], "#").await;
    // "Three participants in this conference": speech, not the room.
    let during = talk(&members, 40).await;
    let room =
        share(&during[0], CodecKind::Pcmu, 700.0) + share(&during[0], CodecKind::Pcmu, 1100.0);
    let energy: f64 =
        during[0].iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / during[0].len() as f64;
    assert!(room < 0.2, "the prompt replaces the room: {room:.3}");
    assert!(energy > 1e5, "the prompt is heard: mean energy {energy:.0}");
    // The others heard the room as before.
    assert!(share(&during[1], CodecKind::Pcmu, 1100.0) > 0.25);
    for member in members.iter_mut() {
        member.call.bye(WAIT).await.unwrap();
    }
    server.stop().await;
}
