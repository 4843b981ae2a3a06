use std::time::Duration;

use super::*;

mod adaptive;
mod continuity;
mod drift;
mod network;
mod trace;

const PTIME: Duration = Duration::from_millis(20);
const SSRC: u32 = 0x1234_5678;

/// What a tick produced, with the frame identified by the sequence number
/// written into its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    Frame(u16),
    Missing,
    Stretch,
    Idle,
}

fn payload(sequence: u16, ssrc: u32) -> [u8; 6] {
    let [a, b] = sequence.to_be_bytes();
    let [c, d, e, f] = ssrc.to_be_bytes();
    [a, b, c, d, e, f]
}

fn info(sequence: u16, ssrc: u32) -> PacketInfo {
    PacketInfo {
        sequence,
        timestamp: (sequence as u32).wrapping_mul(160),
        ssrc,
        marker: false,
    }
}

struct Harness {
    buffer: PlayoutBuffer,
    now: Instant,
}

impl Harness {
    /// A buffer with a fixed delay of `target` frames.
    fn new(target: u16, capacity: u16) -> Self {
        Self::with(PlayoutConfig {
            min_delay_frames: target,
            max_delay_frames: target,
            capacity_frames: capacity,
            ..PlayoutConfig::default()
        })
    }

    fn with(config: PlayoutConfig) -> Self {
        Self {
            buffer: PlayoutBuffer::new(config).unwrap(),
            now: Instant::now(),
        }
    }

    fn push_from(&mut self, ssrc: u32, sequence: u16) -> PushOutcome {
        self.buffer
            .push(self.now, &info(sequence, ssrc), &payload(sequence, ssrc))
    }

    fn push(&mut self, sequence: u16) -> PushOutcome {
        self.push_from(SSRC, sequence)
    }

    fn push_stamped(&mut self, sequence: u16, timestamp: u32) -> PushOutcome {
        let info = PacketInfo {
            timestamp,
            ..info(sequence, SSRC)
        };
        self.buffer.push(self.now, &info, &payload(sequence, SSRC))
    }

    /// Pops for the current tick, checks the frame's payload belongs to its
    /// header, then moves time on by one ptime.
    fn tick(&mut self) -> Out {
        let out = match self.buffer.pop(self.now) {
            Playout::Frame {
                payload: p,
                info: i,
                ..
            } => {
                assert_eq!(p, payload(i.sequence, i.ssrc), "payload of another packet");
                Out::Frame(i.sequence)
            }
            Playout::Missing { .. } => Out::Missing,
            Playout::Stretch => Out::Stretch,
            Playout::Idle => Out::Idle,
        };
        self.now += PTIME;
        out
    }

    fn stats(&self) -> PlayoutStats {
        self.buffer.stats()
    }
}

#[test]
fn rejects_unusable_configurations() {
    let bad = |config: PlayoutConfig| PlayoutBuffer::new(config).err();
    let base = PlayoutConfig::default();
    assert_eq!(
        bad(PlayoutConfig {
            min_delay_frames: 0,
            ..base.clone()
        }),
        Some(PlayoutConfigError::ZeroTargetDelay)
    );
    assert_eq!(
        bad(PlayoutConfig {
            min_delay_frames: 5,
            max_delay_frames: 4,
            ..base.clone()
        }),
        Some(PlayoutConfigError::BadMaxDelay { min: 5, max: 4 })
    );
    assert_eq!(
        bad(PlayoutConfig {
            max_delay_frames: 5,
            capacity_frames: 4,
            ..base.clone()
        }),
        Some(PlayoutConfigError::BadCapacity {
            capacity: 4,
            target: 5
        })
    );
    for permille in [0, 1001] {
        assert_eq!(
            bad(PlayoutConfig {
                delay_quantile_permille: permille,
                ..base.clone()
            }),
            Some(PlayoutConfigError::BadQuantile(permille))
        );
    }
    assert!(matches!(
        bad(PlayoutConfig {
            capacity_frames: MAX_CAPACITY_FRAMES + 1,
            ..base.clone()
        }),
        Some(PlayoutConfigError::BadCapacity { .. })
    ));
    for max_payload in [0, MAX_PAYLOAD_BYTES + 1, usize::MAX] {
        assert_eq!(
            bad(PlayoutConfig {
                max_payload,
                ..base.clone()
            }),
            Some(PlayoutConfigError::BadMaxPayload(max_payload))
        );
    }
    assert_eq!(
        bad(PlayoutConfig {
            ptime: Duration::ZERO,
            ..base.clone()
        }),
        Some(PlayoutConfigError::ZeroPtime)
    );
    assert_eq!(
        bad(PlayoutConfig {
            clock_rate: 0,
            ..base
        }),
        Some(PlayoutConfigError::ZeroClockRate)
    );
}

#[test]
fn in_order_stream_comes_out_in_order_after_the_target_delay() {
    for target in [1u16, 3, 5] {
        let mut h = Harness::new(target, 16);
        for n in 0..50u16 {
            assert_eq!(h.push(1000 + n), PushOutcome::Accepted);
            let expected = if n + 1 < target {
                Out::Idle
            } else {
                Out::Frame(1000 + n + 1 - target)
            };
            assert_eq!(h.tick(), expected, "target {target}, tick {n}");
            if n + 1 >= target {
                // After each pop the buffer holds target − 1 frames.
                assert_eq!(h.stats().depth_frames, target - 1);
            }
        }
        let stats = h.stats();
        assert_eq!(stats.played, 50 - (target as u64 - 1));
        assert_eq!(stats.lost + stats.reordered + stats.underrun_ticks, 0);
    }
}

#[test]
fn reordering_within_the_delay_is_restored() {
    let mut h = Harness::new(4, 16);
    // Each group of four arrives scrambled, one packet per tick.
    let order = [2u16, 0, 3, 1];
    let mut played = Vec::new();
    for group in 0..25u16 {
        for &k in &order {
            assert_eq!(h.push(group * 4 + k), PushOutcome::Accepted);
            match h.tick() {
                Out::Frame(s) => played.push(s),
                Out::Idle => assert!(played.is_empty(), "idle after playout started"),
                Out::Missing | Out::Stretch => panic!("gap in a reordered but complete stream"),
            }
        }
    }
    let expected: Vec<u16> = (0..played.len() as u16).collect();
    assert_eq!(played, expected);
    assert_eq!(played.len(), 98);
    let stats = h.stats();
    // 0 and 1 arrive after a higher one in every group.
    assert_eq!(stats.reordered, 50);
    assert_eq!(stats.lost + stats.too_late, 0);
}

#[test]
fn packets_reordered_before_the_start_become_the_first_frame() {
    let mut h = Harness::new(3, 16);
    assert_eq!(h.push(11), PushOutcome::Accepted);
    assert_eq!(h.tick(), Out::Idle);
    assert_eq!(h.push(10), PushOutcome::Accepted);
    assert_eq!(h.tick(), Out::Idle);
    assert_eq!(h.push(12), PushOutcome::Accepted);
    assert_eq!(h.tick(), Out::Frame(10));
    assert_eq!(h.tick(), Out::Frame(11));
    assert_eq!(h.tick(), Out::Frame(12));
}

#[test]
fn duplicates_are_dropped_and_counted() {
    let mut h = Harness::new(3, 16);
    let mut frames = Vec::new();
    for n in 0..20u16 {
        assert_eq!(h.push(n), PushOutcome::Accepted);
        if n % 3 == 0 {
            assert_eq!(h.push(n), PushOutcome::Duplicate);
        }
        if let Out::Frame(s) = h.tick() {
            frames.push(s);
        }
    }
    assert_eq!(frames, (0..18).collect::<Vec<u16>>());
    let stats = h.stats();
    assert_eq!(stats.duplicates, 7);
    assert_eq!(stats.accepted, 20);
    assert_eq!(stats.received, 27);
}

#[test]
fn loss_is_played_as_missing_and_counted() {
    let mut h = Harness::new(2, 16);
    let mut outs = Vec::new();
    for n in 0..10u16 {
        if n != 4 {
            h.push(n);
        }
        outs.push(h.tick());
    }
    assert_eq!(
        outs,
        [
            Out::Idle,
            Out::Frame(0),
            Out::Frame(1),
            Out::Frame(2),
            Out::Frame(3),
            Out::Missing,
            Out::Frame(5),
            Out::Frame(6),
            Out::Frame(7),
            Out::Frame(8),
        ]
    );
    let stats = h.stats();
    assert_eq!(stats.lost, 1);
    assert_eq!(stats.played, 8);
}

#[test]
fn packets_behind_the_playout_point_are_too_late() {
    let mut h = Harness::new(2, 16);
    for n in 0..8u16 {
        if n != 3 {
            h.push(n);
        }
        h.tick();
    }
    // 3 was concealed two ticks ago; 0 long ago (and would be a duplicate too).
    assert_eq!(h.push(3), PushOutcome::TooLate);
    assert_eq!(h.push(0), PushOutcome::TooLate);
    let stats = h.stats();
    assert_eq!(stats.too_late, 2);
    assert_eq!(stats.lost, 1);
    assert_eq!(stats.accepted, 7);
}

#[test]
fn payloads_above_the_maximum_are_refused() {
    let mut h = Harness::with(PlayoutConfig {
        max_payload: 4,
        ..PlayoutConfig::default()
    });
    assert_eq!(h.push(1), PushOutcome::TooLarge);
    assert_eq!(
        h.buffer.push(h.now, &info(2, SSRC), &[1, 2, 3, 4]),
        PushOutcome::Accepted
    );
    assert_eq!(h.stats().too_large, 1);
    assert_eq!(h.stats().buffered, 1);
}

#[test]
fn a_stopped_stream_goes_idle_instead_of_endless_missing() {
    let mut h = Harness::new(3, 16);
    for n in 0..20u16 {
        h.push(n);
        h.tick();
    }
    let mut outs = Vec::new();
    for _ in 0..1000 {
        outs.push(h.tick());
    }
    // The two frames still held, then concealment until idle_after
    // (200 ms = 10 ticks since the last packet), then idle for good.
    let missing = outs.iter().filter(|&&o| o == Out::Missing).count();
    assert_eq!(&outs[..2], &[Out::Frame(18), Out::Frame(19)]);
    assert!(outs[2..2 + missing].iter().all(|&o| o == Out::Missing));
    assert!((1..=10).contains(&missing), "{missing} missing ticks");
    assert!(outs[2 + missing..].iter().all(|&o| o == Out::Idle));
    assert_eq!(h.stats().lost, 0);
    assert_eq!(h.stats().underrun_ticks, missing as u64);

    // The stream resumes where it left off (silence suppression keeps the
    // sequence going, RFC 3551 §4.1): it primes again, nothing is too late.
    let mut frames = Vec::new();
    for n in 20..30u16 {
        assert_eq!(h.push(n), PushOutcome::Accepted);
        match h.tick() {
            Out::Frame(f) => frames.push(f),
            Out::Idle => assert!(frames.is_empty()),
            Out::Missing | Out::Stretch => panic!("concealing while priming a new talkspurt"),
        }
    }
    assert_eq!(frames, (20..28).collect::<Vec<u16>>());
}

#[test]
fn a_stream_of_only_late_packets_still_goes_idle() {
    let mut h = Harness::new(2, 16);
    for n in 0..20u16 {
        h.push(n);
        h.tick();
    }
    // Stale retransmissions keep coming, nothing playable does.
    let mut outs = Vec::new();
    for k in 0..100u16 {
        assert_eq!(h.push(k % 10), PushOutcome::TooLate);
        outs.push(h.tick());
    }
    assert_eq!(outs.last(), Some(&Out::Idle));
    assert!(outs.iter().filter(|&&o| o == Out::Missing).count() <= 10);
}

#[test]
fn a_short_underrun_refills_to_the_target_without_losing_frames() {
    let mut h = Harness::new(3, 16);
    let mut outs = Vec::new();
    for n in 0..10u16 {
        h.push(n);
        outs.push(h.tick());
    }
    // A 100 ms network stall, then the held packets arrive at once.
    for _ in 0..5 {
        outs.push(h.tick());
    }
    for n in 10..15u16 {
        h.push(n);
    }
    for n in 15..25u16 {
        outs.push(h.tick());
        h.push(n);
    }
    let frames: Vec<u16> = outs
        .iter()
        .filter_map(|o| match o {
            Out::Frame(f) => Some(*f),
            _ => None,
        })
        .collect();
    assert_eq!(frames, (0..frames.len() as u16).collect::<Vec<u16>>());
    assert_eq!(frames.len(), 20);
    let stats = h.stats();
    assert_eq!(stats.lost + stats.too_late, 0);
    assert_eq!(stats.underrun_ticks, 3);
}

#[test]
fn a_talkspurt_shorter_than_the_target_delay_still_plays() {
    let mut h = Harness::new(5, 16);
    h.push(0);
    h.push(1);
    let outs: Vec<Out> = (0..8).map(|_| h.tick()).collect();
    // Held for the time five frames take, then played out.
    assert_eq!(
        outs,
        [
            Out::Idle,
            Out::Idle,
            Out::Idle,
            Out::Idle,
            Out::Idle,
            Out::Frame(0),
            Out::Frame(1),
            Out::Missing,
        ]
    );
}

#[test]
fn an_overfull_buffer_drops_its_oldest_frames_back_to_the_target() {
    let mut h = Harness::new(2, 5);
    for n in 0..5u16 {
        assert_eq!(h.push(n), PushOutcome::Accepted);
    }
    assert_eq!(h.stats().overflow_dropped, 0);
    // The sixth frame does not fit in five slots.
    assert_eq!(h.push(5), PushOutcome::Accepted);
    let stats = h.stats();
    assert_eq!(stats.overflow_dropped, 4);
    assert_eq!(stats.depth_frames, 2);
    assert_eq!(stats.buffered, 2);
    assert_eq!(h.tick(), Out::Frame(4));
    assert_eq!(h.tick(), Out::Frame(5));
    // What was dropped is not played later either.
    assert_eq!(h.push(2), PushOutcome::TooLate);
}

#[test]
fn a_sender_faster_than_our_clock_is_trimmed_while_playing() {
    let mut h = Harness::new(3, 8);
    let mut next = 0u16;
    let mut frames = Vec::new();
    // Five packets for every four ticks.
    for tick in 0..40 {
        h.push(next);
        next += 1;
        if tick % 4 == 0 {
            h.push(next);
            next += 1;
        }
        if let Out::Frame(f) = h.tick() {
            frames.push(f);
        }
        assert!(h.stats().depth_frames <= 8);
    }
    let stats = h.stats();
    assert!(stats.overflow_dropped > 0);
    assert!(
        frames.windows(2).all(|w| w[0] < w[1]),
        "out of order: {frames:?}"
    );
    assert_eq!(
        stats.accepted,
        stats.played + stats.overflow_dropped + stats.buffered as u64
    );
}
