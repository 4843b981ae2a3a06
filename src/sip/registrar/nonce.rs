//! Nonces that prove their own origin and age, and the nonce counts that
//! keep each one from being replayed.
//!
//! A nonce is 64 hex digits: the time it was issued (16, milliseconds since
//! the issuer's epoch), a random salt (16), and the first 32 of
//! HMAC-SHA-256(secret, time and salt). Validity and age need no stored
//! state (RFC 7616 §3.3 suggests a time stamp and a private key); only the
//! nonce counts seen are kept, in a bounded table.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const STAMP_HEX: usize = 16;
const SALT_HEX: usize = 16;
const MAC_HEX: usize = 32;
pub const NONCE_LEN: usize = STAMP_HEX + SALT_HEX + MAC_HEX;

/// What a nonce turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceState {
    /// Ours and young enough; `issued` is its time stamp.
    Fresh { issued: u64 },
    /// Ours but older than the lifetime (401 with stale=true).
    Stale,
    /// Not ours, or mangled.
    Invalid,
}

/// Issues and checks nonces with a secret of this process.
#[derive(Debug)]
pub struct NonceIssuer {
    key: [u8; 32],
    epoch: Instant,
    lifetime: Duration,
}

impl NonceIssuer {
    pub fn new(key: [u8; 32], epoch: Instant, lifetime: Duration) -> Self {
        NonceIssuer {
            key,
            epoch,
            lifetime,
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Milliseconds from the epoch to `now` (0 for an earlier `now`).
    pub fn stamp(&self, now: Instant) -> u64 {
        let ms = now.saturating_duration_since(self.epoch).as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    pub fn issue(&self, now: Instant, salt: u64) -> String {
        let head = format!("{:016x}{salt:016x}", self.stamp(now));
        let mac = self.mac(head.as_bytes());
        format!("{head}{}", &mac[..MAC_HEX])
    }

    pub fn check(&self, nonce: &str, now: Instant) -> NonceState {
        if nonce.len() != NONCE_LEN || !nonce.chars().all(|c| c.is_ascii_hexdigit()) {
            return NonceState::Invalid;
        }
        let (head, mac) = nonce.split_at(STAMP_HEX + SALT_HEX);
        let expected = self.mac(head.as_bytes());
        if !super::digest::digests_match(&expected[..MAC_HEX], mac) {
            return NonceState::Invalid;
        }
        let Ok(issued) = u64::from_str_radix(&head[..STAMP_HEX], 16) else {
            return NonceState::Invalid;
        };
        let lifetime = u64::try_from(self.lifetime.as_millis()).unwrap_or(u64::MAX);
        let age = self.stamp(now).saturating_sub(issued);
        if age >= lifetime {
            NonceState::Stale
        } else {
            NonceState::Fresh { issued }
        }
    }

    fn mac(&self, data: &[u8]) -> String {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Outcome of presenting a nonce count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountCheck {
    Accepted,
    /// Not above the last count seen with this nonce: a replay.
    Replayed,
    /// The nonce is older than any the table can still vouch for.
    Forgotten,
}

/// The highest nonce count seen per nonce (RFC 7616 §3.4: the server
/// refuses a count it has seen). Bounded: when full, nonces past their
/// lifetime go first, then the oldest; every nonce issued up to the one
/// evicted is then treated as stale, so an eviction never reopens a replay.
#[derive(Debug)]
pub struct NonceCounts {
    seen: HashMap<String, Seen>,
    capacity: usize,
    /// Nonces issued at or before this stamp are no longer accepted.
    floor: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct Seen {
    issued: u64,
    last_nc: u32,
}

impl NonceCounts {
    pub fn new(capacity: usize) -> Self {
        NonceCounts {
            seen: HashMap::new(),
            capacity: capacity.max(1),
            floor: None,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }

    /// Records count `nc` for a fresh nonce issued at `issued`. `oldest_live`
    /// is the stamp below which nonces are past their lifetime.
    pub fn accept(&mut self, nonce: &str, issued: u64, nc: u32, oldest_live: u64) -> CountCheck {
        if self.floor.is_some_and(|floor| issued <= floor) {
            return CountCheck::Forgotten;
        }
        if let Some(seen) = self.seen.get_mut(nonce) {
            if nc <= seen.last_nc {
                return CountCheck::Replayed;
            }
            seen.last_nc = nc;
            return CountCheck::Accepted;
        }
        if self.seen.len() >= self.capacity {
            self.seen.retain(|_, s| s.issued >= oldest_live);
        }
        if self.seen.len() >= self.capacity {
            let oldest = self.seen.values().map(|s| s.issued).min();
            if let Some(oldest) = oldest {
                self.seen.retain(|_, s| s.issued > oldest);
                self.floor = Some(self.floor.map_or(oldest, |f| f.max(oldest)));
            }
            if self.floor.is_some_and(|floor| issued <= floor) {
                return CountCheck::Forgotten;
            }
        }
        self.seen.insert(
            nonce.to_string(),
            Seen {
                issued,
                last_nc: nc,
            },
        );
        CountCheck::Accepted
    }

    /// Drops the counts of nonces past their lifetime.
    pub fn purge(&mut self, oldest_live: u64) {
        self.seen.retain(|_, s| s.issued >= oldest_live);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(epoch: Instant) -> NonceIssuer {
        NonceIssuer::new([7; 32], epoch, Duration::from_secs(30))
    }

    #[test]
    fn a_nonce_is_fresh_then_stale() {
        let t0 = Instant::now();
        let issuer = issuer(t0);
        let nonce = issuer.issue(t0 + Duration::from_secs(5), 42);
        assert_eq!(nonce.len(), NONCE_LEN);
        assert_eq!(
            issuer.check(&nonce, t0 + Duration::from_secs(34)),
            NonceState::Fresh { issued: 5000 }
        );
        assert_eq!(
            issuer.check(&nonce, t0 + Duration::from_secs(35)),
            NonceState::Stale
        );
    }

    #[test]
    fn forged_or_foreign_nonces_are_invalid() {
        let t0 = Instant::now();
        let issuer = issuer(t0);
        let nonce = issuer.issue(t0, 1);
        // Moving the time stamp forward breaks the MAC.
        let forged = format!("{:016x}{}", 999_999, &nonce[16..]);
        assert_eq!(issuer.check(&forged, t0), NonceState::Invalid);
        let other = NonceIssuer::new([8; 32], t0, Duration::from_secs(30));
        assert_eq!(other.check(&nonce, t0), NonceState::Invalid);
        assert_eq!(issuer.check("", t0), NonceState::Invalid);
        assert_eq!(
            issuer.check(&"g".repeat(NONCE_LEN), t0),
            NonceState::Invalid
        );
        assert_ne!(issuer.issue(t0, 1), issuer.issue(t0, 2));
    }

    #[test]
    fn counts_must_increase_per_nonce() {
        let mut counts = NonceCounts::new(8);
        assert_eq!(counts.accept("a", 10, 1, 0), CountCheck::Accepted);
        assert_eq!(counts.accept("a", 10, 1, 0), CountCheck::Replayed);
        assert_eq!(counts.accept("a", 10, 2, 0), CountCheck::Accepted);
        assert_eq!(counts.accept("a", 10, 1, 0), CountCheck::Replayed);
        assert_eq!(counts.accept("b", 10, 1, 0), CountCheck::Accepted);
    }

    #[test]
    fn a_full_table_forgets_expired_nonces_first_then_refuses_old_ones() {
        let mut counts = NonceCounts::new(2);
        assert_eq!(counts.accept("a", 10, 1, 0), CountCheck::Accepted);
        assert_eq!(counts.accept("b", 20, 1, 0), CountCheck::Accepted);
        // "a" is past its lifetime: it makes room without any floor.
        assert_eq!(counts.accept("c", 30, 1, 15), CountCheck::Accepted);
        assert_eq!(counts.len(), 2);
        // Nothing expired: the oldest ("b") is evicted, and from then on it
        // cannot come back with a count it already used.
        assert_eq!(counts.accept("d", 40, 1, 15), CountCheck::Accepted);
        assert_eq!(counts.accept("b", 20, 1, 15), CountCheck::Forgotten);
        assert_eq!(counts.accept("c", 30, 2, 15), CountCheck::Accepted);
        counts.purge(35);
        assert_eq!(counts.len(), 1);
    }
}
