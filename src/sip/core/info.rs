//! Key presses by SIP INFO (RFC 6086, with the `application/dtmf-relay`
//! and `application/dtmf` bodies of `crate::sip::dtmf_info`): read from
//! INFO requests in a dialog, and sent to a leg whose route asks for them.

use std::time::Instant;

use rsip::prelude::*;
use rsip::Request;

use super::{uri_host, SipCore};
use crate::media::dtmf::DtmfDigit;
use crate::media::session::SENT_KEY_DURATION;
use crate::media::SessionId;
use crate::sip::dtmf_info::{self, InfoError};
use crate::sip::transaction::TransactionKey;

impl SipCore {
    /// INFO within a dialog (RFC 6086): a key press in a DTMF body.
    pub(super) fn handle_info(&mut self, now: Instant, key: TransactionKey, request: Request) {
        let Some(id) = self.leg_for(&request) else {
            self.respond(now, &key, &request, 481, None, vec![], None);
            return;
        };
        if request.body.is_empty() {
            // RFC 6086 §4.2.1: an INFO without a body (often a keep-alive).
            self.respond(now, &key, &request, 200, None, vec![], None);
            return;
        }
        let content_type = request
            .headers
            .iter()
            .find_map(|h| match h {
                rsip::Header::ContentType(t) => Some(t.value().to_string()),
                _ => None,
            })
            .unwrap_or_default();
        match dtmf_info::parse_body(&content_type, &request.body) {
            Ok((digit, _duration)) => {
                self.respond(now, &key, &request, 200, None, vec![], None);
                self.digit_pressed(now, id, digit);
            }
            Err(e) => {
                let reason = e.to_string();
                let extra = if e == InfoError::UnsupportedContentType {
                    // RFC 3261 §21.4.13: say what we accept.
                    let accept = format!("{}, {}", dtmf_info::DTMF_RELAY, dtmf_info::DTMF);
                    vec![rsip::Header::Accept(accept.into())]
                } else {
                    vec![]
                };
                self.respond(
                    now,
                    &key,
                    &request,
                    e.status_code(),
                    Some(&reason),
                    extra,
                    None,
                );
            }
        }
    }

    /// Sends `digit` to leg `id` in an INFO request of its dialog.
    pub(super) fn send_info_digit(&mut self, now: Instant, id: SessionId, digit: DtmfDigit) {
        let Some(peer) = self.legs.get(&id).map(|l| l.dialog.peer) else {
            return;
        };
        let via_ip = self.local_ip_for(peer.addr);
        let port = self.settings.port_for(peer.transport);
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let body = dtmf_info::dtmf_relay_body(digit, SENT_KEY_DURATION.as_millis() as u32);
        leg.dialog.local_cseq += 1;
        let branch = crate::sip::ids::new_branch();
        let extra = format!("User-Agent: {}\r\n", self.settings.user_agent);
        let destination = leg.dialog.destination();
        match leg.dialog.request_with(
            "INFO",
            leg.dialog.local_cseq,
            &uri_host(via_ip),
            port,
            &branch,
            &extra,
            Some((dtmf_info::DTMF_RELAY, &body)),
        ) {
            Ok(info) => {
                if let Err(e) = self.layer.send_request(now, info, destination) {
                    tracing::warn!(error = %e, "INFO not sent");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot build INFO"),
        }
    }
}
