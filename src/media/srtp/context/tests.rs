use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;

pub(super) const SSRC: u32 = 0xCAFE_BABE;

pub(super) fn key_salt(suite: SrtpSuite, fill: u8) -> Vec<u8> {
    (0..suite.key_salt_len() as u8)
        .map(|i| i.wrapping_mul(31) ^ fill)
        .collect()
}

/// Two ends of a call: `a` sends with key 1, `b` with key 2.
fn pair(suite: SrtpSuite) -> (SrtpSession, SrtpSession) {
    let (k1, k2) = (key_salt(suite, 1), key_salt(suite, 2));
    (
        SrtpSession::new(suite, &k1, &k2).expect("valid keys"),
        SrtpSession::new(suite, &k2, &k1).expect("valid keys"),
    )
}

/// RTP packet: 12-octet header, optional CSRCs and extension, payload.
pub(super) fn rtp(seq: u16, csrcs: u8, extension_words: u16, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0x80 | csrcs, 0, 0, 0, 0, 0, 0x12, 0x34];
    if extension_words > 0 {
        p[0] |= 0x10;
    }
    p[1] = 0;
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&SSRC.to_be_bytes());
    for i in 0..csrcs {
        p.extend_from_slice(&[0, 0, 0, i]);
    }
    if extension_words > 0 {
        p.extend_from_slice(&[0xBE, 0xDE]);
        p.extend_from_slice(&extension_words.to_be_bytes());
        // One 1-byte element then padding: longer than its parse needs.
        p.extend_from_slice(&[0x10, 0xAA]);
        p.resize(p.len() + 4 * extension_words as usize - 2, 0);
    }
    p.extend((0..payload_len).map(|i| i as u8));
    p
}

/// An RTCP receiver report with one report block.
pub(super) fn rtcp() -> Vec<u8> {
    let mut p = vec![0x81, 201, 0, 7];
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.extend((0..24).map(|i| i as u8));
    p
}

pub(super) fn protect_rtp(s: &mut SrtpSession, plain: &[u8]) -> Vec<u8> {
    let mut out = vec![0; plain.len() + s.rtp_overhead()];
    let n = s.protect_rtp(plain, &mut out).expect("protect");
    out.truncate(n);
    out
}

pub(super) fn protect_rtcp(s: &mut SrtpSession, plain: &[u8]) -> Vec<u8> {
    let mut out = vec![0; plain.len() + s.rtcp_overhead()];
    let n = s.protect_rtcp(plain, &mut out).expect("protect");
    out.truncate(n);
    out
}

fn unprotect_rtp(s: &mut SrtpSession, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut out = vec![0; packet.len()];
    let n = s.unprotect_rtp(packet, &mut out)?;
    out.truncate(n);
    Ok(out)
}

fn unprotect_rtcp(s: &mut SrtpSession, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut out = vec![0; packet.len()];
    let n = s.unprotect_rtcp(packet, &mut out)?;
    out.truncate(n);
    Ok(out)
}

#[test]
fn round_trip_every_suite() {
    for suite in SrtpSuite::OFFER_ORDER {
        let (mut a, mut b) = pair(suite);
        for (seq, plain) in [rtp(1, 0, 0, 160), rtp(2, 2, 3, 160), rtp(3, 0, 1, 0)]
            .iter()
            .enumerate()
        {
            let protected = protect_rtp(&mut a, plain);
            assert_eq!(
                protected.len(),
                plain.len() + suite.rtp_tag_len(),
                "{suite}"
            );
            assert_ne!(
                &protected[protected.len() - 20..],
                &plain[plain.len() - 20..]
            );
            assert_eq!(
                unprotect_rtp(&mut b, &protected).as_ref(),
                Ok(plain),
                "{suite} {seq}"
            );
            // The other direction uses the other key.
            let back = protect_rtp(&mut b, plain);
            assert_ne!(back, protected, "{suite}");
            assert_eq!(unprotect_rtp(&mut a, &back).as_ref(), Ok(plain), "{suite}");
        }
        let plain = rtcp();
        for _ in 0..3 {
            let protected = protect_rtcp(&mut a, &plain);
            assert_eq!(protected.len(), plain.len() + a.rtcp_overhead(), "{suite}");
            assert_eq!(
                unprotect_rtcp(&mut b, &protected),
                Ok(plain.clone()),
                "{suite}"
            );
        }
    }
}

#[test]
fn a_flipped_bit_fails_authentication() {
    for suite in SrtpSuite::OFFER_ORDER {
        let (mut a, mut b) = pair(suite);
        let protected = protect_rtp(&mut a, &rtp(10, 0, 0, 160));
        // Header (marker bit), payload, and tag.
        for bit in [8, 8 * 100 + 3, 8 * (protected.len() - 1)] {
            let mut forged = protected.clone();
            forged[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                unprotect_rtp(&mut b, &forged),
                Err(SrtpError::AuthenticationFailed),
                "{suite} bit {bit}"
            );
        }
        // Failures leave the genuine packet acceptable.
        assert!(unprotect_rtp(&mut b, &protected).is_ok(), "{suite}");

        let protected = protect_rtcp(&mut a, &rtcp());
        for at in [1, 20, protected.len() - 1] {
            let mut forged = protected.clone();
            forged[at] ^= 0x04;
            assert_eq!(
                unprotect_rtcp(&mut b, &forged),
                Err(SrtpError::AuthenticationFailed),
                "{suite} octet {at}"
            );
        }
        assert!(unprotect_rtcp(&mut b, &protected).is_ok(), "{suite}");
    }
}

#[test]
fn replays_are_refused() {
    for suite in SrtpSuite::OFFER_ORDER {
        let (mut a, mut b) = pair(suite);
        let first = protect_rtp(&mut a, &rtp(100, 0, 0, 160));
        assert!(unprotect_rtp(&mut b, &first).is_ok());
        assert_eq!(
            unprotect_rtp(&mut b, &first),
            Err(SrtpError::Replayed),
            "{suite}"
        );
        // Out of order within the window is fine, once.
        let later: Vec<Vec<u8>> = (101..=200)
            .map(|seq| protect_rtp(&mut a, &rtp(seq, 0, 0, 20)))
            .collect();
        assert!(unprotect_rtp(&mut b, &later[99]).is_ok());
        assert!(
            unprotect_rtp(&mut b, &later[50]).is_ok(),
            "{suite} within window"
        );
        assert_eq!(unprotect_rtp(&mut b, &later[50]), Err(SrtpError::Replayed));
        // Behind the 64-packet window.
        assert_eq!(
            unprotect_rtp(&mut b, &later[10]),
            Err(SrtpError::Replayed),
            "{suite}"
        );

        let report = protect_rtcp(&mut a, &rtcp());
        assert!(unprotect_rtcp(&mut b, &report).is_ok());
        assert_eq!(
            unprotect_rtcp(&mut b, &report),
            Err(SrtpError::Replayed),
            "{suite}"
        );
    }
}

#[test]
fn malformed_and_unencrypted_packets_are_told_apart() {
    for suite in SrtpSuite::OFFER_ORDER {
        let (mut a, mut b) = pair(suite);
        let mut out = [0u8; 64];
        assert_eq!(
            b.unprotect_rtp(&[0x80; 11], &mut out),
            Err(SrtpError::Malformed)
        );
        assert_eq!(
            b.unprotect_rtp(&[0x40; 40], &mut out),
            Err(SrtpError::Malformed)
        );
        // Extension longer than the packet.
        let mut truncated = rtp(1, 0, 2, 0);
        truncated.truncate(18);
        assert_eq!(
            b.unprotect_rtp(&truncated, &mut out),
            Err(SrtpError::Malformed)
        );
        // Header only, no room for the tag.
        assert_eq!(
            b.unprotect_rtp(&rtp(1, 0, 0, 3), &mut out),
            Err(SrtpError::Malformed)
        );
        assert_eq!(
            b.unprotect_rtcp(&[0x81, 201, 0, 1, 1, 2, 3], &mut out),
            Err(SrtpError::Malformed)
        );

        let mut protected = protect_rtcp(&mut a, &rtcp());
        let e_word = match suite {
            SrtpSuite::AES_CM_128_HMAC_SHA1_80 | SrtpSuite::AES_CM_128_HMAC_SHA1_32 => {
                protected.len() - 14
            }
            _ => protected.len() - 4,
        };
        protected[e_word] &= 0x7f;
        assert_eq!(
            unprotect_rtcp(&mut b, &protected),
            Err(SrtpError::UnencryptedSrtcp),
            "{suite}"
        );

        let plain = rtp(1, 0, 0, 160);
        let mut small = [0u8; 100];
        assert_eq!(
            a.protect_rtp(&plain, &mut small),
            Err(SrtpError::BufferTooSmall {
                needed: 172 + suite.rtp_tag_len(),
                available: 100
            })
        );
    }
}

/// Random datagrams and mutated genuine packets: never a panic.
#[test]
fn garbage_never_panics() {
    let mut rng = SmallRng::seed_from_u64(3711);
    let mut out = [0u8; 300];
    for suite in SrtpSuite::OFFER_ORDER {
        let (mut a, mut b) = pair(suite);
        let genuine_rtp = protect_rtp(&mut a, &rtp(5, 1, 1, 40));
        let genuine_rtcp = protect_rtcp(&mut a, &rtcp());
        for i in 0..3000 {
            let mut packet: Vec<u8> = match i % 3 {
                0 => (0..rng.random_range(0..80)).map(|_| rng.random()).collect(),
                1 => genuine_rtp.clone(),
                _ => genuine_rtcp.clone(),
            };
            if !packet.is_empty() {
                let cut = rng.random_range(0..=packet.len());
                packet.truncate(cut);
            }
            if let Some(first) = packet.first_mut() {
                *first = (*first & 0x3f) | 0x80;
                if rng.random() {
                    *first ^= rng.random::<u8>() & 0x3f;
                }
            }
            let _ = b.unprotect_rtp(&packet, &mut out);
            let _ = b.unprotect_rtcp(&packet, &mut out);
            let _ = a.protect_rtp(&packet, &mut out);
            let _ = a.protect_rtcp(&packet, &mut out);
        }
    }
}

#[test]
fn sessions_come_from_negotiated_attributes() {
    let local = CryptoAttribute::generate(1, SrtpSuite::AEAD_AES_128_GCM).expect("random");
    let remote = CryptoAttribute::generate(1, SrtpSuite::AEAD_AES_128_GCM).expect("random");
    let mut ours = SrtpSession::from_attributes(&local, &remote).expect("same suite");
    let mut theirs = SrtpSession::from_attributes(&remote, &local).expect("same suite");
    let plain = rtp(7, 0, 0, 160);
    let protected = protect_rtp(&mut ours, &plain);
    assert_eq!(unprotect_rtp(&mut theirs, &protected), Ok(plain));
    assert_eq!(ours.suite(), SrtpSuite::AEAD_AES_128_GCM);
    assert!(!format!("{ours:?}").contains("key"));

    let other = CryptoAttribute::generate(1, SrtpSuite::AES_CM_128_HMAC_SHA1_80).expect("random");
    assert!(matches!(
        SrtpSession::from_attributes(&local, &other),
        Err(SrtpError::SuiteMismatch { .. })
    ));
    let mut with_mki = remote.clone();
    with_mki.keys[0].mki = Some((1, 1));
    assert_eq!(
        SrtpSession::from_attributes(&local, &with_mki).map(|_| ()),
        Err(SrtpError::Attribute(SdesError::MkiUnsupported))
    );
    fn is_send<T: Send>() {}
    is_send::<SrtpSession>();
}
