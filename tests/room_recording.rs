//! Room recording end to end over loopback: a `record = true` room leaves
//! a WAV of its mix under `DATA/conferences/ROOM/`, a room without it
//! leaves nothing.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mediaplane::codec::CodecKind;
use mediaplane::config::RoomConfig;
use serde_json::Value;

use common::bridging::all_codecs;
use common::callee::tone_purity;
use common::room::{self, join, Member};
use common::TestServer;

const WAIT: Duration = Duration::from_secs(5);
/// Frames each member speaks (2 s).
const FRAMES: u32 = 100;

/// The member's tone for [`FRAMES`] frames.
async fn speak(m: &Member) {
    room::speak(m, FRAMES).await;
}

async fn room_json(server: &TestServer, name: &str) -> Value {
    room::room_json(server, name)
        .await
        .expect("the room is listed")
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
    let mut a = join(&server, "plain", CodecKind::Pcmu, 400.0).await;
    let mut b = join(&server, "plain", CodecKind::Pcmu, 1000.0).await;
    assert_eq!(room_json(&server, "plain").await["recording"], Value::Null);
    tokio::join!(speak(&a), speak(&b));
    a.call.bye(WAIT).await.unwrap();
    b.call.bye(WAIT).await.unwrap();

    // A recorded room: narrowband first, then a wideband member raises the
    // room's rate; the file keeps the first.
    let mut a = join(&server, "rec", CodecKind::Pcmu, 400.0).await;
    let opened = Instant::now();
    let mut b = join(&server, "rec", CodecKind::G722, 1000.0).await;
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
    tokio::join!(speak(&a), speak(&b));
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
