//! A server with mailboxes for the voicemail tests, calls into it with a
//! keypad on the media, and the mailbox folders on disk.

use std::path::{Path, PathBuf};

use mediaplane::codec::CodecKind;
use mediaplane::config::{Config, MailboxConfig, UserConfig};
use mediaplane::loadgen::simple_sdp::{sdp_offer, OfferFormat, SdpAnswer};
use mediaplane::loadgen::ua::{Call, TestUserAgent, UaConfig};

use super::keypad::Keypad;
use super::voice::RATE;
use super::TestServer;

pub const PIN: &str = "4321";

pub fn mailbox(number: &str, owner: Option<&str>) -> MailboxConfig {
    MailboxConfig {
        number: number.into(),
        pin: PIN.into(),
        owner: owner.map(Into::into),
        email: None,
        greeting: None,
        max_messages: 100,
        max_message_s: 60,
    }
}

pub fn user(name: &str) -> UserConfig {
    UserConfig {
        name: name.into(),
        password: Some(format!("{name}-pw")),
        ha1_md5: None,
        ha1_sha256: None,
        max_contacts: None,
        no_answer_ms: Some(1000),
        srtp: Default::default(),
    }
}

/// A server with user alice owning mailbox 1001, and mailbox 1002.
pub async fn voicemail_server(tweak: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start(|c| {
        c.users = vec![user("alice"), user("bob")];
        c.mailboxes = vec![mailbox("1001", Some("alice")), mailbox("1002", None)];
        tweak(c);
    })
    .await
}

/// Goertzel power of `hz` in `samples`, relative to their energy.
pub fn tone_share(samples: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(RATE);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2) / samples.len() as f64;
    let energy: f64 = samples.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>();
    if energy == 0.0 {
        0.0
    } else {
        2.0 * power / energy
    }
}

/// Whether the last 200 ms heard hold the 1 kHz beep.
pub fn beep_heard(heard: &[i16]) -> bool {
    heard
        .len()
        .checked_sub(2000)
        .map(|start| &heard[start..])
        .is_some_and(|tail| tail.chunks(400).any(|w| tone_share(w, 1000.0) > 0.8))
}

/// A call from `from_user` to `to_user`, answered, with a keypad on its media.
pub async fn dial(
    server: &TestServer,
    from_user: &str,
    to_user: &str,
) -> (Keypad, Call, TestUserAgent) {
    let config = UaConfig {
        user: from_user.into(),
        ..UaConfig::default()
    };
    let ua = TestUserAgent::bind_udp_with(server.sip_addr(), config)
        .await
        .unwrap();
    let event_pt = OfferFormat::new(CodecKind::TelephoneEvent).payload_type;
    let mut keypad = Keypad::bind(CodecKind::Pcmu, 0, event_pt).await;
    let offer = sdp_offer(keypad.addr(), &[CodecKind::Pcmu, CodecKind::TelephoneEvent]);
    let uri = format!("sip:{to_user}@{}", server.sip_addr());
    let call = ua.invite(&uri, &offer).await.expect("answered");
    let answer = SdpAnswer::parse(&String::from_utf8_lossy(
        call.final_response().unwrap().body(),
    ))
    .unwrap();
    keypad.connect(answer.rtp_addr());
    (keypad, call, ua)
}

pub fn inbox(server: &TestServer, mailbox: &str) -> PathBuf {
    server
        .data_dir()
        .join("voicemail")
        .join(mailbox)
        .join("INBOX")
}

pub fn files_with(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

pub fn read_wav(path: &Path) -> (u32, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let rate = reader.spec().sample_rate;
    (rate, reader.samples::<i16>().map(Result::unwrap).collect())
}
