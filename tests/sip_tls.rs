//! SIP over TLS (RFC 3261 §26): requests and calls over a TLS connection,
//! handshakes that fail without disturbing anyone else, and `sips:` over
//! plain transports refused with 416.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::config::UserConfig;
use mediaplane::loadgen::simple_sdp::sdp_offer;
use mediaplane::loadgen::ua::{RegisterClient, TestUserAgent, UaError};
use mediaplane::sip::registrar::digest::parse_challenge;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use common::srtp::{self, in_dialog};
use common::tls::{header, status, TestCertificate, TlsSipClient};
use common::{metric, wait_for, TestServer};

const FAILURES: &str = "mediaplane_sip_tls_handshake_failures_total";

async fn tls_server(certificate: &TestCertificate) -> (TestServer, SocketAddr) {
    let server = TestServer::start(certificate.serve()).await;
    let addr = server.sip_tls_addr().expect("a TLS listener");
    assert_ne!(addr.port(), 0);
    (server, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_over_tls_is_answered_on_the_same_connection() {
    let certificate = TestCertificate::new();
    let (server, addr) = tls_server(&certificate).await;
    let mut client = TlsSipClient::connect(addr, &certificate).await;

    let response = client.options(&format!("sip:echo@{addr}")).await;
    assert_eq!(status(&response), 200, "{response}");
    let via = header(&response, "Via").unwrap();
    assert!(via.starts_with("SIP/2.0/TLS "), "{via}");

    // A SIPS Request-URI is what TLS is for (RFC 3261 §26.2.2).
    let response = client.options(&format!("sips:echo@{addr}")).await;
    assert_eq!(status(&response), 200, "{response}");
    server.stop().await;
}

/// An INVITE over `client` to `uri` with an offer for a socket that only
/// receives; returns the 200 (after any 1xx).
async fn invite(client: &mut TlsSipClient, uri: &str, call_id: &str) -> String {
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let offer = sdp_offer(rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let response = srtp::invite(client, uri, call_id, &offer).await;
    assert_eq!(status(&response), 200, "{response}");
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_tls_is_set_up_and_torn_down() {
    let certificate = TestCertificate::new();
    let (server, addr) = tls_server(&certificate).await;
    let mut client = TlsSipClient::connect(addr, &certificate).await;

    let ok = invite(&mut client, &format!("sip:echo@{addr}"), "tls-call-1").await;
    // RFC 3261 §26.3.1: our Contact brings the peer's requests back over TLS.
    let contact = header(&ok, "Contact").unwrap();
    assert_eq!(
        contact,
        format!("<sip:127.0.0.1:{};transport=tls>", addr.port())
    );
    assert!(header(&ok, "Via").unwrap().starts_with("SIP/2.0/TLS "));
    let local = client.local;
    client
        .send(&in_dialog("ACK", 1, &ok, local, "tls-call-1"))
        .await;
    client
        .send(&in_dialog("BYE", 2, &ok, local, "tls-call-1"))
        .await;
    let response = client.final_response(Duration::from_secs(5)).await;
    assert_eq!(status(&response), 200, "{response}");
    assert!(header(&response, "CSeq").unwrap().ends_with("BYE"));
    assert!(server.ports_released().await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sips_call_gets_a_sips_contact_and_our_bye_over_the_connection() {
    let certificate = TestCertificate::new();
    let (server, addr) = tls_server(&certificate).await;
    let mut client = TlsSipClient::connect(addr, &certificate).await;

    // The prompt ends and the server hangs up: its BYE must reach us on
    // the connection the call came in on.
    let ok = invite(&mut client, &format!("sips:play-beep@{addr}"), "tls-call-2").await;
    // RFC 3261 §12.1.1: a SIPS Request-URI asks for a SIPS Contact.
    let contact = header(&ok, "Contact").unwrap();
    assert_eq!(contact, format!("<sips:127.0.0.1:{}>", addr.port()));
    let local = client.local;
    client
        .send(&in_dialog("ACK", 1, &ok, local, "tls-call-2"))
        .await;
    let bye = client.recv(Duration::from_secs(10)).await;
    assert!(bye.starts_with("BYE sip:tester@"), "{bye}");
    assert!(header(&bye, "Via").unwrap().starts_with("SIP/2.0/TLS "));
    let mut answer = String::from("SIP/2.0 200 OK\r\n");
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        answer.push_str(&format!("{name}: {}\r\n", header(&bye, name).unwrap()));
    }
    answer.push_str("Content-Length: 0\r\n\r\n");
    client.send(&answer).await;
    assert!(server.ports_released().await);
    server.stop().await;
}

/// A REGISTER of alice's TLS contact over `client` (CSeq `cseq`).
fn register(client: &TlsSipClient, cseq: u32, authorization: Option<&str>) -> String {
    let (local, server) = (client.local, client.server);
    let mut text = format!(
        "REGISTER sip:{server} SIP/2.0\r\n\
         Via: SIP/2.0/TLS {local};branch=z9hG4bK-reg-{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@{server}>;tag=reg\r\n\
         To: <sip:alice@{server}>\r\n\
         Call-ID: tls-register\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:alice@{local};transport=tls>\r\n\
         Expires: 300\r\n"
    );
    if let Some(authorization) = authorization {
        text.push_str(&format!("Authorization: {authorization}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_registered_over_tls_is_called_over_its_connection() {
    let certificate = TestCertificate::new();
    let serve = certificate.serve();
    let server = TestServer::start(|c| {
        serve(c);
        c.users.push(UserConfig::with_password("alice", "secret"));
    })
    .await;
    let addr = server.sip_tls_addr().unwrap();
    let mut phone = TlsSipClient::connect(addr, &certificate).await;

    // Digest-authenticated REGISTER, both answers on the TLS connection.
    phone.send(&register(&phone, 1, None)).await;
    let challenge = phone.final_response(Duration::from_secs(5)).await;
    assert_eq!(status(&challenge), 401, "{challenge}");
    let mut auth = RegisterClient {
        username: "alice".into(),
        password: "secret".into(),
        registrar_uri: format!("sip:{addr}"),
        algorithm: None,
        call_id: "tls-register".into(),
        next_cseq: 2,
        challenge: None,
        nc: 0,
        timeout: Duration::from_secs(5),
    };
    auth.challenge =
        Some(parse_challenge(header(&challenge, "WWW-Authenticate").unwrap()).unwrap());
    let authorization = auth.authorization_with(1, "secret").unwrap();
    phone.send(&register(&phone, 2, Some(&authorization))).await;
    let ok = phone.final_response(Duration::from_secs(5)).await;
    assert_eq!(status(&ok), 200, "{ok}");

    // A call to alice from UDP reaches the phone over its TLS connection,
    // with our Via and Contact saying TLS (RFC 3261 §26.3.1).
    let caller = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let offer = sdp_offer(rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let target = format!("sip:alice@{}", server.sip_addr());
    let call = tokio::spawn(async move { caller.invite(&target, &offer).await.map(|_| ()) });
    let invite = phone.recv(Duration::from_secs(5)).await;
    assert!(invite.starts_with("INVITE sip:alice@"), "{invite}");
    let via = header(&invite, "Via").unwrap();
    assert!(
        via.starts_with(&format!("SIP/2.0/TLS 127.0.0.1:{}", addr.port())),
        "{via}"
    );
    let contact = header(&invite, "Contact").unwrap();
    assert_eq!(
        contact,
        format!("<sip:127.0.0.1:{};transport=tls>", addr.port())
    );

    // Busy: the server's ACK for it comes back over the connection too.
    let mut busy = String::from("SIP/2.0 486 Busy Here\r\n");
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        busy.push_str(&format!("{name}: {}\r\n", header(&invite, name).unwrap()));
    }
    let to = header(&invite, "To").unwrap();
    busy.push_str(&format!("To: {to};tag=busy\r\nContent-Length: 0\r\n\r\n"));
    phone.send(&busy).await;
    let ack = phone.recv(Duration::from_secs(5)).await;
    assert!(ack.starts_with("ACK "), "{ack}");
    match call.await.unwrap() {
        Err(UaError::Rejected { status, .. }) => assert_eq!(status, 486),
        other => panic!("the caller should hear busy: {other:?}"),
    }

    // The phone goes away. The server hears the close before it completes
    // a new client's handshake and answers its OPTIONS.
    drop(phone);
    let mut other = TlsSipClient::connect(addr, &certificate).await;
    assert_eq!(status(&other.options(&format!("sip:{addr}")).await), 200);
    // A call to alice now fails at once (503 inside, 502 to the caller)
    // instead of connecting back to the port the phone's connection came
    // from, or waiting for Timer B.
    let caller = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer(rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let target = format!("sip:alice@{}", server.sip_addr());
    let outcome = tokio::time::timeout(Duration::from_secs(5), caller.invite(&target, &offer))
        .await
        .expect("a final response at once");
    assert!(
        matches!(outcome, Err(UaError::Rejected { status: 502, .. })),
        "{:?}",
        outcome.err()
    );
    let text = server.metrics_text().await;
    assert_eq!(
        metric(&text, "mediaplane_sip_outgoing_connect_failures_total"),
        0.0,
        "no connection was tried"
    );
    server.stop().await;
}

/// Reads until the server closes the connection (or fails it); false if
/// it is still open after `within`.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_handshakes_close_only_their_own_connection_and_are_counted() {
    let certificate = TestCertificate::new();
    let (server, addr) = tls_server(&certificate).await;
    let mut good = TlsSipClient::connect(addr, &certificate).await;

    // Random bytes, plain SIP on the TLS port, and a client that never
    // says anything.
    let mut garbage = TcpStream::connect(addr).await.unwrap();
    let noise: Vec<u8> = (0..600).map(|_| rand::random::<u8>()).collect();
    garbage.write_all(&noise).await.unwrap();
    let mut plain = TcpStream::connect(addr).await.unwrap();
    let options = format!(
        "OPTIONS sip:echo@{addr} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKplain\r\n\
         From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:echo@{addr}>\r\nCall-ID: plain\r\n\
         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    plain.write_all(options.as_bytes()).await.unwrap();
    let mut stalled = TcpStream::connect(addr).await.unwrap();

    // The good client is served while the others are being turned away.
    let response = good.options(&format!("sip:echo@{addr}")).await;
    assert_eq!(status(&response), 200, "{response}");
    assert!(closed_by_server(&mut garbage, Duration::from_secs(5)).await);
    assert!(closed_by_server(&mut plain, Duration::from_secs(5)).await);
    let counted = wait_for(Duration::from_secs(5), || async {
        metric(&server.metrics_text().await, FAILURES) >= 2.0
    })
    .await;
    assert!(counted, "{}", server.metrics_text().await);

    // The staller is cut off after the handshake timeout (10 s).
    assert!(closed_by_server(&mut stalled, Duration::from_secs(15)).await);
    let counted = wait_for(Duration::from_secs(2), || async {
        metric(&server.metrics_text().await, FAILURES) == 3.0
    })
    .await;
    assert!(counted, "{}", server.metrics_text().await);

    // And the good connection still works.
    let response = good.options(&format!("sip:echo@{addr}")).await;
    assert_eq!(status(&response), 200, "{response}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sips_over_udp_or_tcp_is_refused_with_416() {
    let certificate = TestCertificate::new();
    let (server, _) = tls_server(&certificate).await;
    let request = |via: &str, target: SocketAddr| {
        format!(
            "OPTIONS sips:echo@{target} SIP/2.0\r\n\
             Via: SIP/2.0/{via} 127.0.0.1:9;branch=z9hG4bK{};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\n\
             To: <sips:echo@{target}>\r\nCall-ID: sips-{via}\r\n\
             CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            rand::random::<u32>()
        )
    };

    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = server.sip_addr();
    udp.send_to(request("UDP", target).as_bytes(), target)
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), udp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8_lossy(&buf[..n]).to_string();
    assert_eq!(status(&response), 416, "{response}");

    let target = server.sip_tcp_addr();
    let mut tcp = TcpStream::connect(target).await.unwrap();
    tcp.write_all(request("TCP", target).as_bytes())
        .await
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8_lossy(&buf[..n]).to_string();
    assert_eq!(status(&response), 416, "{response}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tls_listen_there_is_no_tls_listener() {
    let server = TestServer::start(|_| {}).await;
    assert_eq!(server.sip_tls_addr(), None);
    let metrics = server.metrics_text().await;
    assert_eq!(metric(&metrics, FAILURES), 0.0);
    server.stop().await;
}
