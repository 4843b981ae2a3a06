//! RTCP on a call, over loopback: a raw test peer on an echo call sends RTP
//! and RTCP of its own and reads the server's reports with the `rtcp`
//! crate: loss and round-trip time as the server sees them, rtcp-mux, the
//! BYE at hang-up, and malformed RTCP.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use mediaplane::codec::CodecKind;
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::{Call, TestUserAgent};
use rtcp::goodbye::Goodbye;
use rtcp::packet::Packet;
use rtcp::receiver_report::ReceiverReport;
use rtcp::reception_report::ReceptionReport;
use rtcp::sender_report::SenderReport;
use serde_json::Value;
use tokio::net::UdpSocket;
use webrtc_util::marshal::Marshal;

use common::{http_get, metric, wait_for, TestServer};

const PEER_SSRC: u32 = 0x1234_5678;

/// The server reports every few hundred ms instead of every 5 s.
async fn server() -> TestServer {
    TestServer::start(|c| c.media.rtcp_interval_ms = 200).await
}

/// Where the test peer takes RTCP.
#[derive(Clone, Copy, PartialEq)]
enum RtcpPort {
    /// The port above RTP (RFC 3550 §11).
    Next,
    /// The RTP port (RFC 5761), offered with `a=rtcp-mux`.
    Mux,
    /// A port of its own, offered with `a=rtcp` (RFC 3605).
    Attribute,
}

/// The test peer: an RTP socket and, without rtcp-mux, an RTCP socket.
struct Peer {
    rtp: Arc<UdpSocket>,
    rtcp: Option<UdpSocket>,
    call: Call,
    _ua: TestUserAgent,
    server_rtp: SocketAddr,
    answer_text: String,
    sequence: u16,
}

/// Binds an even RTP port and the odd one above it.
fn bind_pair() -> (std::net::UdpSocket, std::net::UdpSocket) {
    for _ in 0..100 {
        let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = rtp.local_addr().unwrap().port();
        if !port.is_multiple_of(2) || port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = std::net::UdpSocket::bind(("127.0.0.1", port + 1)) {
            return (rtp, rtcp);
        }
    }
    panic!("no free RTP/RTCP port pair");
}

fn tokio_socket(socket: std::net::UdpSocket) -> UdpSocket {
    socket.set_nonblocking(true).unwrap();
    UdpSocket::from_std(socket).unwrap()
}

impl Peer {
    /// Calls the echo route, offering RTCP on `port`.
    async fn call(server: &TestServer, port: RtcpPort) -> Peer {
        let (rtp, mut rtcp) = bind_pair();
        if port == RtcpPort::Attribute {
            rtcp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        }
        let rtp = tokio_socket(rtp);
        let rtcp = (port != RtcpPort::Mux).then(|| tokio_socket(rtcp));
        let mut offer = sdp_offer(rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
        match (port, &rtcp) {
            (RtcpPort::Mux, _) => offer.push_str("a=rtcp-mux\r\n"),
            (RtcpPort::Attribute, Some(socket)) => {
                let port = socket.local_addr().unwrap().port();
                offer.push_str(&format!("a=rtcp:{port}\r\n"));
            }
            _ => {}
        }
        let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
        let uri = format!("sip:echo@{}", server.sip_addr());
        let call = ua.invite(&uri, &offer).await.expect("call answered");
        let answer_text = call.final_response().unwrap().body_text().to_string();
        let server_rtp = SdpAnswer::parse(&answer_text).unwrap().rtp_addr();
        Peer {
            rtp: Arc::new(rtp),
            rtcp,
            call,
            _ua: ua,
            server_rtp,
            answer_text,
            sequence: 1000,
        }
    }

    fn server_rtcp(&self) -> SocketAddr {
        SocketAddr::new(self.server_rtp.ip(), self.server_rtp.port() + 1)
    }

    /// Sends RTP packets `count` sequence numbers on, skipping those `drop`
    /// says, as fast as the socket takes them.
    async fn send_rtp(&mut self, count: u16, drop: impl Fn(u16) -> bool) {
        for index in 0..count {
            let sequence = self.sequence;
            self.sequence = self.sequence.wrapping_add(1);
            if drop(index) {
                continue;
            }
            let packet = rtp_packet(sequence);
            self.rtp.send_to(&packet, self.server_rtp).await.unwrap();
        }
    }

    /// Sends RTP every 20 ms until the flag is cleared.
    fn stream_rtp(&mut self) -> Arc<AtomicBool> {
        let running = Arc::new(AtomicBool::new(true));
        let (flag, socket, to) = (running.clone(), self.rtp.clone(), self.server_rtp);
        let mut sequence = self.sequence;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            while flag.load(Ordering::Relaxed) {
                tick.tick().await;
                let _ = socket.send_to(&rtp_packet(sequence), to).await;
                sequence = sequence.wrapping_add(1);
            }
        });
        running
    }

    /// Sends an RTCP datagram to the server's RTCP port, or its RTP port
    /// when muxed.
    async fn send_rtcp(&self, datagram: &[u8]) {
        match &self.rtcp {
            Some(socket) => socket.send_to(datagram, self.server_rtcp()).await,
            None => self.rtp.send_to(datagram, self.server_rtp).await,
        }
        .unwrap();
    }

    /// The next RTCP compound from the server, parsed: on the RTCP port,
    /// or among the RTP on the RTP port when muxed.
    async fn next_rtcp(&self) -> Vec<Box<dyn Packet + Send + Sync>> {
        let mut buf = [0u8; 1500];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            let read = async {
                match &self.rtcp {
                    Some(socket) => socket.recv_from(&mut buf).await,
                    None => self.rtp.recv_from(&mut buf).await,
                }
            };
            let (n, _) = tokio::time::timeout_at(deadline, read)
                .await
                .expect("RTCP from the server in time")
                .unwrap();
            // RFC 5761 §4: RTCP packet types 200..=204 on a shared port.
            if n >= 2 && (200..=204).contains(&buf[1]) {
                return rtcp::packet::unmarshal(&mut &buf[..n]).expect("well-formed RTCP");
            }
        }
    }
}

fn rtp_packet(sequence: u16) -> [u8; 172] {
    let mut packet = [0xFFu8; 172];
    packet[..12].fill(0);
    packet[0] = 0x80;
    packet[1] = 0; // PCMU
    packet[2..4].copy_from_slice(&sequence.to_be_bytes());
    packet[4..8].copy_from_slice(&(u32::from(sequence) * 160).to_be_bytes());
    packet[8..12].copy_from_slice(&PEER_SSRC.to_be_bytes());
    packet
}

/// The report blocks of a compound's SR or RR, with the reporter's SSRC
/// and, for an SR, its NTP time.
fn blocks(
    packets: &[Box<dyn Packet + Send + Sync>],
) -> Option<(u32, Option<u64>, Vec<ReceptionReport>)> {
    let first = packets.first()?.as_any();
    if let Some(sr) = first.downcast_ref::<SenderReport>() {
        return Some((sr.ssrc, Some(sr.ntp_time), sr.reports.clone()));
    }
    let rr = first.downcast_ref::<ReceiverReport>()?;
    Some((rr.ssrc, None, rr.reports.clone()))
}

fn now_ntp() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let seconds = since.as_secs() + 2_208_988_800;
    (seconds << 32) | ((u64::from(since.subsec_nanos()) << 32) / 1_000_000_000)
}

/// Our Sender Report, as a peer that sends RTP would send it.
fn sender_report(packets: u32) -> Vec<u8> {
    SenderReport {
        ssrc: PEER_SSRC,
        ntp_time: now_ntp(),
        rtp_time: 0,
        packet_count: packets,
        octet_count: packets * 160,
        reports: vec![],
        profile_extensions: Bytes::new(),
    }
    .marshal()
    .unwrap()
    .to_vec()
}

/// Our Receiver Report about the server's stream.
fn receiver_report(block: ReceptionReport) -> Vec<u8> {
    ReceiverReport {
        ssrc: PEER_SSRC,
        reports: vec![block],
        profile_extensions: Bytes::new(),
    }
    .marshal()
    .unwrap()
    .to_vec()
}

/// The call's entry in `GET /api/v1/calls`.
async fn call_entry(server: &TestServer) -> Value {
    let (status, body) = http_get(server.http_addr(), "/api/v1/calls").await;
    assert_eq!(status, 200);
    let calls: Value = serde_json::from_str(&body).unwrap();
    calls[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_show_the_loss_the_peer_caused() {
    let server = server().await;
    let mut peer = Peer::call(&server, RtcpPort::Next).await;
    assert!(!peer.answer_text.contains("a=rtcp-mux"), "not offered");

    // A report from the server starts an interval; the burst after it ends
    // before the next (hundreds of ms away), so that one covers all of it.
    peer.next_rtcp().await;
    // 101 sequence numbers, every 10th dropped: 10 lost; then our SR about
    // them.
    peer.send_rtp(101, |index| index % 10 == 9).await;
    peer.send_rtcp(&sender_report(91)).await;
    let last = u32::from(peer.sequence.wrapping_sub(1));
    let block = loop {
        let packets = peer.next_rtcp().await;
        let (_, _, reports) = blocks(&packets).expect("a compound starts with SR or RR");
        if let Some(block) = reports.iter().find(|b| b.ssrc == PEER_SSRC) {
            if block.last_sequence_number & 0xFFFF == last {
                break block.clone();
            }
        }
    };
    assert_eq!(block.total_lost, 10, "{block:?}");
    // 10 of 101: 25.3/256.
    assert!(
        (25..=26).contains(&block.fraction_lost),
        "fraction lost {}/256",
        block.fraction_lost
    );
    // The server took our SR: its block says when it last heard one.
    assert_ne!(block.last_sender_report, 0, "{block:?}");

    let leg = call_entry(&server).await;
    assert!(leg["quality"]["rtcp_sent"].as_u64().unwrap() >= 2, "{leg}");
    assert!(
        leg["quality"]["rtcp_received"].as_u64().unwrap() >= 1,
        "{leg}"
    );
    let loss = leg["quality"]["loss_rx_percent"].as_f64().unwrap();
    assert!((9.0..=10.5).contains(&loss), "{leg}");
    let metrics = server.metrics_text().await;
    assert!(metric(&metrics, "mediaplane_rtcp_sent_total") >= 2.0);
    assert!(metric(&metrics, "mediaplane_rtcp_received_total") >= 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_time_counts_the_delay_but_not_the_peers_hold() {
    let server = server().await;
    let mut peer = Peer::call(&server, RtcpPort::Next).await;
    // The echo sends while it hears: the server becomes a sender and its
    // reports are SRs.
    let streaming = peer.stream_rtp();
    let (server_ssrc, ntp) = loop {
        let packets = peer.next_rtcp().await;
        if let Some((ssrc, Some(ntp), _)) = blocks(&packets) {
            break (ssrc, ntp);
        }
    };
    let received = Instant::now();
    // 50 ms of network delay the peer does not know about, then 20 ms it
    // held the report itself and says so in DLSR (RFC 3550 §6.4.1).
    tokio::time::sleep(Duration::from_millis(70)).await;
    let held = received.elapsed() - Duration::from_millis(50);
    let block = ReceptionReport {
        ssrc: server_ssrc,
        last_sender_report: (ntp >> 16) as u32,
        delay: (held.as_secs_f64() * 65536.0) as u32,
        ..Default::default()
    };
    peer.send_rtcp(&receiver_report(block)).await;

    let measured = wait_for(Duration::from_secs(3), || async {
        call_entry(&server).await["quality"]["rtt_ms"].is_f64()
    })
    .await;
    let leg = call_entry(&server).await;
    assert!(measured, "no RTT in the API: {leg}");
    let rtt = leg["quality"]["rtt_ms"].as_f64().unwrap();
    assert!((47.0..=58.0).contains(&rtt), "rtt {rtt} ms");
    let metrics = server.metrics_text().await;
    let mean = metric(&metrics, "mediaplane_rtcp_rtt_mean_seconds");
    assert!((0.047..=0.058).contains(&mean), "{metrics}");
    streaming.store(false, Ordering::Relaxed);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtcp_mux_offered_is_answered_and_used_both_ways() {
    let server = server().await;
    let peer = Peer::call(&server, RtcpPort::Mux).await;
    assert!(
        peer.answer_text.contains("a=rtcp-mux"),
        "{}",
        peer.answer_text
    );
    // The server's reports come to our RTP port.
    let packets = peer.next_rtcp().await;
    assert!(blocks(&packets).is_some());
    // Ours, sent to its RTP port, are RTCP there, not garbage.
    peer.send_rtcp(&sender_report(0)).await;
    let taken = wait_for(Duration::from_secs(3), || async {
        call_entry(&server).await["quality"]["rtcp_received"] == 1
    })
    .await;
    let leg = call_entry(&server).await;
    assert!(taken, "{leg}");
    assert_eq!(leg["quality"]["rtcp_malformed"], 0, "{leg}");
    assert_eq!(leg["stats"]["rx_garbage"], 0, "{leg}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_up_sends_an_rtcp_bye() {
    let server = server().await;
    let mut peer = Peer::call(&server, RtcpPort::Next).await;
    let (server_ssrc, _, _) = blocks(&peer.next_rtcp().await).unwrap();
    let ok = peer
        .call
        .bye(Duration::from_secs(3))
        .await
        .expect("BYE answered");
    assert_eq!(ok.status_code(), Some(200));
    let bye = loop {
        let packets = peer.next_rtcp().await;
        if let Some(bye) = packets
            .iter()
            .find_map(|p| p.as_any().downcast_ref::<Goodbye>().cloned())
        {
            break bye;
        }
    };
    assert_eq!(bye.sources, vec![server_ssrc]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rtcp_is_counted_and_the_call_goes_on() {
    let server = server().await;
    let mut peer = Peer::call(&server, RtcpPort::Next).await;
    peer.next_rtcp().await;
    // An RR whose length runs past the datagram, and a compound that does
    // not start with a report (RFC 3550 A.2).
    peer.send_rtcp(&[0x80, 201, 0x00, 0x20, 1, 2, 3, 4]).await;
    peer.send_rtcp(&[0x81, 203, 0x00, 0x01, 0, 0, 0, 1]).await;
    let counted = wait_for(Duration::from_secs(3), || async {
        call_entry(&server).await["quality"]["rtcp_malformed"] == 2
    })
    .await;
    assert!(counted, "{}", call_entry(&server).await);
    let metrics = server.metrics_text().await;
    assert_eq!(metric(&metrics, "mediaplane_rtcp_malformed_total"), 2.0);

    // The call goes on: a good report is taken, the echo comes back.
    peer.send_rtcp(&sender_report(0)).await;
    peer.send_rtp(20, |_| false).await;
    let mut buf = [0u8; 1500];
    let (n, _) = tokio::time::timeout(Duration::from_secs(3), peer.rtp.recv_from(&mut buf))
        .await
        .expect("the echo in time")
        .unwrap();
    assert!(n > 12);
    let taken = wait_for(Duration::from_secs(3), || async {
        call_entry(&server).await["quality"]["rtcp_received"] == 3
    })
    .await;
    assert!(taken, "{}", call_entry(&server).await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_go_to_the_port_the_peers_a_rtcp_names() {
    let server = server().await;
    let peer = Peer::call(&server, RtcpPort::Attribute).await;
    let packets = peer.next_rtcp().await;
    assert!(blocks(&packets).is_some());
    server.stop().await;
}
