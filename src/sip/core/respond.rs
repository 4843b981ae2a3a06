//! Answering a request: our Server header, a To tag, and the count of
//! responses sent by status class.

use std::time::Instant;

use rsip::Request;

use super::{metrics, SipCore};
use crate::sip::response::build_response;
use crate::sip::transaction::TransactionKey;

impl SipCore {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn respond(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        request: &Request,
        code: u16,
        reason: Option<&str>,
        mut extra: Vec<rsip::Header>,
        to_tag: Option<&str>,
    ) {
        extra.push(rsip::Header::Server(
            self.settings.user_agent.clone().into(),
        ));
        let generated;
        let tag = match to_tag {
            Some(t) => Some(t),
            None => {
                generated = crate::sip::ids::new_tag();
                Some(generated.as_str())
            }
        };
        let response = build_response(request, code, reason, tag, extra, None);
        if let Err(e) = self.layer.send_response(now, key, response) {
            tracing::debug!(error = %e, code, "response not sent");
        }
        metrics::count_response(&self.metrics, code);
    }

    /// Sends what the registrar (or its digest check) answered.
    pub(super) fn respond_registrar(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        request: &Request,
        answer: crate::sip::registrar::RegisterAnswer,
    ) {
        let reason = answer.reason.as_deref();
        self.respond(now, key, request, answer.code, reason, answer.headers, None);
    }
}
