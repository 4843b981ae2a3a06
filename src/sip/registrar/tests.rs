//! REGISTER handling driven without sockets or clocks: requests in, answers
//! out, time given.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsip::headers::UntypedHeader;

use super::digest::{self, parse_challenge, Algorithm, Challenge, QopAuth};
use super::*;
use crate::sip::peer::Transport;

const URI: &str = "sip:registrar.example";

fn settings() -> RegistrarConfig {
    RegistrarConfig {
        nonce_lifetime_s: 30,
        ..RegistrarConfig::default()
    }
}

fn registrar(t0: Instant) -> Registrar {
    let mut carol = UserConfig::with_password("carol", "unused");
    carol.password = None;
    carol.ha1_md5 = Some(digest::ha1(Algorithm::Md5, "carol", "mediaplane", "c-pw").to_uppercase());
    let mut bob = UserConfig::with_password("bob", "b-pw");
    bob.max_contacts = Some(1);
    Registrar::new(
        &settings(),
        &[UserConfig::with_password("alice", "a-pw"), bob, carol],
        t0,
    )
}

fn nat_peer() -> Peer {
    Peer {
        transport: Transport::Tcp,
        addr: "203.0.113.7:40111".parse().unwrap(),
        connection: 17,
    }
}

/// A REGISTER for `user` with extra header lines.
fn register(user: &str, call_id: &str, cseq: u32, headers: &str) -> Request {
    let text = format!(
        "REGISTER {URI} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK{cseq}{call_id}\r\n\
         From: <sip:{user}@registrar.example>;tag=1\r\n\
         To: <sip:{user}@registrar.example>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         {headers}Content-Length: 0\r\n\r\n"
    );
    Request::try_from(text.as_str()).unwrap()
}

fn header_values(answer: &RegisterAnswer, name: &str) -> Vec<String> {
    answer
        .headers
        .iter()
        .filter_map(|h| match (h, name) {
            (rsip::Header::WwwAuthenticate(v), "WWW-Authenticate") => Some(v.value().to_string()),
            (rsip::Header::Contact(v), "Contact") => Some(v.value().to_string()),
            (rsip::Header::MinExpires(v), "Min-Expires") => Some(v.value().to_string()),
            _ => None,
        })
        .collect()
}

fn challenges(answer: &RegisterAnswer) -> Vec<Challenge> {
    assert_eq!(answer.code, 401, "{answer:?}");
    header_values(answer, "WWW-Authenticate")
        .iter()
        .map(|v| parse_challenge(v).unwrap())
        .collect()
}

/// The Authorization line a client with `password` answers `challenge` with.
fn authorization(user: &str, password: &str, challenge: &Challenge, nc: u32) -> String {
    let ha1 = digest::ha1(challenge.algorithm, user, &challenge.realm, password);
    let qop = QopAuth {
        nc_text: format!("{nc:08x}"),
        nc,
        cnonce: "0a4f113b".into(),
    };
    let response = digest::expected_response(
        challenge.algorithm,
        &ha1,
        &challenge.nonce,
        Some(&qop),
        "REGISTER",
        URI,
    );
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{URI}\", \
         response=\"{response}\", algorithm={}, qop=auth, nc={}, cnonce=\"{}\", opaque=\"{}\"\r\n",
        challenge.realm,
        challenge.nonce,
        challenge.algorithm.token(),
        qop.nc_text,
        qop.cnonce,
        challenge.opaque.as_deref().unwrap_or_default(),
    )
}

/// First challenge of the given algorithm for `user`.
fn challenge_for(r: &mut Registrar, user: &str, algorithm: Algorithm, now: Instant) -> Challenge {
    let answer = r.handle_register(now, &register(user, "probe", 1, ""), nat_peer());
    challenges(&answer)
        .into_iter()
        .find(|c| c.algorithm == algorithm)
        .unwrap()
}

#[test]
fn no_credentials_get_a_challenge_per_algorithm_sha256_first() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let answer = r.handle_register(t0, &register("alice", "c1", 1, ""), nat_peer());
    let offered = challenges(&answer);
    let algorithms: Vec<Algorithm> = offered.iter().map(|c| c.algorithm).collect();
    assert_eq!(algorithms, [Algorithm::Sha256, Algorithm::Md5]);
    assert!(offered
        .iter()
        .all(|c| c.qop_auth && !c.stale && c.opaque.is_some()));
    assert_eq!(offered[0].realm, "mediaplane");
    // A user known only by an MD5 HA1 is offered MD5 only.
    let carol = r.handle_register(t0, &register("carol", "c2", 1, ""), nat_peer());
    let algorithms: Vec<Algorithm> = challenges(&carol).iter().map(|c| c.algorithm).collect();
    assert_eq!(algorithms, [Algorithm::Md5]);
    assert_eq!(r.metrics().snapshot().challenges, 2);
    assert_eq!(r.metrics().snapshot().auth_failures, 0);
}

#[test]
fn the_configured_algorithms_set_the_challenges_and_their_order() {
    let t0 = Instant::now();
    for (configured, offered) in [
        (
            vec![Algorithm::Md5, Algorithm::Sha256],
            vec![Algorithm::Md5, Algorithm::Sha256],
        ),
        (vec![Algorithm::Md5], vec![Algorithm::Md5]),
    ] {
        let settings = RegistrarConfig {
            algorithms: configured,
            ..settings()
        };
        let mut r = Registrar::new(&settings, &[UserConfig::with_password("alice", "a-pw")], t0);
        let answer = r.handle_register(t0, &register("alice", "c1", 1, ""), nat_peer());
        let algorithms: Vec<Algorithm> = challenges(&answer).iter().map(|c| c.algorithm).collect();
        assert_eq!(algorithms, offered);
    }
}

#[test]
fn correct_credentials_bind_the_contact_to_the_source() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    for (algorithm, user, password) in [
        (Algorithm::Sha256, "alice", "a-pw"),
        (Algorithm::Md5, "carol", "c-pw"),
    ] {
        let c = challenge_for(&mut r, user, algorithm, t0);
        let headers = format!(
            "{}Contact: <sip:{user}@192.168.1.20:5062>\r\nExpires: 7200\r\n",
            authorization(user, password, &c, 1)
        );
        let answer = r.handle_register(t0, &register(user, "c1", 2, &headers), nat_peer());
        assert_eq!(answer.code, 200, "{answer:?}");
        // Capped at max_expires_s.
        assert_eq!(
            header_values(&answer, "Contact"),
            [format!("<sip:{user}@192.168.1.20:5062>;expires=3600")]
        );
        // The private Contact is kept for the request URI; requests go to
        // where the REGISTER came from, over the same connection.
        assert_eq!(
            r.lookup(user, t0 + Duration::from_secs(10)),
            [Binding {
                contact: format!("sip:{user}@192.168.1.20:5062"),
                destination: nat_peer(),
            }]
        );
        assert!(r.lookup(user, t0 + Duration::from_secs(3600)).is_empty());
    }
    assert!(r.is_user("alice") && !r.is_user("mallory"));
    let m = r.metrics().snapshot();
    assert_eq!((m.registers_accepted, m.registrations_active), (2, 2));
}

#[test]
fn wrong_password_is_challenged_again_and_counted() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let c = challenge_for(&mut r, "alice", Algorithm::Md5, t0);
    let headers = format!(
        "{}Contact: <sip:alice@h>\r\n",
        authorization("alice", "guess", &c, 1)
    );
    let answer = r.handle_register(t0, &register("alice", "c1", 2, &headers), nat_peer());
    let again = challenges(&answer);
    assert!(!again[0].stale);
    assert_ne!(again[0].nonce, c.nonce);
    assert_eq!(r.metrics().snapshot().auth_failures, 1);
    assert!(r.lookup("alice", t0).is_empty());
    // A username that does not exist fails the same way.
    let headers = authorization("mallory", "x", &c, 1);
    let answer = r.handle_register(t0, &register("alice", "c1", 3, &headers), nat_peer());
    assert_eq!(answer.code, 401);
    assert_eq!(r.metrics().snapshot().auth_failures, 2);
}

#[test]
fn a_stale_nonce_gets_stale_true_and_the_new_nonce_works() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let c = challenge_for(&mut r, "alice", Algorithm::Sha256, t0);
    let later = t0 + Duration::from_secs(31);
    let headers = format!(
        "{}Contact: <sip:alice@h>\r\n",
        authorization("alice", "a-pw", &c, 1)
    );
    let answer = r.handle_register(later, &register("alice", "c1", 2, &headers), nat_peer());
    let fresh = challenges(&answer);
    assert!(fresh.iter().all(|c| c.stale), "{fresh:?}");
    assert_eq!(r.metrics().snapshot().auth_failures, 0);
    // A stale nonce with a wrong password is a failure, not stale.
    let wrong = authorization("alice", "guess", &c, 2);
    let answer = r.handle_register(later, &register("alice", "c1", 3, &wrong), nat_peer());
    assert!(challenges(&answer).iter().all(|c| !c.stale));
    let retry = format!(
        "{}Contact: <sip:alice@h>\r\n",
        authorization("alice", "a-pw", &fresh[0], 1)
    );
    let answer = r.handle_register(later, &register("alice", "c1", 4, &retry), nat_peer());
    assert_eq!(answer.code, 200, "{answer:?}");
}

#[test]
fn a_replayed_nonce_count_is_refused() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let c = challenge_for(&mut r, "alice", Algorithm::Sha256, t0);
    let first = format!(
        "{}Contact: <sip:alice@h>\r\n",
        authorization("alice", "a-pw", &c, 1)
    );
    let ok = r.handle_register(t0, &register("alice", "c1", 2, &first), nat_peer());
    assert_eq!(ok.code, 200);
    // The same request again (a new transaction: another CSeq and branch).
    let replay = r.handle_register(t0, &register("alice", "c1", 3, &first), nat_peer());
    assert_eq!(replay.code, 401);
    assert_eq!(r.metrics().snapshot().auth_failures, 1);
    // The next count of the same nonce is fine.
    let next = format!(
        "{}Contact: <sip:alice@h>\r\n",
        authorization("alice", "a-pw", &c, 2)
    );
    let ok = r.handle_register(t0, &register("alice", "c1", 4, &next), nat_peer());
    assert_eq!(ok.code, 200);
}

#[test]
fn refusals_say_why() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let c = challenge_for(&mut r, "alice", Algorithm::Md5, t0);
    let mut nc = 0;
    let mut send = |r: &mut Registrar, user: &str, extra: &str| {
        nc += 1;
        let headers = format!("{}{extra}", authorization("alice", "a-pw", &c, nc));
        r.handle_register(t0, &register(user, "c1", nc + 1, &headers), nat_peer())
    };
    let answer = send(&mut r, "bob", "Contact: <sip:bob@h>\r\n");
    assert_eq!(
        (answer.code, answer.reason.as_deref()),
        (403, Some("Authenticated user does not match To"))
    );
    let answer = send(&mut r, "alice", "Contact: <sip:alice@h>;expires=10\r\n");
    assert_eq!(answer.code, 423);
    assert_eq!(header_values(&answer, "Min-Expires"), ["60"]);
    let answer = send(&mut r, "alice", "Contact: *\r\n");
    assert_eq!(answer.code, 400);
    assert_eq!(
        answer.reason.as_deref(),
        Some("Contact * must be alone and with Expires: 0")
    );
    // An unknown user is challenged like a known one: names cannot be probed.
    let answer = send(&mut r, "mallory", "");
    assert_eq!(answer.code, 401);
    let offered: Vec<Algorithm> = challenges(&answer).iter().map(|c| c.algorithm).collect();
    assert_eq!(offered, [Algorithm::Sha256, Algorithm::Md5]);
    let bad = register(
        "alice",
        "c1",
        50,
        "Authorization: Digest username=\"alice\"\r\n",
    );
    let answer = r.handle_register(t0, &bad, nat_peer());
    assert_eq!(
        (answer.code, answer.reason.as_deref()),
        (400, Some("Authorization lacks response"))
    );
    let other_uri = authorization("alice", "a-pw", &c, 90).replace(URI, "sip:elsewhere.example");
    let answer = r.handle_register(t0, &register("alice", "c1", 51, &other_uri), nat_peer());
    assert_eq!(
        (answer.code, answer.reason.as_deref()),
        (400, Some("Digest uri does not match the Request-URI"))
    );
}

#[test]
fn query_refresh_order_and_unregister() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let c = challenge_for(&mut r, "alice", Algorithm::Sha256, t0);
    let mut nc = 0;
    let mut send = |r: &mut Registrar, call_id: &str, cseq: u32, extra: &str, at: u64| {
        nc += 1;
        let headers = format!("{}{extra}", authorization("alice", "a-pw", &c, nc));
        let source = Peer::udp(SocketAddr::from(([198, 51, 100, 1], 5000 + at as u16)));
        r.handle_register(
            t0 + Duration::from_secs(at),
            &register("alice", call_id, cseq, &headers),
            source,
        )
    };
    let a = send(
        &mut r,
        "dev-a",
        2,
        "Contact: <sip:alice@a>;expires=600\r\n",
        0,
    );
    assert_eq!(a.code, 200);
    let b = send(
        &mut r,
        "dev-b",
        2,
        "Contact: <sip:alice@b>\r\nExpires: 300\r\n",
        10,
    );
    // Both listed, the newest first, with what is left of each.
    assert_eq!(
        header_values(&b, "Contact"),
        ["<sip:alice@b>;expires=300", "<sip:alice@a>;expires=590"]
    );
    let query = send(&mut r, "dev-c", 1, "", 20);
    assert_eq!(
        header_values(&query, "Contact"),
        ["<sip:alice@b>;expires=290", "<sip:alice@a>;expires=580"]
    );
    // An older CSeq of dev-a's Call-ID changes nothing.
    let old = send(
        &mut r,
        "dev-a",
        1,
        "Contact: <sip:alice@a>;expires=0\r\n",
        20,
    );
    assert_eq!(old.code, 400);
    assert!(old.reason.unwrap().starts_with("CSeq 1 is not above 2"));
    assert_eq!(r.lookup("alice", t0).len(), 2);
    let lookup = r.lookup("alice", t0 + Duration::from_secs(20));
    assert_eq!(lookup[0].destination.addr.port(), 5010);
    assert_eq!(lookup[1].destination.addr.port(), 5000);
    // Expires: 0 removes one; `*` removes the rest (within the nonce's 30 s).
    let gone = send(
        &mut r,
        "dev-a",
        3,
        "Contact: <sip:alice@a>\r\nExpires: 0\r\n",
        25,
    );
    assert_eq!(
        header_values(&gone, "Contact"),
        ["<sip:alice@b>;expires=285"]
    );
    let all = send(&mut r, "dev-a", 4, "Contact: *\r\nExpires: 0\r\n", 28);
    assert_eq!(all.code, 200);
    assert!(header_values(&all, "Contact").is_empty());
    assert!(r.lookup("alice", t0 + Duration::from_secs(28)).is_empty());
    assert_eq!(r.metrics().snapshot().registrations_active, 0);
}

#[test]
fn the_contact_cap_of_a_user_applies() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let c = challenge_for(&mut r, "bob", Algorithm::Sha256, t0);
    let one = format!(
        "{}Contact: <sip:bob@a>\r\n",
        authorization("bob", "b-pw", &c, 1)
    );
    assert_eq!(
        r.handle_register(t0, &register("bob", "c1", 2, &one), nat_peer())
            .code,
        200
    );
    let two = format!(
        "{}Contact: <sip:bob@b>\r\n",
        authorization("bob", "b-pw", &c, 2)
    );
    let answer = r.handle_register(t0, &register("bob", "c2", 2, &two), nat_peer());
    assert_eq!(
        (answer.code, answer.reason.as_deref()),
        (403, Some("Too many contacts (at most 1)"))
    );
}

#[test]
fn expired_bindings_are_swept_without_a_register_for_their_user() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let c = challenge_for(&mut r, "alice", Algorithm::Sha256, t0);
    let headers = format!(
        "{}Contact: <sip:alice@a>;expires=60\r\n",
        authorization("alice", "a-pw", &c, 1)
    );
    assert_eq!(
        r.handle_register(t0, &register("alice", "c1", 2, &headers), nat_peer())
            .code,
        200
    );
    assert_eq!(r.location.len(), 1);
    r.handle_timeout(t0 + Duration::from_secs(61));
    assert_eq!(r.location.len(), 0);
    assert_eq!(r.metrics().snapshot().registrations_active, 0);
}
