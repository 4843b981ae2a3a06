//! A real baresip (Debian package `baresip`) for interop tests, run
//! headless on loopback with the configuration in tests/baresip/: it sends
//! a tone from a WAV file and records what it hears to WAV files.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;

use mediaplane::codec::CodecKind;
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::{Call, TestUserAgent};
use tokio::net::UdpSocket;

use super::callee::{exchange_tone, tone_purity};
use super::{http_get, wait_for, TestServer};

pub const WAIT: Duration = Duration::from_secs(5);
pub const RATE: u32 = 8000;

/// A running baresip with its own configuration folder, SIP port, tone
/// and recordings; killed when dropped.
pub struct Baresip {
    pub child: Child,
    pub stdin: ChildStdin,
    /// Everything it printed so far, stdout and stderr interleaved.
    pub output: watch::Receiver<String>,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Baresip {
    /// Starts baresip on a free loopback port with the accounts line
    /// `account` makes of that port, sending a `tone_hz` sine; returns
    /// once it is ready.
    pub async fn start(account: impl FnOnce(u16) -> String, tone_hz: f64) -> Baresip {
        Baresip::start_with(account, tone_hz, "").await
    }

    /// As `start`, with `extra` lines appended to the configuration.
    pub async fn start_with(
        account: impl FnOnce(u16) -> String,
        tone_hz: f64,
        extra: &str,
    ) -> Baresip {
        let dir = tempfile::tempdir().unwrap();
        let port = free_sip_port();
        let tone = dir.path().join("tone.wav");
        super::write_tone(&tone, tone_hz, Duration::from_secs(10), RATE);
        let records = dir.path().join("rec");
        std::fs::create_dir(&records).unwrap();
        let conf = dir.path().join("conf");
        std::fs::create_dir(&conf).unwrap();
        let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/baresip/config");
        let config = std::fs::read_to_string(template)
            .unwrap()
            .replace("@SIP_PORT@", &port.to_string())
            .replace("@TONE_WAV@", tone.to_str().unwrap())
            .replace("@RECORD_DIR@", records.to_str().unwrap())
            + extra;
        std::fs::write(conf.join("config"), config).unwrap();
        std::fs::write(conf.join("accounts"), account(port) + "\n").unwrap();

        let mut child = Command::new("baresip")
            .arg("-f")
            .arg(&conf)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("baresip is installed (scripts/test installs the baresip package)");
        let stdin = child.stdin.take().unwrap();
        let (tx, output) = watch::channel(String::new());
        let tx = Arc::new(tx);
        tokio::spawn(collect(child.stdout.take().unwrap(), tx.clone()));
        tokio::spawn(collect(child.stderr.take().unwrap(), tx));
        let baresip = Baresip {
            child,
            stdin,
            output,
            dir,
            port,
        };
        baresip.wait_output("baresip is ready.", WAIT).await;
        baresip
    }

    pub fn uri(&self) -> String {
        format!("sip:alice@127.0.0.1:{}", self.port)
    }

    /// Waits until baresip has printed `needle`; panics with its output
    /// if it does not in time or exits first.
    pub async fn wait_output(&self, needle: &str, timeout: Duration) {
        let mut output = self.output.clone();
        let seen =
            tokio::time::timeout(timeout, output.wait_for(|text| text.contains(needle))).await;
        if !matches!(seen, Ok(Ok(_))) {
            panic!(
                "baresip did not print {needle:?} within {timeout:?}; its output:\n{}",
                self.output.borrow().as_str()
            );
        }
    }

    /// Types a command line into baresip's console (the stdio module).
    pub async fn command(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The recording the sndfile filter made of the call's audio in
    /// `direction` ("dec": what baresip heard, "enc": what it sent), once
    /// baresip has closed it: it does so just after printing the end of
    /// the call, and only then does the WAV header count every sample.
    pub async fn recording(&self, direction: &str) -> Vec<i16> {
        let records = self.dir.path().join("rec");
        let suffix = format!("-{direction}.wav");
        let find = || -> Option<PathBuf> {
            std::fs::read_dir(&records)
                .ok()?
                .flatten()
                .map(|entry| entry.path())
                .find(|path| path.to_string_lossy().ends_with(&suffix))
        };
        let closed = |path: &Path| -> bool {
            let (Ok(reader), Ok(meta)) = (hound::WavReader::open(path), std::fs::metadata(path))
            else {
                return false;
            };
            let data = u64::from(reader.len()) * 2;
            data > 0 && meta.len().saturating_sub(data) <= 1024
        };
        let done = wait_for(WAIT, || async { find().is_some_and(|path| closed(&path)) }).await;
        assert!(done, "no finished *{suffix} in {}", records.display());
        let path = find().unwrap();
        let mut reader = hound::WavReader::open(&path).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.sample_rate, spec.channels),
            (RATE, 1),
            "{}",
            path.display()
        );
        reader.samples::<i16>().map(|s| s.unwrap()).collect()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// An account `alice` at baresip's own address that does not register
/// (regint=0): calls reach it at that address. `params` are more account
/// parameters, e.g. `answermode=auto;audio_codecs=PCMA`.
///
/// An account that registers with mediaplane's registrar instead names the
/// server in its address and gives the digest credentials:
/// `<sip:alice@127.0.0.1:SERVER_PORT>;auth_user=alice;auth_pass=SECRET;regint=600`.
/// baresip 1.0.0 computes MD5 digests only, and gives up on a 401 that
/// carries a SHA-256 challenge at all, so the registrar must challenge MD5
/// alone (`registrar.algorithms = ["MD5"]`) or the user have only `ha1_md5`.
pub fn direct_account(params: &'static str) -> impl FnOnce(u16) -> String {
    move |port| format!("<sip:alice@127.0.0.1:{port}>;regint=0;{params}")
}

/// Appends what `from` yields to the shared output until it closes.
pub async fn collect(mut from: impl AsyncRead + Unpin, to: Arc<watch::Sender<String>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buf[..n]);
        to.send_modify(|output| output.push_str(&text));
    }
}

/// A loopback port free for the SIP transports baresip opens (UDP and TCP
/// on it, TLS on the next port), released for baresip to take.
pub fn free_sip_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        let Some(next) = port.checked_add(1) else {
            continue;
        };
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        let tls = std::net::TcpListener::bind(("127.0.0.1", next));
        if tcp.is_ok() && tls.is_ok() {
            return port;
        }
    }
}

/// A WAV file of a `hz` sine, 8 kHz mono 16 bit, as aufile reads it.
/// Tone purity over half a second in the middle of `samples`, away from
/// the start (jitter buffer filling) and the end (hang-up).
pub fn purity_mid(samples: &[i16], hz: f64) -> f64 {
    let window = RATE as usize / 2;
    if samples.len() < window {
        return 0.0;
    }
    let start = (samples.len() - window) / 2;
    tone_purity(&samples[start..start + window], RATE, hz, window)
}

pub fn seconds(samples: &[i16]) -> f64 {
    samples.len() as f64 / RATE as f64
}

pub async fn calls(server: &TestServer) -> Vec<Value> {
    let (status, body) = http_get(server.http_addr(), "/api/v1/calls").await;
    assert_eq!(status, 200, "{body}");
    match serde_json::from_str(&body).unwrap() {
        Value::Array(legs) => legs,
        other => panic!("calls is not an array: {other}"),
    }
}

pub fn rx_packets(leg: &Value) -> u64 {
    leg["stats"]["rx_packets"].as_u64().unwrap_or(0)
}

/// Checks that baresip heard its own `hz` tone echoed back, all of it short
/// of what was in flight at the hang-up; the purity and the seconds sent
/// and heard.
pub async fn assert_hears_its_echo(baresip: &Baresip, hz: f64) -> (f64, f64, f64) {
    let sent = baresip.recording("enc").await;
    let heard = baresip.recording("dec").await;
    let purity = purity_mid(&heard, hz);
    assert!(
        purity > 0.8,
        "baresip hears its {hz} Hz echoed: purity {purity:.3} over {:.2} s",
        seconds(&heard)
    );
    let (sent_s, heard_s) = (seconds(&sent), seconds(&heard));
    assert!(
        sent_s >= 2.0 && heard_s >= sent_s - 0.3 && heard_s <= sent_s + 0.1,
        "baresip sent {sent_s:.2} s and heard {heard_s:.2} s back"
    );
    (purity, sent_s, heard_s)
}

/// What a caller's call to the registered baresip gave.
pub struct RegisteredCall {
    /// The caller's user agent, which the call needs alive.
    pub ua: TestUserAgent,
    pub call: Call,
    /// What the caller heard of baresip.
    pub heard: Vec<i16>,
    /// The outgoing leg, to baresip, as `/api/v1/calls` shows it mid-call.
    pub outbound: Value,
}

/// A plain UDP caller in PCMU calls `user` on `server`, which forks it to
/// the registered baresip; once baresip has the call, 100 frames of 1 kHz
/// go each way.
pub async fn call_registered(server: &TestServer, baresip: &Baresip, user: &str) -> RegisteredCall {
    let sip = server.sip_addr();
    let ua = TestUserAgent::bind_udp(sip).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let call = ua
        .invite(&format!("sip:{user}@{sip}"), &offer)
        .await
        .expect("the registered baresip answers");
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    baresip.wait_output("Call established", WAIT).await;
    let heard = exchange_tone(
        &caller_rtp,
        CodecKind::Pcmu,
        answer.payload_type,
        answer.rtp_addr(),
        1000.0,
        100,
    )
    .await;
    let legs = calls(server).await;
    let outbound = legs
        .iter()
        .find(|leg| leg["direction"] == "outbound")
        .cloned()
        .unwrap_or_else(|| panic!("no outbound leg: {legs:?}"));
    RegisteredCall {
        ua,
        call,
        heard,
        outbound,
    }
}

/// Checks that the caller heard baresip's 600 Hz in `heard` and baresip
/// the caller's 1 kHz; the two purities.
pub async fn assert_each_hears_the_other(heard: &[i16], baresip: &Baresip) -> (f64, f64) {
    let caller_purity = tone_purity(heard, RATE, 600.0, RATE as usize / 2);
    assert!(
        caller_purity > 0.8,
        "the caller hears baresip's 600 Hz: purity {caller_purity:.3}"
    );
    let recorded = baresip.recording("dec").await;
    let baresip_purity = purity_mid(&recorded, 1000.0);
    assert!(
        baresip_purity > 0.8,
        "baresip hears the caller's 1 kHz: purity {baresip_purity:.3}"
    );
    (caller_purity, baresip_purity)
}
