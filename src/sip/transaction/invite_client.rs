//! INVITE client transaction (RFC 3261 §17.1.1, with the Accepted state of
//! RFC 6026 §7.2).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::ack::build_non_2xx_ack;
use super::output::MachineOutput;
use super::timers::{earliest, Backoff, TimerConfig};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteClientState {
    Calling,
    Proceeding,
    Accepted,
    Completed,
    Terminated,
}

#[derive(Debug)]
pub struct InviteClientTransaction {
    state: InviteClientState,
    config: TimerConfig,
    reliable: bool,
    request: rsip::Request,
    request_data: Bytes,
    /// Timer A: INVITE retransmissions, unreliable transports only.
    timer_a: Option<Backoff>,
    /// Timer B: give up on an INVITE never answered.
    timer_b: Option<Instant>,
    /// Timer D: absorb final response retransmissions in Completed.
    timer_d: Option<Instant>,
    /// Timer M (RFC 6026): collect 2xx retransmissions in Accepted.
    timer_m: Option<Instant>,
    /// The ACK for the non-2xx final response, once built.
    ack_data: Option<Bytes>,
    outputs: VecDeque<MachineOutput>,
}

impl InviteClientTransaction {
    /// Sends `request` (an INVITE) and starts Timers A and B (§17.1.1.2).
    pub fn start(
        now: Instant,
        config: TimerConfig,
        reliable: bool,
        request: rsip::Request,
    ) -> Self {
        let request_data = Bytes::from(request.to_string());
        let mut outputs = VecDeque::new();
        outputs.push_back(MachineOutput::Transmit(request_data.clone()));
        InviteClientTransaction {
            state: InviteClientState::Calling,
            config,
            reliable,
            request,
            request_data,
            timer_a: (!reliable).then(|| Backoff::start(now, config.t1, None)),
            timer_b: Some(now + config.transaction_timeout()),
            timer_d: None,
            timer_m: None,
            ack_data: None,
            outputs,
        }
    }

    pub fn state(&self) -> InviteClientState {
        self.state
    }

    pub fn request(&self) -> &rsip::Request {
        &self.request
    }

    pub fn is_terminated(&self) -> bool {
        self.state == InviteClientState::Terminated
    }

    /// A response matched this transaction.
    pub fn on_response(&mut self, now: Instant, response: rsip::Response) {
        let status = response.status_code.code();
        match (self.state, status) {
            (InviteClientState::Calling | InviteClientState::Proceeding, 100..=199) => {
                // §17.1.1.2: no more retransmissions, and Timer B only
                // applies while Calling.
                self.state = InviteClientState::Proceeding;
                self.timer_a = None;
                self.timer_b = None;
                self.outputs.push_back(MachineOutput::Response(response));
            }
            (InviteClientState::Calling | InviteClientState::Proceeding, 200..=299) => {
                // RFC 6026 §7.2: 2xx → Accepted with Timer M; the TU ACKs it.
                self.state = InviteClientState::Accepted;
                self.timer_a = None;
                self.timer_b = None;
                self.timer_m = Some(now + self.config.transaction_timeout());
                self.outputs.push_back(MachineOutput::Response(response));
            }
            (InviteClientState::Calling | InviteClientState::Proceeding, 300..=699) => {
                self.timer_a = None;
                self.timer_b = None;
                self.state = InviteClientState::Completed;
                // §17.1.1.2: ACK the failure ourselves, pass it up, Timer D.
                match build_non_2xx_ack(&self.request, &response) {
                    Ok(ack) => {
                        let data = Bytes::from(ack.to_string());
                        self.outputs
                            .push_back(MachineOutput::Transmit(data.clone()));
                        self.ack_data = Some(data);
                    }
                    Err(error) => {
                        tracing::debug!(%error, status, "cannot build the ACK of a final response")
                    }
                }
                self.outputs.push_back(MachineOutput::Response(response));
                let linger = self.config.timer_d(self.reliable);
                if linger.is_zero() {
                    self.terminate();
                } else {
                    self.timer_d = Some(now + linger);
                }
            }
            // RFC 6026 §7.2: every 2xx, retransmissions too, goes to the TU.
            (InviteClientState::Accepted, 200..=299) => {
                self.outputs.push_back(MachineOutput::Response(response));
            }
            // §17.1.1.2: a retransmitted final response is answered with the
            // same ACK and not passed up.
            (InviteClientState::Completed, 300..=699) => {
                if let Some(data) = &self.ack_data {
                    self.outputs
                        .push_back(MachineOutput::Transmit(data.clone()));
                }
            }
            _ => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let due = |deadline: Option<Instant>| deadline.is_some_and(|at| at <= now);
        match self.state {
            InviteClientState::Calling if due(self.timer_b) => {
                self.outputs.push_back(MachineOutput::Timeout);
                self.terminate();
            }
            InviteClientState::Calling => {
                if let Some(timer) = self.timer_a.as_mut().filter(|timer| timer.is_due(now)) {
                    // §17.1.1.2: Timer A doubles each time, without a ceiling.
                    timer.advance(now);
                    self.outputs
                        .push_back(MachineOutput::Transmit(self.request_data.clone()));
                }
            }
            InviteClientState::Completed if due(self.timer_d) => self.terminate(),
            InviteClientState::Accepted if due(self.timer_m) => self.terminate(),
            _ => {}
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[
            self.timer_a.map(|timer| timer.fire_at),
            self.timer_b,
            self.timer_d,
            self.timer_m,
        ])
    }

    pub fn poll_output(&mut self) -> Option<MachineOutput> {
        self.outputs.pop_front()
    }

    fn terminate(&mut self) {
        self.state = InviteClientState::Terminated;
        self.timer_a = None;
        self.timer_b = None;
        self.timer_d = None;
        self.timer_m = None;
        self.outputs.push_back(MachineOutput::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transaction::test_clock::{drain, drive, impl_timeline, seconds};
    use crate::sip::transaction::test_messages::{request, response_to};

    impl_timeline!(InviteClientTransaction);

    fn started(reliable: bool, start: Instant) -> InviteClientTransaction {
        let invite = request("INVITE", "z9hG4bKclient", 1);
        let mut transaction =
            InviteClientTransaction::start(start, TimerConfig::default(), reliable, invite.clone());
        assert_eq!(
            drain(&mut transaction),
            [MachineOutput::Transmit(Bytes::from(invite.to_string()))]
        );
        transaction
    }

    #[test]
    fn unanswered_invite_retransmits_with_timer_a_then_times_out_with_timer_b() {
        let start = Instant::now();
        let mut transaction = started(false, start);
        let log = drive(&mut transaction, start, seconds(40.0));
        assert_eq!(log.transmit_times(), [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]);
        assert_eq!(log.time_of(&MachineOutput::Timeout), Some(32.0));
        assert_eq!(log.time_of(&MachineOutput::Terminated), Some(32.0));
        assert!(transaction.is_terminated());
    }

    #[test]
    fn reliable_transport_only_has_timer_b() {
        let start = Instant::now();
        let mut transaction = started(true, start);
        let log = drive(&mut transaction, start, seconds(40.0));
        assert!(log.transmit_times().is_empty());
        assert_eq!(log.time_of(&MachineOutput::Timeout), Some(32.0));
    }

    #[test]
    fn provisional_stops_retransmissions_and_timer_b() {
        let start = Instant::now();
        let mut transaction = started(false, start);
        let ringing = response_to(transaction.request(), 180, Some("callee"));
        transaction.on_response(start + seconds(1.0), ringing.clone());
        assert_eq!(transaction.state(), InviteClientState::Proceeding);
        assert_eq!(drain(&mut transaction), [MachineOutput::Response(ringing)]);
        assert!(drive(&mut transaction, start, seconds(100.0)).0.is_empty());
        assert_eq!(transaction.state(), InviteClientState::Proceeding);
    }

    #[test]
    fn failure_is_acked_by_the_transaction_and_ack_resent_on_retransmission() {
        let start = Instant::now();
        let mut transaction = started(false, start);
        let busy = response_to(transaction.request(), 486, Some("callee"));
        transaction.on_response(start + seconds(0.2), busy.clone());
        assert_eq!(transaction.state(), InviteClientState::Completed);

        let outputs = drain(&mut transaction);
        let MachineOutput::Transmit(ack_data) = &outputs[0] else {
            panic!("expected the ACK first, got {outputs:?}");
        };
        let ack = rsip::Request::try_from(ack_data.clone()).unwrap();
        assert_eq!(
            ack,
            build_non_2xx_ack(transaction.request(), &busy).unwrap()
        );
        assert_eq!(outputs[1], MachineOutput::Response(busy.clone()));
        assert_eq!(outputs.len(), 2);

        // A retransmitted 486 gets the same ACK and is not passed up.
        transaction.on_response(start + seconds(0.7), busy);
        assert_eq!(
            drain(&mut transaction),
            [MachineOutput::Transmit(ack_data.clone())]
        );

        // Timer D (32 s) from the first 486; no INVITE retransmission meanwhile.
        let log = drive(&mut transaction, start, seconds(40.0));
        assert_eq!(log.0, [(32.2, MachineOutput::Terminated)]);
    }

    #[test]
    fn failure_over_reliable_transport_terminates_at_once() {
        let start = Instant::now();
        let mut transaction = started(true, start);
        let busy = response_to(transaction.request(), 603, Some("callee"));
        transaction.on_response(start, busy.clone());
        let outputs = drain(&mut transaction);
        assert!(matches!(outputs[0], MachineOutput::Transmit(_)));
        assert_eq!(
            outputs[1..],
            [MachineOutput::Response(busy), MachineOutput::Terminated]
        );
    }

    #[test]
    fn every_2xx_goes_to_the_tu_until_timer_m() {
        let start = Instant::now();
        let mut transaction = started(false, start);
        let ok = response_to(transaction.request(), 200, Some("callee"));
        transaction.on_response(start + seconds(1.0), ok.clone());
        assert_eq!(transaction.state(), InviteClientState::Accepted);
        transaction.on_response(start + seconds(1.5), ok.clone());
        assert_eq!(
            drain(&mut transaction),
            [
                MachineOutput::Response(ok.clone()),
                MachineOutput::Response(ok)
            ]
        );
        let log = drive(&mut transaction, start, seconds(40.0));
        assert!(log.transmit_times().is_empty(), "the TU sends the 2xx ACK");
        assert_eq!(log.0, [(33.0, MachineOutput::Terminated)]);
    }

    #[test]
    fn late_provisional_after_final_is_ignored() {
        let start = Instant::now();
        let mut transaction = started(false, start);
        let ok = response_to(transaction.request(), 200, Some("callee"));
        transaction.on_response(start, ok);
        drain(&mut transaction);
        let ringing = response_to(transaction.request(), 180, Some("callee"));
        transaction.on_response(start, ringing);
        assert!(drain(&mut transaction).is_empty());
    }
}
