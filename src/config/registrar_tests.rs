//! `[registrar]` and `[[users]]`: defaults, the example file, every problem.

use std::path::Path;

use super::tests::shipped_prompts;
use super::*;

fn with_prompts(text: &str, dir: &Path) -> String {
    format!("{text}\n[prompts]\ndir = '{}'\n", dir.display())
}

fn problems(text: &str) -> Vec<(String, ConfigErrorKind, Option<usize>, String)> {
    let prompts = tempfile::tempdir().unwrap();
    match Config::from_toml_str(&with_prompts(text, prompts.path()), "t.toml") {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| {
                (
                    e.key.clone().unwrap_or_default(),
                    e.kind,
                    e.line,
                    e.message.clone(),
                )
            })
            .collect(),
    }
}

#[test]
fn defaults_have_no_users_and_the_documented_registrar() {
    // The embedded default's demo menus name shipped prompts.
    let prompts = shipped_prompts();
    let config = Config::from_toml_str(&with_prompts("", prompts), "t.toml").unwrap();
    assert!(config.users.is_empty());
    assert_eq!(config.registrar, RegistrarConfig::default());
    assert_eq!(config.registrar.realm, "mediaplane");
    let embedded = Config::load_with_overrides(
        None,
        &ConfigOverrides {
            prompts_dir: Some(prompts.to_path_buf()),
            ..ConfigOverrides::default()
        },
    )
    .unwrap();
    assert_eq!(embedded.registrar, RegistrarConfig::default());
    assert!(embedded.users.is_empty());
}

#[test]
fn example_full_documents_users_of_each_kind() {
    // The embedded default's demo menus name shipped prompts.
    let prompts = shipped_prompts();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example-full.toml");
    let overrides = ConfigOverrides {
        prompts_dir: Some(prompts.to_path_buf()),
        ..ConfigOverrides::default()
    };
    let example = Config::load_with_overrides(Some(&path), &overrides).unwrap();
    assert_eq!(example.registrar, RegistrarConfig::default());
    let names: Vec<&str> = example.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_eq!(example.users[1].max_contacts, Some(3));
    let carol = &example.users[2];
    assert_eq!(carol.password, None);
    assert_eq!(carol.ha1_md5.as_deref().map(str::len), Some(32));
    assert_eq!(carol.ha1_sha256.as_deref().map(str::len), Some(64));
    // The documented HA1s are those of the password the example names.
    use crate::sip::registrar::digest::{ha1, Algorithm};
    let password = "carols-password";
    assert_eq!(
        carol.ha1_md5.as_deref(),
        Some(ha1(Algorithm::Md5, "carol", "mediaplane", password).as_str())
    );
    assert_eq!(
        carol.ha1_sha256.as_deref(),
        Some(ha1(Algorithm::Sha256, "carol", "mediaplane", password).as_str())
    );
}

#[test]
fn users_and_registrar_read() {
    let prompts = tempfile::tempdir().unwrap();
    let text = "[registrar]\nrealm = 'example.org'\nmin_expires_s = 30\n\
                [[users]]\nname = 'a'\npassword = 'pw'\nmax_contacts = 2\nno_answer_ms = 15000\n\
                [[users]]\nname = 'b'\nha1_md5 = '0123456789abcdef0123456789ABCDEF'\n";
    let config = Config::from_toml_str(&with_prompts(text, prompts.path()), "t.toml").unwrap();
    assert_eq!(config.registrar.realm, "example.org");
    assert_eq!(config.registrar.min_expires_s, 30);
    assert_eq!(config.registrar.max_expires_s, 3600);
    assert_eq!(
        config.users[0],
        UserConfig {
            max_contacts: Some(2),
            no_answer_ms: Some(15_000),
            ..UserConfig::with_password("a", "pw")
        }
    );
    assert_eq!(config.users[1].ha1_sha256, None);
}

#[test]
fn every_user_problem_names_its_key_and_line() {
    use ConfigErrorKind::*;
    let text = "\
[[users]]
name = 'alice'
password = 'x'

[[users]]
name = 'alice'
password = 'y'

[[users]]
name = 'nobody'

[[users]]
name = 'both'
password = 'p'
ha1_md5 = '0123456789abcdef0123456789abcdef'

[[users]]
name = 'short'
ha1_sha256 = 'abcd'
no_answer_ms = 5

[[users]]
name = 'bad name'
password = 'p'
max_contacts = 0
colour = 'red'

[[users]]
password = 'p'
";
    let found = problems(text);
    let summary: Vec<(&str, ConfigErrorKind, Option<usize>)> = found
        .iter()
        .map(|(k, kind, line, _)| (k.as_str(), *kind, *line))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("users[1].name", InvalidValue, Some(6)),
            ("users[2]", MissingKey, Some(9)),
            ("users[3].password", InvalidValue, Some(14)),
            ("users[4].ha1_sha256", InvalidValue, Some(19)),
            ("users[4].no_answer_ms", InvalidValue, Some(20)),
            ("users[5].name", InvalidValue, Some(23)),
            ("users[5].max_contacts", InvalidValue, Some(25)),
            ("users[5].colour", UnknownKey, Some(26)),
            ("users[6].name", MissingKey, Some(28)),
        ],
        "{found:#?}"
    );
    assert_eq!(found[0].3, "user `alice` is already defined in users[0]");
    assert!(found[1].3.contains("needs `password`"), "{}", found[1].3);
    assert!(found[2].3.contains("not both"), "{}", found[2].3);
    assert!(
        found[3].3.starts_with("must be 64 hex digits")
            && found[3].3.ends_with("found 4 characters"),
        "{}",
        found[3].3
    );
}

#[test]
fn registrar_values_are_range_checked() {
    let keys = |section: &str| -> Vec<String> {
        problems(&format!("[registrar]\n{section}"))
            .into_iter()
            .map(|(k, ..)| k)
            .collect()
    };
    assert_eq!(keys("realm = ''"), ["registrar.realm"]);
    assert_eq!(keys("realm = 'a\"b'"), ["registrar.realm"]);
    assert_eq!(keys("min_expires_s = 0"), ["registrar.min_expires_s"]);
    assert_eq!(
        keys("min_expires_s = 100\nmax_expires_s = 50\ndefault_expires_s = 60"),
        ["registrar.max_expires_s", "registrar.default_expires_s"]
    );
    assert_eq!(
        keys("default_expires_s = 7200"),
        ["registrar.default_expires_s"]
    );
    assert_eq!(keys("nonce_lifetime_s = 0"), ["registrar.nonce_lifetime_s"]);
    assert_eq!(keys("max_contacts = 5000"), ["registrar.max_contacts"]);
    // An unreadable value is reported once, not again by the checks it feeds.
    assert_eq!(
        keys("min_expires_s = 'soon'\nmax_expires_s = 10"),
        ["registrar.min_expires_s"]
    );
    assert!(keys("min_expires_s = 1\nmax_expires_s = 1\ndefault_expires_s = 1").is_empty());
}

#[test]
fn a_programmatic_user_list_is_validated_too() {
    let prompts = tempfile::tempdir().unwrap();
    let mut config = Config::from_toml_str(&with_prompts("", prompts.path()), "t.toml").unwrap();
    config.users.push(UserConfig::with_password("x", "p"));
    config.users.push(UserConfig::with_password("x", "q"));
    let errors = config.validate().unwrap_err();
    assert_eq!(errors.keys(), vec![Some("users[1].name")]);
}

#[test]
fn digest_algorithms_are_read_in_order_and_checked() {
    let prompts = tempfile::tempdir().unwrap();
    let text = with_prompts(
        "[registrar]\nalgorithms = ['MD5', 'sha-256']\n",
        prompts.path(),
    );
    let config = Config::from_toml_str(&text, "t.toml").unwrap();
    assert_eq!(
        config.registrar.algorithms,
        vec![
            crate::sip::registrar::digest::Algorithm::Md5,
            crate::sip::registrar::digest::Algorithm::Sha256
        ]
    );
    let keys = |text: &str| -> Vec<String> { problems(text).into_iter().map(|p| p.0).collect() };
    assert_eq!(
        keys("[registrar]\nalgorithms = ['SHA-1']\n"),
        vec!["registrar.algorithms[0]"]
    );
    assert_eq!(
        keys("[registrar]\nalgorithms = []\n"),
        vec!["registrar.algorithms"]
    );
    assert_eq!(
        keys("[registrar]\nalgorithms = ['MD5', 'md5']\n"),
        vec!["registrar.algorithms"]
    );
}
