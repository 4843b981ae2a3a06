//! `[sip] tls_listen`, `tls_certificate` and `tls_private_key`: read, and
//! checked against the files they name.

use std::path::{Path, PathBuf};

use super::*;

struct Files {
    dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

/// A prompts folder and a matching certificate and key, in one temp dir.
fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("sip.crt");
    let key = dir.path().join("sip.key");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    Files { dir, cert, key }
}

fn load(prompts: &Path, sip: &str) -> Result<Config, ConfigErrors> {
    let text = format!("[sip]\n{sip}\n[prompts]\ndir = '{}'\n", prompts.display());
    Config::from_toml_str(&text, "t.toml")
}

fn keys_and_messages(errors: &ConfigErrors) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| (e.key.clone().unwrap_or_default(), e.message.clone()))
        .collect()
}

#[test]
fn tls_is_off_unless_tls_listen_is_set() {
    let f = files();
    let config = load(f.dir.path(), "").unwrap();
    assert_eq!(config.sip.tls_listen, None);
    let config = load(f.dir.path(), "tls_listen = ''").unwrap();
    assert_eq!(config.sip.tls_listen, None);
}

#[test]
fn a_listener_with_a_matching_certificate_and_key_loads() {
    let f = files();
    let sip = format!(
        "tls_listen = '127.0.0.1:5061'\ntls_certificate = '{}'\ntls_private_key = '{}'",
        f.cert.display(),
        f.key.display()
    );
    let config = load(f.dir.path(), &sip).unwrap();
    assert_eq!(
        config.sip.tls_listen,
        Some("127.0.0.1:5061".parse().unwrap())
    );
    assert_eq!(
        config.sip.tls_certificate.as_deref(),
        Some(f.cert.as_path())
    );
    assert_eq!(config.sip.tls_private_key.as_deref(), Some(f.key.as_path()));
}

#[test]
fn a_missing_certificate_file_is_reported_on_tls_certificate() {
    let f = files();
    let missing = f.dir.path().join("nope.crt");
    let sip = format!(
        "tls_listen = '127.0.0.1:5061'\ntls_certificate = '{}'\ntls_private_key = '{}'",
        missing.display(),
        f.key.display()
    );
    let errors = load(f.dir.path(), &sip).unwrap_err();
    let found = keys_and_messages(&errors);
    assert_eq!(found.len(), 1, "{errors}");
    assert_eq!(found[0].0, "sip.tls_certificate");
    assert!(found[0].1.starts_with("cannot read `"), "{errors}");
    assert!(found[0].1.contains("nope.crt"), "{errors}");
    assert_eq!(errors.errors()[0].line, Some(3), "the key's line: {errors}");
}

#[test]
fn tls_listen_without_files_asks_for_both() {
    let f = files();
    let errors = load(f.dir.path(), "tls_listen = '0.0.0.0:5061'").unwrap_err();
    let found = keys_and_messages(&errors);
    assert_eq!(
        found.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        vec!["sip.tls_certificate", "sip.tls_private_key"],
        "{errors}"
    );
    assert!(
        found[0].1.contains("required with sip.tls_listen"),
        "{errors}"
    );
}

#[test]
fn a_key_that_is_not_the_certificates_is_reported_on_tls_private_key() {
    let f = files();
    let other = files();
    let sip = format!(
        "tls_listen = '127.0.0.1:5061'\ntls_certificate = '{}'\ntls_private_key = '{}'",
        f.cert.display(),
        other.key.display()
    );
    let errors = load(f.dir.path(), &sip).unwrap_err();
    let found = keys_and_messages(&errors);
    assert_eq!(found.len(), 1, "{errors}");
    assert_eq!(found[0].0, "sip.tls_private_key");
    assert!(
        found[0].1.contains("does not match the certificate"),
        "{errors}"
    );
}

#[test]
fn a_certificate_file_without_pem_is_reported() {
    let f = files();
    std::fs::write(&f.cert, "hello\n").unwrap();
    let sip = format!(
        "tls_listen = '127.0.0.1:5061'\ntls_certificate = '{}'\ntls_private_key = '{}'",
        f.cert.display(),
        f.key.display()
    );
    let errors = load(f.dir.path(), &sip).unwrap_err();
    assert_eq!(errors.keys(), vec![Some("sip.tls_certificate")], "{errors}");
    assert!(
        errors.to_string().contains("no PEM certificate"),
        "{errors}"
    );
}

#[test]
fn a_bad_address_or_a_port_shared_with_tcp_is_an_error() {
    let f = files();
    let errors = load(f.dir.path(), "tls_listen = 'localhost'").unwrap_err();
    assert_eq!(errors.keys(), vec![Some("sip.tls_listen")], "{errors}");
    assert!(errors.to_string().contains("is not a socket address"));

    let sip = format!(
        "tcp_listen = '0.0.0.0:5060'\ntls_listen = '127.0.0.1:5060'\n\
         tls_certificate = '{}'\ntls_private_key = '{}'",
        f.cert.display(),
        f.key.display()
    );
    let errors = load(f.dir.path(), &sip).unwrap_err();
    assert_eq!(errors.keys(), vec![Some("sip.tls_listen")], "{errors}");
    assert!(errors.to_string().contains("is also sip.tcp_listen"));
}

#[test]
fn a_key_file_alone_asks_for_the_certificate() {
    let f = files();
    let sip = format!("tls_private_key = '{}'", f.key.display());
    let errors = load(f.dir.path(), &sip).unwrap_err();
    assert_eq!(errors.keys(), vec![Some("sip.tls_certificate")], "{errors}");
}

#[test]
fn trusted_certificates_default_to_the_system_bundle_if_there_is_one() {
    let f = files();
    let config = load(f.dir.path(), "").unwrap();
    let system = Path::new(super::sections::SYSTEM_CA_BUNDLE);
    let expected = system.is_file().then(|| system.to_path_buf());
    assert_eq!(config.sip.tls_trusted_certificates, expected);
    let config = load(f.dir.path(), "tls_trusted_certificates = ''").unwrap();
    assert_eq!(
        config.sip.tls_trusted_certificates, None,
        "empty: trust none"
    );
}

#[test]
fn a_trusted_certificates_bundle_loads_without_a_listener() {
    let f = files();
    let sip = format!("tls_trusted_certificates = '{}'", f.cert.display());
    let config = load(f.dir.path(), &sip).unwrap();
    assert_eq!(
        config.sip.tls_trusted_certificates.as_deref(),
        Some(f.cert.as_path())
    );
    assert_eq!(config.sip.tls_listen, None);
}

#[test]
fn a_route_to_a_tls_target_needs_our_tls_listener() {
    let f = files();
    let routes = "[[routes]]\nmatch = '^trunk$'\napp = 'bridge'\ntarget = 'sips:trunk@192.0.2.7'\n\
                  [[routes]]\nmatch = '^tls$'\napp = 'bridge'\ntarget = 'sip:trunk@192.0.2.7;transport=tls'\n\
                  [[routes]]\nmatch = '^tcp$'\napp = 'bridge'\ntarget = 'sip:trunk@192.0.2.7;transport=tcp'\n";
    let prompts = format!("[prompts]\ndir = '{}'\n", f.dir.path().display());
    // The far end sends its requests to the TLS port our Via and Contact
    // name: without a listener there is none.
    let text = format!("{routes}{prompts}");
    let errors = Config::from_toml_str(&text, "t.toml").unwrap_err();
    assert_eq!(
        errors.keys(),
        vec![Some("routes[0].target"), Some("routes[1].target")],
        "{errors}"
    );
    assert!(
        errors.to_string().contains("set sip.tls_listen"),
        "{errors}"
    );

    let listener = format!(
        "[sip]\ntls_listen = '127.0.0.1:5061'\ntls_certificate = '{}'\ntls_private_key = '{}'\n",
        f.cert.display(),
        f.key.display()
    );
    let config = Config::from_toml_str(&format!("{routes}{listener}{prompts}"), "t.toml").unwrap();
    assert_eq!(config.routes.len(), 3);
}

#[test]
fn a_bad_trusted_certificates_file_is_reported_on_its_key() {
    let f = files();
    let missing = f.dir.path().join("nope.pem");
    let sip = format!("tls_trusted_certificates = '{}'", missing.display());
    let errors = load(f.dir.path(), &sip).unwrap_err();
    let found = keys_and_messages(&errors);
    assert_eq!(found.len(), 1, "{errors}");
    assert_eq!(found[0].0, "sip.tls_trusted_certificates");
    assert!(found[0].1.starts_with("cannot read `"), "{errors}");
    assert!(found[0].1.contains("nope.pem"), "{errors}");
    assert_eq!(errors.errors()[0].line, Some(2), "the key's line: {errors}");

    // A private key is not a certificate bundle.
    let sip = format!("tls_trusted_certificates = '{}'", f.key.display());
    let errors = load(f.dir.path(), &sip).unwrap_err();
    assert_eq!(
        errors.keys(),
        vec![Some("sip.tls_trusted_certificates")],
        "{errors}"
    );
    assert!(
        errors.to_string().contains("no PEM certificate"),
        "{errors}"
    );
}
