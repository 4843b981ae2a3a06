//! The receive path through the adaptive playout buffer: loss concealed or
//! recovered by FEC, and the delay published.

use super::*;
use crate::codec::opus_codec::{OpusConfig, OpusEncoder, FRAME_SAMPLES, MAX_PAYLOAD};

fn params(codec: CodecKind, payload_type: u8) -> MediaParams {
    MediaParams {
        codec,
        payload_type,
        telephone_event_pt: None,
        ptime_ms: 20,
        remote_rtp: "127.0.0.1:4000".parse().ok(),
        remote_rtcp: None,
        rtcp_mux: false,
        send: true,
        receive: true,
        codec_options: Default::default(),
        srtp: None,
    }
}

fn echo_session(params: MediaParams, now: Instant) -> MediaSession {
    let setup = SessionSetup {
        id: 9,
        params,
        jitter_delay_ms: 40,
        media_timeout: Duration::from_secs(2),
        stats: Arc::new(SessionStats::default()),
        latching: Default::default(),
        rtcp: Default::default(),
    };
    let mut s = MediaSession::new(setup, now, Arc::new(MediaMetrics::default())).unwrap();
    s.set_source(Source::Echo);
    s
}

fn packet(payload_type: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut datagram = rtp(seq, ts, payload);
    datagram[1] = payload_type;
    datagram
}

/// Sends `payloads` one per 20 ms, skipping the indices in `lost`, and runs
/// the session's ticks in between.
fn stream(s: &mut MediaSession, payload_type: u8, payloads: &[Vec<u8>], lost: &[usize]) {
    // The session's own clock origin, so packets land right after its ticks.
    let start = s.poll_timeout() - Duration::from_millis(20);
    let mut now = start;
    let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let per_packet = payloads[0].len().max(160) as u32;
    for (i, payload) in payloads.iter().enumerate() {
        if !lost.contains(&i) {
            let ts = i as u32 * per_packet;
            s.handle_rtp(now, from, &packet(payload_type, i as u16, ts, payload));
        }
        run(
            s,
            &mut now,
            start + Duration::from_millis(20 * (i as u64 + 1)),
        );
    }
}

/// A voiced sound with a pitch of 150 Hz at 48 kHz.
fn voiced_48k(samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|i| {
            let t = i as f64 / 48_000.0;
            let v: f64 = (1..=10)
                .map(|k| (2.0 * std::f64::consts::PI * 150.0 * k as f64 * t).sin() / k as f64)
                .sum();
            (6000.0 * v) as i16
        })
        .collect()
}

#[test]
fn a_lost_opus_frame_is_recovered_from_the_next_packets_fec() {
    let mut encoder = OpusEncoder::new(OpusConfig {
        inband_fec: true,
        packet_loss_percent: 20,
        ..OpusConfig::default()
    })
    .unwrap();
    let pcm = voiced_48k(FRAME_SAMPLES * 30);
    let payloads: Vec<Vec<u8>> = pcm
        .chunks_exact(FRAME_SAMPLES)
        .map(|chunk| {
            let mut out = [0u8; MAX_PAYLOAD];
            let n = encoder.encode(chunk, &mut out).unwrap();
            out[..n].to_vec()
        })
        .collect();
    let mut s = echo_session(params(CodecKind::Opus, 111), Instant::now());
    stream(&mut s, 111, &payloads, &[12]);
    let stats = s.stats.snapshot();
    assert_eq!(stats.lost, 1);
    assert_eq!(stats.recovered, 1, "rebuilt from packet 13's FEC");
    assert_eq!(stats.concealed, 0);
}

#[test]
fn a_lost_g711_frame_is_concealed_and_counted() {
    let payloads: Vec<Vec<u8>> = (0..30u8)
        .map(|i| {
            (0..160)
                .map(|k| (i.wrapping_mul(7)).wrapping_add(k as u8) | 0x80)
                .collect()
        })
        .collect();
    let mut s = echo_session(params(CodecKind::Pcmu, 0), Instant::now());
    stream(&mut s, 0, &payloads, &[7, 15, 22]);
    let stats = s.stats.snapshot();
    assert_eq!(stats.lost, 3);
    assert_eq!(stats.concealed, 3);
    assert_eq!(stats.recovered, 0, "G.711 has no FEC");
}

#[test]
fn the_current_and_target_delay_are_published() {
    let payloads: Vec<Vec<u8>> = (0..30).map(|_| vec![0xD5; 160]).collect();
    let mut s = echo_session(params(CodecKind::Pcmu, 0), Instant::now());
    assert_eq!(s.stats.snapshot().playout_target_ms, 40);
    stream(&mut s, 0, &payloads, &[]);
    let stats = s.stats.snapshot();
    // On time packets: the configured 40 ms, two frames, is all it takes.
    assert_eq!(stats.playout_target_ms, 40);
    // Each packet arrives just after a tick, so it waits that tick out
    // as well: from arrival to the end of its frame's playout is 60 ms.
    assert_eq!(stats.playout_delay_ms, 60);
    assert_eq!(stats.lost + stats.late + stats.delay_dropped, 0);
}

/// Ten packets on time, then a 120 ms stall after which the six held
/// packets arrive together, then on time again; returns the stats after
/// two seconds of it.
fn burst_after_stall(frame: [u8; 160]) -> crate::media::stats::SessionStatsSnapshot {
    let mut s = echo_session(params(CodecKind::Pcmu, 0), Instant::now());
    let start = s.poll_timeout() - Duration::from_millis(20);
    let mut now = start;
    let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    for tick in 0..100u32 {
        let due: Vec<u32> = match tick {
            0..10 => vec![tick],
            10..16 => vec![],
            16 => (10..=16).collect(),
            _ => vec![tick],
        };
        for n in due {
            s.handle_rtp(now, from, &rtp(n as u16, n * 160, &frame));
        }
        run(
            &mut s,
            &mut now,
            start + Duration::from_millis(20 * (tick as u64 + 1)),
        );
    }
    s.stats.snapshot()
}

#[test]
fn a_burst_is_played_down_to_the_target_in_quiet_frames_only() {
    // μ-law 0xFF is digital silence: the extra delay is dropped in it.
    let quiet = burst_after_stall([0xFF; 160]);
    // The late burst taught the buffer a target of three frames; the six
    // frames of delay the stall added above that were dropped.
    assert_eq!(quiet.playout_target_ms, 60);
    assert_eq!(quiet.delay_dropped, 6);
    assert_eq!(quiet.playout_delay_ms, 60);
    // A loud frame is never dropped: the delay stays where the burst put it.
    let loud = burst_after_stall([0x20; 160]);
    assert_eq!(loud.delay_dropped, 0);
    assert_eq!(loud.playout_delay_ms, 180);
    // The stall itself: six ticks concealed, in both.
    assert_eq!((quiet.lost, loud.lost), (6, 6));
}
