//! Outgoing SIP over TLS and TCP for bridge route targets, over real
//! loopback sockets: a near server bridges a plain-RTP UDP caller to a far
//! server reached by a `sips:` (or `;transport=tcp`) route target, where
//! the echo answers; a far server whose certificate is not trusted is a
//! failed call, counted, that leaves the server serving.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::config::{Application, Config, RouteConfig, SrtpMode};
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::{TestUserAgent, UaError};
use tokio::net::UdpSocket;

use common::callee::{exchange_tone, tone_purity};
use common::tls::TestCertificate;
use common::{echo_call, http_get, metric, route_first, wait_for, TestServer};

const CONNECT_FAILURES: &str = "mediaplane_sip_outgoing_connect_failures_total";
const WAIT: Duration = Duration::from_secs(10);
/// SRTP towards the far server, left to `srtp_require_secure_signalling`'s
/// default (true): allowed because the leg's signalling is TLS.
const MANDATORY: Option<SrtpMode> = Some(SrtpMode::Mandatory);

/// A far server with a TLS listener whose `echo` takes SRTP only.
async fn far_server(certificate: &TestCertificate) -> TestServer {
    let serve = certificate.serve();
    TestServer::start(move |c: &mut Config| {
        serve(c);
        let mut echo = RouteConfig::new("^echo$", Application::Echo);
        echo.srtp.mode = Some(SrtpMode::Mandatory);
        route_first(c, echo);
    })
    .await
}

/// A near server whose `far` route bridges to `target`, trusting
/// `trusted` for TLS, with the outgoing leg's SRTP mode `srtp` (the
/// `[media]` policy, plain RTP allowed, stays the caller's).
async fn near_server(
    target: String,
    trusted: Option<&TestCertificate>,
    srtp: Option<SrtpMode>,
    no_answer_ms: u32,
) -> TestServer {
    let trusted = trusted.map(|t| t.certificate.clone());
    // Our own TLS listener: a TLS target's requests come back to it.
    let own = TestCertificate::new();
    let serve = own.serve();
    TestServer::start(move |c: &mut Config| {
        serve(c);
        if trusted.is_some() {
            c.sip.tls_trusted_certificates = trusted;
        }
        let mut far = RouteConfig::new("^far$", Application::Bridge { target });
        far.srtp.mode = srtp;
        far.no_answer_ms = Some(no_answer_ms);
        route_first(c, far);
    })
    .await
}

async fn calls_of(server: &TestServer) -> String {
    http_get(server.http_addr(), "/api/v1/calls").await.1
}

/// Calls `far` on `near` in plain RTP over UDP, checks a 1 kHz tone comes
/// back through the far echo, then hangs up. `while_up` sees both servers'
/// call lists during the call.
async fn echoed_through(near: &TestServer, far: &TestServer, while_up: impl FnOnce(&str, &str)) {
    let ua = TestUserAgent::bind_udp(near.sip_addr()).await.unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:far@{}", near.sip_addr());
    let mut call = ua
        .invite(&uri, &offer)
        .await
        .expect("the bridged call is answered");
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    assert_eq!(answer.codec, Some(CodecKind::Pcmu));
    let heard = exchange_tone(
        &rtp,
        CodecKind::Pcmu,
        answer.payload_type,
        answer.rtp_addr(),
        1000.0,
        75,
    )
    .await;
    let purity = tone_purity(&heard, 8000, 1000.0, 4000);
    assert!(purity > 0.9, "1000 Hz purity of the echo {purity}");
    while_up(&calls_of(near).await, &calls_of(far).await);

    let ok = call.bye(WAIT).await.expect("BYE answered");
    assert_eq!(ok.status_code(), Some(200));
    // The BYE went on to the far leg: both servers let go of every port.
    assert!(near.ports_released().await, "near ports still in use");
    assert!(far.ports_released().await, "far ports still in use");
    assert!(wait_for(WAIT, || async { calls_of(far).await.trim() == "[]" }).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sips_target_is_reached_over_tls_with_srtp() {
    let certificate = TestCertificate::new();
    let far = far_server(&certificate).await;
    let far_tls = far.sip_tls_addr().unwrap();
    let near = near_server(
        format!("sips:echo@{far_tls}"),
        Some(&certificate),
        MANDATORY,
        5000,
    )
    .await;
    echoed_through(&near, &far, |near_calls, far_calls| {
        // The near server's outgoing leg runs over TLS to the far listener,
        // and the far server took the INVITE over TLS.
        assert!(
            near_calls.contains(&format!("\"TLS:{far_tls}\"")),
            "{near_calls}"
        );
        assert!(far_calls.contains("\"TLS:127.0.0.1:"), "{far_calls}");
        assert!(far_calls.contains("\"echo\""), "{far_calls}");
    })
    .await;
    // The far echo takes SRTP only (an RTP/AVP offer gets 488), and the
    // near server offers SDES keys only over TLS: answered means SRTP.
    let text = near.metrics_text().await;
    assert_eq!(metric(&text, CONNECT_FAILURES), 0.0, "{text}");
    let far_text = far.metrics_text().await;
    assert_eq!(
        metric(&far_text, "mediaplane_srtp_auth_failures_total"),
        0.0
    );
    // A second call reuses the open connection.
    echoed_through(&near, &far, |_, _| {}).await;
    near.stop().await;
    far.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transport_tls_parameter_also_means_tls() {
    let certificate = TestCertificate::new();
    let far = far_server(&certificate).await;
    let far_tls = far.sip_tls_addr().unwrap();
    let target = format!("sip:echo@{far_tls};transport=tls");
    let near = near_server(target, Some(&certificate), MANDATORY, 5000).await;
    echoed_through(&near, &far, |_, far_calls| {
        assert!(far_calls.contains("\"TLS:127.0.0.1:"), "{far_calls}");
    })
    .await;
    near.stop().await;
    far.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_the_call_and_is_counted() {
    let trusted = TestCertificate::new();
    let other = TestCertificate::new();
    let far = far_server(&other).await;
    let far_tls = far.sip_tls_addr().unwrap();
    let near = near_server(
        format!("sips:echo@{far_tls}"),
        Some(&trusted),
        MANDATORY,
        30_000,
    )
    .await;

    let ua = TestUserAgent::bind_udp(near.sip_addr()).await.unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:far@{}", near.sip_addr());
    // The failed handshake fails the outgoing INVITE at once as a 503 (RFC
    // 3261 §8.1.3.1), long before the route's 30 s no-answer time or Timer
    // B; the caller gets 502, as for any 503 of the far side.
    let outcome = tokio::time::timeout(WAIT, ua.invite(&uri, &offer))
        .await
        .expect("a final response well before the no-answer time");
    match outcome {
        Err(UaError::Rejected { status, .. }) => assert_eq!(status, 502),
        Err(e) => panic!("expected a failure response, got {e}"),
        Ok(_) => panic!("a call to an untrusted server was answered"),
    }
    let counted = wait_for(WAIT, || async {
        metric(&near.metrics_text().await, CONNECT_FAILURES) == 1.0
    })
    .await;
    assert!(counted, "{}", near.metrics_text().await);
    assert_eq!(
        calls_of(&far).await.trim(),
        "[]",
        "nothing reached the far echo"
    );

    // The near server still serves.
    let report = echo_call(&near, Duration::from_millis(400)).await;
    assert!(report.echoed_frames > 0, "{report:?}");
    assert!(near.ports_released().await);
    near.stop().await;
    far.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transport_tcp_target_is_reached_over_tcp() {
    // The far server's default `echo` (SRTP optional) on its TCP listener:
    // TCP carries no SDES keys, so the outgoing leg is plain RTP.
    let far = TestServer::start(|_: &mut Config| {}).await;
    let far_tcp: SocketAddr = far.sip_tcp_addr();
    let near = near_server(
        format!("sip:echo@{far_tcp};transport=tcp"),
        None,
        None,
        5000,
    )
    .await;
    echoed_through(&near, &far, |near_calls, far_calls| {
        assert!(
            near_calls.contains(&format!("\"TCP:{far_tcp}\"")),
            "{near_calls}"
        );
        assert!(far_calls.contains("\"TCP:127.0.0.1:"), "{far_calls}");
    })
    .await;
    near.stop().await;
    far.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trusted_certificates_a_tls_target_fails_and_is_counted() {
    let certificate = TestCertificate::new();
    let far = far_server(&certificate).await;
    let far_tls = far.sip_tls_addr().unwrap();
    let target = format!("sips:echo@{far_tls}");
    let own = TestCertificate::new();
    let serve = own.serve();
    let near = TestServer::start(move |c: &mut Config| {
        serve(c);
        c.sip.tls_trusted_certificates = None;
        let mut far = RouteConfig::new("^far$", Application::Bridge { target });
        far.srtp.mode = MANDATORY;
        route_first(c, far);
    })
    .await;
    let ua = TestUserAgent::bind_udp(near.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:9".parse().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:far@{}", near.sip_addr());
    let outcome = tokio::time::timeout(WAIT, ua.invite(&uri, &offer))
        .await
        .expect("a final response well before the no-answer time");
    assert!(
        matches!(outcome, Err(UaError::Rejected { status: 502, .. })),
        "{:?}",
        outcome.err()
    );
    let text = near.metrics_text().await;
    assert_eq!(metric(&text, CONNECT_FAILURES), 1.0, "{text}");
    assert_eq!(calls_of(&far).await.trim(), "[]");
    near.stop().await;
    far.stop().await;
}
