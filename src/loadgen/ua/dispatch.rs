//! The user agent's receive task: parses every incoming message, routes it
//! to its call by Call-ID and does the protocol chores that must not wait
//! for the call's owner (stopping retransmissions, ACKing final responses,
//! answering BYE).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::time::Instant;

use super::message::{header_uri, split_header_list, ReceivedMessage};
use super::request::{new_branch, response_to, via_value, OutgoingRequest};
use super::shared::{CallEntry, InviteContext, UaShared};
use super::transport::SipReceiver;

/// Runs until the transport fails or closes, then closes the user agent.
pub(crate) async fn receive_loop(shared: Arc<UaShared>, mut receiver: SipReceiver) {
    loop {
        match receiver.next().await {
            Ok(Some((data, from))) => handle_message(&shared, data, from).await,
            Ok(None) => break,
            Err(e) => {
                tracing::debug!(error = %e, "SIP receive loop ends");
                break;
            }
        }
    }
    shared.close();
}

enum Outgoing {
    ToServer(String),
    Reply(String),
}

async fn handle_message(shared: &Arc<UaShared>, data: Bytes, from: SocketAddr) {
    let message = match ReceivedMessage::parse(data, from, Instant::now()) {
        Ok(m) => m,
        Err(e) => {
            shared
                .unparseable
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(error = %e, %from, "unparseable SIP message");
            return;
        }
    };
    shared.record(&message);

    let mut outgoing = Vec::new();
    let mut unrouted = None;
    {
        let mut calls = shared.calls();
        match message.call_id().and_then(|id| calls.get_mut(id)) {
            Some(entry) => {
                handle_for_call(shared, entry, &message, &mut outgoing);
                if entry.events.try_send(message).is_err() {
                    tracing::debug!("call event queue full or closed; message dropped");
                }
            }
            None => unrouted = Some(message),
        }
    }
    if let Some(message) = unrouted {
        // A request for a dialog we do not know (RFC 3261 §12.2.2).
        if matches!(message.method(), Some("BYE" | "CANCEL")) {
            outgoing.push(Outgoing::Reply(response_to(
                &message,
                481,
                "Call/Transaction Does Not Exist",
            )));
        }
        if shared.unmatched.try_send(message).is_err() {
            tracing::debug!("unmatched message queue full; message dropped");
        }
    }

    for out in outgoing {
        let sent = match out {
            Outgoing::ToServer(text) => shared.send_to_server(text.as_bytes()).await,
            Outgoing::Reply(text) => shared.sender.send(text.as_bytes(), from).await,
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, "sending from the receive loop failed");
        }
    }
}

fn handle_for_call(
    shared: &UaShared,
    entry: &mut CallEntry,
    message: &ReceivedMessage,
    outgoing: &mut Vec<Outgoing>,
) {
    if let Some(status) = message.status_code() {
        let Some((cseq, method)) = message.cseq() else {
            return;
        };
        entry.retransmissions.retain(|r| {
            let stops = r.cseq == cseq
                && r.method.eq_ignore_ascii_case(method)
                && (status >= 200 || r.stop_on_provisional);
            if stops {
                r.abort.abort();
            }
            !stops
        });
        if status < 200 || !method.eq_ignore_ascii_case("INVITE") {
            return;
        }
        let Some(invite) = entry.invite.as_mut().filter(|i| i.cseq == cseq) else {
            return;
        };
        if (200..300).contains(&status) {
            entry.counters.ok_responses.send_modify(|n| *n += 1);
        }
        if invite.send_ack {
            outgoing.push(Outgoing::ToServer(ack_for(shared, invite, message, status)));
        }
        return;
    }
    match message.method() {
        Some("BYE") | Some("OPTIONS") => {
            outgoing.push(Outgoing::Reply(response_to(message, 200, "OK")));
        }
        // Anything else in the dialog is left to the call's owner.
        _ => {}
    }
}

/// The ACK for a final response to INVITE.
fn ack_for(
    shared: &UaShared,
    invite: &mut InviteContext,
    response: &ReceivedMessage,
    status: u16,
) -> String {
    let to = response.header("To").unwrap_or_default();
    let call_id = response.call_id().unwrap_or_default();
    if status >= 300 {
        // Non-2xx: part of the INVITE transaction, same branch and
        // Request-URI as the INVITE (RFC 3261 §17.1.1.3).
        return OutgoingRequest {
            method: "ACK",
            request_uri: &invite.request_uri,
            via: &invite.via,
            from: &invite.from,
            to,
            call_id,
            cseq: invite.cseq,
            contact: None,
            routes: &invite.routes,
            extra_headers: &[],
            body: None,
        }
        .render();
    }
    let to_tag = response.to_tag().unwrap_or_default();
    if let Some((tag, ack)) = &invite.ack_for_2xx {
        if tag == to_tag {
            return ack.clone();
        }
    }
    // 2xx: a new transaction to the remote target, along the route set
    // learnt from Record-Route, reversed (RFC 3261 §13.2.2.4, §12.1.2).
    let remote_target = response
        .header("Contact")
        .map(header_uri)
        .unwrap_or(invite.request_uri.as_str());
    let routes = route_set(response);
    let via = via_value(shared.transport, shared.local_addr, &new_branch());
    let ack = OutgoingRequest {
        method: "ACK",
        request_uri: remote_target,
        via: &via,
        from: &invite.from,
        to,
        call_id,
        cseq: invite.cseq,
        contact: None,
        routes: &routes,
        extra_headers: &[],
        body: invite
            .ack_sdp
            .as_deref()
            .map(|sdp| ("application/sdp", sdp)),
    }
    .render();
    invite.ack_for_2xx = Some((to_tag.to_string(), ack.clone()));
    ack
}

/// The route set a UAC learns from a 2xx: Record-Route in reverse (RFC 3261 §12.1.2).
pub(crate) fn route_set(response: &ReceivedMessage) -> Vec<String> {
    let mut routes: Vec<String> = response
        .header_values("Record-Route")
        .flat_map(split_header_list)
        .map(str::to_string)
        .collect();
    routes.reverse();
    routes
}
