//! The location table: each user's bindings with their expiry, and the
//! update rules of RFC 3261 §10.3 steps 6 and 7.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::sip::peer::Peer;

/// One stored binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBinding {
    pub contact: String,
    /// The contact compared as RFC 3261 §19.1.4 roughly asks: scheme, host
    /// and parameters without case, the user part as written.
    key: String,
    pub destination: Peer,
    pub expires_at: Instant,
    pub call_id: String,
    pub cseq: u32,
    /// Order of the last update, for "most recent first".
    updated: u64,
}

/// What a REGISTER asks of one user's bindings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactChange {
    /// No Contact: only a query (RFC 3261 §10.3 step 6 does nothing).
    Query,
    /// `Contact: *` with Expires: 0: remove every binding.
    RemoveAll,
    /// Each contact URI with its granted expiry in seconds (0 removes).
    Set(Vec<(String, u32)>),
}

/// A REGISTER's identity and source, as the bindings record them.
#[derive(Clone, Debug)]
pub struct Registration<'a> {
    pub call_id: &'a str,
    pub cseq: u32,
    pub source: Peer,
}

/// Why an update was refused; nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// §10.3 step 7: same Call-ID, CSeq not higher than the stored one.
    #[error("CSeq {cseq} is not above {stored} already seen for {contact}")]
    OutOfOrder {
        contact: String,
        cseq: u32,
        stored: u32,
    },
    #[error("Too many contacts (at most {max})")]
    TooMany { max: usize },
}

#[derive(Debug, Default)]
pub struct LocationTable {
    users: HashMap<String, Vec<StoredBinding>>,
    updates: u64,
}

impl LocationTable {
    /// Applies a REGISTER's contacts for `user` all or nothing.
    pub fn apply(
        &mut self,
        user: &str,
        change: &ContactChange,
        registration: &Registration,
        max_contacts: usize,
        now: Instant,
    ) -> Result<(), UpdateError> {
        let mut bindings = self.users.get(user).cloned().unwrap_or_default();
        bindings.retain(|b| b.expires_at > now);
        match change {
            ContactChange::Query => {}
            ContactChange::RemoveAll => {
                // §10.3 step 6: a binding of this Call-ID is removed only by
                // a higher CSeq; otherwise the whole request fails.
                if let Some(b) = bindings
                    .iter()
                    .find(|b| b.call_id == registration.call_id && registration.cseq <= b.cseq)
                {
                    return Err(out_of_order(b, registration.cseq));
                }
                bindings.clear();
            }
            ContactChange::Set(contacts) => {
                for (contact, expires) in contacts {
                    let key = contact_key(contact);
                    let existing = bindings.iter().position(|b| b.key == key);
                    if let Some(index) = existing {
                        let b = &bindings[index];
                        if b.call_id == registration.call_id && registration.cseq <= b.cseq {
                            return Err(out_of_order(b, registration.cseq));
                        }
                    }
                    if *expires == 0 {
                        if let Some(index) = existing {
                            bindings.remove(index);
                        }
                        continue;
                    }
                    self.updates += 1;
                    let binding = StoredBinding {
                        contact: contact.clone(),
                        key,
                        destination: registration.source,
                        expires_at: now + Duration::from_secs(u64::from(*expires)),
                        call_id: registration.call_id.to_string(),
                        cseq: registration.cseq,
                        updated: self.updates,
                    };
                    match existing {
                        Some(index) => bindings[index] = binding,
                        None => bindings.push(binding),
                    }
                }
                if bindings.len() > max_contacts {
                    return Err(UpdateError::TooMany { max: max_contacts });
                }
            }
        }
        if bindings.is_empty() {
            self.users.remove(user);
        } else {
            self.users.insert(user.to_string(), bindings);
        }
        Ok(())
    }

    /// The live bindings of `user`, most recently updated first.
    pub fn bindings(&self, user: &str, now: Instant) -> Vec<&StoredBinding> {
        let mut live: Vec<&StoredBinding> = self
            .users
            .get(user)
            .map(|v| v.iter().filter(|b| b.expires_at > now).collect())
            .unwrap_or_default();
        live.sort_by_key(|b| std::cmp::Reverse(b.updated));
        live
    }

    /// Where every live binding is reached, and its contact.
    pub fn destinations(&self, now: Instant) -> impl Iterator<Item = (&Peer, &str)> {
        self.users
            .values()
            .flatten()
            .filter(move |b| b.expires_at > now)
            .map(|b| (&b.destination, b.contact.as_str()))
    }

    /// Forgets every expired binding.
    pub fn purge(&mut self, now: Instant) {
        self.users.retain(|_, bindings| {
            bindings.retain(|b| b.expires_at > now);
            !bindings.is_empty()
        });
    }

    /// Bindings stored, expired ones not yet purged included.
    pub fn len(&self) -> usize {
        self.users.values().map(Vec::len).sum()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

fn out_of_order(binding: &StoredBinding, cseq: u32) -> UpdateError {
    UpdateError::OutOfOrder {
        contact: binding.contact.clone(),
        cseq,
        stored: binding.cseq,
    }
}

/// A contact URI in the form two equal URIs share: the user part kept, the
/// rest lower-cased (RFC 3261 §19.1.4: host and parameter names compare
/// without case; parameter order is not normalised here).
fn contact_key(uri: &str) -> String {
    let uri = uri.trim();
    let (scheme, rest) = uri.split_once(':').unwrap_or(("", uri));
    match rest.rsplit_once('@') {
        Some((user, host)) => format!(
            "{}:{user}@{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        ),
        None => format!(
            "{}:{}",
            scheme.to_ascii_lowercase(),
            rest.to_ascii_lowercase()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(port: u16) -> Peer {
        Peer::udp(([192, 0, 2, 1], port).into())
    }

    fn reg(call_id: &str, cseq: u32, port: u16) -> Registration<'_> {
        Registration {
            call_id,
            cseq,
            source: peer(port),
        }
    }

    fn set(contacts: &[(&str, u32)]) -> ContactChange {
        ContactChange::Set(contacts.iter().map(|(c, e)| (c.to_string(), *e)).collect())
    }

    fn contacts(table: &LocationTable, now: Instant) -> Vec<String> {
        table
            .bindings("alice", now)
            .iter()
            .map(|b| b.contact.clone())
            .collect()
    }

    #[test]
    fn bindings_expire_and_are_purged() {
        let t0 = Instant::now();
        let mut table = LocationTable::default();
        table
            .apply(
                "alice",
                &set(&[("sip:a@10.0.0.1", 60)]),
                &reg("c1", 1, 5060),
                5,
                t0,
            )
            .unwrap();
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(contacts(&table, at(59)), ["sip:a@10.0.0.1"]);
        assert!(contacts(&table, at(60)).is_empty());
        assert_eq!(table.len(), 1);
        table.purge(at(60));
        assert_eq!(table.len(), 0);
        assert!(table.is_empty());
    }

    #[test]
    fn several_contacts_most_recent_first_and_refresh_moves_to_front() {
        let t0 = Instant::now();
        let mut table = LocationTable::default();
        table
            .apply(
                "alice",
                &set(&[("sip:a@10.0.0.1", 60)]),
                &reg("c1", 1, 1),
                5,
                t0,
            )
            .unwrap();
        table
            .apply(
                "alice",
                &set(&[("sip:a@10.0.0.2", 60)]),
                &reg("c2", 1, 2),
                5,
                t0,
            )
            .unwrap();
        assert_eq!(contacts(&table, t0), ["sip:a@10.0.0.2", "sip:a@10.0.0.1"]);
        // A refresh of the first (same URI up to host case) replaces it.
        table
            .apply(
                "alice",
                &set(&[("SIP:a@10.0.0.1", 120)]),
                &reg("c1", 2, 3),
                5,
                t0,
            )
            .unwrap();
        let live = table.bindings("alice", t0);
        assert_eq!(live.len(), 2);
        assert_eq!(live[0].contact, "SIP:a@10.0.0.1");
        assert_eq!(live[0].destination, peer(3));
        assert_eq!(live[0].expires_at, t0 + Duration::from_secs(120));
    }

    #[test]
    fn older_cseq_on_the_same_call_id_is_refused_and_changes_nothing() {
        let t0 = Instant::now();
        let mut table = LocationTable::default();
        table
            .apply("alice", &set(&[("sip:a@h", 60)]), &reg("c1", 5, 1), 5, t0)
            .unwrap();
        let err = table
            .apply("alice", &set(&[("sip:a@h", 0)]), &reg("c1", 5, 1), 5, t0)
            .unwrap_err();
        assert!(matches!(
            err,
            UpdateError::OutOfOrder {
                cseq: 5,
                stored: 5,
                ..
            }
        ));
        assert_eq!(contacts(&table, t0), ["sip:a@h"]);
        // Another Call-ID (another device or a reboot) may update it.
        table
            .apply("alice", &set(&[("sip:a@h", 0)]), &reg("c2", 1, 1), 5, t0)
            .unwrap();
        assert!(contacts(&table, t0).is_empty());
    }

    #[test]
    fn wildcard_removes_all_unless_a_binding_is_newer() {
        let t0 = Instant::now();
        let mut table = LocationTable::default();
        let two = set(&[("sip:a@h1", 60), ("sip:a@h2", 60)]);
        table.apply("alice", &two, &reg("c1", 3, 1), 5, t0).unwrap();
        assert_eq!(
            table.apply("alice", &ContactChange::RemoveAll, &reg("c1", 2, 1), 5, t0),
            Err(UpdateError::OutOfOrder {
                contact: "sip:a@h1".into(),
                cseq: 2,
                stored: 3
            })
        );
        assert_eq!(contacts(&table, t0).len(), 2);
        table
            .apply("alice", &ContactChange::RemoveAll, &reg("c1", 4, 1), 5, t0)
            .unwrap();
        assert!(table.is_empty());
    }

    #[test]
    fn the_contact_cap_refuses_the_whole_request() {
        let t0 = Instant::now();
        let mut table = LocationTable::default();
        table
            .apply(
                "alice",
                &set(&[("sip:a@h1", 60), ("sip:a@h2", 60)]),
                &reg("c1", 1, 1),
                2,
                t0,
            )
            .unwrap();
        let third = set(&[("sip:a@h3", 60)]);
        assert_eq!(
            table.apply("alice", &third, &reg("c2", 1, 1), 2, t0),
            Err(UpdateError::TooMany { max: 2 })
        );
        // Removing one in the same request makes room.
        let swap = set(&[("sip:a@h1", 0), ("sip:a@h3", 60)]);
        table
            .apply("alice", &swap, &reg("c1", 2, 1), 2, t0)
            .unwrap();
        assert_eq!(contacts(&table, t0), ["sip:a@h3", "sip:a@h2"]);
        // An expired binding does not count against the cap.
        let later = t0 + Duration::from_secs(61);
        table
            .apply("alice", &third, &reg("c3", 1, 1), 2, later)
            .unwrap();
        assert_eq!(contacts(&table, later), ["sip:a@h3"]);
    }

    #[test]
    fn a_query_changes_nothing() {
        let t0 = Instant::now();
        let mut table = LocationTable::default();
        table
            .apply("alice", &set(&[("sip:a@h", 60)]), &reg("c1", 1, 1), 5, t0)
            .unwrap();
        table
            .apply("alice", &ContactChange::Query, &reg("c1", 1, 1), 5, t0)
            .unwrap();
        assert_eq!(contacts(&table, t0), ["sip:a@h"]);
    }
}
