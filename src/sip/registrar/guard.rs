//! Digest authentication of requests other than REGISTER (a SUBSCRIBE to
//! a mailbox), with the registrar's users, nonces and counts.

use std::time::Instant;

use rsip::{Header, Request};

use super::auth::{AuthOutcome, DigestRequest};
use super::{metrics, RegisterAnswer, Registrar};

impl Registrar {
    /// Checks that `request` carries valid credentials of `user`
    /// (RFC 3261 §22.4). `Err` is the answer to send instead: 401 with
    /// fresh challenges, 403 when someone else authenticated, 400 for
    /// malformed credentials.
    pub fn authenticate_as(
        &mut self,
        now: Instant,
        request: &Request,
        user: &str,
    ) -> Result<(), RegisterAnswer> {
        self.sweep(now);
        let authorizations: Vec<String> = request
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Authorization(a) => {
                    Some(rsip::headers::UntypedHeader::value(a).to_string())
                }
                _ => None,
            })
            .collect();
        let method = request.method.to_string();
        let digest_request = DigestRequest {
            method: &method,
            uri: &request.uri,
            authorizations: &authorizations,
        };
        match self.auth.authenticate(now, &digest_request, &self.secrets) {
            AuthOutcome::Authenticated(username) if username == user => Ok(()),
            AuthOutcome::Authenticated(_) => Err(RegisterAnswer::refuse(
                403,
                "Authenticated user does not own the mailbox",
            )),
            AuthOutcome::Challenge { stale, failure } => {
                if failure {
                    metrics::bump(&self.metrics.auth_failures);
                }
                Err(self.challenge(now, user, stale))
            }
            AuthOutcome::BadRequest(reason) => Err(RegisterAnswer::refuse(400, reason)),
        }
    }
}
