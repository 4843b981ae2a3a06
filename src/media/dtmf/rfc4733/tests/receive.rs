//! Receive tests on phone-shaped traces: loss, reorder, duplication,
//! timestamp and duration wrap, and garbage.

use rand::{Rng, SeedableRng};

use super::*;

/// Builds what a phone sends at 8 kHz with 20 ms packets: the marked
/// start, a continuation every 20 ms, then the end packet three times.
struct Phone {
    sequence: u16,
    trace: Vec<Packet>,
}

impl Phone {
    fn new() -> Self {
        Phone {
            sequence: 1000,
            trace: Vec::new(),
        }
    }

    fn send(&mut self, at_ms: u64, timestamp: u32, marker: bool, payload: [u8; 4]) {
        self.trace.push(Packet {
            at_ms,
            timestamp,
            sequence: self.sequence,
            marker,
            payload,
        });
        self.sequence = self.sequence.wrapping_add(1);
    }

    /// A press of `press_ms` (a multiple of 20): `press_ms / 20 - 1`
    /// continuation packets, then three ends with the full duration.
    fn press(&mut self, c: char, at_ms: u64, timestamp: u32, press_ms: u64) {
        let packets = press_ms / 20;
        for i in 0..packets - 1 {
            let duration = (160 * (i + 1)) as u16;
            self.send(at_ms + 20 * i, timestamp, i == 0, block(c, false, duration));
        }
        let total = (press_ms * 8) as u16;
        for k in 0..3 {
            let at = at_ms + 20 * (packets - 1 + k);
            self.send(at, timestamp, false, block(c, true, total));
        }
    }
}

const TS0: u32 = 48_000;

/// "1234#", 100 ms per key, one key every `period_ms`.
fn keypad(period_ms: u64, ts0: u32) -> Vec<Packet> {
    let mut phone = Phone::new();
    for (k, c) in "1234#".chars().enumerate() {
        let k = k as u64;
        let timestamp = ts0.wrapping_add((k * period_ms * 8) as u32);
        phone.press(c, k * period_ms, timestamp, 100);
    }
    phone.trace
}

fn receiver() -> TelephoneEventReceiver {
    TelephoneEventReceiver::new(ReceiverConfig::new(8000))
}

fn expected(ts0: u32, period_ms: u64, press_ms: u64) -> Vec<DigitEvent> {
    let mut out = Vec::new();
    for (k, c) in "1234#".chars().enumerate() {
        let timestamp = ts0.wrapping_add((k as u64 * period_ms * 8) as u32);
        out.push(started(c, timestamp));
        out.push(ended(c, press_ms));
    }
    out
}

fn is_end(p: &Packet) -> bool {
    p.payload[1] & 0x80 != 0
}

#[test]
fn a_phone_sequence_decodes_exactly() {
    let mut rx = receiver();
    assert_eq!(run(&mut rx, &keypad(400, TS0)), expected(TS0, 400, 100));
    let s = rx.stats();
    assert_eq!(s.accepted, 25);
    assert_eq!(s.redundant_ends, 10);
    assert_eq!(s.started_without_marker, 0);
    assert_eq!((s.ended_by_timeout, s.ended_by_next_event), (0, 0));
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn every_end_packet_lost_ends_each_key_by_timeout() {
    let trace: Vec<Packet> = keypad(400, TS0)
        .into_iter()
        .filter(|p| !is_end(p))
        .collect();
    assert_eq!(trace.len(), 20);
    let mut rx = receiver();
    // The last duration heard is 640 units: 80 ms.
    assert_eq!(run(&mut rx, &trace), expected(TS0, 400, 80));
    assert_eq!(rx.stats().ended_by_timeout, 5);
    assert_eq!(rx.stats().ended_by_next_event, 0);
}

#[test]
fn a_lost_first_end_is_made_up_by_its_retransmission() {
    let mut trace = keypad(400, TS0);
    // Packet 4 of each key's 7 is its first end.
    for k in (0..5).rev() {
        trace.remove(7 * k + 4);
    }
    let mut rx = receiver();
    assert_eq!(run(&mut rx, &trace), expected(TS0, 400, 100));
    assert_eq!(rx.stats().redundant_ends, 5);
    assert_eq!(rx.stats().ended_by_timeout, 0);
}

#[test]
fn the_timeout_is_due_200_ms_after_the_last_packet() {
    let mut rx = receiver();
    let t0 = Instant::now();
    rx.handle_packet(t0, TS0, 1, true, &block('4', false, 160));
    assert_eq!(rx.poll_timeout(), Some(t0 + Duration::from_millis(200)));
    let t1 = t0 + Duration::from_millis(20);
    rx.handle_packet(t1, TS0, 2, false, &block('4', false, 320));
    assert_eq!(rx.poll_timeout(), Some(t1 + Duration::from_millis(200)));
    rx.handle_timeout(t1 + Duration::from_millis(199));
    assert_eq!(rx.poll_event(), Some(started('4', TS0)));
    assert_eq!(rx.poll_event(), None);
    rx.handle_timeout(t1 + Duration::from_millis(200));
    assert_eq!(rx.poll_event(), Some(ended('4', 40)));
    assert_eq!(rx.poll_timeout(), None);
    // The end packets arriving after the timeout change nothing.
    rx.handle_packet(t1, TS0, 3, false, &block('4', true, 480));
    assert_eq!(rx.poll_event(), None);
    assert_eq!(rx.stats().late, 1);
}

#[test]
fn ends_lost_and_keys_close_together_end_at_the_next_key() {
    // Keys 160 ms apart: the next start comes before the 200 ms timeout.
    let trace: Vec<Packet> = keypad(160, TS0)
        .into_iter()
        .filter(|p| !is_end(p))
        .collect();
    let mut rx = receiver();
    assert_eq!(run(&mut rx, &trace), expected(TS0, 160, 80));
    assert_eq!(rx.stats().ended_by_next_event, 4);
    assert_eq!(rx.stats().ended_by_timeout, 1);
}

#[test]
fn a_lost_start_packet_still_starts_the_key_once() {
    let trace: Vec<Packet> = keypad(400, TS0).into_iter().filter(|p| !p.marker).collect();
    assert_eq!(trace.len(), 30);
    let mut rx = receiver();
    assert_eq!(run(&mut rx, &trace), expected(TS0, 400, 100));
    assert_eq!(rx.stats().started_without_marker, 5);
}

#[test]
fn reordered_packets_change_nothing() {
    let mut trace = keypad(400, TS0);
    // Within each key: the second packet before the first, the first end
    // before the last continuation.
    for key in trace.chunks_mut(7) {
        key.swap(0, 1);
        key.swap(3, 4);
    }
    let mut rx = receiver();
    assert_eq!(run(&mut rx, &trace), expected(TS0, 400, 100));
    assert_eq!(rx.stats().started_without_marker, 5);
    // The late continuation after each end is ignored.
    assert_eq!(rx.stats().late, 5);
}

#[test]
fn an_end_packet_after_the_next_key_started_is_late() {
    // Keys 120 ms apart; key 1's last two ends arrive after key 2 began.
    let mut trace = keypad(120, TS0);
    let (a, b) = (trace[5], trace[6]);
    trace.remove(6);
    trace.remove(5);
    trace.insert(8, b);
    trace.insert(8, a);
    let mut rx = receiver();
    assert_eq!(run(&mut rx, &trace), expected(TS0, 120, 100));
    assert_eq!(rx.stats().late, 2);
}

#[test]
fn duplicated_packets_change_nothing() {
    let trace: Vec<Packet> = keypad(400, TS0).into_iter().flat_map(|p| [p, p]).collect();
    let mut rx = receiver();
    assert_eq!(run(&mut rx, &trace), expected(TS0, 400, 100));
    let s = rx.stats();
    assert_eq!(s.accepted, 25);
    assert_eq!(s.duplicates, 20);
    assert_eq!(s.redundant_ends, 25);
}

#[test]
fn keys_across_the_timestamp_wrap() {
    // 1_600 units before the wrap: key 2 onward is past it.
    let ts0 = u32::MAX - 1_599;
    let mut rx = receiver();
    assert_eq!(run(&mut rx, &keypad(400, ts0)), expected(ts0, 400, 100));
    let mut rx = receiver();
    let lost_ends: Vec<Packet> = keypad(160, ts0)
        .into_iter()
        .filter(|p| !is_end(p))
        .collect();
    assert_eq!(run(&mut rx, &lost_ends), expected(ts0, 160, 80));
}

/// A 10 s press at 8 kHz: 80_000 units, past the 16-bit duration field.
/// With `close`, the first segment ends with a 0xFFFF packet as in RFC 4733
/// §2.5.1.3; without, the next segment simply begins.
fn long_press(ts0: u32, close: bool) -> Vec<Packet> {
    let mut phone = Phone::new();
    let mut segment = ts0;
    let mut base = 0u64;
    for i in 0..500u64 {
        let elapsed = 160 * (i + 1);
        let end = i == 499;
        if elapsed - base > 0xFFFF {
            if close {
                phone.send(20 * i, segment, false, block('9', false, 0xFFFF));
            }
            base += 0xFFFF;
            segment = segment.wrapping_add(0xFFFF);
        }
        let payload = block('9', end, (elapsed - base) as u16);
        for _ in 0..if end { 3 } else { 1 } {
            phone.send(20 * i, segment, i == 0, payload);
        }
    }
    phone.trace
}

#[test]
fn a_long_press_past_the_duration_field_is_one_key() {
    for close in [true, false] {
        for ts0 in [TS0, u32::MAX - 30_000] {
            let mut rx = receiver();
            let events = run(&mut rx, &long_press(ts0, close));
            assert_eq!(events, vec![started('9', ts0), ended('9', 10_000)]);
            assert_eq!(rx.stats().segments, 1);
            assert_eq!(rx.stats().redundant_ends, 2);
        }
    }
}

#[test]
fn a_late_packet_of_the_first_segment_is_ignored() {
    let mut trace = long_press(TS0, false);
    // Repeat a first-segment packet among the second segment's.
    let old = trace[300];
    trace.insert(450, Packet { sequence: 7, ..old });
    let mut rx = receiver();
    assert_eq!(
        run(&mut rx, &trace),
        vec![started('9', TS0), ended('9', 10_000)]
    );
    assert_eq!(rx.stats().late, 1);
}

#[test]
fn the_same_key_twice_is_two_presses() {
    let mut phone = Phone::new();
    phone.press('5', 0, TS0, 100);
    phone.press('5', 200, TS0 + 1_600, 60);
    let mut rx = receiver();
    let events = run(&mut rx, &phone.trace);
    assert_eq!(
        events,
        vec![
            started('5', TS0),
            ended('5', 100),
            started('5', TS0 + 1_600),
            ended('5', 60)
        ]
    );
    // The same with every end lost and the second press right after.
    let trace: Vec<Packet> = phone.trace.into_iter().filter(|p| !is_end(p)).collect();
    let mut rx = receiver();
    assert_eq!(
        run(&mut rx, &trace),
        vec![
            started('5', TS0),
            ended('5', 80),
            started('5', TS0 + 1_600),
            ended('5', 40)
        ]
    );
}

#[test]
fn garbage_payloads_are_counted_and_ignored() {
    let trace = [
        (vec![1, 0x80], 0),              // short
        (vec![16, 0, 0, 160], 1),        // flash: not a digit
        (vec![1, 0, 0, 0], 2),           // zero duration
        (vec![1, 0x80, 0, 0], 3),        // zero-duration end
        (vec![1, 0x40 | 10, 0, 160], 4), // reserved bit: used anyway
        (vec![2, 10, 0, 160], 5),        // other code, same timestamp
    ];
    let mut rx = receiver();
    let now = Instant::now();
    for (payload, sequence) in &trace {
        rx.handle_packet(now, TS0, *sequence, true, payload);
    }
    assert_eq!(rx.poll_event(), Some(started('1', TS0)));
    assert_eq!(rx.poll_event(), None);
    let s = rx.stats();
    assert_eq!(
        (s.too_short, s.not_a_digit, s.zero_duration, s.reserved_bit),
        (1, 1, 2, 1)
    );
    assert_eq!((s.conflicting, s.accepted), (1, 1));
}

#[test]
fn an_old_packet_is_stale_but_a_timeline_jump_is_a_new_key() {
    let mut rx = receiver();
    let now = Instant::now();
    rx.handle_packet(now, TS0, 1, true, &block('1', true, 800));
    rx.handle_packet(now, TS0.wrapping_sub(800), 2, true, &block('2', false, 160));
    assert_eq!(rx.stats().stale, 1);
    // Beyond 10 s of clock behind: the sender's timeline moved.
    rx.handle_packet(
        now,
        TS0.wrapping_sub(81_000),
        3,
        true,
        &block('3', true, 160),
    );
    let events: Vec<DigitEvent> = std::iter::from_fn(|| rx.poll_event()).collect();
    assert_eq!(
        events,
        vec![
            started('1', TS0),
            ended('1', 100),
            started('3', TS0.wrapping_sub(81_000)),
            ended('3', 20)
        ]
    );
}

#[test]
fn reset_releases_a_held_key() {
    let mut rx = receiver();
    rx.handle_packet(Instant::now(), TS0, 1, true, &block('7', false, 320));
    rx.reset();
    assert_eq!(rx.poll_event(), Some(started('7', TS0)));
    assert_eq!(rx.poll_event(), Some(ended('7', 40)));
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn random_payloads_never_panic_and_keys_pair_up() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(4733);
    let mut rx = receiver();
    let origin = Instant::now();
    let mut events = Vec::new();
    let (mut short, mut not_digit) = (0, 0);
    for i in 0..10_000u64 {
        let len = rng.random_range(0..8);
        let mut payload = [0u8; 8];
        rng.fill(&mut payload[..len]);
        match len {
            0..4 => short += 1,
            _ if payload[0] > 15 => not_digit += 1,
            _ => {}
        }
        // Few distinct timestamps, so that garbage hits live events.
        let timestamp = TS0.wrapping_add(rng.random_range(0..8u32) * 0x4000);
        let at = origin + Duration::from_millis(i * 7);
        rx.handle_packet(at, timestamp, rng.random(), rng.random(), &payload[..len]);
        events.extend(std::iter::from_fn(|| rx.poll_event()));
    }
    rx.reset();
    events.extend(std::iter::from_fn(|| rx.poll_event()));
    let s = rx.stats();
    assert_eq!((s.too_short, s.not_a_digit), (short, not_digit));
    assert_eq!(s.dropped_events, 0);
    assert!(!events.is_empty());
    // Started and Ended alternate, for the same digit.
    assert_eq!(events.len() % 2, 0);
    for pair in events.chunks(2) {
        match pair {
            [DigitEvent::Started { digit: a, .. }, DigitEvent::Ended { digit: b, .. }] => {
                assert_eq!(a, b)
            }
            other => panic!("unpaired {other:?}"),
        }
    }
}
