//! Interop with baresip (Debian package `baresip`), a real SIP user agent,
//! run headless on loopback with the configuration in tests/baresip/: it
//! sends a tone from a WAV file and records what it hears to WAV files.
//! These tests fail (never skip) when baresip is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::config::{Application, Config, RouteConfig, SrtpMode, UserConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::TestUserAgent;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;

use common::callee::{exchange_tone, tone_purity};
use common::tls::TestCertificate;
use common::{http_get, route_first, wait_for, TestServer};

const WAIT: Duration = Duration::from_secs(5);
const RATE: u32 = 8000;

/// A running baresip with its own configuration folder, SIP port, tone
/// and recordings; killed when dropped.
struct Baresip {
    child: Child,
    stdin: ChildStdin,
    /// Everything it printed so far, stdout and stderr interleaved.
    output: watch::Receiver<String>,
    dir: tempfile::TempDir,
    port: u16,
}

impl Baresip {
    /// Starts baresip on a free loopback port with the accounts line
    /// `account` makes of that port, sending a `tone_hz` sine; returns
    /// once it is ready.
    async fn start(account: impl FnOnce(u16) -> String, tone_hz: f64) -> Baresip {
        Baresip::start_with(account, tone_hz, "").await
    }

    /// As `start`, with `extra` lines appended to the configuration.
    async fn start_with(account: impl FnOnce(u16) -> String, tone_hz: f64, extra: &str) -> Baresip {
        let dir = tempfile::tempdir().unwrap();
        let port = free_sip_port();
        let tone = dir.path().join("tone.wav");
        common::write_tone(&tone, tone_hz, Duration::from_secs(10), RATE);
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

    fn uri(&self) -> String {
        format!("sip:alice@127.0.0.1:{}", self.port)
    }

    /// Waits until baresip has printed `needle`; panics with its output
    /// if it does not in time or exits first.
    async fn wait_output(&self, needle: &str, timeout: Duration) {
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
    async fn command(&mut self, line: &str) {
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
    async fn recording(&self, direction: &str) -> Vec<i16> {
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

    async fn stop(mut self) {
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
fn direct_account(params: &'static str) -> impl FnOnce(u16) -> String {
    move |port| format!("<sip:alice@127.0.0.1:{port}>;regint=0;{params}")
}

/// Appends what `from` yields to the shared output until it closes.
async fn collect(mut from: impl AsyncRead + Unpin, to: Arc<watch::Sender<String>>) {
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
fn free_sip_port() -> u16 {
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
fn purity_mid(samples: &[i16], hz: f64) -> f64 {
    let window = RATE as usize / 2;
    if samples.len() < window {
        return 0.0;
    }
    let start = (samples.len() - window) / 2;
    tone_purity(&samples[start..start + window], RATE, hz, window)
}

fn seconds(samples: &[i16]) -> f64 {
    samples.len() as f64 / RATE as f64
}

async fn calls(server: &TestServer) -> Vec<Value> {
    let (status, body) = http_get(server.http_addr(), "/api/v1/calls").await;
    assert_eq!(status, 200, "{body}");
    match serde_json::from_str(&body).unwrap() {
        Value::Array(legs) => legs,
        other => panic!("calls is not an array: {other}"),
    }
}

fn rx_packets(leg: &Value) -> u64 {
    leg["stats"]["rx_packets"].as_u64().unwrap_or(0)
}

/// baresip is the called party of a bridged call: a caller offering only
/// PCMU reaches it through mediaplane, baresip answers in PCMA only, and
/// each hears the other's tone through the transcoding bridge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_answers_a_bridged_call_in_another_codec() {
    let baresip = Baresip::start(direct_account("answermode=auto;audio_codecs=PCMA"), 600.0).await;
    let route = RouteConfig::new(
        "^alice$",
        Application::Bridge {
            target: baresip.uri(),
        },
    );
    let server = TestServer::start(move |c: &mut Config| {
        c.media.codecs = vec![CodecKind::Pcmu, CodecKind::Pcma, CodecKind::TelephoneEvent];
        route_first(c, route);
    })
    .await;

    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:alice@{}", server.sip_addr());
    let mut call = ua.invite(&uri, &offer).await.expect("baresip answers");
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    assert_eq!(answer.codec, Some(CodecKind::Pcmu));
    baresip.wait_output("Call established", WAIT).await;

    // Two seconds of 1 kHz from the caller while collecting baresip's tone.
    let heard = exchange_tone(
        &caller_rtp,
        CodecKind::Pcmu,
        answer.payload_type,
        answer.rtp_addr(),
        1000.0,
        100,
    )
    .await;
    let legs = calls(&server).await;
    assert_eq!(legs.len(), 2, "{legs:?}");
    let leg = |direction: &str| {
        legs.iter()
            .find(|leg| leg["direction"] == direction)
            .unwrap_or_else(|| panic!("no {direction} leg: {legs:?}"))
    };
    let (inbound, outbound) = (leg("inbound"), leg("outbound"));
    assert_eq!(inbound["codec"], "PCMU", "{inbound}");
    assert_eq!(
        outbound["codec"], "PCMA",
        "baresip answered PCMA: {outbound}"
    );
    assert_eq!(outbound["bridged_with"], inbound["id"]);
    assert_eq!(
        outbound["remote"],
        format!("UDP:127.0.0.1:{}", baresip.port),
        "{outbound}"
    );
    assert!(rx_packets(outbound) >= 80, "RTP from baresip: {outbound}");

    let ok = call.bye(WAIT).await.expect("BYE answered");
    assert_eq!(ok.status_code(), Some(200));
    baresip.wait_output(" terminated (duration:", WAIT).await;
    assert!(
        wait_for(WAIT, || async { calls(&server).await.is_empty() }).await,
        "both legs end"
    );

    let caller_purity = tone_purity(&heard, RATE, 600.0, RATE as usize / 2);
    assert!(
        caller_purity > 0.8,
        "the caller hears baresip's 600 Hz: purity {caller_purity:.3} over {} samples",
        heard.len()
    );
    let recorded = baresip.recording("dec").await;
    let baresip_purity = purity_mid(&recorded, 1000.0);
    assert!(
        baresip_purity > 0.8,
        "baresip recorded the caller's 1 kHz: purity {baresip_purity:.3} over {:.2} s",
        seconds(&recorded)
    );
    // It heard the caller's 100 frames of 20 ms, no more and little less.
    let heard_s = seconds(&recorded);
    assert!(
        (1.7..=2.3).contains(&heard_s),
        "baresip recorded {heard_s:.2} s of the caller's 2 s"
    );
    println!(
        "caller hears 600 Hz with purity {caller_purity:.3}; \
         baresip hears 1 kHz with purity {baresip_purity:.3} over {heard_s:.2} s"
    );
    baresip.stop().await;
    server.stop().await;
}

/// baresip is the caller: it dials the echo route and hears its own tone
/// back, while the admin API shows the call and its packets growing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_echo_and_hears_its_tone() {
    let server = TestServer::start(|_| {}).await;
    let mut baresip = Baresip::start(direct_account("answermode=manual"), 800.0).await;
    baresip
        .command(&format!("/dial sip:echo@{}", server.sip_addr()))
        .await;
    baresip.wait_output("Call established", WAIT).await;

    let first = std::cell::Cell::new(0);
    let shown = wait_for(WAIT, || async {
        let legs = calls(&server).await;
        first.set(legs.first().map(rx_packets).unwrap_or(0));
        legs.len() == 1 && first.get() >= 25
    })
    .await;
    let first = first.get();
    assert!(
        shown,
        "the API shows one call receiving RTP: {:?}",
        calls(&server).await
    );
    let grown = wait_for(WAIT, || async {
        calls(&server).await.first().map(rx_packets).unwrap_or(0) >= first + 75
    })
    .await;
    let legs = calls(&server).await;
    assert!(grown, "rx packets grow past {first} + 75: {legs:?}");
    let leg = &legs[0];
    assert_eq!(leg["application"], "echo");
    assert_eq!(leg["direction"], "inbound");
    assert_eq!(leg["codec"], "PCMU", "PCMU, first on both sides: {leg}");
    assert_eq!(leg["remote"], format!("UDP:127.0.0.1:{}", baresip.port));
    let remote_rtp = leg["remote_rtp"].as_str().unwrap_or_default();
    assert!(remote_rtp.starts_with("127.0.0.1:"), "{leg}");
    let echoed = leg["stats"]["tx_packets"].as_u64().unwrap_or(0);
    assert!(echoed + 10 >= rx_packets(leg), "packets echoed: {leg}");

    baresip.command("/hangup").await;
    baresip.wait_output(" terminated (duration:", WAIT).await;
    assert!(
        wait_for(WAIT, || async { calls(&server).await.is_empty() }).await,
        "the call ends with baresip's BYE"
    );

    let sent = baresip.recording("enc").await;
    let heard = baresip.recording("dec").await;
    let purity = purity_mid(&heard, 800.0);
    assert!(
        purity > 0.8,
        "baresip hears its 800 Hz echoed: purity {purity:.3} over {:.2} s",
        seconds(&heard)
    );
    // Everything it sent came back, short of what was in flight at the
    // hang-up.
    let (sent_s, heard_s) = (seconds(&sent), seconds(&heard));
    assert!(
        sent_s >= 2.0 && heard_s >= sent_s - 0.3 && heard_s <= sent_s + 0.1,
        "baresip sent {sent_s:.2} s and heard {heard_s:.2} s back"
    );
    println!("baresip hears its 800 Hz echoed with purity {purity:.3}: sent {sent_s:.2} s, heard {heard_s:.2} s");
    baresip.stop().await;
    server.stop().await;
}

/// baresip registers with mediaplane's registrar (digest MD5: baresip 1.0
/// gives up on a 401 carrying any challenge it cannot compute, so the
/// registrar is set to challenge MD5 alone with `registrar.algorithms`) and then receives a call to its
/// user, forked to the contact it registered, bridged and answered
/// automatically; each side hears the other's tone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_registers_with_digest_and_receives_a_call_to_its_user() {
    use mediaplane::sip::registrar::digest::Algorithm;
    let server = TestServer::start(|c: &mut Config| {
        c.registrar.algorithms = vec![Algorithm::Md5];
        c.users
            .push(UserConfig::with_password("alice", "alice-secret"));
    })
    .await;
    let sip = server.sip_addr();
    let account = move |_| {
        format!(
            "<sip:alice@{sip}>;auth_user=alice;auth_pass=alice-secret;regint=600;answermode=auto"
        )
    };
    let baresip = Baresip::start(account, 600.0).await;
    baresip.wait_output("registered successfully", WAIT).await;
    let metrics = server.metrics_text().await;
    assert_eq!(
        common::metric(&metrics, "mediaplane_registrations_active"),
        1.0,
        "{metrics}"
    );
    assert!(common::metric(&metrics, "mediaplane_registrar_challenges_total") >= 1.0);

    let ua = TestUserAgent::bind_udp(sip).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let mut call = ua
        .invite(&format!("sip:alice@{sip}"), &offer)
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
    let legs = calls(&server).await;
    let outbound = legs
        .iter()
        .find(|leg| leg["direction"] == "outbound")
        .unwrap_or_else(|| panic!("no outbound leg: {legs:?}"));
    assert_eq!(
        outbound["remote"],
        format!("UDP:127.0.0.1:{}", baresip.port),
        "the call went to the registered contact: {outbound}"
    );
    let ok = call.bye(WAIT).await.expect("BYE answered");
    assert_eq!(ok.status_code(), Some(200));
    baresip.wait_output(" terminated (duration:", WAIT).await;

    let caller_purity = tone_purity(&heard, RATE, 600.0, RATE as usize / 2);
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
    println!(
        "registered baresip: caller hears 600 Hz with purity {caller_purity:.3}, \
         baresip hears 1 kHz with purity {baresip_purity:.3}"
    );
    baresip.stop().await;
    server.stop().await;
}

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

    let sent = baresip.recording("enc").await;
    let heard = baresip.recording("dec").await;
    let purity = purity_mid(&heard, 1000.0);
    assert!(
        purity > 0.8,
        "baresip hears its 1 kHz echoed through SRTP: purity {purity:.3} over {:.2} s",
        seconds(&heard)
    );
    let (sent_s, heard_s) = (seconds(&sent), seconds(&heard));
    assert!(
        sent_s >= 2.0 && heard_s >= sent_s - 0.3 && heard_s <= sent_s + 0.1,
        "baresip sent {sent_s:.2} s and heard {heard_s:.2} s back"
    );
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
    let (sip, tls) = (server.sip_addr(), server.sip_tls_addr().expect("TLS"));
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

    let ua = TestUserAgent::bind_udp(sip).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let mut call = ua
        .invite(&format!("sip:alice@{sip}"), &offer)
        .await
        .expect("the registered baresip answers");
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    baresip.wait_output("Call established", WAIT).await;
    baresip
        .wait_output("SRTP is Enabled (cryptosuite=", WAIT)
        .await;
    let heard = exchange_tone(
        &caller_rtp,
        CodecKind::Pcmu,
        answer.payload_type,
        answer.rtp_addr(),
        1000.0,
        100,
    )
    .await;
    let legs = calls(&server).await;
    let outbound = legs
        .iter()
        .find(|leg| leg["direction"] == "outbound")
        .unwrap_or_else(|| panic!("no outbound leg: {legs:?}"));
    let remote = outbound["remote"].as_str().unwrap_or_default();
    assert!(
        remote.starts_with("TLS:127.0.0.1:"),
        "the call went over TLS: {outbound}"
    );
    assert!(rx_packets(outbound) >= 80, "SRTP from baresip: {outbound}");
    let ok = call.bye(WAIT).await.expect("BYE answered");
    assert_eq!(ok.status_code(), Some(200));
    baresip.wait_output(" terminated (duration:", WAIT).await;
    let metrics = server.metrics_text().await;
    assert_eq!(
        common::metric(&metrics, "mediaplane_srtp_auth_failures_total"),
        0.0,
        "no SRTP or SRTCP packet failed authentication: {metrics}"
    );

    let caller_purity = tone_purity(&heard, RATE, 600.0, RATE as usize / 2);
    assert!(
        caller_purity > 0.8,
        "the caller hears baresip's 600 Hz: purity {caller_purity:.3}"
    );
    let recorded = baresip.recording("dec").await;
    let baresip_purity = purity_mid(&recorded, 1000.0);
    assert!(
        baresip_purity > 0.8,
        "baresip hears the caller's 1 kHz through SRTP: purity {baresip_purity:.3}"
    );
    println!(
        "baresip registered over TLS: caller hears 600 Hz with purity {caller_purity:.3}, \
         baresip hears 1 kHz with purity {baresip_purity:.3}"
    );
    baresip.stop().await;
    server.stop().await;
}
