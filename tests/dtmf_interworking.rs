//! Key presses across a bridge, over loopback: RFC 4733 telephone-events
//! and SIP INFO from the caller reach a callee whose G.711 leg has no
//! telephone-event as inband tones, which a tone detector reads back.
//! Also how INFO bodies that carry no key are answered.

mod common;

use std::time::Duration;

use mediaplane::codec::{new_decoder, CodecKind};
use mediaplane::config::{DtmfMode, RouteConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, OfferFormat, SdpAnswer};
use mediaplane::loadgen::ua::{Call, TestUserAgent};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use common::bridging::{bob, server_for, WAIT};
use common::callee::{Answered, Callee};
use common::keypad::{detect_keys, KeyStyle, Keypad};
use common::TestServer;

/// Decodes the G.711 audio that reaches `socket` for `duration`.
async fn record(
    socket: &UdpSocket,
    codec: CodecKind,
    payload_type: u8,
    duration: Duration,
) -> Vec<i16> {
    let mut decoder = new_decoder(codec).unwrap();
    let until = Instant::now() + duration;
    let (mut buf, mut out) = ([0u8; 1500], vec![0i16; 960]);
    let mut pcm = Vec::new();
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(until, socket.recv_from(&mut buf)).await {
        if n > 12 && buf[1] & 0x7f == payload_type {
            let k = decoder.decode(&buf[12..n], &mut out).unwrap();
            pcm.extend_from_slice(&out[..k]);
        }
    }
    pcm
}

struct BridgedCall {
    server: TestServer,
    callee: Callee,
    answered: Answered,
    keypad: Keypad,
    call: Call,
    _ua: TestUserAgent,
}

/// A PCMU caller offering telephone-event, bridged to a PCMU callee that
/// answers without it.
async fn bridged_call() -> BridgedCall {
    bridged_call_with(|_| {}).await
}

async fn bridged_call_with(tweak: impl FnOnce(&mut RouteConfig)) -> BridgedCall {
    let callee = Callee::bind(CodecKind::Pcmu).await;
    let server = server_for(&callee, tweak).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let event_pt = OfferFormat::new(CodecKind::TelephoneEvent).payload_type;
    let mut keypad = Keypad::bind(CodecKind::Pcmu, 0, event_pt).await;
    let offer = sdp_offer(keypad.addr(), &[CodecKind::Pcmu, CodecKind::TelephoneEvent]);
    let uri = bob(&server);
    let (call, answered) = tokio::join!(ua.invite(&uri, &offer), callee.answer(WAIT));
    let call = call.unwrap();
    callee.expect("ACK", WAIT).await;
    let answer = SdpAnswer::parse(&String::from_utf8_lossy(
        call.final_response().unwrap().body(),
    ))
    .unwrap();
    keypad.connect(answer.rtp_addr());
    BridgedCall {
        server,
        callee,
        answered,
        keypad,
        call,
        _ua: ua,
    }
}

#[tokio::test]
async fn telephone_events_reach_a_leg_without_them_as_tones() {
    let mut c = bridged_call().await;
    let (_, heard) = tokio::join!(
        async {
            c.keypad.press("2580*#", KeyStyle::Rfc4733).await;
            c.keypad.listen(Duration::from_millis(300)).await;
        },
        record(
            &c.callee.rtp,
            CodecKind::Pcmu,
            c.answered.payload_type,
            Duration::from_millis(2400)
        )
    );
    assert_eq!(detect_keys(&heard, 8000), "2580*#");
    c.call.bye(WAIT).await.unwrap();
    c.server.stop().await;
}

#[tokio::test]
async fn sip_info_keys_reach_a_leg_without_telephone_events_as_tones() {
    let mut c = bridged_call().await;
    let call = &mut c.call;
    let sent = async {
        for (content_type, body) in [
            ("application/dtmf-relay", "Signal=7\r\nDuration=160\r\n"),
            ("application/dtmf", "#"),
            ("application/dtmf-relay", "Signal=11\r\n"),
        ] {
            let response = call
                .request("INFO", &[], Some((content_type, body)), WAIT)
                .await;
            // Sent back to back: the leg queues the tones.
            assert_eq!(response.unwrap().status_code(), Some(200));
        }
    };
    let (_, heard) = tokio::join!(
        sent,
        record(
            &c.callee.rtp,
            CodecKind::Pcmu,
            c.answered.payload_type,
            Duration::from_millis(1500)
        )
    );
    assert_eq!(detect_keys(&heard, 8000), "7##");
    c.call.bye(WAIT).await.unwrap();
    c.server.stop().await;
}

#[tokio::test]
async fn info_without_a_key_is_answered_with_the_reason() {
    let mut c = bridged_call().await;
    let cases: [(&str, &str, u16); 4] = [
        ("application/dtmf-relay", "Signal=X\r\n", 400),
        ("application/dtmf-relay", "Duration=100\r\n", 400),
        ("text/plain", "5", 415),
        ("application/dtmf", "", 200),
    ];
    for (content_type, body, code) in cases {
        let response = c
            .call
            .request("INFO", &[], Some((content_type, body)), WAIT)
            .await
            .unwrap();
        assert_eq!(
            response.status_code(),
            Some(code),
            "{content_type} {body:?}"
        );
        if code == 415 {
            let accept = response.header("Accept").unwrap_or_default();
            assert!(accept.contains("application/dtmf-relay"), "{accept}");
        }
        if code == 400 {
            assert!(response.reason_phrase().unwrap_or_default().len() > 3);
        }
    }
    // The call is unharmed.
    assert_eq!(c.call.bye(WAIT).await.unwrap().status_code(), Some(200));
    c.server.stop().await;
}

#[tokio::test]
async fn a_route_asking_for_info_gets_every_key_as_sip_info() {
    let mut c = bridged_call_with(|route| route.dtmf = DtmfMode::Info).await;
    let offer = c.answered.invite.body_text();
    assert!(
        !offer.contains("telephone-event"),
        "no telephone-event offered:\n{offer}"
    );
    let callee = &c.callee;
    let received = async {
        let mut signals = Vec::new();
        let mut seen = Vec::new();
        while signals.len() < 3 {
            let info = callee.expect("INFO", WAIT).await;
            let cseq = info.header("CSeq").unwrap_or_default().to_string();
            if seen.contains(&cseq) {
                // A retransmission (our 200 was late on a busy machine):
                // answered again, not a new key.
                callee.respond(&info, 200, "OK", None, None).await;
                continue;
            }
            seen.push(cseq);
            assert_eq!(info.header("Content-Type"), Some("application/dtmf-relay"));
            let body = info.body_text();
            let signal = body
                .lines()
                .find_map(|l| l.strip_prefix("Signal="))
                .unwrap_or_default()
                .trim()
                .to_string();
            signals.push(signal);
            callee.respond(&info, 200, "OK", None, None).await;
        }
        signals
    };
    let keypad = &mut c.keypad;
    let call = &mut c.call;
    let sent = async {
        keypad.press("4*", KeyStyle::Rfc4733).await;
        let response = call
            .request("INFO", &[], Some(("application/dtmf", "9")), WAIT)
            .await
            .unwrap();
        assert_eq!(response.status_code(), Some(200));
    };
    let (signals, _) = tokio::join!(received, sent);
    assert_eq!(signals, ["4", "*", "9"]);
    c.call.bye(WAIT).await.unwrap();
    c.server.stop().await;
}
