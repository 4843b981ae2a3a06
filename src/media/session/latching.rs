//! Which source a leg's RTP is taken from, and so where ours goes
//! (symmetric RTP, RFC 4961): the address the SDP names, or, for a peer
//! behind NAT whose SDP names an address nobody can reach, the address its
//! packets really come from, latched under a policy that keeps strangers
//! from taking the stream.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use super::MediaSession;

/// How long the latched RTP source must be silent before another may take over.
pub(super) const RELATCH_AFTER: Duration = Duration::from_secs(1);

/// `[media] rtp_latching`: from where a leg's media may be latched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RtpLatching {
    /// Only the address the SDP names: nothing is latched.
    Strict,
    /// The SDP's address, or a source on the SDP's IP or the IP the
    /// signalling came from (a NAT's public side, which may pick any port).
    #[default]
    Nat,
    /// The first source heard, wherever it is (a peer whose media leaves
    /// from another IP than its signalling).
    Any,
}

/// The values of `rtp_latching`, for check-config.
pub const LATCHING_VALUES: &str = "one of \"strict\", \"nat\", \"any\"";

impl FromStr for RtpLatching {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "strict" => Ok(RtpLatching::Strict),
            "nat" => Ok(RtpLatching::Nat),
            "any" => Ok(RtpLatching::Any),
            _ => Err(()),
        }
    }
}

/// A leg's latching policy and what it needs to know.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latching {
    pub policy: RtpLatching,
    /// Where the leg's SIP came from (or went to).
    pub signalling_ip: Option<IpAddr>,
}

impl Latching {
    /// Whether a source other than the signalled one may be latched.
    fn allows(&self, from: SocketAddr, signalled: Option<SocketAddr>) -> bool {
        match self.policy {
            RtpLatching::Strict => false,
            RtpLatching::Any => true,
            RtpLatching::Nat => {
                signalled.is_some_and(|s| s.ip() == from.ip())
                    || self.signalling_ip == Some(from.ip())
            }
        }
    }
}

impl MediaSession {
    /// Whether a packet from `from` is the leg's, latching it when the
    /// policy allows. The address the signalling names always wins at once
    /// (after a fork answers, stray early media from a losing fork must not
    /// hold the stream). Another source is taken only when none is latched,
    /// or the latched one has been quiet for [`RELATCH_AFTER`] (a peer whose
    /// NAT binding changed): a stranger spraying the port range cannot take
    /// a live stream, and under the `nat` policy not even a quiet one.
    pub(super) fn accept_source(&mut self, now: Instant, from: SocketAddr) -> bool {
        if self.latched == Some(from) {
            return true;
        }
        if self.params.remote_rtp == Some(from) {
            self.latched = Some(from);
            return true;
        }
        let live = self.latched.is_some() && now.duration_since(self.last_rx) < RELATCH_AFTER;
        if live || !self.latching.allows(from, self.params.remote_rtp) {
            return false;
        }
        self.latched = Some(from);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn each_policy_admits_its_sources() {
        let signalled = Some(addr("192.168.1.20:4000"));
        let nat = Latching {
            policy: RtpLatching::Nat,
            signalling_ip: Some("203.0.113.7".parse().unwrap()),
        };
        // The NAT's public address, any port: the phone behind it.
        assert!(nat.allows(addr("203.0.113.7:61000"), signalled));
        // The SDP's own IP, another port.
        assert!(nat.allows(addr("192.168.1.20:4002"), signalled));
        // Anyone else.
        assert!(!nat.allows(addr("198.51.100.9:4000"), signalled));
        let strict = Latching {
            policy: RtpLatching::Strict,
            ..nat
        };
        assert!(!strict.allows(addr("203.0.113.7:61000"), signalled));
        let any = Latching {
            policy: RtpLatching::Any,
            ..nat
        };
        assert!(any.allows(addr("198.51.100.9:4000"), signalled));
        assert_eq!("nat".parse(), Ok(RtpLatching::Nat));
        assert_eq!("strict".parse(), Ok(RtpLatching::Strict));
        assert_eq!("any".parse(), Ok(RtpLatching::Any));
        assert!("comedia".parse::<RtpLatching>().is_err());
    }
}
