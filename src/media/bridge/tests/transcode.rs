//! Transcoding bridges: tone quality both ways, ptime mismatch, codec
//! switches and teardown.

use super::*;
use crate::media::session::Source;

/// Tone through a transcoding bridge both ways, checked at both far ends.
fn transcode_both_ways(pa: MediaParams, pb: MediaParams, min_snr_db: f64) {
    let (ra, rb) = (pa.codec.audio_rate(), pb.codec.audio_rate());
    let mut call = Call::new(pa.clone(), pb.clone(), 1000.0, 500.0);
    assert_eq!(call.a.bridge_mode(), Some(BridgeMode::Transcode));
    call.run(1500, true);
    let at_callee = decode_all(&call.at_callee, pb.codec, pb.payload_type, pb.ptime_ms);
    let at_caller = decode_all(&call.at_caller, pa.codec, pa.payload_type, pa.ptime_ms);
    let label = format!("{:?}→{:?}", pa.codec, pb.codec);
    // All but the start-up delay arrived, as a continuous stream.
    assert!(
        at_callee.len() >= rb as usize * 13 / 10,
        "{label}: {}",
        at_callee.len()
    );
    assert!(
        at_caller.len() >= ra as usize * 13 / 10,
        "{label}: {}",
        at_caller.len()
    );
    let fwd = tail(&at_callee, rb, 1.0);
    let back = tail(&at_caller, ra, 1.0);
    let (snr_fwd, snr_back) = (tone_snr_db(fwd, rb, 1000.0), tone_snr_db(back, ra, 500.0));
    assert!(snr_fwd > min_snr_db, "{label}: 1 kHz SNR {snr_fwd:.1} dB");
    assert!(
        snr_back > min_snr_db,
        "{label}: 500 Hz SNR {snr_back:.1} dB"
    );
    // The level survives (within codec accuracy).
    for (pcm, rate, f) in [(fwd, rb, 1000.0), (back, ra, 500.0)] {
        let amplitude = tone_amplitude(pcm, rate, f);
        assert!(
            (amplitude / AMPLITUDE - 1.0).abs() < 0.2,
            "{label}: amplitude {amplitude:.0}"
        );
    }
    // Sent as one RTP stream: consecutive sequence numbers, a frame of
    // timestamp per packet.
    for (packets, p) in [(&call.at_callee, &pb), (&call.at_caller, &pa)] {
        let step = p.codec.clock_rate() * p.ptime_ms / 1000;
        for w in packets.windows(2) {
            let (h0, h1) = (header_of(&w[0]), header_of(&w[1]));
            assert_eq!(h1.2, h0.2.wrapping_add(1), "{label}");
            assert_eq!(h1.3, h0.3.wrapping_add(step), "{label}");
            assert_eq!(h1.4, h0.4, "{label}");
            assert_eq!(h1.1, p.payload_type, "{label}");
        }
    }
    for stats in [&call.a_stats, &call.b_stats] {
        let s = stats.snapshot();
        assert!(s.decoded_frames > 40, "{label}: {s:?}");
        assert_eq!(s.forwarded, 0);
        assert_eq!(s.bridge_underruns, 0, "{label}");
        assert_eq!(s.bridge_overflows, 0, "{label}");
    }
}

#[test]
fn pcmu_and_opus_transcode_both_ways() {
    transcode_both_ways(
        params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER)),
        params(CodecKind::Opus, 111, Some(110), 20, remote(CALLEE)),
        25.0,
    );
}

#[test]
fn pcmu_and_g722_transcode_both_ways() {
    transcode_both_ways(
        params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER)),
        params(CodecKind::G722, 9, Some(101), 20, remote(CALLEE)),
        30.0,
    );
}

#[test]
fn pcmu_and_pcma_transcode_both_ways() {
    transcode_both_ways(
        params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER)),
        params(CodecKind::Pcma, 8, Some(101), 20, remote(CALLEE)),
        30.0,
    );
}

#[test]
fn different_ptimes_transcode_without_underruns() {
    transcode_both_ways(
        params(CodecKind::G722, 9, Some(101), 30, remote(CALLER)),
        params(CodecKind::Pcma, 8, Some(101), 20, remote(CALLEE)),
        30.0,
    );
}

#[test]
fn wrong_payload_types_and_a_codec_switch_do_not_break_the_call() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLEE));
    let mut call = Call::new(pa.clone(), pb.clone(), 1000.0, 500.0);
    call.run(200, true);
    // Garbage payload types from the caller: counted, not forwarded.
    for pt in [8u8, 9, 96, 127] {
        call.leg_a_receives(&rtp(pt, false, 500, 0, 0xCAFE, &[1, 2, 3]));
    }
    assert_eq!(call.a_stats.snapshot().rx_wrong_payload_type, 4);
    let forwarded = call.b_stats.snapshot().forwarded;
    // A re-INVITE moves the caller to PCMA: the bridge now transcodes.
    let pa2 = MediaParams {
        codec: CodecKind::Pcma,
        payload_type: 8,
        ..pa
    };
    call.a.update(pa2.clone(), call.now).unwrap();
    call.a.bridge_to(2, &pb).unwrap();
    call.b.bridge_to(1, &pa2).unwrap();
    assert_eq!(call.a.bridge_mode(), Some(BridgeMode::Transcode));
    // The caller's phone still sends PCMU for a while (counted, dropped),
    // then switches.
    call.run(100, true);
    call.caller.codec = CodecKind::Pcma;
    call.caller.pt = 8;
    call.caller.encoder = new_encoder(CodecKind::Pcma).unwrap();
    let before = call.at_callee.len();
    call.run(1200, true);
    assert_eq!(
        call.b_stats.snapshot().forwarded,
        forwarded,
        "no more pass-through"
    );
    assert!(call.a_stats.snapshot().rx_wrong_payload_type >= 4 + 5);
    let pcm = decode_all(&call.at_callee[before..], CodecKind::Pcmu, 0, 20);
    let snr = tone_snr_db(tail(&pcm, 8000, 1.0), 8000, 1000.0);
    assert!(snr > 25.0, "PCMA caller heard as PCMU: {snr:.1} dB");
}

#[test]
fn unbridge_silences_the_peer_audio() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::G722, 9, Some(101), 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    call.run(300, true);
    call.a.unbridge();
    call.b.unbridge();
    let (n_caller, n_callee) = (call.at_caller.len(), call.at_callee.len());
    call.run(300, true);
    assert_eq!(
        (call.at_caller.len(), call.at_callee.len()),
        (n_caller, n_callee)
    );
    assert_eq!(call.a.bridge_peer(), None);
    // A bridged source with no bridge is silence too.
    call.a.set_source(Source::Bridge);
    call.run(100, true);
    assert_eq!(call.at_caller.len(), n_caller);
}

#[test]
fn a_prompt_on_a_bridged_leg_pauses_the_peer_audio_until_the_bridge_resumes() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcma, 8, Some(101), 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    call.run(300, true);
    // An announcement to the callee: 5 frames of a constant level.
    call.b.set_source(Source::Prompt {
        samples: Arc::from(vec![1000i16; 800]),
        position: 0,
    });
    let before = call.at_callee.len();
    call.run(200, true);
    let prompt: Vec<i16> = decode_all(&call.at_callee[before..], CodecKind::Pcma, 8, 20);
    assert_eq!(prompt.len(), 800, "the prompt, and nothing of the caller");
    assert!(prompt.iter().all(|&s| (s - 1000).abs() < 40));
    // Back to the bridge: the caller's tone again, on the same stream.
    call.b.set_source(Source::Bridge);
    call.run(1000, true);
    let resumed = decode_all(&call.at_callee[before + 5..], CodecKind::Pcma, 8, 20);
    let snr = tone_snr_db(tail(&resumed, 8000, 0.5), 8000, 1000.0);
    assert!(snr > 30.0, "{snr:.1} dB");
    let seqs: Vec<u16> = call.at_callee.iter().map(|p| header_of(p).2).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
}
