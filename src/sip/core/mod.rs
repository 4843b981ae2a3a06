//! The user-agent core of the B2BUA: turns transaction events into legs,
//! dialogs, media sessions and call applications.
//!
//! Driven like the sans-IO machines beneath it: the SIP driver feeds it
//! datagrams, media events and timer expiries, and drains datagrams to send.
//! Its only I/O is binding media sockets through the port allocator and
//! sending commands to the media workers.

mod apps;
mod bridge;
mod conference;
mod contact;
mod events;
mod info;
mod invite;
mod keepalive;
mod leg;
mod metrics;
mod reinvite;
mod respond;
mod room_announce;
mod room_recording;
mod room_wait;
mod secure_media;
mod subscribe;
mod teardown;
mod voicemail;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rsip::prelude::*;
use rsip::Request;

use crate::apps::IvrMenus;
use crate::codec::CodecKind;
use crate::media::session::RtpLatching;
use crate::media::{MediaPool, SessionId};
use crate::prompts::PromptCatalogue;
use crate::routing::DialPlan;
use crate::sip::dialog::DialogKey;
use crate::sip::message::{decode, Decoded};
use crate::sip::peer::Peer;
use crate::sip::registrar::Registrar;
use crate::sip::transaction::{
    TimerConfig, TransactionEvent, TransactionKey, TransactionLayer, TransactionOutput,
};

pub use conference::{MemberChange, MemberInfo, RoomInfo};
pub use leg::{CallInfo, Leg, LegState};

/// An ACK as sent (where to, and its bytes), kept to answer each
/// retransmission of its 2xx with the same bytes (RFC 3261 §13.2.2.4).
pub type SentAck = (Peer, Bytes);
pub use metrics::{SipMetrics, SipMetricsSnapshot};

/// The methods we answer (RFC 3261 §20.5 Allow).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, SUBSCRIBE";

/// Settings the core needs from the configuration.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    pub user_agent: String,
    /// The address written in Contact, Via and SDP; None = the local address
    /// that routes to each peer.
    pub advertise: Option<IpAddr>,
    pub sip_port: u16,
    pub sip_tcp_port: u16,
    /// The TLS listener's port; None when no TLS listener is configured.
    pub sip_tls_port: Option<u16>,
    pub codecs: Vec<CodecKind>,
    pub ptime_ms: u32,
    pub jitter_delay_ms: u32,
    /// From where legs' RTP may be latched.
    pub rtp_latching: RtpLatching,
    pub media_timeout: Duration,
    pub max_calls: usize,
    pub retry_after_s: u32,
    pub max_message_bytes: usize,
    pub timers: TimerConfig,
    /// Prompt looped to the held party of a bridged call; None = silence.
    pub moh_prompt: Option<String>,
    /// The server's RTCP name and report interval, shared by every leg.
    pub rtcp: crate::media::session::RtcpSetup,
    /// `[media]` SRTP policy, for legs whose route or user gives none.
    pub srtp: crate::config::SrtpPolicy,
}

impl CoreSettings {
    /// Our listening port on a transport (Via sent-by, Contact).
    pub fn port_for(&self, transport: crate::sip::peer::Transport) -> u16 {
        match transport {
            crate::sip::peer::Transport::Udp => self.sip_port,
            crate::sip::peer::Transport::Tcp => self.sip_tcp_port,
            // TLS peers exist only when the listener does (a TLS route
            // target requires it); the TCP port is a stand-in that is never
            // written otherwise.
            crate::sip::peer::Transport::Tls => self.sip_tls_port.unwrap_or(self.sip_tcp_port),
        }
    }
}

/// An address as the host part of a SIP URI or Via (IPv6 in brackets).
pub fn uri_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

pub struct SipCore {
    settings: CoreSettings,
    layer: TransactionLayer,
    dialplan: DialPlan,
    prompts: Arc<PromptCatalogue>,
    media: MediaPool,
    legs: HashMap<SessionId, Leg>,
    by_dialog: HashMap<DialogKey, SessionId>,
    by_invite: HashMap<TransactionKey, SessionId>,
    /// Legs ringing until their answer time (route option).
    answer_timers: BinaryHeap<Reverse<(Instant, SessionId)>>,
    /// Bridge attempts not answered yet, by the caller's leg.
    bridges: HashMap<SessionId, bridge::PendingBridge>,
    /// Every forked INVITE transaction until it terminates.
    forks: HashMap<TransactionKey, bridge::ForkRef>,
    /// The INVITE of each answered outgoing leg, for 2xx retransmissions.
    uac_invites: HashMap<TransactionKey, SessionId>,
    /// Re-INVITEs we sent on bridged legs.
    reinvites: HashMap<TransactionKey, bridge::OutgoingReinvite>,
    /// No-answer deadlines of bridge attempts.
    no_answer_timers: BinaryHeap<Reverse<(Instant, SessionId)>>,
    /// Cancelled forks and when to give them up (RFC 3261 §9.1); in
    /// deadline order, as every deadline is now + 64·T1.
    cancel_deadlines: VecDeque<(Instant, TransactionKey)>,
    /// Dialogs made by a 2xx that lost (a second fork, or a second phone
    /// behind a forking proxy), acknowledged and hung up; by the INVITE
    /// transaction and the To tag, so retransmissions only get the ACK
    /// again. Forgotten when the transaction ends.
    lost_dialogs: HashMap<(TransactionKey, String), SentAck>,
    /// Deadlines of call applications (menu timeouts).
    app_timers: BinaryHeap<Reverse<(Instant, SessionId)>>,
    /// Hold/resume relays to retry after a 491 (RFC 3261 §14.1).
    relay_retries: BinaryHeap<Reverse<(Instant, SessionId)>>,
    next_id: SessionId,
    transmit: VecDeque<(Peer, Bytes)>,
    metrics: Arc<SipMetrics>,
    /// Conference rooms: the media worker each is mixed on, and its members.
    room_workers: HashMap<String, (usize, usize)>,
    /// `[[rooms]]` options by room name.
    room_options: HashMap<String, crate::config::RoomConfig>,
    /// Rooms the API locked: nobody new joins.
    locked_rooms: std::collections::HashSet<String>,
    /// Rooms being recorded, and their recordings until reported.
    room_recordings: room_recording::RoomRecordings,
    /// Rooms waiting for their first moderator, with the members waiting.
    waiting_rooms: HashMap<String, Vec<SessionId>>,
    /// IVR menus from the configuration; none until [`SipCore::set_menus`].
    menus: Arc<IvrMenus>,
    /// Users and their bindings (RFC 3261 §10); none until [`SipCore::set_registrar`].
    registrar: Registrar,
    /// Mailboxes and their store; none until [`SipCore::set_voicemail`].
    voicemail: Option<Arc<crate::apps::Voicemail>>,
    /// What each leg's recordings are for, oldest first, until the
    /// recorder reports them.
    recordings: HashMap<SessionId, VecDeque<crate::apps::voicemail::RecordingPurpose>>,
    /// Members' recorded names, in rooms that announce by name.
    room_names: HashMap<SessionId, room_announce::RoomName>,
    /// Mailboxes and their message-summary subscriptions (RFC 3842).
    mwi: crate::sip::mwi::Mwi,
}

impl SipCore {
    pub fn new(
        settings: CoreSettings,
        dialplan: DialPlan,
        prompts: Arc<PromptCatalogue>,
        media: MediaPool,
    ) -> Self {
        SipCore {
            layer: TransactionLayer::new(settings.timers),
            settings,
            dialplan,
            prompts,
            media,
            legs: HashMap::new(),
            by_dialog: HashMap::new(),
            by_invite: HashMap::new(),
            answer_timers: BinaryHeap::new(),
            bridges: HashMap::new(),
            forks: HashMap::new(),
            uac_invites: HashMap::new(),
            reinvites: HashMap::new(),
            no_answer_timers: BinaryHeap::new(),
            cancel_deadlines: VecDeque::new(),
            lost_dialogs: HashMap::new(),
            relay_retries: BinaryHeap::new(),
            app_timers: BinaryHeap::new(),
            next_id: 1,
            transmit: VecDeque::new(),
            metrics: Arc::new(SipMetrics::default()),
            registrar: Registrar::default(),
            voicemail: None,
            recordings: HashMap::new(),
            room_names: HashMap::new(),
            mwi: Default::default(),
            menus: Arc::new(IvrMenus::new(&[])),
            room_workers: HashMap::new(),
            room_options: HashMap::new(),
            locked_rooms: Default::default(),
            room_recordings: Default::default(),
            waiting_rooms: HashMap::new(),
        }
    }

    /// Conference rooms take these options (PIN, member limit).
    pub fn set_rooms(&mut self, rooms: &[crate::config::RoomConfig]) {
        self.room_options = rooms.iter().map(|r| (r.name.clone(), r.clone())).collect();
    }

    /// Serves `ivr` routes with these menus.
    pub fn set_menus(&mut self, menus: IvrMenus) {
        self.menus = Arc::new(menus);
    }

    /// Serves REGISTER for the registrar's users.
    pub fn set_registrar(&mut self, registrar: Registrar) {
        self.registrar = registrar;
    }

    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    pub fn metrics(&self) -> Arc<SipMetrics> {
        self.metrics.clone()
    }

    pub fn media(&self) -> &MediaPool {
        &self.media
    }

    /// A datagram (or framed stream message) arrived.
    pub fn handle_datagram(&mut self, now: Instant, data: &[u8], source: Peer) {
        let stream = source.transport.is_reliable();
        match decode(data, self.settings.max_message_bytes, stream) {
            Decoded::Message(message) => {
                metrics::bump(&self.metrics.messages_in);
                self.layer.handle_message(now, *message, source);
                self.drain_layer(now);
            }
            Decoded::Reject { response, reason } => {
                metrics::bump(&self.metrics.rejected_malformed);
                tracing::debug!(%source, %reason, "malformed request answered");
                self.transmit.push_back((source, Bytes::from(response)));
            }
            Decoded::Drop { reason } => {
                metrics::bump(&self.metrics.dropped_malformed);
                tracing::debug!(%source, %reason, "unusable message dropped");
            }
            Decoded::KeepAlive => {}
        }
    }

    /// Ends every call before the process stops: BYE to answered legs, 503
    /// to ringing ones (RFC 3261 §21.5.4).
    pub fn shutdown(&mut self, now: Instant) {
        let ids: Vec<SessionId> = self.legs.keys().copied().collect();
        for id in ids {
            self.hangup(now, id, 503);
        }
        self.drain_layer(now);
    }

    /// No connection to `peer` could be opened: the requests waiting for
    /// it fail at once as if answered 503 (RFC 3261 §8.1.3.1), instead of
    /// after Timer B.
    pub fn transport_failed(&mut self, now: Instant, peer: Peer) {
        self.layer.transport_failed(peer);
        self.drain_layer(now);
    }

    pub fn poll_transmit(&mut self) -> Option<(Peer, Bytes)> {
        self.transmit.pop_front()
    }

    /// Current legs, for the HTTP API.
    pub fn calls(&self, now: Instant) -> Vec<CallInfo> {
        let mut calls: Vec<CallInfo> = self.legs.values().map(|l| l.info(now)).collect();
        calls.sort_by_key(|c| c.id);
        calls
    }

    fn drain_layer(&mut self, now: Instant) {
        while let Some(output) = self.layer.poll_output() {
            match output {
                TransactionOutput::Transmit { to, data } => self.transmit.push_back((to, data)),
                TransactionOutput::Event(event) => self.handle_event(now, event),
            }
        }
    }

    fn handle_event(&mut self, now: Instant, event: TransactionEvent) {
        match event {
            TransactionEvent::Request {
                key,
                request,
                source,
            } => self.handle_request(now, key, request, source),
            TransactionEvent::Ack { request, .. } => self.handle_ack(now, &request),
            TransactionEvent::AckTimeout { key } => {
                if let Some(id) = self.by_invite.get(&key).copied() {
                    metrics::bump(&self.metrics.ack_timeouts);
                    tracing::info!(session = id, "no ACK for our 2xx, hanging up");
                    self.hangup(now, id, 500);
                }
            }
            TransactionEvent::Terminated { key } => {
                self.by_invite.remove(&key);
                self.forks.remove(&key);
                self.reinvites.remove(&key);
                self.lost_dialogs.retain(|(k, _), _| *k != key);
                self.mwi.subscriptions.notify_finished(&key);
            }
            TransactionEvent::Response { key, response } => {
                if let Some(&b) = self.uac_invites.get(&key) {
                    if response.status_code.code() / 100 == 2 {
                        self.winner_retransmission(now, &key, b, &response);
                    }
                } else if self.forks.contains_key(&key) {
                    self.fork_response(now, key, response);
                } else if self.reinvites.contains_key(&key) {
                    self.reinvite_response(now, &key, &response);
                } else {
                    self.notify_response(&key, &response);
                }
            }
            TransactionEvent::Timeout { key } => {
                self.fork_gave_up(now, &key, 408);
                self.reinvite_timeout(now, &key);
                self.notify_timeout(&key);
            }
            TransactionEvent::TransportFailed { key } => {
                self.fork_gave_up(now, &key, 503);
                self.reinvite_timeout(now, &key);
                self.notify_timeout(&key);
            }
        }
    }

    fn handle_request(
        &mut self,
        now: Instant,
        key: TransactionKey,
        request: Request,
        source: Peer,
    ) {
        let in_dialog = request
            .to_header()
            .ok()
            .and_then(|t| t.tag().ok().flatten())
            .is_some();
        if request.uri.scheme == Some(rsip::Scheme::Sips) && !source.is_secure() {
            // RFC 3261 §26.2.2: a SIPS Request-URI asks for TLS on every hop;
            // one that reached us over plain UDP or TCP has already lost
            // that, and we will not serve it insecurely. 416 as for a scheme
            // we do not serve (RFC 3261 §8.2.2.1).
            tracing::debug!(%source, "sips request over an insecure transport refused");
            self.respond(now, &key, &request, 416, None, vec![], None);
            return;
        }
        if let Some(required) = required_extensions(&request) {
            // RFC 3261 §8.2.2.3: we support no extension a request may require.
            let extra = vec![rsip::Header::Unsupported(required.into())];
            self.respond(now, &key, &request, 420, None, extra, None);
            return;
        }
        match (&request.method, in_dialog) {
            (rsip::Method::Invite, false) => self.handle_invite(now, key, request, source),
            (rsip::Method::Invite, true) => self.handle_reinvite(now, key, request, source),
            (rsip::Method::Cancel, _) => self.handle_cancel(now, key, request),
            (rsip::Method::Options, _) => {
                let extra = vec![
                    rsip::Header::Allow(ALLOW.into()),
                    rsip::Header::Accept("application/sdp".into()),
                    subscribe::allow_events(),
                ];
                self.respond(now, &key, &request, 200, None, extra, None);
            }
            (rsip::Method::Bye, _) => self.handle_bye(now, key, request),
            (rsip::Method::Info, true) => self.handle_info(now, key, request),
            (rsip::Method::Subscribe, _) => self.handle_subscribe(now, key, request, source),
            (rsip::Method::Register, _) => {
                let answer = self.registrar.handle_register(now, &request, source);
                self.respond_registrar(now, &key, &request, answer);
            }
            (_, true) if self.leg_for(&request).is_none() => {
                // RFC 3261 §12.2.2: no such dialog.
                self.respond(now, &key, &request, 481, None, vec![], None);
            }
            _ => {
                // RFC 3261 §8.2.1: a method we know but do not support here.
                let extra = vec![rsip::Header::Allow(ALLOW.into())];
                self.respond(now, &key, &request, 405, None, extra, None);
            }
        }
    }

    fn handle_ack(&mut self, now: Instant, request: &Request) {
        let Some(id) = self.leg_for(request) else {
            return;
        };
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let mut queued_relay = None;
        if leg.state == LegState::Answered {
            leg.state = LegState::Confirmed;
            if leg.bye_after_ack {
                self.hangup(now, id, 500);
                return;
            }
            // A hold or resume of the other leg may have waited for this ACK.
            queued_relay = leg.relay_queued.take();
        }
        if leg.pending_offer.is_some() {
            self.accept_ack_answer(now, id, request);
        }
        if let Some(wish) = queued_relay {
            self.relay_offer(now, id, wish);
        }
    }

    /// Finds the leg an in-dialog request belongs to (Call-ID + our tag).
    fn leg_for(&self, request: &Request) -> Option<SessionId> {
        let call_id = request.call_id_header().ok()?.value().to_string();
        let local_tag = request.to_header().ok()?.tag().ok()??.value().to_string();
        self.by_dialog
            .get(&DialogKey { call_id, local_tag })
            .copied()
    }

    /// Our address as the peer should see it.
    fn local_ip_for(&self, peer: SocketAddr) -> IpAddr {
        if let Some(ip) = self.settings.advertise {
            return ip;
        }
        // Connecting a UDP socket sends nothing; it asks the kernel which
        // source address routes to the peer.
        let bind: SocketAddr = if peer.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        std::net::UdpSocket::bind(bind)
            .and_then(|s| s.connect(peer).and_then(|_| s.local_addr()))
            .map(|a| a.ip())
            .unwrap_or(bind.ip())
    }
}

/// The option tags of a request's Require headers; None when there are none
/// or the request is a CANCEL, whose Require is ignored (RFC 3261 §9.1).
fn required_extensions(request: &Request) -> Option<String> {
    if request.method == rsip::Method::Cancel {
        return None;
    }
    let tags: Vec<String> = request
        .headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::Require(r) => Some(r.value().to_string()),
            _ => None,
        })
        .filter(|v| !v.trim().is_empty())
        .collect();
    (!tags.is_empty()).then(|| tags.join(", "))
}
