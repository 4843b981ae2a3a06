//! The user agent against the scripted fake server, over loopback.

use std::time::Duration;

use super::*;
use crate::codec::g711::{ulaw_decode, ulaw_encode};
use crate::codec::CodecKind;
use crate::loadgen::fake_uas::{FakeEvent, FakeUas, FakeUasConfig};
use crate::loadgen::rtp::{RtpStream, RtpStreamOptions};
use crate::loadgen::simple_sdp::sdp_offer;

const WAIT: Duration = Duration::from_secs(3);

fn target(fake_addr: SocketAddr) -> String {
    format!("sip:echo@{fake_addr}")
}

fn fast_timers() -> UaConfig {
    UaConfig {
        t1: Duration::from_millis(100),
        ..UaConfig::default()
    }
}

fn statuses(call: &mut Call) -> Vec<u16> {
    call.responses()
        .iter()
        .filter_map(|r| r.status_code())
        .collect()
}

#[tokio::test]
async fn call_sets_up_echoes_rtp_and_hangs_up() {
    let mut fake = FakeUas::start(FakeUasConfig::default()).await;
    let ua = TestUserAgent::bind_udp(fake.udp_addr).await.unwrap();
    let mut rtp = RtpStream::bind(RtpStreamOptions::new(CodecKind::Pcmu))
        .await
        .unwrap();
    let offer = sdp_offer(
        rtp.local_addr(),
        &[CodecKind::Pcmu, CodecKind::TelephoneEvent],
    );

    let mut call = ua.invite(&target(fake.udp_addr), &offer).await.unwrap();
    assert_eq!(call.state(), CallState::Established);
    assert_eq!(statuses(&mut call), vec![100, 200]);
    assert!(call.remote_tag().is_some());
    let invite_branch = match fake.next_event(WAIT).await {
        FakeEvent::Invite { call_id, branch } => {
            assert_eq!(call_id, call.call_id());
            branch
        }
        other => panic!("expected INVITE, got {other:?}"),
    };
    // The ACK of a 2xx is a transaction of its own (RFC 3261 §17.1.1.3).
    match fake.next_event(WAIT).await {
        FakeEvent::Ack { call_id, branch } => {
            assert_eq!(call_id, call.call_id());
            assert_ne!(branch, invite_branch);
        }
        other => panic!("expected ACK, got {other:?}"),
    }

    let answer = call.answer_sdp().unwrap();
    assert_eq!(answer.payload_type, 0);
    rtp.set_remote(answer.rtp_addr());
    let samples: Vec<i16> = (0..160 * 15)
        .map(|i| ((i as f64 * 0.3).sin() * 12000.0) as i16)
        .collect();
    rtp.send_samples(&samples).await.unwrap();
    rtp.wait_for_packets(15, WAIT).await.unwrap();
    let expected: Vec<i16> = samples
        .iter()
        .map(|s| ulaw_decode(ulaw_encode(*s)))
        .collect();
    assert_eq!(rtp.received_samples(), expected);

    let bye_response = call.bye(WAIT).await.unwrap();
    assert_eq!(bye_response.status_code(), Some(200));
    assert_eq!(call.state(), CallState::Terminated);
    assert_eq!(
        fake.next_event(WAIT).await,
        FakeEvent::Bye {
            call_id: call.call_id().to_string()
        }
    );
    assert_eq!(call.invite_transmissions(), 1);
    assert_eq!(call.ok_count(), 1);
}

#[tokio::test]
async fn invite_is_retransmitted_when_the_first_is_lost() {
    let mut fake = FakeUas::start(FakeUasConfig {
        drop_first_invites: 1,
        ..FakeUasConfig::default()
    })
    .await;
    let ua = TestUserAgent::bind_udp_with(fake.udp_addr, fast_timers())
        .await
        .unwrap();
    let offer = sdp_offer("127.0.0.1:4000".parse().unwrap(), &[CodecKind::Pcmu]);
    let started = Instant::now();
    let call = ua.invite(&target(fake.udp_addr), &offer).await.unwrap();
    // Answered only after Timer A fired once (T1 = 100 ms here).
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(call.invite_transmissions(), 2);
    let first = fake.next_event(WAIT).await;
    let second = fake.next_event(WAIT).await;
    // A retransmission is the same request: same branch.
    match (first, second) {
        (FakeEvent::Invite { branch: a, .. }, FakeEvent::Invite { branch: b, .. }) => {
            assert_eq!(a, b)
        }
        other => panic!("expected two INVITEs, got {other:?}"),
    }
}

#[tokio::test]
async fn unanswered_invite_times_out_after_retransmitting() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ua = TestUserAgent::bind_udp_with(silent.local_addr().unwrap(), fast_timers())
        .await
        .unwrap();
    let options = InviteOptions {
        final_timeout: Duration::from_millis(350),
        ..InviteOptions::default()
    };
    let mut call = ua
        .start_invite("sip:echo@127.0.0.1", "v=0\r\n", &options)
        .await
        .unwrap();
    let waited = call.wait_final(options.final_timeout).await;
    assert!(matches!(waited, Err(UaError::Timeout(_))), "{waited:?}");
    // Sent at 0, retransmitted at 100 and 300 ms (the last may miss the
    // deadline on a loaded machine).
    assert!((2..=3).contains(&call.invite_transmissions()));
    assert_eq!(call.state(), CallState::Calling);
}

#[tokio::test]
async fn cancel_before_answer_gets_200_and_487() {
    let mut fake = FakeUas::start(FakeUasConfig {
        ring_only: true,
        ..FakeUasConfig::default()
    })
    .await;
    let ua = TestUserAgent::bind_udp(fake.udp_addr).await.unwrap();
    let mut call = ua
        .start_invite(&target(fake.udp_addr), "v=0\r\n", &InviteOptions::default())
        .await
        .unwrap();
    let ringing = call.wait_provisional(WAIT).await.unwrap();
    assert!(matches!(ringing.status_code(), Some(100 | 180)));
    let outcome = call.cancel(WAIT).await.unwrap();
    assert_eq!(outcome.cancel_response.status_code(), Some(200));
    assert_eq!(outcome.invite_response.status_code(), Some(487));
    assert_eq!(call.state(), CallState::Failed(487));

    let invite_branch = match fake.next_event(WAIT).await {
        FakeEvent::Invite { branch, .. } => branch,
        other => panic!("expected INVITE, got {other:?}"),
    };
    assert!(matches!(
        fake.next_event(WAIT).await,
        FakeEvent::Cancel { .. }
    ));
    // The ACK of a non-2xx belongs to the INVITE transaction: same branch.
    match fake.next_event(WAIT).await {
        FakeEvent::Ack { branch, .. } => assert_eq!(branch, invite_branch),
        other => panic!("expected ACK, got {other:?}"),
    }
    assert!(matches!(
        call.cancel(WAIT).await,
        Err(UaError::InvalidState(_))
    ));
}

#[tokio::test]
async fn rejection_is_reported_with_its_response_and_acked() {
    let mut fake = FakeUas::start(FakeUasConfig {
        reject_with: Some((486, "Busy Here Today")),
        ..FakeUasConfig::default()
    })
    .await;
    let ua = TestUserAgent::bind_udp(fake.udp_addr).await.unwrap();
    let rejected = ua.invite(&target(fake.udp_addr), "v=0\r\n").await;
    match rejected {
        Err(UaError::Rejected {
            status,
            reason,
            response,
        }) => {
            assert_eq!(status, 486);
            assert_eq!(reason, "Busy Here Today");
            assert!(response.to_tag().is_some());
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    fake.wait_for(WAIT, |e| matches!(e, FakeEvent::Ack { .. }))
        .await;
    let logged: Vec<u16> = ua
        .received_messages()
        .iter()
        .filter_map(|m| m.status_code())
        .collect();
    assert_eq!(logged, vec![100, 486]);
}

#[tokio::test]
async fn withheld_ack_lets_the_200_be_retransmitted() {
    let mut fake = FakeUas::start(FakeUasConfig {
        ok_retransmissions: 3,
        retransmit_interval: Duration::from_millis(20),
        ..FakeUasConfig::default()
    })
    .await;
    let ua = TestUserAgent::bind_udp(fake.udp_addr).await.unwrap();
    let options = InviteOptions {
        send_ack: false,
        ..InviteOptions::default()
    };
    let call = ua
        .invite_with(&target(fake.udp_addr), "v=0\r\n", &options)
        .await
        .unwrap();
    assert_eq!(call.wait_ok_count(4, WAIT).await.unwrap(), 4);
    assert!(!fake
        .pending_events()
        .iter()
        .any(|e| matches!(e, FakeEvent::Ack { .. })));
}

#[tokio::test]
async fn ack_stops_the_200_retransmissions() {
    let mut fake = FakeUas::start(FakeUasConfig {
        ok_retransmissions: 3,
        retransmit_interval: Duration::from_millis(300),
        ..FakeUasConfig::default()
    })
    .await;
    let ua = TestUserAgent::bind_udp(fake.udp_addr).await.unwrap();
    let call = ua.invite(&target(fake.udp_addr), "v=0\r\n").await.unwrap();
    fake.wait_for(WAIT, |e| matches!(e, FakeEvent::Ack { .. }))
        .await;
    assert!(call
        .wait_ok_count(2, Duration::from_millis(400))
        .await
        .is_err());
    assert_eq!(call.ok_count(), 1);
}

#[tokio::test]
async fn server_bye_is_answered_and_awaited() {
    let mut fake = FakeUas::start(FakeUasConfig {
        bye_after: Some(Duration::from_millis(30)),
        ..FakeUasConfig::default()
    })
    .await;
    let ua = TestUserAgent::bind_udp(fake.udp_addr).await.unwrap();
    let mut call = ua.invite(&target(fake.udp_addr), "v=0\r\n").await.unwrap();
    let bye = call.wait_bye(WAIT).await.unwrap();
    assert_eq!(bye.method(), Some("BYE"));
    assert_eq!(call.state(), CallState::Terminated);
    let answered = fake
        .wait_for(WAIT, |e| matches!(e, FakeEvent::Response { .. }))
        .await;
    assert_eq!(
        answered,
        FakeEvent::Response {
            call_id: call.call_id().to_string(),
            status: 200
        }
    );
}

#[tokio::test]
async fn options_and_raw_messages() {
    let fake = FakeUas::start(FakeUasConfig::default()).await;
    let ua = TestUserAgent::bind_udp(fake.udp_addr).await.unwrap();
    let target = target(fake.udp_addr);
    let options = ua.options(&target, WAIT).await.unwrap();
    assert_eq!(options.status_code(), Some(200));
    assert_eq!(options.cseq(), Some((1, "OPTIONS")));

    let raw = format!(
        "PUBLISH {target} SIP/2.0\r\nVia: {}\r\nFrom: <sip:t@x>;tag=1\r\nTo: <{target}>\r\n\
         Call-ID: raw-call-1\r\nCSeq: 1 PUBLISH\r\nContent-Length: 0\r\n\r\n",
        ua.via_value(&new_branch())
    );
    let reply = ua.exchange_raw(raw.as_bytes(), WAIT).await.unwrap();
    assert_eq!(reply.status_code(), Some(501));
    assert_eq!(reply.reason_phrase(), Some("Not Implemented"));
    assert_eq!(reply.call_id(), Some("raw-call-1"));

    // Garbage neither kills the user agent nor gets an answer from the fake.
    ua.send_raw(b"\x00\x01garbage").await.unwrap();
    assert_eq!(
        ua.options(&target, WAIT).await.unwrap().status_code(),
        Some(200)
    );
    assert!(matches!(
        ua.options("mailto:x", WAIT).await,
        Err(UaError::InvalidTarget(_))
    ));
}

#[tokio::test]
async fn calls_over_tcp() {
    let mut fake = FakeUas::start(FakeUasConfig::default()).await;
    let ua = TestUserAgent::connect_tcp(fake.tcp_addr).await.unwrap();
    assert_eq!(ua.transport(), Transport::Tcp);
    assert!(ua.contact_uri().ends_with(";transport=tcp"));
    let mut call = ua.invite(&target(fake.tcp_addr), "v=0\r\n").await.unwrap();
    assert_eq!(statuses(&mut call), vec![100, 200]);
    assert_eq!(call.bye(WAIT).await.unwrap().status_code(), Some(200));
    fake.wait_for(WAIT, |e| matches!(e, FakeEvent::Bye { .. }))
        .await;
    // No retransmission over a reliable transport.
    assert_eq!(call.invite_transmissions(), 1);
}

#[tokio::test]
async fn concurrent_calls_are_demultiplexed() {
    let fake = FakeUas::start(FakeUasConfig::default()).await;
    let ua = Arc::new(TestUserAgent::bind_udp(fake.udp_addr).await.unwrap());
    let target = target(fake.udp_addr);
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let ua = ua.clone();
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut call = ua.invite(&target, "v=0\r\n").await.unwrap();
            let own_id = call.call_id().to_string();
            assert!(call
                .responses()
                .iter()
                .all(|r| r.call_id() == Some(own_id.as_str())));
            call.bye(WAIT).await.unwrap().status_code()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), Some(200));
    }
}
