//! Interop with sipp (Debian package `sip-tester`) as the caller, running the
//! committed scenarios in tests/sipp/. sipp fails a call on any unexpected or
//! missing message; these tests fail (never skip) when sipp is missing.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use common::{metric, TestServer};

fn free_udp_port() -> u16 {
    // Even, so the RTCP port sipp derives stays next to it.
    loop {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        if port.is_multiple_of(2) && port < 65000 {
            return port;
        }
    }
}

async fn run_sipp(server: &TestServer, scenario: &str) {
    run_sipp_calls(server, scenario, 1).await
}

/// Runs `calls` calls of `scenario` at once.
async fn run_sipp_calls(server: &TestServer, scenario: &str, calls: u32) {
    let calls = calls.to_string();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(scenario);
    let workdir = tempfile::tempdir().unwrap();
    let child = Command::new("sipp")
        .arg(server.sip_addr().to_string())
        .args(["-sf", scenario.to_str().unwrap()])
        .args(["-m", &calls, "-l", &calls, "-i", "127.0.0.1", "-p", "0"])
        .args(["-mp", &free_udp_port().to_string()])
        .args([
            "-timeout",
            "30s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
        ])
        .current_dir(workdir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp is installed (scripts/test installs sip-tester)");
    let output = tokio::time::timeout(Duration::from_secs(40), child.wait_with_output())
        .await
        .expect("sipp finished in time")
        .unwrap();
    let mut errors = String::new();
    for entry in std::fs::read_dir(workdir.path()).unwrap().flatten() {
        errors.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    assert!(
        output.status.success(),
        "sipp {} failed: {:?}\nstderr: {}\nerrors: {errors}",
        scenario.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_calls_echo_with_rtp() {
    let server = TestServer::start(|_| {}).await;
    run_sipp(&server, "echo.xml").await;
    let metrics = server.metrics_text().await;
    // sipp streamed PCMA for 3 s (about 150 packets) and we echoed it.
    let received = metric(&metrics, "mediaplane_rtp_packets_received_total");
    let sent = metric(&metrics, "mediaplane_rtp_packets_sent_total");
    assert!(received >= 100.0, "RTP received from sipp: {received}");
    assert!(sent >= 90.0, "RTP echoed to sipp: {sent}");
    assert_eq!(
        metric(&metrics, "mediaplane_rtp_garbage_dropped_total"),
        0.0
    );
    let released = server.ports_released().await;
    assert!(released, "ports returned after sipp's BYE");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_hears_play_welcome_and_gets_our_bye() {
    let server = TestServer::start(|_| {}).await;
    run_sipp(&server, "play.xml").await;
    let metrics = server.metrics_text().await;
    // The welcome prompt is about 1.6 s: some 80 packets of 20 ms.
    let sent = metric(&metrics, "mediaplane_rtp_packets_sent_total");
    assert!(sent >= 75.0, "prompt packets sent: {sent}");
    assert_eq!(metric(&metrics, "mediaplane_calls_ended_total"), 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_walks_a_menu_with_telephone_events() {
    // Key 1 of `sipp` leads to `sipp-2`, whose key 2 hangs up; both menus
    // would wait 20 s for a key, far past the scenario's 5 s for the BYE.
    let menus = r#"
[[menus]]
name = "sipp"
prompts = ["welcome"]
timeout_ms = 20000
[menus.keys]
"1" = "menu sipp-2"

[[menus]]
name = "sipp-2"
prompts = ["goodbye"]
timeout_ms = 20000
[menus.keys]
"2" = "hangup"
"#;
    let prompts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let server = TestServer::start(common::with_menus(&prompts, menus)).await;
    run_sipp(&server, "ivr_dtmf.xml").await;
    let metrics = server.metrics_text().await;
    assert_eq!(metric(&metrics, "mediaplane_calls_ended_total"), 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sipp_members_talk_in_a_conference_room() {
    let server = TestServer::start(|_| {}).await;
    run_sipp_calls(&server, "conference.xml", 2).await;
    let metrics = server.metrics_text().await;
    assert_eq!(metric(&metrics, "mediaplane_conference_joins_total"), 2.0);
    assert_eq!(metric(&metrics, "mediaplane_conference_leaves_total"), 2.0);
    // Both members' speech was decoded and mixed: each became a speaker.
    let speaking = metric(&metrics, "mediaplane_conference_speaking_starts_total");
    assert!(speaking >= 2.0, "speaking starts: {speaking}");
    // Each heard the room for its three seconds (about 100 packets of
    // 30 ms).
    let sent = metric(&metrics, "mediaplane_rtp_packets_sent_total");
    assert!(sent >= 160.0, "RTP sent to the members: {sent}");
    assert_eq!(
        metric(&metrics, "mediaplane_rtp_garbage_dropped_total"),
        0.0
    );
    let released = server.ports_released().await;
    assert!(released, "ports returned after the members left");
    server.stop().await;
}
