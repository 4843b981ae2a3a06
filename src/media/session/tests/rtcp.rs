//! The session's RTCP glue: where reports go, the BYE, and whose RTCP is
//! taken.

use super::*;
use crate::media::session::Via;

const PEER: &str = "127.0.0.1:4000";

fn rtcp_session(now: Instant, mux: bool) -> MediaSession {
    let mut setup = setup(PEER.parse().ok());
    setup.params.rtcp_mux = mux;
    setup.params.remote_rtcp = if mux {
        PEER.parse().ok()
    } else {
        "127.0.0.1:5005".parse().ok()
    };
    setup.rtcp.interval = Duration::from_millis(100);
    MediaSession::new(setup, now, Arc::new(MediaMetrics::default())).unwrap()
}

/// Runs the session's timers for `ms`; the RTCP datagrams sent, with
/// where they went.
fn rtcp_sent(s: &mut MediaSession, now: &mut Instant, ms: u64) -> Vec<(Vec<u8>, SocketAddr, Via)> {
    let until = *now + Duration::from_millis(ms);
    let mut sent = Vec::new();
    while *now < until {
        *now = s.poll_timeout().max(*now);
        s.handle_timeout(*now);
        while let Some(out) = s.poll_transmit(*now) {
            if out.rtcp {
                sent.push((out.datagram.to_vec(), out.to, out.via));
            }
        }
        *now += Duration::from_millis(1);
    }
    sent
}

#[test]
fn reports_go_to_the_rtcp_address_from_the_rtcp_socket() {
    let mut now = Instant::now();
    let mut s = rtcp_session(now, false);
    let sent = rtcp_sent(&mut s, &mut now, 2000);
    assert!(sent.len() >= 2, "reports sent: {}", sent.len());
    for (datagram, to, via) in &sent {
        assert_eq!(*to, "127.0.0.1:5005".parse().unwrap());
        assert_eq!(*via, Via::Rtcp);
        assert_eq!(datagram[1], 201, "a receiver report: we sent nothing");
    }
    assert_eq!(s.stats.snapshot().rtcp_sent, sent.len() as u64);
}

#[test]
fn muxed_reports_go_from_the_rtp_socket_to_the_rtp_address() {
    let mut now = Instant::now();
    let mut s = rtcp_session(now, true);
    let sent = rtcp_sent(&mut s, &mut now, 1000);
    assert!(!sent.is_empty());
    for (_, to, via) in &sent {
        assert_eq!(*to, PEER.parse().unwrap());
        assert_eq!(*via, Via::Rtp);
    }
}

#[test]
fn bye_ends_the_last_compound_and_no_report_follows() {
    let mut now = Instant::now();
    let mut s = rtcp_session(now, false);
    s.bye(now, "call ended");
    let out = s.poll_transmit(now).expect("the BYE compound");
    assert!(out.rtcp);
    let types: Vec<u8> = walk(out.datagram).collect();
    assert_eq!(types.last(), Some(&203), "ends in BYE: {types:?}");
    assert!(s.poll_transmit(now).is_none());
    assert!(rtcp_sent(&mut s, &mut now, 1000).is_empty());
}

/// The packet types of a compound.
fn walk(datagram: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let mut offset = 0;
    std::iter::from_fn(move || {
        let header = datagram.get(offset..offset + 4)?;
        offset += (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1) * 4;
        Some(header[1])
    })
}

/// A receiver report of SSRC 0x1234 about nobody.
fn empty_rr() -> [u8; 8] {
    [0x80, 201, 0, 1, 0, 0, 0x12, 0x34]
}

#[test]
fn rtcp_is_taken_only_from_the_peer() {
    let now = Instant::now();
    let mut s = rtcp_session(now, true);
    let stranger: SocketAddr = "192.0.2.9:4000".parse().unwrap();
    s.handle_rtp(now, stranger, &empty_rr());
    s.handle_rtcp(now, stranger, &empty_rr());
    let stats = s.stats.snapshot();
    assert_eq!(stats.rtcp_received, 0);
    assert_eq!(stats.rx_foreign_source, 2);
    s.handle_rtp(now, PEER.parse().unwrap(), &empty_rr());
    // From the peer's host, any port: its NAT may move the RTCP port.
    s.handle_rtcp(now, "127.0.0.1:61000".parse().unwrap(), &empty_rr());
    let stats = s.stats.snapshot();
    assert_eq!(stats.rtcp_received, 2);
    assert_eq!(stats.rtcp_malformed, 0);
    assert_eq!(stats.rx_garbage, 0);
}

#[test]
fn reports_of_a_sender_count_the_packets_sent() {
    let mut now = Instant::now();
    let mut s = rtcp_session(now, false);
    s.set_source(Source::Loop {
        samples: Arc::from(vec![1000i16; 1600]),
        position: 0,
    });
    let sent = rtcp_sent(&mut s, &mut now, 1000);
    let sr = sent
        .iter()
        .find(|(datagram, _, _)| datagram[1] == 200)
        .expect("a sender report once we send");
    // RFC 3550 §6.4.1: the sender's packet count, after NTP and RTP times.
    let packets = u32::from_be_bytes([sr.0[20], sr.0[21], sr.0[22], sr.0[23]]);
    assert!(packets > 0);
}

/// A sender report of SSRC 0x1234 counting `packets` sent.
fn sender_report(packets: u32) -> [u8; 28] {
    let mut sr = [0u8; 28];
    sr[..8].copy_from_slice(&[0x80, 200, 0, 6, 0, 0, 0x12, 0x34]);
    sr[20..24].copy_from_slice(&packets.to_be_bytes());
    sr
}

/// Runs an answered session (media timeout 2 s) for 5 s of RTP silence,
/// the peer's RTCP arriving every half second; whether it timed out.
fn silent_call_times_out(report: impl Fn(u32) -> Vec<u8>) -> bool {
    let mut now = Instant::now();
    let mut s = rtcp_session(now, false);
    s.answered(now);
    let peer_rtcp: SocketAddr = "127.0.0.1:5005".parse().unwrap();
    for n in 1..=10 {
        let _ = rtcp_sent(&mut s, &mut now, 500);
        s.handle_rtcp(now, peer_rtcp, &report(n));
        if s.poll_event() == Some(SessionEvent::MediaTimeout) {
            return true;
        }
    }
    false
}

#[test]
fn a_peer_reporting_that_it_sends_nothing_is_not_timed_out() {
    // Receiver reports: it sent no RTP lately (RFC 3550 §6.4), e.g.
    // silence suppression.
    assert!(!silent_call_times_out(|_| empty_rr().to_vec()));
    // Sender reports whose packet count stands still say the same.
    assert!(!silent_call_times_out(|_| sender_report(500).to_vec()));
}

#[test]
fn a_peer_claiming_packets_that_never_arrive_is_timed_out() {
    // Its RTP is lost on the way: its reports do not keep the call up.
    assert!(silent_call_times_out(|n| sender_report(n * 25).to_vec()));
}
