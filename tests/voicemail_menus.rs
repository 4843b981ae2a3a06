//! The voicemail dialogues' refusals over loopback: wrong PINs lock a
//! mailbox across calls, a full mailbox takes no message, an unknown
//! mailbox is asked for again and then refused.

mod common;

use std::time::{Duration, SystemTime};

use mediaplane::loadgen::simple_sdp::sdp_offer;
use mediaplane::loadgen::ua::{TestUserAgent, UaError};
use mediaplane::store::{FsMessageStore, MessageStore, NewMessage};

use common::keypad::KeyStyle;
use common::mailboxes::{dial, files_with, inbox, voicemail_server, PIN};
use common::metric;
use common::voice::{prompt_heard, share_found};

const WAIT: Duration = Duration::from_secs(5);

/// Whether `heard` holds prompt `name` as the server plays it.
fn heard_prompt(heard: &[i16], name: &str) -> bool {
    share_found(heard, &prompt_heard(name), 0.9) >= 0.7
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_wrong_pins_lock_the_mailbox_for_later_calls_too() {
    let server = voicemail_server(|c| c.voicemail.pin_attempts = 3).await;
    let (mut keypad, mut call, _ua) = dial(&server, "stranger", "voicemail-1002").await;
    // Keys barge into every prompt: three wrong entries back to back.
    keypad.press("1111#2222#3333#", KeyStyle::Rfc4733).await;
    let mark = keypad.heard.len();
    call.wait_bye(Duration::from_secs(15))
        .await
        .expect("locked out: the call ends");
    let text = server.metrics_text().await;
    assert_eq!(
        metric(&text, "mediaplane_voicemail_pin_failures_total"),
        3.0
    );
    assert_eq!(
        metric(&text, "mediaplane_voicemail_pin_lockouts_total"),
        1.0
    );
    keypad.listen(Duration::from_millis(100)).await;
    assert!(
        heard_prompt(&keypad.heard[mark.saturating_sub(8000)..], "mailbox-locked"),
        "the caller is told the mailbox is locked"
    );

    // A new call with the right PIN is refused while the lockout lasts:
    // the lock is said at once, before any PIN is asked.
    let (mut keypad, mut call, _ua) = dial(&server, "stranger", "voicemail-1002").await;
    keypad.press(&format!("{PIN}#"), KeyStyle::Rfc4733).await;
    call.wait_bye(Duration::from_secs(15))
        .await
        .expect("still locked: the call ends");
    keypad.listen(Duration::from_millis(100)).await;
    assert!(heard_prompt(&keypad.heard, "mailbox-locked"));
    assert!(!heard_prompt(&keypad.heard, "enter-pin"));
    let text = server.metrics_text().await;
    assert_eq!(
        metric(&text, "mediaplane_voicemail_pin_failures_total"),
        3.0,
        "the right PIN was not even compared"
    );
    // Another mailbox is not affected.
    let (mut keypad, mut call, _ua) = dial(&server, "alice", "voicemail").await;
    let mark = keypad.heard.len();
    keypad.press(&format!("{PIN}#"), KeyStyle::Rfc4733).await;
    let opened = keypad
        .listen_until(Duration::from_secs(10), |heard| {
            heard_prompt(&heard[mark..], "no-messages")
        })
        .await;
    assert!(opened, "alice's mailbox opens with its PIN");
    call.bye(WAIT).await.unwrap();
    assert!(server.ports_released().await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailbox_says_so_and_records_nothing() {
    let server = voicemail_server(|c| c.mailboxes[1].max_messages = 1).await;
    // One message already there.
    let store = FsMessageStore::new(server.data_dir().join("voicemail"));
    let draft = store
        .begin(
            "1002",
            NewMessage {
                caller: "7".into(),
                called: "1002".into(),
                codec: "PCMU".into(),
                rate_hz: 8000,
                start: SystemTime::now(),
            },
        )
        .unwrap();
    common::write_tone(&draft.wav_path, 440.0, Duration::from_secs(2), 8000);
    store.complete(&draft, 2000).unwrap();

    let (mut keypad, mut call, _ua) = dial(&server, "stranger", "vm-1002").await;
    call.wait_bye(Duration::from_secs(15))
        .await
        .expect("hung up after the notice");
    keypad.listen(Duration::from_millis(100)).await;
    assert!(heard_prompt(&keypad.heard, "mailbox-full"));
    assert_eq!(files_with(&inbox(&server, "1002"), "wav").len(), 1);
    let text = server.metrics_text().await;
    assert_eq!(metric(&text, "mediaplane_recordings_started_total"), 0.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_mailbox_is_asked_again_then_refused() {
    let server = voicemail_server(|_| {}).await;
    // A caller without a mailbox is asked for its number.
    let (mut keypad, mut call, _ua) = dial(&server, "stranger", "voicemail").await;
    keypad.press("9999#", KeyStyle::Rfc4733).await;
    let told = keypad
        .listen_until(Duration::from_secs(10), |heard| {
            heard_prompt(heard, "no-such-mailbox")
        })
        .await;
    assert!(told, "an unknown mailbox is said to be unknown");
    let mark = keypad.heard.len();
    keypad.press("8888#7777#", KeyStyle::Rfc4733).await;
    call.wait_bye(Duration::from_secs(15))
        .await
        .expect("three unknown mailboxes end the call");
    keypad.listen(Duration::from_millis(100)).await;
    // The third refusal is heard whole, no key cutting it short.
    assert!(heard_prompt(&keypad.heard[mark..], "no-such-mailbox"));
    let text = server.metrics_text().await;
    assert_eq!(
        metric(&text, "mediaplane_voicemail_pin_failures_total"),
        0.0
    );

    // Dialled directly, an unknown or unsafe mailbox is refused at once.
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    for user in ["vm-9999", "voicemail-9999", "vm-..%2F1001"] {
        let offer = sdp_offer(
            "127.0.0.1:40000".parse().unwrap(),
            &[mediaplane::codec::CodecKind::Pcmu],
        );
        let uri = format!("sip:{user}@{}", server.sip_addr());
        match ua.invite(&uri, &offer).await {
            Err(UaError::Rejected { status, .. }) => assert_eq!(status, 404, "{user}"),
            other => panic!("{user}: {:?}", other.map(|c| c.state())),
        }
    }
    assert!(server.ports_released().await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_or_unregistered_owner_takes_a_message_and_others_get_480() {
    use common::callee::Callee;
    use mediaplane::codec::CodecKind;
    let server = voicemail_server(|_| {}).await;
    // Nothing registered: alice's mailbox answers at once; bob, who owns
    // none, is not available.
    let (mut keypad, mut call, _ua) = dial(&server, "carol", "alice").await;
    let greeted = keypad
        .listen_until(Duration::from_secs(10), |heard| {
            heard_prompt(heard, "not-available")
        })
        .await;
    assert!(greeted, "alice's mailbox greets the caller");
    call.bye(WAIT).await.unwrap();
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let offer = sdp_offer("127.0.0.1:40000".parse().unwrap(), &[CodecKind::Pcmu]);
    match ua
        .invite(&format!("sip:bob@{}", server.sip_addr()), &offer)
        .await
    {
        Err(UaError::Rejected { status, .. }) => assert_eq!(status, 480),
        other => panic!("bob: {:?}", other.map(|c| c.state())),
    }

    // Alice's phone is busy: the caller is answered by her mailbox.
    let phone = Callee::bind(CodecKind::Pcmu).await;
    phone.register(server.sip_addr(), "alice", "alice-pw").await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let mut caller = mediaplane::loadgen::rtp::RtpStream::bind(
        mediaplane::loadgen::rtp::RtpStreamOptions::new(CodecKind::Pcmu),
    )
    .await
    .unwrap();
    let offer = sdp_offer(caller.local_addr(), &[CodecKind::Pcmu]);
    let mut call = ua
        .start_invite(
            &format!("sip:alice@{}", server.sip_addr()),
            &offer,
            &Default::default(),
        )
        .await
        .unwrap();
    let invite = phone.expect("INVITE", WAIT).await;
    phone
        .respond(&invite, 486, "Busy Here", Some("busy1"), None)
        .await;
    phone.expect("ACK", WAIT).await;
    let answered = call.wait_final(WAIT).await.unwrap();
    assert_eq!(answered.status_code(), Some(200), "answered by the mailbox");
    let answer = call.answer_sdp().unwrap();
    caller.set_remote(answer.rtp_addr());
    assert!(
        caller
            .wait_for_packets(50, Duration::from_secs(5))
            .await
            .is_ok(),
        "the greeting streams"
    );
    call.bye(WAIT).await.unwrap();
    // Hung up in the greeting: no message.
    assert!(files_with(&inbox(&server, "1001"), "json").is_empty());
    assert!(server.ports_released().await);
    server.stop().await;
}
