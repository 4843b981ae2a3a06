//! The layer's timer heap: one entry per scheduled transaction deadline, so
//! finding what is due never scans every transaction.
//!
//! Entries are not removed when a deadline moves; the owner keeps the
//! current deadline of each transaction and the queue skips entries that no
//! longer match it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Index of a transaction in the layer.
pub type TransactionId = u64;

#[derive(Debug, Default)]
pub struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, TransactionId)>>,
}

impl TimerQueue {
    pub fn push(&mut self, at: Instant, id: TransactionId) {
        self.heap.push(Reverse((at, id)));
    }

    /// The earliest entry, current or not.
    pub fn peek(&self) -> Option<(Instant, TransactionId)> {
        self.heap.peek().map(|Reverse(entry)| *entry)
    }

    /// Takes the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, TransactionId)> {
        match self.peek() {
            Some((at, _)) if at <= now => self.heap.pop().map(|Reverse(entry)| entry),
            _ => None,
        }
    }

    /// Drops leading entries `is_current` rejects, so `peek` shows a live one.
    pub fn discard_stale(&mut self, is_current: impl Fn(Instant, TransactionId) -> bool) {
        while let Some((at, id)) = self.peek() {
            if is_current(at, id) {
                break;
            }
            self.heap.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_due_entries_in_time_order() {
        let start = Instant::now();
        let mut queue = TimerQueue::default();
        queue.push(start + Duration::from_secs(3), 1);
        queue.push(start + Duration::from_secs(1), 2);
        queue.push(start + Duration::from_secs(2), 3);
        let now = start + Duration::from_secs(2);
        assert_eq!(queue.pop_due(now).map(|(_, id)| id), Some(2));
        assert_eq!(queue.pop_due(now).map(|(_, id)| id), Some(3));
        assert_eq!(queue.pop_due(now), None);
        assert_eq!(queue.peek(), Some((start + Duration::from_secs(3), 1)));
    }

    #[test]
    fn stale_entries_are_skipped() {
        let start = Instant::now();
        let mut queue = TimerQueue::default();
        queue.push(start + Duration::from_secs(1), 7);
        queue.push(start + Duration::from_secs(5), 7);
        let current = start + Duration::from_secs(5);
        queue.discard_stale(|at, _| at == current);
        assert_eq!(queue.peek(), Some((current, 7)));
        queue.discard_stale(|_, _| false);
        assert_eq!(queue.peek(), None);
    }
}
