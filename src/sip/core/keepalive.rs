//! Pinging registered contacts so their NAT bindings stay open (see
//! `crate::sip::registrar::keepalive`).

use std::time::Instant;

use bytes::Bytes;

use super::SipCore;
use crate::sip::registrar::Keepalive;

/// RFC 5626 §3.5.1: the keep-alive ping.
const CRLF_PING: &[u8] = b"\r\n\r\n";

impl SipCore {
    /// Sends a round of keep-alives when one is due.
    pub(super) fn run_keepalives(&mut self, now: Instant) {
        let (kind, destinations) = self.registrar.keepalives_due(now);
        for (destination, contact) in destinations {
            match kind {
                Keepalive::Off => {}
                Keepalive::Crlf => {
                    self.transmit
                        .push_back((destination, Bytes::from_static(CRLF_PING)));
                }
                Keepalive::Options => {
                    let ip = self.local_ip_for(destination.addr);
                    let host = super::uri_host(ip);
                    let text = format!(
                        "OPTIONS {contact} SIP/2.0\r\n\
                         Via: SIP/2.0/{transport} {host}:{port};branch={branch};rport\r\n\
                         Max-Forwards: 70\r\n\
                         From: <sip:keepalive@{host}>;tag={tag}\r\n\
                         To: <{contact}>\r\n\
                         Call-ID: {call_id}\r\n\
                         CSeq: 1 OPTIONS\r\n\
                         Content-Length: 0\r\n\r\n",
                        transport = destination.transport.via_token(),
                        port = self.settings.port_for(destination.transport),
                        branch = crate::sip::ids::new_branch(),
                        tag = crate::sip::ids::new_tag(),
                        call_id = crate::sip::ids::new_call_id(),
                    );
                    match rsip::Request::try_from(text.as_str()) {
                        Ok(request) => {
                            if let Err(e) = self.layer.send_request(now, request, destination) {
                                tracing::debug!(error = %e, "keep-alive OPTIONS not sent");
                            }
                        }
                        Err(e) => {
                            tracing::debug!(%contact, error = %e, "cannot build keep-alive OPTIONS")
                        }
                    }
                }
            }
        }
    }
}
