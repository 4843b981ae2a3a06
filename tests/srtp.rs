//! SDES-SRTP calls (RFC 4568, RFC 3711) over real loopback sockets: a TLS
//! caller's SRTP echoed back, tampered and replayed packets dropped and
//! counted, an SRTP caller bridged to a plain-RTP callee both ways, and
//! offers refused with 488 and the reason.

mod common;

use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::media::srtp::{CryptoAttribute, SrtpSuite};
use mediaplane::sip::sdp::NEEDS_TLS;
use tokio::net::UdpSocket;

use common::callee::{exchange_tone, tone_purity, Callee};
use common::srtp::{exchange, in_dialog, invite, offer, srtp_call};
use common::tls::{header, status, TestCertificate, TlsSipClient};
use common::{metric, wait_for, TestServer};

const AUTH_FAILURES: &str = "mediaplane_srtp_auth_failures_total";
const REPLAYS: &str = "mediaplane_srtp_replays_total";

/// The RFC 4568 example key (30 octets).
const KEY_80: &str = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";

async fn tls_server(certificate: &TestCertificate) -> TestServer {
    TestServer::start(certificate.serve()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srtp_echo_comes_back_protected_and_tampering_is_counted() {
    let certificate = TestCertificate::new();
    let server = tls_server(&certificate).await;
    let addr = server.sip_tls_addr().unwrap();
    for (n, suite) in [
        SrtpSuite::AES_CM_128_HMAC_SHA1_80,
        SrtpSuite::AEAD_AES_128_GCM,
    ]
    .into_iter()
    .enumerate()
    {
        let mut client = TlsSipClient::connect(addr, &certificate).await;
        let call_id = format!("srtp-echo-{n}");
        let mut call = srtp_call(&mut client, &format!("sip:echo@{addr}"), &call_id, suite).await;
        let mut last = Vec::new();
        let heard = exchange(&mut call, 1000.0, 0..100, |n, packet| {
            let extra = match n % 10 {
                // A flipped bit in the sequence number: a packet index not
                // seen yet (so no replay, which is checked first, RFC 3711
                // §3.3 step 2), whose authentication fails (step 5).
                3 => {
                    let mut bad = packet.to_vec();
                    bad[2] ^= 0x10;
                    Some(bad)
                }
                // The previous packet again: a replay.
                7 => Some(last.clone()),
                _ => None,
            };
            last = packet.to_vec();
            extra
        })
        .await;
        assert_eq!(heard.refused, 0, "{suite}: every packet back is SRTP");
        assert!(heard.unprotected > 60, "{suite}: {}", heard.unprotected);
        let purity = tone_purity(&heard.pcm, 8000, 1000.0, 4000);
        assert!(purity > 0.9, "{suite}: 1000 Hz purity {purity}");

        assert_eq!(call.hang_up(&mut client).await, 200);
    }
    let text = server.metrics_text().await;
    // Ten of each per call, two calls.
    assert!(metric(&text, AUTH_FAILURES) >= 18.0, "{text}");
    assert!(metric(&text, REPLAYS) >= 18.0, "{text}");
    let (_, calls) = common::http_get(server.http_addr(), "/api/v1/calls").await;
    assert!(!calls.contains(KEY_80));
    assert!(server.ports_released().await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_srtp_from_a_stranger_leaves_the_call_up() {
    let certificate = TestCertificate::new();
    let server = tls_server(&certificate).await;
    let addr = server.sip_tls_addr().unwrap();
    let mut client = TlsSipClient::connect(addr, &certificate).await;
    let mut call = srtp_call(
        &mut client,
        &format!("sip:echo@{addr}"),
        "srtp-garbage",
        SrtpSuite::AES_CM_128_HMAC_SHA1_80,
    )
    .await;
    let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let remote = call.remote;
    // Packets of new SSRCs each time, with random payload and tag.
    let spray = tokio::spawn(async move {
        for i in 0u32..2000 {
            let mut packet = [0u8; 182];
            packet[0] = 0x80;
            packet[2..4].copy_from_slice(&(i as u16).to_be_bytes());
            packet[8..12].copy_from_slice(&rand::random::<u32>().to_be_bytes());
            for b in &mut packet[12..] {
                *b = rand::random();
            }
            let _ = stranger.send_to(&packet, remote).await;
            if i % 20 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    let heard = exchange(&mut call, 1000.0, 0..100, |_, _| None).await;
    spray.await.unwrap();
    assert!(heard.unprotected > 60, "{}", heard.unprotected);
    let purity = tone_purity(&heard.pcm, 8000, 1000.0, 4000);
    assert!(purity > 0.9, "1000 Hz purity {purity}");
    assert_eq!(call.hang_up(&mut client).await, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_srtp_caller_and_a_plain_rtp_callee_hear_each_other() {
    let certificate = TestCertificate::new();
    let callee = Callee::bind(CodecKind::Pcmu).await;
    let serve = certificate.serve();
    let server = {
        let target = format!("sip:bob@{}", callee.addr());
        let mut route = mediaplane::config::RouteConfig::new(
            "^bob$",
            mediaplane::config::Application::Bridge { target },
        );
        route.codecs = Some(vec![CodecKind::Pcmu]);
        TestServer::start(move |c| {
            serve(c);
            common::route_first(c, route);
        })
        .await
    };
    let addr = server.sip_tls_addr().unwrap();
    let mut client = TlsSipClient::connect(addr, &certificate).await;
    let uri = format!("sip:bob@{addr}");
    let answering = async {
        let answered = callee.answer(Duration::from_secs(5)).await;
        // Optional SRTP offers plain RTP to the callee.
        let offer = answered.invite.body_text();
        assert!(offer.contains("RTP/AVP"), "{offer}");
        assert!(!offer.contains("a=crypto"), "{offer}");
        callee.expect("ACK", Duration::from_secs(5)).await;
        answered
    };
    let (mut call, answered) = tokio::join!(
        srtp_call(
            &mut client,
            &uri,
            "srtp-bridge",
            SrtpSuite::AES_CM_128_HMAC_SHA1_80
        ),
        answering
    );
    // Both sides talk at once: 1000 Hz under SRTP, 440 Hz in clear.
    let (srtp_side, plain_side) = tokio::join!(
        exchange(&mut call, 1000.0, 0..100, |_, _| None),
        exchange_tone(
            &callee.rtp,
            CodecKind::Pcmu,
            answered.payload_type,
            answered.remote_rtp,
            440.0,
            100
        )
    );
    assert_eq!(srtp_side.refused, 0);
    let to_caller = tone_purity(&srtp_side.pcm, 8000, 440.0, 4000);
    assert!(to_caller > 0.9, "caller hears 440 Hz: {to_caller}");
    let to_callee = tone_purity(&plain_side, 8000, 1000.0, 4000);
    assert!(to_callee > 0.9, "callee hears 1000 Hz: {to_callee}");
    // Same codec both sides: the packets were forwarded, not transcoded.
    let (_, calls) = common::http_get(server.http_addr(), "/api/v1/calls").await;
    assert!(calls.contains("\"forwarded\""), "{calls}");
    assert_eq!(call.hang_up(&mut client).await, 200);
    server.stop().await;
}

/// One refused offer: the status and reason phrase.
async fn refused(client: &mut TlsSipClient, uri: &str, call_id: &str, sdp: &str) -> String {
    let response = invite(client, uri, call_id, sdp).await;
    assert_eq!(status(&response), 488, "{response}");
    let local = client.local;
    // RFC 3261 §17.1.1.3: the ACK of a non-2xx final response.
    let ack = format!(
        "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/TLS {local};branch=z9hG4bK-inv-{call_id};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:tester@{local}>;tag=caller\r\nTo: {}\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        header(&response, "To").unwrap()
    );
    client.send(&ack).await;
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_crypto_lines_are_refused_with_the_reason() {
    let certificate = TestCertificate::new();
    let server = tls_server(&certificate).await;
    let addr = server.sip_tls_addr().unwrap();
    let mut client = TlsSipClient::connect(addr, &certificate).await;
    let uri = format!("sip:echo@{addr}");
    let rtp = "127.0.0.1:9".parse().unwrap();
    let cases = [
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:!!notbase64!!".to_string(),
            "not valid base64",
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==".into(),
            "needs 30 octets of key and salt, got 28",
        ),
        (
            format!("1 F8_128_HMAC_SHA1_80 inline:{KEY_80}"),
            "unsupported crypto-suite F8_128_HMAC_SHA1_80",
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^99"),
            "lifetime exceeds",
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^20|x:y"),
            "MKI must be",
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} UNENCRYPTED_SRTP"),
            "UNENCRYPTED_SRTP is refused",
        ),
    ];
    for (n, (line, reason)) in cases.iter().enumerate() {
        let sdp = offer(rtp, "RTP/SAVP", std::slice::from_ref(line));
        let response = refused(&mut client, &uri, &format!("bad-crypto-{n}"), &sdp).await;
        let status_line = response.lines().next().unwrap();
        assert!(status_line.contains(reason), "{status_line} / {reason}");
        let warning = header(&response, "Warning").expect("a Warning");
        assert!(warning.starts_with("399 "), "{warning}");
        assert!(!response.contains(KEY_80));
    }
    // No a=crypto at all.
    let sdp = offer(rtp, "RTP/SAVP", &[]);
    let response = refused(&mut client, &uri, "bad-crypto-none", &sdp).await;
    assert!(
        response.contains("no acceptable crypto attribute"),
        "{response}"
    );
    // The server took no harm: a good call still works.
    let good = CryptoAttribute::generate(1, SrtpSuite::AES_CM_128_HMAC_SHA1_80).unwrap();
    let sdp = offer(rtp, "RTP/SAVP", &[good.to_string()]);
    let ok = invite(&mut client, &uri, "good-after-bad", &sdp).await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(
        wait_for(Duration::from_secs(2), || async {
            server.ports_in_use() == 1
        })
        .await
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn savp_over_udp_is_refused_because_the_keys_would_travel_in_clear() {
    let server = TestServer::start(|_| {}).await;
    let ua = mediaplane::loadgen::ua::TestUserAgent::bind_udp(server.sip_addr())
        .await
        .unwrap();
    let line = format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}");
    let sdp = offer("127.0.0.1:9".parse().unwrap(), "RTP/SAVP", &[line]);
    let uri = format!("sip:echo@{}", server.sip_addr());
    let error = ua.invite(&uri, &sdp).await.expect_err("refused");
    let text = error.to_string();
    assert!(text.contains("488"), "{text}");
    assert!(text.contains(NEEDS_TLS), "{text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mandatory_srtp_refuses_plain_rtp() {
    let certificate = TestCertificate::new();
    let serve = certificate.serve();
    let server = TestServer::start(move |c| {
        serve(c);
        c.media.srtp.mode = mediaplane::config::SrtpMode::Mandatory;
    })
    .await;
    let addr = server.sip_tls_addr().unwrap();
    let mut client = TlsSipClient::connect(addr, &certificate).await;
    let sdp = offer("127.0.0.1:9".parse().unwrap(), "RTP/AVP", &[]);
    let response = refused(&mut client, &format!("sip:echo@{addr}"), "plain", &sdp).await;
    assert!(response.contains("SRTP required"), "{response}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_caller_reaches_a_mandatory_srtp_callee() {
    use mediaplane::config::{Application, RouteConfig, SrtpMode, SrtpOverrides};
    use mediaplane::loadgen::simple_sdp::sdp_offer;
    use mediaplane::loadgen::ua::TestUserAgent;
    use mediaplane::media::srtp::SrtpSession;
    use mediaplane::sip::sdp::{SessionDescription, CRYPTO};

    let callee = Callee::bind(CodecKind::Pcmu).await;
    let target = format!("sip:bob@{}", callee.addr());
    let mut route = RouteConfig::new("^bob$", Application::Bridge { target });
    route.codecs = Some(vec![CodecKind::Pcmu]);
    // The callee is reached over UDP: the operator allows keys in clear.
    route.srtp = SrtpOverrides {
        mode: Some(SrtpMode::Mandatory),
        suites: None,
        require_secure_signalling: Some(false),
    };
    let server = TestServer::start(move |c| common::route_first(c, route)).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let plain_offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:bob@{}", server.sip_addr());

    let callee_rtp = callee.rtp.local_addr().unwrap();
    let answering = async {
        let invite = callee.expect("INVITE", Duration::from_secs(5)).await;
        let offer = SessionDescription::parse(&invite.body_text()).unwrap();
        let media = &offer.media[0];
        assert_eq!(media.protocol, "RTP/SAVP");
        let lines: Vec<CryptoAttribute> = media
            .attributes
            .iter()
            .filter(|a| a.name == CRYPTO)
            .map(|a| CryptoAttribute::parse(a.value.as_deref().unwrap()).unwrap())
            .collect();
        let suites: Vec<_> = lines.iter().map(|l| l.suite).collect();
        assert_eq!(suites, SrtpSuite::OFFER_ORDER.to_vec());
        // We take the GCM line (tag 3) with a key of our own.
        let ours = CryptoAttribute::generate(3, SrtpSuite::AEAD_AES_128_GCM).unwrap();
        let sdp = common::srtp::offer(callee_rtp, "RTP/SAVP", &[ours.to_string()]);
        callee
            .respond(&invite, 200, "OK", Some("srtp-callee"), Some(&sdp))
            .await;
        callee.expect("ACK", Duration::from_secs(5)).await;
        let ip = offer.connection.as_ref().unwrap().address.parse().unwrap();
        common::srtp::SrtpCall {
            rtp: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            remote: std::net::SocketAddr::new(ip, media.port),
            srtp: SrtpSession::from_attributes(&ours, &lines[2]).unwrap(),
            ok: String::new(),
            call_id: String::new(),
        }
    };
    let (call, srtp_leg) = tokio::join!(ua.invite(&uri, &plain_offer), answering);
    let mut call = call.expect("answered");
    let mut srtp_leg = srtp_leg;
    // The SRTP side speaks from the socket its answer named.
    srtp_leg.rtp = callee.rtp;
    let server_rtp = call.answer_sdp().unwrap().rtp_addr();
    let (srtp_side, plain_side) = tokio::join!(
        exchange(&mut srtp_leg, 1000.0, 0..100, |_, _| None),
        exchange_tone(&caller_rtp, CodecKind::Pcmu, 0, server_rtp, 440.0, 100)
    );
    assert_eq!(srtp_side.refused, 0);
    let to_callee = tone_purity(&srtp_side.pcm, 8000, 440.0, 4000);
    assert!(to_callee > 0.9, "the SRTP callee hears 440 Hz: {to_callee}");
    let to_caller = tone_purity(&plain_side, 8000, 1000.0, 4000);
    assert!(
        to_caller > 0.9,
        "the plain caller hears 1000 Hz: {to_caller}"
    );
    let ok = call
        .bye(Duration::from_secs(3))
        .await
        .expect("BYE answered");
    assert_eq!(ok.status_code(), Some(200));
    server.stop().await;
}

/// A re-INVITE in the caller's dialog with `sdp`; its final response.
async fn reinvite(
    client: &mut TlsSipClient,
    ok: &str,
    call_id: &str,
    cseq: u32,
    sdp: &str,
) -> String {
    let request = in_dialog("INVITE", cseq, ok, client.local, call_id).replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Contact: <sip:tester@{};transport=tls>\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            client.local,
            sdp.len()
        ),
    );
    client.send(&request).await;
    let response = client.final_response(Duration::from_secs(5)).await;
    assert_eq!(status(&response), 200, "{response}");
    let local = client.local;
    client
        .send(&in_dialog("ACK", cseq, &response, local, call_id))
        .await;
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinvite_keeps_the_keys_or_changes_them_with_the_peer() {
    use common::srtp::answered;
    use mediaplane::media::srtp::SrtpSession;

    let certificate = TestCertificate::new();
    let server = tls_server(&certificate).await;
    let addr = server.sip_tls_addr().unwrap();
    let mut client = TlsSipClient::connect(addr, &certificate).await;
    let call_id = "srtp-reinvite";
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ours = CryptoAttribute::generate(1, SrtpSuite::AES_CM_128_HMAC_SHA1_80).unwrap();
    let sdp = offer(rtp.local_addr().unwrap(), "RTP/SAVP", &[ours.to_string()]);
    let ok = invite(&mut client, &format!("sip:echo@{addr}"), call_id, &sdp).await;
    assert_eq!(status(&ok), 200, "{ok}");
    let (remote, theirs) = answered(&ok);
    let local = client.local;
    client.send(&in_dialog("ACK", 1, &ok, local, call_id)).await;
    let mut call = common::srtp::SrtpCall {
        rtp,
        remote,
        srtp: SrtpSession::from_attributes(&ours, &theirs).unwrap(),
        ok: ok.clone(),
        call_id: call_id.into(),
    };
    let heard = exchange(&mut call, 1000.0, 0..50, |_, _| None).await;
    assert!(tone_purity(&heard.pcm, 8000, 1000.0, 2000) > 0.9);

    // The same line again: the answer repeats our key, and the running
    // SRTP state (sequence numbers, replay window) carries on.
    let again = reinvite(&mut client, &ok, call_id, 2, &sdp).await;
    let (_, kept) = answered(&again);
    assert_eq!(kept, theirs, "same key after an unchanged re-offer");
    let heard = exchange(&mut call, 1000.0, 50..100, |_, _| None).await;
    assert_eq!(heard.refused, 0);
    assert!(tone_purity(&heard.pcm, 8000, 1000.0, 2000) > 0.9);

    // A new key of ours: a new key of the server's, and fresh SRTP.
    let fresh = CryptoAttribute::generate(1, SrtpSuite::AEAD_AES_256_GCM).unwrap();
    let sdp = offer(
        call.rtp.local_addr().unwrap(),
        "RTP/SAVP",
        &[fresh.to_string()],
    );
    let rekeyed = reinvite(&mut client, &ok, call_id, 3, &sdp).await;
    let (_, new_theirs) = answered(&rekeyed);
    assert_ne!(new_theirs, theirs);
    assert_eq!(new_theirs.suite, SrtpSuite::AEAD_AES_256_GCM);
    call.srtp = SrtpSession::from_attributes(&fresh, &new_theirs).unwrap();
    // The RTP stream goes on; the new key starts its own SRTP index.
    let heard = exchange(&mut call, 1000.0, 100..160, |_, _| None).await;
    assert!(heard.unprotected > 30, "{}", heard.unprotected);
    assert!(tone_purity(&heard.pcm, 8000, 1000.0, 2000) > 0.9);
    let text = server.metrics_text().await;
    // Our first packets under the new key may reach the worker just before
    // the new keys do (RFC 4568 §7.1.4 warns of that window): a few at most.
    assert!(metric(&text, AUTH_FAILURES) <= 2.0, "{text}");
    server.stop().await;
}
