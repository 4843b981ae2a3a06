//! A room's listeners are sent one shared encode of the mix per codec:
//! what they hear is still everyone speaking, and the counts in /metrics
//! show the encodes were shared rather than made per member.

mod common;

use std::time::Duration;

use mediaplane::codec::CodecKind;

use common::bridging::all_codecs;
use common::callee::tone_purity;
use common::room::{join, speak};
use common::{metric, TestServer};

const WAIT: Duration = Duration::from_secs(5);

/// The share of `hz` in the last second of what a member in `codec` heard.
fn last_second(heard: &[i16], codec: CodecKind) -> impl Fn(f64) -> f64 + '_ {
    let window = codec.audio_rate() as usize;
    assert!(
        heard.len() > window,
        "{codec:?} heard {} samples",
        heard.len()
    );
    move |hz| tone_purity(heard, codec.audio_rate(), hz, window)
}

#[tokio::test]
async fn listeners_with_one_codec_share_one_encode_and_hear_every_speaker() {
    let server = TestServer::start(|c| c.media.codecs = all_codecs()).await;
    let speakers = [
        join(&server, "shared", CodecKind::Pcmu, 400.0).await,
        join(&server, "shared", CodecKind::G722, 1100.0).await,
    ];
    // Silent members: a tone of 0 Hz is silence.
    let listener_codecs = [
        CodecKind::Pcmu,
        CodecKind::Pcmu,
        CodecKind::Pcmu,
        CodecKind::Pcmu,
        CodecKind::G722,
        CodecKind::G722,
        CodecKind::Opus,
    ];
    let mut listeners = Vec::new();
    for codec in listener_codecs {
        listeners.push(join(&server, "shared", codec, 0.0).await);
    }
    let frames = 100;
    let l = &listeners;
    let (a, b, l0, l1, l2, l3, l4, l5, l6) = tokio::join!(
        speak(&speakers[0], frames),
        speak(&speakers[1], frames),
        speak(&l[0], frames),
        speak(&l[1], frames),
        speak(&l[2], frames),
        speak(&l[3], frames),
        speak(&l[4], frames),
        speak(&l[5], frames),
        speak(&l[6], frames),
    );
    // Each speaker hears the other, not itself.
    let hears = last_second(&a, CodecKind::Pcmu);
    assert!(hears(400.0) < 0.01, "the PCMU speaker hears itself");
    assert!(hears(1100.0) > 0.5, "the PCMU speaker hears the other");
    let hears = last_second(&b, CodecKind::G722);
    assert!(hears(1100.0) < 0.01, "the G.722 speaker hears itself");
    assert!(hears(400.0) > 0.5, "the G.722 speaker hears the other");
    // Every listener hears both speakers.
    for (heard, codec) in [l0, l1, l2, l3, l4, l5, l6].iter().zip(listener_codecs) {
        let hears = last_second(heard, codec);
        let (low, high) = (hears(400.0), hears(1100.0));
        eprintln!("{codec:?} listener hears 400 Hz {low:.3}, 1100 Hz {high:.3}");
        assert!(
            low > 0.2 && high > 0.2,
            "{codec:?} listener: {low:.3} and {high:.3}"
        );
    }
    // Seven listeners over three codecs: every shared encode went to two
    // or more of them; only the two speakers encoded their own.
    let metrics = server.metrics_text().await;
    let encodes = metric(&metrics, "mediaplane_conference_shared_encodes_total");
    let shared = metric(&metrics, "mediaplane_conference_shared_frames_total");
    let personal = metric(&metrics, "mediaplane_conference_personal_frames_total");
    eprintln!("{encodes} shared encodes, {shared} shared frames, {personal} personal frames");
    assert!(encodes >= 3.0 * 40.0, "the three codecs encoded each tick");
    assert!(
        shared >= 2.0 * encodes,
        "each encode went to several listeners"
    );
    assert!(
        personal < shared / 2.0,
        "only speakers encode for themselves"
    );
    for mut member in speakers.into_iter().chain(listeners) {
        member.call.bye(WAIT).await.unwrap();
    }
    assert!(server.ports_released().await, "ports returned");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_of_opus_and_g722_load_members_runs_without_loss() {
    use mediaplane::loadgen::{run, LoadCodec, LoadgenArgs};
    let server = TestServer::start(|c| c.media.codecs = all_codecs()).await;
    let args = LoadgenArgs {
        calls: 8,
        rate: 50.0,
        duration_s: 2.0,
        codec: vec![LoadCodec::Opus, LoadCodec::G722],
        ..LoadgenArgs::new(format!("sip:conf-load@{}", server.sip_addr()))
    };
    let report = run(&args).await.unwrap();
    assert_eq!(report.calls_set_up, 8, "{report}");
    assert_eq!(report.codec, "opus,G722");
    // Every member received the room's stream (its mix) without a gap.
    assert!(report.packets_received > 8 * 60, "{report}");
    assert_eq!(report.packets_lost, 0, "{report}");
    // Eight talkers: three are mixed, the five others listen and share
    // the two codecs' encodes.
    let metrics = server.metrics_text().await;
    let encodes = metric(&metrics, "mediaplane_conference_shared_encodes_total");
    let shared = metric(&metrics, "mediaplane_conference_shared_frames_total");
    assert!(
        shared > 1.5 * encodes && encodes > 0.0,
        "{encodes} encodes, {shared} frames"
    );
    assert!(server.ports_released().await, "ports returned");
    server.stop().await;
}
