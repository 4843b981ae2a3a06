//! One call placed by the test user agent: the INVITE client transaction as
//! seen from its owner, then the dialog (RFC 3261 §12, §13, §15).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::dispatch::route_set;
use super::message::{header_param, header_uri, ReceivedMessage};
use super::request::{new_branch, via_value, OutgoingRequest};
use super::shared::{CallCounters, UaShared};
use super::UaError;
use crate::loadgen::simple_sdp::SdpAnswer;

/// Where a call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
    /// INVITE sent, nothing back yet.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A 2xx arrived: the dialog exists.
    Established,
    /// The INVITE got this non-2xx final response (487 after a CANCEL).
    Failed(u16),
    /// A BYE ended the dialog, from either side.
    Terminated,
}

/// The two final responses a CANCEL brings.
#[derive(Clone, Debug)]
pub struct CancelOutcome {
    /// The response to the CANCEL itself (200 when it matched the INVITE).
    pub cancel_response: ReceivedMessage,
    /// The final response to the INVITE (487 when the CANCEL won the race).
    pub invite_response: ReceivedMessage,
}

/// What `Call::new` needs, written once by the user agent when it sends the INVITE.
pub(crate) struct CallSetup {
    pub shared: Arc<UaShared>,
    pub call_id: String,
    pub request_uri: String,
    pub from: String,
    pub to: String,
    pub invite_via: String,
    pub invite_cseq: u32,
    pub events: mpsc::Receiver<ReceivedMessage>,
    pub counters: Arc<CallCounters>,
    pub invite_sent_at: Instant,
}

/// A call placed by a [`TestUserAgent`](super::TestUserAgent). Dropping it
/// forgets the call (no BYE is sent).
#[derive(Debug)]
pub struct Call {
    shared: Arc<UaShared>,
    call_id: String,
    request_uri: String,
    from: String,
    to: String,
    invite_via: String,
    invite_cseq: u32,
    next_cseq: u32,
    routes: Vec<String>,
    /// SDP for the ACK of a 2xx that answered an offerless re-INVITE.
    late_answer: Option<String>,
    remote_target: Option<String>,
    events: mpsc::Receiver<ReceivedMessage>,
    responses: Vec<ReceivedMessage>,
    requests: Vec<ReceivedMessage>,
    final_response: Option<ReceivedMessage>,
    counters: Arc<CallCounters>,
    invite_sent_at: Instant,
    state: CallState,
}

impl Drop for Call {
    fn drop(&mut self) {
        self.shared.unregister(&self.call_id);
    }
}

impl Call {
    pub(crate) fn new(setup: CallSetup) -> Call {
        Call {
            shared: setup.shared,
            call_id: setup.call_id,
            request_uri: setup.request_uri,
            from: setup.from,
            to: setup.to,
            invite_via: setup.invite_via,
            invite_cseq: setup.invite_cseq,
            next_cseq: setup.invite_cseq + 1,
            late_answer: None,
            routes: Vec::new(),
            remote_target: None,
            events: setup.events,
            responses: Vec::new(),
            requests: Vec::new(),
            final_response: None,
            counters: setup.counters,
            invite_sent_at: setup.invite_sent_at,
            state: CallState::Calling,
        }
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    pub fn state(&self) -> CallState {
        self.state
    }

    /// The From header value, with our tag.
    pub fn from_header(&self) -> &str {
        &self.from
    }

    /// The To header value; carries the remote tag once established.
    pub fn to_header(&self) -> &str {
        &self.to
    }

    pub fn local_tag(&self) -> Option<&str> {
        header_param(&self.from, "tag")
    }

    pub fn remote_tag(&self) -> Option<&str> {
        header_param(&self.to, "tag")
    }

    /// The remote target learnt from the 2xx Contact.
    pub fn remote_target(&self) -> Option<&str> {
        self.remote_target.as_deref()
    }

    pub fn invite_sent_at(&self) -> Instant {
        self.invite_sent_at
    }

    /// The final response to the INVITE, once seen by this handle.
    pub fn final_response(&self) -> Option<&ReceivedMessage> {
        self.final_response.as_ref()
    }

    /// The SDP answer in the 2xx.
    pub fn answer_sdp(&self) -> Result<SdpAnswer, UaError> {
        let ok = self
            .final_response
            .as_ref()
            .filter(|r| r.status_code().is_some_and(|s| (200..300).contains(&s)))
            .ok_or(UaError::InvalidState("reading the answer before a 2xx"))?;
        Ok(SdpAnswer::parse(&ok.body_text())?)
    }

    /// How many 2xx responses to the INVITE arrived, retransmissions included.
    pub fn ok_count(&self) -> u32 {
        *self.counters.ok_responses.borrow()
    }

    /// Waits until at least `count` 2xx responses to the INVITE arrived.
    pub async fn wait_ok_count(&self, count: u32, timeout: Duration) -> Result<u32, UaError> {
        let mut rx = self.counters.ok_responses.subscribe();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|n| *n >= count))
            .await
            .map(|r| r.map(|n| *n));
        match waited {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(_)) => Err(UaError::Closed),
            Err(_) => Err(UaError::Timeout("2xx retransmissions")),
        }
    }

    /// How many times the INVITE was sent, Timer A retransmissions included.
    pub fn invite_transmissions(&self) -> u32 {
        self.counters
            .invite_transmissions
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every response for this call received so far.
    pub fn responses(&mut self) -> &[ReceivedMessage] {
        self.drain_pending();
        &self.responses
    }

    /// Every request the server sent in this call so far.
    pub fn requests(&mut self) -> &[ReceivedMessage] {
        self.drain_pending();
        &self.requests
    }

    /// The next message for this call, whatever it is.
    pub async fn next_message(&mut self, timeout: Duration) -> Result<ReceivedMessage, UaError> {
        let deadline = Instant::now() + timeout;
        let message = match tokio::time::timeout_at(deadline, self.events.recv()).await {
            Ok(Some(m)) => m,
            Ok(None) => return Err(UaError::Closed),
            Err(_) => return Err(UaError::Timeout("a message")),
        };
        self.absorb(message.clone());
        Ok(message)
    }

    /// The first provisional response to the INVITE.
    pub async fn wait_provisional(
        &mut self,
        timeout: Duration,
    ) -> Result<ReceivedMessage, UaError> {
        let cseq = self.invite_cseq;
        self.wait_until(timeout, "a provisional response", move |call| {
            if let Some(p) = call.responses.iter().find(|r| {
                r.status_code().is_some_and(|s| s < 200) && r.cseq() == Some((cseq, "INVITE"))
            }) {
                return Some(Ok(p.clone()));
            }
            call.final_response.as_ref().map(|f| {
                Err(UaError::UnexpectedResponse {
                    status: f.status_code().unwrap_or_default(),
                    waiting_for: "a provisional response",
                })
            })
        })
        .await?
    }

    /// The SDP answer the next re-INVITE's ACK carries (for a re-INVITE sent
    /// without an offer, whose 2xx brings the offer).
    pub fn set_late_answer(&mut self, sdp: String) {
        self.late_answer = Some(sdp);
    }

    /// The first response to the INVITE with status `code` (e.g. 180).
    pub async fn wait_status(
        &mut self,
        code: u16,
        timeout: Duration,
    ) -> Result<ReceivedMessage, UaError> {
        let cseq = self.invite_cseq;
        self.wait_until(timeout, "a response with the awaited status", move |call| {
            call.responses
                .iter()
                .find(|r| r.status_code() == Some(code) && r.cseq() == Some((cseq, "INVITE")))
                .cloned()
        })
        .await
    }

    /// The final response to the INVITE (already ACKed by the user agent
    /// unless the call was placed with `send_ack: false`).
    pub async fn wait_final(&mut self, timeout: Duration) -> Result<ReceivedMessage, UaError> {
        self.wait_until(timeout, "the final response to INVITE", |call| {
            call.final_response.clone()
        })
        .await
    }

    /// Cancels the INVITE: waits for a provisional response first (a CANCEL
    /// must not precede one, RFC 3261 §9.1), then for the response to the
    /// CANCEL and the final response to the INVITE.
    pub async fn cancel(&mut self, timeout: Duration) -> Result<CancelOutcome, UaError> {
        self.drain_pending();
        if self.final_response.is_some() {
            return Err(UaError::InvalidState("CANCEL after a final response"));
        }
        let deadline = Instant::now() + timeout;
        self.wait_provisional(timeout).await?;
        // Same Request-URI, Call-ID, From, To, CSeq number and top Via as the
        // INVITE (RFC 3261 §9.1).
        let text = OutgoingRequest {
            method: "CANCEL",
            request_uri: &self.request_uri,
            via: &self.invite_via,
            from: &self.from,
            to: &self.to,
            call_id: &self.call_id,
            cseq: self.invite_cseq,
            contact: None,
            routes: &[],
            extra_headers: &[],
            body: None,
        }
        .render();
        self.shared
            .send_request(&self.call_id, self.invite_cseq, "CANCEL", Bytes::from(text))
            .await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let cancel_response = self
            .wait_final_response_to(self.invite_cseq, "CANCEL", remaining)
            .await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let invite_response = self.wait_final(remaining).await?;
        Ok(CancelOutcome {
            cancel_response,
            invite_response,
        })
    }

    /// Sends BYE and returns its final response.
    pub async fn bye(&mut self, timeout: Duration) -> Result<ReceivedMessage, UaError> {
        let response = self.request("BYE", &[], None, timeout).await?;
        self.state = CallState::Terminated;
        Ok(response)
    }

    /// Waits for the server's BYE (the user agent has already answered it 200).
    pub async fn wait_bye(&mut self, timeout: Duration) -> Result<ReceivedMessage, UaError> {
        self.wait_until(timeout, "a BYE", |call| {
            call.requests
                .iter()
                .find(|r| r.method() == Some("BYE"))
                .cloned()
        })
        .await
    }

    /// Sends a non-INVITE request inside the dialog (BYE, INFO, ...) and
    /// returns its final response. `body` is (content type, body).
    pub async fn request(
        &mut self,
        method: &str,
        extra_headers: &[String],
        body: Option<(&str, &str)>,
        timeout: Duration,
    ) -> Result<ReceivedMessage, UaError> {
        self.drain_pending();
        let remote_target = match (self.state, &self.remote_target) {
            (CallState::Established, Some(target)) => target.clone(),
            _ => {
                return Err(UaError::InvalidState(
                    "an in-dialog request outside a dialog",
                ))
            }
        };
        let cseq = self.next_cseq;
        self.next_cseq += 1;
        let text = self.in_dialog_request(method, &remote_target, cseq, extra_headers, body);
        self.shared
            .send_request(&self.call_id, cseq, method, Bytes::from(text))
            .await?;
        let response = self.wait_final_response_to(cseq, method, timeout).await?;
        if method == "INVITE"
            && response
                .status_code()
                .is_some_and(|c| (200..300).contains(&c))
        {
            // RFC 3261 §13.2.2.4: a re-INVITE's 2xx is acknowledged like the
            // first; after an offerless re-INVITE the ACK carries the answer.
            let late_answer = self.late_answer.take();
            let body = late_answer.as_deref().map(|sdp| ("application/sdp", sdp));
            let ack = self.in_dialog_request("ACK", &remote_target, cseq, &[], body);
            self.shared.send_to_server(ack.as_bytes()).await?;
        }
        Ok(response)
    }

    /// The text of a request within this dialog, on a fresh branch.
    fn in_dialog_request(
        &self,
        method: &str,
        remote_target: &str,
        cseq: u32,
        extra_headers: &[String],
        body: Option<(&str, &str)>,
    ) -> String {
        let via = via_value(self.shared.transport, self.shared.local_addr, &new_branch());
        OutgoingRequest {
            method,
            request_uri: remote_target,
            via: &via,
            from: &self.from,
            to: &self.to,
            call_id: &self.call_id,
            cseq,
            contact: None,
            routes: &self.routes,
            extra_headers,
            body,
        }
        .render()
    }

    async fn wait_final_response_to(
        &mut self,
        cseq: u32,
        method: &str,
        timeout: Duration,
    ) -> Result<ReceivedMessage, UaError> {
        self.wait_until(timeout, "a final response", |call| {
            call.responses
                .iter()
                .find(|r| {
                    r.is_final_response_to(method) && r.cseq().is_some_and(|(n, _)| n == cseq)
                })
                .cloned()
        })
        .await
    }

    async fn wait_until<T>(
        &mut self,
        timeout: Duration,
        waiting_for: &'static str,
        mut check: impl FnMut(&Call) -> Option<T>,
    ) -> Result<T, UaError> {
        let deadline = Instant::now() + timeout;
        self.drain_pending();
        loop {
            if let Some(found) = check(self) {
                return Ok(found);
            }
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(m)) => self.absorb(m),
                Ok(None) => return Err(UaError::Closed),
                Err(_) => return Err(UaError::Timeout(waiting_for)),
            }
        }
    }

    fn drain_pending(&mut self) {
        while let Ok(m) = self.events.try_recv() {
            self.absorb(m);
        }
    }

    fn absorb(&mut self, message: ReceivedMessage) {
        let Some(status) = message.status_code() else {
            if message.method() == Some("BYE") {
                self.state = CallState::Terminated;
            }
            self.requests.push(message);
            return;
        };
        if message.cseq() == Some((self.invite_cseq, "INVITE")) {
            if status < 200 {
                if self.state == CallState::Calling {
                    self.state = CallState::Proceeding;
                }
            } else if self.final_response.is_none() {
                if status < 300 {
                    self.establish(&message);
                } else {
                    self.state = CallState::Failed(status);
                }
                self.final_response = Some(message.clone());
            }
        }
        self.responses.push(message);
    }

    /// The dialog state a UAC takes from a 2xx (RFC 3261 §12.1.2).
    fn establish(&mut self, ok: &ReceivedMessage) {
        if let Some(to) = ok.header("To") {
            self.to = to.to_string();
        }
        self.remote_target = Some(
            ok.header("Contact")
                .map(header_uri)
                .unwrap_or(&self.request_uri)
                .to_string(),
        );
        self.routes = route_set(ok);
        self.state = CallState::Established;
    }
}
