//! Calls over loopback with the in-repo test user agent: echo, playback,
//! teardown from either side, CANCEL, a lost ACK, capacity and timeouts.

mod common;

use std::time::Duration;

use mediaplane::codec::g711::{ulaw_decode, ulaw_encode};
use mediaplane::codec::CodecKind;
use mediaplane::config::{Application, RouteConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::{InviteOptions, TestUserAgent, UaError};
use mediaplane::prompts::PromptCatalogue;

use common::{call, route_first, wait_for, TestServer};

/// μ-law codes cycling through the whole table except 0x7F (negative zero,
/// which decodes to the same sample as 0xFF): decode → encode is exact for them.
fn ulaw_exact_signal(frames: usize) -> Vec<i16> {
    (0..frames * 160)
        .map(|i| {
            let code = ((i * 37 + i / 160) % 256) as u8;
            ulaw_decode(if code == 0x7F { 0x7E } else { code })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_returns_the_callers_audio_sample_for_sample() {
    let server = TestServer::start(|_| {}).await;
    let mut active = call(&server, "echo", &[CodecKind::Pcmu]).await;

    // Latency first: tagged frames are matched to their echo.
    for _ in 0..50 {
        active.rtp.send_tagged_frame().await.unwrap();
    }
    active
        .rtp
        .wait_for_packets(48, Duration::from_secs(2))
        .await
        .unwrap();
    let mut round_trips = active.rtp.take_round_trips_us();
    assert!(
        round_trips.len() >= 45,
        "echoed tagged frames: {}",
        round_trips.len()
    );
    round_trips.sort_unstable();
    let median_ms = round_trips[round_trips.len() / 2] as f64 / 1000.0;
    println!(
        "echo added latency: median {median_ms:.1} ms over {} frames",
        round_trips.len()
    );
    // The playout delay (40 ms by default) plus at most one ptime of tick phase.
    assert!(
        (20.0..=100.0).contains(&median_ms),
        "median round trip {median_ms} ms"
    );

    // Then exactness: one second of audio comes back unchanged.
    let before = active.rtp.received_samples().len();
    let sent = ulaw_exact_signal(50);
    active.rtp.send_samples(&sent).await.unwrap();
    active
        .rtp
        .wait_for_packets(50 + 48, Duration::from_secs(2))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let received = active.rtp.received_samples()[before..].to_vec();
    let start = received
        .windows(160)
        .position(|w| w == &sent[..160])
        .expect("first sent frame found in the echo");
    let echoed = &received[start..];
    assert!(echoed.len() >= sent.len(), "whole signal echoed");
    assert_eq!(&echoed[..sent.len()], &sent[..], "echo is sample-exact");
    active.hang_up().await;
    assert!(
        server.ports_released().await,
        "ports returned after our BYE"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_welcome_returns_the_prompt_then_hangs_up() {
    let server = TestServer::start(|_| {}).await;
    let mut active = call(&server, "play-welcome", &[CodecKind::Pcmu]).await;
    let bye = active
        .call
        .wait_bye(Duration::from_secs(10))
        .await
        .expect("server BYE");
    assert_eq!(bye.method(), Some("BYE"));
    let prompts = PromptCatalogue::load(
        concat!(env!("CARGO_MANIFEST_DIR"), "/prompts").as_ref(),
        "en",
    )
    .unwrap();
    let expected: Vec<i16> = prompts
        .get("welcome", 8000)
        .unwrap()
        .iter()
        .map(|&s| ulaw_decode(ulaw_encode(s)))
        .collect();
    let received = active.rtp.received_samples();
    assert!(
        received.len() >= expected.len(),
        "received {} samples, prompt has {}",
        received.len(),
        expected.len()
    );
    assert_eq!(
        &received[..expected.len()],
        &expected[..],
        "prompt audio exact"
    );
    assert!(
        server.ports_released().await,
        "ports returned after the server's BYE"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_target_and_missing_prompt_get_404_and_options_200() {
    let server = TestServer::start(|_| {}).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:4000".parse().unwrap(), &[CodecKind::Pcmu]);
    for user in ["nobody", "play-nosuchprompt"] {
        let uri = format!("sip:{user}@{}", server.sip_addr());
        match ua.invite(&uri, &offer).await {
            Err(UaError::Rejected { status, .. }) => assert_eq!(status, 404, "{user}"),
            other => panic!("{user}: expected 404, got {:?}", other.map(|c| c.state())),
        }
    }
    let options = ua
        .options(
            &format!("sip:{}", server.sip_addr()),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(options.status_code(), Some(200));
    assert!(options
        .header("Allow")
        .unwrap_or_default()
        .contains("INVITE"));
    assert_eq!(server.ports_in_use(), 0);
    server.stop().await;
}

/// A server whose `slow-echo` rings 5 s before answering, a user agent, an
/// offer and the URI to call.
async fn ringing_route() -> (TestServer, TestUserAgent, String, String) {
    let server = TestServer::start(|c| {
        let route = RouteConfig {
            ring_ms: 5000,
            ..RouteConfig::new("^slow-echo$", Application::Echo)
        };
        route_first(c, route);
    })
    .await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:4000".parse().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:slow-echo@{}", server.sip_addr());
    (server, ua, offer, uri)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_before_answer_gives_487() {
    let (server, ua, offer, uri) = ringing_route().await;
    let mut call = ua
        .start_invite(&uri, &offer, &InviteOptions::default())
        .await
        .unwrap();
    let ringing = call.wait_status(180, Duration::from_secs(2)).await.unwrap();
    assert_eq!(ringing.status_code(), Some(180));
    assert_eq!(server.ports_in_use(), 1, "media allocated while ringing");
    let outcome = call.cancel(Duration::from_secs(3)).await.unwrap();
    assert_eq!(outcome.cancel_response.status_code(), Some(200));
    assert_eq!(outcome.invite_response.status_code(), Some(487));
    assert!(server.ports_released().await, "ports returned after CANCEL");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_ack_retransmits_the_200_then_timer_h_ends_the_call() {
    // T1 = 50 ms makes 64·T1 = 3.2 s.
    let server = TestServer::start(|c| c.sip.t1_ms = 50).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:4000".parse().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:echo@{}", server.sip_addr());
    let options = InviteOptions {
        send_ack: false,
        ..InviteOptions::default()
    };
    let mut call = ua.invite_with(&uri, &offer, &options).await.unwrap();
    let count = call.wait_ok_count(4, Duration::from_secs(2)).await.unwrap();
    assert!(
        count >= 4,
        "200 retransmitted while unacknowledged: {count}"
    );
    let bye = call
        .wait_bye(Duration::from_secs(6))
        .await
        .expect("BYE after Timer H");
    assert_eq!(bye.method(), Some("BYE"));
    assert!(server.ports_released().await, "ports returned");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_and_port_exhaustion_get_503_with_retry_after() {
    // One RTP port pair only.
    let server = TestServer::start(|c| {
        c.media.rtp_port_min = 39000 + (std::process::id() % 400) as u16 * 2;
        c.media.rtp_port_max = c.media.rtp_port_min + 1;
    })
    .await;
    let first = call(&server, "echo", &[CodecKind::Pcmu]).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:4000".parse().unwrap(), &[CodecKind::Pcmu]);
    match ua
        .invite(&format!("sip:echo@{}", server.sip_addr()), &offer)
        .await
    {
        Err(UaError::Rejected {
            status, response, ..
        }) => {
            assert_eq!(status, 503);
            assert!(
                response.header("Retry-After").is_some(),
                "Retry-After present"
            );
        }
        other => panic!("expected 503, got {:?}", other.map(|c| c.state())),
    }
    first.hang_up().await;
    assert!(server.ports_released().await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_caller_is_hung_up_after_the_media_timeout() {
    let server = TestServer::start(|c| c.media.media_timeout_s = 1).await;
    let mut active = call(&server, "echo", &[CodecKind::Pcmu]).await;
    let bye = active
        .call
        .wait_bye(Duration::from_secs(4))
        .await
        .expect("BYE after media timeout");
    assert_eq!(bye.method(), Some("BYE"));
    assert!(server.ports_released().await);
    let metrics = server.metrics_text().await;
    assert_eq!(
        common::metric(&metrics, "mediaplane_media_timeouts_total"),
        1.0
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcma_over_tcp_echoes() {
    let server = TestServer::start(|_| {}).await;
    let ua = TestUserAgent::connect_tcp(server.sip_tcp_addr())
        .await
        .unwrap();
    let mut options = mediaplane::loadgen::rtp::RtpStreamOptions::new(CodecKind::Pcma);
    options.payload_type = 8;
    let mut rtp = mediaplane::loadgen::rtp::RtpStream::bind(options)
        .await
        .unwrap();
    let offer = sdp_offer(rtp.local_addr(), &[CodecKind::Pcma]);
    let mut call = ua
        .invite(
            &format!("sip:echo@{};transport=tcp", server.sip_tcp_addr()),
            &offer,
        )
        .await
        .unwrap();
    let answer = call.answer_sdp().unwrap();
    assert_eq!(answer.payload_type, 8, "PCMA chosen");
    rtp.set_remote(answer.rtp_addr());
    for _ in 0..30 {
        rtp.send_tagged_frame().await.unwrap();
    }
    rtp.wait_for_packets(25, Duration::from_secs(2))
        .await
        .unwrap();
    assert!(rtp.counters().echoes_matched >= 25);
    call.bye(Duration::from_secs(3)).await.unwrap();
    assert!(server.ports_released().await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinvite_puts_the_call_on_hold_and_back() {
    let server = TestServer::start(|_| {}).await;
    let mut active = call(&server, "echo", &[CodecKind::Pcmu]).await;
    let local = active.rtp.local_addr();
    let offer = |direction: &str| {
        format!(
            "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na={direction}\r\n",
            local.port()
        )
    };
    // Hold: we offer sendonly, the answer must be recvonly and nothing comes back.
    let hold = offer("sendonly");
    let ok = active
        .call
        .request(
            "INVITE",
            &[],
            Some(("application/sdp", &hold)),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(ok.status_code(), Some(200));
    assert!(ok.body_text().contains("a=recvonly"), "{}", ok.body_text());
    let before = active.rtp.counters().packets_received;
    for _ in 0..20 {
        active.rtp.send_tagged_frame().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        active.rtp.counters().packets_received,
        before,
        "no audio while held"
    );
    // Unhold: sendrecv again, the echo resumes.
    let resume = offer("sendrecv");
    let ok = active
        .call
        .request(
            "INVITE",
            &[],
            Some(("application/sdp", &resume)),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(ok.status_code(), Some(200));
    assert!(ok.body_text().contains("a=sendrecv"), "{}", ok.body_text());
    for _ in 0..20 {
        active.rtp.send_tagged_frame().await.unwrap();
    }
    active
        .rtp
        .wait_for_packets(before + 15, Duration::from_secs(2))
        .await
        .unwrap();
    // The call survives past the 2xx retransmission window: the ACKs counted.
    active.hang_up().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offerless_reinvite_gets_our_offer_and_the_ack_answer_applies() {
    let server = TestServer::start(|_| {}).await;
    let mut active = call(&server, "echo", &[CodecKind::Pcmu]).await;
    let port = active.rtp.local_addr().port();
    // A session refresh: the offer in the 2xx is answered sendrecv in the ACK.
    active.call.set_late_answer(format!(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    ));
    let ok = active
        .call
        .request("INVITE", &[], None, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(ok.status_code(), Some(200));
    assert!(
        ok.body_text().contains("m=audio"),
        "the 2xx carries an offer"
    );
    // The echo keeps flowing.
    for _ in 0..20 {
        active.rtp.send_tagged_frame().await.unwrap();
    }
    active
        .rtp
        .wait_for_packets(15, Duration::from_secs(2))
        .await
        .unwrap();
    // A second offerless re-INVITE answered inactive stops the server's audio.
    active.call.set_late_answer(format!(
        "v=0\r\no=- 1 3 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\n"
    ));
    active
        .call
        .request("INVITE", &[], None, Duration::from_secs(3))
        .await
        .unwrap();
    // Packets already on their way may still arrive: wait for a quiet spell
    // (there is no event for "the server stopped sending").
    let mut settled = active.rtp.counters().packets_received;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now_received = active.rtp.counters().packets_received;
        if now_received == settled || tokio::time::Instant::now() > deadline {
            break;
        }
        settled = now_received;
    }
    for _ in 0..15 {
        active.rtp.send_tagged_frame().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        active.rtp.counters().packets_received,
        settled,
        "inactive: nothing sent"
    );
    active.hang_up().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bye_in_an_early_dialog_ends_the_invite_with_487_and_record_route_is_kept() {
    let (server, ua, offer, uri) = ringing_route().await;
    let options = InviteOptions {
        extra_headers: vec!["Record-Route: <sip:127.0.0.1:9;lr>".into()],
        ..InviteOptions::default()
    };
    let mut call = ua.start_invite(&uri, &offer, &options).await.unwrap();
    let ringing = call.wait_status(180, Duration::from_secs(2)).await.unwrap();
    assert_eq!(ringing.header("Record-Route"), Some("<sip:127.0.0.1:9;lr>"));
    assert!(ringing.header("Contact").is_some(), "180 carries Contact");
    let to_tag = ringing.to_tag().unwrap().to_string();
    let bye = format!(
        "BYE sip:slow-echo@{server} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
         From: {from}\r\nTo: {to};tag={to_tag}\r\nCall-ID: {call_id}\r\nCSeq: 2 BYE\r\n\
         Content-Length: 0\r\n\r\n",
        server = server.sip_addr(),
        via = ua.via_value(&mediaplane::loadgen::ua::new_branch()),
        from = call.from_header(),
        to = call.to_header(),
        call_id = call.call_id(),
    );
    ua.send_raw(bye.as_bytes()).await.unwrap();
    let last = call.wait_final(Duration::from_secs(2)).await.unwrap();
    assert_eq!(last.status_code(), Some(487));
    assert!(server.ports_released().await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_hangs_up_active_calls() {
    let server = TestServer::start(|_| {}).await;
    let mut active = call(&server, "echo", &[CodecKind::Pcmu]).await;
    server.stop().await;
    let bye = active
        .call
        .wait_bye(Duration::from_secs(2))
        .await
        .expect("BYE on shutdown");
    assert_eq!(bye.method(), Some("BYE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bye_before_the_ack_even_when_the_prompt_ends_first() {
    // T1 = 50 ms: the unacknowledged 2xx gives up after 3.2 s.
    let server = TestServer::start(|c| c.sip.t1_ms = 50).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:4000".parse().unwrap(), &[CodecKind::Pcmu]);
    let options = InviteOptions {
        send_ack: false,
        ..InviteOptions::default()
    };
    let uri = format!("sip:play-beep@{}", server.sip_addr());
    let mut call = ua.invite_with(&uri, &offer, &options).await.unwrap();
    let answered = std::time::Instant::now();
    // The beep (250 ms) is over long before the 2xx times out; RFC 3261 §15
    // still forbids the BYE until then.
    call.wait_bye(Duration::from_secs(6))
        .await
        .expect("BYE after the ACK timeout");
    let waited = answered.elapsed();
    assert!(
        waited >= Duration::from_millis(2500),
        "BYE after {waited:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_offer_gets_our_offer_in_the_2xx_and_the_ack_answer_starts_the_echo() {
    let server = TestServer::start(|_| {}).await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = rtp.local_addr().unwrap().port();
    let options = InviteOptions {
        ack_sdp: Some(format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        )),
        ..InviteOptions::default()
    };
    let uri = format!("sip:echo@{}", server.sip_addr());
    // No body: RFC 3261 §13.2.1, the offer comes in our 2xx.
    let mut call = ua.invite_with(&uri, "", &options).await.unwrap();
    let offer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    assert_eq!(offer.codec, Some(CodecKind::Pcmu), "our first codec");
    let heard =
        common::callee::exchange_tone(&rtp, CodecKind::Pcmu, 0, offer.rtp_addr(), 1000.0, 50).await;
    let snr = common::callee::tone_snr_db(&heard, 8000, 1000.0, 4000);
    assert!(snr > 20.0, "the echo follows the ACK's answer: {snr:.1} dB");
    call.bye(Duration::from_secs(3)).await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_added_to_the_folder_is_played_after_the_rescan() {
    // prompts.reload_s = 1: a file copied in while the server runs becomes
    // `play-NAME` without a restart.
    let folder = tempfile::tempdir().unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/en");
    std::fs::create_dir(folder.path().join("en")).unwrap();
    std::fs::copy(
        format!("{shipped}/welcome.wav"),
        folder.path().join("en/welcome.wav"),
    )
    .unwrap();
    let dir = folder.path().to_path_buf();
    let server = TestServer::start(move |c| {
        c.prompts.dir = dir;
        c.prompts.reload_s = 1;
    })
    .await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:9".parse().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:play-fresh@{}", server.sip_addr());
    match ua.invite(&uri, &offer).await {
        Err(UaError::Rejected { status, .. }) => assert_eq!(status, 404),
        other => panic!(
            "expected 404 before the file exists, got {:?}",
            other.map(|_| ())
        ),
    }
    std::fs::copy(
        format!("{shipped}/goodbye.wav"),
        folder.path().join("en/fresh.wav"),
    )
    .unwrap();
    let found = wait_for(Duration::from_secs(5), || async {
        match ua.invite(&uri, &offer).await {
            Ok(mut call) => {
                let _ = call.bye(Duration::from_secs(2)).await;
                true
            }
            Err(_) => false,
        }
    })
    .await;
    assert!(found, "play-fresh answered once the folder was rescanned");
    server.stop().await;
}
