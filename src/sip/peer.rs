//! Where a SIP message came from or goes to.

use std::fmt;
use std::net::SocketAddr;

/// The transport a message travels on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    /// TLS over TCP (RFC 3261 §26.3.1).
    Tls,
}

impl Transport {
    /// Reliable transports need no retransmissions (RFC 3261 §17.1.1.2).
    /// They are also the connection-oriented ones: responses and in-dialog
    /// requests go back over the connection a request came on.
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// Whether this hop is protected by TLS (RFC 3261 §26.2.1), the
    /// condition for `sips:` and for offering SDES keys (RFC 4568 §8.3).
    pub fn is_secure(self) -> bool {
        matches!(self, Transport::Tls)
    }

    /// The Via transport token (RFC 3261 §20.42).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }
}

/// A remote SIP peer: transport, address and, for connection-oriented
/// transports, the connection the message arrived on (0 for UDP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
    pub connection: u64,
}

impl Peer {
    pub fn udp(addr: SocketAddr) -> Self {
        Peer {
            transport: Transport::Udp,
            addr,
            connection: 0,
        }
    }

    /// Whether signalling with this peer is protected by TLS, so that the
    /// media layer may offer SDES-SRTP keys in SDP (RFC 4568 §8.3 requires a
    /// secure signalling channel for them).
    pub fn is_secure(&self) -> bool {
        self.transport.is_secure()
    }
}

/// Whether signalling with `peer` is protected by TLS; see [`Peer::is_secure`].
pub fn signalling_secure(peer: &Peer) -> bool {
    peer.is_secure()
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport.via_token(), self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_reliable_secure_and_named_tls_in_via() {
        assert!(Transport::Tls.is_reliable());
        assert!(Transport::Tls.is_secure());
        assert_eq!(Transport::Tls.via_token(), "TLS");
        assert!(Transport::Tcp.is_reliable());
        assert!(!Transport::Tcp.is_secure());
        assert!(!Transport::Udp.is_reliable());
        let peer = Peer {
            transport: Transport::Tls,
            addr: "127.0.0.1:5061".parse().unwrap(),
            connection: 3,
        };
        assert!(signalling_secure(&peer));
        assert!(!signalling_secure(&Peer::udp(peer.addr)));
        assert_eq!(peer.to_string(), "TLS:127.0.0.1:5061");
    }
}
