//! Bridged calls over loopback: a caller (the test user agent) dials a
//! route whose target is a scripted callee (or a registered user);
//! mediaplane anchors the media between them and transcodes when their
//! codecs differ.

mod common;

use mediaplane::codec::CodecKind;
use mediaplane::config::{Application, Config, RouteConfig, UserConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::TestUserAgent;
use tokio::net::UdpSocket;

use common::bridging::*;
use common::callee::{exchange_tone, tone_snr_db, Callee};
use common::{route_first, TestServer};

/// Caller offering only PCMU, a registered callee answering only
/// `callee_codec`: each side sends its own tone and must hear the other's.
async fn transcoded_call(callee_codec: CodecKind) {
    let callee = Callee::bind(callee_codec).await;
    let server = TestServer::start(|c: &mut Config| {
        c.media.codecs = all_codecs();
        c.users.push(UserConfig::with_password("bob", "bob-pw"));
    })
    .await;
    callee.register(server.sip_addr(), "bob", "bob-pw").await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let uri = bob(&server);
    let (call, answered) = tokio::join!(ua.invite(&uri, &offer), callee.answer(WAIT));
    let mut call = call.expect("the bridged call is answered");
    // The outgoing INVITE offers the caller's codec first, then the rest.
    let offered = answered.invite.body_text();
    let m_line = offered.lines().find(|l| l.starts_with("m=audio")).unwrap();
    assert!(m_line.contains("RTP/AVP 0 "), "{m_line}");
    assert_eq!(
        answered.invite.header("Max-Forwards"),
        Some("69"),
        "one hop used up"
    );
    // RFC 3261 §13.2.2.4: the ACK of the 2xx reuses the INVITE's CSeq
    // number, goes to the Contact and carries our To tag.
    let ack = callee.next_request(WAIT).await;
    assert_eq!(ack.method(), Some("ACK"));
    assert_eq!(ack.cseq(), Some((1, "ACK")));
    assert_eq!(ack.to_tag(), Some(answered.to_tag.as_str()));
    assert!(ack
        .request_uri()
        .unwrap()
        .contains(&callee.addr().to_string()));
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    assert_eq!(answer.codec, Some(CodecKind::Pcmu));

    let (caller_heard, callee_heard) = tokio::join!(
        exchange_tone(
            &caller_rtp,
            CodecKind::Pcmu,
            answer.payload_type,
            answer.rtp_addr(),
            1000.0,
            75
        ),
        exchange_tone(
            &callee.rtp,
            callee_codec,
            answered.payload_type,
            answered.remote_rtp,
            600.0,
            75
        ),
    );
    // The last half second of each direction, against the other side's
    // tone: what is not that tone is codec noise, resampling error or
    // concealment.
    let window = |rate: u32| rate as usize / 2;
    let heard_by_caller = tone_snr_db(&caller_heard, 8000, 600.0, window(8000));
    let rate = callee_codec.audio_rate();
    let heard_by_callee = tone_snr_db(&callee_heard, rate, 1000.0, window(rate));
    eprintln!(
        "{callee_codec:?}: SNR of the tone heard by the caller {heard_by_caller:.1} dB, \
         by the callee {heard_by_callee:.1} dB"
    );
    assert!(
        heard_by_caller > 20.0,
        "caller hears the callee's 600 Hz: {heard_by_caller:.1} dB over {} samples",
        caller_heard.len()
    );
    assert!(
        heard_by_callee > 20.0,
        "callee hears the caller's 1 kHz: {heard_by_callee:.1} dB over {} samples",
        callee_heard.len()
    );
    // Equal codecs are forwarded without decoding; different ones are
    // decoded on both legs.
    let (_, body) = common::http_get(server.http_addr(), "/api/v1/calls").await;
    let legs: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(legs.as_array().unwrap().len(), 2, "{body}");
    for leg in legs.as_array().unwrap() {
        let stats = &leg["stats"];
        let decoded = stats["decoded_frames"].as_u64().unwrap();
        let forwarded = stats["forwarded"].as_u64().unwrap();
        if callee_codec == CodecKind::Pcmu {
            assert_eq!(decoded, 0, "pass-through decodes nothing: {leg}");
            assert!(forwarded >= 60, "pass-through forwards: {leg}");
        } else {
            assert!(decoded >= 60, "transcoding decodes: {leg}");
            assert_eq!(forwarded, 0, "transcoding forwards nothing as is: {leg}");
        }
    }
    let ok = call.bye(WAIT).await.unwrap();
    assert_eq!(ok.status_code(), Some(200));
    let bye = callee.expect("BYE", WAIT).await;
    callee.respond(&bye, 200, "OK", None, None).await;
    server.stop().await;
}

#[tokio::test]
async fn pcmu_caller_and_opus_callee_hear_each_other() {
    transcoded_call(CodecKind::Opus).await;
}

#[tokio::test]
async fn pcmu_caller_and_g722_callee_hear_each_other() {
    transcoded_call(CodecKind::G722).await;
}

#[tokio::test]
async fn pcmu_caller_and_pcma_callee_hear_each_other() {
    transcoded_call(CodecKind::Pcma).await;
}

#[tokio::test]
async fn equal_codecs_pass_through() {
    transcoded_call(CodecKind::Pcmu).await;
}

#[tokio::test]
async fn callee_bye_ends_the_caller_leg() {
    let Bridged {
        callee,
        server,
        ua,
        offer,
    } = bridged(CodecKind::Pcmu, |_| {}).await;
    let uri = bob(&server);
    let (call, answered) = tokio::join!(ua.invite(&uri, &offer), callee.answer(WAIT));
    let mut call = call.unwrap();
    callee.expect("ACK", WAIT).await;
    callee.bye(&answered).await;
    let ok = callee.next_message(WAIT).await;
    assert_eq!(ok.status_code(), Some(200), "{}", ok.start_line());
    call.wait_bye(WAIT).await.expect("the caller gets a BYE");
    assert!(
        common::wait_for(WAIT, || async { server.ports_in_use() == 0 }).await,
        "both legs' media ports are released"
    );
    server.stop().await;
}

#[tokio::test]
async fn busy_callee_gives_the_caller_486() {
    let Bridged {
        callee,
        server,
        ua,
        offer,
    } = bridged(CodecKind::Pcmu, |_| {}).await;
    let uri = bob(&server);
    let busy = async {
        let invite = callee.expect("INVITE", WAIT).await;
        callee
            .respond(&invite, 486, "Busy Here", Some("b1"), None)
            .await;
        callee.expect("ACK", WAIT).await
    };
    let (call, ack) = tokio::join!(ua.invite(&uri, &offer), busy);
    match call {
        Err(mediaplane::loadgen::ua::UaError::Rejected { status, .. }) => assert_eq!(status, 486),
        other => panic!("expected 486, got {:?}", other.map(|_| ())),
    }
    assert_eq!(ack.method(), Some("ACK"));
    assert!(common::wait_for(WAIT, || async { server.ports_in_use() == 0 }).await);
    server.stop().await;
}

#[tokio::test]
async fn ringing_is_relayed_and_no_answer_gives_480() {
    let Bridged {
        callee,
        server,
        ua,
        offer,
    } = bridged(CodecKind::Pcmu, |r| r.no_answer_ms = Some(1000)).await;
    let (mut call, invite) = ring(&ua, &server, &offer, &callee).await;
    callee
        .respond(&invite, 180, "Ringing", Some("r1"), None)
        .await;
    let ringing = call.wait_status(180, WAIT).await.unwrap();
    assert!(
        ringing.header("Contact").is_some(),
        "an early dialog needs a Contact"
    );
    let final_response = call.wait_final(WAIT).await.unwrap();
    assert_eq!(final_response.status_code(), Some(480));
    // The callee's INVITE is cancelled, and answered 487 by it.
    callee.accept_cancel(&invite, "r1").await;
    server.stop().await;
}

#[tokio::test]
async fn caller_cancel_is_propagated() {
    let Bridged {
        callee,
        server,
        ua,
        offer,
    } = bridged(CodecKind::Pcmu, |_| {}).await;
    let (mut call, invite) = ring(&ua, &server, &offer, &callee).await;
    callee
        .respond(&invite, 180, "Ringing", Some("c1"), None)
        .await;
    call.wait_provisional(WAIT).await.unwrap();
    call.cancel(WAIT).await.unwrap();
    let cancel = callee.accept_cancel(&invite, "c1").await;
    assert_eq!(cancel.call_id(), invite.call_id());
    assert_eq!(cancel.top_via_branch(), invite.top_via_branch());
    assert!(common::wait_for(WAIT, || async { server.ports_in_use() == 0 }).await);
    server.stop().await;
}

#[tokio::test]
async fn both_legs_are_listed_with_their_codecs() {
    let Bridged {
        callee,
        server,
        ua,
        offer,
    } = bridged(CodecKind::Pcma, |_| {}).await;
    let uri = bob(&server);
    let (call, _answered) = tokio::join!(ua.invite(&uri, &offer), callee.answer(WAIT));
    let mut call = call.unwrap();
    callee.expect("ACK", WAIT).await;
    let (status, body) = common::http_get(server.http_addr(), "/api/v1/calls").await;
    assert_eq!(status, 200);
    let legs: serde_json::Value = serde_json::from_str(&body).unwrap();
    let legs = legs.as_array().unwrap();
    assert_eq!(legs.len(), 2, "{body}");
    let inbound = legs.iter().find(|l| l["direction"] == "inbound").unwrap();
    let outbound = legs.iter().find(|l| l["direction"] == "outbound").unwrap();
    assert_eq!(inbound["codec"], "PCMU");
    assert_eq!(outbound["codec"], "PCMA");
    assert_eq!(inbound["application"], "bridge");
    assert_eq!(inbound["bridged_with"], outbound["id"]);
    assert_eq!(outbound["bridged_with"], inbound["id"]);
    assert_eq!(inbound["call_id"], call.call_id());
    assert_ne!(
        outbound["call_id"],
        call.call_id(),
        "the B2BUA makes its own dialog"
    );
    call.bye(WAIT).await.unwrap();
    let bye = callee.expect("BYE", WAIT).await;
    callee.respond(&bye, 200, "OK", None, None).await;
    assert!(
        common::wait_for(WAIT, || async {
            common::http_get(server.http_addr(), "/api/v1/calls")
                .await
                .1
                == "[]"
        })
        .await
    );
    server.stop().await;
}

#[tokio::test]
async fn a_request_out_of_hops_is_refused_with_483() {
    let Bridged {
        callee: _,
        server,
        ua,
        offer,
    } = bridged(CodecKind::Pcmu, |_| {}).await;
    let local = ua.local_addr();
    let invite = format!(
        "INVITE sip:bob@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKmf0\r\n\
         Max-Forwards: 0\r\nFrom: <sip:a@{local}>;tag=1\r\nTo: <sip:bob@{server}>\r\n\
         Call-ID: mf0@test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@{local}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{offer}",
        offer.len(),
        server = server.sip_addr(),
    );
    ua.send_raw(invite.as_bytes()).await.unwrap();
    loop {
        let response = ua.next_unmatched(WAIT).await.unwrap();
        if response.status_code() != Some(100) {
            assert_eq!(response.status_code(), Some(483));
            break;
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_route_back_to_this_server_is_refused_as_a_loop() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = TestServer::start(move |c: &mut Config| {
        c.sip.udp_listen = format!("127.0.0.1:{port}").parse().unwrap();
        let target = format!("sip:loop@127.0.0.1:{port}");
        route_first(
            c,
            RouteConfig::new("^loop$", Application::Bridge { target }),
        );
    })
    .await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:9".parse().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:loop@{}", server.sip_addr());
    match ua.invite(&uri, &offer).await {
        Err(mediaplane::loadgen::ua::UaError::Rejected { status, .. }) => assert_eq!(status, 482),
        other => panic!("expected 482, got {:?}", other.map(|_| ())),
    }
    assert_eq!(server.ports_in_use(), 0);
    server.stop().await;
}
