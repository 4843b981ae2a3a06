//! SDES-SRTP in offer/answer (RFC 4568 §7): the profile, the `a=crypto`
//! line chosen, and the policy matrix.

use super::samples::{crlf, local_media, new_origin};
use crate::config::{SrtpMode, SrtpPolicy};
use crate::media::srtp::{CryptoAttribute, SdesError, SrtpSuite};
use crate::sip::sdp::{
    accept_answer, answer, offer, LocalSrtp, NegotiationError, SessionDescription, CRYPTO,
    NEEDS_TLS, SRTP_OFF,
};

/// The example key of RFC 4568 (30 octets).
const KEY_80: &str = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";

fn policy(mode: SrtpMode) -> SrtpPolicy {
    SrtpPolicy {
        mode,
        ..SrtpPolicy::default()
    }
}

fn leg(mode: SrtpMode, secure: bool) -> crate::sip::sdp::LocalMedia {
    let mut local = local_media();
    local.srtp = LocalSrtp::for_leg(&policy(mode), secure, true).expect("random");
    local
}

fn offer_with(profile: &str, crypto: &[String]) -> SessionDescription {
    let mut lines = vec![
        "v=0".to_string(),
        "o=- 1 1 IN IP4 192.0.2.7".into(),
        "s=-".into(),
        "c=IN IP4 192.0.2.7".into(),
        "t=0 0".into(),
        format!("m=audio 4000 {profile} 0 101"),
        "a=rtpmap:0 PCMU/8000".into(),
        "a=rtpmap:101 telephone-event/8000".into(),
    ];
    lines.extend(crypto.iter().map(|c| format!("a=crypto:{c}")));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    SessionDescription::parse(&crlf(&lines)).expect("parses")
}

fn crypto_of(sdp: &SessionDescription) -> Vec<CryptoAttribute> {
    sdp.media[0]
        .attributes
        .iter()
        .filter(|a| a.name == CRYPTO)
        .map(|a| CryptoAttribute::parse(a.value.as_deref().unwrap_or("")).expect("ours parse"))
        .collect()
}

#[test]
fn savp_offer_is_answered_with_the_first_acceptable_line_and_a_fresh_key() {
    let offered = offer_with(
        "RTP/SAVP",
        &[
            format!("1 F8_128_HMAC_SHA1_80 inline:{KEY_80}"),
            format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_80}|2^20"),
            format!("3 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}"),
        ],
    );
    let local = leg(SrtpMode::Optional, true);
    let negotiated = answer(&offered, &local, &mut new_origin()).expect("answers");
    assert_eq!(negotiated.answer.media[0].protocol, "RTP/SAVP");
    let ours = crypto_of(&negotiated.answer);
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].tag, 2);
    assert_eq!(ours[0].suite, SrtpSuite::AES_CM_128_HMAC_SHA1_32);
    let keys = negotiated.audio.srtp.expect("keyed");
    assert_eq!(keys.local, ours[0]);
    assert_eq!(keys.remote.tag, 2);
    assert_ne!(
        keys.local.keys[0].master_key_salt,
        keys.remote.keys[0].master_key_salt
    );
}

#[test]
fn suites_not_allowed_are_skipped() {
    let offered = offer_with(
        "RTP/SAVPF",
        &[
            format!("1 AES_CM_128_HMAC_SHA1_32 inline:{KEY_80}"),
            format!("2 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}"),
        ],
    );
    let mut local = local_media();
    let only_80 = SrtpPolicy {
        suites: vec![SrtpSuite::AES_CM_128_HMAC_SHA1_80],
        ..policy(SrtpMode::Optional)
    };
    local.srtp = LocalSrtp::for_leg(&only_80, true, false).unwrap();
    let negotiated = answer(&offered, &local, &mut new_origin()).expect("answers");
    // The offered profile is kept (RFC 3264 §6).
    assert_eq!(negotiated.answer.media[0].protocol, "RTP/SAVPF");
    assert_eq!(crypto_of(&negotiated.answer)[0].tag, 2);
}

#[test]
fn each_malformed_line_is_refused_with_its_reason() {
    let cases = [
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{}", "!!!notbase64!!!"),
            SdesError::BadBase64,
        ),
        (
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==".to_string(),
            SdesError::KeyLength {
                suite: SrtpSuite::AES_CM_128_HMAC_SHA1_80,
                expected: 30,
                got: 28,
            },
        ),
        (
            format!("1 NULL_HMAC_SHA1_80 inline:{KEY_80}"),
            SdesError::UnknownSuite("NULL_HMAC_SHA1_80".into()),
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|2^x"),
            SdesError::BadLifetime,
        ),
        (
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}|1:999"),
            SdesError::BadMki,
        ),
        (
            format!("x AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}"),
            SdesError::BadTag,
        ),
    ];
    let local = leg(SrtpMode::Optional, true);
    for (line, reason) in cases {
        let offered = offer_with("RTP/SAVP", std::slice::from_ref(&line));
        let refused = answer(&offered, &local, &mut new_origin());
        let expected = NegotiationError::Crypto(SdesError::NoneAcceptable(Box::new(reason)));
        assert_eq!(refused.as_ref().err(), Some(&expected), "{line}");
        let text = expected.to_string();
        assert!(!text.contains(KEY_80), "{text}");
    }
    let none = answer(&offer_with("RTP/SAVP", &[]), &local, &mut new_origin());
    assert_eq!(
        none.err(),
        Some(NegotiationError::Crypto(SdesError::NoneOffered))
    );
}

#[test]
fn policy_matrix() {
    let savp = offer_with(
        "RTP/SAVP",
        &[format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}")],
    );
    let avp = offer_with("RTP/AVP", &[]);
    let run = |mode, secure, offered: &SessionDescription| {
        answer(offered, &leg(mode, secure), &mut new_origin()).map(|n| n.audio.srtp.is_some())
    };
    use SrtpMode::*;
    // (mode, TLS, offer) -> SRTP answered, plain answered, or the refusal.
    assert_eq!(
        run(Off, true, &savp),
        Err(NegotiationError::SrtpRefused(SRTP_OFF))
    );
    assert_eq!(run(Off, true, &avp), Ok(false));
    assert_eq!(run(Optional, true, &savp), Ok(true));
    assert_eq!(
        run(Optional, false, &savp),
        Err(NegotiationError::SrtpRefused(NEEDS_TLS))
    );
    assert_eq!(run(Optional, false, &avp), Ok(false));
    assert_eq!(run(Mandatory, true, &savp), Ok(true));
    assert_eq!(
        run(Mandatory, true, &avp),
        Err(NegotiationError::SrtpRequired)
    );
    assert_eq!(
        run(Mandatory, false, &savp),
        Err(NegotiationError::SrtpRefused(NEEDS_TLS))
    );
    // Over UDP or TCP when the operator says the keys may go in clear.
    let relaxed = SrtpPolicy {
        require_secure_signalling: false,
        ..policy(Optional)
    };
    let mut local = local_media();
    local.srtp = LocalSrtp::for_leg(&relaxed, false, false).unwrap();
    assert!(answer(&savp, &local, &mut new_origin())
        .unwrap()
        .audio
        .srtp
        .is_some());
    // Mandatory SRTP that may not be keyed cannot offer.
    assert!(leg(Mandatory, false).srtp.can_offer().is_err());
    assert!(leg(Mandatory, true).srtp.can_offer().is_ok());
}

#[test]
fn a_reoffer_with_the_same_line_keeps_both_keys() {
    let line = format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}");
    let offered = offer_with("RTP/SAVP", std::slice::from_ref(&line));
    let mut local = leg(SrtpMode::Optional, true);
    let first = answer(&offered, &local, &mut new_origin()).unwrap();
    local.srtp.current = first.audio.srtp.clone();
    let again = answer(&offered, &local, &mut new_origin()).unwrap();
    assert_eq!(again.audio.srtp, first.audio.srtp);
    // A new key of the peer's: new keys of ours too.
    let fresh = CryptoAttribute::generate(1, SrtpSuite::AES_CM_128_HMAC_SHA1_80).unwrap();
    let rekeyed = offer_with("RTP/SAVP", &[fresh.to_string()]);
    let changed = answer(&rekeyed, &local, &mut new_origin()).unwrap();
    let keys = changed.audio.srtp.unwrap();
    assert_eq!(keys.remote, fresh);
    assert_ne!(
        Some(&keys.local),
        first.audio.srtp.as_ref().map(|k| &k.local)
    );
}

#[test]
fn mandatory_offers_savp_and_matches_the_answer() {
    let local = leg(SrtpMode::Mandatory, true);
    let ours = offer(&local, &mut new_origin());
    assert_eq!(ours.media[0].protocol, "RTP/SAVP");
    let lines = crypto_of(&ours);
    let suites: Vec<_> = lines.iter().map(|l| l.suite).collect();
    assert_eq!(suites, SrtpSuite::OFFER_ORDER.to_vec());
    // The peer answers our second line with its own key.
    let theirs = format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_80}");
    let answered = offer_with("RTP/SAVP", &[theirs]);
    let audio = accept_answer(&ours, &answered).expect("matches");
    let keys = audio.srtp.expect("keyed");
    assert_eq!(keys.local, lines[1]);
    assert_eq!(keys.remote.suite, SrtpSuite::AES_CM_128_HMAC_SHA1_32);
    // A plain answer to an SRTP offer is refused.
    assert_eq!(
        accept_answer(&ours, &offer_with("RTP/AVP", &[])),
        Err(NegotiationError::SrtpRequired)
    );
    // Optional offers plain RTP.
    let plain = offer(&leg(SrtpMode::Optional, true), &mut new_origin());
    assert_eq!(plain.media[0].protocol, "RTP/AVP");
    assert!(crypto_of(&plain).is_empty());
}

#[test]
fn debug_of_negotiated_audio_shows_no_key() {
    let offered = offer_with(
        "RTP/SAVP",
        &[format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}")],
    );
    let negotiated = answer(&offered, &leg(SrtpMode::Optional, true), &mut new_origin()).unwrap();
    let text = format!("{:?}", negotiated.audio);
    assert!(!text.contains(KEY_80));
    assert!(text.contains("redacted"));
}

#[test]
fn a_request_over_another_transport_changes_whether_keys_may_go() {
    let savp = offer_with(
        "RTP/SAVP",
        &[format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_80}")],
    );
    let mut local = leg(SrtpMode::Optional, true);
    local.srtp.signalling_changed(false);
    assert_eq!(
        answer(&savp, &local, &mut new_origin()).err(),
        Some(NegotiationError::SrtpRefused(NEEDS_TLS))
    );
    local.srtp.signalling_changed(true);
    assert!(answer(&savp, &local, &mut new_origin()).is_ok());
    // Off stays off whatever the transport.
    let mut off = leg(SrtpMode::Off, true);
    off.srtp.signalling_changed(true);
    assert_eq!(off.srtp.refused, Some(SRTP_OFF));
}
