//! Registrar (RFC 3261 §10): the location service that maps a user to the
//! contacts its devices registered, and the digest authentication that
//! guards it.

use std::time::Instant;

use crate::sip::peer::Peer;

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

/// The location service.
#[derive(Debug, Default)]
pub struct Registrar {}

impl Registrar {
    /// Whether `user` is a configured user (registered or not).
    pub fn is_user(&self, _user: &str) -> bool {
        false
    }

    /// The live bindings of `user` at `now`, most recently registered first.
    pub fn lookup(&self, _user: &str, _now: Instant) -> Vec<Binding> {
        Vec::new()
    }
}
