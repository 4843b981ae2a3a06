//! SDES offer/answer (RFC 4568 §7): which `a=crypto` line to answer, and
//! which of ours an answer accepted.

use super::sdes::{CryptoAttribute, SdesError};
use super::suite::SrtpSuite;

/// The pair of crypto attributes a negotiation settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Ours: the key we protect with, and the line we put in our SDP.
    pub local: CryptoAttribute,
    /// The peer's: the key we unprotect with.
    pub remote: CryptoAttribute,
}

/// Answers an offer (RFC 4568 §7.1): the first line, in the offerer's
/// order, whose suite is in `allowed` and which we can run; the answer has the
/// same tag and suite and a fresh key of ours. Lines that fail to parse are
/// skipped; if none is acceptable, the error names why the first was refused.
pub fn choose_answer<'a, I>(offered: I, allowed: &[SrtpSuite]) -> Result<Negotiated, SdesError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut first_refusal = None;
    for line in offered {
        let verdict = CryptoAttribute::parse(line).and_then(|remote| {
            if !allowed.contains(&remote.suite) {
                return Err(SdesError::UnknownSuite(remote.suite.to_string()));
            }
            remote.single_key()?;
            Ok(remote)
        });
        match verdict {
            Ok(remote) => {
                let local = CryptoAttribute::generate(remote.tag, remote.suite)?;
                return Ok(Negotiated { local, remote });
            }
            Err(reason) => {
                first_refusal.get_or_insert(reason);
            }
        }
    }
    Err(match first_refusal {
        Some(reason) => SdesError::NoneAcceptable(Box::new(reason)),
        None => SdesError::NoneOffered,
    })
}

/// Pairs the peer's answer with the line of our offer it accepted
/// (RFC 4568 §7.1: same tag, same suite).
pub fn match_answer(offer: &[CryptoAttribute], answer: &str) -> Result<Negotiated, SdesError> {
    let remote = CryptoAttribute::parse(answer)?;
    let local = offer
        .iter()
        .find(|line| line.tag == remote.tag)
        .ok_or(SdesError::TagNotOffered(remote.tag))?;
    if local.suite != remote.suite {
        return Err(SdesError::SuiteMismatch {
            offered: local.suite,
            answered: remote.suite,
        });
    }
    remote.single_key()?;
    local.single_key()?;
    Ok(Negotiated {
        local: local.clone(),
        remote,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example key of RFC 4568 (30 octets).
    const KEY_80: &str = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
    /// 28 octets for AEAD_AES_128_GCM.
    const KEY_GCM128: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==";

    #[test]
    fn answer_takes_the_first_acceptable_line_in_offer_order() {
        let offer = [
            format!("1 F8_128_HMAC_SHA1_80 inline:{KEY_80}"),
            format!("2 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^20|1:4"),
            format!("3 AEAD_AES_128_GCM inline:{KEY_GCM128}"),
            format!("4 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}"),
        ];
        let negotiated = choose_answer(offer.iter().map(String::as_str), &SrtpSuite::OFFER_ORDER)
            .expect("one fits");
        assert_eq!(negotiated.remote.tag, 3);
        assert_eq!(negotiated.local.tag, 3);
        assert_eq!(negotiated.local.suite, SrtpSuite::AEAD_AES_128_GCM);
        assert_ne!(
            negotiated.local.keys[0].master_key_salt,
            negotiated.remote.keys[0].master_key_salt
        );
        // With GCM not allowed, the AES-CM line 4 is taken.
        let negotiated = choose_answer(
            offer.iter().map(String::as_str),
            &[SrtpSuite::AES_CM_128_HMAC_SHA1_80],
        )
        .expect("one fits");
        assert_eq!(negotiated.remote.tag, 4);

        let refused = choose_answer(
            offer[..2].iter().map(String::as_str),
            &SrtpSuite::OFFER_ORDER,
        );
        assert_eq!(
            refused,
            Err(SdesError::NoneAcceptable(Box::new(
                SdesError::UnknownSuite("F8_128_HMAC_SHA1_80".into())
            )))
        );
        assert_eq!(
            choose_answer([], &SrtpSuite::OFFER_ORDER),
            Err(SdesError::NoneOffered)
        );
    }

    #[test]
    fn answer_is_matched_to_our_offer_by_tag() {
        let offer = CryptoAttribute::generate_offer(&SrtpSuite::OFFER_ORDER).expect("random");
        let answer = format!("3 AEAD_AES_128_GCM inline:{KEY_GCM128}");
        let negotiated = match_answer(&offer, &answer).expect("matches");
        assert_eq!(negotiated.local, offer[2]);
        assert_eq!(negotiated.remote.tag, 3);
        assert_eq!(
            match_answer(
                &offer,
                &format!("9 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}")
            ),
            Err(SdesError::TagNotOffered(9))
        );
        assert_eq!(
            match_answer(
                &offer,
                &format!("1 AES_CM_128_HMAC_SHA1_32 inline:{KEY_80}")
            ),
            Err(SdesError::SuiteMismatch {
                offered: SrtpSuite::AES_CM_128_HMAC_SHA1_80,
                answered: SrtpSuite::AES_CM_128_HMAC_SHA1_32,
            })
        );
    }
}
