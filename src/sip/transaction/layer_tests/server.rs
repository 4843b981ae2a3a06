//! Server transactions driven through the layer.

use super::*;

#[test]
fn invite_2xx_retransmitted_until_the_ack_arrives() {
    let start = Instant::now();
    let mut layer = new_layer();
    let invite = request("INVITE", "z9hG4bKinv1", 1);
    let (key, received) = receive_new(&mut layer, start, &invite, alice());
    assert_eq!(key.role(), TransactionRole::Server);

    let trying = response_to(&received, 100, None);
    layer.send_response(start, &key, trying.clone()).unwrap();
    assert_eq!(drain(&mut layer), [transmit(alice(), trying.clone())]);

    // A retransmitted INVITE is answered with the 100 again, not passed up.
    layer.handle_message(start + seconds(0.3), invite.clone().into(), alice());
    assert_eq!(drain(&mut layer), [transmit(alice(), trying)]);

    let ok = response_to(&received, 200, Some("uas"));
    layer
        .send_response(start + seconds(0.4), &key, ok.clone())
        .unwrap();
    assert_eq!(drain(&mut layer), [transmit(alice(), ok.clone())]);
    let before_ack = run(&mut layer, start, seconds(2.0));
    assert_eq!(transmit_times(&before_ack), [0.9, 1.9]);

    let ack = ack_for_2xx(&invite, "uas", "z9hG4bKack1");
    layer.handle_message(start + seconds(2.0), ack.clone().into(), alice());
    assert_eq!(
        drain(&mut layer),
        [TransactionOutput::Event(TransactionEvent::Ack {
            request: ack,
            source: alice()
        })]
    );
    // The pending retransmission is gone: the next deadline is Timer L.
    assert_eq!(layer.poll_timeout(), Some(start + seconds(32.4)));

    let after_ack = run(&mut layer, start, seconds(60.0));
    assert!(transmit_times(&after_ack).is_empty());
    assert_eq!(
        event_times(&after_ack),
        [(32.4, TransactionEvent::Terminated { key })]
    );
    assert_eq!(layer.len(), 0);
    assert_eq!(layer.poll_timeout(), None);
}

#[test]
fn unacknowledged_2xx_reports_ack_timeout_at_64_t1() {
    let start = Instant::now();
    let mut layer = new_layer();
    let (key, received) = receive_new(
        &mut layer,
        start,
        &request("INVITE", "z9hG4bKinv2", 1),
        alice(),
    );
    layer
        .send_response(start, &key, response_to(&received, 200, Some("uas")))
        .unwrap();
    drain(&mut layer);

    let log = run(&mut layer, start, seconds(60.0));
    assert_eq!(
        transmit_times(&log),
        [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    assert_eq!(
        event_times(&log),
        [
            (32.0, TransactionEvent::AckTimeout { key: key.clone() }),
            (32.0, TransactionEvent::Terminated { key })
        ]
    );
    assert!(layer.is_empty());
}

#[test]
fn ack_of_a_failure_is_absorbed_and_timer_i_ends_the_transaction() {
    let start = Instant::now();
    let mut layer = new_layer();
    let invite = request("INVITE", "z9hG4bKinv3", 1);
    let (key, received) = receive_new(&mut layer, start, &invite, alice());
    let busy = response_to(&received, 486, Some("uas"));
    layer.send_response(start, &key, busy.clone()).unwrap();
    assert_eq!(drain(&mut layer), [transmit(alice(), busy)]);
    assert_eq!(
        transmit_times(&run(&mut layer, start, seconds(2.0))),
        [0.5, 1.5]
    );

    // The ACK of a non-2xx reuses the INVITE's branch (RFC 3261 §17.1.1.3).
    let ack = request("ACK", "z9hG4bKinv3", 1);
    layer.handle_message(start + seconds(2.0), ack.clone().into(), alice());
    assert!(drain(&mut layer).is_empty(), "the ACK is not passed up");
    layer.handle_message(start + seconds(2.5), ack.into(), alice());
    assert!(
        drain(&mut layer).is_empty(),
        "ACK retransmissions are absorbed"
    );

    let log = run(&mut layer, start, seconds(60.0));
    assert!(transmit_times(&log).is_empty());
    assert_eq!(
        event_times(&log),
        [(7.0, TransactionEvent::Terminated { key })]
    );
    assert!(layer.is_empty());
}

#[test]
fn failure_never_acknowledged_times_out_with_timer_h() {
    let start = Instant::now();
    let mut layer = new_layer();
    let (key, received) = receive_new(
        &mut layer,
        start,
        &request("INVITE", "z9hG4bKinv4", 1),
        alice(),
    );
    layer
        .send_response(start, &key, response_to(&received, 404, Some("uas")))
        .unwrap();
    drain(&mut layer);
    let log = run(&mut layer, start, seconds(60.0));
    assert_eq!(transmit_times(&log).len(), 10);
    assert_eq!(
        event_times(&log),
        [
            (32.0, TransactionEvent::Timeout { key: key.clone() }),
            (32.0, TransactionEvent::Terminated { key })
        ]
    );
}

#[test]
fn retransmitted_bye_answered_from_the_stored_response() {
    let start = Instant::now();
    let mut layer = new_layer();
    let bye = request("BYE", "z9hG4bKbye1", 2);
    let (key, received) = receive_new(&mut layer, start, &bye, alice());

    layer.handle_message(start + seconds(0.1), bye.clone().into(), alice());
    assert!(
        drain(&mut layer).is_empty(),
        "Trying absorbs the retransmission"
    );

    let ok = response_to(&received, 200, None);
    layer
        .send_response(start + seconds(0.2), &key, ok.clone())
        .unwrap();
    assert_eq!(drain(&mut layer), [transmit(alice(), ok.clone())]);

    layer.handle_message(start + seconds(0.6), bye.into(), alice());
    assert_eq!(drain(&mut layer), [transmit(alice(), ok)]);

    let log = run(&mut layer, start, seconds(60.0));
    assert_eq!(
        event_times(&log),
        [(32.2, TransactionEvent::Terminated { key })]
    );
    assert!(layer.is_empty());
}

#[test]
fn cancel_is_its_own_transaction_and_finds_its_invite() {
    let start = Instant::now();
    let mut layer = new_layer();
    let (invite_key, _) = receive_new(
        &mut layer,
        start,
        &request("INVITE", "z9hG4bKinv5", 1),
        alice(),
    );
    let cancel = request("CANCEL", "z9hG4bKinv5", 1);
    let (cancel_key, received_cancel) = receive_new(&mut layer, start, &cancel, alice());
    assert_ne!(cancel_key, invite_key);
    assert_eq!(layer.len(), 2);
    assert_eq!(
        layer.find_invite_for_cancel(&received_cancel),
        Some(invite_key.clone())
    );
    assert_eq!(
        layer.find_invite_for_cancel(&request("CANCEL", "z9hG4bKother", 1)),
        None
    );

    // 200 to the CANCEL, 487 to the INVITE (RFC 3261 §9.2).
    layer
        .send_response(start, &cancel_key, response_to(&received_cancel, 200, None))
        .unwrap();
    let invite_received = request("INVITE", "z9hG4bKinv5", 1);
    layer
        .send_response(
            start,
            &invite_key,
            response_to(&invite_received, 487, Some("uas")),
        )
        .unwrap();
    drain(&mut layer);
    layer.handle_message(
        start + seconds(0.1),
        request("ACK", "z9hG4bKinv5", 1).into(),
        alice(),
    );
    run(&mut layer, start, seconds(60.0));
    assert!(layer.is_empty());
    assert_eq!(layer.find_invite_for_cancel(&received_cancel), None);
}

#[test]
fn received_is_stamped_and_responses_follow_the_via() {
    let start = Instant::now();
    let mut layer = new_layer();
    let behind_nat = Peer::udp("203.0.113.5:40000".parse().unwrap());
    let (key, received) = receive_new(
        &mut layer,
        start,
        &request("OPTIONS", "z9hG4bKopt", 1),
        behind_nat,
    );
    let via = TopVia::parse(received.via_header().unwrap().value()).unwrap();
    assert_eq!(via.received(), Some("203.0.113.5".parse().unwrap()));

    let ok = response_to(&received, 200, None);
    layer.send_response(start, &key, ok.clone()).unwrap();
    // No rport: received address at the sent-by port (RFC 3261 §18.2.2).
    assert_eq!(
        drain(&mut layer),
        [transmit(Peer::udp("203.0.113.5:5060".parse().unwrap()), ok)]
    );
}

#[test]
fn tcp_server_transaction_answers_on_the_connection_without_retransmitting() {
    let start = Instant::now();
    let mut layer = new_layer();
    let connection = Peer {
        transport: Transport::Tcp,
        addr: "192.0.2.1:50123".parse().unwrap(),
        connection: 9,
    };
    let (key, received) = receive_new(
        &mut layer,
        start,
        &request("INVITE", "z9hG4bKtcp", 1),
        connection,
    );
    let ok = response_to(&received, 200, Some("uas"));
    layer.send_response(start, &key, ok.clone()).unwrap();
    assert_eq!(drain(&mut layer), [transmit(connection, ok)]);
    let log = run(&mut layer, start, seconds(60.0));
    assert!(transmit_times(&log).is_empty());
    assert_eq!(
        event_times(&log),
        [
            (32.0, TransactionEvent::AckTimeout { key: key.clone() }),
            (32.0, TransactionEvent::Terminated { key })
        ]
    );
}

#[test]
fn ack_matching_nothing_is_passed_up() {
    let mut layer = new_layer();
    let ack = ack_for_2xx(&request("INVITE", "z9hG4bKgone", 1), "uas", "z9hG4bKack9");
    layer.handle_message(Instant::now(), ack.clone().into(), alice());
    assert_eq!(
        drain(&mut layer),
        [TransactionOutput::Event(TransactionEvent::Ack {
            request: ack,
            source: alice()
        })]
    );
    assert!(layer.is_empty());
}

#[test]
fn requests_without_identity_are_dropped() {
    let mut layer = new_layer();
    let mut no_via = request("OPTIONS", "z9hG4bKx", 1);
    no_via
        .headers
        .retain(|header| !matches!(header, rsip::Header::Via(_)));
    layer.handle_message(Instant::now(), no_via.into(), alice());
    let mut no_cseq = request("OPTIONS", "old-style", 1);
    no_cseq
        .headers
        .retain(|header| !matches!(header, rsip::Header::CSeq(_)));
    layer.handle_message(Instant::now(), no_cseq.into(), alice());
    assert!(drain(&mut layer).is_empty());
    assert!(layer.is_empty());
}

#[test]
fn rfc2543_client_retransmissions_are_absorbed() {
    let start = Instant::now();
    let mut layer = new_layer();
    let invite = request("INVITE", "old-branch-1", 4);
    let (key, received) = receive_new(&mut layer, start, &invite, alice());
    let busy = response_to(&received, 486, Some("uas"));
    layer.send_response(start, &key, busy.clone()).unwrap();
    drain(&mut layer);
    layer.handle_message(start + seconds(0.1), invite.into(), alice());
    assert_eq!(drain(&mut layer), [transmit(alice(), busy)]);
    layer.handle_message(
        start + seconds(0.2),
        request("ACK", "old-branch-1", 4).into(),
        alice(),
    );
    assert!(drain(&mut layer).is_empty());
}

#[test]
fn rfc2543_cancel_finds_its_invite_despite_the_received_stamp() {
    let start = Instant::now();
    let mut layer = new_layer();
    let behind_nat = Peer::udp("203.0.113.5:40000".parse().unwrap());
    let (invite_key, _) = receive_new(
        &mut layer,
        start,
        &request("INVITE", "old-branch-2", 8),
        behind_nat,
    );
    let (_, cancel) = receive_new(
        &mut layer,
        start,
        &request("CANCEL", "old-branch-2", 8),
        behind_nat,
    );
    assert!(cancel.via_header().unwrap().value().contains("received="));
    assert_eq!(layer.find_invite_for_cancel(&cancel), Some(invite_key));
}
