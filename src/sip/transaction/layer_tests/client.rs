//! Client transactions driven through the layer.

use super::*;

#[test]
fn client_invite_failure_is_acked_by_the_layer() {
    let start = Instant::now();
    let mut layer = new_layer();
    let invite = request("INVITE", &new_branch(), 10);
    let key = layer
        .send_request(start, invite.clone(), gateway())
        .unwrap();
    assert_eq!(key.role(), TransactionRole::Client);
    assert_eq!(drain(&mut layer), [transmit(gateway(), invite.clone())]);

    let busy = response_to(&invite, 486, Some("gw"));
    layer.handle_message(start + seconds(0.2), busy.clone().into(), gateway());
    let ack = build_non_2xx_ack(&invite, &busy).unwrap();
    assert_eq!(
        drain(&mut layer),
        [
            transmit(gateway(), ack.clone()),
            TransactionOutput::Event(TransactionEvent::Response {
                key: key.clone(),
                response: busy.clone()
            })
        ]
    );

    // The 486 again: the same ACK again, nothing for the TU.
    layer.handle_message(start + seconds(0.7), busy.into(), gateway());
    assert_eq!(drain(&mut layer), [transmit(gateway(), ack)]);

    let log = run(&mut layer, start, seconds(60.0));
    assert_eq!(
        event_times(&log),
        [(32.2, TransactionEvent::Terminated { key })]
    );
    assert!(layer.is_empty());
}

#[test]
fn client_invite_2xx_and_its_retransmissions_reach_the_tu() {
    let start = Instant::now();
    let mut layer = new_layer();
    let invite = request("INVITE", &new_branch(), 11);
    let key = layer
        .send_request(start, invite.clone(), gateway())
        .unwrap();
    drain(&mut layer);
    let ok = response_to(&invite, 200, Some("gw"));
    for offset in [0.1, 0.6] {
        layer.handle_message(start + seconds(offset), ok.clone().into(), gateway());
        assert_eq!(
            drain(&mut layer),
            [TransactionOutput::Event(TransactionEvent::Response {
                key: key.clone(),
                response: ok.clone()
            })]
        );
    }
    // The TU's ACK for the 2xx goes out statelessly.
    let ack = ack_for_2xx(&invite, "gw", &new_branch());
    layer.send_stateless(ack.clone().into(), gateway());
    assert_eq!(drain(&mut layer), [transmit(gateway(), ack)]);

    let log = run(&mut layer, start, seconds(60.0));
    assert_eq!(
        event_times(&log),
        [(32.1, TransactionEvent::Terminated { key: key.clone() })]
    );

    // After Timer M the 2xx is a stray one, still passed up for the core to ACK.
    layer.handle_message(start + seconds(61.0), ok.clone().into(), gateway());
    assert_eq!(
        drain(&mut layer),
        [TransactionOutput::Event(TransactionEvent::Response {
            key,
            response: ok
        })]
    );
}

#[test]
fn client_timers_b_and_f_time_out_unanswered_requests() {
    let start = Instant::now();
    let mut layer = new_layer();
    let invite_key = layer
        .send_request(start, request("INVITE", &new_branch(), 1), gateway())
        .unwrap();
    let options_key = layer
        .send_request(
            start + seconds(0.25),
            request("OPTIONS", &new_branch(), 1),
            gateway(),
        )
        .unwrap();
    assert_eq!(drain(&mut layer).len(), 2);

    let log = run(&mut layer, start, seconds(60.0));
    // Timer A (INVITE, doubling without ceiling) and Timer E (OPTIONS,
    // capped at T2) interleaved.
    assert_eq!(
        transmit_times(&log),
        [
            0.5, 0.75, 1.5, 1.75, 3.5, 3.75, 7.5, 7.75, 11.75, 15.5, 15.75, 19.75, 23.75, 27.75,
            31.5, 31.75
        ]
    );
    assert_eq!(
        event_times(&log),
        [
            (
                32.0,
                TransactionEvent::Timeout {
                    key: invite_key.clone()
                }
            ),
            (32.0, TransactionEvent::Terminated { key: invite_key }),
            (
                32.25,
                TransactionEvent::Timeout {
                    key: options_key.clone()
                }
            ),
            (32.25, TransactionEvent::Terminated { key: options_key })
        ]
    );
    assert!(layer.is_empty());
}

#[test]
fn stray_responses_other_than_invite_2xx_are_dropped() {
    let start = Instant::now();
    let mut layer = new_layer();
    let unknown_invite = request("INVITE", "z9hG4bKnobody", 1);
    for status in [100, 180, 486] {
        layer.handle_message(
            start,
            response_to(&unknown_invite, status, Some("x")).into(),
            gateway(),
        );
    }
    let unknown_bye = request("BYE", "z9hG4bKnobody", 2);
    layer.handle_message(
        start,
        response_to(&unknown_bye, 200, None).into(),
        gateway(),
    );
    assert!(drain(&mut layer).is_empty());

    let ok = response_to(&unknown_invite, 200, Some("x"));
    layer.handle_message(start, ok.clone().into(), gateway());
    match drain(&mut layer).as_slice() {
        [TransactionOutput::Event(TransactionEvent::Response { key, response })] => {
            assert_eq!(*response, ok);
            assert_eq!(key.branch(), "z9hG4bKnobody");
            assert!(key.is_invite());
        }
        other => panic!("expected the stray 2xx, got {other:?}"),
    }
    assert!(layer.is_empty());
}

#[test]
fn a_failed_connection_ends_the_client_transactions_towards_it() {
    let start = Instant::now();
    let mut layer = new_layer();
    let tls = |addr: &str| Peer {
        transport: Transport::Tls,
        addr: addr.parse().unwrap(),
        connection: 0,
    };
    let trunk = tls("192.0.2.1:5061");
    let other = tls("192.0.2.2:5061");
    let invite = request("INVITE", &new_branch(), 10);
    let options = request("OPTIONS", &new_branch(), 11);
    let elsewhere = request("INVITE", &new_branch(), 12);
    let invite_key = layer.send_request(start, invite, trunk).unwrap();
    let options_key = layer.send_request(start, options, trunk).unwrap();
    let elsewhere_key = layer.send_request(start, elsewhere, other).unwrap();
    drain(&mut layer);

    layer.transport_failed(trunk);
    let events: Vec<TransactionEvent> = drain(&mut layer)
        .into_iter()
        .filter_map(|output| match output {
            TransactionOutput::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 4, "{events:?}");
    for key in [&invite_key, &options_key] {
        assert!(events.contains(&TransactionEvent::TransportFailed { key: key.clone() }));
        assert!(events.contains(&TransactionEvent::Terminated { key: key.clone() }));
    }
    // The transaction towards another address is untouched.
    assert_eq!(layer.len(), 1);
    let log = run(&mut layer, start, seconds(40.0));
    assert!(event_times(&log).contains(&(32.0, TransactionEvent::Timeout { key: elsewhere_key })));
}
