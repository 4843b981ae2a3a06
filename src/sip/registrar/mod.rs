//! Registrar (RFC 3261 §10): the location service that maps a user to the
//! contacts its devices registered, and the digest authentication that
//! guards it.
//!
//! Sans-IO like the core around it: [`Registrar::handle_register`] takes a
//! parsed REGISTER, where it came from and the time, and returns the
//! answer to send; nothing here reads a clock or touches a socket.

mod auth;
pub mod digest;
mod guard;
pub mod keepalive;
mod location;
mod metrics;
mod nonce;
mod params;
mod request;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsip::Request;

use crate::config::{RegistrarConfig, UserConfig};
use crate::sip::peer::Peer;
use auth::{AuthOutcome, Authenticator, DigestRequest, UserSecrets};
use digest::Algorithm;
use keepalive::KeepaliveTimer;
pub use keepalive::{Keepalive, KEEPALIVE_VALUES};
use location::{ContactChange, LocationTable, Registration, UpdateError};
pub use metrics::{RegistrarMetrics, RegistrarMetricsSnapshot};
use nonce::NonceIssuer;
use request::{RegisterRequest, RequestedContacts};

/// How often expired bindings and nonce counts are swept out, at most.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// One registered contact of a user, as a call is forked to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI the device registered (the request URI of a fork).
    pub contact: String,
    /// Where requests to this contact are sent: the REGISTER's source
    /// (received/rport) and its transport/connection, so a device behind
    /// NAT is reached through the binding it opened.
    pub destination: Peer,
}

/// The answer to a REGISTER: status, reason phrase (when the standard one
/// would not say why) and the headers to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterAnswer {
    pub code: u16,
    pub reason: Option<String>,
    pub headers: Vec<rsip::Header>,
}

impl RegisterAnswer {
    fn refuse(code: u16, reason: impl Into<String>) -> Self {
        RegisterAnswer {
            code,
            reason: Some(reason.into()),
            headers: Vec::new(),
        }
    }
}

/// A configured user.
#[derive(Debug, Clone)]
struct User {
    max_contacts: usize,
    no_answer: Option<std::time::Duration>,
    srtp: crate::config::SrtpOverrides,
}

/// The location service.
#[derive(Debug)]
pub struct Registrar {
    settings: RegistrarConfig,
    users: HashMap<String, User>,
    secrets: HashMap<String, UserSecrets>,
    auth: Authenticator,
    location: LocationTable,
    metrics: Arc<RegistrarMetrics>,
    last_sweep: Instant,
    /// When registered contacts are next pinged (NAT bindings).
    keepalive: KeepaliveTimer,
}

impl Default for Registrar {
    /// No users: every REGISTER is challenged and none gets in.
    fn default() -> Self {
        Registrar::new(&RegistrarConfig::default(), &[], Instant::now())
    }
}

impl Registrar {
    /// A registrar for `users` (already validated by the configuration).
    /// `now` starts the clock its nonces are stamped with; the nonce secret
    /// is drawn at random, so nonces do not outlive the process.
    pub fn new(settings: &RegistrarConfig, users: &[UserConfig], now: Instant) -> Self {
        let issuer = NonceIssuer::new(
            rand::random(),
            now,
            Duration::from_secs(u64::from(settings.nonce_lifetime_s.max(1))),
        );
        let opaque = hex::encode(rand::random::<[u8; 12]>());
        let mut registrar = Registrar {
            settings: settings.clone(),
            users: HashMap::new(),
            secrets: HashMap::new(),
            auth: Authenticator::new(settings.realm.clone(), opaque, issuer),
            location: LocationTable::default(),
            metrics: Arc::new(RegistrarMetrics::default()),
            last_sweep: now,
            keepalive: KeepaliveTimer::new(
                settings.keepalive,
                Duration::from_secs(u64::from(settings.keepalive_interval_s)),
                now,
            ),
        };
        for user in users {
            registrar.add_user(user);
        }
        registrar
    }

    fn add_user(&mut self, user: &UserConfig) {
        let realm = self.settings.realm.as_str();
        let mut ha1 = Vec::new();
        match &user.password {
            Some(password) => {
                for &algorithm in &self.settings.algorithms {
                    ha1.push((
                        algorithm,
                        digest::ha1(algorithm, &user.name, realm, password),
                    ));
                }
            }
            None => {
                for &algorithm in &self.settings.algorithms {
                    let given = match algorithm {
                        Algorithm::Sha256 => &user.ha1_sha256,
                        Algorithm::Md5 => &user.ha1_md5,
                    };
                    if let Some(hex) = given {
                        ha1.push((algorithm, hex.to_ascii_lowercase()));
                    }
                }
            }
        }
        let max_contacts = user
            .max_contacts
            .unwrap_or(self.settings.max_contacts)
            .max(1);
        self.users.insert(
            user.name.clone(),
            User {
                max_contacts: max_contacts as usize,
                no_answer: user
                    .no_answer_ms
                    .map(|ms| std::time::Duration::from_millis(u64::from(ms))),
                srtp: user.srtp.clone(),
            },
        );
        self.secrets.insert(user.name.clone(), UserSecrets { ha1 });
    }

    /// Whether `user` is a configured user (registered or not).
    pub fn is_user(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// How long a call to `user` may ring, when the user's entry says.
    pub fn no_answer(&self, user: &str) -> Option<std::time::Duration> {
        self.users.get(user).and_then(|u| u.no_answer)
    }

    /// The SRTP keys of `user`'s entry (empty for an unknown user).
    pub fn srtp(&self, user: &str) -> crate::config::SrtpOverrides {
        self.users
            .get(user)
            .map(|u| u.srtp.clone())
            .unwrap_or_default()
    }

    /// The live bindings of `user` at `now`, most recently registered first.
    pub fn lookup(&self, user: &str, now: Instant) -> Vec<Binding> {
        self.location
            .bindings(user, now)
            .into_iter()
            .map(|b| Binding {
                contact: b.contact.clone(),
                destination: b.destination,
            })
            .collect()
    }

    pub fn metrics(&self) -> Arc<RegistrarMetrics> {
        self.metrics.clone()
    }

    /// Answers a REGISTER that came from `source` (RFC 3261 §10.3).
    pub fn handle_register(
        &mut self,
        now: Instant,
        request: &Request,
        source: Peer,
    ) -> RegisterAnswer {
        self.sweep(now);
        let register = match RegisterRequest::parse(request) {
            Ok(r) => r,
            Err(e) => return RegisterAnswer::refuse(400, e.to_string()),
        };
        // §10.3 step 5 would answer 404 for an address of record we do not
        // serve, but that tells a prober which names exist: an unknown user
        // is challenged like a known one, and no credentials get it in.
        let Some(user) = self.users.get(&register.user).cloned() else {
            if !register.authorizations.is_empty() {
                metrics::bump(&self.metrics.auth_failures);
            }
            return self.challenge(now, &register.user, false);
        };
        let method = request.method.to_string();
        let digest_request = DigestRequest {
            method: &method,
            uri: &request.uri,
            authorizations: &register.authorizations,
        };
        // §10.3 step 3 and §22.4.
        match self.auth.authenticate(now, &digest_request, &self.secrets) {
            AuthOutcome::Authenticated(username) if username == register.user => {}
            // §10.3 step 4: authenticated, but not as the owner of this record.
            AuthOutcome::Authenticated(_) => {
                return RegisterAnswer::refuse(403, "Authenticated user does not match To")
            }
            AuthOutcome::Challenge { stale, failure } => {
                if failure {
                    metrics::bump(&self.metrics.auth_failures);
                }
                return self.challenge(now, &register.user, stale);
            }
            AuthOutcome::BadRequest(reason) => return RegisterAnswer::refuse(400, reason),
        }
        let change = match self.contact_change(&register) {
            Ok(change) => change,
            Err(answer) => return answer,
        };
        let registration = Registration {
            call_id: &register.call_id,
            cseq: register.cseq,
            source,
        };
        let applied = self.location.apply(
            &register.user,
            &change,
            &registration,
            user.max_contacts,
            now,
        );
        metrics::set(&self.metrics.registrations_active, self.location.len());
        match applied {
            Ok(()) => {}
            Err(e @ UpdateError::OutOfOrder { .. }) => {
                return RegisterAnswer::refuse(400, e.to_string())
            }
            Err(e @ UpdateError::TooMany { .. }) => {
                return RegisterAnswer::refuse(403, e.to_string())
            }
        }
        metrics::bump(&self.metrics.registers_accepted);
        // §10.3 step 8: the 200 lists every current binding.
        let headers = self
            .location
            .bindings(&register.user, now)
            .into_iter()
            .map(|b| {
                let left = b.expires_at.saturating_duration_since(now);
                let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                rsip::Header::Contact(format!("<{}>;expires={seconds}", b.contact).into())
            })
            .collect();
        RegisterAnswer {
            code: 200,
            reason: None,
            headers,
        }
    }

    /// 401 with one challenge per algorithm `user` can be checked with.
    fn challenge(&self, now: Instant, user: &str, stale: bool) -> RegisterAnswer {
        metrics::bump(&self.metrics.challenges);
        let algorithms = self
            .secrets
            .get(user)
            .map(UserSecrets::algorithms)
            .unwrap_or_else(|| self.settings.algorithms.clone());
        let headers = self
            .auth
            .challenges(now, &algorithms, stale)
            .into_iter()
            .map(|value| rsip::Header::WwwAuthenticate(value.into()))
            .collect();
        RegisterAnswer {
            code: 401,
            reason: None,
            headers,
        }
    }

    /// The expiry granted to each contact (§10.3 step 7): its own
    /// `expires`, else the Expires header, else the default; below the
    /// minimum is refused with 423, above the maximum is shortened.
    fn contact_change(&self, register: &RegisterRequest) -> Result<ContactChange, RegisterAnswer> {
        let list = match &register.contacts {
            RequestedContacts::None => return Ok(ContactChange::Query),
            RequestedContacts::Wildcard => return Ok(ContactChange::RemoveAll),
            RequestedContacts::List(list) => list,
        };
        let s = &self.settings;
        let mut granted = Vec::with_capacity(list.len());
        for contact in list {
            let asked = contact
                .expires
                .or(register.expires)
                .unwrap_or(u64::from(s.default_expires_s));
            if asked != 0 && asked < u64::from(s.min_expires_s) {
                let min = rsip::Header::MinExpires(s.min_expires_s.to_string().into());
                return Err(RegisterAnswer {
                    code: 423,
                    reason: None,
                    headers: vec![min],
                });
            }
            let capped = asked.min(u64::from(s.max_expires_s));
            granted.push((
                contact.uri.clone(),
                u32::try_from(capped).unwrap_or(u32::MAX),
            ));
        }
        Ok(ContactChange::Set(granted))
    }

    /// Drops expired bindings and nonce counts, at most once a minute, so
    /// that devices that went away leave nothing behind.
    fn sweep(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_sweep) < SWEEP_INTERVAL {
            return;
        }
        self.last_sweep = now;
        self.location.purge(now);
        self.auth.purge(now);
        metrics::set(&self.metrics.registrations_active, self.location.len());
    }

    /// When the next keep-alive round is due, if pings are on.
    pub fn poll_keepalive(&self) -> Option<Instant> {
        self.keepalive.poll_timeout()
    }

    /// The registered contacts to ping now, and how; empty when no round
    /// is due.
    pub fn keepalives_due(&mut self, now: Instant) -> (Keepalive, Vec<(Peer, String)>) {
        if !self.keepalive.due(now) {
            return (self.keepalive.kind(), Vec::new());
        }
        (
            self.keepalive.kind(),
            keepalive::destinations(self.location.destinations(now)),
        )
    }

    /// Sweeps now if due; for callers that have a timer tick to spare.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.sweep(now);
    }
}
