//! Room recording end to end over loopback: a `record = true` room leaves
//! a WAV of its mix under `DATA/conferences/ROOM/`, a room without it
//! leaves nothing.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mediaplane::codec::CodecKind;
use mediaplane::config::RoomConfig;
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::{Call, TestUserAgent};
use serde_json::Value;
use tokio::net::UdpSocket;

use common::bridging::all_codecs;
use common::callee::{exchange_tone, tone_purity};
use common::{http_get, TestServer};

const WAIT: Duration = Duration::from_secs(5);
/// Frames each member speaks (2 s).
const FRAMES: u32 = 100;

struct Member {
    codec: CodecKind,
    rtp: UdpSocket,
    call: Call,
    payload_type: u8,
    remote: SocketAddr,
    _ua: TestUserAgent,
}

async fn join(server: &TestServer, room: &str, codec: CodecKind) -> Member {
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(rtp.local_addr().unwrap(), &[codec]);
    let uri = format!("sip:conf-{room}@{}", server.sip_addr());
    let call = ua.invite(&uri, &offer).await.expect("joined");
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    assert_eq!(answer.codec, Some(codec));
    Member {
        codec,
        rtp,
        call,
        payload_type: answer.payload_type,
        remote: answer.rtp_addr(),
        _ua: ua,
    }
}

async fn speak(m: &Member, hz: f64) {
    exchange_tone(&m.rtp, m.codec, m.payload_type, m.remote, hz, FRAMES).await;
}

async fn room_json(server: &TestServer, room: &str) -> Value {
    let (status, body) = http_get(server.http_addr(), &format!("/api/v1/conferences/{room}")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The finished recordings (not `.wav.part`) in `dir`.
fn wavs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect()
}

fn room(name: &str, record: bool) -> RoomConfig {
    RoomConfig {
        name: name.into(),
        record,
        ..RoomConfig::default()
    }
}

#[tokio::test]
async fn a_recorded_room_leaves_its_mix_and_an_unrecorded_one_nothing() {
    let server = TestServer::start(|c| {
        c.media.codecs = all_codecs();
        c.rooms.push(room("rec", true));
        c.rooms.push(room("plain", false));
    })
    .await;
    let conferences = server.data_dir().join("conferences");

    // A room without `record`.
    let mut a = join(&server, "plain", CodecKind::Pcmu).await;
    let mut b = join(&server, "plain", CodecKind::Pcmu).await;
    assert_eq!(room_json(&server, "plain").await["recording"], Value::Null);
    tokio::join!(speak(&a, 400.0), speak(&b, 1000.0));
    a.call.bye(WAIT).await.unwrap();
    b.call.bye(WAIT).await.unwrap();

    // A recorded room: narrowband first, then a wideband member raises the
    // room's rate; the file keeps the first.
    let mut a = join(&server, "rec", CodecKind::Pcmu).await;
    let opened = Instant::now();
    let mut b = join(&server, "rec", CodecKind::G722).await;
    let shown = room_json(&server, "rec").await["recording"]
        .as_str()
        .expect("the API shows the recording")
        .to_string();
    let shown = PathBuf::from(shown);
    assert_eq!(shown.parent(), Some(conferences.join("rec").as_path()));
    let name = shown.file_name().unwrap().to_string_lossy().into_owned();
    // YYYYMMDD-HHMMSS.wav
    assert!(
        name.len() == 19 && name.ends_with(".wav") && name.as_bytes()[8] == b'-',
        "{name}"
    );
    tokio::join!(speak(&a, 400.0), speak(&b, 1000.0));
    let spoken = opened.elapsed();
    a.call.bye(WAIT).await.unwrap();
    b.call.bye(WAIT).await.unwrap();
    let closed = opened.elapsed();

    let room_dir = conferences.join("rec");
    let written = common::wait_for(WAIT, || async { !wavs(&room_dir).is_empty() }).await;
    assert!(written, "the recording is finished when the room closes");
    assert_eq!(wavs(&room_dir), [shown]);
    let mut reader = hound::WavReader::open(&wavs(&room_dir)[0]).unwrap();
    let rate = reader.spec().sample_rate;
    assert_eq!(rate, 8000, "the room's first rate");
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let duration = samples.len() as f64 / f64::from(rate);
    assert!(
        (duration - closed.as_secs_f64()).abs() < 0.5,
        "{duration} s recorded of a {closed:?} room"
    );
    // Both members, in the half second before they stopped speaking.
    let end = ((spoken.as_secs_f64() - 0.25) * f64::from(rate)) as usize;
    let window = &samples[..end.min(samples.len())];
    for hz in [400.0, 1000.0] {
        let share = tone_purity(window, rate, hz, rate as usize / 2);
        assert!(share > 0.3, "{hz} Hz is {share} of the mix");
    }
    assert!(
        !conferences.join("plain").exists(),
        "an unrecorded room leaves nothing"
    );
    assert!(server.ports_released().await);
    server.stop().await;
}
