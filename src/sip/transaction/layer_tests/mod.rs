//! Transaction layer tests: messages and time in, transmissions and events
//! out, as the SIP core and the transport driver see them.

mod client;
mod server;

use std::time::{Duration, Instant};

use bytes::Bytes;
use rsip::headers::UntypedHeader;
use rsip::prelude::HeadersExt;

use super::*;
use crate::sip::transaction::test_clock::seconds;
use crate::sip::transaction::test_messages::{ack_for_2xx, request, response_to};
use crate::sip::transaction::{build_non_2xx_ack, new_branch, TransactionRole};
use crate::sip::via::TopVia;
use crate::sip::{Peer, Transport};

fn new_layer() -> TransactionLayer {
    TransactionLayer::new(TimerConfig::default())
}

/// The peer the test requests' Via (192.0.2.1:5060) names.
fn alice() -> Peer {
    Peer::udp("192.0.2.1:5060".parse().unwrap())
}

fn gateway() -> Peer {
    Peer::udp("198.51.100.20:5060".parse().unwrap())
}

fn drain(layer: &mut TransactionLayer) -> Vec<TransactionOutput> {
    std::iter::from_fn(|| layer.poll_output()).collect()
}

/// Fires the layer's timers as a driver would, up to `origin + until`,
/// recording outputs with their time in seconds from `origin`.
fn run(
    layer: &mut TransactionLayer,
    origin: Instant,
    until: Duration,
) -> Vec<(f64, TransactionOutput)> {
    let end = origin + until;
    let mut log = Vec::new();
    let mut firings = 0;
    while let Some(at) = layer.poll_timeout().filter(|at| *at <= end) {
        firings += 1;
        assert!(firings < 10_000, "a timer that never stops firing");
        layer.handle_timeout(at);
        let offset = ((at - origin).as_secs_f64() * 1000.0).round() / 1000.0;
        log.extend(drain(layer).into_iter().map(|output| (offset, output)));
    }
    log
}

fn transmit_times(log: &[(f64, TransactionOutput)]) -> Vec<f64> {
    log.iter()
        .filter(|(_, output)| matches!(output, TransactionOutput::Transmit { .. }))
        .map(|(at, _)| *at)
        .collect()
}

fn event_times(log: &[(f64, TransactionOutput)]) -> Vec<(f64, TransactionEvent)> {
    log.iter()
        .filter_map(|(at, output)| match output {
            TransactionOutput::Event(event) => Some((*at, event.clone())),
            TransactionOutput::Transmit { .. } => None,
        })
        .collect()
}

fn transmit(to: Peer, message: impl Into<rsip::SipMessage>) -> TransactionOutput {
    TransactionOutput::Transmit {
        to,
        data: Bytes::from(message.into().to_string()),
    }
}

/// Delivers a request and returns the server transaction it created.
fn receive_new(
    layer: &mut TransactionLayer,
    now: Instant,
    request: &rsip::Request,
    source: Peer,
) -> (TransactionKey, rsip::Request) {
    layer.handle_message(now, request.clone().into(), source);
    match drain(layer).as_slice() {
        [TransactionOutput::Event(TransactionEvent::Request {
            key,
            request,
            source: from,
        })] => {
            assert_eq!(*from, source);
            (key.clone(), request.clone())
        }
        other => panic!("expected one Request event, got {other:?}"),
    }
}

#[test]
fn misuse_is_reported() {
    let start = Instant::now();
    let mut layer = new_layer();
    assert!(matches!(
        layer.send_request(start, request("OPTIONS", "no-cookie", 1), gateway()),
        Err(TransactionError::MissingBranch)
    ));
    assert!(matches!(
        layer.send_request(start, request("ACK", &new_branch(), 1), gateway()),
        Err(TransactionError::NotATransaction(_))
    ));
    let options = request("OPTIONS", &new_branch(), 1);
    let client_key = layer
        .send_request(start, options.clone(), gateway())
        .unwrap();
    assert_eq!(
        layer.send_request(start, options.clone(), gateway()),
        Err(TransactionError::DuplicateTransaction(client_key.clone()))
    );
    // A client transaction cannot be answered.
    assert_eq!(
        layer.send_response(start, &client_key, response_to(&options, 200, None)),
        Err(TransactionError::UnknownTransaction(client_key))
    );
    drain(&mut layer);
    let (key, received) = receive_new(&mut layer, start, &request("BYE", "z9hG4bKb", 3), alice());
    layer
        .send_response(start, &key, response_to(&received, 200, None))
        .unwrap();
    assert!(matches!(
        layer.send_response(start, &key, response_to(&received, 500, None)),
        Err(TransactionError::ResponseNotAllowed { status: 500, .. })
    ));
}

#[test]
fn every_transaction_terminates_and_the_count_returns_to_zero() {
    let start = Instant::now();
    let mut layer = new_layer();
    let mut keys = Vec::new();

    for (index, status) in [(0, 200), (1, 486), (2, 180)] {
        let branch = format!("z9hG4bKmix{index}");
        let (key, received) =
            receive_new(&mut layer, start, &request("INVITE", &branch, 1), alice());
        layer
            .send_response(start, &key, response_to(&received, status, Some("uas")))
            .unwrap();
        drain(&mut layer);
        keys.push(key);
    }
    let (bye_key, bye) = receive_new(
        &mut layer,
        start,
        &request("BYE", "z9hG4bKmixbye", 2),
        alice(),
    );
    layer
        .send_response(start, &bye_key, response_to(&bye, 200, None))
        .unwrap();
    keys.push(bye_key);
    keys.push(
        layer
            .send_request(start, request("INVITE", &new_branch(), 5), gateway())
            .unwrap(),
    );
    keys.push(
        layer
            .send_request(start, request("OPTIONS", &new_branch(), 6), gateway())
            .unwrap(),
    );
    assert_eq!(layer.len(), 6);
    drain(&mut layer);

    // The INVITE left ringing (180) has no timer: the TU still owes a final.
    let log = run(&mut layer, start, seconds(120.0));
    assert_eq!(layer.len(), 1);
    let ringing = keys.remove(2);
    let received = request("INVITE", "z9hG4bKmix2", 1);
    layer
        .send_response(
            start + seconds(120.0),
            &ringing,
            response_to(&received, 603, Some("uas")),
        )
        .unwrap();
    let tail = run(&mut layer, start, seconds(300.0));
    keys.push(ringing);

    let terminated: Vec<TransactionKey> = log
        .iter()
        .chain(tail.iter())
        .filter_map(|(_, output)| match output {
            TransactionOutput::Event(TransactionEvent::Terminated { key }) => Some(key.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(terminated.len(), keys.len());
    for key in &keys {
        assert!(terminated.contains(key), "{key} never terminated");
    }
    assert_eq!(layer.len(), 0);
    assert_eq!(layer.poll_timeout(), None);
}
