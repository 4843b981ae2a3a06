//! State shared by the user agent, its calls and its receive task: the
//! table of calls by Call-ID and the client transaction retransmissions.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use super::message::ReceivedMessage;
use super::transport::SipSender;
use super::UaConfig;
use crate::sip::Transport;

/// Messages kept in the user agent's log of everything received.
const LOG_CAPACITY: usize = 4096;

/// What the receive task knows about the INVITE of a call, to ACK its
/// final responses itself (RFC 3261 §13.2.2.4 and §17.1.1.3).
#[derive(Debug, Clone)]
pub(crate) struct InviteContext {
    pub cseq: u32,
    pub request_uri: String,
    pub via: String,
    pub from: String,
    pub routes: Vec<String>,
    pub send_ack: bool,
    /// The ACK sent for a 2xx, by To tag: a retransmitted 2xx gets the same ACK.
    pub ack_for_2xx: Option<(String, String)>,
    /// The SDP answer the ACK of a 2xx carries (a delayed-offer INVITE).
    pub ack_sdp: Option<String>,
}

/// Per-call counters readable while the call owner is busy elsewhere.
#[derive(Debug)]
pub(crate) struct CallCounters {
    pub ok_responses: watch::Sender<u32>,
    pub invite_transmissions: AtomicU32,
}

impl CallCounters {
    pub fn new() -> Arc<CallCounters> {
        Arc::new(CallCounters {
            ok_responses: watch::channel(0).0,
            invite_transmissions: AtomicU32::new(0),
        })
    }
}

#[derive(Debug)]
pub(crate) struct Retransmission {
    pub cseq: u32,
    pub method: String,
    /// INVITE retransmissions stop at any response (§17.1.1.2); non-INVITE
    /// ones only at a final response (§17.1.2.2).
    pub stop_on_provisional: bool,
    pub abort: AbortHandle,
}

/// One registered Call-ID.
#[derive(Debug)]
pub(crate) struct CallEntry {
    pub events: mpsc::Sender<ReceivedMessage>,
    pub invite: Option<InviteContext>,
    pub retransmissions: Vec<Retransmission>,
    pub counters: Arc<CallCounters>,
}

impl Drop for CallEntry {
    fn drop(&mut self) {
        for r in &self.retransmissions {
            r.abort.abort();
        }
    }
}

#[derive(Debug)]
pub(crate) struct UaShared {
    pub transport: Transport,
    pub local_addr: SocketAddr,
    pub server: SocketAddr,
    pub config: UaConfig,
    pub sender: SipSender,
    calls: Mutex<HashMap<String, CallEntry>>,
    pub unmatched: mpsc::Sender<ReceivedMessage>,
    log: Mutex<VecDeque<ReceivedMessage>>,
    pub unparseable: AtomicU64,
    closed: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here is left half-updated by a panic: keep going with the data.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl UaShared {
    pub fn new(
        transport: Transport,
        local_addr: SocketAddr,
        server: SocketAddr,
        config: UaConfig,
        sender: SipSender,
        unmatched: mpsc::Sender<ReceivedMessage>,
    ) -> UaShared {
        UaShared {
            transport,
            local_addr,
            server,
            config,
            sender,
            calls: Mutex::new(HashMap::new()),
            unmatched,
            log: Mutex::new(VecDeque::new()),
            unparseable: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    pub fn calls(&self) -> MutexGuard<'_, HashMap<String, CallEntry>> {
        lock(&self.calls)
    }

    pub fn register(&self, call_id: &str, entry: CallEntry) {
        self.calls().insert(call_id.to_string(), entry);
    }

    pub fn unregister(&self, call_id: &str) {
        let removed = self.calls().remove(call_id);
        drop(removed);
    }

    pub fn record(&self, message: &ReceivedMessage) {
        let mut log = lock(&self.log);
        if log.len() == LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(message.clone());
    }

    pub fn received(&self) -> Vec<ReceivedMessage> {
        lock(&self.log).iter().cloned().collect()
    }

    /// The transport is gone: calls see their event channels close.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let calls = std::mem::take(&mut *self.calls());
        drop(calls);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    pub async fn send_to_server(&self, data: &[u8]) -> std::io::Result<()> {
        self.sender.send(data, self.server).await
    }

    /// Sends a request of a registered call and, over UDP, retransmits it on
    /// Timer A (INVITE) or Timer E (others) until a response stops it or
    /// Timer B/F (64·T1) expires (RFC 3261 §17.1.1.2, §17.1.2.2).
    pub async fn send_request(
        self: &Arc<Self>,
        call_id: &str,
        cseq: u32,
        method: &str,
        data: Bytes,
    ) -> std::io::Result<()> {
        // The retransmission is registered before the first send, so that a
        // fast response finds it and stops it.
        if !self.transport.is_reliable() {
            let is_invite = method.eq_ignore_ascii_case("INVITE");
            let mut calls = self.calls();
            if let Some(entry) = calls.get_mut(call_id) {
                let task = tokio::spawn(retransmit(
                    Arc::downgrade(self),
                    data.clone(),
                    is_invite.then(|| entry.counters.clone()),
                    self.config.t1,
                    (!is_invite).then_some(self.config.t2),
                ));
                entry.retransmissions.push(Retransmission {
                    cseq,
                    method: method.to_string(),
                    stop_on_provisional: is_invite,
                    abort: task.abort_handle(),
                });
            }
        }
        self.send_to_server(&data).await
    }
}

async fn retransmit(
    shared: Weak<UaShared>,
    data: Bytes,
    invite_counters: Option<Arc<CallCounters>>,
    t1: Duration,
    cap: Option<Duration>,
) {
    let give_up = tokio::time::Instant::now() + t1 * 64;
    let mut interval = t1;
    loop {
        let due = tokio::time::Instant::now() + interval;
        if due >= give_up {
            return;
        }
        tokio::time::sleep_until(due).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.send_to_server(&data).await.is_err() {
            return;
        }
        if let Some(counters) = &invite_counters {
            counters
                .invite_transmissions
                .fetch_add(1, Ordering::Relaxed);
        }
        interval *= 2;
        if let Some(cap) = cap {
            interval = interval.min(cap);
        }
    }
}
