//! The SRTP crypto-suites we can negotiate with SDES.

use std::fmt;
use std::str::FromStr;

use webrtc_srtp::protection_profile::ProtectionProfile;

/// An SRTP crypto-suite as named in `a=crypto` (RFC 4568 §6.2, RFC 7714).
///
/// `webrtc-srtp` 0.17.2 also implements AES_256_CM_HMAC_SHA1_80/32
/// (RFC 6188); they are left out on purpose because few SIP peers offer them
/// and nothing here needs them. The F8 and NULL-cipher suites of RFC 4568 are
/// left out because `webrtc-srtp` does not implement them (and NULL would
/// give up confidentiality).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum SrtpSuite {
    /// RFC 4568 §6.2: AES-CM 128, HMAC-SHA1 with an 80-bit tag.
    AES_CM_128_HMAC_SHA1_80,
    /// RFC 4568 §6.2: as above with a 32-bit SRTP tag (SRTCP keeps 80 bits).
    AES_CM_128_HMAC_SHA1_32,
    /// RFC 7714: AES-GCM with a 128-bit key and a 16-octet tag.
    AEAD_AES_128_GCM,
    /// RFC 7714: AES-GCM with a 256-bit key and a 16-octet tag.
    AEAD_AES_256_GCM,
}

/// The name is not one of the suites in [`SrtpSuite`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported crypto-suite {0}")]
pub struct UnknownSuite(pub String);

impl SrtpSuite {
    /// Every suite, in the order we offer them: AES_CM_128_HMAC_SHA1_80 first
    /// because it is SRTP's mandatory-to-implement transform (RFC 3711 §5)
    /// and so the one every SDES peer has, then the short-tag variant, then
    /// GCM, which fewer SIP peers implement.
    pub const OFFER_ORDER: [SrtpSuite; 4] = [
        SrtpSuite::AES_CM_128_HMAC_SHA1_80,
        SrtpSuite::AES_CM_128_HMAC_SHA1_32,
        SrtpSuite::AEAD_AES_128_GCM,
        SrtpSuite::AEAD_AES_256_GCM,
    ];

    /// The name as written in SDP.
    pub fn as_str(self) -> &'static str {
        match self {
            SrtpSuite::AES_CM_128_HMAC_SHA1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpSuite::AES_CM_128_HMAC_SHA1_32 => "AES_CM_128_HMAC_SHA1_32",
            SrtpSuite::AEAD_AES_128_GCM => "AEAD_AES_128_GCM",
            SrtpSuite::AEAD_AES_256_GCM => "AEAD_AES_256_GCM",
        }
    }

    /// Master key length in octets.
    pub fn key_len(self) -> usize {
        match self {
            SrtpSuite::AES_CM_128_HMAC_SHA1_80
            | SrtpSuite::AES_CM_128_HMAC_SHA1_32
            | SrtpSuite::AEAD_AES_128_GCM => 16,
            SrtpSuite::AEAD_AES_256_GCM => 32,
        }
    }

    /// Master salt length in octets: 112 bits for AES-CM (RFC 3711 §8.2),
    /// 96 bits for GCM (RFC 7714).
    pub fn salt_len(self) -> usize {
        match self {
            SrtpSuite::AES_CM_128_HMAC_SHA1_80 | SrtpSuite::AES_CM_128_HMAC_SHA1_32 => 14,
            SrtpSuite::AEAD_AES_128_GCM | SrtpSuite::AEAD_AES_256_GCM => 12,
        }
    }

    /// Length of the `inline:` key||salt in octets.
    pub fn key_salt_len(self) -> usize {
        self.key_len() + self.salt_len()
    }

    /// Authentication tag appended to each SRTP packet, in octets.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            SrtpSuite::AES_CM_128_HMAC_SHA1_80 => 10,
            SrtpSuite::AES_CM_128_HMAC_SHA1_32 => 4,
            SrtpSuite::AEAD_AES_128_GCM | SrtpSuite::AEAD_AES_256_GCM => 16,
        }
    }

    /// Authentication tag of each SRTCP packet, in octets: the 32-bit suite
    /// still uses an 80-bit SRTCP tag (RFC 4568 §6.2).
    pub fn rtcp_tag_len(self) -> usize {
        match self {
            SrtpSuite::AES_CM_128_HMAC_SHA1_80 | SrtpSuite::AES_CM_128_HMAC_SHA1_32 => 10,
            SrtpSuite::AEAD_AES_128_GCM | SrtpSuite::AEAD_AES_256_GCM => 16,
        }
    }

    /// Largest key lifetime in packets a peer may declare: 2^48 SRTP packets
    /// for all four (RFC 4568 §6.2, RFC 7714).
    pub fn max_lifetime_exponent(self) -> u32 {
        48
    }

    /// The matching `webrtc-srtp` profile.
    pub fn profile(self) -> ProtectionProfile {
        match self {
            SrtpSuite::AES_CM_128_HMAC_SHA1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            SrtpSuite::AES_CM_128_HMAC_SHA1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
            SrtpSuite::AEAD_AES_128_GCM => ProtectionProfile::AeadAes128Gcm,
            SrtpSuite::AEAD_AES_256_GCM => ProtectionProfile::AeadAes256Gcm,
        }
    }
}

impl fmt::Display for SrtpSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SrtpSuite {
    type Err = UnknownSuite;

    /// Suite names are case-sensitive tokens (RFC 4568 registers them in
    /// upper case); we match them exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SrtpSuite::OFFER_ORDER
            .into_iter()
            .find(|suite| suite.as_str() == s)
            .ok_or_else(|| UnknownSuite(s.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for suite in SrtpSuite::OFFER_ORDER {
            assert_eq!(suite.as_str().parse::<SrtpSuite>(), Ok(suite));
            assert_eq!(suite.to_string(), suite.as_str());
        }
        assert!("AES_CM_128_HMAC_SHA1_81".parse::<SrtpSuite>().is_err());
        assert!("aes_cm_128_hmac_sha1_80".parse::<SrtpSuite>().is_err());
        assert!("".parse::<SrtpSuite>().is_err());
    }

    #[test]
    fn lengths_agree_with_webrtc_srtp() {
        for suite in SrtpSuite::OFFER_ORDER {
            let profile = suite.profile();
            assert_eq!(suite.key_len(), profile.key_len(), "{suite}");
            assert_eq!(suite.salt_len(), profile.salt_len(), "{suite}");
            assert_eq!(
                suite.rtp_tag_len(),
                profile.rtp_auth_tag_len() + profile.aead_auth_tag_len(),
                "{suite}"
            );
            assert_eq!(
                suite.rtcp_tag_len(),
                profile.rtcp_auth_tag_len() + profile.aead_auth_tag_len(),
                "{suite}"
            );
        }
        assert_eq!(SrtpSuite::AES_CM_128_HMAC_SHA1_80.key_salt_len(), 30);
        assert_eq!(SrtpSuite::AEAD_AES_128_GCM.key_salt_len(), 28);
        assert_eq!(SrtpSuite::AEAD_AES_256_GCM.key_salt_len(), 44);
    }

    #[test]
    fn offers_the_mandatory_suite_first() {
        assert_eq!(
            SrtpSuite::OFFER_ORDER[0],
            SrtpSuite::AES_CM_128_HMAC_SHA1_80
        );
    }
}
