//! A message is never lost: the server process is killed with SIGKILL in
//! the middle of a 30 s recording; after a restart the message is in the
//! mailbox with its audio up to at least one second before the kill.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mediaplane::codec::CodecKind;
use mediaplane::loadgen::simple_sdp::{sdp_offer, OfferFormat, SdpAnswer};
use mediaplane::loadgen::ua::TestUserAgent;

use common::keypad::Keypad;

const RATE: u32 = 8000;

struct Running {
    child: Child,
    sip: SocketAddr,
    http: SocketAddr,
}

/// Starts the server binary on `config`; returns once it says where it
/// listens.
fn start(config: &Path) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_mediaplane"))
        .arg("--config")
        .arg(config)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("the server starts");
    let unset = SocketAddr::from(([0, 0, 0, 0], 0));
    let mut running = Running {
        child,
        sip: unset,
        http: unset,
    };
    let stderr = running.child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let field = |line: &str, key: &str| -> Option<SocketAddr> {
        let start = line.find(key)? + key.len();
        let rest = &line[start..];
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        rest[..end].parse().ok()
    };
    loop {
        let line = lines
            .next()
            .expect("the server logs its start")
            .expect("readable log");
        if line.contains("mediaplane started") {
            running.sip = field(&line, "sip_udp=").expect("SIP address logged");
            running.http = field(&line, "http=").expect("HTTP address logged");
            // Keep draining the log so the server never blocks on it.
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return running;
        }
    }
}

impl Drop for Running {
    /// A failed test leaves no server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tone(hz: f64, seconds: f64) -> Vec<i16> {
    (0..(seconds * f64::from(RATE)) as usize)
        .map(|i| {
            (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(RATE)).sin()) as i16
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_cut_by_sigkill_is_a_message_after_restart() {
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("mediaplane.toml");
    let prompts = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts");
    std::fs::write(
        &config,
        format!(
            "[sip]\nudp_listen = \"127.0.0.1:0\"\ntcp_listen = \"127.0.0.1:0\"\n\
             [http]\nlisten = \"127.0.0.1:0\"\n\
             [media]\nbind_address = \"127.0.0.1\"\nrtp_port_min = 30000\nrtp_port_max = 30999\n\
             [storage]\ndata_dir = {:?}\n[prompts]\ndir = {prompts:?}\n\
             [voicemail]\nsilence_timeout_s = 0\n\
             [[mailboxes]]\nnumber = \"1001\"\npin = \"1\"\nmax_message_s = 60\n",
            data.path().join("data").display().to_string(),
        ),
    )
    .unwrap();
    let mut server = start(&config);

    let ua = TestUserAgent::bind_udp(server.sip).await.unwrap();
    let event_pt = OfferFormat::new(CodecKind::TelephoneEvent).payload_type;
    let mut caller = Keypad::bind(CodecKind::Pcmu, 0, event_pt).await;
    let offer = sdp_offer(caller.addr(), &[CodecKind::Pcmu, CodecKind::TelephoneEvent]);
    let call = ua
        .invite(&format!("sip:vm-1001@{}", server.sip), &offer)
        .await
        .expect("the mailbox answers");
    let answer = SdpAnswer::parse(&String::from_utf8_lossy(
        call.final_response().unwrap().body(),
    ))
    .unwrap();
    caller.connect(answer.rtp_addr());
    let inbox = data.path().join("data/voicemail/1001/INBOX");
    // Recording has begun once the message's file exists.
    let started = Instant::now();
    while !std::fs::read_dir(&inbox)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".wav.part"))
        })
        .unwrap_or(false)
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "recording never started"
        );
        caller.listen(Duration::from_millis(100)).await;
    }
    // 12 s of a 30 s message, then the process dies mid-sentence.
    let sent_from = Instant::now();
    caller.speak(&tone(440.0, 12.0)).await;
    let sent = sent_from.elapsed();
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    // Restart: the message is recovered before calls are taken.
    let restarted = start(&config);
    let wavs: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    assert_eq!(
        wavs.len(),
        1,
        "one recovered message in {}",
        inbox.display()
    );
    let mut reader = hound::WavReader::open(&wavs[0]).expect("a playable WAV");
    assert_eq!(reader.spec().sample_rate, RATE);
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let recorded = Duration::from_millis(samples.len() as u64 * 1000 / u64::from(RATE));
    assert!(
        recorded + Duration::from_secs(1) >= sent,
        "{recorded:?} recorded of {sent:?} sent before the kill"
    );
    // It is the tone that was sent, not silence.
    let loud = samples
        .chunks(800)
        .filter(|w| w.iter().map(|&x| i64::from(x).abs()).sum::<i64>() / w.len() as i64 > 3000);
    assert!(loud.count() as f64 >= recorded.as_secs_f64() * 10.0 - 15.0);

    // The store lists it, completed by the recovery.
    let (status, body) = common::http_get(restarted.http, "/api/v1/mailboxes/1001/messages").await;
    assert_eq!(status, 200, "{body}");
    let listing: serde_json::Value = serde_json::from_str(&body).unwrap();
    let messages = listing["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{body}");
    assert_eq!(messages[0]["recovered"], true);
    let listed_ms = messages[0]["duration_ms"].as_u64().unwrap();
    assert!(
        listed_ms.abs_diff(recorded.as_millis() as u64) <= 20,
        "{body}"
    );
    drop(restarted);
}
