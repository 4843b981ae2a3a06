//! The registrar over loopback: digest challenges and their answers (MD5,
//! SHA-256), refusals, expiry, several contacts and un-registering.

mod common;

use std::time::Duration;

use common::TestServer;
use mediaplane::config::{Config, UserConfig};
use mediaplane::loadgen::ua::{
    header_param, header_uri, ReceivedMessage, RegisterAuth, RegisterClient, RegisterContacts,
    TestUserAgent,
};
use mediaplane::sip::registrar::digest::{parse_challenge, Algorithm};

const ALICE_PW: &str = "alice-secret";

fn with_users(config: &mut Config) {
    config
        .users
        .push(UserConfig::with_password("alice", ALICE_PW));
    config
        .users
        .push(UserConfig::with_password("bob", "bob-secret"));
}

async fn server() -> TestServer {
    TestServer::start(with_users).await
}

/// (URI, expires) of each Contact of a response, in order.
fn bindings(response: &ReceivedMessage) -> Vec<(String, u32)> {
    response
        .header_values("Contact")
        .map(|v| {
            let expires = header_param(v, "expires")
                .and_then(|e| e.parse().ok())
                .expect("expires on every binding");
            (header_uri(v).to_string(), expires)
        })
        .collect()
}

fn uri_of(contact: &str) -> String {
    header_uri(contact).to_string()
}

#[tokio::test]
async fn register_without_credentials_is_challenged_with_sha256_then_md5() {
    let server = server().await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let mut alice = RegisterClient::new(&ua, "alice", ALICE_PW);
    let contact = ua.register_contact("alice");
    let response = ua
        .send_register(
            &mut alice,
            &RegisterContacts::These(vec![contact]),
            Some(600),
            &RegisterAuth::None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(response.status_code(), Some(401));
    let challenges: Vec<_> = response
        .header_values("WWW-Authenticate")
        .map(|v| parse_challenge(v).unwrap())
        .collect();
    let algorithms: Vec<Algorithm> = challenges.iter().map(|c| c.algorithm).collect();
    assert_eq!(algorithms, [Algorithm::Sha256, Algorithm::Md5]);
    assert!(challenges.iter().all(|c| c.qop_auth && !c.stale));
    assert!(challenges.iter().all(|c| c.realm == "mediaplane"));
    // Nothing was bound by the unauthenticated request.
    let mut query = alice.clone();
    let listed = ua
        .register(&mut query, RegisterContacts::Query, None)
        .await
        .unwrap();
    assert_eq!(listed.status_code(), Some(200));
    assert!(bindings(&listed).is_empty());
    server.stop().await;
}

#[tokio::test]
async fn md5_and_sha256_answers_register_the_contact() {
    let server = server().await;
    for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
        let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
        let mut bob = RegisterClient::new(&ua, "bob", "bob-secret").with_algorithm(algorithm);
        let contact = ua.register_contact("bob");
        let ok = ua
            .register(
                &mut bob,
                RegisterContacts::These(vec![contact.clone()]),
                Some(600),
            )
            .await
            .unwrap();
        assert_eq!(
            ok.status_code(),
            Some(200),
            "{algorithm:?}: {}",
            ok.start_line()
        );
        assert_eq!(bob.challenge.as_ref().unwrap().algorithm, algorithm);
        let listed = bindings(&ok);
        assert_eq!(listed[0], (uri_of(&contact), 600), "{algorithm:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn expiry_is_capped_and_too_short_is_refused_with_min_expires() {
    let server = server().await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let mut alice = RegisterClient::new(&ua, "alice", ALICE_PW);
    let contact = ua.register_contact("alice");
    let short = ua
        .register(
            &mut alice,
            RegisterContacts::These(vec![contact.clone()]),
            Some(5),
        )
        .await
        .unwrap();
    assert_eq!(short.status_code(), Some(423));
    assert_eq!(short.header("Min-Expires"), Some("60"));
    let long = ua
        .register(
            &mut alice,
            RegisterContacts::These(vec![contact.clone()]),
            Some(86_400),
        )
        .await
        .unwrap();
    assert_eq!(bindings(&long), [(uri_of(&contact), 3600)]);
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_password_is_challenged_again() {
    let server = server().await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let mut mallory = RegisterClient::new(&ua, "alice", "guessed");
    let contact = ua.register_contact("alice");
    let refused = ua
        .register(
            &mut mallory,
            RegisterContacts::These(vec![contact.clone()]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(refused.status_code(), Some(401));
    // A fresh, non-stale challenge: the client is asked for the password again.
    let again = parse_challenge(refused.header("WWW-Authenticate").unwrap()).unwrap();
    assert!(!again.stale);
    // Still nothing bound; the right password then works.
    let mut alice = RegisterClient::new(&ua, "alice", ALICE_PW);
    let ok = ua
        .register(&mut alice, RegisterContacts::Query, None)
        .await
        .unwrap();
    assert_eq!(ok.status_code(), Some(200));
    assert!(bindings(&ok).is_empty());
    let metrics = server.metrics_text().await;
    assert_eq!(
        common::metric(&metrics, "mediaplane_registrar_auth_failures_total"),
        1.0
    );
    assert_eq!(
        common::metric(&metrics, "mediaplane_registrar_registers_accepted_total"),
        1.0
    );
    assert_eq!(
        common::metric(&metrics, "mediaplane_registrations_active"),
        0.0
    );
    server.stop().await;
}

#[tokio::test]
async fn a_stale_nonce_is_answered_stale_and_the_new_nonce_works() {
    let server = TestServer::start(|config| {
        with_users(config);
        config.registrar.nonce_lifetime_s = 1;
    })
    .await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let mut alice = RegisterClient::new(&ua, "alice", ALICE_PW);
    let contacts = RegisterContacts::These(vec![ua.register_contact("alice")]);
    let first = ua
        .send_register(&mut alice, &contacts, None, &RegisterAuth::None, &[])
        .await
        .unwrap();
    assert!(alice.take_challenge(&first));
    // The nonce has to age past its lifetime: real time must pass here.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stale = ua
        .send_register(&mut alice, &contacts, None, &RegisterAuth::Answer, &[])
        .await
        .unwrap();
    assert_eq!(stale.status_code(), Some(401));
    assert!(alice.take_challenge(&stale));
    assert!(alice.challenge.as_ref().unwrap().stale);
    let ok = ua
        .send_register(&mut alice, &contacts, None, &RegisterAuth::Answer, &[])
        .await
        .unwrap();
    assert_eq!(ok.status_code(), Some(200));
    server.stop().await;
}

#[tokio::test]
async fn a_replayed_nonce_count_is_refused() {
    let server = server().await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let mut alice = RegisterClient::new(&ua, "alice", ALICE_PW);
    let contacts = RegisterContacts::These(vec![ua.register_contact("alice")]);
    let ok = ua
        .register(&mut alice, contacts.clone(), None)
        .await
        .unwrap();
    assert_eq!(ok.status_code(), Some(200));
    assert_eq!(alice.nc, 1);
    // The very credentials just accepted (nonce and nc=1), in a new request.
    let replayed = alice.authorization_with(1, ALICE_PW).unwrap();
    let refused = ua
        .send_register(
            &mut alice,
            &contacts,
            None,
            &RegisterAuth::Raw(replayed),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(refused.status_code(), Some(401));
    // The next count of the same nonce is accepted.
    let next = ua
        .send_register(&mut alice, &contacts, None, &RegisterAuth::Answer, &[])
        .await
        .unwrap();
    assert_eq!(alice.nc, 2);
    assert_eq!(next.status_code(), Some(200));
    server.stop().await;
}

#[tokio::test]
async fn two_devices_are_both_listed_and_unregister_one_then_all() {
    let server = server().await;
    let desk = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let phone = TestUserAgent::connect_tcp(server.sip_tcp_addr())
        .await
        .unwrap();
    let desk_contact = desk.register_contact("alice");
    let phone_contact = phone.register_contact("alice");
    let mut desk_reg = RegisterClient::new(&desk, "alice", ALICE_PW);
    let mut phone_reg = RegisterClient::new(&phone, "alice", ALICE_PW);
    let first = desk
        .register(
            &mut desk_reg,
            RegisterContacts::These(vec![desk_contact.clone()]),
            Some(600),
        )
        .await
        .unwrap();
    assert_eq!(first.status_code(), Some(200));
    let second = phone
        .register(
            &mut phone_reg,
            RegisterContacts::These(vec![phone_contact.clone()]),
            Some(300),
        )
        .await
        .unwrap();
    let listed = bindings(&second);
    assert_eq!(listed.len(), 2, "{listed:?}");
    // Newest first; the desk's time has started to run down.
    assert_eq!(listed[0], (uri_of(&phone_contact), 300));
    assert_eq!(listed[1].0, uri_of(&desk_contact));
    assert!((599..=600).contains(&listed[1].1), "{listed:?}");

    let removed = desk
        .register(
            &mut desk_reg,
            RegisterContacts::These(vec![desk_contact]),
            Some(0),
        )
        .await
        .unwrap();
    assert_eq!(bindings(&removed), [(uri_of(&phone_contact), 300)]);

    let star = desk
        .send_register(
            &mut desk_reg,
            &RegisterContacts::All,
            None,
            &RegisterAuth::Answer,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(star.status_code(), Some(400), "* needs Expires: 0");
    let cleared = desk
        .register(&mut desk_reg, RegisterContacts::All, Some(0))
        .await
        .unwrap();
    assert_eq!(cleared.status_code(), Some(200));
    assert!(bindings(&cleared).is_empty());
    let query = phone
        .register(&mut phone_reg, RegisterContacts::Query, None)
        .await
        .unwrap();
    assert!(bindings(&query).is_empty());
    server.stop().await;
}

#[tokio::test]
async fn an_older_cseq_on_the_same_call_id_is_refused() {
    let server = server().await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let mut alice = RegisterClient::new(&ua, "alice", ALICE_PW);
    let contacts = RegisterContacts::These(vec![ua.register_contact("alice")]);
    let ok = ua
        .register(&mut alice, contacts.clone(), Some(600))
        .await
        .unwrap();
    assert_eq!(ok.status_code(), Some(200));
    alice.next_cseq -= 2;
    let old = ua
        .send_register(&mut alice, &contacts, Some(0), &RegisterAuth::Answer, &[])
        .await
        .unwrap();
    assert_eq!(old.status_code(), Some(400));
    assert!(
        old.reason_phrase().unwrap().starts_with("CSeq"),
        "{}",
        old.start_line()
    );
    alice.next_cseq += 5;
    let query = ua
        .register(&mut alice, RegisterContacts::Query, None)
        .await
        .unwrap();
    assert_eq!(bindings(&query).len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn other_users_and_malformed_credentials_get_clear_answers() {
    let server = server().await;
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let mut nobody = RegisterClient::new(&ua, "nobody", "x");
    let unknown = ua
        .register(&mut nobody, RegisterContacts::Query, None)
        .await
        .unwrap();
    // Challenged, then refused like a wrong password: no way to tell an
    // unknown name from a known one.
    assert_eq!(unknown.status_code(), Some(401));

    let mut alice = RegisterClient::new(&ua, "alice", ALICE_PW);
    let broken = RegisterAuth::Raw("Digest username=\"alice\", realm=\"mediaplane".into());
    let bad = ua
        .send_register(&mut alice, &RegisterContacts::Query, None, &broken, &[])
        .await
        .unwrap();
    assert_eq!(bad.status_code(), Some(400));
    assert_eq!(
        bad.reason_phrase(),
        Some("Malformed Authorization: unterminated quoted string")
    );

    // Bob's valid credentials do not register Alice's address.
    let mut bob = RegisterClient::new(&ua, "bob", "bob-secret");
    let first = ua
        .register(&mut bob, RegisterContacts::Query, None)
        .await
        .unwrap();
    assert_eq!(first.status_code(), Some(200));
    let as_bob = bob.authorization_with(bob.nc + 1, "bob-secret").unwrap();
    let forbidden = ua
        .send_register(
            &mut alice,
            &RegisterContacts::Query,
            None,
            &RegisterAuth::Raw(as_bob),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(forbidden.status_code(), Some(403));
    server.stop().await;
}
