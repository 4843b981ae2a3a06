//! The SIP I/O driver: UDP, TCP and TLS sockets on the control-plane
//! runtime, feeding the [`SipCore`] and sending what it produces. Thin by
//! design: read, feed, drain, send, sleep until the earliest timeout. The
//! connections of TCP and TLS are run by `stream.rs`; those we open by
//! `connect.rs`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::media::MediaEvent;
use crate::sip::connect::Connector;
use crate::sip::core::{CallInfo, MemberChange, RoomInfo, SipCore};
use crate::sip::peer::{Peer, Transport};
use crate::sip::stream::{accept_loop, StreamEvent, StreamShared};

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

/// Handle to the running driver.
#[derive(Clone)]
pub struct SipHandle {
    pub queries: mpsc::Sender<CoreQuery>,
    pub udp_addr: SocketAddr,
    pub tcp_addr: SocketAddr,
    /// The TLS listener's address; None when TLS is not configured.
    pub tls_addr: Option<SocketAddr>,
}

/// The bound sockets the driver serves.
pub struct SipListeners {
    pub udp: UdpSocket,
    pub tcp: TcpListener,
    /// The TLS listener and the acceptor holding our certificate.
    pub tls: Option<(TcpListener, TlsAcceptor)>,
}

pub struct SipDriver {
    core: SipCore,
    udp: Arc<UdpSocket>,
    /// Open connections (and those being opened) by id.
    streams: HashMap<u64, Stream>,
    /// The same, by where they lead: a message for a peer whose connection
    /// is unknown reuses one to its address (RFC 3261 §18.1.1, §18.2.2).
    by_remote: HashMap<(Transport, SocketAddr), u64>,
    /// Addresses we opened connections to: a message for one of them whose
    /// connection closed opens another.
    dialled: HashSet<(Transport, SocketAddr)>,
    connector: Connector,
}

/// At most this many dialled addresses are remembered.
const MAX_DIALLED: usize = 1024;

/// One connection as the driver sees it: its queue and where it leads.
struct Stream {
    tx: mpsc::Sender<Bytes>,
    remote: (Transport, SocketAddr),
}

const MAX_UDP: usize = 65535;

impl SipDriver {
    /// Spawns the driver on the current runtime over bound sockets.
    /// `tls_client` opens the TLS connections to `sips:` and
    /// `transport=tls` targets; None when no CA certificates are trusted.
    pub fn start(
        core: SipCore,
        listeners: SipListeners,
        tls_client: Option<TlsConnector>,
        media_events: mpsc::UnboundedReceiver<MediaEvent>,
        shutdown: watch::Receiver<bool>,
        max_message: usize,
    ) -> std::io::Result<SipHandle> {
        let SipListeners { udp, tcp, tls } = listeners;
        let udp = Arc::new(udp);
        let udp_addr = udp.local_addr()?;
        let tcp_addr = tcp.local_addr()?;
        let (stream_tx, stream_rx) = mpsc::channel(4096);
        let shared = StreamShared::new(stream_tx, max_message, core.metrics());
        let tls_addr = match tls {
            Some((listener, acceptor)) => {
                let addr = listener.local_addr()?;
                tokio::spawn(accept_loop(
                    listener,
                    Some(acceptor),
                    shared.clone(),
                    shutdown.clone(),
                ));
                Some(addr)
            }
            None => None,
        };
        let connector = Connector::new(tls_client, shared.clone());
        tokio::spawn(accept_loop(tcp, None, shared, shutdown.clone()));
        let (query_tx, query_rx) = mpsc::channel(64);
        let driver = SipDriver {
            core,
            udp,
            streams: HashMap::new(),
            by_remote: HashMap::new(),
            dialled: HashSet::new(),
            connector,
        };
        tokio::spawn(driver.run(stream_rx, media_events, query_rx, shutdown));
        Ok(SipHandle {
            queries: query_tx,
            udp_addr,
            tcp_addr,
            tls_addr,
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
            StreamEvent::Opened(peer, tx) => {
                let remote = (peer.transport, peer.addr);
                self.streams.insert(peer.connection, Stream { tx, remote });
                self.by_remote.insert(remote, peer.connection);
            }
            StreamEvent::Message(peer, data) => {
                self.core.handle_datagram(Instant::now(), &data, peer);
            }
            StreamEvent::Closed(id) => self.forget(id),
            StreamEvent::ConnectFailed(peer) => {
                self.forget(peer.connection);
                // Transactions are failed by address: not while another
                // connection to that address is up or being opened.
                if !self.by_remote.contains_key(&(peer.transport, peer.addr)) {
                    self.core.transport_failed(Instant::now(), peer);
                }
            }
        }
    }

    fn forget(&mut self, id: u64) {
        if let Some(stream) = self.streams.remove(&id) {
            if self.by_remote.get(&stream.remote) == Some(&id) {
                self.by_remote.remove(&stream.remote);
            }
        }
    }

    /// The connection a message for `peer` goes on: its own while open,
    /// else an open one to the same address and transport, else a new one
    /// (RFC 3261 §18.1.1) when `peer` is an address we dial (a URI's, or
    /// one we connected to before). A peer that connected to us and has
    /// closed is not called back at its source port, which behind NAT
    /// leads nowhere (RFC 5626 §4.2.1: a broken flow is not rebuilt by the
    /// server): None.
    fn connection_for(&mut self, peer: Peer) -> Option<u64> {
        if peer.connection != 0 && self.streams.contains_key(&peer.connection) {
            return Some(peer.connection);
        }
        let remote = (peer.transport, peer.addr);
        if let Some(&id) = self.by_remote.get(&remote) {
            return Some(id);
        }
        if peer.connection != 0 && !self.dialled.contains(&remote) {
            return None;
        }
        let (id, tx) = self.connector.open(peer.transport, peer.addr).ok()?;
        if self.dialled.len() >= MAX_DIALLED {
            // Addresses come from route targets and dialog Contacts: bounded
            // in practice, capped all the same.
            self.dialled.clear();
        }
        self.dialled.insert(remote);
        self.streams.insert(id, Stream { tx, remote });
        self.by_remote.insert(remote, id);
        Some(id)
    }

    /// Queues `data` on the connection for `peer`. A connection that closed
    /// before the driver heard is forgotten and the choice made again; with
    /// none to be had, the transactions waiting on `peer` fail at once.
    fn send_on_connection(&mut self, peer: Peer, data: Bytes) {
        let mut data = data;
        for _ in 0..2 {
            let Some(id) = self.connection_for(peer) else {
                break;
            };
            let Some(stream) = self.streams.get(&id) else {
                break;
            };
            match stream.tx.try_send(data) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::info!(to = %peer, "peer not reading, closing");
                    self.forget(id);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(back)) => {
                    self.forget(id);
                    data = back;
                }
            }
        }
        tracing::debug!(to = %peer, "no connection, message dropped");
        self.core.transport_failed(Instant::now(), peer);
    }

    async fn flush(&mut self) {
        while let Some((peer, data)) = self.core.poll_transmit() {
            match peer.transport {
                Transport::Udp => {
                    if let Err(e) = self.udp.send_to(&data, peer.addr).await {
                        tracing::debug!(error = %e, to = %peer.addr, "udp send failed");
                    }
                }
                // RFC 3261 §18.2.2, §26.3.1: back over the peer's connection.
                Transport::Tcp | Transport::Tls => self.send_on_connection(peer, data),
            }
        }
    }
}
