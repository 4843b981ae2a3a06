//! Fixtures of the bridge tests: a scripted callee behind a `bob` route.

use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::config::{Application, Config, RouteConfig};
use mediaplane::loadgen::simple_sdp::sdp_offer;
use mediaplane::loadgen::ua::{Call, InviteOptions, ReceivedMessage, TestUserAgent};

use super::callee::Callee;
use super::{route_first, TestServer};

pub const WAIT: Duration = Duration::from_secs(5);

/// A server whose `bob` route bridges to `callee`, knowing every codec.
pub async fn server_for(callee: &Callee, tweak: impl FnOnce(&mut RouteConfig)) -> TestServer {
    let target = format!("sip:bob@{}", callee.addr());
    let mut route = RouteConfig::new("^bob$", Application::Bridge { target });
    tweak(&mut route);
    TestServer::start(move |c: &mut Config| {
        c.media.codecs = all_codecs();
        route_first(c, route);
    })
    .await
}

pub fn all_codecs() -> Vec<CodecKind> {
    vec![
        CodecKind::Pcmu,
        CodecKind::Pcma,
        CodecKind::G722,
        CodecKind::Opus,
        CodecKind::TelephoneEvent,
    ]
}

/// A callee in one codec, a server routing `bob` to it, and a caller with
/// a PCMU offer whose RTP goes nowhere (for signalling tests).
pub struct Bridged {
    pub callee: Callee,
    pub server: TestServer,
    pub ua: TestUserAgent,
    pub offer: String,
}

pub async fn bridged(codec: CodecKind, tweak: impl FnOnce(&mut RouteConfig)) -> Bridged {
    let callee = Callee::bind(codec).await;
    let server = server_for(&callee, tweak).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:9".parse().unwrap(), &[CodecKind::Pcmu]);
    Bridged {
        callee,
        server,
        ua,
        offer,
    }
}

/// Calls `bob` without waiting for an answer; returns the call and the
/// INVITE the callee got.
pub async fn ring(
    ua: &TestUserAgent,
    server: &TestServer,
    offer: &str,
    callee: &Callee,
) -> (Call, ReceivedMessage) {
    let call = ua
        .start_invite(&bob(server), offer, &InviteOptions::default())
        .await
        .unwrap();
    (call, callee.expect("INVITE", WAIT).await)
}

/// `offer` with its media direction set to `direction`.
pub fn with_direction(offer: &str, direction: &str) -> String {
    let offer = offer.replace("a=sendrecv", &format!("a={direction}"));
    if offer.contains(&format!("a={direction}")) {
        offer
    } else {
        format!("{offer}a={direction}\r\n")
    }
}

pub fn bob(server: &TestServer) -> String {
    format!("sip:bob@{}", server.sip_addr())
}
