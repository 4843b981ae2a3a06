//! Calls through NAT over loopback: a caller whose SDP names a private
//! address it cannot be reached at, whose media really comes from another
//! address; a phone registered from behind a NAT, reached where its
//! REGISTER came from.

mod common;

use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::config::UserConfig;
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::TestUserAgent;
use tokio::net::UdpSocket;

use common::callee::{exchange_tone_from, tone_purity, Callee};
use common::{metric, TestServer};

const WAIT: Duration = Duration::from_secs(5);

/// A private address nobody on loopback answers at.
const PRIVATE_RTP: &str = "10.0.0.1:4000";

#[tokio::test]
async fn media_from_behind_nat_is_latched_where_it_comes_from_and_strangers_are_not() {
    let server = TestServer::start(|_| {}).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    // The SDP names the private address; the media leaves from a socket on
    // the IP the SIP came from (the NAT's public side), another port.
    let offer = sdp_offer(PRIVATE_RTP.parse().unwrap(), &[CodecKind::Pcmu]);
    let call = ua
        .invite(&format!("sip:echo@{}", server.sip_addr()), &offer)
        .await
        .expect("answered");
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    let server_rtp = answer.rtp_addr();
    let real = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // A stranger on another address sprays the port with its own tone,
    // before and while the real media flows.
    let stranger = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let spray = async {
        exchange_tone_from(&stranger, CodecKind::Pcmu, 0, server_rtp, 1300.0, 0..75).await
    };
    let talk =
        async { exchange_tone_from(&real, CodecKind::Pcmu, 0, server_rtp, 500.0, 0..100).await };
    let (stranger_heard, heard) = tokio::join!(spray, talk);
    // The echo comes back to the real source, with its own tone only.
    let window = 8000;
    assert!(heard.len() > window, "heard {} samples", heard.len());
    let own = tone_purity(&heard, 8000, 500.0, window);
    let foreign = tone_purity(&heard, 8000, 1300.0, window);
    assert!(own > 0.9, "the caller hears its echo: {own:.3}");
    assert!(
        foreign < 0.01,
        "the stranger's audio is not echoed: {foreign:.3}"
    );
    assert!(stranger_heard.is_empty(), "nothing is sent to the stranger");
    let metrics = server.metrics_text().await;
    let dropped = metric(&metrics, "mediaplane_rtp_foreign_source_dropped_total");
    assert!(
        dropped >= 75.0,
        "the stranger's packets are counted: {dropped}"
    );
    let mut call = call;
    call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_phone_registered_from_behind_nat_is_called_where_it_registered_from() {
    let callee = Callee::bind(CodecKind::Pcmu).await;
    let server = TestServer::start(|c| {
        c.users.push(UserConfig::with_password("carol", "carol-pw"));
    })
    .await;
    // The phone's Contact names its private address.
    callee
        .register_as(
            server.sip_addr(),
            "carol",
            "carol-pw",
            "10.0.0.9:5060".parse().unwrap(),
        )
        .await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:carol@{}", server.sip_addr());
    let (call, answered) = tokio::join!(ua.invite(&uri, &offer), callee.answer(WAIT));
    // The INVITE reached the phone's socket, not 10.0.0.9, and still names
    // the private Contact as its Request-URI.
    assert!(
        answered.invite.start_line().contains("10.0.0.9:5060"),
        "{}",
        answered.invite.start_line()
    );
    let mut call = call.expect("answered");
    call.bye(WAIT).await.unwrap();
    server.stop().await;
}

/// Registers a phone with pings of `kind` every second; returns the first
/// datagram the server sends it afterwards.
async fn first_ping(kind: &str) -> String {
    let callee = Callee::bind(CodecKind::Pcmu).await;
    let kind = kind.parse().unwrap();
    let server = TestServer::start(|c| {
        c.users.push(UserConfig::with_password("dave", "dave-pw"));
        c.registrar.keepalive = kind;
        c.registrar.keepalive_interval_s = 1;
    })
    .await;
    callee.register(server.sip_addr(), "dave", "dave-pw").await;
    let mut buf = vec![0u8; 4096];
    let (n, from) = tokio::time::timeout(WAIT, callee.socket.recv_from(&mut buf))
        .await
        .expect("a ping within the interval")
        .unwrap();
    assert_eq!(from, server.sip_addr());
    server.stop().await;
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn registered_contacts_are_pinged_to_keep_their_nat_bindings() {
    assert_eq!(first_ping("crlf").await, "\r\n\r\n");
    let options = first_ping("options").await;
    assert!(options.starts_with("OPTIONS sip:dave@"), "{options}");
}
