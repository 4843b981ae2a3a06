//! The SDES-SRTP side of a new call (RFC 4568): which policy the caller's
//! leg follows, and how an offer we cannot take is refused.

use super::invite::Refusal;
use super::SipCore;
use crate::routing::RouteTarget;
use crate::sip::peer::{signalling_secure, Peer};
use crate::sip::sdp::{LocalSrtp, NegotiationError};

impl SipCore {
    /// The caller's leg: the route's SRTP policy for an application, the
    /// `[media]` one for a bridge (whose route policy is the outgoing
    /// leg's). `offers`: the INVITE had no SDP, so the 2xx carries our offer.
    pub(super) fn caller_srtp(
        &self,
        target: &RouteTarget,
        bridged: bool,
        source: &Peer,
        offers: bool,
    ) -> Result<LocalSrtp, Refusal> {
        let policy = if bridged {
            self.settings.srtp.clone()
        } else {
            target.srtp.apply(&self.settings.srtp)
        };
        let srtp = LocalSrtp::for_leg(&policy, signalling_secure(source), offers)
            .map_err(|e| Refusal::new(500, Some(e.to_string())))?;
        if offers {
            srtp.can_offer().map_err(|e| not_acceptable(&e))?;
        }
        Ok(srtp)
    }
}

/// 488 for an offer we cannot take (RFC 3261 §21.4.26), the reason in the
/// status line; an SRTP refusal also in a Warning (RFC 3261 §20.43, code
/// 399: miscellaneous), which user agents tend to show.
pub(super) fn not_acceptable(error: &NegotiationError) -> Refusal {
    let reason = error.to_string();
    let mut refusal = Refusal::new(488, Some(reason.clone()));
    if matches!(
        error,
        NegotiationError::SrtpRefused(_)
            | NegotiationError::SrtpRequired
            | NegotiationError::Crypto(_)
    ) {
        let text = reason.replace(['"', '\\'], "'");
        refusal.extra.push(rsip::Header::Warning(
            format!("399 mediaplane \"{text}\"").into(),
        ));
    }
    refusal
}
