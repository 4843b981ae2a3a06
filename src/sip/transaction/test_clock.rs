//! Driving a transaction state machine through time in tests: fire every
//! timer in order and record what came out when.

use std::time::{Duration, Instant};

use super::output::MachineOutput;

pub fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(value)
}

/// The timer-driven surface every state machine offers.
pub trait Timeline {
    fn poll_timeout(&self) -> Option<Instant>;
    fn handle_timeout(&mut self, now: Instant);
    fn poll_output(&mut self) -> Option<MachineOutput>;
}

/// Implements [`Timeline`] for a machine by forwarding to its inherent
/// methods of the same names.
macro_rules! impl_timeline {
    ($machine:ty) => {
        impl $crate::sip::transaction::test_clock::Timeline for $machine {
            fn poll_timeout(&self) -> Option<std::time::Instant> {
                <$machine>::poll_timeout(self)
            }
            fn handle_timeout(&mut self, now: std::time::Instant) {
                <$machine>::handle_timeout(self, now)
            }
            fn poll_output(&mut self) -> Option<MachineOutput> {
                <$machine>::poll_output(self)
            }
        }
    };
}
pub(crate) use impl_timeline;

/// Everything the machine has to say now.
pub fn drain<M: Timeline>(machine: &mut M) -> Vec<MachineOutput> {
    std::iter::from_fn(|| machine.poll_output()).collect()
}

/// Outputs with their time, in seconds from the origin.
#[derive(Debug, Default)]
pub struct Log(pub Vec<(f64, MachineOutput)>);

impl Log {
    pub fn transmit_times(&self) -> Vec<f64> {
        self.0
            .iter()
            .filter(|(_, output)| matches!(output, MachineOutput::Transmit(_)))
            .map(|(at, _)| *at)
            .collect()
    }

    pub fn time_of(&self, wanted: &MachineOutput) -> Option<f64> {
        self.0
            .iter()
            .find(|(_, output)| output == wanted)
            .map(|(at, _)| *at)
    }
}

/// Fires the machine's timers, each exactly when due, up to `origin + until`.
pub fn drive<M: Timeline>(machine: &mut M, origin: Instant, until: Duration) -> Log {
    let end = origin + until;
    let mut log = Log::default();
    let mut firings = 0;
    while let Some(at) = machine.poll_timeout().filter(|at| *at <= end) {
        firings += 1;
        assert!(firings < 10_000, "a timer that never stops firing");
        machine.handle_timeout(at);
        let offset = (at - origin).as_secs_f64();
        // Round to the millisecond so assertions read as timer values.
        let offset = (offset * 1000.0).round() / 1000.0;
        while let Some(output) = machine.poll_output() {
            log.0.push((offset, output));
        }
    }
    log
}
