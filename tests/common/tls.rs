//! SIP over TLS for the tests: a self-signed certificate made on the spot,
//! the configuration change that serves it, and a raw SIP client on a
//! tokio-rustls connection that trusts only that certificate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mediaplane::config::Config;
use mediaplane::sip::framing::StreamFramer;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A certificate for `localhost` and 127.0.0.1 with its key, as PEM files
/// in a temporary folder that lives as long as this value.
pub struct TestCertificate {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    der: CertificateDer<'static>,
    _dir: tempfile::TempDir,
}

impl TestCertificate {
    pub fn new() -> TestCertificate {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let made = rcgen::generate_simple_self_signed(names).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let certificate = dir.path().join("server.crt");
        let private_key = dir.path().join("server.key");
        std::fs::write(&certificate, made.cert.pem()).unwrap();
        std::fs::write(&private_key, made.signing_key.serialize_pem()).unwrap();
        TestCertificate {
            certificate,
            private_key,
            der: made.cert.der().clone(),
            _dir: dir,
        }
    }

    /// The configuration change that starts a TLS listener on an ephemeral
    /// loopback port with this certificate.
    pub fn serve(&self) -> impl FnOnce(&mut Config) {
        let (certificate, private_key) = (self.certificate.clone(), self.private_key.clone());
        move |c: &mut Config| {
            c.sip.tls_listen = Some("127.0.0.1:0".parse().unwrap());
            c.sip.tls_certificate = Some(certificate);
            c.sip.tls_private_key = Some(private_key);
        }
    }

    fn connector(&self) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }
}

/// One TLS connection to the server, speaking SIP as raw text.
pub struct TlsSipClient {
    stream: TlsStream<TcpStream>,
    framer: StreamFramer,
    pub local: SocketAddr,
    pub server: SocketAddr,
}

impl TlsSipClient {
    /// Connects and completes the handshake, checking the server's
    /// certificate against `certificate` for the name `localhost`.
    pub async fn connect(server: SocketAddr, certificate: &TestCertificate) -> TlsSipClient {
        let tcp = TcpStream::connect(server).await.unwrap();
        let local = tcp.local_addr().unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let stream = certificate.connector().connect(name, tcp).await.unwrap();
        TlsSipClient {
            stream,
            framer: StreamFramer::new(65535),
            local,
            server,
        }
    }

    pub async fn send(&mut self, message: &str) {
        self.stream.write_all(message.as_bytes()).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// The next whole message from the server, within `within`.
    pub async fn recv(&mut self, within: Duration) -> String {
        tokio::time::timeout(within, async {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                if let Some(message) = self.framer.next_message().unwrap() {
                    return String::from_utf8(message).unwrap();
                }
                let n = self.stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "the server closed the TLS connection");
                self.framer.push(&buf[..n]);
            }
        })
        .await
        .expect("a message from the server in time")
    }

    /// The next response, skipping provisional ones (1xx).
    pub async fn final_response(&mut self, within: Duration) -> String {
        loop {
            let message = self.recv(within).await;
            if !message.starts_with("SIP/2.0 1") {
                return message;
            }
        }
    }

    /// An OPTIONS to `uri` over this connection, and its final response.
    pub async fn options(&mut self, uri: &str) -> String {
        let branch = format!("z9hG4bK{}", rand::random::<u64>());
        let call_id = format!("{}@tls-test", rand::random::<u64>());
        let request = format!(
            "OPTIONS {uri} SIP/2.0\r\n\
             Via: SIP/2.0/TLS {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:tester@{local}>;tag=tls{tag}\r\n\
             To: <{uri}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 OPTIONS\r\n\
             Contact: <sip:tester@{local};transport=tls>\r\n\
             Content-Length: 0\r\n\r\n",
            local = self.local,
            tag = rand::random::<u32>(),
        );
        self.send(&request).await;
        self.final_response(Duration::from_secs(5)).await
    }
}

/// The value of the first header `name` of a message.
pub fn header<'m>(message: &'m str, name: &str) -> Option<&'m str> {
    message.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The status code of a response.
pub fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}
