use super::*;
use crate::codec::g711::{ulaw_decode, ulaw_encode};
use crate::codec::CodecKind;
use crate::media::dtmf::DtmfDigit;
use rtp::header::Header;
use webrtc_util::marshal::Marshal;

mod digits;
mod looping;
mod packet_time;
mod playout;
mod recording;
mod rtcp;

fn setup(remote: Option<SocketAddr>) -> SessionSetup {
    SessionSetup {
        id: 7,
        params: MediaParams {
            codec: CodecKind::Pcmu,
            payload_type: 0,
            telephone_event_pt: Some(101),
            ptime_ms: 20,
            remote_rtp: remote,
            remote_rtcp: None,
            rtcp_mux: false,
            send: true,
            receive: true,
            codec_options: Default::default(),
            srtp: None,
        },
        jitter_delay_ms: 40,
        media_timeout: Duration::from_secs(2),
        stats: Arc::new(SessionStats::default()),
        latching: Default::default(),
        rtcp: Default::default(),
    }
}

fn session(now: Instant) -> MediaSession {
    let remote = "127.0.0.1:4000".parse().ok();
    MediaSession::new(setup(remote), now, Arc::new(MediaMetrics::default())).unwrap()
}

fn rtp(seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let header = Header {
        version: 2,
        payload_type: 0,
        sequence_number: seq,
        timestamp: ts,
        ssrc: 0x1234,
        ..Default::default()
    };
    let mut buf = vec![0u8; 12 + payload.len()];
    let n = header.marshal_to(&mut buf).unwrap();
    buf[n..].copy_from_slice(payload);
    buf
}

/// Runs ticks up to `until`, collecting every datagram sent.
fn run(
    session: &mut MediaSession,
    now: &mut Instant,
    until: Instant,
) -> Vec<(Vec<u8>, SocketAddr)> {
    let mut out = Vec::new();
    while *now < until {
        *now = session.poll_timeout();
        session.handle_timeout(*now);
        while let Some(sent) = session.poll_transmit(*now) {
            if !sent.rtcp {
                out.push((sent.datagram.to_vec(), sent.to));
            }
        }
    }
    out
}

#[test]
fn echo_returns_payload_bytes_through_decode_and_encode() {
    let start = Instant::now();
    let mut now = start;
    let mut s = session(now);
    s.set_source(Source::Echo);
    let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let mut sent = Vec::new();
    let mut echoed = Vec::new();
    for i in 0..20u16 {
        let payload: Vec<u8> = (0..160)
            .map(|k| ((i as usize * 7 + k) % 256) as u8)
            .map(|c| if c == 0x7f { 0x7e } else { c })
            .collect();
        s.handle_rtp(now, from, &rtp(i, i as u32 * 160, &payload));
        sent.push(payload);
        echoed.extend(run(
            &mut s,
            &mut now,
            start + Duration::from_millis(20 * (i as u64 + 1)),
        ));
    }
    echoed.extend(run(&mut s, &mut now, start + Duration::from_millis(600)));
    assert!(
        echoed.iter().all(|(_, to)| *to == from),
        "latched to the source"
    );
    let payloads: Vec<&[u8]> = echoed.iter().map(|(d, _)| &d[12..]).collect();
    // Every frame comes back; after the stream stops, a few concealed frames
    // follow until the playout buffer goes idle.
    assert!(
        (20..=31).contains(&payloads.len()),
        "{} packets",
        payloads.len()
    );
    for (got, want) in payloads.iter().zip(&sent) {
        assert_eq!(got, want);
    }
    // Outgoing sequence numbers are consecutive and timestamps advance by 160.
    let seqs: Vec<u16> = echoed
        .iter()
        .map(|(d, _)| u16::from_be_bytes([d[2], d[3]]))
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
    assert_eq!(s.stats.snapshot().rx_packets, 20);
}

#[test]
fn prompt_plays_frame_by_frame_then_reports_finished() {
    let mut now = Instant::now();
    let start = now;
    let mut s = session(now);
    let samples: Vec<i16> = (0..400)
        .map(|i| ((i * 97) % 20000) as i16 - 10000)
        .collect();
    s.set_source(Source::Prompt {
        samples: Arc::from(samples.clone()),
        position: 0,
    });
    let out = run(&mut s, &mut now, start + Duration::from_millis(200));
    assert_eq!(out.len(), 3, "400 samples = 3 frames, the last padded");
    assert_eq!(
        out[0].1,
        "127.0.0.1:4000".parse().unwrap(),
        "signalled address before latching"
    );
    assert_eq!(out[0].0[1] & 0x80, 0x80, "marker on the first packet");
    let decoded: Vec<i16> = out
        .iter()
        .flat_map(|(d, _)| d[12..].iter().map(|&c| ulaw_decode(c)))
        .collect();
    let expected: Vec<i16> = samples
        .iter()
        .map(|&x| ulaw_decode(ulaw_encode(x)))
        .collect();
    assert_eq!(&decoded[..400], &expected[..]);
    assert!(decoded[400..].iter().all(|&x| x == 0));
    assert_eq!(s.poll_event(), Some(SessionEvent::PlaybackFinished));
    assert_eq!(s.poll_event(), None);
}

#[test]
fn garbage_is_counted_and_not_played() {
    let now = Instant::now();
    let mut s = session(now);
    let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    s.handle_rtp(now, from, b"hello");
    s.handle_rtp(now, from, &[0x40; 40]); // version 1
    let mut padded = rtp(1, 160, &[1, 2, 3]);
    padded[0] |= 0x20;
    *padded.last_mut().unwrap() = 200; // padding longer than the packet
    s.handle_rtp(now, from, &padded);
    let mut wrong_pt = rtp(2, 320, &[0; 160]);
    wrong_pt[1] = 18;
    s.handle_rtp(now, from, &wrong_pt);
    let stats = s.stats.snapshot();
    assert_eq!(stats.rx_garbage, 3);
    assert_eq!(stats.rx_wrong_payload_type, 1);
    assert_eq!(stats.rx_packets, 0);
}

#[test]
fn silence_past_the_media_timeout_raises_one_event() {
    let mut now = Instant::now();
    let start = now;
    let mut s = session(now);
    // Ringing: no timeout however long.
    run(&mut s, &mut now, start + Duration::from_secs(5));
    assert_eq!(s.poll_event(), None, "not armed before the answer");
    let start = now;
    s.answered(now);
    run(&mut s, &mut now, start + Duration::from_millis(1900));
    assert_eq!(s.poll_event(), None);
    run(&mut s, &mut now, start + Duration::from_millis(2100));
    assert_eq!(s.poll_event(), Some(SessionEvent::MediaTimeout));
    run(&mut s, &mut now, start + Duration::from_millis(4000));
    assert_eq!(s.poll_event(), None, "reported once");
}

#[test]
fn a_stalled_worker_skips_ticks_instead_of_bursting() {
    let start = Instant::now();
    let mut s = session(start);
    s.set_source(Source::Prompt {
        samples: Arc::from(vec![100i16; 8000]),
        position: 0,
    });
    let late = start + Duration::from_millis(500);
    s.handle_timeout(late);
    assert!(s.poll_transmit(late).is_some());
    assert!(s.poll_timeout() > late, "next tick after now");
    s.handle_timeout(late);
    assert!(
        s.poll_transmit(late).is_none(),
        "no burst of catch-up packets"
    );
}

#[test]
fn a_stranger_cannot_take_the_latched_stream() {
    let start = Instant::now();
    let mut now = start;
    let mut s = session(now);
    s.set_source(Source::Echo);
    let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let stranger: SocketAddr = "127.0.0.1:6666".parse().unwrap();
    let frame = [0x55u8; 160];
    let mut seq = 0u16;
    let mut sent_to = Vec::new();
    for i in 0..40u64 {
        s.handle_rtp(now, peer, &rtp(seq, seq as u32 * 160, &frame));
        seq += 1;
        let mut hostile = rtp(1000 + i as u16, 99, &frame);
        hostile[8..12].copy_from_slice(&[1, 2, 3, 4]); // another SSRC
        s.handle_rtp(now, stranger, &hostile);
        sent_to.extend(
            run(
                &mut s,
                &mut now,
                start + Duration::from_millis(20 * (i + 1)),
            )
            .into_iter()
            .map(|(_, to)| to),
        );
    }
    assert!(!sent_to.is_empty());
    assert!(
        sent_to.iter().all(|to| *to == peer),
        "never sent to the stranger"
    );
    assert_eq!(s.stats.snapshot().rx_foreign_source, 40);
    // The peer goes quiet for longer than the re-latch guard: a new source
    // (the same peer behind a new NAT binding) takes over.
    let moved: SocketAddr = "127.0.0.1:5002".parse().unwrap();
    let quiet_until = now + super::latching::RELATCH_AFTER + Duration::from_millis(100);
    run(&mut s, &mut now, quiet_until);
    for _ in 0..10 {
        s.handle_rtp(now, moved, &rtp(seq, seq as u32 * 160, &frame));
        seq += 1;
        let until = now + Duration::from_millis(20);
        if let Some((_, to)) = run(&mut s, &mut now, until).into_iter().last() {
            assert_eq!(to, moved);
        }
    }
}

#[test]
fn the_signalled_address_takes_the_stream_from_an_early_latch() {
    // Early media from a losing fork latched first; the answering peer
    // sends from the address its SDP named and must win at once.
    let start = Instant::now();
    let mut now = start;
    let mut s = session(now);
    s.set_source(Source::Echo);
    let loser: SocketAddr = "127.0.0.1:7000".parse().unwrap();
    let signalled: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let frame = [0x55u8; 160];
    s.handle_rtp(now, loser, &rtp(0, 0, &frame));
    let mut sent_to = Vec::new();
    for i in 1..20u16 {
        s.handle_rtp(now, signalled, &rtp(i, i as u32 * 160, &frame));
        s.handle_rtp(now, loser, &rtp(100 + i, 0, &frame));
        let until = start + Duration::from_millis(20 * i as u64);
        sent_to.extend(run(&mut s, &mut now, until).into_iter().map(|(_, to)| to));
    }
    assert!(!sent_to.is_empty());
    assert!(sent_to.iter().all(|to| *to == signalled), "{sent_to:?}");
    assert_eq!(s.stats.snapshot().rx_foreign_source, 19);
}

#[test]
fn latching_follows_the_policy() {
    let start = Instant::now();
    let signalled: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let frame = [0x55u8; 160];
    // Strict: a source other than the SDP's is never taken, even with
    // nothing latched.
    let mut setup = setup(Some(signalled));
    setup.latching = Latching {
        policy: RtpLatching::Strict,
        signalling_ip: None,
    };
    let mut s = MediaSession::new(setup.clone(), start, Arc::default()).unwrap();
    s.handle_rtp(start, "127.0.0.1:4100".parse().unwrap(), &rtp(0, 0, &frame));
    assert_eq!(s.stats.snapshot().rx_foreign_source, 1);
    assert_eq!(s.stats.snapshot().rx_packets, 0);
    // NAT: the SDP names a private address; packets from the signalling's
    // public IP are taken, from any other IP not.
    setup.params.remote_rtp = Some("10.0.0.5:4000".parse().unwrap());
    setup.latching = Latching {
        policy: RtpLatching::Nat,
        signalling_ip: Some("127.0.0.1".parse().unwrap()),
    };
    setup.stats = Arc::default();
    let mut s = MediaSession::new(setup, start, Arc::default()).unwrap();
    s.handle_rtp(start, "127.0.0.2:4000".parse().unwrap(), &rtp(0, 0, &frame));
    assert_eq!(s.stats.snapshot().rx_foreign_source, 1, "another IP");
    s.handle_rtp(
        start,
        "127.0.0.1:61000".parse().unwrap(),
        &rtp(1, 160, &frame),
    );
    assert_eq!(s.stats.snapshot().rx_packets, 1, "the NAT's address");
}
