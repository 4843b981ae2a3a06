//! Interop with an independent SRTP implementation: ffmpeg (libavformat's
//! `srtp:` protocol, RFC 3711 with SDES-style keys), both ways, through a
//! call over TLS bridged to a plain-RTP callee. ffmpeg sends a 1000 Hz PCMU
//! tone under SRTP with the caller's offered key and the callee must hear it
//! intact; and ffmpeg, given the server's answered key in an SDP file,
//! decrypts what the callee sends into a WAV that must hold the tone. These
//! tests fail (never skip) when ffmpeg is missing.

mod common;

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use mediaplane::codec::{new_decoder, CodecKind};
use mediaplane::config::{Application, RouteConfig};
use mediaplane::media::srtp::{CryptoAttribute, SrtpSuite};
use tokio::process::Command;
use tokio::time::Instant;

use common::callee::{tone_purity, Answered, Callee};
use common::srtp::{answered, hang_up, in_dialog, invite, offer};
use common::tls::{status, TestCertificate, TlsSipClient};
use common::{route_first, TestServer};

/// A server whose `bob` route bridges to a plain-RTP PCMU callee, and a
/// caller connected to it over TLS.
/// The certificate is returned to keep its files for the server's life.
async fn bridge_to_plain_callee() -> (TestServer, Callee, TlsSipClient, TestCertificate) {
    let certificate = TestCertificate::new();
    let callee = Callee::bind(CodecKind::Pcmu).await;
    let serve = certificate.serve();
    let target = format!("sip:bob@{}", callee.addr());
    let mut route = RouteConfig::new("^bob$", Application::Bridge { target });
    route.codecs = Some(vec![CodecKind::Pcmu]);
    let server = TestServer::start(move |c| {
        serve(c);
        route_first(c, route);
    })
    .await;
    let addr = server.sip_tls_addr().unwrap();
    let client = TlsSipClient::connect(addr, &certificate).await;
    (server, callee, client, certificate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_srtp_tone_reaches_a_plain_rtp_callee_intact() {
    let (server, callee, mut client, _certificate) = bridge_to_plain_callee().await;
    let addr = server.sip_tls_addr().unwrap();

    // Our key is the one ffmpeg protects with (the server unprotects
    // with the offerer's key, RFC 4568 §6.1).
    let ours = CryptoAttribute::generate(1, SrtpSuite::AES_CM_128_HMAC_SHA1_80).unwrap();
    let key = base64::engine::general_purpose::STANDARD
        .encode(&*ours.single_key().unwrap().master_key_salt);
    let media = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let sdp = offer(media.local_addr().unwrap(), "RTP/SAVP", &[ours.to_string()]);
    let uri = format!("sip:bob@{addr}");
    let (ok, _answered) = call_bob(&mut client, &callee, &uri, "ffmpeg-1", &sdp).await;
    let (server_rtp, _) = answered(&ok);

    let mut ffmpeg = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("sine=frequency=1000:sample_rate=8000:duration=3:samples_per_frame=160")
        .args(["-ac", "1", "-acodec", "pcm_mulaw", "-f", "rtp"])
        .args(["-srtp_out_suite", "AES_CM_128_HMAC_SHA1_80"])
        .args(["-srtp_out_params", &key])
        .arg(format!("srtp://{server_rtp}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg runs (Debian package ffmpeg; scripts/test installs it)");

    // The callee hears plain RTP: decode two seconds of it. ffmpeg's first
    // start on a fresh machine can take seconds, so the wait is generous;
    // the tone itself lasts 3 s.
    let mut decoder = new_decoder(CodecKind::Pcmu).unwrap();
    let (mut buf, mut out) = ([0u8; 2048], vec![0i16; 2048]);
    let mut heard = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while heard.len() < 8000 * 2 {
        let Ok(Ok((len, _))) =
            tokio::time::timeout_at(deadline, callee.rtp.recv_from(&mut buf)).await
        else {
            break;
        };
        if len > 12 && buf[1] & 0x7f == 0 {
            if let Ok(n) = decoder.decode(&buf[12..len], &mut out) {
                heard.extend_from_slice(&out[..n]);
            }
        }
    }
    let finished = tokio::time::timeout(Duration::from_secs(20), ffmpeg.wait())
        .await
        .expect("ffmpeg ends after its 3 s tone")
        .unwrap();
    let mut errors = String::new();
    if let Some(mut stderr) = ffmpeg.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = stderr.read_to_string(&mut errors).await;
    }
    assert!(finished.success(), "ffmpeg failed: {errors}");
    assert!(heard.len() >= 8000, "callee heard {} samples", heard.len());
    let purity = tone_purity(&heard, 8000, 1000.0, 4000);
    assert!(purity > 0.9, "1000 Hz purity at the callee: {purity}");
    let text = server.metrics_text().await;
    assert_eq!(
        common::metric(&text, "mediaplane_srtp_auth_failures_total"),
        0.0
    );

    assert_eq!(hang_up(&mut client, &ok, "ffmpeg-1").await, 200);
    server.stop().await;
}

/// A free even UDP port with the odd one above it free too (ffmpeg's RTP
/// input takes RTCP there).
/// Calls `uri` over `client` with `sdp` while the plain `callee` answers;
/// the 200, ACKed, and what the callee was offered.
async fn call_bob(
    client: &mut TlsSipClient,
    callee: &Callee,
    uri: &str,
    call_id: &str,
    sdp: &str,
) -> (String, Answered) {
    let answering = async {
        let answered = callee.answer(Duration::from_secs(5)).await;
        callee.expect("ACK", Duration::from_secs(5)).await;
        answered
    };
    let (ok, answered) = tokio::join!(invite(client, uri, call_id, sdp), answering);
    assert_eq!(status(&ok), 200, "{ok}");
    let local = client.local;
    client.send(&in_dialog("ACK", 1, &ok, local, call_id)).await;
    (ok, answered)
}

fn free_port_pair() -> u16 {
    loop {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        if port.is_multiple_of(2)
            && port < 65000
            && std::net::UdpSocket::bind(("127.0.0.1", port + 1)).is_ok()
        {
            return port;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_decrypts_what_a_plain_rtp_callee_sends_through_the_bridge() {
    let (server, callee, mut client, _certificate) = bridge_to_plain_callee().await;
    let addr = server.sip_tls_addr().unwrap();

    // The caller's media address is where ffmpeg will listen.
    let port = free_port_pair();
    let media: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let ours = CryptoAttribute::generate(1, SrtpSuite::AES_CM_128_HMAC_SHA1_80).unwrap();
    let sdp = offer(media, "RTP/SAVP", &[ours.to_string()]);
    let uri = format!("sip:bob@{addr}");
    let (ok, answered_call) = call_bob(&mut client, &callee, &uri, "ffmpeg-2", &sdp).await;
    let (_, theirs) = answered(&ok);

    // ffmpeg reads an SDP that describes the server's stream with the
    // server's key (libavformat takes a=crypto from it).
    let dir = tempfile::tempdir().unwrap();
    let sdp_path = dir.path().join("in.sdp");
    let wav_path = dir.path().join("out.wav");
    std::fs::write(
        &sdp_path,
        format!(
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=crypto:{theirs}\r\n"
        ),
    )
    .unwrap();
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-protocol_whitelist", "file,udp,rtp,srtp"])
        .arg("-i")
        .arg(&sdp_path)
        .args(["-t", "2", "-acodec", "pcm_s16le", "-ar", "8000", "-ac", "1"])
        .arg(&wav_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg runs (Debian package ffmpeg; scripts/test installs it)");

    // The callee talks until ffmpeg has its two seconds (ffmpeg binds its
    // port at once; the first packets may come before it reads them).
    let talking = async {
        let mut frame = 0;
        loop {
            common::callee::exchange_tone_from(
                &callee.rtp,
                CodecKind::Pcmu,
                answered_call.payload_type,
                answered_call.remote_rtp,
                1000.0,
                frame..frame + 50,
            )
            .await;
            frame += 50;
        }
    };
    let finished = tokio::select! {
        done = ffmpeg.wait() => done.unwrap(),
        _ = talking => unreachable!(),
        _ = tokio::time::sleep(Duration::from_secs(20)) => panic!("ffmpeg did not finish"),
    };
    let mut errors = String::new();
    if let Some(mut stderr) = ffmpeg.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = stderr.read_to_string(&mut errors).await;
    }
    assert!(finished.success(), "ffmpeg failed: {errors}");
    let samples: Vec<i16> = hound::WavReader::open(&wav_path)
        .unwrap()
        .into_samples::<i16>()
        .map(Result::unwrap)
        .collect();
    assert!(
        samples.len() >= 8000,
        "ffmpeg wrote {} samples",
        samples.len()
    );
    let purity = tone_purity(&samples, 8000, 1000.0, 4000);
    assert!(purity > 0.9, "1000 Hz purity in ffmpeg's decrypt: {purity}");

    assert_eq!(hang_up(&mut client, &ok, "ffmpeg-2").await, 200);
    server.stop().await;
}
