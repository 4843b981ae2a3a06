//! Outgoing SIP connections (RFC 3261 §18.1.1): when a request (or a
//! response, §18.2.2) is for a TCP or TLS peer we hold no connection to, one
//! is opened. The connection then runs exactly like an accepted one (see
//! `stream.rs`), so what the peer sends on it reaches the core as from that
//! connection.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;

use crate::sip::peer::{Peer, Transport};
use crate::sip::stream::{serve, StreamShared, WRITE_QUEUE};
use crate::sip::tls;

/// TCP connect and TLS handshake together must be done within this; what
/// was queued meanwhile is then dropped and the transactions waiting for it
/// fail as if answered 503 (RFC 3261 §8.1.3.1).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an outgoing connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no free connection slot")]
    NoSlot,
    #[error(
        "no trusted CA certificates to verify the server with (set sip.tls_trusted_certificates)"
    )]
    NoTrust,
    #[error("UDP is connectionless")]
    NotConnectionOriented,
    #[error("connect failed: {0}")]
    Connect(#[source] std::io::Error),
    #[error("TLS handshake failed: {0}")]
    Handshake(#[source] std::io::Error),
    #[error("not connected within {0:?}")]
    Timeout(Duration),
}

/// Opens outgoing TCP and TLS connections for the driver.
#[derive(Clone)]
pub(crate) struct Connector {
    /// None when no CA certificates are configured: TLS targets then fail.
    tls: Option<TlsConnector>,
    shared: StreamShared,
}

impl Connector {
    pub(crate) fn new(tls: Option<TlsConnector>, shared: StreamShared) -> Self {
        Connector { tls, shared }
    }

    /// Starts opening a connection to `addr` over `transport` and returns
    /// its id and queue at once: messages sent on the queue are written once
    /// the connection is up, and dropped if it never comes up (the task
    /// then reports the id closed).
    pub(crate) fn open(
        &self,
        transport: Transport,
        addr: SocketAddr,
    ) -> Result<(u64, mpsc::Sender<Bytes>), ConnectError> {
        let failed = |e: ConnectError| {
            self.failed(transport, addr, &e, 1);
            Err(e)
        };
        let tls = match transport {
            Transport::Udp => return Err(ConnectError::NotConnectionOriented),
            Transport::Tcp => None,
            Transport::Tls => match &self.tls {
                Some(connector) => Some(connector.clone()),
                None => return failed(ConnectError::NoTrust),
            },
        };
        let Some(slot) = self.shared.try_slot() else {
            return failed(ConnectError::NoSlot);
        };
        let id = self.shared.next_id();
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let connector = self.clone();
        tokio::spawn(async move {
            let peer = Peer {
                transport,
                addr,
                connection: id,
            };
            connector.run(peer, tls, rx).await;
            drop(slot);
        });
        Ok((id, tx))
    }

    async fn run(&self, peer: Peer, tls: Option<TlsConnector>, rx: mpsc::Receiver<Bytes>) {
        let shared = &self.shared;
        let connect = async {
            let tcp = TcpStream::connect(peer.addr)
                .await
                .map_err(ConnectError::Connect)?;
            // SIP messages are small and latency matters more than packing.
            let _ = tcp.set_nodelay(true);
            match &tls {
                None => Ok(Stream::Tcp(tcp)),
                Some(connector) => tls::client_handshake(connector, tcp, peer.addr)
                    .await
                    .map(|s| Stream::Tls(Box::new(s)))
                    .map_err(ConnectError::Handshake),
            }
        };
        let result = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .unwrap_or(Err(ConnectError::Timeout(CONNECT_TIMEOUT)));
        match result {
            Ok(Stream::Tcp(stream)) => serve(stream, peer, shared, rx).await,
            Ok(Stream::Tls(stream)) => serve(*stream, peer, shared, rx).await,
            Err(e) => {
                self.failed(peer.transport, peer.addr, &e, rx.len());
                drop(rx);
                shared.connect_failed(peer).await;
            }
        }
    }

    /// Logs and counts a connection that could not be opened. Unlike a
    /// failed incoming handshake this is our own configuration or our
    /// trunk's, so it is logged at warn.
    fn failed(&self, transport: Transport, addr: SocketAddr, error: &ConnectError, dropped: usize) {
        tracing::warn!(
            to = %addr,
            transport = transport.via_token(),
            error = %error,
            dropped,
            "outgoing SIP connection failed, queued messages dropped"
        );
        self.shared
            .metrics()
            .outgoing_connect_failures
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// The two kinds of connection we open.
enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}
