//! Bridged calls after the answer and around it: early media, hold and
//! resume, codec changes and hanging re-INVITEs relayed between the legs,
//! delayed offers, and the outgoing dialog's route set.

mod common;

use mediaplane::codec::CodecKind;
use mediaplane::config::{Application, Config, RouteConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::{InviteOptions, TestUserAgent};
use tokio::net::UdpSocket;

use common::bridging::*;
use common::callee::{exchange_tone, tone_purity, tone_snr_db, Callee};
use common::{route_first, TestServer};

#[tokio::test]
async fn hold_and_resume_are_relayed_to_the_other_leg() {
    let callee = Callee::bind(CodecKind::Pcmu).await;
    let server = server_for(&callee, |_| {}).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let uri = bob(&server);
    let (call, _answered) = tokio::join!(ua.invite(&uri, &offer), callee.answer(WAIT));
    let mut call = call.unwrap();
    callee.expect("ACK", WAIT).await;
    for (ours, relayed, callee_answers) in [
        ("sendonly", "a=sendonly", "recvonly"),
        ("sendrecv", "a=sendrecv", "sendrecv"),
    ] {
        let offer = with_direction(&offer, ours);
        let reinvite = async {
            let request = callee.expect("INVITE", WAIT).await;
            let body = request.body_text();
            assert!(body.contains(relayed), "relayed offer:\n{body}");
            let (sdp, _, _) = callee.answer_sdp(&body, callee_answers);
            callee.respond(&request, 200, "OK", None, Some(&sdp)).await;
            callee.expect("ACK", WAIT).await
        };
        let (response, _) = tokio::join!(
            call.request("INVITE", &[], Some(("application/sdp", &offer)), WAIT),
            reinvite
        );
        assert_eq!(response.unwrap().status_code(), Some(200));
    }
    call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn early_media_answer_is_sent_in_a_183() {
    let Bridged {
        callee,
        server,
        ua,
        offer,
    } = bridged(CodecKind::Pcmu, |_| {}).await;
    let (mut call, invite) = ring(&ua, &server, &offer, &callee).await;
    let (sdp, _, _) = callee.answer_sdp(&invite.body_text(), "sendrecv");
    callee
        .respond(&invite, 183, "Session Progress", Some("e1"), Some(&sdp))
        .await;
    let progress = call.wait_status(183, WAIT).await.unwrap();
    let early = SdpAnswer::parse(&progress.body_text()).expect("the 183 carries our answer");
    assert_eq!(early.codec, Some(CodecKind::Pcmu));
    callee
        .respond(&invite, 200, "OK", Some("e1"), Some(&sdp))
        .await;
    let ok = call.wait_final(WAIT).await.unwrap();
    assert_eq!(ok.status_code(), Some(200));
    assert_eq!(
        SdpAnswer::parse(&ok.body_text()).unwrap().rtp_addr(),
        early.rtp_addr(),
        "the 200 repeats the early answer"
    );
    call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_2xx_without_sdp_after_early_media_keeps_the_early_answer() {
    let callee = Callee::bind(CodecKind::Pcma).await;
    let server = server_for(&callee, |_| {}).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let (mut call, invite) = ring(&ua, &server, &offer, &callee).await;
    let (sdp, payload_type, remote) = callee.answer_sdp(&invite.body_text(), "sendrecv");
    callee
        .respond(&invite, 183, "Session Progress", Some("g1"), Some(&sdp))
        .await;
    call.wait_status(183, WAIT).await.unwrap();
    callee.respond(&invite, 200, "OK", Some("g1"), None).await;
    let ok = call.wait_final(WAIT).await.unwrap();
    assert_eq!(ok.status_code(), Some(200));
    callee.expect("ACK", WAIT).await;
    let answer = SdpAnswer::parse(&ok.body_text()).unwrap();
    let (caller_heard, callee_heard) = tokio::join!(
        exchange_tone(
            &caller_rtp,
            CodecKind::Pcmu,
            answer.payload_type,
            answer.rtp_addr(),
            1000.0,
            50
        ),
        exchange_tone(
            &callee.rtp,
            CodecKind::Pcma,
            payload_type,
            remote,
            600.0,
            50
        ),
    );
    assert!(tone_purity(&caller_heard, 8000, 600.0, 4000) > 0.8);
    assert!(tone_purity(&callee_heard, 8000, 1000.0, 4000) > 0.8);
    call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_codec_change_is_offered_to_the_other_leg_and_pass_through_resumes() {
    // The caller starts in PCMU against a PCMA-only callee (transcoded),
    // then re-INVITEs in PCMA only: the callee is offered PCMA first, keeps
    // it, and the legs pass through from then on.
    let callee = Callee::bind(CodecKind::Pcma).await;
    let server = server_for(&callee, |_| {}).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let here = caller_rtp.local_addr().unwrap();
    let uri = bob(&server);
    let offer = sdp_offer(here, &[CodecKind::Pcmu]);
    let (call, answered) = tokio::join!(ua.invite(&uri, &offer), callee.answer(WAIT));
    let mut call = call.unwrap();
    callee.expect("ACK", WAIT).await;
    let pcma_offer = sdp_offer(here, &[CodecKind::Pcma]).replace("o=- 1 1 ", "o=- 1 2 ");
    let reinvite = async {
        let request = callee.expect("INVITE", WAIT).await;
        let body = request.body_text();
        let m_line = body
            .lines()
            .find(|l| l.starts_with("m=audio"))
            .unwrap()
            .to_string();
        let (sdp, _, _) = callee.answer_sdp(&body, "sendrecv");
        callee.respond(&request, 200, "OK", None, Some(&sdp)).await;
        callee.expect("ACK", WAIT).await;
        m_line
    };
    let (response, m_line) = tokio::join!(
        call.request("INVITE", &[], Some(("application/sdp", &pcma_offer)), WAIT),
        reinvite
    );
    let response = response.unwrap();
    assert_eq!(response.status_code(), Some(200));
    assert!(
        m_line.contains("RTP/AVP 8 "),
        "PCMA offered first: {m_line}"
    );
    let answer = SdpAnswer::parse(&response.body_text()).unwrap();
    assert_eq!(answer.codec, Some(CodecKind::Pcma));
    let (caller_heard, callee_heard) = tokio::join!(
        exchange_tone(
            &caller_rtp,
            CodecKind::Pcma,
            answer.payload_type,
            answer.rtp_addr(),
            1000.0,
            50
        ),
        exchange_tone(
            &callee.rtp,
            CodecKind::Pcma,
            answered.payload_type,
            answered.remote_rtp,
            600.0,
            50
        ),
    );
    assert!(tone_purity(&caller_heard, 8000, 600.0, 4000) > 0.95);
    assert!(tone_purity(&callee_heard, 8000, 1000.0, 4000) > 0.95);
    let (_, body) = common::http_get(server.http_addr(), "/api/v1/calls").await;
    let legs: serde_json::Value = serde_json::from_str(&body).unwrap();
    for leg in legs.as_array().unwrap() {
        assert_eq!(leg["codec"], "PCMA", "{leg}");
        assert!(
            leg["stats"]["forwarded"].as_u64().unwrap() >= 40,
            "passes through: {leg}"
        );
    }
    call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_relayed_reinvite_left_hanging_is_cancelled_and_the_next_one_sent() {
    // T1 = 50 ms: a relayed re-INVITE answered only 180 is given up after
    // 64·T1 = 3.2 s, and the resume queued behind it goes out then.
    let callee = Callee::bind(CodecKind::Pcmu).await;
    let target = format!("sip:bob@{}", callee.addr());
    let server = TestServer::start(move |c: &mut Config| {
        c.sip.t1_ms = 50;
        route_first(c, RouteConfig::new("^bob$", Application::Bridge { target }));
    })
    .await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:9".parse().unwrap(), &[CodecKind::Pcmu]);
    let uri = bob(&server);
    let (call, _answered) = tokio::join!(ua.invite(&uri, &offer), callee.answer(WAIT));
    let mut call = call.unwrap();
    callee.expect("ACK", WAIT).await;
    let hold = with_direction(&offer, "sendonly");
    let (held, stuck) = tokio::join!(
        call.request("INVITE", &[], Some(("application/sdp", &hold)), WAIT),
        callee.expect("INVITE", WAIT)
    );
    assert_eq!(held.unwrap().status_code(), Some(200));
    callee.respond(&stuck, 180, "Ringing", None, None).await;
    // The caller resumes while the hold is still pending downstream: its
    // own re-INVITE is answered, the relay waits its turn.
    let resume = call
        .request("INVITE", &[], Some(("application/sdp", &offer)), WAIT)
        .await
        .unwrap();
    assert_eq!(resume.status_code(), Some(200));
    let cancel = callee.expect("CANCEL", WAIT).await;
    assert_eq!(cancel.top_via_branch(), stuck.top_via_branch());
    callee.respond(&cancel, 200, "OK", None, None).await;
    callee
        .respond(&stuck, 487, "Request Terminated", None, None)
        .await;
    let next = callee.expect("INVITE", WAIT).await;
    assert!(
        next.body_text().contains("a=sendrecv"),
        "{}",
        next.body_text()
    );
    let (sdp, _, _) = callee.answer_sdp(&next.body_text(), "sendrecv");
    callee.respond(&next, 200, "OK", None, Some(&sdp)).await;
    callee.expect("ACK", WAIT).await;
    call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_delayed_offer_caller_gets_the_callees_codec_offered_first() {
    // The caller sends no SDP; the callee answers our offer in Opus; the
    // caller's 2xx offers Opus first, the caller answers PCMU in its ACK,
    // and the two legs are transcoded.
    let callee = Callee::bind(CodecKind::Opus).await;
    let server = server_for(&callee, |_| {}).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = caller_rtp.local_addr().unwrap().port();
    let options = InviteOptions {
        ack_sdp: Some(format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        )),
        ..InviteOptions::default()
    };
    let uri = bob(&server);
    let (call, answered) = tokio::join!(ua.invite_with(&uri, "", &options), callee.answer(WAIT));
    let mut call = call.unwrap();
    callee.expect("ACK", WAIT).await;
    let offer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    assert_eq!(
        offer.codec,
        Some(CodecKind::Opus),
        "the callee's codec first"
    );
    let (caller_heard, callee_heard) = tokio::join!(
        exchange_tone(
            &caller_rtp,
            CodecKind::Pcmu,
            0,
            offer.rtp_addr(),
            1000.0,
            60
        ),
        exchange_tone(
            &callee.rtp,
            CodecKind::Opus,
            answered.payload_type,
            answered.remote_rtp,
            600.0,
            60
        ),
    );
    assert!(tone_snr_db(&caller_heard, 8000, 600.0, 4000) > 20.0);
    assert!(tone_snr_db(&callee_heard, 48000, 1000.0, 24000) > 20.0);
    call.bye(WAIT).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn requests_in_the_outgoing_dialog_follow_the_reversed_record_route() {
    // RFC 3261 §12.1.2: the UAC's route set is the 2xx's Record-Route in
    // reverse; in-dialog requests go to its first entry and carry it all.
    let Bridged {
        callee,
        server,
        ua,
        offer,
    } = bridged(CodecKind::Pcmu, |_| {}).await;
    let (mut call, invite) = ring(&ua, &server, &offer, &callee).await;
    let (sdp, _, _) = callee.answer_sdp(&invite.body_text(), "sendrecv");
    let record_route = format!(
        "Record-Route: <sip:127.0.0.1:9;lr>, <sip:{};lr>",
        callee.addr()
    );
    callee
        .respond_with(&invite, 200, "OK", Some("rr1"), Some(&sdp), &[record_route])
        .await;
    call.wait_final(WAIT).await.unwrap();
    let ack = callee.expect("ACK", WAIT).await;
    let routes: Vec<&str> = ack.header_values("Route").collect();
    assert_eq!(
        routes,
        vec![
            format!("<sip:{};lr>", callee.addr()).as_str(),
            "<sip:127.0.0.1:9;lr>"
        ],
        "{}",
        ack.start_line()
    );
    call.bye(WAIT).await.unwrap();
    let bye = callee.expect("BYE", WAIT).await;
    let routes: Vec<&str> = bye.header_values("Route").collect();
    assert_eq!(routes.len(), 2);
    assert!(routes[0].contains(&callee.addr().to_string()));
    callee.respond(&bye, 200, "OK", None, None).await;
    server.stop().await;
}
