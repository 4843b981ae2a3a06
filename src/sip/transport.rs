//! The SIP I/O driver: UDP and TCP sockets on the control-plane runtime,
//! feeding the [`SipCore`] and sending what it produces. Thin by design: read,
//! feed, drain, send, sleep until the earliest timeout.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};

use crate::media::MediaEvent;
use crate::sip::core::{CallInfo, MemberChange, RoomInfo, SipCore};
use crate::sip::framing::StreamFramer;
use crate::sip::peer::{Peer, Transport};

/// Requests from the HTTP API, answered by the driver from the core's state.
#[derive(Debug)]
pub enum CoreQuery {
    Calls(oneshot::Sender<Vec<CallInfo>>),
    Conferences(oneshot::Sender<Vec<RoomInfo>>),
    /// Mute (true) or unmute a member of a room.
    MuteMember {
        room: String,
        member: u64,
        muted: bool,
        reply: oneshot::Sender<MemberChange>,
    },
    KickMember {
        room: String,
        member: u64,
        reply: oneshot::Sender<MemberChange>,
    },
    LockRoom {
        room: String,
        locked: bool,
        reply: oneshot::Sender<MemberChange>,
    },
    /// A mailbox's messages changed outside a call (the API deleted one).
    MailboxChanged {
        mailbox: String,
    },
}

enum StreamEvent {
    Opened(u64, mpsc::Sender<Bytes>),
    Message(u64, SocketAddr, Vec<u8>),
    Closed(u64),
}

/// Handle to the running driver.
#[derive(Clone)]
pub struct SipHandle {
    pub queries: mpsc::Sender<CoreQuery>,
    pub udp_addr: SocketAddr,
    pub tcp_addr: SocketAddr,
}

pub struct SipDriver {
    core: SipCore,
    udp: Arc<UdpSocket>,
    streams: HashMap<u64, mpsc::Sender<Bytes>>,
}

/// Messages queued for one TCP connection; a peer that stops reading is
/// disconnected when its queue is full rather than growing it without bound.
const TCP_WRITE_QUEUE: usize = 256;
/// Open TCP connections accepted at once (each costs a descriptor and a task).
const MAX_TCP_CONNECTIONS: usize = 4096;
/// A TCP connection silent this long is closed (RFC 5626 keep-alives, sent
/// every two minutes or so, keep a live one open).
const TCP_IDLE: std::time::Duration = std::time::Duration::from_secs(600);

const MAX_UDP: usize = 65535;

impl SipDriver {
    /// Spawns the driver on the current runtime over bound sockets.
    pub fn start(
        core: SipCore,
        udp: UdpSocket,
        listener: TcpListener,
        media_events: mpsc::UnboundedReceiver<MediaEvent>,
        shutdown: watch::Receiver<bool>,
        max_message: usize,
    ) -> std::io::Result<SipHandle> {
        let udp = Arc::new(udp);
        let handle_udp = udp.local_addr()?;
        let handle_tcp = listener.local_addr()?;
        let (stream_tx, stream_rx) = mpsc::channel(4096);
        tokio::spawn(accept_loop(
            listener,
            stream_tx,
            max_message,
            shutdown.clone(),
        ));
        let (query_tx, query_rx) = mpsc::channel(64);
        let driver = SipDriver {
            core,
            udp,
            streams: HashMap::new(),
        };
        tokio::spawn(driver.run(stream_rx, media_events, query_rx, shutdown));
        Ok(SipHandle {
            queries: query_tx,
            udp_addr: handle_udp,
            tcp_addr: handle_tcp,
        })
    }

    async fn run(
        mut self,
        mut streams: mpsc::Receiver<StreamEvent>,
        mut media_events: mpsc::UnboundedReceiver<MediaEvent>,
        mut queries: mpsc::Receiver<CoreQuery>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut buf = vec![0u8; MAX_UDP];
        let udp = self.udp.clone();
        loop {
            let deadline = self.core.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = udp.recv_from(&mut buf) => match received {
                    Ok((n, from)) => self.core.handle_datagram(Instant::now(), &buf[..n], Peer::udp(from)),
                    // ICMP errors from earlier sends surface here; nothing to do.
                    Err(e) => tracing::trace!(error = %e, "udp receive error"),
                },
                Some(event) = streams.recv() => self.stream_event(event),
                Some(event) = media_events.recv() => self.core.handle_media_event(Instant::now(), event),
                Some(query) = queries.recv() => match query {
                    CoreQuery::Calls(reply) => { let _ = reply.send(self.core.calls(Instant::now())); }
                    CoreQuery::Conferences(reply) => {
                        let _ = reply.send(self.core.conferences(Instant::now()));
                    }
                    CoreQuery::MuteMember { room, member, muted, reply } => {
                        let _ = reply.send(self.core.set_room_member_muted(&room, member, muted));
                    }
                    CoreQuery::LockRoom { room, locked, reply } => {
                        let _ = reply.send(self.core.set_room_locked(&room, locked));
                    }
                    CoreQuery::MailboxChanged { mailbox } => {
                        self.core.mailbox_changed(Instant::now(), &mailbox);
                    }
                    CoreQuery::KickMember { room, member, reply } => {
                        let _ = reply.send(self.core.kick_room_member(Instant::now(), &room, member));
                    }
                },
                _ = sleep => self.core.handle_timeout(Instant::now()),
                _ = shutdown.changed() => {
                    self.core.shutdown(Instant::now());
                    self.flush().await;
                    break;
                }
            }
            self.flush().await;
        }
    }

    fn stream_event(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Opened(id, tx) => {
                self.streams.insert(id, tx);
            }
            StreamEvent::Message(id, from, data) => {
                let peer = Peer {
                    transport: Transport::Tcp,
                    addr: from,
                    connection: id,
                };
                self.core.handle_datagram(Instant::now(), &data, peer);
            }
            StreamEvent::Closed(id) => {
                self.streams.remove(&id);
            }
        }
    }

    async fn flush(&mut self) {
        while let Some((peer, data)) = self.core.poll_transmit() {
            match peer.transport {
                Transport::Udp => {
                    if let Err(e) = self.udp.send_to(&data, peer.addr).await {
                        tracing::debug!(error = %e, to = %peer.addr, "udp send failed");
                    }
                }
                Transport::Tcp => match self.streams.get(&peer.connection) {
                    Some(tx) => {
                        if tx.try_send(data).is_err() {
                            tracing::info!(to = %peer.addr, "tcp peer not reading, closing");
                            self.streams.remove(&peer.connection);
                        }
                    }
                    None => {
                        tracing::debug!(to = %peer.addr, "tcp connection gone, message dropped")
                    }
                },
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    events: mpsc::Sender<StreamEvent>,
    max_message: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut next_id = 1u64;
    let open = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_TCP_CONNECTIONS));
    loop {
        let Ok(permit) = open.clone().acquire_owned().await else {
            return;
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, from)) => {
                    let id = next_id;
                    next_id += 1;
                    let events = events.clone();
                    tokio::spawn(async move {
                        connection(stream, from, id, events, max_message).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "tcp accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// One TCP connection: frames inbound messages, writes outbound ones. A
/// framing error (oversized message) closes only this connection.
async fn connection(
    stream: TcpStream,
    from: SocketAddr,
    id: u64,
    events: mpsc::Sender<StreamEvent>,
    max_message: usize,
) {
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(TCP_WRITE_QUEUE);
    if events.send(StreamEvent::Opened(id, tx)).await.is_err() {
        return;
    }
    let write_task = tokio::spawn(async move {
        while let Some(data) = rx.recv().await {
            if writer.write_all(&data).await.is_err() {
                break;
            }
        }
    });
    let mut framer = StreamFramer::new(max_message);
    let mut buf = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match tokio::time::timeout(TCP_IDLE, reader.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        framer.push(&buf[..n]);
        loop {
            match framer.next_message() {
                Ok(Some(message)) => {
                    if events
                        .send(StreamEvent::Message(id, from, message))
                        .await
                        .is_err()
                    {
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(%from, error = %e, "closing tcp connection");
                    break 'read;
                }
            }
        }
    }
    let _ = events.send(StreamEvent::Closed(id)).await;
    write_task.abort();
}
