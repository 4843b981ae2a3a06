//! `TestUserAgent`: the SIP user agent client the integration tests and the
//! load generator place calls with. It writes its own SIP text (so tests can
//! also send deliberately odd messages), parses what comes back with `rsip`,
//! and runs many calls at once over one socket or connection, messages
//! demultiplexed by Call-ID in a background receive task.

mod call;
mod dispatch;
mod error;
mod message;
mod options;
mod register;
mod request;
mod shared;
#[cfg(test)]
mod tests;
mod transport;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use call::{Call, CallState, CancelOutcome};
pub use error::UaError;
pub use message::{
    full_header_name, header_param, header_uri, split_header_list, MessageError, ReceivedMessage,
};
pub use options::{InviteOptions, UaConfig, DEFAULT_T1, DEFAULT_T2, TIMER_B};
pub use register::{RegisterAuth, RegisterClient, RegisterContacts, REGISTER_TIMEOUT};
pub use request::{contact_uri, new_branch, new_call_id, new_tag, via_value};
pub use transport::{take_stream_message, FramingError};

use crate::sip::Transport;
use call::CallSetup;
use request::OutgoingRequest;
use shared::{CallCounters, CallEntry, InviteContext, UaShared};
use transport::{SipReceiver, SipSender};

/// Messages queued per call, and for unmatched messages, before dropping.
const EVENT_QUEUE: usize = 256;

/// A SIP user agent client talking to one server.
#[derive(Debug)]
pub struct TestUserAgent {
    shared: Arc<UaShared>,
    unmatched: Mutex<mpsc::Receiver<ReceivedMessage>>,
    receive_task: JoinHandle<()>,
}

impl Drop for TestUserAgent {
    fn drop(&mut self) {
        self.receive_task.abort();
    }
}

impl TestUserAgent {
    /// Binds UDP 127.0.0.1:0 and talks to `server`.
    pub async fn bind_udp(server: SocketAddr) -> Result<TestUserAgent, UaError> {
        Self::bind_udp_with(server, UaConfig::default()).await
    }

    pub async fn bind_udp_with(
        server: SocketAddr,
        config: UaConfig,
    ) -> Result<TestUserAgent, UaError> {
        let local_ip = match server.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        };
        let socket = Arc::new(UdpSocket::bind(SocketAddr::new(local_ip, 0)).await?);
        let local_addr = socket.local_addr()?;
        let receiver = SipReceiver::Udp {
            socket: socket.clone(),
            buf: vec![0u8; 65535],
        };
        Ok(Self::start(
            Transport::Udp,
            local_addr,
            server,
            config,
            SipSender::Udp(socket),
            receiver,
        ))
    }

    /// Connects over TCP to `server`.
    pub async fn connect_tcp(server: SocketAddr) -> Result<TestUserAgent, UaError> {
        Self::connect_tcp_with(server, UaConfig::default()).await
    }

    pub async fn connect_tcp_with(
        server: SocketAddr,
        config: UaConfig,
    ) -> Result<TestUserAgent, UaError> {
        let stream = TcpStream::connect(server).await?;
        stream.set_nodelay(true)?;
        let local_addr = stream.local_addr()?;
        let (reader, writer) = stream.into_split();
        let receiver = SipReceiver::Tcp {
            reader,
            peer: server,
            buf: BytesMut::with_capacity(8192),
        };
        Ok(Self::start(
            Transport::Tcp,
            local_addr,
            server,
            config,
            SipSender::Tcp(Mutex::new(writer)),
            receiver,
        ))
    }

    fn start(
        transport: Transport,
        local_addr: SocketAddr,
        server: SocketAddr,
        config: UaConfig,
        sender: SipSender,
        receiver: SipReceiver,
    ) -> TestUserAgent {
        let (unmatched_tx, unmatched_rx) = mpsc::channel(EVENT_QUEUE);
        let shared = Arc::new(UaShared::new(
            transport,
            local_addr,
            server,
            config,
            sender,
            unmatched_tx,
        ));
        let receive_task = tokio::spawn(dispatch::receive_loop(shared.clone(), receiver));
        TestUserAgent {
            shared,
            unmatched: Mutex::new(unmatched_rx),
            receive_task,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    pub fn server_addr(&self) -> SocketAddr {
        self.shared.server
    }

    pub fn transport(&self) -> Transport {
        self.shared.transport
    }

    /// Our Contact URI.
    pub fn contact_uri(&self) -> String {
        contact_uri(
            &self.shared.config.user,
            self.shared.transport,
            self.shared.local_addr,
        )
    }

    /// A Via value for a request sent from this user agent.
    pub fn via_value(&self, branch: &str) -> String {
        via_value(self.shared.transport, self.shared.local_addr, branch)
    }

    /// True once the transport failed or the TCP connection closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// The last few thousand messages received, oldest first.
    pub fn received_messages(&self) -> Vec<ReceivedMessage> {
        self.shared.received()
    }

    /// Datagrams or stream messages that did not parse as SIP.
    pub fn unparseable_count(&self) -> u64 {
        self.shared.unparseable.load(Ordering::Relaxed)
    }

    /// Places a call and waits (up to Timer B) for its final response.
    /// A non-2xx final response is [`UaError::Rejected`].
    pub async fn invite(&self, target_uri: &str, sdp_offer: &str) -> Result<Call, UaError> {
        self.invite_with(target_uri, sdp_offer, &InviteOptions::default())
            .await
    }

    pub async fn invite_with(
        &self,
        target_uri: &str,
        sdp_offer: &str,
        options: &InviteOptions,
    ) -> Result<Call, UaError> {
        let mut call = self.start_invite(target_uri, sdp_offer, options).await?;
        let response = call.wait_final(options.final_timeout).await?;
        match response.status_code() {
            Some(200..=299) => Ok(call),
            status => Err(UaError::Rejected {
                status: status.unwrap_or_default(),
                reason: response.reason_phrase().unwrap_or_default().to_string(),
                response: Box::new(response),
            }),
        }
    }

    /// Sends an INVITE and returns at once; the [`Call`] then waits for
    /// responses, cancels, or hangs up.
    pub async fn start_invite(
        &self,
        target_uri: &str,
        sdp_offer: &str,
        options: &InviteOptions,
    ) -> Result<Call, UaError> {
        check_target(target_uri)?;
        if self.shared.is_closed() {
            return Err(UaError::Closed);
        }
        let shared = &self.shared;
        let call_id = new_call_id(shared.local_addr.ip());
        let from = self.new_from_value();
        let to = format!("<{target_uri}>");
        let via = self.via_value(&new_branch());
        let contact = self.contact_uri();
        let cseq = 1;
        let text = OutgoingRequest {
            method: "INVITE",
            request_uri: target_uri,
            via: &via,
            from: &from,
            to: &to,
            call_id: &call_id,
            cseq,
            contact: Some(&contact),
            routes: &[],
            extra_headers: &options.extra_headers,
            body: Some(("application/sdp", sdp_offer)),
        }
        .render();

        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        let counters = CallCounters::new();
        shared.register(
            &call_id,
            CallEntry {
                events: events_tx,
                invite: Some(InviteContext {
                    cseq,
                    request_uri: target_uri.to_string(),
                    via: via.clone(),
                    from: from.clone(),
                    routes: Vec::new(),
                    send_ack: options.send_ack,
                    ack_for_2xx: None,
                    ack_sdp: options.ack_sdp.clone(),
                }),
                retransmissions: Vec::new(),
                counters: counters.clone(),
            },
        );
        // From here on the Call owns the registration and removes it on drop.
        let call = Call::new(CallSetup {
            shared: shared.clone(),
            call_id: call_id.clone(),
            request_uri: target_uri.to_string(),
            from,
            to,
            invite_via: via,
            invite_cseq: cseq,
            events: events_rx,
            counters: counters.clone(),
            invite_sent_at: Instant::now(),
        });
        counters
            .invite_transmissions
            .fetch_add(1, Ordering::Relaxed);
        shared
            .send_request(&call_id, cseq, "INVITE", Bytes::from(text))
            .await?;
        Ok(call)
    }

    /// Sends OPTIONS outside any dialog and returns its final response.
    pub async fn options(
        &self,
        target_uri: &str,
        timeout: Duration,
    ) -> Result<ReceivedMessage, UaError> {
        self.request(target_uri, "OPTIONS", &[], None, timeout)
            .await
    }

    /// Sends a non-INVITE request outside any dialog (OPTIONS, REGISTER,
    /// MESSAGE, ...) and returns its final response. `body` is (content type, body).
    pub async fn request(
        &self,
        target_uri: &str,
        method: &str,
        extra_headers: &[String],
        body: Option<(&str, &str)>,
        timeout: Duration,
    ) -> Result<ReceivedMessage, UaError> {
        check_target(target_uri)?;
        if method.eq_ignore_ascii_case("INVITE") {
            return Err(UaError::InvalidState(
                "INVITE through request(); use invite()",
            ));
        }
        if self.shared.is_closed() {
            return Err(UaError::Closed);
        }
        let call_id = new_call_id(self.shared.local_addr.ip());
        let from = self.new_from_value();
        let to = format!("<{target_uri}>");
        let via = self.via_value(&new_branch());
        let contact = self.contact_uri();
        let text = OutgoingRequest {
            method,
            request_uri: target_uri,
            via: &via,
            from: &from,
            to: &to,
            call_id: &call_id,
            cseq: 1,
            contact: Some(&contact),
            routes: &[],
            extra_headers,
            body,
        }
        .render();
        let (events_tx, mut events_rx) = mpsc::channel(EVENT_QUEUE);
        self.shared.register(
            &call_id,
            CallEntry {
                events: events_tx,
                invite: None,
                retransmissions: Vec::new(),
                counters: CallCounters::new(),
            },
        );
        let _registration = Registration {
            shared: &self.shared,
            call_id: &call_id,
        };
        self.shared
            .send_request(&call_id, 1, method, Bytes::from(text))
            .await?;
        let deadline = Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, events_rx.recv()).await {
                Ok(Some(m)) if m.is_final_response_to(method) => return Ok(m),
                Ok(Some(_)) => {}
                Ok(None) => return Err(UaError::Closed),
                Err(_) => return Err(UaError::Timeout("a final response")),
            }
        }
    }

    /// Sends bytes as they are to the server.
    pub async fn send_raw(&self, data: &[u8]) -> Result<(), UaError> {
        Ok(self.shared.send_to_server(data).await?)
    }

    /// The next received message whose Call-ID belongs to no call of ours
    /// (answers to raw messages end up here).
    pub async fn next_unmatched(&self, timeout: Duration) -> Result<ReceivedMessage, UaError> {
        let mut unmatched = self.unmatched.lock().await;
        match tokio::time::timeout(timeout, unmatched.recv()).await {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(UaError::Closed),
            Err(_) => Err(UaError::Timeout("an unmatched message")),
        }
    }

    /// Sends raw bytes and returns the next unmatched message.
    pub async fn exchange_raw(
        &self,
        data: &[u8],
        timeout: Duration,
    ) -> Result<ReceivedMessage, UaError> {
        self.send_raw(data).await?;
        self.next_unmatched(timeout).await
    }

    /// A From value for a new call or request, with a fresh tag.
    fn new_from_value(&self) -> String {
        format!(
            "<sip:{}@{}>;tag={}",
            self.shared.config.user,
            host_of(self.shared.local_addr),
            new_tag()
        )
    }
}

/// Removes an out-of-dialog request's registration however the wait ends.
struct Registration<'a> {
    shared: &'a UaShared,
    call_id: &'a str,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.shared.unregister(self.call_id);
    }
}

fn host_of(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

fn check_target(target_uri: &str) -> Result<(), UaError> {
    let valid = (target_uri.starts_with("sip:") || target_uri.starts_with("sips:"))
        && !target_uri.contains(['\r', '\n', ' ', '<', '>']);
    if valid {
        Ok(())
    } else {
        Err(UaError::InvalidTarget(target_uri.to_string()))
    }
}
