//! Connection-oriented SIP transports (TCP, and TLS over TCP): accepting
//! connections and running each one. A connection frames inbound messages
//! with the [`StreamFramer`] (RFC 3261 §18.3) and writes what the driver
//! queues for it; TCP and TLS differ only in the handshake before that.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::sip::core::SipMetrics;
use crate::sip::framing::StreamFramer;
use crate::sip::peer::{Peer, Transport};
use crate::sip::tls;

/// Messages queued for one connection; a peer that stops reading is
/// disconnected when its queue is full rather than growing it without bound.
pub(crate) const WRITE_QUEUE: usize = 256;
/// Open connections, TCP and TLS, accepted and opened by us together (each
/// costs a descriptor and a task); one still connecting or in its TLS
/// handshake counts too.
const MAX_CONNECTIONS: usize = 4096;
/// A connection silent this long is closed (RFC 5626 keep-alives, sent
/// every two minutes or so, keep a live one open).
const IDLE: Duration = Duration::from_secs(600);

/// What the connections tell the driver.
pub(crate) enum StreamEvent {
    /// An accepted connection is ready; what is sent on the channel is
    /// written to it. The peer names its transport, address and id.
    Opened(Peer, mpsc::Sender<Bytes>),
    /// One framed message, from the peer (with its connection).
    Message(Peer, Vec<u8>),
    Closed(u64),
    /// A connection we were opening never came up; what was queued on it
    /// is lost.
    ConnectFailed(Peer),
}

/// What every listener shares: the way to the driver, connection ids
/// unique across listeners, and the connection limit.
#[derive(Clone)]
pub(crate) struct StreamShared {
    events: mpsc::Sender<StreamEvent>,
    next_id: Arc<AtomicU64>,
    open: Arc<Semaphore>,
    max_message: usize,
    metrics: Arc<SipMetrics>,
}

impl StreamShared {
    pub(crate) fn new(
        events: mpsc::Sender<StreamEvent>,
        max_message: usize,
        metrics: Arc<SipMetrics>,
    ) -> Self {
        StreamShared {
            events,
            // 0 stands for "no connection" (UDP peers).
            next_id: Arc::new(AtomicU64::new(1)),
            open: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            max_message,
            metrics,
        }
    }

    /// A fresh connection id.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A connection slot, if one is free now.
    pub(crate) fn try_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.open.clone().try_acquire_owned().ok()
    }

    pub(crate) fn metrics(&self) -> &SipMetrics {
        &self.metrics
    }

    /// Tells the driver that connection `id` is gone.
    pub(crate) async fn closed(&self, id: u64) {
        let _ = self.events.send(StreamEvent::Closed(id)).await;
    }

    /// Tells the driver that the connection to `peer` could not be opened.
    pub(crate) async fn connect_failed(&self, peer: Peer) {
        let _ = self.events.send(StreamEvent::ConnectFailed(peer)).await;
    }
}

/// Accepts connections until shutdown; with an acceptor, each must first
/// complete a TLS handshake (RFC 3261 §26.3.1).
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: StreamShared,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let Ok(permit) = shared.open.clone().acquire_owned().await else {
            return;
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, from)) => {
                    let id = shared.next_id();
                    let shared = shared.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        open(stream, from, id, tls, &shared).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "tcp accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Runs one accepted connection, after the TLS handshake when there is one.
async fn open(
    stream: TcpStream,
    from: SocketAddr,
    id: u64,
    tls: Option<TlsAcceptor>,
    shared: &StreamShared,
) {
    let Some(acceptor) = tls else {
        let peer = Peer {
            transport: Transport::Tcp,
            addr: from,
            connection: id,
        };
        return connection(stream, peer, shared).await;
    };
    let failures = &shared.metrics.tls_handshake_failures;
    if let Some(stream) = tls::handshake(&acceptor, stream, from, failures).await {
        let peer = Peer {
            transport: Transport::Tls,
            addr: from,
            connection: id,
        };
        connection(stream, peer, shared).await;
    }
}

/// One accepted connection: announced to the driver, then served.
async fn connection<S>(stream: S, peer: Peer, shared: &StreamShared)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    if shared
        .events
        .send(StreamEvent::Opened(peer, tx))
        .await
        .is_err()
    {
        return;
    }
    serve(stream, peer, shared, rx).await;
}

/// One open connection, accepted or opened by us: frames inbound messages
/// and hands them to the driver as from `peer`, writes what arrives on
/// `rx`. A framing error (oversized message) closes only this connection.
pub(crate) async fn serve<S>(
    stream: S,
    peer: Peer,
    shared: &StreamShared,
    mut rx: mpsc::Receiver<Bytes>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let events = &shared.events;
    let write_task = tokio::spawn(async move {
        while let Some(data) = rx.recv().await {
            // TLS buffers records until flushed.
            if writer.write_all(&data).await.is_err() || writer.flush().await.is_err() {
                return;
            }
        }
        // The driver dropped the connection: close it in order (a TLS
        // close_notify, RFC 8446 §6.1, then FIN).
        let _ = writer.shutdown().await;
    });
    let mut framer = StreamFramer::new(shared.max_message);
    let mut buf = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match tokio::time::timeout(IDLE, reader.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        framer.push(&buf[..n]);
        loop {
            match framer.next_message() {
                Ok(Some(message)) => {
                    if events
                        .send(StreamEvent::Message(peer, message))
                        .await
                        .is_err()
                    {
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "closing connection");
                    break 'read;
                }
            }
        }
    }
    shared.closed(peer.connection).await;
    write_task.abort();
}
