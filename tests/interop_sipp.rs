//! Interop with sipp (Debian package `sip-tester`) as the caller, running the
//! committed scenarios in tests/sipp/. sipp fails a call on any unexpected or
//! missing message; these tests fail (never skip) when sipp is missing.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use mediaplane::codec::{new_decoder, CodecKind};
use mediaplane::config::MailboxConfig;

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

/// The speech sipp ships and `voicemail_deposit.xml` leaves as a message.
const SIPP_SPEECH: &str = "/usr/share/sip-tester/g711a.pcap";

/// The audio of a capture of one G.711 A-law RTP stream over Ethernet,
/// IPv4 and UDP (as sipp's recordings are), decoded at 8 kHz.
fn pcap_alaw_audio(path: &str) -> Vec<i16> {
    let data = std::fs::read(path).expect("sipp's recordings are installed with sip-tester");
    let u32_at = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0xa1b2_c3d4, "a little-endian pcap: {path}");
    assert_eq!(u32_at(20), 1, "Ethernet frames: {path}");
    let mut decoder = new_decoder(CodecKind::Pcma).unwrap();
    let mut audio = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let captured = u32_at(at + 8) as usize;
        let frame = &data[at + 16..at + 16 + captured];
        at += 16 + captured;
        let ip = &frame[14..];
        let rtp = &ip[usize::from(ip[0] & 0x0f) * 4 + 8..];
        assert_eq!(rtp[1] & 0x7f, 8, "PCMA packets only: {path}");
        let header = 12 + 4 * usize::from(rtp[0] & 0x0f);
        let mut decoded = [0i16; 960];
        let n = decoder.decode(&rtp[header..], &mut decoded).unwrap();
        audio.extend_from_slice(&decoded[..n]);
    }
    audio
}

/// How many 100 ms windows (at 8 kHz) of `audio` are louder than a mean
/// absolute level of 100 (about -50 dBFS; A-law's quietest step is 8).
fn loud_windows(audio: &[i16]) -> usize {
    audio
        .chunks_exact(800)
        .filter(|window| {
            let level = window
                .iter()
                .map(|&x| u64::from(x.unsigned_abs()))
                .sum::<u64>();
            level / window.len() as u64 > 100
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_leaves_a_voicemail_message() {
    let server = TestServer::start(|c| {
        c.mailboxes = vec![MailboxConfig {
            number: "1001".into(),
            pin: "4321".into(),
            owner: None,
            email: None,
            greeting: None,
            max_messages: 10,
            max_message_s: 60,
        }];
    })
    .await;
    run_sipp(&server, "voicemail_deposit.xml").await;

    // sipp has answered the mailbox's BYE, which follows the saving of the
    // message: everything below is already on disk and counted.
    let inbox = server.data_dir().join("voicemail/1001/INBOX");
    let mut files: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap_or_else(|e| panic!("{}: {e}", inbox.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let json: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(
        json.len(),
        1,
        "one message in {}: {files:?}",
        inbox.display()
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json[0]).unwrap()).unwrap();
    assert_eq!(meta["complete"], true, "{meta}");
    // The scenario offers PCMA, the codec of sipp's speech.
    assert_eq!(meta["codec"], "PCMA", "{meta}");
    assert_eq!(meta["rate_hz"], 8000, "{meta}");

    let speech = pcap_alaw_audio(SIPP_SPEECH);
    let speech_ms = speech.len() as u64 / 8;
    // The recording runs from the beep to the #, which sipp sends right
    // after its speech: not much shorter than the speech (a little of its
    // near-silent start may come before the beep ends), not much longer
    // (the scenario's 0.2 s of margin after the beep and 0.2 s before the
    // #). Had the # been missed, the 5 s silence timeout would have ended
    // it.
    let duration_ms = meta["duration_ms"].as_u64().unwrap();
    assert!(
        duration_ms >= speech_ms * 8 / 10 && duration_ms <= speech_ms + 2000,
        "{duration_ms} ms recorded of {speech_ms} ms sent"
    );

    let wav = json[0].with_extension("wav");
    let mut reader = hound::WavReader::open(&wav).unwrap();
    assert_eq!(reader.spec().sample_rate, 8000);
    let recorded: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    // The speech itself, not silence: about as many loud windows as in
    // what sipp sent (some may be lost to the start before the beep or to
    // the playout buffer's adjustments).
    let sent_loud = loud_windows(&speech);
    let recorded_loud = loud_windows(&recorded);
    assert!(
        recorded_loud * 10 >= sent_loud * 8,
        "{recorded_loud} loud 100 ms windows recorded of {sent_loud} sent"
    );

    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(&metrics, "mediaplane_voicemail_messages_deposited_total"),
        1.0
    );
    let released = server.ports_released().await;
    assert!(released, "ports returned after the mailbox hung up");
    server.stop().await;
}
