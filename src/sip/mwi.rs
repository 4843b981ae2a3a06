//! Message-waiting indication: the message-summary event package
//! (RFC 3842) over SIP-specific event notification (RFC 6665).
//!
//! Sans-IO: the body, the mailbox directory and the subscription table
//! take inputs and the time and say which NOTIFYs to send; the SIP core
//! (`sip::core::subscribe`) builds and sends them.

mod body;
#[cfg(test)]
mod core_tests;
mod mailboxes;
mod request;
mod subscriptions;
#[cfg(test)]
mod tests;
mod unsolicited;

use std::time::Instant;

pub use body::{MessageCounts, MessageSummary, SummaryError, CONTENT_TYPE, EVENT_PACKAGE};
pub use mailboxes::MailboxDirectory;
pub use request::{allow_events, SubscribeError, SubscribeHeaders, ALLOW_EVENTS};
pub use subscriptions::{
    MwiSubscriptions, Notification, SubscribeRefusal, Subscription, SubscriptionPolicy,
    SubscriptionState, TerminationReason, DEFAULT_EXPIRES_S, MAX_SUBSCRIPTIONS, MIN_EXPIRES_S,
};
pub use unsolicited::{build_unsolicited_notify, UnsolicitedNotify};

/// Everything the core keeps for message-waiting indication.
#[derive(Debug, Default)]
pub struct Mwi {
    pub mailboxes: MailboxDirectory,
    pub subscriptions: MwiSubscriptions,
    /// NOTIFY owners' registered contacts without a subscription.
    pub notify_unsubscribed: bool,
}

impl Mwi {
    pub fn new(
        mailboxes: &[crate::config::MailboxConfig],
        voicemail: &crate::config::VoicemailConfig,
    ) -> Self {
        Mwi {
            mailboxes: MailboxDirectory::new(mailboxes),
            subscriptions: MwiSubscriptions::new(SubscriptionPolicy::with_max(
                voicemail.max_subscription_s,
            )),
            notify_unsubscribed: voicemail.notify_unsubscribed,
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.subscriptions.poll_timeout()
    }
}
