//! Non-INVITE client transaction (RFC 3261 §17.1.2).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::output::MachineOutput;
use super::timers::{earliest, Backoff, TimerConfig};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonInviteClientState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

#[derive(Debug)]
pub struct NonInviteClientTransaction {
    state: NonInviteClientState,
    config: TimerConfig,
    reliable: bool,
    request_data: Bytes,
    /// Timer E: request retransmissions, unreliable transports only.
    timer_e: Option<Backoff>,
    /// Timer F: give up on a request never finally answered.
    timer_f: Option<Instant>,
    /// Timer K: absorb response retransmissions in Completed.
    timer_k: Option<Instant>,
    outputs: VecDeque<MachineOutput>,
}

impl NonInviteClientTransaction {
    /// Sends `request` and starts Timers E and F (§17.1.2.2).
    pub fn start(
        now: Instant,
        config: TimerConfig,
        reliable: bool,
        request: &rsip::Request,
    ) -> Self {
        let request_data = Bytes::from(request.to_string());
        let mut outputs = VecDeque::new();
        outputs.push_back(MachineOutput::Transmit(request_data.clone()));
        NonInviteClientTransaction {
            state: NonInviteClientState::Trying,
            config,
            reliable,
            request_data,
            timer_e: (!reliable).then(|| Backoff::start(now, config.t1, Some(config.t2))),
            timer_f: Some(now + config.transaction_timeout()),
            timer_k: None,
            outputs,
        }
    }

    pub fn state(&self) -> NonInviteClientState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == NonInviteClientState::Terminated
    }

    /// A response matched this transaction.
    pub fn on_response(&mut self, now: Instant, response: rsip::Response) {
        let status = response.status_code.code();
        match (self.state, status) {
            (NonInviteClientState::Trying | NonInviteClientState::Proceeding, 100..=199) => {
                // §17.1.2.2: in Proceeding, Timer E fires every T2.
                self.state = NonInviteClientState::Proceeding;
                if let Some(timer) = self.timer_e.as_mut() {
                    timer.hold_at(self.config.t2);
                }
                self.outputs.push_back(MachineOutput::Response(response));
            }
            (NonInviteClientState::Trying | NonInviteClientState::Proceeding, 200..=699) => {
                self.state = NonInviteClientState::Completed;
                self.timer_e = None;
                self.timer_f = None;
                self.outputs.push_back(MachineOutput::Response(response));
                let linger = self.config.timer_k(self.reliable);
                if linger.is_zero() {
                    self.terminate();
                } else {
                    self.timer_k = Some(now + linger);
                }
            }
            // Completed absorbs retransmitted responses (§17.1.2.2).
            _ => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            NonInviteClientState::Trying | NonInviteClientState::Proceeding => {
                if self.timer_f.is_some_and(|at| at <= now) {
                    self.outputs.push_back(MachineOutput::Timeout);
                    self.terminate();
                } else if let Some(timer) = self.timer_e.as_mut().filter(|timer| timer.is_due(now))
                {
                    timer.advance(now);
                    self.outputs
                        .push_back(MachineOutput::Transmit(self.request_data.clone()));
                }
            }
            NonInviteClientState::Completed if self.timer_k.is_some_and(|at| at <= now) => {
                self.terminate()
            }
            _ => {}
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[
            self.timer_e.map(|timer| timer.fire_at),
            self.timer_f,
            self.timer_k,
        ])
    }

    pub fn poll_output(&mut self) -> Option<MachineOutput> {
        self.outputs.pop_front()
    }

    fn terminate(&mut self) {
        self.state = NonInviteClientState::Terminated;
        self.timer_e = None;
        self.timer_f = None;
        self.timer_k = None;
        self.outputs.push_back(MachineOutput::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transaction::test_clock::{drain, drive, impl_timeline, seconds};
    use crate::sip::transaction::test_messages::{request, response_to};

    impl_timeline!(NonInviteClientTransaction);

    fn started(reliable: bool, start: Instant) -> (NonInviteClientTransaction, rsip::Request) {
        let bye = request("BYE", "z9hG4bKbye", 2);
        let mut transaction =
            NonInviteClientTransaction::start(start, TimerConfig::default(), reliable, &bye);
        assert_eq!(
            drain(&mut transaction),
            [MachineOutput::Transmit(Bytes::from(bye.to_string()))]
        );
        (transaction, bye)
    }

    #[test]
    fn unanswered_request_backs_off_to_t2_then_timer_f() {
        let start = Instant::now();
        let (mut transaction, _) = started(false, start);
        let log = drive(&mut transaction, start, seconds(40.0));
        assert_eq!(
            log.transmit_times(),
            [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
        );
        assert_eq!(log.time_of(&MachineOutput::Timeout), Some(32.0));
        assert_eq!(log.time_of(&MachineOutput::Terminated), Some(32.0));
    }

    #[test]
    fn provisional_holds_timer_e_at_t2_and_timer_f_still_runs() {
        let start = Instant::now();
        let (mut transaction, bye) = started(false, start);
        let before = drive(&mut transaction, start, seconds(1.0));
        assert_eq!(before.transmit_times(), [0.5]);
        let trying = response_to(&bye, 100, None);
        transaction.on_response(start + seconds(1.0), trying.clone());
        assert_eq!(transaction.state(), NonInviteClientState::Proceeding);
        assert_eq!(drain(&mut transaction), [MachineOutput::Response(trying)]);
        let log = drive(&mut transaction, start, seconds(40.0));
        assert_eq!(
            log.transmit_times(),
            [1.5, 5.5, 9.5, 13.5, 17.5, 21.5, 25.5, 29.5]
        );
        assert_eq!(log.time_of(&MachineOutput::Timeout), Some(32.0));
    }

    #[test]
    fn final_response_completes_and_timer_k_terminates() {
        let start = Instant::now();
        let (mut transaction, bye) = started(false, start);
        let ok = response_to(&bye, 200, None);
        transaction.on_response(start + seconds(0.1), ok.clone());
        assert_eq!(transaction.state(), NonInviteClientState::Completed);
        assert_eq!(
            drain(&mut transaction),
            [MachineOutput::Response(ok.clone())]
        );
        // Retransmitted final responses are absorbed.
        transaction.on_response(start + seconds(0.6), ok);
        assert!(drain(&mut transaction).is_empty());
        let log = drive(&mut transaction, start, seconds(40.0));
        assert_eq!(log.0, [(5.1, MachineOutput::Terminated)]);
    }

    #[test]
    fn reliable_transport_has_no_retransmissions_and_no_timer_k() {
        let start = Instant::now();
        let (mut unanswered, _) = started(true, start);
        let log = drive(&mut unanswered, start, seconds(40.0));
        assert!(log.transmit_times().is_empty());
        assert_eq!(log.time_of(&MachineOutput::Timeout), Some(32.0));

        let (mut answered, bye) = started(true, start);
        let ok = response_to(&bye, 200, None);
        answered.on_response(start, ok.clone());
        assert_eq!(
            drain(&mut answered),
            [MachineOutput::Response(ok), MachineOutput::Terminated]
        );
    }
}
