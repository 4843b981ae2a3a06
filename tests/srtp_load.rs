//! The load generator's SRTP calls: SDES-SRTP callers bridged to a plain
//! RTP echo on a second server, every frame back through both legs.

mod common;

use mediaplane::config::{Application, Config, RouteConfig};
use mediaplane::loadgen::{run, LoadReport, LoadgenArgs};
use mediaplane::media::srtp::SrtpSuite;

use common::{metric, route_first, TestServer};

const CALLS: u32 = 6;

/// A far server echoing plain RTP and a near one bridging SRTP callers
/// to it. The far server keeps the default policy, which refuses SDES
/// keys over UDP signalling: its leg of each call can only be plain RTP.
async fn near_and_far() -> (TestServer, TestServer) {
    let far = TestServer::start(|_: &mut Config| {}).await;
    let target = format!("sip:echo@{}", far.sip_addr());
    let near = TestServer::start(move |c: &mut Config| {
        c.media.srtp.require_secure_signalling = false;
        route_first(
            c,
            RouteConfig::new("^srtp-bridge$", Application::Bridge { target }),
        );
    })
    .await;
    (near, far)
}

async fn srtp_load(near: &TestServer, suite: SrtpSuite) -> LoadReport {
    let args = LoadgenArgs {
        calls: CALLS,
        rate: 50.0,
        duration_s: 2.0,
        srtp: Some(suite),
        ..LoadgenArgs::new(format!("sip:srtp-bridge@{}", near.sip_addr()))
    };
    run(&args).await.unwrap()
}

async fn srtp_calls_reach_a_plain_echo_and_come_back(suite: SrtpSuite) {
    let (near, far) = near_and_far().await;
    let report = srtp_load(&near, suite).await;
    assert_eq!(report.calls_set_up, CALLS, "{report}");
    assert_eq!(report.srtp.as_deref(), Some(suite.as_str()));
    // Each tagged frame went out as SRTP, was relayed as plain RTP, echoed,
    // protected again by the near server and authenticated here.
    assert!(report.packets_sent >= u64::from(CALLS) * 90, "{report}");
    assert!(
        report.echoes_matched * 100 >= report.packets_sent * 97,
        "{report}"
    );
    assert_eq!(report.packets_unauthenticated, 0, "{report}");
    // Loopback loses nothing unless the machine is starved.
    assert!(
        report.packets_lost * 100 <= report.packets_expected,
        "{report}"
    );
    let metrics = near.metrics_text().await;
    assert_eq!(metric(&metrics, "mediaplane_srtp_auth_failures_total"), 0.0);
    assert_eq!(metric(&metrics, "mediaplane_srtp_replays_total"), 0.0);
    assert!(near.ports_released().await, "near ports returned");
    assert!(far.ports_released().await, "far ports returned");
    near.stop().await;
    far.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aes_cm_srtp_load_is_bridged_to_plain_rtp_without_loss() {
    srtp_calls_reach_a_plain_echo_and_come_back(SrtpSuite::AES_CM_128_HMAC_SHA1_80).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aes_gcm_srtp_load_is_bridged_to_plain_rtp_without_loss() {
    srtp_calls_reach_a_plain_echo_and_come_back(SrtpSuite::AEAD_AES_128_GCM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srtp_load_over_udp_is_refused_where_keys_need_tls() {
    let far = TestServer::start(|_: &mut Config| {}).await;
    let args = LoadgenArgs {
        calls: 2,
        rate: 50.0,
        duration_s: 1.0,
        srtp: Some(SrtpSuite::AES_CM_128_HMAC_SHA1_80),
        ..LoadgenArgs::new(format!("sip:echo@{}", far.sip_addr()))
    };
    let report = run(&args).await.unwrap();
    assert_eq!(report.calls_set_up, 0, "{report}");
    assert_eq!(report.failures.get("488"), Some(&2), "{report}");
    far.stop().await;
}
