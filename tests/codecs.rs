//! Calls in codecs other than G.711, end to end over loopback.

mod common;

use std::time::Duration;

use mediaplane::codec::{new_decoder, new_encoder, CodecKind};
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::TestUserAgent;
use tokio::net::UdpSocket;

use common::TestServer;

fn tone(hz: f64, rate: f64, samples: usize, offset: usize) -> Vec<i16> {
    (offset..offset + samples)
        .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate).sin()) as i16)
        .collect()
}

/// A G.722 caller (16 kHz audio on an 8000 Hz RTP clock, RFC 3551 §4.5.2)
/// calls `echo`: the server answers PT 9, echoes 160-byte frames whose
/// timestamps advance by 160, and the decoded echo is the caller's 1 kHz tone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g722_echo_keeps_wideband_audio_and_the_8000_hz_clock() {
    let server =
        TestServer::start(|c| c.media.codecs = vec![CodecKind::G722, CodecKind::Pcmu]).await;
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer(rtp.local_addr().unwrap(), &[CodecKind::G722]);
    let mut call = ua
        .invite(&format!("sip:echo@{}", server.sip_addr()), &offer)
        .await
        .unwrap();
    let final_response = call.final_response().unwrap().body_text();
    let answer = SdpAnswer::parse(&final_response).unwrap();
    assert_eq!(answer.payload_type, 9, "{final_response}");
    let mut encoder = new_encoder(CodecKind::G722).unwrap();
    let mut decoder = new_decoder(CodecKind::G722).unwrap();
    let mut packet = [0u8; 12 + 160];
    let mut buf = [0u8; 1500];
    let mut echoed = Vec::new();
    let mut timestamps = Vec::new();
    let start = tokio::time::Instant::now();
    for frame in 0..60u32 {
        let pcm = tone(1000.0, 16000.0, 320, frame as usize * 320);
        packet[0] = 0x80;
        packet[1] = 9;
        packet[2..4].copy_from_slice(&(frame as u16).to_be_bytes());
        packet[4..8].copy_from_slice(&(frame * 160).to_be_bytes());
        packet[8..12].copy_from_slice(&0x1234u32.to_be_bytes());
        assert_eq!(encoder.encode(&pcm, &mut packet[12..]).unwrap(), 160);
        rtp.send_to(&packet, answer.rtp_addr()).await.unwrap();
        tokio::time::sleep_until(start + Duration::from_millis(20 * (frame as u64 + 1))).await;
        while let Ok((n, _)) = rtp.try_recv_from(&mut buf) {
            assert_eq!(buf[1] & 0x7f, 9, "echo in G.722");
            assert_eq!(n - 12, 160, "20 ms of G.722 is 160 bytes");
            timestamps.push(u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]));
            let mut out = [0i16; 320];
            decoder.decode(&buf[12..n], &mut out).unwrap();
            echoed.extend_from_slice(&out);
        }
    }
    assert!(
        timestamps.len() >= 50,
        "echoed frames: {}",
        timestamps.len()
    );
    assert!(
        timestamps
            .windows(2)
            .all(|w| w[1].wrapping_sub(w[0]) == 160),
        "timestamps advance by 160 per 20 ms"
    );
    // The steady part of the echo is the 1 kHz tone: about 2000 zero
    // crossings per second at 16 kHz, and most of the caller's level.
    let steady = &echoed[3200..echoed.len() - 320];
    let crossings = steady
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    let seconds = steady.len() as f64 / 16000.0;
    let rate = crossings as f64 / seconds;
    assert!(
        (1900.0..2100.0).contains(&rate),
        "zero crossings per second: {rate}"
    );
    let rms =
        (steady.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / steady.len() as f64).sqrt();
    assert!(rms > 8000.0 / 2f64.sqrt() * 0.8, "echo level {rms}");
    call.bye(Duration::from_secs(3)).await.unwrap();
    server.stop().await;
}
