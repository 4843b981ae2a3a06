use std::time::{Duration, Instant};

use super::*;
use crate::config::{MailboxConfig, VoicemailConfig};
use crate::sip::dialog::Dialog;
use crate::sip::peer::Peer;

fn subscribe_request(from_tag: &str, call_id: &str) -> rsip::Request {
    let text = format!(
        "SUBSCRIBE sip:100@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK{call_id}\r\n\
         From: <sip:alice@10.0.0.1>;tag={from_tag}\r\n\
         To: <sip:100@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 SUBSCRIBE\r\n\
         Contact: <sip:alice@10.0.0.1:5062>\r\n\
         Event: message-summary\r\n\
         Content-Length: 0\r\n\r\n"
    );
    rsip::Request::try_from(text.as_str()).unwrap()
}

fn dialog(call_id: &str) -> Dialog {
    let peer = Peer::udp("10.0.0.1:5062".parse().unwrap());
    Dialog::from_invite(&subscribe_request("abc", call_id), "ours", peer).unwrap()
}

fn table() -> MwiSubscriptions {
    MwiSubscriptions::new(SubscriptionPolicy::with_max(3600))
}

#[test]
fn body_says_waiting_account_and_counts() {
    let body = MessageSummary::voice(Some("sip:100@example.com".into()), 1, 0).to_body();
    assert_eq!(
        body,
        "Messages-Waiting: yes\r\nMessage-Account: sip:100@example.com\r\nVoice-Message: 1/0\r\n"
    );
    let none = MessageSummary::voice(None, 0, 3).to_body();
    assert_eq!(none, "Messages-Waiting: no\r\nVoice-Message: 0/3\r\n");
}

#[test]
fn body_round_trips_and_reads_urgent_counts() {
    let text = "messages-waiting: YES\r\nMessage-Account: sip:alice@vmail.example.com\r\n\
                Voice-Message: 2/8 (0/2)\r\nFax-Message: 0/1\r\n\r\nTo: x\r\n";
    let summary = MessageSummary::parse(text.as_bytes()).unwrap();
    assert!(summary.waiting);
    assert_eq!(
        summary.account.as_deref(),
        Some("sip:alice@vmail.example.com")
    );
    assert_eq!(
        summary.counts("voice-message"),
        Some(MessageCounts {
            new: 2,
            old: 8,
            urgent: Some((0, 2))
        })
    );
    assert_eq!(summary.counts("Fax-Message").map(|c| c.old), Some(1));
    let again = MessageSummary::parse(summary.to_body().as_bytes()).unwrap();
    assert_eq!(again, summary);
}

#[test]
fn malformed_bodies_are_refused() {
    assert_eq!(
        MessageSummary::parse(b"Voice-Message: 1/0\r\n"),
        Err(SummaryError::MissingStatus)
    );
    assert_eq!(
        MessageSummary::parse(b"Messages-Waiting: maybe\r\n"),
        Err(SummaryError::BadStatus)
    );
    assert!(matches!(
        MessageSummary::parse(b"Messages-Waiting: no\r\nVoice-Message: x/1\r\n"),
        Err(SummaryError::BadLine(_))
    ));
    assert_eq!(MessageSummary::parse(b""), Err(SummaryError::MissingStatus));
}

#[test]
fn policy_grants_caps_and_refuses_too_brief() {
    let policy = SubscriptionPolicy::with_max(1800);
    assert_eq!(policy.grant(None), Ok(1800));
    assert_eq!(policy.grant(Some(0)), Ok(0));
    assert_eq!(policy.grant(Some(7200)), Ok(1800));
    assert_eq!(policy.grant(Some(600)), Ok(600));
    let refused = policy.grant(Some(10)).unwrap_err();
    assert_eq!(refused, SubscribeRefusal::TooBrief { min_expires_s: 60 });
    assert_eq!(refused.status_code(), 423);
}

#[test]
fn subscribe_is_active_and_each_notify_takes_the_next_cseq() {
    let now = Instant::now();
    let mut t = table();
    let first = t
        .subscribe(now, dialog("c1"), "100", None, Some(600))
        .unwrap();
    assert_eq!(first.state, SubscriptionState::Active { expires_s: 600 });
    assert_eq!(first.state.to_string(), "active;expires=600");
    let key = first.dialog.key();
    let later = t
        .notify(now + Duration::from_millis(100_500), &key)
        .unwrap();
    assert_eq!(later.dialog.local_cseq, first.dialog.local_cseq + 1);
    assert_eq!(later.state, SubscriptionState::Active { expires_s: 500 });
    assert_eq!(t.for_mailbox("100"), vec![key]);
    assert!(t.for_mailbox("200").is_empty());
}

#[test]
fn refresh_extends_the_deadline() {
    let now = Instant::now();
    let mut t = table();
    let key = t
        .subscribe(now, dialog("c1"), "100", None, Some(120))
        .unwrap()
        .dialog
        .key();
    let at = now + Duration::from_secs(100);
    let refreshed = t.refresh(at, &key, 2, Some(300)).unwrap();
    assert_eq!(
        refreshed.state,
        SubscriptionState::Active { expires_s: 300 }
    );
    // The first deadline passes without ending the refreshed subscription.
    assert!(t.handle_timeout(now + Duration::from_secs(121)).is_empty());
    assert_eq!(t.len(), 1);
    let ended = t.handle_timeout(at + Duration::from_secs(300));
    assert_eq!(ended.len(), 1);
    assert!(t.is_empty());
}

#[test]
fn expiry_gives_a_terminated_notify() {
    let now = Instant::now();
    let mut t = table();
    let first = t
        .subscribe(now, dialog("c1"), "100", None, Some(60))
        .unwrap();
    assert_eq!(t.poll_timeout(), Some(now + Duration::from_secs(60)));
    assert!(t.handle_timeout(now + Duration::from_secs(59)).is_empty());
    let ended = t.handle_timeout(now + Duration::from_secs(60));
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].state.to_string(), "terminated;reason=timeout");
    assert_eq!(ended[0].dialog.local_cseq, first.dialog.local_cseq + 1);
    assert!(t.is_empty());
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn expires_zero_fetches_or_unsubscribes() {
    let now = Instant::now();
    let mut t = table();
    let fetch = t
        .subscribe(now, dialog("c1"), "100", None, Some(0))
        .unwrap();
    assert_eq!(
        fetch.state,
        SubscriptionState::Terminated(TerminationReason::Timeout)
    );
    assert!(t.is_empty(), "a fetch keeps nothing");
    let key = t
        .subscribe(now, dialog("c2"), "100", None, None)
        .unwrap()
        .dialog
        .key();
    let gone = t.refresh(now, &key, 2, Some(0)).unwrap();
    assert_eq!(gone.state.expires_s(), 0);
    assert!(t.is_empty());
    assert_eq!(
        t.refresh(now, &key, 3, Some(600)).unwrap_err(),
        SubscribeRefusal::NoSuchSubscription
    );
}

#[test]
fn too_brief_refresh_keeps_the_subscription_and_old_cseq_is_refused() {
    let now = Instant::now();
    let mut t = table();
    let key = t
        .subscribe(now, dialog("c1"), "100", None, Some(600))
        .unwrap()
        .dialog
        .key();
    assert!(matches!(
        t.subscribe(now, dialog("c9"), "100", None, Some(5)),
        Err(SubscribeRefusal::TooBrief { .. })
    ));
    assert!(matches!(
        t.refresh(now, &key, 5, Some(5)),
        Err(SubscribeRefusal::TooBrief { min_expires_s: 60 })
    ));
    assert_eq!(t.len(), 1);
    assert_eq!(
        t.refresh(now, &key, 4, Some(600)).unwrap_err(),
        SubscribeRefusal::OutOfOrder
    );
}

#[test]
fn failed_notifies_end_the_subscription() {
    let now = Instant::now();
    let mut t = table();
    let mut keys = Vec::new();
    for call_id in ["c1", "c2", "c3"] {
        let n = t
            .subscribe(now, dialog(call_id), "100", None, None)
            .unwrap();
        keys.push(n.dialog.key());
    }
    let tx = |b: &str| {
        let r = subscribe_request("abc", b);
        crate::sip::transaction::TransactionKey::for_server_request(&r).unwrap()
    };
    t.track_notify(tx("n1"), keys[0].clone());
    t.track_notify(tx("n2"), keys[1].clone());
    t.track_notify(tx("n3"), keys[2].clone());
    assert!(t.notify_answered(&tx("n1"), 200).is_none());
    assert!(t.notify_answered(&tx("n2"), 481).is_some());
    assert!(t.notify_timed_out(&tx("n3")).is_some());
    assert_eq!(t.for_mailbox("100"), vec![keys[0].clone()]);
    assert!(!t.is_notify(&tx("n1")));
}

#[test]
fn mailboxes_resolve_by_number_or_owner_and_count_changes() {
    let mailbox = |number: &str, owner: Option<&str>| MailboxConfig {
        number: number.into(),
        pin: "1234".into(),
        owner: owner.map(Into::into),
        email: None,
        greeting: None,
        max_messages: 10,
        max_message_s: 60,
    };
    let mwi = Mwi::new(
        &[mailbox("100", Some("alice")), mailbox("200", None)],
        &VoicemailConfig::default(),
    );
    let mut dir = mwi.mailboxes;
    assert_eq!(dir.resolve("100"), Some("100"));
    assert_eq!(dir.resolve("alice"), Some("100"));
    assert_eq!(dir.resolve("200"), Some("200"));
    assert_eq!(dir.resolve("bob"), None);
    assert_eq!(dir.owner("100"), Some("alice"));
    assert_eq!(dir.owner("200"), None);
    assert_eq!(dir.counts("100"), (0, 0));
    assert!(dir.set_counts("100", 1, 0));
    assert!(!dir.set_counts("100", 1, 0));
    assert!(
        !dir.set_counts("999", 1, 0),
        "unknown mailboxes are ignored"
    );
    assert_eq!(dir.counts("100"), (1, 0));
}

#[test]
fn a_full_table_refuses_new_subscriptions_but_not_fetches() {
    let now = Instant::now();
    let mut policy = SubscriptionPolicy::with_max(3600);
    policy.max_subscriptions = 1;
    let mut t = MwiSubscriptions::new(policy);
    t.subscribe(now, dialog("c1"), "100", None, None).unwrap();
    let refused = t
        .subscribe(now, dialog("c2"), "100", None, None)
        .unwrap_err();
    assert_eq!(refused, SubscribeRefusal::Full);
    assert_eq!(refused.status_code(), 503);
    assert!(t.subscribe(now, dialog("c3"), "100", None, Some(0)).is_ok());
    assert_eq!(t.len(), 1);
}
