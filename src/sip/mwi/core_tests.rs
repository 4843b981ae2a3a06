//! The SIP core serving message-summary subscriptions, driven through its
//! public sans-IO surface: datagrams and times in, datagrams out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{MailboxConfig, RegistrarConfig, UserConfig, VoicemailConfig};
use crate::media::ports::PortAllocator;
use crate::media::MediaPool;
use crate::prompts::PromptCatalogue;
use crate::routing::DialPlan;
use crate::sip::core::{CoreSettings, SipCore};
use crate::sip::peer::Peer;
use crate::sip::registrar::digest::{self, QopAuth};
use crate::sip::registrar::Registrar;
use crate::sip::transaction::TimerConfig;

const PHONE: &str = "127.0.0.1:5072";

fn phone() -> Peer {
    Peer::udp(PHONE.parse().unwrap())
}

fn core(owner: Option<&str>, users: &[UserConfig], notify_unsubscribed: bool) -> SipCore {
    let settings = CoreSettings {
        user_agent: "mediaplane-test".into(),
        advertise: Some([127, 0, 0, 1].into()),
        sip_port: 5060,
        sip_tcp_port: 5060,
        sip_tls_port: None,
        codecs: vec![],
        ptime_ms: 20,
        jitter_delay_ms: 40,
        rtp_latching: Default::default(),
        media_timeout: Duration::from_secs(30),
        rtcp: Default::default(),
        max_calls: 10,
        retry_after_s: 5,
        max_message_bytes: 65_535,
        timers: TimerConfig::default(),
        moh_prompt: None,
        srtp: Default::default(),
    };
    let prompts_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(prompts_dir.path().join("en")).unwrap();
    let prompts = Arc::new(PromptCatalogue::load(prompts_dir.path(), "en").unwrap());
    let ports = Arc::new(PortAllocator::new([127, 0, 0, 1].into(), 40000, 40001));
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    let media = MediaPool::start(1, ports, events).unwrap();
    let mut core = SipCore::new(settings, DialPlan::compile(&[]).unwrap(), prompts, media);
    core.set_registrar(Registrar::new(
        &RegistrarConfig::default(),
        users,
        Instant::now(),
    ));
    let mailbox = MailboxConfig {
        number: "100".into(),
        pin: "1234".into(),
        owner: owner.map(Into::into),
        email: None,
        greeting: None,
        max_messages: 10,
        max_message_s: 60,
    };
    let voicemail = VoicemailConfig {
        notify_unsubscribed,
        ..VoicemailConfig::default()
    };
    core.set_mailboxes(&[mailbox], &voicemail);
    core
}

fn sent(core: &mut SipCore) -> Vec<(Peer, String)> {
    std::iter::from_fn(|| core.poll_transmit())
        .map(|(peer, data)| (peer, String::from_utf8(data.to_vec()).unwrap()))
        .collect()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn subscribe(call_id: &str, to_tag: Option<&str>, cseq: u32, expires: u32) -> String {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "SUBSCRIBE sip:100@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {PHONE};branch=z9hG4bK{call_id}{cseq}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@127.0.0.1>;tag=phone\r\n\
         To: <sip:100@127.0.0.1>{to_tag}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} SUBSCRIBE\r\n\
         Contact: <sip:alice@{PHONE}>\r\n\
         Event: message-summary\r\n\
         Expires: {expires}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Answers a NOTIFY the core sent with `code`.
fn answer(core: &mut SipCore, now: Instant, notify: &str, code: u16) {
    let request = rsip::Request::try_from(notify).unwrap();
    let response = crate::sip::response::build_response(&request, code, None, None, vec![], None);
    core.handle_datagram(now, response.to_string().as_bytes(), phone());
}

/// Subscribes to mailbox 100; returns the 200's To tag.
fn subscribed(core: &mut SipCore, now: Instant) -> String {
    core.handle_datagram(now, subscribe("c1", None, 1, 600).as_bytes(), phone());
    let out = sent(core);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out[0].1.starts_with("SIP/2.0 200"), "{}", out[0].1);
    assert!(out[1].1.starts_with("NOTIFY "), "{}", out[1].1);
    assert!(out[1].1.contains("Messages-Waiting: no\r\n"));
    answer(core, now, &out[1].1, 200);
    let to = header(&out[0].1, "To").unwrap();
    to.split(";tag=").nth(1).unwrap().to_string()
}

#[test]
fn new_messages_are_notified_to_the_subscriber_once() {
    let now = Instant::now();
    let mut core = core(None, &[], false);
    let _tag = subscribed(&mut core, now);
    core.set_message_counts(now, "100", 1, 0);
    let out = sent(&mut core);
    assert_eq!(out.len(), 1, "{out:?}");
    let (to, notify) = &out[0];
    assert_eq!(to.addr, PHONE.parse::<SocketAddr>().unwrap());
    assert!(notify.contains("Messages-Waiting: yes\r\n"), "{notify}");
    assert!(notify.contains("Voice-Message: 1/0\r\n"), "{notify}");
    assert!(notify.contains("Message-Account: sip:100@127.0.0.1\r\n"));
    assert_eq!(header(notify, "Event"), Some("message-summary"));
    assert_eq!(
        header(notify, "Content-Type"),
        Some("application/simple-message-summary")
    );
    assert!(header(notify, "Subscription-State")
        .unwrap()
        .starts_with("active;expires="));
    answer(&mut core, now, notify, 200);
    // The same counts again are no news.
    core.set_message_counts(now, "100", 1, 0);
    assert!(sent(&mut core).is_empty());
}

#[test]
fn a_notify_answered_481_ends_the_subscription() {
    let now = Instant::now();
    let mut core = core(None, &[], false);
    subscribed(&mut core, now);
    core.set_message_counts(now, "100", 1, 0);
    let out = sent(&mut core);
    answer(&mut core, now, &out[0].1, 481);
    core.set_message_counts(now, "100", 2, 0);
    assert!(sent(&mut core).is_empty(), "nobody is subscribed any more");
}

#[test]
fn an_expired_subscription_gets_a_terminated_notify() {
    let now = Instant::now();
    let mut core = core(None, &[], false);
    let tag = subscribed(&mut core, now);
    // A refresh moves the deadline: nothing at the first one.
    let refresh = subscribe("c1", Some(&tag), 2, 60);
    core.handle_datagram(now, refresh.as_bytes(), phone());
    let out = sent(&mut core);
    assert!(out[0].1.starts_with("SIP/2.0 200"));
    assert_eq!(header(&out[0].1, "Expires"), Some("60"));
    assert_eq!(
        header(&out[1].1, "Subscription-State"),
        Some("active;expires=60")
    );
    answer(&mut core, now, &out[1].1, 200);
    let deadline = core.poll_timeout().unwrap();
    assert!(deadline <= now + Duration::from_secs(60));
    core.handle_timeout(now + Duration::from_secs(60));
    let out = sent(&mut core);
    let last = out.iter().find(|(_, m)| m.starts_with("NOTIFY")).unwrap();
    assert_eq!(
        header(&last.1, "Subscription-State"),
        Some("terminated;reason=timeout")
    );
}

/// REGISTERs alice's phone with digest; the core then knows its contact.
fn register_alice(core: &mut SipCore, now: Instant) {
    let register = |auth: &str| {
        format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP {PHONE};branch=z9hG4bKreg{}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:alice@127.0.0.1>;tag=r\r\n\
             To: <sip:alice@127.0.0.1>\r\n\
             Call-ID: reg1\r\n\
             CSeq: {} REGISTER\r\n\
             Contact: <sip:alice@{PHONE}>\r\n\
             Expires: 600\r\n{auth}\
             Content-Length: 0\r\n\r\n",
            auth.len(),
            1 + u32::from(!auth.is_empty()),
        )
    };
    core.handle_datagram(now, register("").as_bytes(), phone());
    let out = sent(core);
    assert!(out[0].1.starts_with("SIP/2.0 401"), "{}", out[0].1);
    let challenge = digest::parse_challenge(header(&out[0].1, "WWW-Authenticate").unwrap())
        .expect("a challenge");
    let uri = "sip:127.0.0.1";
    let ha1 = digest::ha1(challenge.algorithm, "alice", &challenge.realm, "pw");
    let qop = QopAuth {
        nc_text: "00000001".into(),
        nc: 1,
        cnonce: "abc".into(),
    };
    let response = digest::expected_response(
        challenge.algorithm,
        &ha1,
        &challenge.nonce,
        Some(&qop),
        "REGISTER",
        uri,
    );
    let auth = format!(
        "Authorization: Digest username=\"alice\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm={}, qop=auth, nc=00000001, cnonce=\"abc\", opaque=\"{}\"\r\n",
        challenge.realm,
        challenge.nonce,
        challenge.algorithm.token(),
        challenge.opaque.unwrap_or_default(),
    );
    core.handle_datagram(now, register(&auth).as_bytes(), phone());
    let out = sent(core);
    assert!(out[0].1.starts_with("SIP/2.0 200"), "{}", out[0].1);
}

#[test]
fn owner_contacts_get_unsolicited_notifies_when_configured() {
    let now = Instant::now();
    let alice = UserConfig::with_password("alice", "pw");
    let mut core = core(Some("alice"), &[alice], true);
    register_alice(&mut core, now);
    core.set_message_counts(now, "100", 3, 1);
    let out = sent(&mut core);
    assert_eq!(out.len(), 1, "{out:?}");
    let (to, notify) = &out[0];
    assert_eq!(to.addr, PHONE.parse::<SocketAddr>().unwrap());
    assert!(notify.starts_with(&format!("NOTIFY sip:alice@{PHONE} SIP/2.0")));
    assert_eq!(header(notify, "Event"), Some("message-summary"));
    assert!(header(notify, "Subscription-State").is_none());
    assert!(notify.contains("Messages-Waiting: yes\r\n"));
    assert!(notify.contains("Voice-Message: 3/1\r\n"));
}

#[test]
fn without_the_setting_owner_contacts_get_nothing() {
    let now = Instant::now();
    let alice = UserConfig::with_password("alice", "pw");
    let mut core = core(Some("alice"), &[alice], false);
    register_alice(&mut core, now);
    core.set_message_counts(now, "100", 3, 1);
    assert!(sent(&mut core).is_empty());
}

#[test]
fn an_owned_mailbox_challenges_the_subscribe() {
    let now = Instant::now();
    let alice = UserConfig::with_password("alice", "pw");
    let mut core = core(Some("alice"), &[alice], false);
    core.handle_datagram(now, subscribe("c1", None, 1, 600).as_bytes(), phone());
    let out = sent(&mut core);
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].1.starts_with("SIP/2.0 401"), "{}", out[0].1);
    assert!(header(&out[0].1, "WWW-Authenticate").is_some());
}
