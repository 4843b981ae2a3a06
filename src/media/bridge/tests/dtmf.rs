//! Key presses crossing a bridge to a leg without telephone-event: they
//! go out as inband tones, which a tone detector reads back.

use super::*;
use crate::media::dtmf::{DtmfDetector, DtmfDigit, DtmfEventKind};

/// Plays one RFC 4733 key press into leg A while the call runs: a start
/// packet with the marker, one update per 20 ms, three end packets.
fn press(call: &mut Call, code: u8, seq: &mut u16, timestamp: u32, ms: u32) {
    let clock = call.a.params().codec.clock_rate();
    let pt = call.a.params().telephone_event_pt.unwrap();
    let step = clock * 20 / 1000;
    let total = clock * ms / 1000;
    let mut duration = step;
    let mut first = true;
    while duration < total {
        let d = duration as u16;
        let packet = rtp(
            pt,
            first,
            *seq,
            timestamp,
            9,
            &[code, 10, (d >> 8) as u8, d as u8],
        );
        call.leg_a_receives(&packet);
        *seq = seq.wrapping_add(1);
        first = false;
        duration += step;
        call.run(20, true);
    }
    let d = total as u16;
    for _ in 0..3 {
        let end = rtp(
            pt,
            false,
            *seq,
            timestamp,
            9,
            &[code, 0x80 | 10, (d >> 8) as u8, d as u8],
        );
        call.leg_a_receives(&end);
        *seq = seq.wrapping_add(1);
    }
}

/// The digits a tone detector hears in the callee's audio.
fn heard_digits(call: &Call) -> String {
    let pb = call.b.params().clone();
    let pcm = decode_all(&call.at_callee, pb.codec, pb.payload_type, pb.ptime_ms);
    let mut detector = DtmfDetector::new(pb.codec.audio_rate()).unwrap();
    let mut digits = String::new();
    for frame in pcm.chunks(160) {
        detector.push(frame);
        while let Some(event) = detector.poll_event() {
            if event.kind == DtmfEventKind::Begin {
                digits.push(event.digit.to_char());
            }
        }
    }
    digits
}

fn presses_become_tones(pa: MediaParams, pb: MediaParams) {
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    call.run(200, true);
    let mut seq = 100;
    for (i, key) in "159#".chars().enumerate() {
        let code = DtmfDigit::from_char(key).unwrap().event_code();
        press(&mut call, code, &mut seq, 10_000 + i as u32 * 8_000, 120);
        call.run(200, true);
    }
    assert_eq!(heard_digits(&call), "159#");
    let b = call.b_stats.snapshot();
    assert_eq!(b.events_as_tones, 4, "{b:?}");
    assert_eq!(b.events_dropped, 0);
    assert!(call
        .at_callee
        .iter()
        .all(|p| p[1] & 0x7f == call.b.params().payload_type));
}

#[test]
fn pass_through_presses_go_out_as_tones_on_a_leg_without_events() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcmu, 0, None, 20, remote(CALLEE));
    presses_become_tones(pa, pb);
}

#[test]
fn transcoded_presses_go_out_as_tones_on_a_leg_without_events() {
    let pa = params(CodecKind::Opus, 111, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcma, 8, None, 20, remote(CALLEE));
    presses_become_tones(pa, pb);
}

#[test]
fn audio_around_the_tones_still_passes() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcmu, 0, None, 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    let mut seq = 7;
    call.run(300, true);
    press(&mut call, 5, &mut seq, 50_000, 100);
    let before = call.b_stats.snapshot().forwarded;
    call.run(600, true);
    // Forwarding resumed after the tone and its pause.
    assert!(call.b_stats.snapshot().forwarded >= before + 20);
    let pcm = decode_all(&call.at_callee, CodecKind::Pcmu, 0, 20);
    assert!(tone_snr_db(tail(&pcm, 8000, 0.2), 8000, 1000.0) > 25.0);
    // The stream stays one stream: sequence numbers never step back.
    let seqs: Vec<u16> = call.at_callee.iter().map(|p| header_of(p).2).collect();
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0].wrapping_add(1), "{seqs:?}");
    }
}

#[test]
fn events_that_are_not_keys_are_dropped_and_counted() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcmu, 0, None, 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    // A flash-hook (16) and an empty payload.
    call.leg_a_receives(&rtp(101, true, 1, 0, 9, &[16, 0, 0, 160]));
    call.leg_a_receives(&rtp(101, true, 2, 0, 9, &[]));
    assert!(call.at_callee.is_empty());
    assert_eq!(call.b_stats.snapshot().events_dropped, 2);
    assert_eq!(call.b_stats.snapshot().events_as_tones, 0);
}
