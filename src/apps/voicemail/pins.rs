//! PIN checks with lockout, counted per mailbox across calls: a caller who
//! hangs up and calls again does not get fresh tries. Sans-IO: time comes in
//! as `now`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The answer to a PIN entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    Accepted,
    /// Wrong; this many tries are left before the lockout.
    Wrong {
        left: u32,
    },
    /// Wrong, and the mailbox is now locked.
    LockedOut,
    /// The mailbox was locked already: the entry was not even compared.
    Locked,
}

#[derive(Debug, Default)]
struct Failures {
    in_a_row: u32,
    locked_until: Option<Instant>,
}

#[derive(Debug)]
pub struct PinGuard {
    attempts: u32,
    lockout: Duration,
    by_mailbox: HashMap<String, Failures>,
}

impl PinGuard {
    /// `attempts` wrong PINs in a row lock a mailbox for `lockout`.
    pub fn new(attempts: u32, lockout: Duration) -> PinGuard {
        PinGuard {
            attempts: attempts.max(1),
            lockout,
            by_mailbox: HashMap::new(),
        }
    }

    pub fn is_locked(&self, now: Instant, mailbox: &str) -> bool {
        self.by_mailbox
            .get(mailbox)
            .and_then(|f| f.locked_until)
            .is_some_and(|until| now < until)
    }

    /// Compares `entered` with `pin`; a success clears the failures.
    pub fn check(&mut self, now: Instant, mailbox: &str, pin: &str, entered: &str) -> PinCheck {
        if self.is_locked(now, mailbox) {
            return PinCheck::Locked;
        }
        // Constant time, so the PIN cannot be found a digit at a time from
        // how long the answer takes.
        let matches = pin.len() == entered.len()
            && bool::from(subtle::ConstantTimeEq::ct_eq(
                pin.as_bytes(),
                entered.as_bytes(),
            ));
        if matches {
            self.by_mailbox.remove(mailbox);
            return PinCheck::Accepted;
        }
        let failures = self.by_mailbox.entry(mailbox.to_string()).or_default();
        if failures.locked_until.is_some() {
            // The last lockout is over: a fresh run of tries.
            *failures = Failures::default();
        }
        failures.in_a_row += 1;
        if failures.in_a_row >= self.attempts {
            failures.locked_until = Some(now + self.lockout);
            PinCheck::LockedOut
        } else {
            PinCheck::Wrong {
                left: self.attempts - failures.in_a_row,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_wrong_pins_lock_the_mailbox_until_the_cool_down_ends() {
        let t0 = Instant::now();
        let mut guard = PinGuard::new(3, Duration::from_secs(300));
        assert_eq!(
            guard.check(t0, "1001", "4321", "1"),
            PinCheck::Wrong { left: 2 }
        );
        assert_eq!(
            guard.check(t0, "1001", "4321", "2"),
            PinCheck::Wrong { left: 1 }
        );
        assert_eq!(guard.check(t0, "1001", "4321", "3"), PinCheck::LockedOut);
        // Even the right PIN is refused while locked, and other mailboxes
        // are not affected.
        assert_eq!(guard.check(t0, "1001", "4321", "4321"), PinCheck::Locked);
        assert_eq!(guard.check(t0, "1002", "1", "1"), PinCheck::Accepted);
        let later = t0 + Duration::from_secs(301);
        assert!(!guard.is_locked(later, "1001"));
        assert_eq!(
            guard.check(later, "1001", "4321", "9"),
            PinCheck::Wrong { left: 2 }
        );
        assert_eq!(
            guard.check(later, "1001", "4321", "4321"),
            PinCheck::Accepted
        );
        assert_eq!(
            guard.check(later, "1001", "4321", "9"),
            PinCheck::Wrong { left: 2 }
        );
    }
}
