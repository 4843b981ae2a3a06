use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;

/// The example key of RFC 4568 (30 octets).
const KEY_80: &str = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
/// 28 octets for AEAD_AES_128_GCM, padded.
const KEY_GCM128: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==";

fn parse(value: &str) -> Result<CryptoAttribute, SdesError> {
    CryptoAttribute::parse(value)
}

#[test]
fn parses_the_rfc_example() {
    let line = format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^20|1:4");
    let attr = parse(&line).expect("valid line");
    assert_eq!(attr.tag, 1);
    assert_eq!(attr.suite, SrtpSuite::AES_CM_128_HMAC_SHA1_80);
    assert_eq!(attr.keys.len(), 1);
    assert_eq!(attr.keys[0].master_key_salt.len(), 30);
    assert_eq!(attr.keys[0].lifetime, Some(1 << 20));
    assert_eq!(attr.keys[0].mki, Some((1, 4)));
    assert_eq!(attr.to_string(), line);
    assert_eq!(attr.single_key(), Err(SdesError::MkiUnsupported));
}

#[test]
fn parses_plain_lines_and_formats_them_back() {
    for line in [
        format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}"),
        format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_80}|1000"),
        format!("3 AEAD_AES_128_GCM inline:{KEY_GCM128}"),
        format!(
            "123456789 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} KDR=0 WSH=128 FEC_ORDER=FEC_SRTP"
        ),
        format!("4 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^31|1:1;inline:{KEY_80}|2^31|2:1"),
    ] {
        let attr = parse(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(attr.to_string(), line);
        assert_eq!(parse(&attr.to_string()), Ok(attr));
    }
    // Unpadded GCM key, extra blanks.
    let attr = parse(&format!(
        "  5   AEAD_AES_128_GCM  inline:{} ",
        KEY_GCM128.trim_end_matches('=')
    ))
    .expect("unpadded base64 accepted");
    assert_eq!(attr.single_key().map(|k| k.master_key_salt.len()), Ok(28));
}

#[test]
fn each_failure_has_its_reason() {
    let cases: Vec<(String, SdesError)> = vec![
        (String::new(), SdesError::Missing("tag")),
        ("1".into(), SdesError::Missing("crypto-suite")),
        (
            "1 AES_CM_128_HMAC_SHA1_80".into(),
            SdesError::Missing("key parameters"),
        ),
        (
            format!("x AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}"),
            SdesError::BadTag,
        ),
        (
            format!("1234567890 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}"),
            SdesError::BadTag,
        ),
        (
            format!("1 F8_128_HMAC_SHA1_80 inline:{KEY_80}"),
            SdesError::UnknownSuite("F8_128_HMAC_SHA1_80".into()),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 {KEY_80}"),
            SdesError::NotInline,
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:@@@@".into(),
            SdesError::BadBase64,
        ),
        (
            format!("1 AEAD_AES_256_GCM inline:{KEY_80}"),
            SdesError::KeyLength {
                suite: SrtpSuite::AEAD_AES_256_GCM,
                expected: 44,
                got: 30,
            },
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^x"),
            SdesError::BadLifetime,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|0"),
            SdesError::BadLifetime,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|"),
            SdesError::BadLifetime,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^49"),
            SdesError::LifetimeTooLong {
                suite: SrtpSuite::AES_CM_128_HMAC_SHA1_80,
                max_exponent: 48,
            },
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|281474976710657"),
            SdesError::LifetimeTooLong {
                suite: SrtpSuite::AES_CM_128_HMAC_SHA1_80,
                max_exponent: 48,
            },
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|1:0"),
            SdesError::BadMki,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|1:129"),
            SdesError::BadMki,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|256:1"),
            SdesError::BadMki,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|1:4|2^20"),
            SdesError::BadMki,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|1:4;inline:{KEY_80}|2:2"),
            SdesError::MkiLengthMismatch,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80};inline:{KEY_80}"),
            SdesError::MultipleKeysWithoutMki,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} UNENCRYPTED_SRTP"),
            SdesError::SecurityDowngrade("UNENCRYPTED_SRTP"),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} UNAUTHENTICATED_SRTP"),
            SdesError::SecurityDowngrade("UNAUTHENTICATED_SRTP"),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} KDR=18"),
            SdesError::KdrUnsupported(18),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} KDR=25"),
            SdesError::BadSessionParam("KDR=25".into()),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} WSH=32"),
            SdesError::BadSessionParam("WSH=32".into()),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} FEC_KEY=inline:{KEY_80}"),
            SdesError::UnsupportedSessionParam("FEC_KEY".into()),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} FOO=1"),
            SdesError::UnknownSessionParam("FOO".into()),
        ),
    ];
    for (line, expected) in cases {
        let got = parse(&line);
        assert_eq!(got, Err(expected), "{line}");
    }
}

#[test]
fn keys_never_show_in_debug_or_errors() {
    let attr = parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}")).expect("valid");
    let debug = format!("{attr:?}");
    assert!(debug.contains("redacted"), "{debug}");
    assert!(!debug.contains(&KEY_80[..8]), "{debug}");
    let raw = &attr.keys[0].master_key_salt;
    assert!(
        !debug.contains(&format!("{}, {}", raw[0], raw[1])),
        "{debug}"
    );
    // A key of the wrong length and a FEC key are refused without echo.
    for line in [
        format!("1 AEAD_AES_128_GCM inline:{KEY_80}"),
        format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80} FEC_KEY=inline:{KEY_80}"),
        format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|{KEY_80}"),
    ] {
        let err = parse(&line).expect_err("refused");
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(&KEY_80[..8]), "{text}");
        }
    }
}

#[test]
fn generated_keys_are_fresh_and_well_formed() {
    for suite in SrtpSuite::OFFER_ORDER {
        let a = CryptoAttribute::generate(7, suite).expect("random source");
        let b = CryptoAttribute::generate(7, suite).expect("random source");
        assert_ne!(a.keys[0].master_key_salt, b.keys[0].master_key_salt);
        assert_eq!(a.keys[0].master_key_salt.len(), suite.key_salt_len());
        assert_eq!(parse(&a.to_string()), Ok(a));
    }
    let offer = CryptoAttribute::generate_offer(&SrtpSuite::OFFER_ORDER).expect("random");
    let tags: Vec<u32> = offer.iter().map(|line| line.tag).collect();
    assert_eq!(tags, [1, 2, 3, 4]);
    assert_eq!(offer[0].suite, SrtpSuite::AES_CM_128_HMAC_SHA1_80);
}

/// Truncations, mutations and random strings: never a panic, and whatever
/// parses formats back to something that parses to the same value.
#[test]
fn garbage_never_panics() {
    let seeds = [
        format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^20|1:4 KDR=0 WSH=64"),
        format!("2 AEAD_AES_128_GCM inline:{KEY_GCM128}|1:1;inline:{KEY_GCM128}|2:1"),
    ];
    let alphabet: Vec<char> = "0123456789 :;|^=+/_-ainlAESCMGHSx\t\u{e9}\u{0}"
        .chars()
        .collect();
    let mut rng = SmallRng::seed_from_u64(4568);
    let check = |input: &str| {
        if let Ok(attr) = CryptoAttribute::parse(input) {
            assert_eq!(
                CryptoAttribute::parse(&attr.to_string()).as_ref(),
                Ok(&attr)
            );
        }
    };
    for seed in &seeds {
        for end in 0..=seed.len() {
            if let Some(prefix) = seed.get(..end) {
                check(prefix);
            }
        }
    }
    for _ in 0..20_000 {
        let mut chars: Vec<char> = seeds[rng.random_range(0..seeds.len())].chars().collect();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..chars.len());
            let c = alphabet[rng.random_range(0..alphabet.len())];
            match rng.random_range(0..3) {
                0 => chars[at] = c,
                1 => chars.insert(at, c),
                _ => {
                    chars.remove(at);
                }
            }
            if chars.is_empty() {
                break;
            }
        }
        check(&chars.iter().collect::<String>());
        let len = rng.random_range(0..80);
        let random: String = (0..len)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect();
        check(&random);
    }
}
