//! INVITE server transaction (RFC 3261 §17.2.1, with the Accepted state of
//! RFC 6026 §7.1).
//!
//! Unlike RFC 3261, where the UAS core retransmits its 2xx (§13.3.1.4), this
//! transaction does it, Timer G style, until the ACK arrives or 64·T1
//! passes; the latter is reported as `AckTimeout` so the core can hang up.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::output::MachineOutput;
use super::timers::{earliest, Backoff, TimerConfig};
use super::TransactionError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteServerState {
    Proceeding,
    Accepted,
    Completed,
    Confirmed,
    Terminated,
}

impl InviteServerState {
    pub fn name(self) -> &'static str {
        match self {
            InviteServerState::Proceeding => "Proceeding",
            InviteServerState::Accepted => "Accepted",
            InviteServerState::Completed => "Completed",
            InviteServerState::Confirmed => "Confirmed",
            InviteServerState::Terminated => "Terminated",
        }
    }
}

/// What an ACK handed to the transaction turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckDisposition {
    /// The ACK of a non-2xx final response: the transaction's business only.
    Absorbed,
    /// An ACK the transaction user must see (the ACK of a 2xx, or an ACK
    /// before any final response).
    ForTransactionUser,
}

#[derive(Debug)]
pub struct InviteServerTransaction {
    state: InviteServerState,
    config: TimerConfig,
    reliable: bool,
    last_response: Option<Bytes>,
    /// Timer G: final response retransmissions (2xx in Accepted, 300–699 in
    /// Completed); unreliable transports only.
    timer_g: Option<Backoff>,
    /// Timer H: give up waiting for the ACK of a non-2xx final response.
    timer_h: Option<Instant>,
    /// Timer I: absorb ACK retransmissions in Confirmed.
    timer_i: Option<Instant>,
    /// Timer L (RFC 6026): leave Accepted.
    timer_l: Option<Instant>,
    acknowledged: bool,
    outputs: VecDeque<MachineOutput>,
}

impl InviteServerTransaction {
    /// A transaction for a newly received INVITE; the TU answers it.
    pub fn new(config: TimerConfig, reliable: bool) -> Self {
        InviteServerTransaction {
            state: InviteServerState::Proceeding,
            config,
            reliable,
            last_response: None,
            timer_g: None,
            timer_h: None,
            timer_i: None,
            timer_l: None,
            acknowledged: false,
            outputs: VecDeque::new(),
        }
    }

    pub fn state(&self) -> InviteServerState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == InviteServerState::Terminated
    }

    /// The TU's response; `data` is its wire form.
    pub fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        data: Bytes,
    ) -> Result<(), TransactionError> {
        let not_allowed = TransactionError::ResponseNotAllowed {
            status,
            state: self.state.name(),
        };
        match (self.state, status) {
            (_, status) if !(100..=699).contains(&status) => {
                return Err(TransactionError::InvalidStatus(status))
            }
            // RFC 3261 §17.2.1: provisional responses keep the transaction in Proceeding.
            (InviteServerState::Proceeding, 100..=199) => {}
            // RFC 6026 §7.1: a 2xx moves to Accepted and starts Timer L.
            (InviteServerState::Proceeding, 200..=299) => {
                self.state = InviteServerState::Accepted;
                self.timer_l = Some(now + self.config.transaction_timeout());
                self.timer_g = self.start_timer_g(now);
            }
            // RFC 6026 §7.1: further 2xx from the TU are sent as they are.
            (InviteServerState::Accepted, 200..=299) => {}
            // RFC 3261 §17.2.1: 300–699 → Completed, Timers G and H.
            (InviteServerState::Proceeding, _) => {
                self.state = InviteServerState::Completed;
                self.timer_h = Some(now + self.config.transaction_timeout());
                self.timer_g = self.start_timer_g(now);
            }
            _ => return Err(not_allowed),
        }
        self.last_response = Some(data.clone());
        self.outputs.push_back(MachineOutput::Transmit(data));
        Ok(())
    }

    /// A retransmission of the INVITE: never passed to the TU; the most
    /// recent response is sent again (RFC 3261 §17.2.1, RFC 6026 §7.1).
    pub fn on_retransmitted_invite(&mut self) {
        match self.state {
            InviteServerState::Proceeding
            | InviteServerState::Accepted
            | InviteServerState::Completed => {
                if let Some(data) = &self.last_response {
                    self.outputs
                        .push_back(MachineOutput::Transmit(data.clone()));
                }
            }
            InviteServerState::Confirmed | InviteServerState::Terminated => {}
        }
    }

    /// An ACK matched this transaction.
    pub fn on_ack(&mut self, now: Instant) -> AckDisposition {
        match self.state {
            InviteServerState::Accepted => {
                // The 2xx arrived: stop retransmitting it; Timer L still runs
                // to absorb INVITE retransmissions (RFC 6026 §7.1).
                self.acknowledged = true;
                self.timer_g = None;
                AckDisposition::ForTransactionUser
            }
            InviteServerState::Completed => {
                // RFC 3261 §17.2.1: ACK → Confirmed, Timer I.
                self.state = InviteServerState::Confirmed;
                self.timer_g = None;
                self.timer_h = None;
                let linger = self.config.timer_i(self.reliable);
                if linger.is_zero() {
                    self.terminate();
                } else {
                    self.timer_i = Some(now + linger);
                }
                AckDisposition::Absorbed
            }
            InviteServerState::Confirmed => AckDisposition::Absorbed,
            InviteServerState::Proceeding | InviteServerState::Terminated => {
                AckDisposition::ForTransactionUser
            }
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let due = |deadline: Option<Instant>| deadline.is_some_and(|at| at <= now);
        match self.state {
            InviteServerState::Accepted if due(self.timer_l) => {
                if !self.acknowledged {
                    self.outputs.push_back(MachineOutput::AckTimeout);
                }
                self.terminate();
            }
            InviteServerState::Completed if due(self.timer_h) => {
                // RFC 3261 §17.2.1: Timer H → Terminated, the TU is told.
                self.outputs.push_back(MachineOutput::Timeout);
                self.terminate();
            }
            InviteServerState::Confirmed if due(self.timer_i) => self.terminate(),
            InviteServerState::Accepted | InviteServerState::Completed => {
                self.retransmit_if_due(now)
            }
            _ => {}
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[
            self.timer_g.map(|timer| timer.fire_at),
            self.timer_h,
            self.timer_i,
            self.timer_l,
        ])
    }

    pub fn poll_output(&mut self) -> Option<MachineOutput> {
        self.outputs.pop_front()
    }

    fn start_timer_g(&self, now: Instant) -> Option<Backoff> {
        (!self.reliable).then(|| Backoff::start(now, self.config.t1, Some(self.config.t2)))
    }

    fn retransmit_if_due(&mut self, now: Instant) {
        let Some(timer) = self.timer_g.as_mut() else {
            return;
        };
        if !timer.is_due(now) {
            return;
        }
        // RFC 3261 §17.2.1: on Timer G, resend and double, capped at T2.
        timer.advance(now);
        if let Some(data) = &self.last_response {
            self.outputs
                .push_back(MachineOutput::Transmit(data.clone()));
        }
    }

    fn terminate(&mut self) {
        self.state = InviteServerState::Terminated;
        self.timer_g = None;
        self.timer_h = None;
        self.timer_i = None;
        self.timer_l = None;
        self.outputs.push_back(MachineOutput::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transaction::test_clock::{drain, drive, impl_timeline, seconds};

    fn answered(status: u16, reliable: bool, start: Instant) -> InviteServerTransaction {
        let mut transaction = InviteServerTransaction::new(TimerConfig::default(), reliable);
        transaction
            .send_response(start, 180, Bytes::from_static(b"180"))
            .unwrap();
        let data = Bytes::from(status.to_string());
        transaction.send_response(start, status, data).unwrap();
        assert_eq!(
            drain(&mut transaction),
            [
                MachineOutput::Transmit(Bytes::from_static(b"180")),
                MachineOutput::Transmit(Bytes::from(status.to_string()))
            ]
        );
        transaction
    }

    impl_timeline!(InviteServerTransaction);

    #[test]
    fn unacknowledged_2xx_is_retransmitted_then_ack_times_out() {
        let start = Instant::now();
        let mut transaction = answered(200, false, start);
        assert_eq!(transaction.state(), InviteServerState::Accepted);

        let log = drive(&mut transaction, start, seconds(40.0));
        let resent: Vec<f64> = log.transmit_times();
        assert_eq!(
            resent,
            [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
        );
        assert_eq!(log.time_of(&MachineOutput::AckTimeout), Some(32.0));
        assert_eq!(log.time_of(&MachineOutput::Terminated), Some(32.0));
        assert!(transaction.is_terminated());
        assert_eq!(transaction.poll_timeout(), None);
    }

    #[test]
    fn ack_stops_2xx_retransmissions_and_goes_to_the_tu() {
        let start = Instant::now();
        let mut transaction = answered(200, false, start);
        let before_ack = drive(&mut transaction, start, seconds(1.0));
        assert_eq!(before_ack.transmit_times(), [0.5]);

        let ack_disposition = transaction.on_ack(start + seconds(1.0));
        assert_eq!(ack_disposition, AckDisposition::ForTransactionUser);

        let after_ack = drive(&mut transaction, start, seconds(40.0));
        assert!(after_ack.transmit_times().is_empty());
        assert_eq!(after_ack.time_of(&MachineOutput::AckTimeout), None);
        // Timer L ends the Accepted state at 64·T1 from the 2xx.
        assert_eq!(after_ack.time_of(&MachineOutput::Terminated), Some(32.0));
    }

    #[test]
    fn retransmitted_invite_resends_the_latest_response() {
        let start = Instant::now();
        let mut transaction = InviteServerTransaction::new(TimerConfig::default(), false);
        transaction.on_retransmitted_invite();
        assert!(drain(&mut transaction).is_empty());
        transaction
            .send_response(start, 100, Bytes::from_static(b"100"))
            .unwrap();
        drain(&mut transaction);
        transaction.on_retransmitted_invite();
        assert_eq!(
            drain(&mut transaction),
            [MachineOutput::Transmit(Bytes::from_static(b"100"))]
        );
        transaction
            .send_response(start, 200, Bytes::from_static(b"200"))
            .unwrap();
        drain(&mut transaction);
        transaction.on_retransmitted_invite();
        assert_eq!(
            drain(&mut transaction),
            [MachineOutput::Transmit(Bytes::from_static(b"200"))]
        );
    }

    #[test]
    fn non_2xx_final_is_retransmitted_until_ack_then_timer_i() {
        let start = Instant::now();
        let mut transaction = answered(486, false, start);
        assert_eq!(transaction.state(), InviteServerState::Completed);
        let before_ack = drive(&mut transaction, start, seconds(4.0));
        assert_eq!(before_ack.transmit_times(), [0.5, 1.5, 3.5]);

        let ack_at = start + seconds(4.0);
        assert_eq!(transaction.on_ack(ack_at), AckDisposition::Absorbed);
        assert_eq!(transaction.state(), InviteServerState::Confirmed);
        // ACK retransmissions are absorbed in Confirmed.
        assert_eq!(transaction.on_ack(ack_at), AckDisposition::Absorbed);
        transaction.on_retransmitted_invite();
        assert!(drain(&mut transaction).is_empty());

        let after_ack = drive(&mut transaction, start, seconds(40.0));
        assert!(after_ack.transmit_times().is_empty());
        // Timer I = T4 after the ACK.
        assert_eq!(after_ack.time_of(&MachineOutput::Terminated), Some(9.0));
        assert_eq!(after_ack.time_of(&MachineOutput::Timeout), None);
    }

    #[test]
    fn non_2xx_final_never_acked_times_out_with_timer_h() {
        let start = Instant::now();
        let mut transaction = answered(503, false, start);
        let log = drive(&mut transaction, start, seconds(40.0));
        assert_eq!(
            log.transmit_times(),
            [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
        );
        assert_eq!(log.time_of(&MachineOutput::Timeout), Some(32.0));
        assert_eq!(log.time_of(&MachineOutput::Terminated), Some(32.0));
    }

    #[test]
    fn reliable_transport_never_retransmits() {
        let start = Instant::now();
        let mut accepted = answered(200, true, start);
        let log = drive(&mut accepted, start, seconds(40.0));
        assert!(log.transmit_times().is_empty());
        assert_eq!(log.time_of(&MachineOutput::AckTimeout), Some(32.0));

        let mut completed = answered(404, true, start);
        assert!(drive(&mut completed, start, seconds(1.0))
            .transmit_times()
            .is_empty());
        // Timer I is zero: the ACK ends the transaction at once.
        assert_eq!(
            completed.on_ack(start + seconds(1.0)),
            AckDisposition::Absorbed
        );
        assert!(completed.is_terminated());
        assert_eq!(drain(&mut completed), [MachineOutput::Terminated]);
    }

    #[test]
    fn responses_after_the_final_are_refused() {
        let start = Instant::now();
        let mut completed = answered(486, false, start);
        assert_eq!(
            completed.send_response(start, 200, Bytes::new()),
            Err(TransactionError::ResponseNotAllowed {
                status: 200,
                state: "Completed"
            })
        );
        let mut accepted = answered(200, false, start);
        assert!(accepted.send_response(start, 180, Bytes::new()).is_err());
        assert!(accepted
            .send_response(start, 200, Bytes::from_static(b"again"))
            .is_ok());
        assert_eq!(
            accepted.send_response(start, 700, Bytes::new()),
            Err(TransactionError::InvalidStatus(700))
        );
    }

    #[test]
    fn ack_before_any_final_is_for_the_tu() {
        let mut transaction = InviteServerTransaction::new(TimerConfig::default(), false);
        assert_eq!(
            transaction.on_ack(Instant::now()),
            AckDisposition::ForTransactionUser
        );
        assert_eq!(transaction.state(), InviteServerState::Proceeding);
    }
}
