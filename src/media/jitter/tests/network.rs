//! A hundred thousand packets through simulated networks, checking that
//! every packet is accounted for.

use super::trace::XorShift;
use super::*;

/// Fails at the first difference, without printing thousands of elements.
fn assert_same_sequence(actual: &[u32], expected: &[u32]) {
    if let Some(i) = actual.iter().zip(expected).position(|(a, e)| a != e) {
        panic!("frame {i}: got {}, expected {}", actual[i], expected[i]);
    }
    assert_eq!(actual.len(), expected.len(), "frame count");
}

/// Sends `count` packets one per tick through a network that delays each
/// copy by 0..=`max_delay` ticks, drops packets and duplicates some, and pops
/// once per tick. Returns the frames played, as extended sequence numbers.
struct Network {
    /// Per packet: how many copies arrive (0 = lost, 2 = duplicated).
    copies: Vec<u8>,
    /// Arrival tick of every copy, with its sequence index.
    arrivals: Vec<(u64, u32)>,
}

impl Network {
    fn simulate(
        count: u32,
        max_delay: u64,
        seed: u64,
        drop: impl Fn(&mut XorShift, bool) -> bool,
    ) -> Self {
        let mut rng = XorShift(seed);
        let mut copies = Vec::with_capacity(count as usize);
        let mut arrivals = Vec::with_capacity(count as usize * 2);
        let mut previous_dropped = false;
        for n in 0..count {
            let dropped = drop(&mut rng, previous_dropped);
            previous_dropped = dropped;
            let c = if dropped {
                0
            } else if rng.below(100) == 0 {
                2
            } else {
                1
            };
            for _ in 0..c {
                arrivals.push((n as u64 + rng.below(max_delay + 1), n));
            }
            copies.push(c);
        }
        // Stable: copies due the same tick keep their sending order.
        arrivals.sort_by_key(|&(tick, _)| tick);
        Self { copies, arrivals }
    }

    fn run(&self, h: &mut Harness, first_sequence: u16) -> Vec<u32> {
        let mut played = Vec::new();
        let mut next_arrival = 0;
        let mut tick = 0u64;
        let mut idle_ticks = 0;
        // Generous, but finite: a buffer that never drains fails, not hangs.
        let last_tick = self.arrivals.last().map_or(0, |&(tick, _)| tick) + 10_000;
        while next_arrival < self.arrivals.len() || idle_ticks < 50 {
            assert!(
                tick <= last_tick,
                "playout never went idle after the stream ended"
            );
            while let Some(&(due, n)) = self.arrivals.get(next_arrival) {
                if due > tick {
                    break;
                }
                let sequence = first_sequence.wrapping_add(n as u16);
                h.push_stamped(sequence, n.wrapping_mul(160));
                next_arrival += 1;
            }
            match h.tick() {
                Out::Frame(s) => {
                    // Recover the index: frames are within a wrap of the last one.
                    let last = played.last().copied().unwrap_or(0u32);
                    let offset = s.wrapping_sub(first_sequence.wrapping_add(last as u16));
                    played.push(last + offset as u32);
                    idle_ticks = 0;
                }
                Out::Idle if next_arrival == self.arrivals.len() => idle_ticks += 1,
                _ => {}
            }
            tick += 1;
        }
        played
    }
}

#[test]
fn a_hundred_thousand_packets_through_a_mild_network_are_all_accounted_for() {
    const COUNT: u32 = 100_000;
    // Isolated 2 % loss, 1 % duplicates, up to 3 ticks of jitter: within what
    // a 5-frame delay absorbs, so every counter has an exact expected value.
    let network = Network::simulate(COUNT, 3, 0x9E37_79B9_7F4A_7C15, |rng, previous| {
        !previous && rng.below(50) == 0
    });
    // Adaptive between 5 and 10 frames; the jitter needs 4, so it stays at 5.
    let mut h = Harness::with(PlayoutConfig {
        min_delay_frames: 5,
        max_delay_frames: 10,
        capacity_frames: 16,
        ..PlayoutConfig::default()
    });
    let played = network.run(&mut h, 40_000);
    let stats = h.stats();

    let delivered: Vec<u32> = (0..COUNT)
        .filter(|&n| network.copies[n as usize] > 0)
        .collect();
    let duplicated = network.copies.iter().filter(|&&c| c == 2).count() as u64;
    let first = delivered[0];
    let last = *delivered.last().unwrap();
    let lost_inside = (first..=last)
        .filter(|&n| network.copies[n as usize] == 0)
        .count() as u64;

    assert_same_sequence(&played, &delivered);
    assert_eq!(stats.received, network.arrivals.len() as u64);
    assert_eq!(stats.accepted, delivered.len() as u64);
    assert_eq!(stats.played, delivered.len() as u64);
    assert_eq!(stats.duplicates, duplicated);
    assert_eq!(stats.lost, lost_inside);
    assert!(stats.reordered > 1000, "jitter produced no reordering");
    assert_eq!(stats.too_late + stats.too_large + stats.strays, 0);
    assert_eq!(stats.overflow_dropped + stats.flushed + stats.resets, 0);
    assert_eq!(stats.forced_dropped + stats.stretched, 0);
    assert_eq!(stats.target_frames, 5);
    assert_eq!(stats.buffered, 0);
}

#[test]
fn a_hundred_thousand_packets_through_a_harsh_network_keep_the_counters_consistent() {
    const COUNT: u32 = 100_000;
    // Bursty loss and jitter beyond the delay: late packets, underruns, refills.
    let network = Network::simulate(COUNT, 12, 0xD1B5_4A32_D192_ED03, |rng, previous| {
        if previous {
            rng.below(2) == 0
        } else {
            rng.below(20) == 0
        }
    });
    let mut h = Harness::new(3, 12);
    let played = network.run(&mut h, 65_000);
    let stats = h.stats();

    assert!(
        played.windows(2).all(|w| w[0] < w[1]),
        "frames out of order"
    );
    assert!(
        played.iter().all(|&n| network.copies[n as usize] > 0),
        "played a lost packet"
    );
    assert_eq!(stats.received, network.arrivals.len() as u64);
    assert_eq!(
        stats.received,
        stats.accepted + stats.duplicates + stats.too_late + stats.too_large + stats.strays
    );
    assert_eq!(
        stats.accepted,
        stats.played
            + stats.overflow_dropped
            + stats.forced_dropped
            + stats.flushed
            + stats.buffered as u64
    );
    assert_eq!(stats.played, played.len() as u64);
    // Every packet sent is either played or accounted as not played.
    let unique_delivered = network.copies.iter().filter(|&&c| c > 0).count() as u64;
    let late_unique =
        unique_delivered - stats.played - stats.overflow_dropped - stats.forced_dropped;
    assert!(late_unique <= stats.too_late);
    assert!(stats.too_late > 0 && stats.lost > 0 && stats.underrun_ticks > 0);
    assert_eq!(stats.resets, 0);
}
