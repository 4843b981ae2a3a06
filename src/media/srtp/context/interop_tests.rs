//! Byte-exact checks of what `webrtc-srtp` emits with our keys against
//! SRTP computed independently from the RFCs.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::tests::{key_salt, protect_rtcp, protect_rtp, rtcp, rtp, SSRC};
use super::*;
use crate::media::srtp::kdf::{self, Stream};

/// RFC 3711 §4.1.1 and §4.2 done by hand from our own key derivation: the
/// IV is (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), the tag is
/// HMAC-SHA1(k_a, packet || ROC) truncated.
fn reference_aes_cm_rtp(
    suite: SrtpSuite,
    master: &[u8],
    plain: &[u8],
    header_len: usize,
    roc: u32,
) -> Vec<u8> {
    let (key, salt) = master.split_at(suite.key_len());
    let keys = kdf::session_keys(suite, key, salt, Stream::Rtp).expect("lengths");
    let seq = u16::from_be_bytes([plain[2], plain[3]]);
    let index = (u64::from(roc) << 16) | u64::from(seq);
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(&keys.salt);
    for (i, b) in plain[8..12].iter().enumerate() {
        iv[4 + i] ^= b;
    }
    for (i, b) in index.to_be_bytes()[2..].iter().enumerate() {
        iv[8 + i] ^= b;
    }
    let mut packet = plain.to_vec();
    let mut stream = vec![0u8; plain.len() - header_len];
    kdf::aes_cm_keystream(&keys.encryption, &iv, &mut stream).expect("key");
    for (p, k) in packet[header_len..].iter_mut().zip(&stream) {
        *p ^= k;
    }
    let mut mac =
        <Hmac<Sha1> as Mac>::new_from_slice(&keys.authentication).expect("any key length");
    mac.update(&packet);
    mac.update(&roc.to_be_bytes());
    let tag = mac.finalize().into_bytes();
    packet.extend_from_slice(&tag[..suite.rtp_tag_len()]);
    packet
}

/// SRTCP the same way (RFC 3711 §3.4, §4.1.1 with the SRTCP index).
fn reference_aes_cm_rtcp(suite: SrtpSuite, master: &[u8], plain: &[u8], index: u32) -> Vec<u8> {
    let (key, salt) = master.split_at(suite.key_len());
    let keys = kdf::session_keys(suite, key, salt, Stream::Rtcp).expect("lengths");
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(&keys.salt);
    for (i, b) in plain[4..8].iter().enumerate() {
        iv[4 + i] ^= b;
    }
    for (i, b) in index.to_be_bytes().iter().enumerate() {
        iv[10 + i] ^= b;
    }
    let mut packet = plain.to_vec();
    let mut stream = vec![0u8; plain.len() - 8];
    kdf::aes_cm_keystream(&keys.encryption, &iv, &mut stream).expect("key");
    for (p, k) in packet[8..].iter_mut().zip(&stream) {
        *p ^= k;
    }
    packet.extend_from_slice(&(index | 0x8000_0000).to_be_bytes());
    let mut mac =
        <Hmac<Sha1> as Mac>::new_from_slice(&keys.authentication).expect("any key length");
    mac.update(&packet);
    let tag = mac.finalize().into_bytes();
    packet.extend_from_slice(&tag[..suite.rtcp_tag_len()]);
    packet
}

/// RFC 7714 §8.1 and §9.1: IV = salt XOR (0 || SSRC || ROC || SEQ) for RTP,
/// salt XOR (0 || SSRC || 0 || index) for RTCP, whose AAD ends with E||index.
fn reference_gcm(
    suite: SrtpSuite,
    master: &[u8],
    plain: &[u8],
    header_len: usize,
    roc: u32,
    rtcp_index: Option<u32>,
) -> Vec<u8> {
    let (key, salt) = master.split_at(suite.key_len());
    let stream = if rtcp_index.is_some() {
        Stream::Rtcp
    } else {
        Stream::Rtp
    };
    let keys = kdf::session_keys(suite, key, salt, stream).expect("lengths");
    let mut iv = [0u8; 12];
    let mut aad = plain[..header_len].to_vec();
    match rtcp_index {
        None => {
            iv[2..6].copy_from_slice(&plain[8..12]);
            iv[6..10].copy_from_slice(&roc.to_be_bytes());
            iv[10..12].copy_from_slice(&plain[2..4]);
        }
        Some(index) => {
            iv[2..6].copy_from_slice(&plain[4..8]);
            iv[8..12].copy_from_slice(&index.to_be_bytes());
            aad.extend_from_slice(&(index | 0x8000_0000).to_be_bytes());
        }
    }
    for (v, s) in iv.iter_mut().zip(keys.salt.iter()) {
        *v ^= s;
    }
    let payload = Payload {
        msg: &plain[header_len..],
        aad: &aad,
    };
    let sealed = match suite {
        SrtpSuite::AEAD_AES_256_GCM => Aes256Gcm::new_from_slice(&keys.encryption)
            .expect("key")
            .encrypt(Nonce::from_slice(&iv), payload),
        _ => Aes128Gcm::new_from_slice(&keys.encryption)
            .expect("key")
            .encrypt(Nonce::from_slice(&iv), payload),
    }
    .expect("seal");
    let mut packet = plain[..header_len].to_vec();
    packet.extend_from_slice(&sealed);
    if rtcp_index.is_some() {
        packet.extend_from_slice(&aad[header_len..]);
    }
    packet
}

/// What `webrtc-srtp` emits with our keys is byte for byte what the RFCs
/// compute from the same master key, through a sequence-number wrap (ROC 1).
#[test]
fn protection_matches_an_independent_implementation() {
    for suite in SrtpSuite::OFFER_ORDER {
        let master = key_salt(suite, 9);
        let mut session = SrtpSession::new(suite, &master, &key_salt(suite, 3)).expect("keys");
        for (seq, roc) in [(65534u16, 0u32), (65535, 0), (0, 1), (1, 1)] {
            let (plain, header_len) = if seq % 2 == 0 {
                (rtp(seq, 0, 0, 160), 12)
            } else {
                (rtp(seq, 2, 2, 160), 12 + 8 + 12)
            };
            let expected = match suite {
                SrtpSuite::AES_CM_128_HMAC_SHA1_80 | SrtpSuite::AES_CM_128_HMAC_SHA1_32 => {
                    reference_aes_cm_rtp(suite, &master, &plain, header_len, roc)
                }
                _ => reference_gcm(suite, &master, &plain, header_len, roc, None),
            };
            assert_eq!(
                protect_rtp(&mut session, &plain),
                expected,
                "{suite} seq {seq}"
            );
        }
        let plain = rtcp();
        for index in 1..=2 {
            let expected = match suite {
                SrtpSuite::AES_CM_128_HMAC_SHA1_80 | SrtpSuite::AES_CM_128_HMAC_SHA1_32 => {
                    reference_aes_cm_rtcp(suite, &master, &plain, index)
                }
                _ => reference_gcm(suite, &master, &plain, 8, 0, Some(index)),
            };
            assert_eq!(
                protect_rtcp(&mut session, &plain),
                expected,
                "{suite} SRTCP {index}"
            );
        }
    }
}

/// The RFC 3711 Appendix B.3 master key run through `webrtc-srtp` gives the
/// packet the B.3 session keys give.
#[test]
fn rfc3711_b3_master_key_through_the_session() {
    let suite = SrtpSuite::AES_CM_128_HMAC_SHA1_80;
    let master =
        hex::decode("E1F97A0D3E018BE0D64FA32C06DE41390EC675AD498AFEEBB6960B3AABE6").expect("hex");
    let mut session = SrtpSession::new(suite, &master, &master).expect("keys");
    let plain = rtp(0x1234, 0, 0, 160);
    let protected = protect_rtp(&mut session, &plain);
    // Payload XOR keystream under the B.3 session key and salt.
    let session_key = hex::decode("C61E7A93744F39EE10734AFE3FF7A087").expect("hex");
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(&hex::decode("30CBBC08863D8C85D49DB34A9AE1").expect("hex"));
    for (i, b) in SSRC.to_be_bytes().iter().enumerate() {
        iv[4 + i] ^= b;
    }
    iv[12] ^= 0x12;
    iv[13] ^= 0x34;
    let mut stream = [0u8; 160];
    kdf::aes_cm_keystream(&session_key, &iv, &mut stream).expect("key");
    let payload: Vec<u8> = plain[12..].iter().zip(stream).map(|(p, k)| p ^ k).collect();
    assert_eq!(&protected[12..172], &payload[..]);
    let auth_key = hex::decode("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4").expect("hex");
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&auth_key).expect("any key length");
    mac.update(&protected[..172]);
    mac.update(&[0, 0, 0, 0]);
    assert_eq!(&protected[172..], &mac.finalize().into_bytes()[..10]);
}
