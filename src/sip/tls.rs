//! SIP over TLS (RFC 3261 §26.3.1): the server's certificate and key from
//! PEM files, the handshake that turns an accepted TCP connection into a
//! TLS stream, and the client side for connections we open (the CA
//! certificates we trust, the handshake towards a server). What flows over
//! the stream afterwards is framed and handled exactly as over TCP (see
//! `stream.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, Error as RustlsError, InconsistentKeys, RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// A client has this long to complete its handshake; one that stalls is
/// disconnected so that it cannot hold a connection slot for ever.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which of the two configured files a [`TlsFileError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFile {
    Certificate,
    PrivateKey,
}

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsFileError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        file: TlsFile,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate { path: PathBuf },
    #[error("`{path}` is not a usable certificate: {reason}")]
    BadCertificate { path: PathBuf, reason: String },
    #[error("`{path}` holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoPrivateKey { path: PathBuf },
    #[error("`{path}` is not a usable private key: {reason}")]
    BadPrivateKey { path: PathBuf, reason: String },
    #[error("the key in `{key}` does not match the certificate in `{certificate}`")]
    Mismatch { certificate: PathBuf, key: PathBuf },
}

impl TlsFileError {
    /// The file (and so the configuration key) the problem is reported on;
    /// a mismatch is reported on the key, the file that did not fit.
    pub fn file(&self) -> TlsFile {
        match self {
            TlsFileError::Read { file, .. } => *file,
            TlsFileError::NoCertificate { .. } | TlsFileError::BadCertificate { .. } => {
                TlsFile::Certificate
            }
            TlsFileError::NoPrivateKey { .. }
            | TlsFileError::BadPrivateKey { .. }
            | TlsFileError::Mismatch { .. } => TlsFile::PrivateKey,
        }
    }
}

/// The crypto provider every TLS object of the server is built on, given
/// explicitly so no process-wide default has to be installed.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its private key, checked to belong together.
#[derive(Debug)]
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl TlsIdentity {
    /// Reads the PEM certificate chain (leaf first) and the PEM private key,
    /// and checks that the key is the leaf certificate's.
    pub fn load(certificate: &Path, private_key: &Path) -> Result<Self, TlsFileError> {
        let cert_pem = read(TlsFile::Certificate, certificate)?;
        let key_pem = read(TlsFile::PrivateKey, private_key)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsFileError::BadCertificate {
                path: certificate.to_path_buf(),
                reason: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsFileError::NoCertificate {
                path: certificate.to_path_buf(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
            pem::Error::NoItemsFound => TlsFileError::NoPrivateKey {
                path: private_key.to_path_buf(),
            },
            other => TlsFileError::BadPrivateKey {
                path: private_key.to_path_buf(),
                reason: other.to_string(),
            },
        })?;
        let signing_key = provider()
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|e| TlsFileError::BadPrivateKey {
                path: private_key.to_path_buf(),
                reason: e.to_string(),
            })?;
        match CertifiedKey::new(chain.clone(), signing_key).keys_match() {
            // Unknown: the key cannot tell its public half; the handshake
            // will show whether it fits.
            Ok(()) | Err(RustlsError::InconsistentKeys(InconsistentKeys::Unknown)) => {}
            Err(RustlsError::InconsistentKeys(_)) => {
                return Err(TlsFileError::Mismatch {
                    certificate: certificate.to_path_buf(),
                    key: private_key.to_path_buf(),
                })
            }
            Err(e) => {
                return Err(TlsFileError::BadCertificate {
                    path: certificate.to_path_buf(),
                    reason: e.to_string(),
                })
            }
        }
        Ok(TlsIdentity { chain, key })
    }

    /// The acceptor of the SIP TLS listener. Clients are not asked for a
    /// certificate: SIP authenticates them with digest (RFC 3261 §22), and
    /// RFC 3261 §26.3.1 has only the server present one.
    pub fn acceptor(&self) -> Result<TlsAcceptor, RustlsError> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// Why the file of trusted CA certificates cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustFileError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate { path: PathBuf },
    #[error("`{path}` is not a usable PEM certificate bundle: {reason}")]
    BadPem { path: PathBuf, reason: String },
    #[error("none of the {rejected} certificates in `{path}` can be a trust anchor")]
    NoUsableCertificate { path: PathBuf, rejected: usize },
}

/// The CA certificates the servers we connect to are verified against
/// (RFC 3261 §26.3.1: the client checks the server's certificate; RFC 5922
/// for what it must name).
#[derive(Debug, Clone)]
pub struct TrustedCertificates {
    roots: RootCertStore,
}

impl TrustedCertificates {
    /// Reads a PEM bundle. Certificates webpki cannot take as an anchor are
    /// skipped (system bundles may hold a few); a bundle without any usable
    /// one is an error.
    pub fn load(path: &Path) -> Result<Self, TrustFileError> {
        let pem = std::fs::read(path).map_err(|source| TrustFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let certificates = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TrustFileError::BadPem {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        if certificates.is_empty() {
            return Err(TrustFileError::NoCertificate {
                path: path.to_path_buf(),
            });
        }
        let mut roots = RootCertStore::empty();
        let (added, rejected) = roots.add_parsable_certificates(certificates);
        if added == 0 {
            return Err(TrustFileError::NoUsableCertificate {
                path: path.to_path_buf(),
                rejected,
            });
        }
        Ok(TrustedCertificates { roots })
    }

    /// How many anchors the bundle gave.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// The connector of outgoing TLS connections. With `identity` (our
    /// `tls_certificate`) it is presented when the server asks for a client
    /// certificate, as trunks doing mutual TLS do; without, none is.
    pub fn connector(&self, identity: Option<&TlsIdentity>) -> Result<TlsConnector, RustlsError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(self.roots.clone());
        let config = match identity {
            Some(id) => builder.with_client_auth_cert(id.chain.clone(), id.key.clone_key())?,
            None => builder.with_no_client_auth(),
        };
        Ok(TlsConnector::from(Arc::new(config)))
    }
}

/// Runs the client side of the handshake on a connection we opened to
/// `to`. The target URIs name IPs, so the certificate must hold `to`'s IP
/// as an iPAddress subjectAltName (RFC 5922 §7.1 allows no other match
/// without a host name). The caller bounds the time it takes.
pub async fn client_handshake(
    connector: &TlsConnector,
    stream: TcpStream,
    to: SocketAddr,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = ServerName::IpAddress(to.ip().into());
    connector.connect(name, stream).await
}

fn read(file: TlsFile, path: &Path) -> Result<Vec<u8>, TlsFileError> {
    std::fs::read(path).map_err(|source| TlsFileError::Read {
        file,
        path: path.to_path_buf(),
        source,
    })
}

/// Runs the server side of the handshake on an accepted connection. A
/// failure (a client speaking something else, a bad record, a stall past
/// [`HANDSHAKE_TIMEOUT`]) is logged with the peer's address, counted in
/// `failures`, and closes this connection only. The log is at debug level:
/// anyone who can reach the port decides how many lines it makes, and the
/// counter is what shows a trend.
pub async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    from: SocketAddr,
    failures: &AtomicU64,
) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(%from, error = %e, "tls handshake failed, closing");
            failures.fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(_) => {
            tracing::debug!(%from, timeout = ?HANDSHAKE_TIMEOUT, "tls handshake timed out, closing");
            failures.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
