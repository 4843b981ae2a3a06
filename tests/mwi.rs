//! Message-waiting indication over loopback UDP: SUBSCRIBE to a mailbox's
//! message summary (RFC 3842, RFC 6665), the NOTIFYs that follow, refresh,
//! unsubscription, refusals and digest for an owned mailbox.

mod common;

use common::subscriber::{authorization, body, header, status, tag, Phone, Subscribe};
use common::TestServer;
use mediaplane::config::{Config, MailboxConfig, UserConfig};

fn mailbox(number: &str, owner: Option<&str>) -> MailboxConfig {
    MailboxConfig {
        number: number.into(),
        pin: "1234".into(),
        owner: owner.map(Into::into),
        email: None,
        greeting: None,
        max_messages: 10,
        max_message_s: 60,
    }
}

fn with_mailboxes(config: &mut Config) {
    config
        .users
        .push(UserConfig::with_password("alice", "alice-pw"));
    config
        .users
        .push(UserConfig::with_password("bob", "bob-pw"));
    config.mailboxes.push(mailbox("100", None));
    config.mailboxes.push(mailbox("200", Some("alice")));
}

#[tokio::test]
async fn subscribe_gets_200_then_a_notify_of_the_summary() {
    let server = TestServer::start(with_mailboxes).await;
    let phone = Phone::new(&server).await;
    phone
        .send(&Subscribe::new("100", "s1").render(&phone))
        .await;
    let ok = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert_eq!(header(&ok, "Expires"), Some("600"));
    assert!(header(&ok, "Contact").is_some());
    let our_tag = tag(header(&ok, "To").unwrap()).expect("a To tag");
    let notify = phone.notify().await;
    assert_eq!(header(&notify, "Call-ID"), Some("s1"));
    assert_eq!(tag(header(&notify, "From").unwrap()), Some(our_tag));
    assert_eq!(tag(header(&notify, "To").unwrap()), Some("ph1"));
    assert_eq!(header(&notify, "Event"), Some("message-summary"));
    let state = header(&notify, "Subscription-State").unwrap();
    assert!(state.starts_with("active;expires="), "{state}");
    let left: u32 = state.rsplit('=').next().unwrap().parse().unwrap();
    assert!((590..=600).contains(&left), "{state}");
    assert_eq!(
        header(&notify, "Content-Type"),
        Some("application/simple-message-summary")
    );
    assert!(header(&notify, "Contact").is_some());
    let summary = body(&notify);
    assert!(summary.contains("Messages-Waiting: no\r\n"), "{summary}");
    assert!(summary.contains("Voice-Message: 0/0\r\n"), "{summary}");
    assert!(summary.contains("Message-Account: sip:100@"), "{summary}");
    server.stop().await;
}

#[tokio::test]
async fn refresh_in_the_dialog_then_unsubscribe_with_expires_zero() {
    let server = TestServer::start(with_mailboxes).await;
    let phone = Phone::new(&server).await;
    let mut subscribe = Subscribe::new("100", "s2");
    phone.send(&subscribe.render(&phone)).await;
    let ok = phone.response("SUBSCRIBE").await;
    let our_tag = tag(header(&ok, "To").unwrap()).unwrap().to_string();
    let first = phone.notify().await;

    subscribe.to_tag = Some(our_tag);
    subscribe.cseq = 2;
    subscribe.expires = 1200;
    phone.send(&subscribe.render(&phone)).await;
    let refreshed = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&refreshed), 200, "{refreshed}");
    assert_eq!(header(&refreshed, "Expires"), Some("1200"));
    let notify = phone.notify().await;
    assert_eq!(
        header(&notify, "Subscription-State"),
        Some("active;expires=1200")
    );
    let cseq = |m: &str| -> u32 {
        header(m, "CSeq")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        cseq(&notify) > cseq(&first),
        "NOTIFY CSeq grows in the dialog"
    );

    subscribe.cseq = 3;
    subscribe.expires = 0;
    phone.send(&subscribe.render(&phone)).await;
    let gone = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&gone), 200, "{gone}");
    assert_eq!(header(&gone, "Expires"), Some("0"));
    let last = phone.notify().await;
    assert_eq!(
        header(&last, "Subscription-State"),
        Some("terminated;reason=timeout")
    );

    // RFC 6665 §4.2.1.2: the subscription is no more.
    subscribe.cseq = 4;
    subscribe.expires = 600;
    phone.send(&subscribe.render(&phone)).await;
    let unknown = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&unknown), 481, "{unknown}");
    server.stop().await;
}

#[tokio::test]
async fn refusals_say_why() {
    let server = TestServer::start(with_mailboxes).await;
    let phone = Phone::new(&server).await;

    let mut presence = Subscribe::new("100", "r1");
    presence.event = "presence".into();
    phone.send(&presence.render(&phone)).await;
    let bad_event = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&bad_event), 489, "{bad_event}");
    assert_eq!(header(&bad_event, "Allow-Events"), Some("message-summary"));

    phone
        .send(&Subscribe::new("999", "r2").render(&phone))
        .await;
    let unknown = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&unknown), 404, "{unknown}");

    let mut brief = Subscribe::new("100", "r3");
    brief.expires = 10;
    phone.send(&brief.render(&phone)).await;
    let too_brief = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&too_brief), 423, "{too_brief}");
    assert_eq!(header(&too_brief, "Min-Expires"), Some("60"));

    let mut no_event = Subscribe::new("100", "r4").render(&phone);
    no_event = no_event.replace("Event: message-summary\r\n", "");
    phone.send(&no_event).await;
    let missing = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&missing), 400, "{missing}");
    assert!(
        missing.starts_with("SIP/2.0 400 Missing Event"),
        "{missing}"
    );

    // The server still serves, and says what it supports.
    let options = format!(
        "OPTIONS sip:{srv} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKopt\r\n\
         From: <sip:phone@{me}>;tag=o\r\nTo: <sip:{srv}>\r\nCall-ID: r5\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        srv = phone.server,
        me = phone.addr()
    );
    phone.send(&options).await;
    let ok = phone.response("OPTIONS").await;
    assert!(header(&ok, "Allow").unwrap().contains("SUBSCRIBE"), "{ok}");
    assert_eq!(header(&ok, "Allow-Events"), Some("message-summary"));
    server.stop().await;
}

/// The Authorization answering the 401 `challenged` for `user`/`password`.
#[tokio::test]
async fn an_owned_mailbox_is_challenged_and_only_its_owner_gets_in() {
    let server = TestServer::start(with_mailboxes).await;
    let phone = Phone::new(&server).await;

    let mut subscribe = Subscribe::new("200", "a1");
    phone.send(&subscribe.render(&phone)).await;
    let challenged = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&challenged), 401, "{challenged}");
    subscribe.cseq = 2;
    subscribe.extra = authorization(&challenged, &subscribe.uri(&phone), "alice", "alice-pw");
    phone.send(&subscribe.render(&phone)).await;
    let ok = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&ok), 200, "{ok}");
    let notify = phone.notify().await;
    assert!(body(&notify).contains("Message-Account: sip:200@"));

    // The owner's name reaches the same mailbox; someone else's
    // credentials do not open it.
    let mut by_owner = Subscribe::new("alice", "a2");
    phone.send(&by_owner.render(&phone)).await;
    let challenged = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&challenged), 401, "{challenged}");
    by_owner.cseq = 2;
    by_owner.extra = authorization(&challenged, &by_owner.uri(&phone), "bob", "bob-pw");
    phone.send(&by_owner.render(&phone)).await;
    let refused = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&refused), 403, "{refused}");

    // The open mailbox needs no credentials.
    phone
        .send(&Subscribe::new("100", "a3").render(&phone))
        .await;
    let open = phone.response("SUBSCRIBE").await;
    assert_eq!(status(&open), 200, "{open}");
    server.stop().await;
}
