//! The transaction layer: owns every client and server transaction, routes
//! messages and timer firings to them and addresses what they send.
//!
//! Sans-IO: parsed messages and the current time go in, bytes to send and
//! events for the transaction user (the SIP core) come out of `poll_output`,
//! and `poll_timeout` says when `handle_timeout` is next needed.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use super::ack::AckMatch;
use super::invite_client::InviteClientTransaction;
use super::invite_server::{AckDisposition, InviteServerTransaction};
use super::non_invite_client::NonInviteClientTransaction;
use super::non_invite_server::NonInviteServerTransaction;
use super::output::{MachineOutput, TransactionEvent, TransactionOutput};
use super::timer_queue::{TimerQueue, TransactionId};
use super::timers::TimerConfig;
use super::{TransactionError, TransactionKey};
use crate::sip::via::{response_destination, stamp_received, TopVia};
use crate::sip::Peer;

#[derive(Debug)]
enum Machine {
    InviteServer(InviteServerTransaction),
    NonInviteServer(NonInviteServerTransaction),
    // Boxed: it keeps the INVITE for building ACKs, twice the others' size.
    InviteClient(Box<InviteClientTransaction>),
    NonInviteClient(NonInviteClientTransaction),
}

impl Machine {
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Machine::InviteServer(machine) => machine.poll_timeout(),
            Machine::NonInviteServer(machine) => machine.poll_timeout(),
            Machine::InviteClient(machine) => machine.poll_timeout(),
            Machine::NonInviteClient(machine) => machine.poll_timeout(),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self {
            Machine::InviteServer(machine) => machine.handle_timeout(now),
            Machine::NonInviteServer(machine) => machine.handle_timeout(now),
            Machine::InviteClient(machine) => machine.handle_timeout(now),
            Machine::NonInviteClient(machine) => machine.handle_timeout(now),
        }
    }

    fn poll_output(&mut self) -> Option<MachineOutput> {
        match self {
            Machine::InviteServer(machine) => machine.poll_output(),
            Machine::NonInviteServer(machine) => machine.poll_output(),
            Machine::InviteClient(machine) => machine.poll_output(),
            Machine::NonInviteClient(machine) => machine.poll_output(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    key: TransactionKey,
    /// Where this transaction sends: the response destination of a server
    /// transaction, the next hop of a client one.
    peer: Peer,
    machine: Machine,
    /// The deadline this transaction has in the timer queue.
    scheduled: Option<Instant>,
    /// The 2xx responses sent, by which their ACKs find this transaction.
    ack_matches: Vec<AckMatch>,
}

#[derive(Debug)]
pub struct TransactionLayer {
    config: TimerConfig,
    next_id: TransactionId,
    ids: HashMap<TransactionKey, TransactionId>,
    transactions: HashMap<TransactionId, Entry>,
    ack_routes: HashMap<AckMatch, TransactionId>,
    timers: TimerQueue,
    outputs: VecDeque<TransactionOutput>,
}

impl TransactionLayer {
    pub fn new(config: TimerConfig) -> Self {
        TransactionLayer {
            config,
            next_id: 0,
            ids: HashMap::new(),
            transactions: HashMap::new(),
            ack_routes: HashMap::new(),
            timers: TimerQueue::default(),
            outputs: VecDeque::new(),
        }
    }

    /// A parsed message arrived from `source`.
    ///
    /// A new request becomes a server transaction and is passed up (event
    /// `Request`); a retransmitted one is absorbed. An ACK is absorbed when it
    /// acknowledges a non-2xx final response; otherwise it is passed up (event
    /// `Ack`), after stopping the 2xx retransmissions of the INVITE it matches
    /// by Call-ID, CSeq number and tags. A response goes to its client
    /// transaction; a 2xx to an INVITE with no transaction left is passed up
    /// as is, other unmatched responses are dropped (RFC 3261 §18.1.2).
    /// Messages without the headers matching needs are dropped.
    pub fn handle_message(&mut self, now: Instant, message: rsip::SipMessage, source: Peer) {
        match message {
            rsip::SipMessage::Request(request) => self.on_request(now, request, source),
            rsip::SipMessage::Response(response) => self.on_response(now, response),
        }
        self.discard_stale_timers();
    }

    /// The TU answers server transaction `key`; the response goes where the
    /// request's top Via says (RFC 3261 §18.2.2).
    pub fn send_response(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        response: rsip::Response,
    ) -> Result<(), TransactionError> {
        let unknown = || TransactionError::UnknownTransaction(key.clone());
        let id = *self.ids.get(key).ok_or_else(unknown)?;
        let entry = self.transactions.get_mut(&id).ok_or_else(unknown)?;
        let status = response.status_code.code();
        let data = Bytes::from(response.to_string());
        match &mut entry.machine {
            Machine::InviteServer(machine) => {
                machine.send_response(now, status, data)?;
                if (200..300).contains(&status) {
                    self.route_acks_of(id, &response);
                }
            }
            Machine::NonInviteServer(machine) => machine.send_response(now, status, data)?,
            Machine::InviteClient(_) | Machine::NonInviteClient(_) => return Err(unknown()),
        }
        self.after_machine_call(id);
        self.discard_stale_timers();
        Ok(())
    }

    /// The TU starts a client transaction for `request` towards
    /// `destination`. The request's top Via must carry an RFC 3261 branch
    /// (see `new_branch`); ACK is never a transaction (use `send_stateless`).
    pub fn send_request(
        &mut self,
        now: Instant,
        request: rsip::Request,
        destination: Peer,
    ) -> Result<TransactionKey, TransactionError> {
        if request.method == rsip::Method::Ack {
            return Err(TransactionError::NotATransaction(
                request.method.to_string(),
            ));
        }
        let key = TransactionKey::for_client_request(&request)?;
        if self.ids.contains_key(&key) {
            return Err(TransactionError::DuplicateTransaction(key));
        }
        let reliable = destination.transport.is_reliable();
        let machine = if request.method == rsip::Method::Invite {
            Machine::InviteClient(Box::new(InviteClientTransaction::start(
                now,
                self.config,
                reliable,
                request,
            )))
        } else {
            Machine::NonInviteClient(NonInviteClientTransaction::start(
                now,
                self.config,
                reliable,
                &request,
            ))
        };
        let id = self.insert(key.clone(), destination, machine);
        self.after_machine_call(id);
        self.discard_stale_timers();
        Ok(key)
    }

    /// Sends `message` outside any transaction: the ACK of a 2xx, a
    /// stateless response.
    pub fn send_stateless(&mut self, message: rsip::SipMessage, destination: Peer) {
        self.outputs.push_back(TransactionOutput::Transmit {
            to: destination,
            data: Bytes::from(message.to_string()),
        });
    }

    /// Fires every transaction timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Collect first: a machine rescheduling at `now` waits for the next
        // call instead of looping here.
        let mut due = Vec::new();
        while let Some((at, id)) = self.timers.pop_due(now) {
            if let Some(entry) = self.transactions.get_mut(&id) {
                if entry.scheduled == Some(at) {
                    entry.scheduled = None;
                    due.push(id);
                }
            }
        }
        for id in due {
            if let Some(entry) = self.transactions.get_mut(&id) {
                entry.machine.handle_timeout(now);
                self.after_machine_call(id);
            }
        }
        self.discard_stale_timers();
    }

    pub fn poll_output(&mut self) -> Option<TransactionOutput> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` is next needed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|(at, _)| at)
    }

    /// The INVITE server transaction a CANCEL refers to (RFC 3261 §9.2).
    pub fn find_invite_for_cancel(&self, cancel: &rsip::Request) -> Option<TransactionKey> {
        let key = TransactionKey::for_cancelled_invite(cancel).ok()?;
        let id = self.ids.get(&key)?;
        match self.transactions.get(id)?.machine {
            Machine::InviteServer(_) => Some(key),
            _ => None,
        }
    }

    /// The TU gives up a client transaction that no timer will end: an
    /// INVITE still unanswered 64·T1 after its CANCEL (RFC 3261 §9.1).
    /// `Terminated` follows as for any other end.
    pub fn abandon(&mut self, key: &TransactionKey) {
        if let Some(&id) = self.ids.get(key) {
            self.remove(id);
            self.discard_stale_timers();
        }
    }

    /// No connection to `destination` could be opened: every client
    /// transaction sending there is told the TU and ended (RFC 3261
    /// §17.1.4). Server transactions keep their timers.
    pub fn transport_failed(&mut self, destination: Peer) {
        let failed: Vec<TransactionId> = self
            .transactions
            .iter()
            .filter(|(_, entry)| {
                matches!(
                    entry.machine,
                    Machine::InviteClient(_) | Machine::NonInviteClient(_)
                ) && entry.peer.transport == destination.transport
                    && entry.peer.addr == destination.addr
            })
            .map(|(&id, _)| id)
            .collect();
        for id in failed {
            if let Some(entry) = self.transactions.get(&id) {
                let key = entry.key.clone();
                self.outputs.push_back(TransactionOutput::Event(
                    TransactionEvent::TransportFailed { key },
                ));
            }
            self.remove(id);
        }
        self.discard_stale_timers();
    }

    /// Live transactions.
    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    fn on_request(&mut self, now: Instant, mut request: rsip::Request, source: Peer) {
        let key = match TransactionKey::for_server_request(&request) {
            Ok(key) => key,
            Err(error) => {
                tracing::debug!(%error, %source, "request dropped: no transaction identity");
                return;
            }
        };
        // RFC 3261 §18.2.1: the server transport records the source in the
        // top Via before anything else looks at the request.
        let stamped = stamp_received(&mut request, source)
            .and_then(|()| TopVia::from_headers(&request.headers));
        let top_via = match stamped {
            Ok(top_via) => top_via,
            Err(error) => {
                tracing::debug!(%error, %source, "request dropped: bad top Via");
                return;
            }
        };

        if request.method == rsip::Method::Ack {
            self.on_ack(now, &key, request, source);
            return;
        }
        if let Some(&id) = self.ids.get(&key) {
            if let Some(entry) = self.transactions.get_mut(&id) {
                match &mut entry.machine {
                    Machine::InviteServer(machine) => machine.on_retransmitted_invite(),
                    Machine::NonInviteServer(machine) => machine.on_retransmitted_request(),
                    Machine::InviteClient(_) | Machine::NonInviteClient(_) => {}
                }
            }
            self.after_machine_call(id);
            return;
        }

        let reliable = source.transport.is_reliable();
        let machine = if request.method == rsip::Method::Invite {
            Machine::InviteServer(InviteServerTransaction::new(self.config, reliable))
        } else {
            Machine::NonInviteServer(NonInviteServerTransaction::new(self.config, reliable))
        };
        self.insert(key.clone(), response_destination(&top_via, source), machine);
        self.outputs
            .push_back(TransactionOutput::Event(TransactionEvent::Request {
                key,
                request,
                source,
            }));
    }

    fn on_ack(&mut self, now: Instant, key: &TransactionKey, ack: rsip::Request, source: Peer) {
        // The ACK of a non-2xx response shares the INVITE's branch (§17.2.3);
        // the ACK of a 2xx is a new transaction found through its dialog.
        let id = self.ids.get(key).copied().or_else(|| {
            AckMatch::from_ack(&ack)
                .ok()
                .and_then(|ack_match| self.ack_routes.get(&ack_match).copied())
        });
        let mut disposition = AckDisposition::ForTransactionUser;
        if let Some(id) = id {
            if let Some(Entry {
                machine: Machine::InviteServer(machine),
                ..
            }) = self.transactions.get_mut(&id)
            {
                disposition = machine.on_ack(now);
                self.after_machine_call(id);
            }
        }
        if disposition == AckDisposition::ForTransactionUser {
            self.outputs
                .push_back(TransactionOutput::Event(TransactionEvent::Ack {
                    request: ack,
                    source,
                }));
        }
    }

    fn on_response(&mut self, now: Instant, response: rsip::Response) {
        let key = match TransactionKey::for_client_response(&response) {
            Ok(key) => key,
            Err(error) => {
                tracing::debug!(%error, "response dropped: no transaction identity");
                return;
            }
        };
        if let Some(&id) = self.ids.get(&key) {
            if let Some(entry) = self.transactions.get_mut(&id) {
                match &mut entry.machine {
                    Machine::InviteClient(machine) => machine.on_response(now, response),
                    Machine::NonInviteClient(machine) => machine.on_response(now, response),
                    Machine::InviteServer(_) | Machine::NonInviteServer(_) => {}
                }
            }
            self.after_machine_call(id);
            return;
        }
        // A 2xx retransmission outliving its transaction still needs the
        // core's ACK (RFC 3261 §13.2.2.4, RFC 6026 §8.9).
        if key.is_invite() && (200..300).contains(&response.status_code.code()) {
            self.outputs
                .push_back(TransactionOutput::Event(TransactionEvent::Response {
                    key,
                    response,
                }));
        } else {
            tracing::debug!(%key, "stray response dropped");
        }
    }

    fn insert(&mut self, key: TransactionKey, peer: Peer, machine: Machine) -> TransactionId {
        let id = self.next_id;
        self.next_id += 1;
        self.ids.insert(key.clone(), id);
        self.transactions.insert(
            id,
            Entry {
                key,
                peer,
                machine,
                scheduled: None,
                ack_matches: Vec::new(),
            },
        );
        id
    }

    fn route_acks_of(&mut self, id: TransactionId, response: &rsip::Response) {
        let Ok(ack_match) = AckMatch::from_response(response) else {
            return;
        };
        if let Some(entry) = self.transactions.get_mut(&id) {
            if !entry.ack_matches.contains(&ack_match) {
                entry.ack_matches.push(ack_match.clone());
            }
            self.ack_routes.insert(ack_match, id);
        }
    }

    /// Addresses a machine's outputs, removes it once terminated, else
    /// (re)schedules its next deadline.
    fn after_machine_call(&mut self, id: TransactionId) {
        let Some(entry) = self.transactions.get_mut(&id) else {
            return;
        };
        let mut terminated = false;
        while let Some(output) = entry.machine.poll_output() {
            let key = || entry.key.clone();
            let output = match output {
                MachineOutput::Transmit(data) => TransactionOutput::Transmit {
                    to: entry.peer,
                    data,
                },
                MachineOutput::Response(response) => {
                    TransactionOutput::Event(TransactionEvent::Response {
                        key: key(),
                        response,
                    })
                }
                MachineOutput::Timeout => {
                    TransactionOutput::Event(TransactionEvent::Timeout { key: key() })
                }
                MachineOutput::AckTimeout => {
                    TransactionOutput::Event(TransactionEvent::AckTimeout { key: key() })
                }
                MachineOutput::Terminated => {
                    terminated = true;
                    continue;
                }
            };
            self.outputs.push_back(output);
        }

        if terminated {
            self.remove(id);
            return;
        }

        let next = entry.machine.poll_timeout();
        if next != entry.scheduled {
            entry.scheduled = next;
            if let Some(at) = next {
                self.timers.push(at, id);
            }
        }
    }

    /// Forgets transaction `id` and tells the TU it is over.
    fn remove(&mut self, id: TransactionId) {
        if let Some(entry) = self.transactions.remove(&id) {
            self.ids.remove(&entry.key);
            for ack_match in &entry.ack_matches {
                if self.ack_routes.get(ack_match) == Some(&id) {
                    self.ack_routes.remove(ack_match);
                }
            }
            self.outputs
                .push_back(TransactionOutput::Event(TransactionEvent::Terminated {
                    key: entry.key,
                }));
        }
    }

    fn discard_stale_timers(&mut self) {
        let transactions = &self.transactions;
        self.timers.discard_stale(|at, id| {
            transactions
                .get(&id)
                .is_some_and(|entry| entry.scheduled == Some(at))
        });
    }
}
