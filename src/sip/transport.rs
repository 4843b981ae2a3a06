//! The SIP I/O driver: UDP, TCP and TLS sockets on the control-plane
//! runtime, feeding the [`SipCore`] and sending what it produces. Thin by
//! design: read, feed, drain, send, sleep until the earliest timeout. The
//! connections of TCP and TLS are run by `stream.rs`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_rustls::TlsAcceptor;

use crate::media::MediaEvent;
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
    streams: HashMap<u64, mpsc::Sender<Bytes>>,
}

const MAX_UDP: usize = 65535;

impl SipDriver {
    /// Spawns the driver on the current runtime over bound sockets.
    pub fn start(
        core: SipCore,
        listeners: SipListeners,
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
        tokio::spawn(accept_loop(tcp, None, shared, shutdown.clone()));
        let (query_tx, query_rx) = mpsc::channel(64);
        let driver = SipDriver {
            core,
            udp,
            streams: HashMap::new(),
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
            StreamEvent::Opened(id, tx) => {
                self.streams.insert(id, tx);
            }
            StreamEvent::Message(peer, data) => {
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
                // RFC 3261 §18.2.2, §26.3.1: back over the peer's connection.
                Transport::Tcp | Transport::Tls => match self.streams.get(&peer.connection) {
                    Some(tx) => {
                        if tx.try_send(data).is_err() {
                            tracing::info!(to = %peer, "peer not reading, closing");
                            self.streams.remove(&peer.connection);
                        }
                    }
                    None => {
                        tracing::debug!(to = %peer, "connection gone, message dropped")
                    }
                },
            }
        }
    }
}
