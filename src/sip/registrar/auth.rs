//! Checking a REGISTER's credentials against the configured users
//! (RFC 3261 §22.4, RFC 7616 §3.4 and §3.5, RFC 8760).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use super::digest::{self, Algorithm, Credentials};
use super::nonce::{CountCheck, NonceCounts, NonceIssuer, NonceState};

/// Nonce counts remembered at most (see [`NonceCounts`]).
const NONCE_COUNT_CAPACITY: usize = 10_000;

/// A user's HA1 per algorithm it can be checked with.
#[derive(Clone, Debug, Default)]
pub struct UserSecrets {
    pub ha1: Vec<(Algorithm, String)>,
}

impl UserSecrets {
    pub fn ha1_for(&self, algorithm: Algorithm) -> Option<&str> {
        self.ha1
            .iter()
            .find(|(a, _)| *a == algorithm)
            .map(|(_, h)| h.as_str())
    }

    /// The algorithms to challenge with, preferred first (the configured
    /// order, in which the secrets were stored).
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.ha1.iter().map(|(a, _)| *a).collect()
    }
}

/// The verdict on a request's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Verified: the digest username.
    Authenticated(String),
    /// Answer 401 with fresh challenges. `stale`: the credentials were right
    /// but the nonce too old (RFC 7616 §3.3). `failure`: they were wrong.
    Challenge { stale: bool, failure: bool },
    /// Answer 400 with this reason.
    BadRequest(String),
}

impl AuthOutcome {
    fn challenge() -> Self {
        AuthOutcome::Challenge {
            stale: false,
            failure: false,
        }
    }

    fn failure() -> Self {
        AuthOutcome::Challenge {
            stale: false,
            failure: true,
        }
    }
}

/// The request as digest sees it.
pub struct DigestRequest<'a> {
    pub method: &'a str,
    pub uri: &'a rsip::Uri,
    pub authorizations: &'a [String],
}

#[derive(Debug)]
pub struct Authenticator {
    realm: String,
    opaque: String,
    issuer: NonceIssuer,
    counts: NonceCounts,
}

impl Authenticator {
    pub fn new(realm: String, opaque: String, issuer: NonceIssuer) -> Self {
        Authenticator {
            realm,
            opaque,
            issuer,
            counts: NonceCounts::new(NONCE_COUNT_CAPACITY),
        }
    }

    /// One `WWW-Authenticate` value per algorithm, sharing a new nonce.
    pub fn challenges(&self, now: Instant, algorithms: &[Algorithm], stale: bool) -> Vec<String> {
        let nonce = self.issuer.issue(now, rand::random());
        algorithms
            .iter()
            .map(|a| digest::challenge(&self.realm, &nonce, &self.opaque, *a, stale))
            .collect()
    }

    /// Checks the credentials of `request` for our realm.
    pub fn authenticate(
        &mut self,
        now: Instant,
        request: &DigestRequest,
        users: &HashMap<String, UserSecrets>,
    ) -> AuthOutcome {
        let mut ours: Option<Credentials> = None;
        for value in request.authorizations {
            let credentials = match digest::parse_authorization(value) {
                Ok(c) => c,
                Err(e) => return AuthOutcome::BadRequest(e.to_string()),
            };
            // RFC 3261 §22.4: credentials for other realms are not ours to judge.
            if credentials.realm == self.realm && ours.is_none() {
                ours = Some(credentials);
            }
        }
        let Some(credentials) = ours else {
            return AuthOutcome::challenge();
        };
        if !same_uri(&credentials.uri, request.uri) {
            return AuthOutcome::BadRequest("Digest uri does not match the Request-URI".into());
        }
        if credentials
            .opaque
            .as_deref()
            .is_some_and(|o| o != self.opaque)
        {
            // Another process's challenge (RFC 7616 §3.3: opaque comes back unchanged).
            return AuthOutcome::challenge();
        }
        let Some(secrets) = users.get(&credentials.username) else {
            return AuthOutcome::failure();
        };
        let Some(ha1) = secrets.ha1_for(credentials.algorithm) else {
            // Not an algorithm we challenged this user with.
            return AuthOutcome::challenge();
        };
        let issued = match self.issuer.check(&credentials.nonce, now) {
            NonceState::Invalid => return AuthOutcome::challenge(),
            NonceState::Stale => None,
            NonceState::Fresh { issued } => Some(issued),
        };
        let expected = digest::expected_response(
            credentials.algorithm,
            ha1,
            &credentials.nonce,
            credentials.qop.as_ref(),
            request.method,
            &credentials.uri,
        );
        // The response is checked before the nonce count, so that a wrong
        // guess cannot use up the counts of someone else's nonce.
        if !digest::digests_match(&expected, &credentials.response) {
            return AuthOutcome::failure();
        }
        let Some(issued) = issued else {
            return AuthOutcome::Challenge {
                stale: true,
                failure: false,
            };
        };
        // Without qop there is no count: such a nonce is good for one request.
        let nc = credentials.qop.as_ref().map_or(1, |q| q.nc);
        match self
            .counts
            .accept(&credentials.nonce, issued, nc, self.oldest_live(now))
        {
            CountCheck::Accepted => AuthOutcome::Authenticated(credentials.username),
            CountCheck::Replayed => AuthOutcome::failure(),
            CountCheck::Forgotten => AuthOutcome::Challenge {
                stale: true,
                failure: false,
            },
        }
    }

    /// Forgets the counts of nonces past their lifetime.
    pub fn purge(&mut self, now: Instant) {
        let oldest = self.oldest_live(now);
        self.counts.purge(oldest);
    }

    /// The stamp below which nonces are past their lifetime.
    fn oldest_live(&self, now: Instant) -> u64 {
        let lifetime = u64::try_from(self.issuer.lifetime().as_millis()).unwrap_or(u64::MAX);
        self.issuer.stamp(now).saturating_sub(lifetime)
    }
}

/// Whether the digest `uri` names the Request-URI (RFC 7616 §3.4.6 asks
/// the server to check it). Compared as written first, then parsed, since
/// the Request-URI has been through the parser and may print differently.
fn same_uri(digest_uri: &str, request_uri: &rsip::Uri) -> bool {
    let printed = request_uri.to_string();
    if digest_uri.eq_ignore_ascii_case(&printed) {
        return true;
    }
    // The parser has been seen to panic on hostile input (see sip::message).
    catch_unwind(AssertUnwindSafe(|| rsip::Uri::try_from(digest_uri)))
        .ok()
        .and_then(Result::ok)
        .is_some_and(|parsed| &parsed == request_uri)
}
