//! Non-INVITE server transaction (RFC 3261 §17.2.2).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::output::MachineOutput;
use super::timers::TimerConfig;
use super::TransactionError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonInviteServerState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

impl NonInviteServerState {
    pub fn name(self) -> &'static str {
        match self {
            NonInviteServerState::Trying => "Trying",
            NonInviteServerState::Proceeding => "Proceeding",
            NonInviteServerState::Completed => "Completed",
            NonInviteServerState::Terminated => "Terminated",
        }
    }
}

#[derive(Debug)]
pub struct NonInviteServerTransaction {
    state: NonInviteServerState,
    config: TimerConfig,
    reliable: bool,
    last_response: Option<Bytes>,
    /// Timer J: absorb request retransmissions in Completed.
    timer_j: Option<Instant>,
    outputs: VecDeque<MachineOutput>,
}

impl NonInviteServerTransaction {
    pub fn new(config: TimerConfig, reliable: bool) -> Self {
        NonInviteServerTransaction {
            state: NonInviteServerState::Trying,
            config,
            reliable,
            last_response: None,
            timer_j: None,
            outputs: VecDeque::new(),
        }
    }

    pub fn state(&self) -> NonInviteServerState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == NonInviteServerState::Terminated
    }

    /// The TU's response; `data` is its wire form.
    pub fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        data: Bytes,
    ) -> Result<(), TransactionError> {
        if !(100..=699).contains(&status) {
            return Err(TransactionError::InvalidStatus(status));
        }
        match self.state {
            NonInviteServerState::Trying | NonInviteServerState::Proceeding => {}
            state => {
                return Err(TransactionError::ResponseNotAllowed {
                    status,
                    state: state.name(),
                })
            }
        }
        self.last_response = Some(data.clone());
        self.outputs.push_back(MachineOutput::Transmit(data));
        if status < 200 {
            self.state = NonInviteServerState::Proceeding;
        } else {
            // RFC 3261 §17.2.2: a final response → Completed with Timer J
            // (zero on reliable transports: straight to Terminated).
            self.state = NonInviteServerState::Completed;
            let linger = self.config.timer_j(self.reliable);
            if linger.is_zero() {
                self.terminate();
            } else {
                self.timer_j = Some(now + linger);
            }
        }
        Ok(())
    }

    /// A retransmission of the request: discarded in Trying, answered with
    /// the stored response afterwards (RFC 3261 §17.2.2).
    pub fn on_retransmitted_request(&mut self) {
        match self.state {
            NonInviteServerState::Proceeding | NonInviteServerState::Completed => {
                if let Some(data) = &self.last_response {
                    self.outputs
                        .push_back(MachineOutput::Transmit(data.clone()));
                }
            }
            NonInviteServerState::Trying | NonInviteServerState::Terminated => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timer_j.is_some_and(|at| at <= now) {
            self.terminate();
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer_j
    }

    pub fn poll_output(&mut self) -> Option<MachineOutput> {
        self.outputs.pop_front()
    }

    fn terminate(&mut self) {
        self.state = NonInviteServerState::Terminated;
        self.timer_j = None;
        self.outputs.push_back(MachineOutput::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transaction::test_clock::{drain, drive, impl_timeline, seconds};

    impl_timeline!(NonInviteServerTransaction);

    #[test]
    fn request_retransmissions_answered_from_the_stored_response() {
        let start = Instant::now();
        let mut transaction = NonInviteServerTransaction::new(TimerConfig::default(), false);
        transaction.on_retransmitted_request();
        assert!(
            drain(&mut transaction).is_empty(),
            "Trying absorbs silently"
        );

        transaction
            .send_response(start, 100, Bytes::from_static(b"100"))
            .unwrap();
        assert_eq!(transaction.state(), NonInviteServerState::Proceeding);
        drain(&mut transaction);
        transaction.on_retransmitted_request();
        assert_eq!(
            drain(&mut transaction),
            [MachineOutput::Transmit(Bytes::from_static(b"100"))]
        );

        transaction
            .send_response(start, 200, Bytes::from_static(b"200"))
            .unwrap();
        assert_eq!(transaction.state(), NonInviteServerState::Completed);
        drain(&mut transaction);
        transaction.on_retransmitted_request();
        transaction.on_retransmitted_request();
        assert_eq!(
            drain(&mut transaction),
            [
                MachineOutput::Transmit(Bytes::from_static(b"200")),
                MachineOutput::Transmit(Bytes::from_static(b"200"))
            ]
        );
    }

    #[test]
    fn timer_j_ends_completed_after_64_t1() {
        let start = Instant::now();
        let mut transaction = NonInviteServerTransaction::new(TimerConfig::default(), false);
        transaction
            .send_response(start, 200, Bytes::from_static(b"200"))
            .unwrap();
        drain(&mut transaction);
        let log = drive(&mut transaction, start, seconds(31.9));
        assert!(log.0.is_empty());
        assert!(!transaction.is_terminated());
        let log = drive(&mut transaction, start, seconds(40.0));
        assert_eq!(log.0, [(32.0, MachineOutput::Terminated)]);
        assert!(
            log.transmit_times().is_empty(),
            "responses are never resent on a timer"
        );
    }

    #[test]
    fn reliable_transport_terminates_on_the_final_response() {
        let start = Instant::now();
        let mut transaction = NonInviteServerTransaction::new(TimerConfig::default(), true);
        transaction
            .send_response(start, 486, Bytes::from_static(b"486"))
            .unwrap();
        assert_eq!(
            drain(&mut transaction),
            [
                MachineOutput::Transmit(Bytes::from_static(b"486")),
                MachineOutput::Terminated
            ]
        );
        assert_eq!(transaction.poll_timeout(), None);
    }

    #[test]
    fn second_final_response_is_refused() {
        let start = Instant::now();
        let mut transaction = NonInviteServerTransaction::new(TimerConfig::default(), false);
        transaction.send_response(start, 200, Bytes::new()).unwrap();
        assert_eq!(
            transaction.send_response(start, 500, Bytes::new()),
            Err(TransactionError::ResponseNotAllowed {
                status: 500,
                state: "Completed"
            })
        );
        assert_eq!(
            NonInviteServerTransaction::new(TimerConfig::default(), false).send_response(
                start,
                99,
                Bytes::new()
            ),
            Err(TransactionError::InvalidStatus(99))
        );
    }
}
