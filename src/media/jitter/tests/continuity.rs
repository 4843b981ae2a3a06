//! Stream identity: sequence wrap, new sources, jumps and strays.

use super::*;

#[test]
fn sequence_numbers_wrap_from_65535_to_0() {
    let mut h = Harness::new(3, 16);
    let mut frames = Vec::new();
    // 65530..=65535 then 0..=9, with a swap across the wrap itself.
    let mut sent: Vec<u16> = (0..16u16).collect();
    sent.swap(5, 6); // 0 arrives before 65535
    for &k in &sent {
        let s = 65530u16.wrapping_add(k);
        // The timestamp runs on across the sequence wrap.
        assert_eq!(
            h.push_stamped(s, 1_000_000 + k as u32 * 160),
            PushOutcome::Accepted,
            "seq {s}"
        );
        if let Out::Frame(f) = h.tick() {
            frames.push(f);
        }
    }
    for _ in 0..2 {
        if let Out::Frame(f) = h.tick() {
            frames.push(f);
        }
    }
    let expected: Vec<u16> = (0..16u16).map(|k| 65530u16.wrapping_add(k)).collect();
    assert_eq!(frames, expected);
    let stats = h.stats();
    assert_eq!(stats.resets + stats.lost + stats.too_late, 0);
    assert_eq!(stats.reordered, 1);
}

#[test]
fn an_ssrc_change_resets_the_buffer() {
    const OTHER: u32 = 0xCAFE;
    let mut h = Harness::new(3, 16);
    for n in 0..10u16 {
        h.push(n);
        h.tick();
    }
    // The old stream still holds 8 and 9 when the new source takes over.
    assert_eq!(h.push_from(OTHER, 500), PushOutcome::Unconfirmed);
    assert_eq!(h.push_from(OTHER, 501), PushOutcome::Accepted);
    let stats = h.stats();
    assert_eq!(stats.resets, 1);
    assert_eq!(stats.flushed, 2);
    assert_eq!(stats.buffered, 2);
    // The new stream primes afresh and starts with its first packet.
    assert_eq!(h.tick(), Out::Idle);
    h.push_from(OTHER, 502);
    let mut frames = Vec::new();
    for n in 503..510u16 {
        if let Out::Frame(f) = h.tick() {
            frames.push(f);
        }
        h.push_from(OTHER, n);
    }
    assert_eq!(frames, (500..507).collect::<Vec<u16>>());
    // Packets of the old source are now strangers.
    assert_eq!(h.push(10), PushOutcome::Unconfirmed);
}

#[test]
fn a_lone_stray_packet_does_not_disturb_the_stream() {
    let mut h = Harness::new(3, 16);
    let mut frames = Vec::new();
    for n in 0..30u16 {
        h.push(n);
        match n {
            // An old duplicate far behind, a packet from elsewhere, a wild jump.
            10 => assert_eq!(h.push(n.wrapping_sub(1000)), PushOutcome::Unconfirmed),
            15 => assert_eq!(h.push_from(0xBAD, n + 1), PushOutcome::Unconfirmed),
            20 => assert_eq!(h.push(n + 20_000), PushOutcome::Unconfirmed),
            _ => {}
        }
        if let Out::Frame(f) = h.tick() {
            frames.push(f);
        }
    }
    assert_eq!(frames, (0..28).collect::<Vec<u16>>());
    let stats = h.stats();
    assert_eq!(stats.resets, 0);
    // Each stray was replaced by the next one; the last is still held.
    assert_eq!(stats.strays, 2);
}

#[test]
fn a_big_sequence_jump_resets_the_buffer() {
    let mut h = Harness::new(2, 16);
    for n in 0..10u16 {
        h.push(n);
        h.tick();
    }
    assert_eq!(h.push(30_000), PushOutcome::Unconfirmed);
    assert_eq!(h.push(30_001), PushOutcome::Accepted);
    assert_eq!(h.stats().resets, 1);
    assert_eq!(h.tick(), Out::Frame(30_000));
    h.push(30_002);
    assert_eq!(h.tick(), Out::Frame(30_001));
}

#[test]
fn a_timestamp_jump_with_continuous_sequence_resets_the_buffer() {
    let mut h = Harness::new(2, 16);
    for n in 0..10u16 {
        h.push(n);
        h.tick();
    }
    // Same SSRC and next sequence numbers, timestamps from another clock.
    let jumped = |sequence: u16| PacketInfo {
        timestamp: 0x8000_0000u32.wrapping_add(sequence as u32 * 160),
        ..info(sequence, SSRC)
    };
    let now = h.now;
    assert_eq!(
        h.buffer.push(now, &jumped(10), &payload(10, SSRC)),
        PushOutcome::Unconfirmed
    );
    assert_eq!(
        h.buffer.push(now, &jumped(11), &payload(11, SSRC)),
        PushOutcome::Accepted
    );
    assert_eq!(h.stats().resets, 1);
    assert_eq!(h.tick(), Out::Frame(10));
    assert_eq!(h.tick(), Out::Frame(11));
}

#[test]
fn a_jittery_trace_across_a_wrap_an_ssrc_change_and_a_timestamp_jump_plays_in_order() {
    use super::trace::{adaptive, run, send, XorShift};
    let ms = Duration::from_millis(1);
    let mut rng = XorShift(0x6A09_E667_F3BC_C908);
    // 1000 packets from 65_000 (wrapping at 500), then from 500 on a new
    // SSRC with fresh sequence numbers, and from 1200 the same new SSRC
    // with timestamps restarted elsewhere (a source switch).
    let mut arrivals = send(2000, 0.0, 65_000, |_| {
        Some(rng.below(60) as u32 * ms + 10 * ms)
    });
    for a in arrivals.iter_mut() {
        let n = a.info.sequence.wrapping_sub(65_000) as u32;
        if n >= 1000 {
            a.info.ssrc = 0xFACE;
            a.info.sequence = (n - 1000) as u16 + 7;
        }
        if n >= 1200 {
            a.info.timestamp = a.info.timestamp.wrapping_add(0x7000_0000);
        }
    }
    let mut h = adaptive(2, 10);
    let r = run(&mut h, &arrivals, 2050, |tick| tick % 3 == 0);
    let stats = h.stats();
    assert_eq!(stats.resets, 2, "new SSRC, then the timestamp jump");
    // Within each stream the frames come out in order, and almost all of
    // them: only packets reordered across a reset may be missing.
    let frames = r.frames();
    let steps_back = frames
        .windows(2)
        .filter(|w| w[1].wrapping_sub(w[0]) as i16 <= 0)
        .count();
    assert_eq!(steps_back, 1, "one step back: the new stream's start");
    assert!(frames.len() >= 1900, "{} frames played", frames.len());
    assert!(frames.contains(&65_535) && frames.contains(&0));
    // Every packet accepted was played, dropped on purpose or flushed.
    assert_eq!(stats.received, arrivals.len() as u64);
    assert_eq!(
        stats.accepted,
        stats.played
            + stats.overflow_dropped
            + stats.forced_dropped
            + stats.flushed
            + stats.buffered as u64
    );
}
