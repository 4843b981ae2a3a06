use super::*;

/// A fresh self-signed certificate and its key, as PEM files in `dir`.
fn write_identity(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

#[test]
fn a_matching_certificate_and_key_make_an_acceptor() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_identity(dir.path(), "server");
    let identity = TlsIdentity::load(&cert, &key).unwrap();
    assert_eq!(identity.chain.len(), 1);
    identity.acceptor().unwrap();
}

#[test]
fn a_key_of_another_certificate_is_a_mismatch_reported_on_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = write_identity(dir.path(), "a");
    let (_, other_key) = write_identity(dir.path(), "b");
    let e = TlsIdentity::load(&cert, &other_key).unwrap_err();
    assert!(matches!(e, TlsFileError::Mismatch { .. }), "{e}");
    assert_eq!(e.file(), TlsFile::PrivateKey);
    assert!(e.to_string().contains("does not match"), "{e}");
}

#[test]
fn missing_and_empty_files_name_the_file_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_identity(dir.path(), "server");
    let absent = dir.path().join("absent.pem");

    let e = TlsIdentity::load(&absent, &key).unwrap_err();
    assert_eq!(e.file(), TlsFile::Certificate);
    assert!(e.to_string().starts_with("cannot read"), "{e}");
    let e = TlsIdentity::load(&cert, &absent).unwrap_err();
    assert_eq!(e.file(), TlsFile::PrivateKey);

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not PEM at all\n").unwrap();
    let e = TlsIdentity::load(&empty, &key).unwrap_err();
    assert!(matches!(e, TlsFileError::NoCertificate { .. }), "{e}");
    let e = TlsIdentity::load(&cert, &empty).unwrap_err();
    assert!(matches!(e, TlsFileError::NoPrivateKey { .. }), "{e}");
    // A certificate given where the key belongs holds no key either.
    let e = TlsIdentity::load(&cert, &cert).unwrap_err();
    assert!(matches!(e, TlsFileError::NoPrivateKey { .. }), "{e}");
}

#[test]
fn a_certificate_that_is_not_der_inside_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = write_identity(dir.path(), "server");
    let broken = dir.path().join("broken.crt");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = TlsIdentity::load(&broken, &key).unwrap_err();
    assert!(matches!(e, TlsFileError::BadCertificate { .. }), "{e}");
    assert_eq!(e.file(), TlsFile::Certificate);
}

#[test]
fn a_certificate_bundle_makes_a_connector_with_or_without_our_identity() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_identity(dir.path(), "ca");
    let trusted = TrustedCertificates::load(&cert).unwrap();
    assert_eq!(trusted.len(), 1);
    trusted.connector(None).unwrap();
    let identity = TlsIdentity::load(&cert, &key).unwrap();
    trusted.connector(Some(&identity)).unwrap();
}

#[test]
fn a_bundle_without_certificates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = write_identity(dir.path(), "a");
    let e = TrustedCertificates::load(&key).unwrap_err();
    assert!(matches!(e, TrustFileError::NoCertificate { .. }), "{e}");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let e = TrustedCertificates::load(&empty).unwrap_err();
    assert!(matches!(e, TrustFileError::NoCertificate { .. }), "{e}");
    let e = TrustedCertificates::load(&dir.path().join("missing.pem")).unwrap_err();
    assert!(matches!(e, TrustFileError::Read { .. }), "{e}");
}
