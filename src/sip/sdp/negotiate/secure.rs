//! SDES-SRTP in offer/answer (RFC 4568 §7 on top of RFC 3264): which
//! profile a leg may use, the `a=crypto` lines we write, and the key pair an
//! offer or answer settles on. Key generation happens when the leg's
//! [`LocalSrtp`] is made, so that the functions here stay pure.

use crate::config::{SrtpMode, SrtpPolicy};
use crate::media::srtp::{self, CryptoAttribute, SdesError, SrtpSuite};
use crate::sip::sdp::{Attribute, MediaDescription};

use super::error::NegotiationError;

/// The SDP attribute name of RFC 4568 §9.
pub const CRYPTO: &str = "crypto";

/// The secure profile we write (RFC 3711 §12).
pub const SAVP: &str = "RTP/SAVP";

/// Why SDES keys may not be used on a leg.
pub const SRTP_OFF: &str = "SRTP is off";
pub const NEEDS_TLS: &str = "SDES keys need SIP over TLS";

/// The SRTP side of a leg's local media.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalSrtp {
    pub mode: SrtpMode,
    /// Why `RTP/SAVP` is refused on this leg, when it is (policy off, or
    /// the keys would cross the network in clear, RFC 4568 §8.3).
    pub refused: Option<&'static str>,
    /// Keys only over TLS (`srtp_require_secure_signalling`).
    pub require_secure_signalling: bool,
    /// Suites we accept, in our preference order.
    pub suites: Vec<SrtpSuite>,
    /// The lines of our initial offer (mandatory SRTP only).
    pub offer: Vec<CryptoAttribute>,
    /// The pair in force on the leg: a re-offer keeps it when the peer's
    /// line is unchanged, and our own re-offers repeat our line.
    pub current: Option<srtp::Negotiated>,
}

impl Default for LocalSrtp {
    /// Plain RTP only.
    fn default() -> Self {
        LocalSrtp {
            mode: SrtpMode::Off,
            refused: Some(SRTP_OFF),
            require_secure_signalling: true,
            suites: Vec::new(),
            offer: Vec::new(),
            current: None,
        }
    }
}

impl LocalSrtp {
    /// The leg's SRTP from its policy and whether its signalling is secure
    /// (TLS). With `offers`, mandatory SRTP gets fresh offer lines.
    pub fn for_leg(
        policy: &SrtpPolicy,
        signalling_secure: bool,
        offers: bool,
    ) -> Result<Self, SdesError> {
        let refused = match policy.mode {
            SrtpMode::Off => Some(SRTP_OFF),
            _ if policy.require_secure_signalling && !signalling_secure => Some(NEEDS_TLS),
            _ => None,
        };
        let offer = if offers && refused.is_none() && policy.mode == SrtpMode::Mandatory {
            CryptoAttribute::generate_offer(&policy.suites)?
        } else {
            Vec::new()
        };
        Ok(LocalSrtp {
            mode: policy.mode,
            refused,
            require_secure_signalling: policy.require_secure_signalling,
            suites: policy.suites.clone(),
            offer,
            current: None,
        })
    }

    /// A request of the dialog came over another transport (a re-INVITE
    /// over UDP in a call set up over TLS): keys are refused or allowed
    /// again by the same rule as at the start.
    pub fn signalling_changed(&mut self, secure: bool) {
        if self.mode != SrtpMode::Off {
            self.refused = (self.require_secure_signalling && !secure).then_some(NEEDS_TLS);
        }
    }

    /// Whether an offer of ours can be made at all: mandatory SRTP that
    /// may not be keyed on this leg cannot.
    pub fn can_offer(&self) -> Result<(), NegotiationError> {
        match (self.mode, self.refused) {
            (SrtpMode::Mandatory, Some(reason)) => Err(NegotiationError::SrtpRefused(reason)),
            _ => Ok(()),
        }
    }

    /// The `a=crypto` lines of an offer of ours: our line in force, else
    /// the initial ones; none means a plain `RTP/AVP` offer.
    pub fn offer_lines(&self) -> Vec<&CryptoAttribute> {
        match &self.current {
            Some(current) => vec![&current.local],
            None => self.offer.iter().collect(),
        }
    }
}

/// The profile of an m-line we carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    Plain,
    Secure,
}

/// Transports we carry: plain RTP, and SRTP keyed by SDES. AVPF peers
/// interoperate with a side that sends no feedback (RFC 4585 §5); DTLS-SRTP
/// (`UDP/TLS/RTP/SAVPF`) is not supported.
pub(crate) fn profile_of(media: &MediaDescription) -> Result<Profile, NegotiationError> {
    let is = |p: &str| media.protocol.eq_ignore_ascii_case(p);
    if is("RTP/AVP") || is("RTP/AVPF") {
        Ok(Profile::Plain)
    } else if is("RTP/SAVP") || is("RTP/SAVPF") {
        Ok(Profile::Secure)
    } else {
        Err(NegotiationError::unsupported_transport(&media.protocol))
    }
}

fn crypto_lines(media: &MediaDescription) -> impl Iterator<Item = &str> {
    media
        .attributes
        .iter()
        .filter(|a| a.name.eq_ignore_ascii_case(CRYPTO))
        .map(|a| a.value.as_deref().unwrap_or(""))
}

/// The key pair with which to answer an offered m-line, or none for plain
/// RTP (RFC 4568 §7.1.3).
pub(crate) fn answer_keys(
    media: &MediaDescription,
    local: &LocalSrtp,
) -> Result<Option<srtp::Negotiated>, NegotiationError> {
    match profile_of(media)? {
        Profile::Plain if local.mode == SrtpMode::Mandatory => Err(NegotiationError::SrtpRequired),
        Profile::Plain => Ok(None),
        Profile::Secure => {
            if let Some(reason) = local.refused {
                return Err(NegotiationError::SrtpRefused(reason));
            }
            // RFC 4568 §7.1.4 (re-offer): an unchanged line of the peer
            // keeps both keys, so the SRTP contexts and their rollover
            // counters carry on.
            if let Some(current) = &local.current {
                let unchanged = crypto_lines(media)
                    .filter_map(|line| CryptoAttribute::parse(line).ok())
                    .any(|line| line == current.remote);
                if unchanged {
                    return Ok(Some(current.clone()));
                }
            }
            srtp::choose_answer(crypto_lines(media), &local.suites)
                .map(Some)
                .map_err(NegotiationError::Crypto)
        }
    }
}

/// The key pair an answer to our offer settled on, or none for plain RTP.
pub(crate) fn accepted_keys(
    offered: &MediaDescription,
    answered: &MediaDescription,
) -> Result<Option<srtp::Negotiated>, NegotiationError> {
    match (profile_of(offered)?, profile_of(answered)?) {
        (Profile::Plain, Profile::Plain) => Ok(None),
        (Profile::Secure, Profile::Secure) => {
            // Our own lines, read back from the offer we sent.
            let ours = crypto_lines(offered)
                .map(CryptoAttribute::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(NegotiationError::Crypto)?;
            let line = crypto_lines(answered)
                .next()
                .ok_or(NegotiationError::Crypto(SdesError::NoneOffered))?;
            srtp::match_answer(&ours, line)
                .map(Some)
                .map_err(NegotiationError::Crypto)
        }
        (Profile::Secure, Profile::Plain) => Err(NegotiationError::SrtpRequired),
        (Profile::Plain, Profile::Secure) => {
            Err(NegotiationError::unsupported_transport(&answered.protocol))
        }
    }
}

/// Writes `lines` into `media` as `a=crypto` (the key is the SDP value,
/// RFC 4568 §9; this text is never logged).
pub(crate) fn write_crypto<'a>(
    media: &mut MediaDescription,
    lines: impl IntoIterator<Item = &'a CryptoAttribute>,
) {
    for line in lines {
        media
            .attributes
            .push(Attribute::new(CRYPTO, Some(line.to_string())));
    }
}
