//! Voicemail end to end over loopback: an unanswered call to a registered
//! user lands in the user's mailbox, the message is recorded and stored,
//! the owner's lamp lights, the owner logs in by RFC 4733 keys, hears the
//! message and deletes it.

mod common;

use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::loadgen::simple_sdp::{sdp_offer, OfferFormat, SdpAnswer};
use mediaplane::loadgen::ua::{TestUserAgent, UaConfig};

use common::callee::Callee;
use common::keypad::{KeyStyle, Keypad};
use common::mailboxes::{beep_heard, dial, files_with, inbox, read_wav, voicemail_server, PIN};
use common::subscriber::{authorization, body, status, Phone, Subscribe};
use common::voice::{share_found, speech, through_pcmu, RATE};

const WAIT: Duration = Duration::from_secs(5);
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_call_leaves_a_message_that_the_owner_hears_and_deletes() {
    let server = voicemail_server(|_| {}).await;
    // Alice's phone registers, then rings without answering.
    let phone = Callee::bind(CodecKind::Pcmu).await;
    phone.register(server.sip_addr(), "alice", "alice-pw").await;
    // Alice's desk phone watches her mailbox's message-waiting state.
    let lamp = Phone::new(&server).await;
    let mut subscribe = Subscribe::new("alice", "mwi-e2e");
    lamp.send(&subscribe.render(&lamp)).await;
    let challenged = lamp.response("SUBSCRIBE").await;
    subscribe.cseq = 2;
    subscribe.extra = authorization(&challenged, &subscribe.uri(&lamp), "alice", "alice-pw");
    lamp.send(&subscribe.render(&lamp)).await;
    assert_eq!(status(&lamp.response("SUBSCRIBE").await), 200);
    let first = lamp.notify().await;
    assert!(body(&first).contains("Messages-Waiting: no"), "{first}");

    let ua = TestUserAgent::bind_udp_with(
        server.sip_addr(),
        UaConfig {
            user: "1002".into(),
            ..UaConfig::default()
        },
    )
    .await
    .unwrap();
    let event_pt = OfferFormat::new(CodecKind::TelephoneEvent).payload_type;
    let mut caller = Keypad::bind(CodecKind::Pcmu, 0, event_pt).await;
    let offer = sdp_offer(caller.addr(), &[CodecKind::Pcmu, CodecKind::TelephoneEvent]);
    let uri = format!("sip:alice@{}", server.sip_addr());
    let mut call = ua
        .start_invite(&uri, &offer, &Default::default())
        .await
        .unwrap();
    let invite = phone.expect("INVITE", WAIT).await;
    phone
        .respond(&invite, 180, "Ringing", Some("ring1"), None)
        .await;
    // No answer within 1 s: the fork is cancelled, the caller answered by
    // the mailbox.
    phone.accept_cancel(&invite, "ring1").await;
    let ok = call.wait_final(WAIT).await.unwrap();
    assert_eq!(ok.status_code(), Some(200));
    let answer = SdpAnswer::parse(&ok.body_text()).unwrap();
    caller.connect(answer.rtp_addr());

    // The greeting, then the beep; then the message and #.
    assert!(
        caller
            .listen_until(Duration::from_secs(15), beep_heard)
            .await,
        "the beep after the greeting"
    );
    let words = speech("Hello Alice, this is a test message about the quarterly report.");
    caller.speak(&words).await;
    caller.press("#", KeyStyle::Rfc4733).await;
    caller.listen(Duration::from_millis(300)).await;

    let dir = inbox(&server, "1001");
    let found = common::wait_for(WAIT, || async { files_with(&dir, "json").len() == 1 }).await;
    assert!(found, "one message in {}", dir.display());
    let json_path = &files_with(&dir, "json")[0];
    let ok = common::wait_for(WAIT, || async {
        std::fs::read_to_string(json_path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|meta| meta["complete"] == true)
    })
    .await;
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
    assert!(ok, "message completed: {meta}");
    assert_eq!(meta["caller"], "1002");
    assert_eq!(meta["called"], "1001");
    assert_eq!(meta["codec"], "PCMU");
    assert_eq!(meta["rate_hz"], 8000);
    let duration_ms = meta["duration_ms"].as_u64().unwrap();
    let spoken_ms = words.len() as u64 * 1000 / u64::from(RATE);
    assert!(
        duration_ms >= spoken_ms && duration_ms < spoken_ms + 2000,
        "{duration_ms} ms recorded for {spoken_ms} ms spoken"
    );
    let wav_path = json_path.with_extension("wav");
    let (rate, recorded) = read_wav(&wav_path);
    assert_eq!(rate, RATE);
    let sent = through_pcmu(&words);
    // Most pieces come back sample for sample (correlation 1.0); those
    // where the playout buffer adjusted its delay less so.
    // (0.8 to 0.9 of the pieces on a busy machine, about none for audio
    // that is not this speech.)
    let found = share_found(&recorded, &sent, 0.95);
    assert!(found >= 0.6, "the recording holds the speech: {found}");
    call.wait_bye(WAIT)
        .await
        .expect("the mailbox hangs up after saving");
    let lit = lamp.notify().await;
    assert!(body(&lit).contains("Messages-Waiting: yes"), "{lit}");
    assert!(body(&lit).contains("Voice-Message: 1/0"), "{lit}");

    // Alice calls voicemail: PIN by RFC 4733, 1 for new messages.
    let (mut owner, mut owner_call, _ua) = dial(&server, "alice", "voicemail").await;
    owner.listen(Duration::from_millis(500)).await;
    owner.press(&format!("{PIN}#"), KeyStyle::Rfc4733).await;
    owner.listen(Duration::from_millis(300)).await;
    owner.press("1", KeyStyle::Rfc4733).await;
    let start = owner.heard.len();
    // Checked once a second of new audio (the search is costly).
    let mut checked = start + sent.len();
    let heard_message = owner
        .listen_until(Duration::from_secs(20), |heard| {
            if heard.len() < checked + RATE as usize {
                return false;
            }
            checked = heard.len();
            share_found(&heard[start..], &sent, 0.9) >= 0.6
        })
        .await;
    assert!(heard_message, "the owner hears the message");
    // Listening moved it to Old: the lamp goes out, one old message left.
    let old = server.data_dir().join("voicemail/1001/Old");
    assert_eq!(files_with(&old, "wav").len(), 1);
    assert!(files_with(&dir, "wav").is_empty());
    let heard = lamp.notify().await;
    assert!(body(&heard).contains("Messages-Waiting: no"), "{heard}");
    assert!(body(&heard).contains("Voice-Message: 0/1"), "{heard}");
    owner.press("7", KeyStyle::Rfc4733).await;
    let gone = lamp.notify().await;
    assert!(body(&gone).contains("Voice-Message: 0/0"), "{gone}");
    assert!(files_with(&old, "wav").is_empty(), "7 deletes the message");
    assert!(files_with(&old, "json").is_empty());
    owner.press("#", KeyStyle::Rfc4733).await;
    owner_call.wait_bye(WAIT).await.expect("# leaves");
    assert!(server.ports_released().await);
    server.stop().await;
}
