//! Nonsense SDP offers get a clear 488 or 400 with a reason (or, for fmtp
//! junk, simply negotiate); an RTP stream that switches codec or sends
//! stray payload types mid-call is counted, not fatal.

mod common;

use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::loadgen::ua::{TestUserAgent, UaError};
use serde_json::Value;
use tokio::net::UdpSocket;

use common::TestServer;

/// The session part every offer here starts with, then `media`.
fn sdp(connection: bool, media: &str) -> String {
    let c = if connection {
        "c=IN IP4 127.0.0.1\r\n"
    } else {
        ""
    };
    format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n{c}t=0 0\r\n{media}")
}

/// A PCMU stream with `extra` lines after the m-line.
fn pcmu_with(extra: &str) -> String {
    sdp(
        true,
        &format!("m=audio 4000 RTP/AVP 0 111\r\na=rtpmap:111 opus/48000/2\r\n{extra}"),
    )
}

/// An INVITE carrying `body` as application/sdp, raw bytes.
fn raw_invite(id: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!(
        "INVITE sip:echo@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKsdp{id};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:bad@127.0.0.1>;tag=sdp{id}\r\n\
To: <sip:echo@127.0.0.1>\r\n\
Call-ID: sdp-{id}\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:bad@127.0.0.1:9>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    message.extend_from_slice(body);
    message
}

/// The first final status line that answers what `sock` sent.
async fn final_status(sock: &UdpSocket) -> (u16, String) {
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(3), sock.recv_from(&mut buf))
            .await
            .expect("a response within 3 s")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        let line = text.lines().next().unwrap_or("").to_string();
        let code: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if code >= 200 {
            let reason = line.splitn(3, ' ').nth(2).unwrap_or("").to_string();
            return (code, reason);
        }
    }
}

/// Sends an INVITE with `body` from a fresh socket; returns status and reason.
async fn offer_raw(server: &TestServer, id: &str, body: &[u8]) -> (u16, String) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(&raw_invite(id, body), server.sip_addr())
        .await
        .unwrap();
    final_status(&sock).await
}

async fn options_answered(server: &TestServer) -> bool {
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let uri = format!("sip:{}", server.sip_addr());
    matches!(
        ua.options(&uri, Duration::from_secs(2)).await,
        Ok(response) if response.status_code() == Some(200)
    )
}

/// Offers refused with a status and a reason that names the problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonsense_offers_are_refused_with_a_reason() {
    let server = TestServer::start(|_| {}).await;
    let three_hundred: String = (0..300)
        .map(|i| format!("m=audio {} RTP/AVP 0\r\n", 4000 + 2 * i))
        .collect();
    // (case, body, expected status, a word the reason must contain)
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "unknown codecs only",
            sdp(
                true,
                "m=audio 4000 RTP/AVP 96 97\r\na=rtpmap:96 FOO/8000\r\na=rtpmap:97 BAR/16000\r\n",
            )
            .into_bytes(),
            488,
            "codec",
        ),
        (
            "static types we do not carry",
            sdp(true, "m=audio 4000 RTP/AVP 3 4 18\r\n").into_bytes(),
            488,
            "codec",
        ),
        (
            "non-numeric port",
            sdp(true, "m=audio abc RTP/AVP 0\r\n").into_bytes(),
            400,
            "port",
        ),
        (
            "port above 65535",
            sdp(true, "m=audio 70000 RTP/AVP 0\r\n").into_bytes(),
            400,
            "port",
        ),
        (
            "no c= anywhere",
            sdp(false, "m=audio 4000 RTP/AVP 0\r\n").into_bytes(),
            488,
            "connection",
        ),
        (
            "300 m-lines",
            sdp(true, &three_hundred).into_bytes(),
            400,
            "m-lines",
        ),
        (
            "binary junk in fmtp",
            pcmu_with("a=fmtp:111 \u{1}\u{2}\u{3}\u{7f}\r\n").into_bytes(),
            400,
            "control",
        ),
        (
            "non-UTF-8 fmtp",
            {
                let mut body = pcmu_with("a=fmtp:111 XX\r\n").into_bytes();
                let at = body.len() - 4;
                body[at] = 0xff;
                body[at + 1] = 0xfe;
                body
            },
            400,
            "UTF-8",
        ),
    ];
    for (index, (case, body, status, word)) in cases.iter().enumerate() {
        let (got, reason) = offer_raw(&server, &index.to_string(), body).await;
        assert_eq!(got, *status, "{case}: {got} {reason}");
        assert!(
            reason.to_lowercase().contains(&word.to_lowercase()),
            "{case}: reason {reason:?} should mention {word}"
        );
        assert!(
            options_answered(&server).await,
            "{case}: server still answers"
        );
    }
    // Nothing leaked: every refused offer gave its media ports back.
    assert_eq!(server.ports_in_use(), 0);
    let report = common::echo_call(&server, Duration::from_millis(600)).await;
    assert!(
        report.echoed_frames > 10,
        "echo after bad offers: {report:?}"
    );
    server.stop().await;
}

/// fmtp lines we cannot read only lose their parameters: the call goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fmtp_junk_still_negotiates() {
    let server = TestServer::start(|c| {
        c.media.codecs = vec![CodecKind::Opus, CodecKind::Pcmu, CodecKind::TelephoneEvent]
    })
    .await;
    let long = format!("a=fmtp:111 {}\r\n", "useinbandfec=1;".repeat(700));
    let cases = [
        ("fmtp without a payload type", "a=fmtp:\r\n".to_owned()),
        (
            "fmtp with a text payload type",
            "a=fmtp:opus useinbandfec=1\r\n".to_owned(),
        ),
        (
            "fmtp for an unknown payload type",
            "a=fmtp:99 useinbandfec=1\r\n".to_owned(),
        ),
        (
            "fmtp values that are nonsense",
            "a=fmtp:111 useinbandfec=yes; maxplaybackrate=loud; stereo=-1\r\n".to_owned(),
        ),
        ("fmtp of 10 KB", long),
        (
            "two fmtps for one type",
            "a=fmtp:111 stereo=0\r\na=fmtp:111 stereo=1\r\n".to_owned(),
        ),
    ];
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let uri = format!("sip:echo@{}", server.sip_addr());
    for (case, extra) in cases {
        let offer = pcmu_with(&extra);
        let mut call = ua
            .invite(&uri, &offer)
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let answer = call.answer_sdp().unwrap();
        assert_eq!(answer.codec, Some(CodecKind::Opus), "{case}");
        call.bye(Duration::from_secs(3)).await.unwrap();
    }
    server.stop().await;
}

/// An offer the server refuses through the test user agent carries the
/// status and the reason phrase.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_common_codec_is_a_488_naming_it() {
    let server = TestServer::start(|_| {}).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let uri = format!("sip:echo@{}", server.sip_addr());
    let offer = sdp(
        true,
        "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n",
    );
    match ua.invite(&uri, &offer).await {
        Err(UaError::Rejected { status, reason, .. }) => {
            assert_eq!(status, 488);
            assert_eq!(reason, "No common codec");
        }
        other => panic!("expected a 488, got {other:?}"),
    }
    server.stop().await;
}

/// The `stats` of the one call the API lists.
async fn call_stats(server: &TestServer) -> Value {
    let (status, body) = common::http_get(server.http_addr(), "/api/v1/calls").await;
    assert_eq!(status, 200);
    let calls: Value = serde_json::from_str(&body).unwrap();
    calls[0]["stats"].clone()
}

/// A PCMU caller that switches to PCMA, then sends a payload type nobody
/// agreed on, then goes back: the stray packets are counted exactly and
/// the echo of PCMU carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codec_switch_and_stray_payload_types_are_counted_not_fatal() {
    let server = TestServer::start(|_| {}).await;
    let mut active = common::call(&server, "echo", &[CodecKind::Pcmu]).await;
    for _ in 0..25 {
        active.rtp.send_tagged_frame().await.unwrap();
    }
    active
        .rtp
        .wait_for_packets(20, Duration::from_secs(2))
        .await
        .unwrap();
    let echoed_before = active.rtp.counters().echoes_matched;
    assert!(echoed_before >= 15, "PCMU echo works: {echoed_before}");

    // Ten frames in PCMA (PT 8) the answer never agreed on.
    active.rtp.set_codec(CodecKind::Pcma, 8).unwrap();
    for _ in 0..10 {
        active.rtp.send_tagged_frame().await.unwrap();
    }
    // Five frames of junk on PT 99.
    active.rtp.set_codec(CodecKind::Pcmu, 99).unwrap();
    let junk: Vec<u8> = (0..173u32).map(|i| (i * 37 + 11) as u8).collect();
    for _ in 0..5 {
        active.rtp.send_payload(&junk).await.unwrap();
    }
    // Back to PCMU.
    active.rtp.set_codec(CodecKind::Pcmu, 0).unwrap();
    for _ in 0..25 {
        active.rtp.send_tagged_frame().await.unwrap();
    }
    let echoes = common::wait_for(Duration::from_secs(3), || {
        let matched = active.rtp.counters().echoes_matched;
        async move { matched >= echoed_before + 20 }
    })
    .await;
    assert!(
        echoes,
        "PCMU echo resumed: {} matched, {echoed_before} before the switch",
        active.rtp.counters().echoes_matched
    );
    // Whatever the server sent stayed PCMU.
    let packets = active.rtp.received_packets();
    assert!(
        packets.iter().all(|p| p.payload_type == 0),
        "server sent only PT 0"
    );

    let stats = call_stats(&server).await;
    assert_eq!(stats["rx_wrong_payload_type"], 15, "{stats}");
    assert_eq!(stats["rx_garbage"], 0, "{stats}");
    assert!(stats["rx_packets"].as_u64().unwrap() >= 45, "{stats}");
    active.hang_up().await;
    assert!(options_answered(&server).await);
    server.stop().await;
}
