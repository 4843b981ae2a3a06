//! Random identifiers: tags (RFC 3261 §19.3), Call-IDs (§8.1.1.4) and
//! branches (§8.1.1.7, made by the transaction layer).

use rand::distr::Alphanumeric;
use rand::Rng;

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A From/To tag: at least 32 bits of randomness (RFC 3261 §19.3).
pub fn new_tag() -> String {
    random_token(12)
}

/// A globally unique Call-ID.
pub fn new_call_id() -> String {
    random_token(24)
}

pub use crate::sip::transaction::new_branch;
