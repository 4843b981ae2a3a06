//! Interop with baresip over SIP over TLS with SDES-SRTP (its `srtp`
//! module): baresip calling our echo, and called through a bridge. These
//! tests fail (never skip) when baresip is missing.

mod common;

use mediaplane::config::{Application, Config, RouteConfig, SrtpMode, UserConfig};

use common::baresip::*;
use common::tls::TestCertificate;
use common::{route_first, wait_for, TestServer};

/// baresip calls the echo route over SIP over TLS with SDES-SRTP required
/// on both sides (`mediaenc=srtp-mand`; the route's `srtp = "mandatory"`
/// refuses a plain RTP/AVP offer with 488), and hears its tone back
/// through the encrypted media while no packet fails authentication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_echo_over_tls_with_sdes_srtp() {
    let certificate = TestCertificate::new();
    let serve = certificate.serve();
    let server = TestServer::start(move |c: &mut Config| {
        serve(c);
        let mut echo = RouteConfig::new("^echo$", Application::Echo);
        echo.srtp.mode = Some(SrtpMode::Mandatory);
        route_first(c, echo);
    })
    .await;
    let tls = server.sip_tls_addr().expect("a TLS listener");
    // baresip checks the server's certificate against this one (it is for
    // 127.0.0.1); srtp.so provides the media encryption `srtp-mand`.
    let extra = format!(
        "sip_cafile\t\t{}\nmodule\t\t\tsrtp.so\n",
        certificate.certificate.display()
    );
    let mut baresip = Baresip::start_with(
        direct_account("answermode=manual;mediaenc=srtp-mand"),
        1000.0,
        &extra,
    )
    .await;
    baresip
        .command(&format!("/dial sip:echo@{tls};transport=tls"))
        .await;
    baresip.wait_output("Call established", WAIT).await;
    // baresip's srtp module keyed the stream from our answer's a=crypto.
    baresip
        .wait_output(
            "SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)",
            WAIT,
        )
        .await;

    let shown = wait_for(WAIT, || async {
        calls(&server).await.first().map(rx_packets).unwrap_or(0) >= 100
    })
    .await;
    let legs = calls(&server).await;
    assert!(shown, "the API shows the call receiving SRTP: {legs:?}");
    assert_eq!(legs.len(), 1, "{legs:?}");
    let leg = &legs[0];
    assert_eq!(leg["application"], "echo");
    assert_eq!(leg["direction"], "inbound");
    let remote = leg["remote"].as_str().unwrap_or_default();
    assert!(
        remote.starts_with("TLS:127.0.0.1:"),
        "the call came over TLS: {leg}"
    );
    let echoed = leg["stats"]["tx_packets"].as_u64().unwrap_or(0);
    assert!(echoed + 10 >= rx_packets(leg), "packets echoed: {leg}");
    let metrics = server.metrics_text().await;
    assert_eq!(
        common::metric(&metrics, "mediaplane_srtp_auth_failures_total"),
        0.0,
        "{metrics}"
    );
    assert_eq!(
        common::metric(&metrics, "mediaplane_srtp_replays_total"),
        0.0,
        "{metrics}"
    );

    baresip.command("/hangup").await;
    baresip.wait_output(" terminated (duration:", WAIT).await;
    assert!(
        wait_for(WAIT, || async { calls(&server).await.is_empty() }).await,
        "the call ends with baresip's BYE over TLS"
    );
    let metrics = server.metrics_text().await;
    assert!(
        common::metric(&metrics, "mediaplane_rtp_packets_received_total") >= 100.0,
        "{metrics}"
    );
    assert_eq!(
        common::metric(&metrics, "mediaplane_srtp_auth_failures_total"),
        0.0,
        "no SRTP or SRTCP packet failed authentication: {metrics}"
    );

    let (purity, sent_s, heard_s) = assert_hears_its_echo(&baresip, 1000.0).await;
    println!(
        "over TLS and SRTP baresip hears its 1 kHz echoed with purity {purity:.3}: \
         sent {sent_s:.2} s, heard {heard_s:.2} s"
    );
    baresip.stop().await;
    server.stop().await;
}

/// baresip registers with mediaplane over SIP over TLS (`mediaenc=srtp-mand`)
/// and receives a call to its user, whose SRTP is mandatory: the plain RTP
/// caller reaches it through a bridge whose outbound leg, sent over
/// baresip's TLS connection, offers RTP/SAVP; each side hears the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_registered_over_tls_receives_an_sdes_srtp_call() {
    use mediaplane::sip::registrar::digest::Algorithm;
    let certificate = TestCertificate::new();
    let serve = certificate.serve();
    let server = TestServer::start(move |c: &mut Config| {
        serve(c);
        c.registrar.algorithms = vec![Algorithm::Md5];
        let mut alice = UserConfig::with_password("alice", "alice-secret");
        alice.srtp.mode = Some(SrtpMode::Mandatory);
        c.users.push(alice);
    })
    .await;
    let tls = server.sip_tls_addr().expect("TLS");
    let account = move |_| {
        format!(
            "<sip:alice@{tls};transport=tls>;auth_user=alice;auth_pass=alice-secret;\
             regint=600;answermode=auto;mediaenc=srtp-mand"
        )
    };
    let extra = format!(
        "sip_cafile\t\t{}\nmodule\t\t\tsrtp.so\n",
        certificate.certificate.display()
    );
    let baresip = Baresip::start_with(account, 600.0, &extra).await;
    baresip.wait_output("registered successfully", WAIT).await;

    let RegisteredCall {
        ua: _caller,
        mut call,
        heard,
        outbound,
    } = call_registered(&server, &baresip, "alice").await;
    baresip
        .wait_output("SRTP is Enabled (cryptosuite=", WAIT)
        .await;
    let remote = outbound["remote"].as_str().unwrap_or_default();
    assert!(
        remote.starts_with("TLS:127.0.0.1:"),
        "the call went over TLS: {outbound}"
    );
    assert!(rx_packets(&outbound) >= 80, "SRTP from baresip: {outbound}");
    let ok = call.bye(WAIT).await.expect("BYE answered");
    assert_eq!(ok.status_code(), Some(200));
    baresip.wait_output(" terminated (duration:", WAIT).await;
    let metrics = server.metrics_text().await;
    assert_eq!(
        common::metric(&metrics, "mediaplane_srtp_auth_failures_total"),
        0.0,
        "no SRTP or SRTCP packet failed authentication: {metrics}"
    );

    let (caller_purity, baresip_purity) = assert_each_hears_the_other(&heard, &baresip).await;
    println!(
        "baresip registered over TLS: caller hears 600 Hz with purity {caller_purity:.3}, \
         baresip hears 1 kHz with purity {baresip_purity:.3}"
    );
    baresip.stop().await;
    server.stop().await;
}
