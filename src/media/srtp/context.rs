//! One leg's SRTP and SRTCP protection (RFC 3711, RFC 7714): our key
//! protects what we send, the peer's key unprotects what we receive.
//!
//! Built on `webrtc-srtp` 0.17.2, with three things done here because that
//! crate does not do them:
//! - every length is checked before a packet reaches it, since it slices
//!   unchecked on short SRTCP and parses RTP header extensions with a parser
//!   that panics on truncated ones (see `header_for`);
//! - SRTCP packets with the E flag clear are refused, since it returns those
//!   without checking their authentication tag;
//! - results are copied into caller buffers. It still allocates one buffer
//!   per packet internally; the API lets that go away later without callers
//!   changing;
//! - the SRTP replay list is ours (`replay.rs`): its own builds a boxed
//!   detector for every packet.

use std::fmt;

use webrtc_srtp::context::Context;
use webrtc_srtp::option::srtcp_replay_protection;

use super::negotiate::Negotiated;
use super::replay::ReplayList;
use super::sdes::{CryptoAttribute, SdesError};
use super::suite::SrtpSuite;

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod tests;

/// Why a packet could not be protected or unprotected, or a session not be
/// built. Each per-packet failure has its own variant so that callers can
/// count them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    /// The authentication tag does not match (RFC 3711 §3.3 step 5): forged,
    /// corrupted, or protected with another key.
    #[error("SRTP authentication failed")]
    AuthenticationFailed,
    /// The packet index was already accepted or is behind the replay window
    /// (RFC 3711 §3.3.2).
    #[error("SRTP packet replayed")]
    Replayed,
    /// Too short for its header and tag, or not RTP/RTCP version 2.
    #[error("packet too short or malformed for SRTP")]
    Malformed,
    /// An SRTCP packet with the E flag clear (RFC 3711 §3.4): we negotiate
    /// encryption always, so such a packet is not from our peer.
    #[error("SRTCP packet is not encrypted")]
    UnencryptedSrtcp,
    #[error("output buffer holds {available} octets, {needed} needed")]
    BufferTooSmall { needed: usize, available: usize },
    /// RFC 3711 §9.2: the ROC would wrap; the key must be changed.
    #[error("SRTP master key exhausted")]
    KeyExhausted,
    #[error("local crypto-suite {local} differs from the remote {remote}")]
    SuiteMismatch { local: SrtpSuite, remote: SrtpSuite },
    #[error("{0}")]
    Attribute(#[from] SdesError),
    /// Anything else `webrtc-srtp` reports (its text carries no key).
    #[error("SRTP: {0}")]
    Other(String),
}

/// RFC 3711 §3.3.2: the replay window must be at least 64 packets.
pub const REPLAY_WINDOW: usize = 64;

/// SRTCP trailer: the E flag and 31-bit SRTCP index (RFC 3711 §3.4).
const SRTCP_INDEX_LEN: usize = 4;

/// RTCP header and sender SSRC, which stay in the clear (RFC 3711 §3.4).
const RTCP_CLEAR_LEN: usize = 8;

/// SRTP and SRTCP contexts of one leg, both directions.
pub struct SrtpSession {
    suite: SrtpSuite,
    /// Our master key; no replay list is needed for what we send.
    outbound: Context,
    /// The peer's master key, with SRTCP replay protection on.
    inbound: Context,
    /// SRTP replay protection of what we receive (RFC 3711 §3.3.2).
    replay: ReplayList,
}

impl fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpSession")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl SrtpSession {
    /// A session from our master key||salt and the peer's, both of the
    /// suite's length. ROCs and SRTCP indexes start at zero (RFC 3711
    /// §3.3.1), as SDES requires for a new key.
    pub fn new(
        suite: SrtpSuite,
        local_key_salt: &[u8],
        remote_key_salt: &[u8],
    ) -> Result<Self, SrtpError> {
        Ok(SrtpSession {
            suite,
            outbound: context(suite, local_key_salt, false)?,
            inbound: context(suite, remote_key_salt, true)?,
            replay: ReplayList::default(),
        })
    }

    /// Starts the receiving side afresh with the peer's key: `webrtc-srtp`
    /// keeps state for every SSRC it is shown, before authenticating, so a
    /// caller that saw many unauthenticated SSRCs drops them this way. The
    /// sending side (and its rollover counter) is untouched.
    pub fn renew_inbound(&mut self, remote_key_salt: &[u8]) -> Result<(), SrtpError> {
        self.inbound = context(self.suite, remote_key_salt, true)?;
        self.replay = ReplayList::default();
        Ok(())
    }

    /// A session from the two lines of a negotiated pair: ours (`local`)
    /// and the peer's (`remote`).
    pub fn from_attributes(
        local: &CryptoAttribute,
        remote: &CryptoAttribute,
    ) -> Result<Self, SrtpError> {
        if local.suite != remote.suite {
            return Err(SrtpError::SuiteMismatch {
                local: local.suite,
                remote: remote.suite,
            });
        }
        SrtpSession::new(
            local.suite,
            &local.single_key()?.master_key_salt,
            &remote.single_key()?.master_key_salt,
        )
    }

    pub fn from_negotiated(negotiated: &Negotiated) -> Result<Self, SrtpError> {
        SrtpSession::from_attributes(&negotiated.local, &negotiated.remote)
    }

    pub fn suite(&self) -> SrtpSuite {
        self.suite
    }

    /// Octets protection adds to an RTP packet: the tag.
    pub fn rtp_overhead(&self) -> usize {
        self.suite.rtp_tag_len()
    }

    /// Octets protection adds to an RTCP packet: SRTCP index and tag.
    pub fn rtcp_overhead(&self) -> usize {
        SRTCP_INDEX_LEN + self.suite.rtcp_tag_len()
    }

    /// Protects an RTP packet into `out`, which needs `plain.len() +
    /// rtp_overhead()` octets; returns the length written.
    pub fn protect_rtp(&mut self, plain: &[u8], out: &mut [u8]) -> Result<usize, SrtpError> {
        check_room(plain.len() + self.rtp_overhead(), out)?;
        let (header, _) = header_for(plain)?;
        let protected = self
            .outbound
            .encrypt_rtp_with_header(plain, &header)
            .map_err(map_error)?;
        copy_out(&protected, out)
    }

    /// Checks and decrypts an SRTP packet into `out`, which needs
    /// `protected.len()` octets at most; returns the RTP packet's length.
    pub fn unprotect_rtp(&mut self, protected: &[u8], out: &mut [u8]) -> Result<usize, SrtpError> {
        let (header, header_len) = header_for(protected)?;
        if protected.len() < header_len + self.suite.rtp_tag_len() {
            return Err(SrtpError::Malformed);
        }
        let index = self.replay.check(header.ssrc, header.sequence_number)?;
        let plain = self
            .inbound
            .decrypt_rtp_with_header(protected, &header)
            .map_err(map_error)?;
        let len = copy_out(&plain, out)?;
        self.replay.accept(header.ssrc, index);
        Ok(len)
    }

    /// Protects an RTCP compound packet into `out`, which needs
    /// `plain.len() + rtcp_overhead()` octets; returns the length written.
    pub fn protect_rtcp(&mut self, plain: &[u8], out: &mut [u8]) -> Result<usize, SrtpError> {
        check_room(plain.len() + self.rtcp_overhead(), out)?;
        if plain.len() < RTCP_CLEAR_LEN || plain[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        let protected = self.outbound.encrypt_rtcp(plain).map_err(map_error)?;
        copy_out(&protected, out)
    }

    /// Checks and decrypts an SRTCP packet into `out`, which needs
    /// `protected.len()` octets at most; returns the RTCP packet's length.
    pub fn unprotect_rtcp(&mut self, protected: &[u8], out: &mut [u8]) -> Result<usize, SrtpError> {
        if protected.len() < RTCP_CLEAR_LEN + self.rtcp_overhead() || protected[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        // RFC 3711 §3.4 (and RFC 7714 for GCM, where the tag precedes it):
        // the E flag is the top bit of the word after the payload.
        let e_word = match self.suite {
            SrtpSuite::AES_CM_128_HMAC_SHA1_80 | SrtpSuite::AES_CM_128_HMAC_SHA1_32 => {
                protected.len() - self.rtcp_overhead()
            }
            SrtpSuite::AEAD_AES_128_GCM | SrtpSuite::AEAD_AES_256_GCM => {
                protected.len() - SRTCP_INDEX_LEN
            }
        };
        if protected[e_word] & 0x80 == 0 {
            return Err(SrtpError::UnencryptedSrtcp);
        }
        let plain = self.inbound.decrypt_rtcp(protected).map_err(map_error)?;
        copy_out(&plain, out)
    }
}

/// One direction's context; SRTCP replay protection for what we receive
/// (SRTP's is the session's own [`ReplayList`]).
fn context(suite: SrtpSuite, key_salt: &[u8], inbound: bool) -> Result<Context, SrtpError> {
    if key_salt.len() != suite.key_salt_len() {
        return Err(SrtpError::Attribute(SdesError::KeyLength {
            suite,
            expected: suite.key_salt_len(),
            got: key_salt.len(),
        }));
    }
    let (key, salt) = key_salt.split_at(suite.key_len());
    let srtcp = inbound.then(|| srtcp_replay_protection(REPLAY_WINDOW));
    Context::new(key, salt, suite.profile(), None, srtcp)
        .map_err(|e| SrtpError::Other(e.to_string()))
}

/// The `rtp` crate header `webrtc-srtp` needs, built from a checked parse of
/// our own instead of `rtp::header::Header::unmarshal`, which allocates per
/// packet and panics on a truncated one-byte extension, and whose
/// recomputed length can differ from the packet's when an extension carries
/// extra padding, which would move the start of encryption.
///
/// `webrtc-srtp` 0.17.2 reads only `ssrc`, `sequence_number` and
/// `marshal_size()` from it, so the CSRC list and extension are expressed as
/// `extensions_padding`, which makes `marshal_size()` equal to the real
/// header length (RFC 3550 §5.1, §5.3.1) with no allocation.
fn header_for(packet: &[u8]) -> Result<(rtp::header::Header, usize), SrtpError> {
    let fixed = packet.get(..12).ok_or(SrtpError::Malformed)?;
    if fixed[0] >> 6 != 2 {
        return Err(SrtpError::Malformed);
    }
    let mut len = 12 + 4 * usize::from(fixed[0] & 0x0f);
    if fixed[0] & 0x10 != 0 {
        let words = packet.get(len + 2..len + 4).ok_or(SrtpError::Malformed)?;
        len += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    if packet.len() < len {
        return Err(SrtpError::Malformed);
    }
    let header = rtp::header::Header {
        version: 2,
        sequence_number: u16::from_be_bytes([fixed[2], fixed[3]]),
        ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
        extension: len > 12,
        // 12 + 4 + (len - 16) == len; len > 12 implies len >= 16.
        extensions_padding: len.saturating_sub(16),
        ..Default::default()
    };
    Ok((header, len))
}

fn check_room(needed: usize, out: &[u8]) -> Result<(), SrtpError> {
    if out.len() < needed {
        return Err(SrtpError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    Ok(())
}

fn copy_out(packet: &[u8], out: &mut [u8]) -> Result<usize, SrtpError> {
    check_room(packet.len(), out)?;
    out[..packet.len()].copy_from_slice(packet);
    Ok(packet.len())
}

fn map_error(error: webrtc_srtp::Error) -> SrtpError {
    use webrtc_srtp::Error as E;
    match error {
        E::RtpFailedToVerifyAuthTag
        | E::RtcpFailedToVerifyAuthTag
        | E::ErrFailedToVerifyAuthTag
        // aes-gcm reports a tag mismatch as its opaque error.
        | E::AesGcm(_) => SrtpError::AuthenticationFailed,
        E::SrtpSsrcDuplicated(..) | E::SrtcpSsrcDuplicated(..) | E::ErrDuplicated => {
            SrtpError::Replayed
        }
        E::ErrTooShortRtp
        | E::ErrTooShortRtcp
        | E::SrtpTooSmall(..)
        | E::SrtcpTooSmall(..)
        | E::RtcpInvalidLengthAuthTag(..)
        | E::Util(_)
        | E::Rtcp(_) => SrtpError::Malformed,
        E::ErrExceededMaxPackets => SrtpError::KeyExhausted,
        other => SrtpError::Other(other.to_string()),
    }
}
