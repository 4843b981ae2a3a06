//! The target delay follows the measured jitter, and the buffer moves to it.

use super::trace::{adaptive, run, send, Arrival, XorShift};
use super::*;

const MS: Duration = Duration::from_millis(1);

/// The frames of delay that cover `permille` of the packets' lateness
/// behind the earliest one, plus the frame being played.
fn expected_target(lateness_ms: &mut [u64], permille: usize) -> u16 {
    lateness_ms.sort_unstable();
    let index = (lateness_ms.len() * permille / 1000).min(lateness_ms.len() - 1);
    lateness_ms[index].div_ceil(20) as u16 + 1
}

#[test]
fn the_delay_converges_to_the_jitter_percentile() {
    for (seed, spread_ms) in [(1u64, 30u64), (2, 70), (3, 110)] {
        let mut rng = XorShift(0x5DEE_CE66_D1CE_4E5B ^ seed);
        let mut lateness = Vec::new();
        let arrivals = send(3000, 0.0, 1000, |_| {
            let jitter = rng.below(spread_ms + 1);
            lateness.push(jitter);
            Some((40 + jitter) as u32 * MS)
        });
        let expected = expected_target(&mut lateness, 950);
        let mut h = adaptive(2, 10);
        // Every frame quiet: the buffer may move whenever it likes.
        let r = run(&mut h, &arrivals, 3010, |_| true);
        let stats = h.stats();
        // Settled after the first 20 s.
        for (tick, (&target, &delay)) in r.targets.iter().zip(&r.delays).enumerate().skip(1000) {
            assert!(
                target.abs_diff(expected) <= 1,
                "{spread_ms} ms jitter, tick {tick}: target {target}, expected {expected}"
            );
            if tick < 3000 && r.outs[tick] != Out::Missing {
                assert!(
                    (delay - target as f64).abs() <= 1.5,
                    "{spread_ms} ms jitter, tick {tick}: delay {delay:.2} vs target {target}"
                );
            }
        }
        // Enough delay that at most a few percent come too late.
        assert!(
            stats.too_late * 100 <= 3000 * 6,
            "{spread_ms} ms jitter: {} too late",
            stats.too_late
        );
        assert_eq!(stats.lost, stats.too_late, "only late packets are missing");
        assert_eq!(stats.resets + stats.forced_dropped, 0);
    }
}

#[test]
fn a_jitter_spike_grows_the_delay_which_later_shrinks_back() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    // 20 s calm (0–10 ms), 4 s of spikes up to 150 ms, 60 s calm.
    let arrivals = send(4200, 0.0, 7, |n| {
        let spread = if (1000..1200).contains(&n) { 150 } else { 10 };
        Some((20 + rng.below(spread + 1)) as u32 * MS)
    });
    let mut h = adaptive(2, 10);
    let r = run(&mut h, &arrivals, 4210, |_| true);
    let before = r.targets[999];
    let peak = *r.targets[1000..1600].iter().max().unwrap();
    let after = r.targets[4199];
    assert!(before <= 2, "calm target {before}");
    assert!(peak >= 7, "the spike only raised the target to {peak}");
    assert!(after <= 2, "target still {after} long after the spike");
    // The delay itself followed, up and down.
    let peak_delay = r.delays[1000..1600].iter().cloned().fold(0.0, f64::max);
    assert!(peak_delay >= 6.0, "delay peaked at {peak_delay:.2}");
    assert!(r.delays[4199] <= 3.5, "delay still {:.2}", r.delays[4199]);
    let stats = h.stats();
    // Grown by refilling when the spike emptied the buffer, shrunk by
    // dropping quiet frames.
    assert!(stats.underrun_ticks > 0 && stats.shrink_dropped > 0);
    assert_eq!(stats.forced_dropped, 0);
}

#[test]
fn missing_frames_offer_the_next_payload_for_fec() {
    // 5 lost alone, 9 and 10 lost together.
    let arrivals = send(20, 0.0, 100, |n| (![5, 9, 10].contains(&n)).then_some(MS));
    let mut h = adaptive(3, 3);
    let r = run(&mut h, &arrivals, 25, |_| false);
    // 105 is followed by 106; 109 has no successor, 110 has 111.
    assert_eq!(r.fec_next[..3], [Some(106), None, Some(111)]);
    let stats = h.stats();
    assert_eq!(stats.lost, 3);
    // Then the stream ends and the buffer runs dry.
    assert_eq!(r.fec_next[3..], vec![None; stats.underrun_ticks as usize]);
    assert_eq!(r.count(Out::Missing) as u64, 3 + stats.underrun_ticks);
}

#[test]
fn counts_match_the_injected_events() {
    const COUNT: u32 = 5000;
    let mut rng = XorShift(0xA076_1D64_78BD_642F);
    let (mut lost, mut late) = (0u64, 0u64);
    let mut normal = Vec::new();
    let mut arrivals = send(COUNT, 0.0, 65_000, |n| {
        let roll = rng.below(1000);
        if !(10..COUNT - 10).contains(&n) {
            // Clean edges: the stream starts and ends unambiguously.
            return Some(30 * MS);
        }
        // Bursts of four lost every 400 packets, and 2 % lost alone.
        if n % 400 < 4 || roll < 20 {
            lost += 1;
            None
        } else if roll < 30 {
            // Half a second behind: far beyond the 200 ms the buffer may hold.
            late += 1;
            Some(530 * MS)
        } else {
            normal.push(n);
            Some((30 + rng.below(15)) as u32 * MS)
        }
    });
    // Every 50th normal packet arrives twice, the copy 1 ms behind.
    let copied: Vec<u32> = normal.iter().copied().step_by(50).collect();
    let copies: Vec<Arrival> = arrivals
        .iter()
        .filter(|a| copied.contains(&(a.info.sequence.wrapping_sub(65_000) as u32)))
        .map(|a| Arrival {
            at: a.at + MS,
            ..*a
        })
        .collect();
    arrivals.extend(copies);
    arrivals.sort_by_key(|a| a.at);

    let mut h = adaptive(3, 10);
    let r = run(&mut h, &arrivals, COUNT as usize + 100, |_| false);
    let stats = h.stats();
    assert_eq!(stats.received, arrivals.len() as u64);
    assert_eq!(stats.duplicates, copied.len() as u64);
    assert_eq!(stats.too_late, late);
    // A late packet's frame was concealed before it came.
    assert_eq!(stats.lost, lost + late);
    assert_eq!(stats.played, COUNT as u64 - lost - late);
    // Every missing tick is a lost frame or the buffer running dry (during
    // the longer bursts and after the stream ends), nothing else.
    assert_eq!(
        r.count(Out::Missing) as u64,
        stats.lost + stats.underrun_ticks
    );
    assert_eq!(r.count(Out::Stretch), 0);
    assert_eq!(
        stats.forced_dropped + stats.overflow_dropped + stats.resets,
        0
    );
    assert_eq!(stats.target_frames, 3);
    let frames = r.frames();
    assert_eq!(frames.len() as u64, stats.played);
    assert!(frames
        .windows(2)
        .all(|w| w[1].wrapping_sub(w[0]) as i16 > 0));
}

#[test]
fn a_buffer_above_target_offers_drops_and_plays_the_next_frame_instead() {
    let mut h = Harness::new(2, 16);
    // A burst of six (0–5 held up, then released together), then one per tick.
    for n in 0..6 {
        h.push(n);
    }
    assert!(matches!(h.buffer.pop(h.now), Playout::Frame { .. }));
    assert_eq!(h.buffer.drop_and_pop(h.now), Playout::Idle, "not offered");
    assert!(!h.buffer.stretch(), "not offered");
    let mut outs = Vec::new();
    for n in 6..20u16 {
        h.now += PTIME;
        h.push(n);
        let now = h.now;
        match h.buffer.pop(now) {
            Playout::Frame {
                info,
                adjust: Adjust::MayDrop,
                ..
            } => {
                outs.push(info.sequence);
                match h.buffer.drop_and_pop(now) {
                    Playout::Frame { info, adjust, .. } => {
                        assert_eq!(adjust, Adjust::Keep, "one drop per tick");
                        outs.push(info.sequence);
                    }
                    other => panic!("{other:?} after a drop"),
                }
            }
            Playout::Frame { info, adjust, .. } => {
                assert_eq!(adjust, Adjust::Keep);
                outs.push(info.sequence);
            }
            other => panic!("{other:?}"),
        }
    }
    // Six frames held at the start, two wanted: three ticks play two
    // frames, the third frame too many is within the band left alone.
    assert_eq!(h.stats().shrink_dropped, 3);
    assert_eq!(outs, (1..=17).collect::<Vec<u16>>());
    assert!((h.buffer.current_delay_frames() - 3.0).abs() < 1e-9);
}

#[test]
fn silence_before_a_talkspurt_is_stretched_back_to_the_target() {
    let mut h = Harness::new(4, 16);
    // A talkspurt of 20 frames, then the sender pauses for two frames
    // (RFC 3551 §4.1: timestamps jump, sequence numbers do not) and the next
    // talkspurt starts with its marker bit.
    let mut outs = Vec::new();
    for tick in 0..40u32 {
        if tick < 20 {
            h.push_stamped(tick as u16, tick * 160);
        } else if tick >= 22 {
            let n = tick - 2;
            let info = PacketInfo {
                marker: tick == 22,
                ..info(n as u16, SSRC)
            };
            let info = PacketInfo {
                timestamp: tick * 160,
                ..info
            };
            h.buffer.push(h.now, &info, &payload(n as u16, SSRC));
        }
        outs.push(h.tick());
    }
    let at = outs.iter().position(|&o| o == Out::Frame(20)).unwrap();
    assert_eq!(
        &outs[at - 3..at],
        &[Out::Frame(19), Out::Stretch, Out::Stretch]
    );
    assert_eq!(h.stats().stretched, 2);
    assert_eq!(h.stats().lost + h.stats().underrun_ticks, 0);
    // Back on target: the rest plays on.
    assert_eq!(outs[at..at + 5], [20, 21, 22, 23, 24].map(Out::Frame));
}

#[test]
fn the_running_quantile_matches_a_full_scan() {
    use super::super::delay::DelayEstimator;
    let start = Instant::now();
    let mut estimator = DelayEstimator::new(160, 8000, 1, 10, 950);
    let mut rng = XorShift(0x3C6E_F372_FE94_F82B);
    // Calm, spiky and calm again, for long enough to rescale twice.
    for n in 0..30_000u32 {
        let spread = if (8_000..12_000).contains(&n) {
            150
        } else {
            15
        };
        let arrival = start + PTIME * n + rng.below(spread) as u32 * MS;
        estimator.observe(arrival, n * 160);
        let (scanned, running) = estimator.quantile_by_scan();
        assert_eq!(scanned, running, "packet {n}");
    }
}
