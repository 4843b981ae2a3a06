//! REGISTER from the test user agent (RFC 3261 §10.2): one Call-ID per
//! registration with increasing CSeq, and the answer to a digest challenge
//! (RFC 7616 §3.4, RFC 8760 algorithms). Tests can also send credentials
//! of their own making, to check how the server refuses them.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::message::ReceivedMessage;
use super::request::{contact_uri, new_branch, new_call_id, new_tag, OutgoingRequest};
use super::shared::{CallCounters, CallEntry};
use super::{check_target, host_of, Registration, TestUserAgent, UaError, EVENT_QUEUE};
use crate::sip::registrar::digest::{self, Algorithm, Challenge, QopAuth};

/// How long a REGISTER waits for its final response by default.
pub const REGISTER_TIMEOUT: Duration = Duration::from_secs(5);

/// A user's registration state: its Call-ID and next CSeq, and the last
/// challenge with the nonce count used with it.
#[derive(Clone, Debug)]
pub struct RegisterClient {
    pub username: String,
    pub password: String,
    /// `sip:HOST:PORT` of the registrar: Request-URI and digest uri.
    pub registrar_uri: String,
    /// Which offered algorithm to answer with; `None` takes the first offered.
    pub algorithm: Option<Algorithm>,
    pub call_id: String,
    pub next_cseq: u32,
    /// The challenge being answered, and the last nonce count used with it.
    pub challenge: Option<Challenge>,
    pub nc: u32,
    pub timeout: Duration,
}

/// What a REGISTER asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterContacts {
    /// No Contact: a query of the current bindings.
    Query,
    /// `Contact: *` (sent with `Expires: 0`).
    All,
    /// These Contact values, as written (e.g. `<sip:a@h>;expires=60`).
    These(Vec<String>),
}

/// The Authorization a REGISTER carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterAuth {
    None,
    /// Answer the stored challenge with the next nonce count.
    Answer,
    /// This header value, as is.
    Raw(String),
}

impl RegisterClient {
    pub fn new(
        ua: &TestUserAgent,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> RegisterClient {
        RegisterClient {
            username: username.into(),
            password: password.into(),
            registrar_uri: format!("sip:{}", ua.server_addr()),
            algorithm: None,
            call_id: new_call_id(ua.local_addr().ip()),
            next_cseq: 1,
            challenge: None,
            nc: 0,
            timeout: REGISTER_TIMEOUT,
        }
    }

    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Keeps the challenge of a 401 that offers our algorithm (the first
    /// offered when none is chosen). Returns whether one was found.
    pub fn take_challenge(&mut self, response: &ReceivedMessage) -> bool {
        let found = response
            .header_values("WWW-Authenticate")
            .filter_map(|v| digest::parse_challenge(v).ok())
            .find(|c| self.algorithm.is_none_or(|a| a == c.algorithm));
        if let Some(challenge) = found {
            self.challenge = Some(challenge);
            self.nc = 0;
            return true;
        }
        false
    }

    /// The Authorization value answering the stored challenge with nonce
    /// count `nc`, or `None` without a challenge.
    pub fn authorization_with(&self, nc: u32, password: &str) -> Option<String> {
        let challenge = self.challenge.as_ref()?;
        let algorithm = challenge.algorithm;
        let ha1 = digest::ha1(algorithm, &self.username, &challenge.realm, password);
        let uri = &self.registrar_uri;
        let qop = QopAuth {
            nc_text: format!("{nc:08x}"),
            nc,
            cnonce: format!("{:016x}", rand::random::<u64>()),
        };
        let qop = challenge.qop_auth.then_some(qop);
        let response = digest::expected_response(
            algorithm,
            &ha1,
            &challenge.nonce,
            qop.as_ref(),
            "REGISTER",
            uri,
        );
        let mut value = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{response}\", algorithm={}",
            self.username,
            challenge.realm,
            challenge.nonce,
            algorithm.token()
        );
        if let Some(q) = &qop {
            value.push_str(&format!(
                ", qop=auth, nc={}, cnonce=\"{}\"",
                q.nc_text, q.cnonce
            ));
        }
        if let Some(opaque) = &challenge.opaque {
            value.push_str(&format!(", opaque=\"{opaque}\""));
        }
        Some(value)
    }
}

impl TestUserAgent {
    /// The Contact URI a registering user at this agent would give.
    pub fn register_contact(&self, username: &str) -> String {
        format!(
            "<{}>",
            contact_uri(username, self.transport(), self.local_addr())
        )
    }

    /// Registers this agent's contact for `expires` seconds, answering a
    /// challenge (and a stale one) with the client's password. Returns the
    /// final response: 200, or the refusal.
    pub async fn register(
        &self,
        client: &mut RegisterClient,
        contacts: RegisterContacts,
        expires: Option<u32>,
    ) -> Result<ReceivedMessage, UaError> {
        let mut auth = if client.challenge.is_some() {
            RegisterAuth::Answer
        } else {
            RegisterAuth::None
        };
        // No credentials, then a stale nonce, then the answer: three at most.
        for _ in 0..3 {
            let response = self
                .send_register(client, &contacts, expires, &auth, &[])
                .await?;
            if response.status_code() != Some(401) || !client.take_challenge(&response) {
                return Ok(response);
            }
            let stale = client.challenge.as_ref().is_some_and(|c| c.stale);
            if auth == RegisterAuth::Answer && !stale {
                // Our answer was refused as such: the password is wrong.
                return Ok(response);
            }
            auth = RegisterAuth::Answer;
        }
        Err(UaError::Timeout("a REGISTER that is not challenged again"))
    }

    /// Sends one REGISTER of `client` (next CSeq, same Call-ID) and waits
    /// for its final response, without answering it.
    pub async fn send_register(
        &self,
        client: &mut RegisterClient,
        contacts: &RegisterContacts,
        expires: Option<u32>,
        auth: &RegisterAuth,
        extra_headers: &[String],
    ) -> Result<ReceivedMessage, UaError> {
        check_target(&client.registrar_uri)?;
        if self.shared.is_closed() {
            return Err(UaError::Closed);
        }
        let mut headers: Vec<String> = Vec::new();
        match contacts {
            RegisterContacts::Query => {}
            RegisterContacts::All => headers.push("Contact: *".into()),
            RegisterContacts::These(list) => {
                headers.extend(list.iter().map(|c| format!("Contact: {c}")))
            }
        }
        if let Some(expires) = expires {
            headers.push(format!("Expires: {expires}"));
        }
        match auth {
            RegisterAuth::None => {}
            RegisterAuth::Answer => {
                client.nc += 1;
                let value = client
                    .authorization_with(client.nc, &client.password)
                    .ok_or(UaError::InvalidState("REGISTER answer without a challenge"))?;
                headers.push(format!("Authorization: {value}"));
            }
            RegisterAuth::Raw(value) => headers.push(format!("Authorization: {value}")),
        }
        headers.extend(extra_headers.iter().cloned());
        let cseq = client.next_cseq;
        client.next_cseq += 1;
        let aor = format!("<sip:{}@{}>", client.username, host_of(self.server_addr()));
        let from = format!("{aor};tag={}", new_tag());
        let via = self.via_value(&new_branch());
        let text = OutgoingRequest {
            method: "REGISTER",
            request_uri: &client.registrar_uri,
            via: &via,
            from: &from,
            to: &aor,
            call_id: &client.call_id,
            cseq,
            contact: None,
            routes: &[],
            extra_headers: &headers,
            body: None,
        }
        .render();
        let (events_tx, mut events_rx) = mpsc::channel(EVENT_QUEUE);
        self.shared.register(
            &client.call_id,
            CallEntry {
                events: events_tx,
                invite: None,
                retransmissions: Vec::new(),
                counters: CallCounters::new(),
            },
        );
        let _registration = Registration {
            shared: &self.shared,
            call_id: &client.call_id,
        };
        self.shared
            .send_request(&client.call_id, cseq, "REGISTER", Bytes::from(text))
            .await?;
        let deadline = Instant::now() + client.timeout;
        loop {
            match tokio::time::timeout_at(deadline, events_rx.recv()).await {
                Ok(Some(m))
                    if m.is_final_response_to("REGISTER")
                        && m.cseq().is_some_and(|(n, _)| n == cseq) =>
                {
                    return Ok(m)
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err(UaError::Closed),
                Err(_) => return Err(UaError::Timeout("a final response to REGISTER")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(challenge: Challenge) -> RegisterClient {
        RegisterClient {
            username: "alice".into(),
            password: "pw".into(),
            registrar_uri: "sip:127.0.0.1:5060".into(),
            algorithm: None,
            call_id: "c1".into(),
            next_cseq: 1,
            challenge: Some(challenge),
            nc: 0,
            timeout: REGISTER_TIMEOUT,
        }
    }

    #[test]
    fn the_answer_is_what_the_registrar_verifies() {
        let challenge = Challenge {
            realm: "mediaplane".into(),
            nonce: "n0".into(),
            opaque: Some("op".into()),
            algorithm: Algorithm::Sha256,
            qop_auth: true,
            stale: false,
        };
        let value = client(challenge).authorization_with(3, "pw").unwrap();
        let parsed = digest::parse_authorization(&value).unwrap();
        assert_eq!(parsed.algorithm, Algorithm::Sha256);
        assert_eq!(parsed.opaque.as_deref(), Some("op"));
        let qop = parsed.qop.clone().unwrap();
        assert_eq!((qop.nc, qop.nc_text.as_str()), (3, "00000003"));
        let ha1 = digest::ha1(Algorithm::Sha256, "alice", "mediaplane", "pw");
        let expected = digest::expected_response(
            Algorithm::Sha256,
            &ha1,
            "n0",
            Some(&qop),
            "REGISTER",
            "sip:127.0.0.1:5060",
        );
        assert_eq!(parsed.response, expected);
    }

    #[test]
    fn a_challenge_without_qop_gets_the_rfc2069_answer() {
        let challenge = Challenge {
            realm: "r".into(),
            nonce: "n".into(),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop_auth: false,
            stale: false,
        };
        let value = client(challenge).authorization_with(1, "pw").unwrap();
        let parsed = digest::parse_authorization(&value).unwrap();
        assert_eq!(parsed.qop, None);
        assert_eq!(parsed.opaque, None);
        assert!(!value.contains("nc="));
    }
}
