//! Calls to registered users: forked to every contact the user registered,
//! the first answer wins, the others are cancelled or, when they answered
//! too, acknowledged and hung up.

mod common;

use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::config::{Config, UserConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::{InviteOptions, TestUserAgent};
use tokio::net::UdpSocket;

use common::callee::{exchange_tone, tone_purity, Callee};
use common::TestServer;

const WAIT: Duration = Duration::from_secs(5);

/// A server with the user `carol` (`tweak` may change her or add more),
/// `devices` registered as her contacts, and a caller agent.
async fn carol_with(
    devices: &[&Callee],
    tweak: impl FnOnce(&mut Config),
) -> (TestServer, TestUserAgent) {
    let server = TestServer::start(|c: &mut Config| {
        c.users.push(UserConfig::with_password("carol", "carol-pw"));
        tweak(c);
    })
    .await;
    for device in devices {
        device
            .register(server.sip_addr(), "carol", "carol-pw")
            .await;
    }
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    (server, ua)
}

#[tokio::test]
async fn a_call_to_a_registered_user_forks_and_the_first_answer_wins() {
    let desk = Callee::bind(CodecKind::Pcmu).await;
    let mobile = Callee::bind(CodecKind::Opus).await;
    let (server, ua) = carol_with(&[&desk, &mobile], |c: &mut Config| {
        c.media.codecs = vec![CodecKind::Pcmu, CodecKind::Opus, CodecKind::TelephoneEvent];
    })
    .await;
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:carol@{}", server.sip_addr());
    let mut call = ua
        .start_invite(&uri, &offer, &InviteOptions::default())
        .await
        .unwrap();
    // Both devices ring; the mobile answers, the desk phone is cancelled.
    let desk_invite = desk.expect("INVITE", WAIT).await;
    desk.respond(&desk_invite, 180, "Ringing", Some("d1"), None)
        .await;
    let answered = mobile.answer(WAIT).await;
    assert!(answered
        .invite
        .request_uri()
        .unwrap()
        .contains(&mobile.addr().to_string()));
    let ok = call.wait_final(WAIT).await.unwrap();
    assert_eq!(ok.status_code(), Some(200));
    let cancel = desk.accept_cancel(&desk_invite, "d1").await;
    assert_eq!(cancel.top_via_branch(), desk_invite.top_via_branch());
    mobile.expect("ACK", WAIT).await;

    // The caller in PCMU and the mobile in Opus hear each other.
    let answer = SdpAnswer::parse(&ok.body_text()).unwrap();
    let (caller_heard, mobile_heard) = tokio::join!(
        exchange_tone(
            &caller_rtp,
            CodecKind::Pcmu,
            answer.payload_type,
            answer.rtp_addr(),
            1000.0,
            60
        ),
        exchange_tone(
            &mobile.rtp,
            CodecKind::Opus,
            answered.payload_type,
            answered.remote_rtp,
            600.0,
            60
        ),
    );
    assert!(tone_purity(&caller_heard, 8000, 600.0, 4000) > 0.8);
    assert!(tone_purity(&mobile_heard, 48000, 1000.0, 24000) > 0.8);

    // The callee hangs up: the caller's leg ends too.
    mobile.bye(&answered).await;
    call.wait_bye(WAIT).await.expect("the caller gets a BYE");
    assert!(
        common::wait_for(WAIT, || async { server.ports_in_use() == 0 }).await,
        "every media port is released"
    );
    server.stop().await;
}

#[tokio::test]
async fn every_contact_busy_gives_486_and_unregistered_users_480() {
    let desk = Callee::bind(CodecKind::Pcmu).await;
    let mobile = Callee::bind(CodecKind::Pcmu).await;
    let (server, ua) = carol_with(&[&desk, &mobile], |c: &mut Config| {
        c.users.push(UserConfig::with_password("dave", "dave-pw"));
    })
    .await;
    let offer = sdp_offer("127.0.0.1:9".parse().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:carol@{}", server.sip_addr());
    let (call, _, _) = tokio::join!(
        ua.invite(&uri, &offer),
        refuse_busy(&desk),
        refuse_busy(&mobile)
    );
    match call {
        Err(mediaplane::loadgen::ua::UaError::Rejected { status, .. }) => assert_eq!(status, 486),
        other => panic!("expected 486, got {:?}", other.map(|_| ())),
    }
    let uri = format!("sip:dave@{}", server.sip_addr());
    match ua.invite(&uri, &offer).await {
        Err(mediaplane::loadgen::ua::UaError::Rejected { status, .. }) => assert_eq!(status, 480),
        other => panic!("expected 480, got {:?}", other.map(|_| ())),
    }
    server.stop().await;
}

async fn refuse_busy(callee: &Callee) {
    let invite = callee.expect("INVITE", WAIT).await;
    callee
        .respond(&invite, 486, "Busy Here", Some("b"), None)
        .await;
    callee.expect("ACK", WAIT).await;
}

#[tokio::test]
async fn a_second_answer_is_acknowledged_and_hung_up() {
    let desk = Callee::bind(CodecKind::Pcmu).await;
    let mobile = Callee::bind(CodecKind::Pcmu).await;
    let (server, ua) = carol_with(&[&desk, &mobile], |_| {}).await;
    let offer = sdp_offer("127.0.0.1:9".parse().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:carol@{}", server.sip_addr());
    let mut call = ua
        .start_invite(&uri, &offer, &InviteOptions::default())
        .await
        .unwrap();
    let desk_invite = desk.expect("INVITE", WAIT).await;
    let mobile_invite = mobile.expect("INVITE", WAIT).await;
    // Each fork is its own dialog: a tag of its own.
    assert_ne!(desk_invite.from_tag(), mobile_invite.from_tag());
    let first = desk.answer_invite(desk_invite).await;
    let ok = call.wait_final(WAIT).await.unwrap();
    assert_eq!(ok.status_code(), Some(200));
    let ack = desk.expect("ACK", WAIT).await;
    // Both answered at once: the second 2xx is acknowledged, then ended.
    let second = mobile.answer_invite(mobile_invite).await;
    let late_ack = mobile.expect("ACK", WAIT).await;
    assert_eq!(late_ack.to_tag(), Some(second.to_tag.as_str()));
    let bye = mobile.expect("BYE", WAIT).await;
    mobile.respond(&bye, 200, "OK", None, None).await;
    // A retransmitted 2xx of the winner gets the same ACK again, no BYE.
    let (sdp, _, _) = desk.answer_sdp(&first.invite.body_text(), "sendrecv");
    desk.respond(&first.invite, 200, "OK", Some(&first.to_tag), Some(&sdp))
        .await;
    let again = desk.next_request(WAIT).await;
    assert_eq!(again.method(), Some("ACK"));
    assert_eq!(again.cseq(), ack.cseq());
    assert_eq!(again.top_via_branch(), ack.top_via_branch());
    // The winner's call goes on: a BYE from the caller reaches it.
    call.bye(WAIT).await.unwrap();
    let bye = desk.expect("BYE", WAIT).await;
    assert_eq!(bye.to_tag(), Some(first.to_tag.as_str()));
    desk.respond(&bye, 200, "OK", None, None).await;
    assert!(common::wait_for(WAIT, || async { server.ports_in_use() == 0 }).await);
    server.stop().await;
}

#[tokio::test]
async fn a_users_devices_ring_no_longer_than_its_no_answer_time() {
    let desk = Callee::bind(CodecKind::Pcmu).await;
    let (server, ua) = carol_with(&[&desk], |c: &mut Config| {
        c.users[0].no_answer_ms = Some(1000);
    })
    .await;
    let offer = sdp_offer("127.0.0.1:9".parse().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:carol@{}", server.sip_addr());
    let mut call = ua
        .start_invite(&uri, &offer, &InviteOptions::default())
        .await
        .unwrap();
    let invite = desk.expect("INVITE", WAIT).await;
    desk.respond(&invite, 180, "Ringing", Some("n1"), None)
        .await;
    let started = tokio::time::Instant::now();
    let final_response = call.wait_final(WAIT).await.unwrap();
    assert_eq!(final_response.status_code(), Some(480));
    let rang = started.elapsed();
    assert!(
        rang >= Duration::from_millis(900) && rang < Duration::from_millis(2500),
        "rang {rang:?} for a 1 s no-answer time"
    );
    desk.accept_cancel(&invite, "n1").await;
    server.stop().await;
}
