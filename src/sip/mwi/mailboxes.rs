//! Which mailbox a SUBSCRIBE names, who owns it, and its message counts.

use std::collections::HashMap;

use crate::config::MailboxConfig;

#[derive(Debug, Default)]
pub struct MailboxDirectory {
    /// Mailbox number → owner.
    owners: HashMap<String, Option<String>>,
    /// Owner user → the first mailbox it owns.
    by_owner: HashMap<String, String>,
    /// (new, old) per mailbox; a mailbox never set has 0/0.
    counts: HashMap<String, (u32, u32)>,
}

impl MailboxDirectory {
    pub fn new(mailboxes: &[MailboxConfig]) -> Self {
        let mut directory = MailboxDirectory::default();
        for mailbox in mailboxes {
            directory
                .owners
                .insert(mailbox.number.clone(), mailbox.owner.clone());
            if let Some(owner) = &mailbox.owner {
                directory
                    .by_owner
                    .entry(owner.clone())
                    .or_insert_with(|| mailbox.number.clone());
            }
        }
        directory
    }

    /// The mailbox `user` (a Request-URI user part) names: a mailbox
    /// number, else the owner of a mailbox.
    pub fn resolve(&self, user: &str) -> Option<&str> {
        if let Some((number, _)) = self.owners.get_key_value(user) {
            return Some(number.as_str());
        }
        self.by_owner.get(user).map(String::as_str)
    }

    pub fn contains(&self, mailbox: &str) -> bool {
        self.owners.contains_key(mailbox)
    }

    /// The owner of `mailbox`, if it has one.
    pub fn owner(&self, mailbox: &str) -> Option<&str> {
        self.owners.get(mailbox)?.as_deref()
    }

    /// (new, old) messages of `mailbox`.
    pub fn counts(&self, mailbox: &str) -> (u32, u32) {
        self.counts.get(mailbox).copied().unwrap_or((0, 0))
    }

    /// Stores the counts of a configured mailbox; true when they changed.
    pub fn set_counts(&mut self, mailbox: &str, new: u32, old: u32) -> bool {
        if !self.contains(mailbox) {
            return false;
        }
        let before = self.counts(mailbox);
        self.counts.insert(mailbox.to_string(), (new, old));
        before != (new, old)
    }
}
