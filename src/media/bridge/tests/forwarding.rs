//! Pass-through forwarding and telephone-event crossing.

use super::*;

#[test]
fn equal_codecs_pass_through_without_decoding() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    // The callee uses another ptime and another event payload type.
    let pb = params(CodecKind::Pcmu, 0, Some(96), 30, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    assert_eq!(call.a.bridge_mode(), Some(BridgeMode::PassThrough));
    call.run(1000, true);
    // Every caller packet reached the callee byte for byte, at once.
    let sent: Vec<Vec<u8>> = {
        let mut phone = Phone::new(call.a.params(), 1000.0, remote(CALLER));
        (0..50).map(|_| phone.next_packet()).collect()
    };
    assert_eq!(call.at_callee.len(), 50);
    let mut first = None;
    for (got, want) in call.at_callee.iter().zip(&sent) {
        assert_eq!(got[12..], want[12..], "payload untouched");
        let (_, pt, seq, ts, ssrc) = header_of(got);
        let (_, _, in_seq, in_ts, _) = header_of(want);
        assert_eq!(pt, 0);
        assert_ne!(ssrc, 0xCAFE, "the leg's own SSRC");
        let (s0, t0, ssrc0) =
            *first.get_or_insert((seq.wrapping_sub(in_seq), ts.wrapping_sub(in_ts), ssrc));
        assert_eq!(
            (seq.wrapping_sub(in_seq), ts.wrapping_sub(in_ts), ssrc),
            (s0, t0, ssrc0)
        );
    }
    assert_eq!(
        call.at_caller.len(),
        33,
        "1000 ms of 30 ms packets the other way"
    );
    for stats in [&call.a_stats, &call.b_stats] {
        let s = stats.snapshot();
        assert_eq!(s.decoded_frames, 0, "{s:?}");
        assert_eq!(s.concealed, 0);
    }
    assert_eq!(call.b_stats.snapshot().forwarded, 50);
    assert_eq!(call.a_stats.snapshot().forwarded, 33);
    assert_eq!(call.a_stats.snapshot().rx_packets, 50);
}

#[test]
fn pass_through_keeps_loss_gaps_and_survives_a_new_ssrc() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    let payload = [0x55u8; 160];
    for (seq, ts, ssrc) in [
        (65_534u16, 0u32, 1u32),
        (65_535, 160, 1),
        (2, 640, 1),    // 0 and 1 lost, across the wrap
        (40, 9_999, 2), // the far end restarted
        (41, 10_159, 2),
    ] {
        let p = rtp(0, false, seq, ts, ssrc, &payload);
        call.leg_a_receives(&p);
        call.run(20, false);
    }
    let headers: Vec<_> = call.at_callee.iter().map(|p| header_of(p)).collect();
    assert_eq!(headers.len(), 5);
    let (s0, t0) = (headers[0].2, headers[0].3);
    assert!(headers[0].0, "marker on the first packet");
    assert_eq!((headers[1].2, headers[1].3), (s0.wrapping_add(1), t0 + 160));
    assert_eq!(
        (headers[2].2, headers[2].3),
        (s0.wrapping_add(4), t0 + 640),
        "gap kept"
    );
    assert_eq!(call.a_stats.snapshot().lost, 2);
    // The new SSRC continues the outgoing stream, with a marker.
    assert!(headers[3].0);
    assert_eq!(headers[3].2, s0.wrapping_add(5));
    assert!(headers[3].3.wrapping_sub(t0) > 640 && headers[3].3.wrapping_sub(t0) < 8000);
    assert_eq!(headers[4].2, s0.wrapping_add(6));
    assert_eq!(headers[4].3, headers[3].3 + 160);
    assert!(headers.iter().all(|h| h.4 == headers[0].4));
}

#[test]
fn events_cross_a_transcoding_bridge_retimed_to_48k_and_mute_audio() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Opus, 111, Some(110), 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    call.run(400, true);
    let audio_before = call.at_callee.len();
    assert!(audio_before > 10);
    let last_audio = header_of(call.at_callee.last().unwrap());
    // Digit 5: start, two updates, three end packets, all with the event's
    // own start timestamp on the caller's 8 kHz clock.
    let start_ts = 123_456u32;
    for (i, (duration, end)) in [
        (160u16, false),
        (480, false),
        (800, false),
        (960, true),
        (960, true),
        (960, true),
    ]
    .into_iter()
    .enumerate()
    {
        let flags = if end { 0x80 | 10 } else { 10 };
        let d = duration.to_be_bytes();
        let p = rtp(
            101,
            i == 0,
            9_000 + i as u16,
            start_ts,
            0xCAFE,
            &[5, flags, d[0], d[1]],
        );
        call.leg_a_receives(&p);
        call.run(20, false);
    }
    let events: Vec<&Vec<u8>> = call
        .at_callee
        .iter()
        .filter(|p| p[1] & 0x7f == 110)
        .collect();
    assert_eq!(events.len(), 6);
    let first = header_of(events[0]);
    assert!(first.0, "marker on the event's first packet");
    // The event starts where the outgoing audio had got to.
    let gap = first.3.wrapping_sub(last_audio.3);
    assert!(
        gap > 0 && gap <= 2 * 960,
        "event at {gap} after the last audio"
    );
    for (p, want) in events
        .iter()
        .zip([960u16, 2_880, 4_800, 5_760, 5_760, 5_760])
    {
        let h = header_of(p);
        assert_eq!(h.3, first.3, "one start timestamp");
        assert_eq!(h.4, last_audio.4, "the leg's SSRC");
        assert_eq!(u16::from_be_bytes([p[14], p[15]]), want, "duration ×6");
        assert_eq!(p[12], 5);
    }
    // One sequence space with the audio.
    let seqs: Vec<u16> = call.at_callee.iter().map(|p| header_of(p).2).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
    // No audio while the event was on (before its end packet).
    let first_event = call
        .at_callee
        .iter()
        .position(|p| p[1] & 0x7f == 110)
        .unwrap();
    let end_event = first_event + 3;
    assert!(call.at_callee[first_event..end_event]
        .iter()
        .all(|p| p[1] & 0x7f == 110));
    assert_eq!(call.b_stats.snapshot().events_forwarded, 6);
    // Audio resumes afterwards, with a marker.
    call.run(200, true);
    let resumed = call.at_callee[end_event..]
        .iter()
        .find(|p| p[1] & 0x7f == 111)
        .unwrap();
    assert!(header_of(resumed).0);
}

#[test]
fn pass_through_events_take_the_audio_rewrite_and_the_peer_payload_type() {
    let pa = params(CodecKind::Pcma, 8, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcma, 8, Some(96), 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    call.leg_a_receives(&rtp(8, true, 10, 1_000, 9, &[0xd5; 160]));
    call.leg_a_receives(&rtp(101, true, 11, 1_160, 9, &[3, 10, 0, 160]));
    let h: Vec<_> = call.at_callee.iter().map(|p| header_of(p)).collect();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].1, 96);
    assert_eq!((h[1].2, h[1].3), (h[0].2.wrapping_add(1), h[0].3 + 160));
    assert_eq!(call.at_callee[1][12..], [3, 10, 0, 160]);
}

#[test]
fn a_re_invite_that_keeps_the_codecs_keeps_the_stream_going() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLEE));
    let mut call = Call::new(pa.clone(), pb.clone(), 1000.0, 500.0);
    call.leg_a_receives(&rtp(0, true, 1, 160, 9, &[0x55; 160]));
    // The callee moved (new address): nothing the link depends on changed.
    let moved = MediaParams {
        remote_rtp: Some(remote("127.0.0.1:7002")),
        ..pb.clone()
    };
    call.b.update(moved.clone(), call.now).unwrap();
    call.a.bridge_to(2, &moved).unwrap();
    call.b.bridge_to(1, &pa).unwrap();
    call.leg_a_receives(&rtp(0, false, 2, 320, 9, &[0x55; 160]));
    let h: Vec<_> = call.at_callee.iter().map(|p| header_of(p)).collect();
    assert_eq!(h.len(), 2);
    assert!(!h[1].0, "no re-base");
    assert_eq!((h[1].2, h[1].3), (h[0].2.wrapping_add(1), h[0].3 + 160));
    // A codec change does rebuild, and re-decides the path.
    let pcma = MediaParams {
        codec: CodecKind::Pcma,
        payload_type: 8,
        ..pa.clone()
    };
    call.a.update(pcma.clone(), call.now).unwrap();
    call.a.bridge_to(2, &moved).unwrap();
    assert_eq!(call.a.bridge_mode(), Some(BridgeMode::Transcode));
}
