use super::*;
use crate::codec::g711::ulaw_decode;
use webrtc_util::marshal::Unmarshal;

/// A UDP socket that returns every datagram to its sender.
async fn echo_socket() -> (SocketAddr, JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let _ = socket.send_to(&buf[..n], from).await;
        }
    });
    (addr, task)
}

#[tokio::test]
async fn frames_are_paced_and_echo_is_captured() {
    let (echo, task) = echo_socket().await;
    let mut stream = RtpStream::bind(RtpStreamOptions::new(CodecKind::Pcmu))
        .await
        .unwrap();
    stream.set_remote(echo);
    let samples: Vec<i16> = (0..FRAME_SAMPLES * 10)
        .map(|i| ((i as i32 * 37) % 20000 - 10000) as i16)
        .collect();
    let started = Instant::now();
    assert_eq!(stream.send_samples(&samples).await.unwrap(), 10);
    // Ten frames leave at 0, 20, ..., 180 ms: no faster than the schedule.
    assert!(started.elapsed() >= Duration::from_millis(180));
    stream
        .wait_for_packets(10, Duration::from_secs(2))
        .await
        .unwrap();

    let expected: Vec<i16> = samples
        .iter()
        .map(|s| ulaw_decode(ulaw_encode(*s)))
        .collect();
    assert_eq!(stream.received_samples(), expected);
    let packets = stream.received_packets();
    assert_eq!(packets.len(), 10);
    assert!(packets[0].marker && !packets[1].marker);
    for pair in packets.windows(2) {
        assert_eq!(pair[1].sequence, pair[0].sequence.wrapping_add(1));
        assert_eq!(pair[1].timestamp, pair[0].timestamp.wrapping_add(160));
    }
    let counters = stream.counters();
    assert_eq!(counters.packets_sent, 10);
    assert_eq!(counters.packets_received, 10);
    assert_eq!(counters.lost, 0);
    assert_eq!(counters.echoes_matched, 0);
    task.abort();
}

#[tokio::test]
async fn tagged_frames_yield_round_trips() {
    let (echo, task) = echo_socket().await;
    let mut stream = RtpStream::bind(RtpStreamOptions::new(CodecKind::Pcma))
        .await
        .unwrap();
    stream.set_remote(echo);
    for expected_tag in 0..5 {
        assert_eq!(stream.send_tagged_frame().await.unwrap(), expected_tag);
    }
    stream
        .wait_for_packets(5, Duration::from_secs(2))
        .await
        .unwrap();
    let counters = stream.counters();
    assert_eq!(counters.echoes_matched, 5);
    let rtts = stream.take_round_trips_us();
    assert_eq!(rtts.len(), 5);
    assert!(rtts.iter().all(|us| *us < 100_000), "{rtts:?}");
    assert!(stream.take_round_trips_us().is_empty());
    assert!(stream.received_packets()[0].round_trip.is_some());
    task.abort();
}

#[tokio::test]
async fn sent_packets_carry_the_configured_header() {
    let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut options = RtpStreamOptions::new(CodecKind::Pcmu);
    options.payload_type = 96;
    let mut stream = RtpStream::bind(options).await.unwrap();
    assert!(matches!(
        stream.send_payload(&[1, 2, 3]).await,
        Err(RtpError::NoRemote)
    ));
    stream.set_remote(receiver.local_addr().unwrap());
    stream.send_payload(&[1, 2, 3]).await.unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(Duration::from_secs(2), receiver.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, stream.local_addr());
    let mut cursor = &buf[..n];
    let header = rtp::header::Header::unmarshal(&mut cursor).unwrap();
    assert_eq!(header.payload_type, 96);
    assert_eq!(header.ssrc, stream.ssrc());
    assert_eq!(cursor, &[1, 2, 3]);
    assert!(matches!(
        stream.send_payload(&[0u8; 2000]).await,
        Err(RtpError::PayloadTooLarge(2000))
    ));
    assert!(matches!(
        stream.set_codec(CodecKind::TelephoneEvent, 101),
        Err(RtpError::UnsupportedCodec(_))
    ));
}

#[tokio::test]
async fn waiting_for_packets_is_bounded() {
    let stream = RtpStream::bind(RtpStreamOptions::new(CodecKind::Pcmu))
        .await
        .unwrap();
    let waited = stream.wait_for_packets(1, Duration::from_millis(50)).await;
    assert!(matches!(waited, Err(RtpError::Timeout { received: 0 })));
}
