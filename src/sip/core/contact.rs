//! Our Contact header field: where the peer sends its requests in a
//! dialog with us, on the transport (and scheme) it reached us by.

use rsip::Request;

use super::SipCore;
use crate::sip::peer::{Peer, Transport};

impl SipCore {
    /// Our Contact for `peer`, as a `sip:` URI naming the transport so the
    /// peer's requests come back on it (RFC 3261 §19.1.1, §26.3.1 for TLS).
    pub(super) fn contact_for(&self, peer: Peer) -> String {
        self.contact_uri(peer, false)
    }

    /// Our Contact in a response to `request`, or in the dialog it creates:
    /// a `sips:` URI when the request's Request-URI is one (RFC 3261
    /// §12.1.1), which then also stands for TLS, so it carries no transport
    /// parameter (RFC 5630 deprecates `transport=tls`).
    pub(super) fn contact_for_request(&self, peer: Peer, request: &Request) -> String {
        self.contact_uri(peer, request.uri.scheme == Some(rsip::Scheme::Sips))
    }

    /// Our Contact in a request to `request_uri` sent to `peer`: a `sips:`
    /// URI when the Request-URI is one (RFC 3261 §8.1.1.8).
    pub(super) fn contact_for_target(&self, peer: Peer, request_uri: &str) -> String {
        let sips = request_uri
            .split_once(':')
            .is_some_and(|(scheme, _)| scheme.trim().eq_ignore_ascii_case("sips"));
        self.contact_uri(peer, sips)
    }

    /// Our Contact for `peer`; `sips` when the dialog's Request-URI was a
    /// SIPS URI, which can only hold where the peer is reached over TLS.
    pub(super) fn contact_uri(&self, peer: Peer, sips: bool) -> String {
        let host = super::uri_host(self.local_ip_for(peer.addr));
        let port = self.settings.port_for(peer.transport);
        if sips && peer.is_secure() {
            return format!("<sips:{host}:{port}>");
        }
        let transport = match peer.transport {
            Transport::Tcp => ";transport=tcp",
            Transport::Tls => ";transport=tls",
            Transport::Udp => "",
        };
        format!("<sip:{host}:{port}{transport}>")
    }
}
