//! The notifier's table of message-summary subscriptions (RFC 6665 §4.2):
//! created, refreshed and ended by SUBSCRIBE, ended by expiry or by a
//! failed NOTIFY. Sans-IO: times come in, the NOTIFYs to send come out.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use crate::sip::dialog::{Dialog, DialogKey};
use crate::sip::transaction::TransactionKey;

/// Subscription length when SUBSCRIBE names none (RFC 3842 §3.4: one hour).
pub const DEFAULT_EXPIRES_S: u32 = 3600;
/// Shortest subscription granted; shorter ones get 423 (RFC 6665 §4.2.1.1).
pub const MIN_EXPIRES_S: u32 = 60;

/// Subscriptions kept at most; beyond, new ones are refused with 503, so
/// that subscribers to open mailboxes cannot grow the table without end.
pub const MAX_SUBSCRIPTIONS: usize = 10_000;

/// How long subscriptions may last, and how many there may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscriptionPolicy {
    pub min_expires_s: u32,
    pub max_expires_s: u32,
    pub default_expires_s: u32,
    pub max_subscriptions: usize,
}

impl SubscriptionPolicy {
    /// Subscriptions of at most `max_expires_s` (at least 1 s); the minimum
    /// and default never exceed it.
    pub fn with_max(max_expires_s: u32) -> Self {
        let max = max_expires_s.max(1);
        SubscriptionPolicy {
            min_expires_s: MIN_EXPIRES_S.min(max),
            max_expires_s: max,
            default_expires_s: DEFAULT_EXPIRES_S.min(max),
            max_subscriptions: MAX_SUBSCRIPTIONS,
        }
    }

    /// The duration granted for `asked` seconds (None = no Expires).
    /// RFC 6665 §4.2.1.1: shorter than the minimum is refused with 423,
    /// longer than we allow is shortened; 0 stays 0 (a fetch or an
    /// unsubscription, §4.4.3 and §4.1.2.3).
    pub fn grant(&self, asked: Option<u32>) -> Result<u32, SubscribeRefusal> {
        match asked {
            None => Ok(self.default_expires_s),
            Some(0) => Ok(0),
            Some(s) if s < self.min_expires_s => Err(SubscribeRefusal::TooBrief {
                min_expires_s: self.min_expires_s,
            }),
            Some(s) => Ok(s.min(self.max_expires_s)),
        }
    }
}

impl Default for SubscriptionPolicy {
    fn default() -> Self {
        SubscriptionPolicy::with_max(DEFAULT_EXPIRES_S)
    }
}

/// Why a SUBSCRIBE is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeRefusal {
    /// 423 with Min-Expires.
    #[error("Interval Too Brief")]
    TooBrief { min_expires_s: u32 },
    /// 481: a refresh of a subscription we do not have (RFC 6665 §4.2.1.2).
    #[error("Subscription Does Not Exist")]
    NoSuchSubscription,
    /// 500: a CSeq lower than the dialog's last (RFC 3261 §12.2.2).
    #[error("CSeq out of order")]
    OutOfOrder,
    /// 503: the table is full.
    #[error("Too many subscriptions")]
    Full,
}

impl SubscribeRefusal {
    pub fn status_code(&self) -> u16 {
        match self {
            SubscribeRefusal::TooBrief { .. } => 423,
            SubscribeRefusal::NoSuchSubscription => 481,
            SubscribeRefusal::OutOfOrder => 500,
            SubscribeRefusal::Full => 503,
        }
    }
}

/// Why a subscription ended (RFC 6665 §4.1.3 reason codes we use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminationReason {
    /// Expired, fetched or unsubscribed.
    Timeout,
    /// The mailbox went away.
    Noresource,
}

/// A `Subscription-State` value (RFC 6665 §8.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionState {
    Active { expires_s: u32 },
    Terminated(TerminationReason),
}

impl SubscriptionState {
    /// What the 2xx to the SUBSCRIBE says in Expires.
    pub fn expires_s(&self) -> u32 {
        match self {
            SubscriptionState::Active { expires_s } => *expires_s,
            SubscriptionState::Terminated(_) => 0,
        }
    }
}

impl fmt::Display for SubscriptionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscriptionState::Active { expires_s } => write!(f, "active;expires={expires_s}"),
            SubscriptionState::Terminated(TerminationReason::Timeout) => {
                f.write_str("terminated;reason=timeout")
            }
            SubscriptionState::Terminated(TerminationReason::Noresource) => {
                f.write_str("terminated;reason=noresource")
            }
        }
    }
}

/// One subscription.
#[derive(Clone, Debug)]
pub struct Subscription {
    pub dialog: Dialog,
    pub mailbox: String,
    /// The Event header's `id`, echoed in every NOTIFY (RFC 6665 §8.2.1).
    pub event_id: Option<String>,
    pub expires_at: Instant,
}

/// A NOTIFY to send: in `dialog` (whose `local_cseq` is this NOTIFY's
/// CSeq), with this state, about `mailbox`.
#[derive(Clone, Debug)]
pub struct Notification {
    pub dialog: Dialog,
    pub mailbox: String,
    pub event_id: Option<String>,
    pub state: SubscriptionState,
}

#[derive(Debug, Default)]
pub struct MwiSubscriptions {
    policy: SubscriptionPolicy,
    subscriptions: HashMap<DialogKey, Subscription>,
    /// Expiry deadlines; entries of refreshed or removed subscriptions are
    /// skipped when they come due.
    deadlines: BinaryHeap<Reverse<Deadline>>,
    /// NOTIFY transactions in flight, by the subscription they serve.
    notifies: HashMap<TransactionKey, DialogKey>,
}

impl MwiSubscriptions {
    pub fn new(policy: SubscriptionPolicy) -> Self {
        MwiSubscriptions {
            policy,
            ..Default::default()
        }
    }

    pub fn policy(&self) -> SubscriptionPolicy {
        self.policy
    }

    pub fn len(&self) -> usize {
        self.subscriptions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subscriptions.is_empty()
    }

    pub fn get(&self, key: &DialogKey) -> Option<&Subscription> {
        self.subscriptions.get(key)
    }

    /// A dialog-creating SUBSCRIBE asking for `asked` seconds. Expires 0
    /// is a fetch: nothing is kept, and the one NOTIFY ends the
    /// subscription (RFC 6665 §4.4.3).
    pub fn subscribe(
        &mut self,
        now: Instant,
        dialog: Dialog,
        mailbox: &str,
        event_id: Option<String>,
        asked: Option<u32>,
    ) -> Result<Notification, SubscribeRefusal> {
        let granted = self.policy.grant(asked)?;
        if granted > 0 && self.subscriptions.len() >= self.policy.max_subscriptions {
            return Err(SubscribeRefusal::Full);
        }
        let mut subscription = Subscription {
            dialog,
            mailbox: mailbox.to_string(),
            event_id,
            expires_at: now + Duration::from_secs(u64::from(granted)),
        };
        if granted == 0 {
            return Ok(notification(
                &mut subscription,
                SubscriptionState::Terminated(TerminationReason::Timeout),
            ));
        }
        let key = subscription.dialog.key();
        self.deadlines.push(deadline(subscription.expires_at, &key));
        let state = SubscriptionState::Active { expires_s: granted };
        let notify = notification(&mut subscription, state);
        self.subscriptions.insert(key, subscription);
        Ok(notify)
    }

    /// An in-dialog SUBSCRIBE with CSeq `cseq`: a refresh, or with 0 an
    /// unsubscription whose NOTIFY ends it (RFC 6665 §4.1.2.2, §4.1.2.3).
    pub fn refresh(
        &mut self,
        now: Instant,
        key: &DialogKey,
        cseq: u32,
        asked: Option<u32>,
    ) -> Result<Notification, SubscribeRefusal> {
        let subscription = self
            .subscriptions
            .get_mut(key)
            .ok_or(SubscribeRefusal::NoSuchSubscription)?;
        if !subscription.dialog.accept_remote_cseq(cseq) {
            return Err(SubscribeRefusal::OutOfOrder);
        }
        let granted = self.policy.grant(asked)?;
        if granted == 0 {
            let mut ended = self
                .subscriptions
                .remove(key)
                .ok_or(SubscribeRefusal::NoSuchSubscription)?;
            return Ok(notification(
                &mut ended,
                SubscriptionState::Terminated(TerminationReason::Timeout),
            ));
        }
        subscription.expires_at = now + Duration::from_secs(u64::from(granted));
        self.deadlines.push(deadline(subscription.expires_at, key));
        Ok(notification(
            subscription,
            SubscriptionState::Active { expires_s: granted },
        ))
    }

    /// A NOTIFY of the current state of subscription `key` (the mailbox
    /// changed; RFC 6665 §4.2.2).
    pub fn notify(&mut self, now: Instant, key: &DialogKey) -> Option<Notification> {
        let subscription = self.subscriptions.get_mut(key)?;
        let state = SubscriptionState::Active {
            expires_s: seconds_left(subscription.expires_at, now),
        };
        Some(notification(subscription, state))
    }

    /// Subscriptions to `mailbox`.
    pub fn for_mailbox(&self, mailbox: &str) -> Vec<DialogKey> {
        let mut keys: Vec<DialogKey> = self
            .subscriptions
            .iter()
            .filter(|(_, s)| s.mailbox == mailbox)
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort_by(|a, b| (&a.call_id, &a.local_tag).cmp(&(&b.call_id, &b.local_tag)));
        keys
    }

    /// Ends subscription `key` without a NOTIFY.
    pub fn remove(&mut self, key: &DialogKey) -> Option<Subscription> {
        self.subscriptions.remove(key)
    }

    /// Ends every subscription of `mailbox` with `reason`; their final NOTIFYs.
    pub fn terminate_mailbox(
        &mut self,
        mailbox: &str,
        reason: TerminationReason,
    ) -> Vec<Notification> {
        self.for_mailbox(mailbox)
            .iter()
            .filter_map(|key| self.subscriptions.remove(key))
            .map(|mut s| notification(&mut s, SubscriptionState::Terminated(reason)))
            .collect()
    }

    /// The earliest expiry, for the driver's timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((at, ..))| *at)
    }

    /// Removes the subscriptions that expired by `now` and returns their
    /// final NOTIFYs (RFC 6665 §4.2.2: `terminated;reason=timeout`).
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Notification> {
        let mut ended = Vec::new();
        while let Some(Reverse((at, ..))) = self.deadlines.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, call_id, local_tag))) = self.deadlines.pop() else {
                break;
            };
            let key = DialogKey { call_id, local_tag };
            let due = self
                .subscriptions
                .get(&key)
                .is_some_and(|s| s.expires_at <= now);
            if !due {
                continue;
            }
            if let Some(mut subscription) = self.subscriptions.remove(&key) {
                ended.push(notification(
                    &mut subscription,
                    SubscriptionState::Terminated(TerminationReason::Timeout),
                ));
            }
        }
        ended
    }

    /// Remembers that NOTIFY transaction `transaction` serves `key`.
    pub fn track_notify(&mut self, transaction: TransactionKey, key: DialogKey) {
        self.notifies.insert(transaction, key);
    }

    /// Whether `transaction` is one of our NOTIFYs.
    pub fn is_notify(&self, transaction: &TransactionKey) -> bool {
        self.notifies.contains_key(transaction)
    }

    /// A NOTIFY was answered `code`. RFC 6665 §4.2.2: a 481 means the
    /// subscriber has no such subscription, and a 408 (like a transaction
    /// timeout, [`MwiSubscriptions::notify_timed_out`]) that it is gone;
    /// either ends the subscription, which is returned.
    pub fn notify_answered(
        &mut self,
        transaction: &TransactionKey,
        code: u16,
    ) -> Option<Subscription> {
        if code < 200 {
            return None;
        }
        let key = self.notifies.remove(transaction)?;
        if matches!(code, 408 | 481) {
            return self.subscriptions.remove(&key);
        }
        None
    }

    /// A NOTIFY got no answer (Timer F): the subscription ends.
    pub fn notify_timed_out(&mut self, transaction: &TransactionKey) -> Option<Subscription> {
        let key = self.notifies.remove(transaction)?;
        self.subscriptions.remove(&key)
    }

    /// The NOTIFY transaction is over; forget it.
    pub fn notify_finished(&mut self, transaction: &TransactionKey) {
        self.notifies.remove(transaction);
    }
}

/// An expiry deadline: when, and the dialog (Call-ID, our tag).
type Deadline = (Instant, String, String);

fn deadline(at: Instant, key: &DialogKey) -> Reverse<Deadline> {
    Reverse((at, key.call_id.clone(), key.local_tag.clone()))
}

/// The next NOTIFY of `subscription`: its CSeq is taken from the dialog.
fn notification(subscription: &mut Subscription, state: SubscriptionState) -> Notification {
    subscription.dialog.local_cseq += 1;
    Notification {
        dialog: subscription.dialog.clone(),
        mailbox: subscription.mailbox.clone(),
        event_id: subscription.event_id.clone(),
        state,
    }
}

/// Whole seconds from `now` to `at`, rounded up.
fn seconds_left(at: Instant, now: Instant) -> u32 {
    let left = at.saturating_duration_since(now);
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    u32::try_from(secs).unwrap_or(u32::MAX)
}
