//! `srtp`, `srtp_suites` and `srtp_require_secure_signalling` in `[media]`,
//! `[[routes]]` and `[[users]]`.

use std::path::Path;

use super::*;
use crate::media::srtp::SrtpSuite;

fn load(prompts: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let text = format!("{text}\n[prompts]\ndir = '{}'\n", prompts.display());
    Config::from_toml_str(&text, "t.toml")
}

fn keys(errors: &ConfigErrors) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| (e.key.clone().unwrap_or_default(), e.message.clone()))
        .collect()
}

#[test]
fn defaults_are_optional_all_suites_and_tls_required() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(dir.path(), "").unwrap();
    assert_eq!(config.media.srtp, SrtpPolicy::default());
    assert_eq!(config.media.srtp.mode, SrtpMode::Optional);
    assert_eq!(config.media.srtp.suites, SrtpSuite::OFFER_ORDER.to_vec());
    assert!(config.media.srtp.require_secure_signalling);
}

#[test]
fn media_routes_and_users_read_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[media]\nsrtp = 'mandatory'\nsrtp_suites = ['AEAD_AES_128_GCM']\n\
                srtp_require_secure_signalling = false\n\
                [[routes]]\nmatch = '^gw$'\napp = 'bridge'\ntarget = 'sip:gw@192.0.2.1'\n\
                srtp = 'off'\n\
                [[users]]\nname = 'alice'\npassword = 'pw'\nsrtp = 'mandatory'\n";
    let config = load(dir.path(), text).unwrap();
    assert_eq!(
        config.media.srtp,
        SrtpPolicy {
            mode: SrtpMode::Mandatory,
            suites: vec![SrtpSuite::AEAD_AES_128_GCM],
            require_secure_signalling: false,
        }
    );
    let route = &config.routes[0].srtp;
    assert_eq!(route.mode, Some(SrtpMode::Off));
    assert_eq!(
        route.apply(&config.media.srtp).suites,
        config.media.srtp.suites
    );
    assert_eq!(config.users[0].srtp.mode, Some(SrtpMode::Mandatory));
}

#[test]
fn bad_values_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[media]\nsrtp = 'always'\nsrtp_suites = ['AES_CM_128_HMAC_SHA1_80', 'F8']\n\
                srtp_require_secure_signalling = 'yes'\n\
                [[users]]\nname = 'alice'\npassword = 'pw'\nsrtp_suites = []\n";
    let errors = load(dir.path(), text).unwrap_err();
    let found = keys(&errors);
    let has = |key: &str, part: &str| found.iter().any(|(k, m)| k == key && m.contains(part));
    assert!(has("media.srtp", "unknown `always`"), "{found:?}");
    assert!(
        has("media.srtp_suites[1]", "unknown crypto-suite `F8`"),
        "{found:?}"
    );
    assert!(
        has("media.srtp_require_secure_signalling", "true or false"),
        "{found:?}"
    );
    assert!(has("users[0].srtp_suites", "at least one"), "{found:?}");
}
