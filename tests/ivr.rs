//! IVR menus end to end over loopback. The menu prompts are tones of
//! their own frequency, so which prompt the caller hears tells where in
//! the menu tree the call is. A three-level tree is walked with RFC 4733
//! telephone-events, with inband tones from a G.711-only caller, and with
//! SIP INFO; the timeout and invalid-key paths retry the set number of
//! times, then say goodbye and hang up.

mod common;

use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::config::{Application, Config, RouteConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, OfferFormat, SdpAnswer};
use mediaplane::loadgen::ua::{Call, TestUserAgent};

use common::callee::{exchange_tone, tone_snr_db, Callee};
use common::keypad::{KeyStyle, Keypad};
use common::{route_first, with_menus, write_tone, TestServer};

const WAIT: Duration = Duration::from_secs(5);
const RATE: u32 = 8000;

/// Prompt names and their tones (Hz); none is a DTMF frequency.
const PROMPTS: [(&str, f64); 7] = [
    ("main", 440.0),
    ("sales", 550.0),
    ("support", 2000.0),
    ("orders", 2500.0),
    ("invalid", 3000.0),
    ("timeout", 330.0),
    ("fail", 3200.0),
];

const MENUS: &str = r##"
[[menus]]
name = "main"
prompts = ["main"]
timeout_ms = 1000
retries = 1
invalid_prompt = "invalid"
timeout_prompt = "timeout"
fail_prompt = "fail"
[menus.keys]
"1" = "menu sales"
"2" = "menu support"

[[menus]]
name = "sales"
prompts = ["sales"]
timeout_ms = 10000
invalid_prompt = "invalid"
timeout_prompt = "timeout"
fail_prompt = "fail"
[menus.keys]
"3" = "menu orders"
"0" = "menu main"

[[menus]]
name = "support"
prompts = ["support"]
timeout_ms = 10000
invalid_prompt = "invalid"
timeout_prompt = "timeout"
fail_prompt = "fail"
[menus.keys]
"0" = "menu main"

[[menus]]
name = "orders"
prompts = ["orders"]
timeout_ms = 10000
retries = 2
invalid_prompt = "invalid"
timeout_prompt = "timeout"
fail_prompt = "fail"
[menus.keys]
"#" = "hangup"
"##;

struct Ivr {
    server: TestServer,
    _prompts: tempfile::TempDir,
}

/// A server running `menus`, with tone prompts `(name, Hz, ms)` in a
/// folder of their own; `tweak` adjusts the rest of the configuration.
async fn menu_server(
    prompts: &[(&str, f64, u64)],
    menus: &str,
    tweak: impl FnOnce(&mut Config),
) -> Ivr {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("en")).unwrap();
    for &(name, hz, ms) in prompts {
        let path = dir.path().join("en").join(format!("{name}.wav"));
        write_tone(&path, hz, Duration::from_millis(ms), RATE);
    }
    let menus = with_menus(dir.path(), menus);
    let server = TestServer::start(|c| {
        menus(c);
        tweak(c);
    })
    .await;
    Ivr {
        server,
        _prompts: dir,
    }
}

/// The menus above, their prompts 400 ms each.
async fn ivr_server() -> Ivr {
    let prompts: Vec<(&str, f64, u64)> = PROMPTS.iter().map(|&(n, hz)| (n, hz, 400)).collect();
    menu_server(&prompts, MENUS, |_| {}).await
}

/// A caller in the menu `menu`: PCMU, with telephone-event unless the
/// keys are to go inband.
async fn dial(ivr: &Ivr, menu: &str, events: bool) -> (Keypad, Call, TestUserAgent) {
    let ua = TestUserAgent::bind_udp(ivr.server.sip_addr())
        .await
        .unwrap();
    let event_pt = OfferFormat::new(CodecKind::TelephoneEvent).payload_type;
    let mut keypad = Keypad::bind(CodecKind::Pcmu, 0, event_pt).await;
    let codecs: &[CodecKind] = if events {
        &[CodecKind::Pcmu, CodecKind::TelephoneEvent]
    } else {
        &[CodecKind::Pcmu]
    };
    let offer = sdp_offer(keypad.addr(), codecs);
    let uri = format!("sip:ivr-{menu}@{}", ivr.server.sip_addr());
    let call = ua.invite(&uri, &offer).await.unwrap();
    let answer = SdpAnswer::parse(&String::from_utf8_lossy(
        call.final_response().unwrap().body(),
    ))
    .unwrap();
    keypad.connect(answer.rtp_addr());
    (keypad, call, ua)
}

/// Goertzel power of `hz` in `samples`.
fn power(samples: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / RATE as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = x as f64 + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / samples.len() as f64
}

/// The prompts heard in `pcm`, in order: each 50 ms window is named by
/// the prompt tone carrying most of its energy; silent windows split
/// nothing and repeats of one prompt collapse.
fn prompts_heard(pcm: &[i16]) -> Vec<&'static str> {
    let mut heard: Vec<&'static str> = Vec::new();
    for window in pcm.chunks_exact(RATE as usize / 20) {
        let energy: f64 = window.iter().map(|&x| (x as f64).powi(2)).sum::<f64>();
        if energy / (window.len() as f64) < 1e5 {
            continue;
        }
        let (name, best) = PROMPTS
            .iter()
            .map(|&(name, hz)| (name, power(window, hz)))
            .fold(("", 0.0), |a, b| if b.1 > a.1 { b } else { a });
        // A pure tone has 2·power = energy; a window straddling two
        // prompts names neither clearly.
        if best * 2.0 / energy < 0.5 {
            continue;
        }
        if heard.last() != Some(&name) {
            heard.push(name);
        }
    }
    heard
}

async fn walk_the_tree(style: KeyStyle) {
    let ivr = ivr_server().await;
    let (mut keypad, mut call, _ua) = dial(&ivr, "main", style != KeyStyle::Inband).await;
    let steps: [(&str, &[&str]); 5] = [
        ("", &["main"]),
        ("1", &["sales"]),
        ("3", &["orders"]),
        // No such key: the invalid prompt, then the menu again.
        ("7", &["invalid", "orders"]),
        ("#", &[]),
    ];
    for (keys, expected) in steps {
        let mut heard = if keys.is_empty() {
            Vec::new()
        } else {
            keypad.press(keys, style).await
        };
        heard.extend(keypad.listen(Duration::from_millis(1200)).await);
        assert_eq!(
            prompts_heard(&heard),
            expected,
            "after {keys:?} ({style:?})"
        );
    }
    // `#` in orders hangs up.
    call.wait_bye(WAIT).await.expect("the menu hangs up");
    ivr.server.stop().await;
}

#[tokio::test]
async fn a_three_level_menu_is_walked_with_telephone_events() {
    walk_the_tree(KeyStyle::Rfc4733).await;
}

#[tokio::test]
async fn a_three_level_menu_is_walked_with_inband_tones_from_a_g711_only_caller() {
    walk_the_tree(KeyStyle::Inband).await;
}

#[tokio::test]
async fn a_three_level_menu_is_walked_with_sip_info() {
    let ivr = ivr_server().await;
    let (mut keypad, mut call, _ua) = dial(&ivr, "main", true).await;
    let steps: [(&str, &[&str]); 5] = [
        ("", &["main"]),
        ("2", &["support"]),
        ("0", &["main"]),
        ("1", &["sales"]),
        ("3", &["orders"]),
    ];
    for (key, expected) in steps {
        if !key.is_empty() {
            let body = format!("Signal={key}\r\nDuration=160\r\n");
            let response = call
                .request("INFO", &[], Some(("application/dtmf-relay", &body)), WAIT)
                .await
                .unwrap();
            assert_eq!(response.status_code(), Some(200));
        }
        let heard = keypad.listen(Duration::from_millis(1000)).await;
        assert_eq!(prompts_heard(&heard), expected, "after {key:?}");
    }
    call.request("INFO", &[], Some(("application/dtmf", "#")), WAIT)
        .await
        .unwrap();
    call.wait_bye(WAIT).await.expect("the menu hangs up");
    ivr.server.stop().await;
}

#[tokio::test]
async fn silence_retries_the_menu_then_says_goodbye_and_hangs_up() {
    let ivr = ivr_server().await;
    let (mut keypad, mut call, _ua) = dial(&ivr, "main", true).await;
    // main: prompt, 1 s, the no-input prompt, the menu again (one retry),
    // 1 s, the no-input prompt and the goodbye (fail prompt), hang-up.
    let heard = keypad.listen(Duration::from_millis(4600)).await;
    assert_eq!(
        prompts_heard(&heard),
        ["main", "timeout", "main", "timeout", "fail"]
    );
    call.wait_bye(WAIT)
        .await
        .expect("hung up after the retries");
    ivr.server.stop().await;
}

#[tokio::test]
async fn invalid_keys_retry_the_menu_then_say_goodbye_and_hang_up() {
    let ivr = ivr_server().await;
    let (mut keypad, mut call, _ua) = dial(&ivr, "main", true).await;
    let mut heard = keypad.listen(Duration::from_millis(600)).await;
    heard.extend(keypad.press("9", KeyStyle::Rfc4733).await);
    heard.extend(keypad.listen(Duration::from_millis(1000)).await);
    heard.extend(keypad.press("8", KeyStyle::Rfc4733).await);
    heard.extend(keypad.listen(Duration::from_millis(800)).await);
    assert_eq!(
        prompts_heard(&heard),
        ["main", "invalid", "main", "invalid", "fail"]
    );
    call.wait_bye(WAIT)
        .await
        .expect("hung up after the retries");
    ivr.server.stop().await;
}

/// A server with one menu whose keys hand the call on: 4 to the echo
/// application, 5 to `bob`, a route bridged to `callee`.
async fn hand_on_server(callee: &Callee) -> Ivr {
    let menus = "[[menus]]\nname = \"main\"\nprompts = [\"main\"]\n\
                 invalid_prompt = \"\"\ntimeout_prompt = \"\"\nfail_prompt = \"\"\n\
                 [menus.keys]\n\"4\" = \"dial echo\"\n\"5\" = \"dial bob\"\n";
    let target = format!("sip:bob@{}", callee.addr());
    menu_server(&[("main", 440.0, 400)], menus, |c| {
        route_first(c, RouteConfig::new("^bob$", Application::Bridge { target }));
    })
    .await
}

#[tokio::test]
async fn a_key_hands_the_call_to_the_echo_application() {
    let callee = Callee::bind(CodecKind::Pcmu).await;
    let ivr = hand_on_server(&callee).await;
    let (mut keypad, mut call, _ua) = dial(&ivr, "main", true).await;
    keypad.listen(Duration::from_millis(300)).await;
    keypad.press("4", KeyStyle::Rfc4733).await;
    let remote = keypad_remote(&call);
    let heard = exchange_tone(&keypad.socket, CodecKind::Pcmu, 0, remote, 700.0, 50).await;
    assert!(
        tone_snr_db(&heard, RATE, 700.0, RATE as usize / 4) > 20.0,
        "the caller hears itself: {} samples",
        heard.len()
    );
    call.bye(WAIT).await.unwrap();
    ivr.server.stop().await;
}

#[tokio::test]
async fn a_key_hands_an_answered_call_to_a_bridge() {
    let callee = Callee::bind(CodecKind::Pcma).await;
    let ivr = hand_on_server(&callee).await;
    let (mut keypad, mut call, _ua) = dial(&ivr, "main", true).await;
    keypad.listen(Duration::from_millis(300)).await;
    let (_, answered) = tokio::join!(keypad.press("5", KeyStyle::Rfc4733), callee.answer(WAIT));
    callee.expect("ACK", WAIT).await;
    let remote = keypad_remote(&call);
    let (caller_heard, callee_heard) = tokio::join!(
        exchange_tone(&keypad.socket, CodecKind::Pcmu, 0, remote, 1000.0, 60),
        exchange_tone(
            &callee.rtp,
            CodecKind::Pcma,
            answered.payload_type,
            answered.remote_rtp,
            600.0,
            60
        ),
    );
    let window = RATE as usize / 4;
    assert!(
        tone_snr_db(&caller_heard, RATE, 600.0, window) > 20.0,
        "caller hears the callee"
    );
    assert!(
        tone_snr_db(&callee_heard, RATE, 1000.0, window) > 20.0,
        "callee hears the caller"
    );
    // Either side hanging up ends the other.
    call.bye(WAIT).await.unwrap();
    callee.expect("BYE", WAIT).await;
    ivr.server.stop().await;
}

/// Where the server wants the caller's RTP (its answer).
fn keypad_remote(call: &Call) -> std::net::SocketAddr {
    SdpAnswer::parse(&call.final_response().unwrap().body_text())
        .unwrap()
        .rtp_addr()
}

#[tokio::test]
async fn an_early_media_menu_plays_in_a_183_and_answers_after_its_prompts() {
    let menus = "[[menus]]\nname = \"early\"\nprompts = [\"main\"]\nearly_media = true\n\
                 invalid_prompt = \"\"\ntimeout_prompt = \"\"\nfail_prompt = \"\"\n\
                 [menus.keys]\n\"1\" = \"hangup\"\n";
    let ivr = menu_server(&[("main", 440.0, 600)], menus, |_| {}).await;
    let server = &ivr.server;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let event_pt = OfferFormat::new(CodecKind::TelephoneEvent).payload_type;
    let mut keypad = Keypad::bind(CodecKind::Pcmu, 0, event_pt).await;
    let offer = sdp_offer(keypad.addr(), &[CodecKind::Pcmu, CodecKind::TelephoneEvent]);
    let uri = format!("sip:ivr-early@{}", server.sip_addr());
    let mut call = ua
        .start_invite(&uri, &offer, &Default::default())
        .await
        .unwrap();
    let progress = call.wait_status(183, WAIT).await.unwrap();
    let answer = SdpAnswer::parse(&progress.body_text()).expect("the 183 carries the SDP answer");
    keypad.connect(answer.rtp_addr());
    // The prompt is heard before the call is answered.
    let heard = keypad.listen(Duration::from_millis(400)).await;
    assert_eq!(prompts_heard(&heard), ["main"]);
    assert!(
        call.final_response().is_none(),
        "not answered while the prompt plays"
    );
    // Answered once the prompt is over; the menu then takes keys.
    let ok = call.wait_final(WAIT).await.unwrap();
    assert_eq!(ok.status_code(), Some(200));
    keypad.press("1", KeyStyle::Rfc4733).await;
    call.wait_bye(WAIT).await.expect("key 1 hangs up");
    ivr.server.stop().await;
}
