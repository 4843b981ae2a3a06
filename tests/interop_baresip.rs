//! Interop with baresip (Debian package `baresip`), a real SIP user agent,
//! run headless on loopback with the configuration in tests/baresip/: it
//! sends a tone from a WAV file and records what it hears to WAV files.
//! These tests fail (never skip) when baresip is missing.

mod common;

use mediaplane::codec::CodecKind;
use mediaplane::config::{Application, Config, RouteConfig, UserConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, SdpAnswer};
use mediaplane::loadgen::ua::TestUserAgent;
use tokio::net::UdpSocket;

use common::baresip::*;
use common::callee::{exchange_tone, tone_purity};
use common::{route_first, wait_for, TestServer};

/// baresip is the called party of a bridged call: a caller offering only
/// PCMU reaches it through mediaplane, baresip answers in PCMA only, and
/// each hears the other's tone through the transcoding bridge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_answers_a_bridged_call_in_another_codec() {
    let baresip = Baresip::start(direct_account("answermode=auto;audio_codecs=PCMA"), 600.0).await;
    let route = RouteConfig::new(
        "^alice$",
        Application::Bridge {
            target: baresip.uri(),
        },
    );
    let server = TestServer::start(move |c: &mut Config| {
        c.media.codecs = vec![CodecKind::Pcmu, CodecKind::Pcma, CodecKind::TelephoneEvent];
        route_first(c, route);
    })
    .await;

    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(caller_rtp.local_addr().unwrap(), &[CodecKind::Pcmu]);
    let uri = format!("sip:alice@{}", server.sip_addr());
    let mut call = ua.invite(&uri, &offer).await.expect("baresip answers");
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    assert_eq!(answer.codec, Some(CodecKind::Pcmu));
    baresip.wait_output("Call established", WAIT).await;

    // Two seconds of 1 kHz from the caller while collecting baresip's tone.
    let heard = exchange_tone(
        &caller_rtp,
        CodecKind::Pcmu,
        answer.payload_type,
        answer.rtp_addr(),
        1000.0,
        100,
    )
    .await;
    let legs = calls(&server).await;
    assert_eq!(legs.len(), 2, "{legs:?}");
    let leg = |direction: &str| {
        legs.iter()
            .find(|leg| leg["direction"] == direction)
            .unwrap_or_else(|| panic!("no {direction} leg: {legs:?}"))
    };
    let (inbound, outbound) = (leg("inbound"), leg("outbound"));
    assert_eq!(inbound["codec"], "PCMU", "{inbound}");
    assert_eq!(
        outbound["codec"], "PCMA",
        "baresip answered PCMA: {outbound}"
    );
    assert_eq!(outbound["bridged_with"], inbound["id"]);
    assert_eq!(
        outbound["remote"],
        format!("UDP:127.0.0.1:{}", baresip.port),
        "{outbound}"
    );
    assert!(rx_packets(outbound) >= 80, "RTP from baresip: {outbound}");

    let ok = call.bye(WAIT).await.expect("BYE answered");
    assert_eq!(ok.status_code(), Some(200));
    baresip.wait_output(" terminated (duration:", WAIT).await;
    assert!(
        wait_for(WAIT, || async { calls(&server).await.is_empty() }).await,
        "both legs end"
    );

    let caller_purity = tone_purity(&heard, RATE, 600.0, RATE as usize / 2);
    assert!(
        caller_purity > 0.8,
        "the caller hears baresip's 600 Hz: purity {caller_purity:.3} over {} samples",
        heard.len()
    );
    let recorded = baresip.recording("dec").await;
    let baresip_purity = purity_mid(&recorded, 1000.0);
    assert!(
        baresip_purity > 0.8,
        "baresip recorded the caller's 1 kHz: purity {baresip_purity:.3} over {:.2} s",
        seconds(&recorded)
    );
    // It heard the caller's 100 frames of 20 ms, no more and little less.
    let heard_s = seconds(&recorded);
    assert!(
        (1.7..=2.3).contains(&heard_s),
        "baresip recorded {heard_s:.2} s of the caller's 2 s"
    );
    println!(
        "caller hears 600 Hz with purity {caller_purity:.3}; \
         baresip hears 1 kHz with purity {baresip_purity:.3} over {heard_s:.2} s"
    );
    baresip.stop().await;
    server.stop().await;
}

/// baresip is the caller: it dials the echo route and hears its own tone
/// back, while the admin API shows the call and its packets growing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_echo_and_hears_its_tone() {
    let server = TestServer::start(|_| {}).await;
    let mut baresip = Baresip::start(direct_account("answermode=manual"), 800.0).await;
    baresip
        .command(&format!("/dial sip:echo@{}", server.sip_addr()))
        .await;
    baresip.wait_output("Call established", WAIT).await;

    let first = std::cell::Cell::new(0);
    let shown = wait_for(WAIT, || async {
        let legs = calls(&server).await;
        first.set(legs.first().map(rx_packets).unwrap_or(0));
        legs.len() == 1 && first.get() >= 25
    })
    .await;
    let first = first.get();
    assert!(
        shown,
        "the API shows one call receiving RTP: {:?}",
        calls(&server).await
    );
    let grown = wait_for(WAIT, || async {
        calls(&server).await.first().map(rx_packets).unwrap_or(0) >= first + 75
    })
    .await;
    let legs = calls(&server).await;
    assert!(grown, "rx packets grow past {first} + 75: {legs:?}");
    let leg = &legs[0];
    assert_eq!(leg["application"], "echo");
    assert_eq!(leg["direction"], "inbound");
    assert_eq!(leg["codec"], "PCMU", "PCMU, first on both sides: {leg}");
    assert_eq!(leg["remote"], format!("UDP:127.0.0.1:{}", baresip.port));
    let remote_rtp = leg["remote_rtp"].as_str().unwrap_or_default();
    assert!(remote_rtp.starts_with("127.0.0.1:"), "{leg}");
    let echoed = leg["stats"]["tx_packets"].as_u64().unwrap_or(0);
    assert!(echoed + 10 >= rx_packets(leg), "packets echoed: {leg}");

    baresip.command("/hangup").await;
    baresip.wait_output(" terminated (duration:", WAIT).await;
    assert!(
        wait_for(WAIT, || async { calls(&server).await.is_empty() }).await,
        "the call ends with baresip's BYE"
    );

    let (purity, sent_s, heard_s) = assert_hears_its_echo(&baresip, 800.0).await;
    println!("baresip hears its 800 Hz echoed with purity {purity:.3}: sent {sent_s:.2} s, heard {heard_s:.2} s");
    baresip.stop().await;
    server.stop().await;
}

/// baresip registers with mediaplane's registrar (digest MD5: baresip 1.0
/// gives up on a 401 carrying any challenge it cannot compute, so the
/// registrar is set to challenge MD5 alone with `registrar.algorithms`) and then receives a call to its
/// user, forked to the contact it registered, bridged and answered
/// automatically; each side hears the other's tone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_registers_with_digest_and_receives_a_call_to_its_user() {
    use mediaplane::sip::registrar::digest::Algorithm;
    let server = TestServer::start(|c: &mut Config| {
        c.registrar.algorithms = vec![Algorithm::Md5];
        c.users
            .push(UserConfig::with_password("alice", "alice-secret"));
    })
    .await;
    let sip = server.sip_addr();
    let account = move |_| {
        format!(
            "<sip:alice@{sip}>;auth_user=alice;auth_pass=alice-secret;regint=600;answermode=auto"
        )
    };
    let baresip = Baresip::start(account, 600.0).await;
    baresip.wait_output("registered successfully", WAIT).await;
    let metrics = server.metrics_text().await;
    assert_eq!(
        common::metric(&metrics, "mediaplane_registrations_active"),
        1.0,
        "{metrics}"
    );
    assert!(common::metric(&metrics, "mediaplane_registrar_challenges_total") >= 1.0);

    let RegisteredCall {
        ua: _caller,
        mut call,
        heard,
        outbound,
    } = call_registered(&server, &baresip, "alice").await;
    assert_eq!(
        outbound["remote"],
        format!("UDP:127.0.0.1:{}", baresip.port),
        "the call went to the registered contact: {outbound}"
    );
    let ok = call.bye(WAIT).await.expect("BYE answered");
    assert_eq!(ok.status_code(), Some(200));
    baresip.wait_output(" terminated (duration:", WAIT).await;

    let (caller_purity, baresip_purity) = assert_each_hears_the_other(&heard, &baresip).await;
    println!(
        "registered baresip: caller hears 600 Hz with purity {caller_purity:.3}, \
         baresip hears 1 kHz with purity {baresip_purity:.3}"
    );
    baresip.stop().await;
    server.stop().await;
}
