//! Ten minutes of a sender whose clock runs 100 ppm fast or slow: 30 000
//! packets, one frame of drift every 200 s. The delay must stay bounded.

use super::trace::{adaptive, run, send, Arrival, XorShift};
use super::*;

const PACKETS: u32 = 30_000;
const MS: Duration = Duration::from_millis(1);

/// 30 000 packets with 0–30 ms of jitter from a sender `ppm` off our clock.
fn drifting(ppm: f64, seed: u64) -> Vec<Arrival> {
    let mut rng = XorShift(seed);
    send(PACKETS, ppm, 12_345, |_| {
        Some((20 + rng.below(31)) as u32 * MS)
    })
}

/// Lowest and highest delay measured after the first 10 s.
fn range(delays: &[f64]) -> (f64, f64) {
    delays[500..]
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &d| (lo.min(d), hi.max(d)))
}

#[test]
fn a_fast_sender_is_held_within_min_and_max_by_dropping_quiet_frames() {
    let arrivals = drifting(100.0, 0x1234_5678_9ABC_DEF1);
    let mut h = adaptive(3, 10);
    // One frame in ten is quiet.
    let r = run(&mut h, &arrivals, PACKETS as usize, |tick| tick % 10 == 0);
    let stats = h.stats();
    let (lo, hi) = range(&r.delays);
    // Within [min, max], and in fact within the band around the target
    // (3 frames, for 0–30 ms of jitter): from it to a frame and a quarter above.
    assert!(lo >= 2.95 && hi <= 4.3, "delay ranged {lo:.3}..{hi:.3}");
    assert_eq!(stats.target_frames, 3);
    // 600 s at 100 ppm is 3 frames too many, dropped in quiet frames.
    assert!(
        (2..=6).contains(&stats.shrink_dropped),
        "{} frames dropped",
        stats.shrink_dropped
    );
    assert_eq!(stats.forced_dropped + stats.overflow_dropped, 0);
    assert_eq!(stats.resets, 0);
    // The end of the run is no later than its start.
    let early = r.delays[500..1500].iter().sum::<f64>() / 1000.0;
    let late = r.delays[PACKETS as usize - 1000..].iter().sum::<f64>() / 1000.0;
    assert!(
        late - early < 1.0,
        "delay crept from {early:.2} to {late:.2}"
    );
}

#[test]
fn a_slow_sender_is_held_within_min_and_max_by_stretching_quiet_frames() {
    let arrivals = drifting(-100.0, 0x0F1E_2D3C_4B5A_6978);
    let mut h = adaptive(3, 10);
    let r = run(&mut h, &arrivals, PACKETS as usize - 10, |tick| {
        tick % 10 == 0
    });
    let stats = h.stats();
    let (lo, hi) = range(&r.delays);
    // Within [min, max], and in fact within the band around the target
    // (3 frames, for 0–30 ms of jitter): from it to a frame and a quarter above.
    assert!(lo >= 2.95 && hi <= 4.3, "delay ranged {lo:.3}..{hi:.3}");
    assert_eq!(stats.target_frames, 3);
    assert!(
        (2..=6).contains(&stats.stretched),
        "{} frames stretched",
        stats.stretched
    );
    assert_eq!(stats.underrun_ticks, 0, "ran dry instead of stretching");
    assert_eq!(stats.forced_dropped + stats.overflow_dropped, 0);
    let early = r.delays[500..1500].iter().sum::<f64>() / 1000.0;
    let late = r.delays[PACKETS as usize - 1010..].iter().sum::<f64>() / 990.0;
    assert!(
        early - late < 1.0,
        "delay sank from {early:.2} to {late:.2}"
    );
}

#[test]
fn with_no_quiet_frame_at_all_a_fast_sender_is_still_bounded() {
    // A faster drift (1000 ppm: a frame every 20 s) and a caller that never
    // finds a quiet frame: the last resort drops frames regardless.
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let arrivals = send(PACKETS, 1000.0, 0, |_| {
        Some((20 + rng.below(11)) as u32 * MS)
    });
    let mut h = adaptive(2, 4);
    let r = run(&mut h, &arrivals, PACKETS as usize - 30, |_| false);
    let stats = h.stats();
    let (_, hi) = range(&r.delays);
    // Two frames above the maximum for 5 s at most, then one frame goes.
    assert!(hi < 4.0 + 3.0, "delay reached {hi:.2}");
    assert!(
        stats.forced_dropped >= 20,
        "{} forced",
        stats.forced_dropped
    );
    assert_eq!(stats.shrink_dropped + stats.overflow_dropped, 0);
}

#[test]
fn with_no_quiet_frame_at_all_a_slow_sender_runs_dry_and_refills() {
    let mut rng = XorShift(0xBF58_476D_1CE4_E5B9);
    let arrivals = send(PACKETS, -1000.0, 0, |_| {
        Some((20 + rng.below(11)) as u32 * MS)
    });
    let mut h = adaptive(2, 4);
    let r = run(&mut h, &arrivals, PACKETS as usize - 30, |_| false);
    let stats = h.stats();
    let (lo, hi) = range(&r.delays);
    assert!(
        lo >= 0.0 && hi <= 4.0 + 1.0,
        "delay ranged {lo:.2}..{hi:.2}"
    );
    // About one refill per frame of drift (30 over the run), concealed.
    assert!(
        (10..=60).contains(&stats.underrun_ticks),
        "{} underruns",
        stats.underrun_ticks
    );
    assert_eq!(stats.lost, 0, "a refill loses nothing");
    assert_eq!(stats.played + stats.buffered as u64, stats.accepted);
}
