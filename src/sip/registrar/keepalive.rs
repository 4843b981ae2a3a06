//! Keeping NAT bindings of registered contacts open: every
//! `keepalive_interval_s` each live contact's source gets a ping, so the
//! NAT in front of it keeps the mapping an incoming INVITE needs.
//!
//! `crlf` sends a double CRLF (RFC 5626 §3.5.1 for connections; over UDP
//! the same four bytes are the common practice a SIP parser skips), and
//! `options` an OPTIONS request, which a phone answers (the answer has no
//! transaction here and is dropped), refreshing the binding both ways.

use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::sip::peer::Peer;

/// `[registrar] keepalive`: what is sent to registered contacts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Keepalive {
    Off,
    #[default]
    Crlf,
    Options,
}

/// The values of `keepalive`, for check-config.
pub const KEEPALIVE_VALUES: &str = "one of \"off\", \"crlf\", \"options\"";

impl FromStr for Keepalive {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "off" => Ok(Keepalive::Off),
            "crlf" => Ok(Keepalive::Crlf),
            "options" => Ok(Keepalive::Options),
            _ => Err(()),
        }
    }
}

/// When the next round of pings is due.
#[derive(Debug, Clone)]
pub struct KeepaliveTimer {
    kind: Keepalive,
    interval: Duration,
    next: Instant,
}

impl KeepaliveTimer {
    pub fn new(kind: Keepalive, interval: Duration, now: Instant) -> Self {
        KeepaliveTimer {
            kind,
            interval,
            next: now + interval,
        }
    }

    pub fn kind(&self) -> Keepalive {
        self.kind
    }

    /// When the next round is due; None when pings are off.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.kind != Keepalive::Off && !self.interval.is_zero()).then_some(self.next)
    }

    /// True (once) when a round is due at `now`.
    pub fn due(&mut self, now: Instant) -> bool {
        match self.poll_timeout() {
            Some(at) if at <= now => {
                self.next = now + self.interval;
                true
            }
            _ => false,
        }
    }
}

/// The destinations to ping, each once, with a contact registered there,
/// from the live bindings' (destination, contact).
pub fn destinations<'a>(
    bindings: impl Iterator<Item = (&'a Peer, &'a str)>,
) -> Vec<(Peer, String)> {
    let mut peers: Vec<(Peer, String)> = bindings.map(|(p, c)| (*p, c.to_string())).collect();
    peers.sort_by_key(|(p, _)| (p.addr, p.connection));
    peers.dedup_by_key(|(p, _)| *p);
    peers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_is_due_each_interval_and_off_means_never() {
        let start = Instant::now();
        let mut timer = KeepaliveTimer::new(Keepalive::Crlf, Duration::from_secs(30), start);
        assert!(!timer.due(start + Duration::from_secs(29)));
        assert!(timer.due(start + Duration::from_secs(30)));
        assert!(!timer.due(start + Duration::from_secs(31)), "once");
        assert_eq!(timer.poll_timeout(), Some(start + Duration::from_secs(60)));
        let mut off = KeepaliveTimer::new(Keepalive::Off, Duration::from_secs(30), start);
        assert_eq!(off.poll_timeout(), None);
        assert!(!off.due(start + Duration::from_secs(3600)));
        assert_eq!("options".parse(), Ok(Keepalive::Options));
        assert!("stun".parse::<Keepalive>().is_err());
    }

    #[test]
    fn each_destination_is_pinged_once() {
        let a = Peer::udp("127.0.0.1:5060".parse().unwrap());
        let b = Peer::udp("127.0.0.1:5062".parse().unwrap());
        let bindings = [(a, "sip:x@a"), (b, "sip:y@b"), (a, "sip:z@a")];
        let found = destinations(bindings.iter().map(|(p, c)| (p, *c)));
        assert_eq!(
            found.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            vec![a, b]
        );
    }
}
