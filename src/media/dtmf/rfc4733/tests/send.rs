//! Send tests: the exact packets of a key press, pacing of a queue, long
//! presses, 48 kHz, and what the receiver makes of the sender's output.

use super::*;

const START: u32 = 1_000;

/// Polls `ticks` times, the stream advancing `step` units per tick, and
/// returns the packets with the tick each was sent on.
fn drive(tx: &mut TelephoneEventSender, ticks: u32, step: u32) -> Vec<(u32, EventPacket)> {
    (0..ticks)
        .filter_map(|tick| {
            tx.poll_packet(START.wrapping_add(tick * step))
                .map(|p| (tick, p))
        })
        .collect()
}

fn summary(packets: &[(u32, EventPacket)]) -> Vec<(u32, bool, u32, bool, u16)> {
    packets
        .iter()
        .map(|(tick, p)| {
            let block = EventPayload::decode(&p.payload).unwrap();
            (*tick, p.marker, p.timestamp, p.end, block.duration)
        })
        .collect()
}

#[test]
fn one_key_is_a_marked_start_continuations_and_three_ends() {
    let mut tx = TelephoneEventSender::new(SenderConfig::new(8000));
    tx.start(digit('#'), Duration::from_millis(100), 10)
        .unwrap();
    let packets = drive(&mut tx, 20, 160);
    assert_eq!(
        summary(&packets),
        vec![
            (0, true, START, false, 160),
            (1, false, START, false, 320),
            (2, false, START, false, 480),
            (3, false, START, false, 640),
            (4, false, START, true, 800),
            (5, false, START, true, 800),
            (6, false, START, true, 800),
        ]
    );
    assert_eq!(packets[4].1.payload, [11, 0x80 | 10, 0x03, 0x20]);
    assert_eq!(packets[0].1.payload, [11, 10, 0x00, 0xa0]);
    assert!(tx.is_idle());
}

#[test]
fn a_duration_between_ticks_ends_on_the_exact_value() {
    let mut tx = TelephoneEventSender::new(SenderConfig::new(8000));
    tx.start(digit('0'), Duration::from_millis(90), 0).unwrap();
    let durations: Vec<u16> = summary(&drive(&mut tx, 10, 160))
        .iter()
        .map(|p| p.4)
        .collect();
    assert_eq!(durations, vec![160, 320, 480, 640, 720, 720, 720]);
}

#[test]
fn queued_keys_are_separated_by_the_gap() {
    let mut tx = TelephoneEventSender::new(SenderConfig::new(8000));
    for c in "1234#".chars() {
        tx.start(digit(c), Duration::from_millis(100), 10).unwrap();
    }
    assert_eq!(tx.queued(), 5);
    let packets = drive(&mut tx, 100, 160);
    assert_eq!(packets.len(), 35);
    // Each key: 5 ticks down, then 80 ms (4 ticks) up: a start every 9.
    let starts: Vec<(u32, u32)> = packets
        .iter()
        .filter(|(_, p)| p.marker)
        .map(|(tick, p)| (*tick, p.timestamp))
        .collect();
    let want: Vec<(u32, u32)> = (0..5).map(|k| (9 * k, START + 9 * k * 160)).collect();
    assert_eq!(starts, want);
    let codes: Vec<u8> = packets
        .iter()
        .filter(|(_, p)| p.marker)
        .map(|(_, p)| p.payload[0])
        .collect();
    assert_eq!(codes, vec![1, 2, 3, 4, 11]);
    assert!(tx.is_idle());
}

#[test]
fn a_short_gap_still_leaves_room_for_the_end_retransmissions() {
    let config = SenderConfig {
        inter_digit_gap: Duration::ZERO,
        ..SenderConfig::new(8000)
    };
    let mut tx = TelephoneEventSender::new(config);
    tx.start(digit('1'), Duration::from_millis(40), 0).unwrap();
    tx.start(digit('2'), Duration::from_millis(40), 0).unwrap();
    let summary = summary(&drive(&mut tx, 20, 160));
    assert_eq!(summary.len(), 8);
    // Ends on ticks 1, 2, 3; the next key starts on tick 4.
    assert_eq!(summary[4], (4, true, START + 4 * 160, false, 160));
}

#[test]
fn a_48k_clock_counts_in_48k_units() {
    let mut tx = TelephoneEventSender::new(SenderConfig::new(48_000));
    tx.start(digit('A'), Duration::from_millis(100), 20)
        .unwrap();
    let packets = drive(&mut tx, 20, 960);
    let durations: Vec<u16> = summary(&packets).iter().map(|p| p.4).collect();
    assert_eq!(
        durations,
        vec![960, 1_920, 2_880, 3_840, 4_800, 4_800, 4_800]
    );
    assert_eq!(packets[0].1.payload[0], 12);
    // 48 kHz, 20 ms: 1.365 s fills a segment (0xFFFF units).
    let mut tx = TelephoneEventSender::new(SenderConfig::new(48_000));
    tx.start(digit('B'), Duration::from_secs(2), 0).unwrap();
    let packets = drive(&mut tx, 200, 960);
    let mut rx = TelephoneEventReceiver::new(ReceiverConfig::new(48_000));
    assert_eq!(
        run(&mut rx, &trace_of(&packets)),
        vec![started('B', START), ended('B', 2_000)]
    );
    assert_eq!(rx.stats().segments, 1);
}

#[test]
fn a_long_press_is_sent_in_segments() {
    let mut tx = TelephoneEventSender::new(SenderConfig::new(8000));
    tx.start(digit('9'), Duration::from_secs(10), 0).unwrap();
    let packets = drive(&mut tx, 600, 160);
    let summary = summary(&packets);
    // 409 packets fit the first segment; the 410th closes it at 0xFFFF.
    assert_eq!(summary[408], (408, false, START, false, 65_440));
    assert_eq!(summary[409], (409, false, START, false, 0xFFFF));
    let second = START + 0xFFFF;
    // 65_760 units so far, less the 0xFFFF of the first segment.
    assert_eq!(summary[410], (410, false, second, false, 225));
    let ends: Vec<_> = summary.iter().filter(|p| p.3).collect();
    assert_eq!(ends.len(), 3);
    assert!(ends
        .iter()
        .all(|p| p.2 == second && p.4 == (80_000 - 0xFFFF) as u16));
    assert_eq!(summary.iter().filter(|p| p.1).count(), 1);
}

#[test]
fn bad_requests_are_typed_errors() {
    let mut tx = TelephoneEventSender::new(SenderConfig::new(8000));
    assert_eq!(
        tx.start(digit('1'), Duration::from_millis(100), 64),
        Err(SendError::Payload(PayloadError::VolumeOutOfRange(64)))
    );
    assert_eq!(
        tx.start(digit('1'), Duration::from_micros(100), 0),
        Err(SendError::ZeroDuration)
    );
    for _ in 0..QUEUE_CAPACITY {
        tx.start(digit('1'), Duration::from_millis(50), 0).unwrap();
    }
    assert_eq!(
        tx.start(digit('1'), Duration::from_millis(50), 0),
        Err(SendError::QueueFull)
    );
    assert_eq!(tx.queued(), QUEUE_CAPACITY);
}

/// The sender's packets as a trace: one tick is 20 ms.
fn trace_of(packets: &[(u32, EventPacket)]) -> Vec<Packet> {
    packets
        .iter()
        .enumerate()
        .map(|(i, (tick, p))| Packet {
            at_ms: u64::from(*tick) * 20,
            timestamp: p.timestamp,
            sequence: i as u16,
            marker: p.marker,
            payload: p.payload,
        })
        .collect()
}

#[test]
fn the_receiver_reads_back_what_the_sender_sent() {
    let keys = [
        ('1', 100),
        ('2', 90),
        ('3', 45),
        ('*', 250),
        ('0', 20),
        ('#', 1_000),
        ('D', 9_000),
        ('5', 100),
        ('5', 100),
    ];
    for (clock, step) in [(8000, 160), (48_000, 960)] {
        let mut tx = TelephoneEventSender::new(SenderConfig::new(clock));
        for (c, ms) in keys {
            tx.start(digit(c), Duration::from_millis(ms), 10).unwrap();
        }
        let packets = drive(&mut tx, 1_000, step);
        assert!(tx.is_idle());
        let mut rx = TelephoneEventReceiver::new(ReceiverConfig::new(clock));
        let events = run(&mut rx, &trace_of(&packets));
        assert_eq!(events.len(), 2 * keys.len());
        for (pair, (c, ms)) in events.chunks(2).zip(keys) {
            assert!(matches!(pair[0], DigitEvent::Started { digit: d, .. } if d == digit(c)));
            assert_eq!(pair[1], ended(c, ms));
        }
        assert_eq!(rx.stats().redundant_ends, 2 * keys.len() as u64);
        assert_eq!(rx.stats().ended_by_timeout, 0);
    }
}
