//! Our `o=` line across the life of a leg (RFC 3264 §8).

use std::net::IpAddr;

use crate::sip::sdp::{AddressType, Origin, SessionDescription};

/// The origin of the SDP we send on one leg. The session id and address stay
/// fixed; the version goes up by one each time the SDP we send changes
/// (RFC 3264 §8) and stays when it does not.
#[derive(Clone, Debug)]
pub struct SdpOrigin {
    session_id: u64,
    version: u64,
    address: IpAddr,
    last_sent: Option<SessionDescription>,
}

impl SdpOrigin {
    /// `session_id` should be unique per leg (RFC 4566 §5.2); the caller
    /// picks it, typically at random.
    pub fn new(session_id: u64, address: IpAddr) -> Self {
        SdpOrigin {
            session_id,
            version: 1,
            address,
            last_sent: None,
        }
    }

    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// The version of the SDP stamped last.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The origin line as it stands.
    pub fn origin(&self) -> Origin {
        Origin {
            username: "-".to_owned(),
            session_id: self.session_id,
            session_version: self.version,
            address_type: AddressType::of(self.address),
            address: self.address.to_string(),
        }
    }

    /// Writes our origin into `sdp`, moving to the next version if the body
    /// differs from the one stamped before.
    pub fn stamp(&mut self, sdp: &mut SessionDescription) {
        sdp.origin = self.origin();
        if let Some(previous) = &self.last_sent {
            if previous != sdp {
                self.version = self.version.wrapping_add(1);
                sdp.origin.session_version = self.version;
            }
        }
        self.last_sent = Some(sdp.clone());
    }
}
