//! SRTP key derivation (RFC 3711 §4.3) and the AES-CM keystream
//! (RFC 3711 §4.1.1), key derivation rate 0.
//!
//! `webrtc-srtp` 0.17.2 derives its session keys internally and keeps that
//! code private (`mod key_derivation` is not exported), so this small
//! independent copy exists to check our key handling against the RFC 3711
//! Appendix B vectors and to build reference packets that prove the keys we
//! hand to `webrtc-srtp` produce standard SRTP. It is written with the `aes`
//! and `ctr` crates only; no packet is protected with it in production.

use std::fmt;

use aes::cipher::{KeyIvInit, StreamCipher};
use zeroize::Zeroizing;

use super::suite::SrtpSuite;

/// RFC 3711 §4.3.1 labels (§4.3.2 for SRTCP).
pub const LABEL_RTP_ENCRYPTION: u8 = 0x00;
pub const LABEL_RTP_AUTH: u8 = 0x01;
pub const LABEL_RTP_SALT: u8 = 0x02;
pub const LABEL_RTCP_ENCRYPTION: u8 = 0x03;
pub const LABEL_RTCP_AUTH: u8 = 0x04;
pub const LABEL_RTCP_SALT: u8 = 0x05;

/// HMAC-SHA1 session authentication key length, n_a = 160 bits
/// (RFC 3711 §8.2).
const AUTH_KEY_LEN: usize = 20;

/// The 112-bit field the master salt is XORed into (RFC 3711 §4.3.1).
const SALT_FIELD: usize = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KdfError {
    #[error("AES key must be 16 or 32 octets, got {0}")]
    KeyLength(usize),
    #[error("master salt must be at most 14 octets, got {0}")]
    SaltLength(usize),
}

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Writes the AES counter-mode keystream for `iv` into `out` (RFC 3711
/// §4.1.1: block j is AES(key, IV + j), the counter being the low 16 bits
/// for SRTP's purposes and carrying as a 128-bit big-endian integer here).
pub fn aes_cm_keystream(key: &[u8], iv: &[u8; 16], out: &mut [u8]) -> Result<(), KdfError> {
    out.fill(0);
    match key.len() {
        16 => Aes128Ctr::new_from_slices(key, iv)
            .map_err(|_| KdfError::KeyLength(key.len()))?
            .apply_keystream(out),
        32 => Aes256Ctr::new_from_slices(key, iv)
            .map_err(|_| KdfError::KeyLength(key.len()))?
            .apply_keystream(out),
        other => return Err(KdfError::KeyLength(other)),
    }
    Ok(())
}

/// Derives `out.len()` octets for `label` with the AES-CM PRF
/// (RFC 3711 §4.3.1 and §4.3.3; AES_256_CM_PRF of RFC 6188 §3 for 32-octet
/// keys) at key derivation rate 0, so r = index DIV kdr = 0.
///
/// x = (label || r) XOR master_salt, with both right-aligned in 112 bits;
/// the PRF output is the keystream for IV = x * 2^16. A 96-bit GCM salt is
/// placed in the leading octets and padded with zeros (RFC 7714 §11 uses
/// this PRF; libsrtp and `webrtc-srtp` pad it the same way).
pub fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: u8,
    out: &mut [u8],
) -> Result<(), KdfError> {
    if master_salt.len() > SALT_FIELD {
        return Err(KdfError::SaltLength(master_salt.len()));
    }
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    // label is octet 7 of the 14: followed by the 48-bit r (zero here).
    iv[SALT_FIELD - 7] ^= label;
    aes_cm_keystream(master_key, &iv, out)
}

/// Which of the two key sets of a master key (RFC 3711 §4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Rtp,
    Rtcp,
}

/// The session keys of one direction of one stream type.
pub struct SessionKeys {
    pub encryption: Zeroizing<Vec<u8>>,
    /// Empty for GCM, whose authentication uses the encryption key.
    pub authentication: Zeroizing<Vec<u8>>,
    pub salt: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKeys")
            .field("encryption", &"<redacted>")
            .field("authentication", &"<redacted>")
            .field("salt", &"<redacted>")
            .finish()
    }
}

/// Derives the session keys of `suite` from a master key and salt.
pub fn session_keys(
    suite: SrtpSuite,
    master_key: &[u8],
    master_salt: &[u8],
    stream: Stream,
) -> Result<SessionKeys, KdfError> {
    let (enc, auth, salt) = match stream {
        Stream::Rtp => (LABEL_RTP_ENCRYPTION, LABEL_RTP_AUTH, LABEL_RTP_SALT),
        Stream::Rtcp => (LABEL_RTCP_ENCRYPTION, LABEL_RTCP_AUTH, LABEL_RTCP_SALT),
    };
    let auth_len = match suite {
        SrtpSuite::AES_CM_128_HMAC_SHA1_80 | SrtpSuite::AES_CM_128_HMAC_SHA1_32 => AUTH_KEY_LEN,
        SrtpSuite::AEAD_AES_128_GCM | SrtpSuite::AEAD_AES_256_GCM => 0,
    };
    let mut keys = SessionKeys {
        encryption: Zeroizing::new(vec![0; suite.key_len()]),
        authentication: Zeroizing::new(vec![0; auth_len]),
        salt: Zeroizing::new(vec![0; suite.salt_len()]),
    };
    derive(master_key, master_salt, enc, &mut keys.encryption)?;
    derive(master_key, master_salt, auth, &mut keys.authentication)?;
    derive(master_key, master_salt, salt, &mut keys.salt)?;
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).expect("test vector is hex")
    }

    /// RFC 3711 Appendix B.2: AES-CM keystream. The session salt there is
    /// already shifted into the IV (F0..FD || 0000).
    #[test]
    fn rfc3711_b2_keystream() {
        let key = hex("2B7E151628AED2A6ABF7158809CF4F3C");
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"));
        let mut out = [0u8; 48];
        aes_cm_keystream(&key, &iv, &mut out).expect("valid key");
        assert_eq!(
            out.to_vec(),
            hex("E03EAD0935C95E80E166B16DD92B4EB4 \
                 D23513162B02D0F72A43A2FE4A5F97AB \
                 41E95B3BB0A2E8DD477901E4FCA894C0")
        );
        iv[14] = 0xFE;
        iv[15] = 0xFF;
        aes_cm_keystream(&key, &iv, &mut out).expect("valid key");
        assert_eq!(
            out.to_vec(),
            hex("EC8CDF7398607CB0F2D21675EA9EA1E4 \
                 362B7C3C6773516318A077D7FC5073AE \
                 6A2CC3787889374FBEB4C81B17BA6C44")
        );
    }

    /// RFC 3711 Appendix B.3: key derivation.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let master_key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let master_salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        let keys = session_keys(
            SrtpSuite::AES_CM_128_HMAC_SHA1_80,
            &master_key,
            &master_salt,
            Stream::Rtp,
        )
        .expect("valid lengths");
        assert_eq!(*keys.encryption, hex("C61E7A93744F39EE10734AFE3FF7A087"));
        assert_eq!(*keys.salt, hex("30CBBC08863D8C85D49DB34A9AE1"));
        assert_eq!(
            *keys.authentication,
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")
        );
    }

    /// RFC 6188 §7.2: AES_256_CM_PRF, the KDF of AEAD_AES_256_GCM.
    #[test]
    fn rfc6188_aes256_key_derivation() {
        let master_key = hex("F0F04914B513F2763A1B1FA130F10E29 98F6F6E43E4309D1E622A0E332B9F1B6");
        let master_salt = hex("3B04803DE51EE7C96423AB5B78D2");
        let mut out = [0u8; 32];
        derive(&master_key, &master_salt, LABEL_RTP_ENCRYPTION, &mut out).expect("valid");
        assert_eq!(
            out.to_vec(),
            hex("5BA1064E30EC51613CAD926C5A28EF73 1EC7FB397F70A960653CAF06554CD8C4")
        );
        let mut salt = [0u8; 14];
        derive(&master_key, &master_salt, LABEL_RTP_SALT, &mut salt).expect("valid");
        assert_eq!(salt.to_vec(), hex("FA31791685CA444A9E07C6C64E93"));
        let mut auth = [0u8; 20];
        derive(&master_key, &master_salt, LABEL_RTP_AUTH, &mut auth).expect("valid");
        assert_eq!(
            auth.to_vec(),
            hex("FD9C32D39ED5FBB5A9DC96B30818454D1313DC05")
        );
    }

    #[test]
    fn rejects_bad_lengths_and_redacts_debug() {
        let mut out = [0u8; 16];
        assert_eq!(
            derive(&[0; 15], &[0; 14], 0, &mut out),
            Err(KdfError::KeyLength(15))
        );
        assert_eq!(
            derive(&[0; 16], &[0; 15], 0, &mut out),
            Err(KdfError::SaltLength(15))
        );
        let keys = session_keys(
            SrtpSuite::AEAD_AES_128_GCM,
            &[7; 16],
            &[9; 12],
            Stream::Rtcp,
        )
        .expect("valid lengths");
        assert!(keys.authentication.is_empty());
        assert!(!format!("{keys:?}").contains('7'));
    }
}
