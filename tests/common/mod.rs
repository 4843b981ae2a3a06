//! Shared harness of the integration tests: a server on loopback with
//! ephemeral ports, a tiny HTTP client for its admin API, and call helpers
//! built on the in-repo test user agent.
#![allow(dead_code)]

pub mod baresip;
pub mod bridging;
pub mod callee;
pub mod keypad;
pub mod mailboxes;
pub mod room;
pub mod srtp;
pub mod subscriber;
pub mod tls;
pub mod voice;

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mediaplane::codec::CodecKind;
use mediaplane::config::{Config, RouteConfig};
use mediaplane::loadgen::rtp::{RtpStream, RtpStreamOptions};
use mediaplane::loadgen::simple_sdp::sdp_offer;
use mediaplane::loadgen::ua::{Call, TestUserAgent};
use mediaplane::server::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Writes a 16-bit mono WAV of a `hz` sine at `rate` (a test prompt, or
/// a tone for a peer to send).
pub fn write_tone(path: &std::path::Path, hz: f64, length: Duration, rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    let samples = (length.as_secs_f64() * rate as f64) as usize;
    for i in 0..samples {
        let phase = 2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64;
        writer.write_sample((8000.0 * phase.sin()) as i16).unwrap();
    }
    writer.finalize().unwrap();
}

/// A configuration change that runs IVR `menus` (TOML `[[menus]]`
/// entries) with the prompts in `prompts_dir`; the menus are checked
/// against that folder first.
pub fn with_menus(prompts_dir: &std::path::Path, menus: &str) -> impl FnOnce(&mut Config) {
    let text = format!(
        "[prompts]\ndir = {:?}\n{menus}",
        prompts_dir.to_str().unwrap()
    );
    let parsed = Config::from_toml_str(&text, "test menus").expect("the menus load");
    move |c: &mut Config| {
        c.prompts.dir = parsed.prompts.dir.clone();
        c.menus = parsed.menus.clone();
    }
}

pub struct TestServer {
    server: Server,
    _data: tempfile::TempDir,
}

impl TestServer {
    /// A server on 127.0.0.1 with ephemeral SIP and HTTP ports; `tweak`
    /// adjusts the configuration first.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config::embedded_default().expect("embedded default config");
        config.sip.udp_listen = "127.0.0.1:0".parse().unwrap();
        config.sip.tcp_listen = "127.0.0.1:0".parse().unwrap();
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        config.media.bind_address = "127.0.0.1".parse().unwrap();
        // Overlapping ranges between parallel tests are fine: a port another
        // server holds fails to bind and is skipped.
        config.media.rtp_port_min = 40000;
        config.media.rtp_port_max = 49999;
        config.media.workers = 2;
        config.storage.data_dir = data.path().to_path_buf();
        config.prompts.dir = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts").into();
        tweak(&mut config);
        let server = Server::start(config).await.expect("server starts");
        TestServer {
            server,
            _data: data,
        }
    }

    pub fn sip_addr(&self) -> SocketAddr {
        self.server.sip_udp_addr()
    }

    /// The server's storage folder (`storage.data_dir`).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data.path()
    }

    pub fn sip_tcp_addr(&self) -> SocketAddr {
        self.server.sip_tcp_addr()
    }

    /// The SIP TLS listener, when the configuration sets `sip.tls_listen`.
    pub fn sip_tls_addr(&self) -> Option<SocketAddr> {
        self.server.sip_tls_addr()
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.server.http_addr()
    }

    /// Whether every RTP port is back within 3 s (the calls ended and
    /// their sessions closed).
    pub async fn ports_released(&self) -> bool {
        wait_for(Duration::from_secs(3), || async {
            self.ports_in_use() == 0
        })
        .await
    }

    pub fn ports_in_use(&self) -> usize {
        self.server.ports().in_use()
    }

    pub async fn metrics_text(&self) -> String {
        http_get(self.http_addr(), "/metrics").await.1
    }

    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}

/// Adds a route in front of the default dial plan.
pub fn route_first(config: &mut Config, route: RouteConfig) {
    config.routes.insert(0, route);
}

/// GET over a fresh connection; returns status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, "GET", path).await
}

/// A request without a body; the status and the body of the response.
pub async fn http_request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The value of a Prometheus sample line.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Polls `condition` until it holds or `timeout` passes (for state that has
/// no event to await, such as a counter behind an HTTP endpoint).
pub async fn wait_for<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An answered call with its RTP stream.
pub struct ActiveCall {
    pub ua: TestUserAgent,
    pub call: Call,
    pub rtp: RtpStream,
    pub server_rtp: SocketAddr,
}

impl ActiveCall {
    pub async fn hang_up(mut self) {
        let ok = self
            .call
            .bye(Duration::from_secs(3))
            .await
            .expect("BYE answered");
        assert_eq!(ok.status_code(), Some(200));
    }
}

/// Calls `user` offering `codecs`, with an RTP stream ready to send.
pub async fn call(server: &TestServer, user: &str, codecs: &[CodecKind]) -> ActiveCall {
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let mut options = RtpStreamOptions::new(codecs[0]);
    options.keep_samples = true;
    options.keep_packets = true;
    let mut rtp = RtpStream::bind(options).await.unwrap();
    let offer = sdp_offer(rtp.local_addr(), codecs);
    let uri = format!("sip:{user}@{}", server.sip_addr());
    let call = ua.invite(&uri, &offer).await.expect("call answered");
    let answer = call.answer_sdp().expect("SDP answer");
    let server_rtp = answer.rtp_addr();
    rtp.set_remote(server_rtp);
    if let Some(codec) = answer.codec {
        rtp.set_codec(codec, answer.payload_type).unwrap();
    }
    ActiveCall {
        ua,
        call,
        rtp,
        server_rtp,
    }
}

pub async fn answered_echo_call(server: &TestServer) -> ActiveCall {
    call(server, "echo", &[CodecKind::Pcmu]).await
}

#[derive(Debug)]
pub struct EchoReport {
    pub echoed_frames: u64,
}

/// Places an echo call, streams tagged frames for `duration`, hangs up.
pub async fn echo_call(server: &TestServer, duration: Duration) -> EchoReport {
    let mut active = answered_echo_call(server).await;
    let frames = (duration.as_millis() / 20) as u32;
    for _ in 0..frames {
        active.rtp.send_tagged_frame().await.unwrap();
    }
    let _ = active
        .rtp
        .wait_for_packets(frames as u64 - 3, Duration::from_secs(2))
        .await;
    let echoed = active.rtp.counters().echoes_matched;
    active.hang_up().await;
    EchoReport {
        echoed_frames: echoed,
    }
}
