//! Conference churn over real loopback sockets: 50 callers join and leave
//! one room at random, each sending a tone of its own in bursts and
//! recording what it hears. No member ever hears itself, the others are
//! mixed, and once everyone has left no port, call, session or room is
//! left behind.
//!
//! The churn runs for 25 s of real time (the whole test about 32 s):
//! the mixer's own churn test covers a simulated minute frame by frame;
//! this one adds the SIP dialogs, the RTP sockets and the room's creation
//! and teardown, at a size two shared cores keep up with in real time.

mod common;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::media::conference::{JOIN_TONE_HZ, LEAVE_TONE_HZ};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use common::callee::{exchange_tone_from, tone_purity};
use common::room::join;
use common::{http_get, metric, wait_for, TestServer};

/// The schedule's seed: each slot draws its comings, goings and bursts
/// from it, so a failing schedule can be run again (the interleaving of
/// the tasks is the scheduler's, not the seed's).
const SEED: u64 = 0x00c4_a7e5_2026;
const SLOTS: usize = 50;
/// At most this many members at once, so that the members' streams and
/// the server's mixing keep their 20 ms pace on two cores.
const MAX_PRESENT: usize = 20;
/// Joins start within this much real time.
const CHURN: Duration = Duration::from_secs(25);
const WAIT: Duration = Duration::from_secs(5);
const RATE: u32 = 8000;
/// Half a second at 8 kHz: the window each share is measured over.
const WINDOW: usize = RATE as usize / 2;
/// Above this share of a window, a member hears itself: a member mixed
/// into its own audio would be one of up to three equal speakers.
const OWN_BOUND: f64 = 0.01;
/// From this share of a window, another member's tone was mixed in.
const HEARD_BOUND: f64 = 0.05;

/// A tone per slot, from 300 Hz up in 50 Hz steps: each a whole number of
/// periods in a half-second window, so one slot's Goertzel picks up next to
/// nothing of another slot's tone and a share of the listener's own tone cannot be
/// leakage. The room's join and leave tones (played to every member) are
/// left out: a member on one of them would hear them as itself.
static SLOT_HZ: LazyLock<Vec<f64>> = LazyLock::new(|| {
    let room_tones: Vec<f64> = JOIN_TONE_HZ
        .iter()
        .chain(&LEAVE_TONE_HZ)
        .map(|&hz| f64::from(hz))
        .collect();
    (0..)
        .map(|step| 300.0 + 50.0 * f64::from(step))
        .filter(|hz| !room_tones.contains(hz))
        .take(SLOTS)
        .collect()
});

fn slot_hz(slot: usize) -> f64 {
    SLOT_HZ[slot]
}

/// What one session (a join to its BYE) heard, summed up.
struct Session {
    slot: usize,
    windows: usize,
    /// The largest share of the member's own tone in any window.
    own: f64,
    /// The other slots whose tone took more than `HEARD_BOUND` of some window.
    heard: Vec<usize>,
}

/// Sends `frames` 20 ms frames from `rtp` in bursts of the tone `hz` and
/// silence (the same stream throughout: sequence numbers and timestamps
/// go on), returning what came back meanwhile. Each stay starts with a
/// burst. The pauses outlast the mixer's 250 ms hangover, so speakers drop
/// out and others take turns, and they are several times the bursts, so
/// that only a few of the members present talk at once and most get mixed.
async fn talk_in_bursts(
    rtp: &UdpSocket,
    payload_type: u8,
    remote: std::net::SocketAddr,
    hz: f64,
    frames: u32,
    rng: &mut StdRng,
) -> Vec<i16> {
    let mut heard = Vec::new();
    let mut sent = 0;
    let mut talking = true;
    while sent < frames {
        let burst = if talking {
            rng.random_range(10..25)
        } else {
            rng.random_range(40..120)
        };
        let burst = burst.min(frames - sent);
        // A zero frequency is silence.
        let tone = if talking { hz } else { 0.0 };
        let range = sent..sent + burst;
        let part = exchange_tone_from(rtp, CodecKind::Pcmu, payload_type, remote, tone, range);
        heard.extend(part.await);
        sent += burst;
        talking = !talking;
    }
    heard
}

/// The shares of the tones in each half-second window of `heard`.
fn summarise(slot: usize, heard: &[i16]) -> Session {
    let mut own: f64 = 0.0;
    let mut others = Vec::new();
    let windows = heard.chunks_exact(WINDOW);
    let count = windows.len();
    for window in windows {
        own = own.max(tone_purity(window, RATE, slot_hz(slot), WINDOW));
        for other in (0..SLOTS).filter(|&o| o != slot) {
            let share = tone_purity(window, RATE, slot_hz(other), WINDOW);
            if share > HEARD_BOUND && !others.contains(&other) {
                others.push(other);
            }
        }
    }
    Session {
        slot,
        windows: count,
        own,
        heard: others,
    }
}

/// One slot: away for a while, then a member of the room for 1.5 to 4 s
/// (when fewer than `MAX_PRESENT` are), then away again, until the churn
/// is over. Each stay ends with a BYE the server answers.
async fn run_slot(
    server: Arc<TestServer>,
    present: Arc<Semaphore>,
    slot: usize,
    end: Instant,
) -> Vec<Session> {
    let mut rng = StdRng::seed_from_u64(SEED ^ (slot as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let hz = slot_hz(slot);
    let mut sessions = Vec::new();
    loop {
        // The schedule's time away, not a wait for the server.
        let away = Duration::from_millis(rng.random_range(200..3000));
        tokio::time::sleep(away).await;
        let permit = present.clone().acquire_owned().await.unwrap();
        if Instant::now() >= end {
            return sessions;
        }
        let frames = rng.random_range(75..200);
        let mut member = join(&server, "churn", CodecKind::Pcmu, hz).await;
        let (pt, remote) = (member.payload_type, member.remote);
        let heard = talk_in_bursts(&member.rtp, pt, remote, hz, frames, &mut rng).await;
        let ok = member.call.bye(WAIT).await.expect("BYE answered");
        assert_eq!(ok.status_code(), Some(200), "slot {slot}'s BYE");
        drop(permit);
        sessions.push(summarise(slot, &heard));
    }
}

async fn json(server: &TestServer, path: &str) -> Value {
    let (status, body) = http_get(server.http_addr(), path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_members_churning_never_hear_themselves_and_leave_nothing_behind() {
    eprintln!("churn seed {SEED:#x}");
    let started = std::time::Instant::now();
    let server = Arc::new(TestServer::start(|_| {}).await);
    let present = Arc::new(Semaphore::new(MAX_PRESENT));
    let end = Instant::now() + CHURN;
    let slots: Vec<_> = (0..SLOTS)
        .map(|slot| tokio::spawn(run_slot(server.clone(), present.clone(), slot, end)))
        .collect();
    let mut sessions = Vec::new();
    for slot in slots {
        sessions.extend(slot.await.expect("a slot's task"));
    }
    let joins = sessions.len();
    eprintln!(
        "churn: {joins} joins in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // About 180 with these draws: 20 places, a stay of 1.5 to 4 s each.
    assert!(joins > 100, "only {joins} joins: the room was not churned");

    // Nobody heard themselves, in any window of any stay.
    let worst = sessions
        .iter()
        .max_by(|a, b| a.own.total_cmp(&b.own))
        .unwrap();
    eprintln!(
        "largest own share: {:.5} (slot {}, {} windows)",
        worst.own, worst.slot, worst.windows
    );
    for s in &sessions {
        assert!(
            s.own < OWN_BOUND,
            "seed {SEED:#x}: slot {} ({} Hz) heard itself at {:.4} of a window",
            s.slot,
            slot_hz(s.slot),
            s.own
        );
    }
    // The others were mixed: most stays heard someone, and more than half
    // of the slots were heard by someone, so the check above covered
    // members while they were mixed as speakers (and not only listeners,
    // who are never in their own mix). Not every slot: speakers keep the
    // floor while they talk and the loudest candidate takes a free place,
    // so with several talking at once some tones lose every time.
    let hearing = sessions.iter().filter(|s| !s.heard.is_empty()).count();
    let mut heard_slots: Vec<usize> = sessions.iter().flat_map(|s| s.heard.clone()).collect();
    heard_slots.sort_unstable();
    heard_slots.dedup();
    eprintln!(
        "{hearing} of {joins} stays heard others; {} of {SLOTS} slots were heard",
        heard_slots.len()
    );
    assert!(
        hearing * 2 > joins,
        "seed {SEED:#x}: only {hearing} of {joins} stays heard another member"
    );
    assert!(
        heard_slots.len() > SLOTS / 2,
        "seed {SEED:#x}: only slots {heard_slots:?} were ever heard"
    );

    // Everyone has left: the room is gone, no calls, no ports.
    assert!(
        server.ports_released().await,
        "{} ports",
        server.ports_in_use()
    );
    let no_rooms = wait_for(WAIT, || async {
        json(&server, "/api/v1/conferences").await == Value::Array(Vec::new())
    })
    .await;
    assert!(
        no_rooms,
        "rooms left: {}",
        json(&server, "/api/v1/conferences").await
    );
    let no_calls = wait_for(WAIT, || async {
        json(&server, "/api/v1/calls").await == Value::Array(Vec::new())
    })
    .await;
    assert!(
        no_calls,
        "calls left: {}",
        json(&server, "/api/v1/calls").await
    );

    // Every join was counted, and a leave and a closed session for each.
    let counted = |text: &str| {
        let value = |name| metric(text, &format!("mediaplane_{name}"));
        (
            value("conference_joins_total"),
            value("conference_leaves_total"),
            value("media_sessions_created_total"),
            value("media_sessions_closed_total"),
        )
    };
    let settled = wait_for(WAIT, || async {
        let (joined, left, created, closed) = counted(&server.metrics_text().await);
        joined == left && created == closed
    })
    .await;
    let text = server.metrics_text().await;
    let (joined, left, created, closed) = counted(&text);
    eprintln!(
        "joins {joined}, leaves {left}, sessions created {created}, closed {closed}, \
         speaking starts {}",
        metric(&text, "mediaplane_conference_speaking_starts_total")
    );
    assert!(settled, "seed {SEED:#x}: the counters never settled");
    assert_eq!(joined, joins as f64, "joins counted");
    assert_eq!(left, joins as f64, "leaves counted");
    assert_eq!(created, joins as f64, "a media session per member");
    assert_eq!(closed, created, "sessions closed");

    Arc::try_unwrap(server)
        .ok()
        .expect("the slots are done")
        .stop()
        .await;
    eprintln!("wall time {:.1} s", started.elapsed().as_secs_f64());
}
