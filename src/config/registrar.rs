//! `[registrar]`: the REGISTER service (RFC 3261 §10.3) and its digest
//! challenges (RFC 7616, RFC 8760).

use super::error::ConfigError;
use super::reader::{Reader, Table};
use crate::sip::registrar::digest::Algorithm;
use crate::sip::registrar::{Keepalive, KEEPALIVE_VALUES};

/// `[registrar]` settings; the users are `[[users]]` (see [`super::UserConfig`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// The digest realm of the challenges. An HA1 given in `[[users]]` is
    /// hashed over it, so changing it invalidates those.
    pub realm: String,
    /// Shorter registrations are refused with 423 (RFC 3261 §10.3 step 7).
    pub min_expires_s: u32,
    /// Longer registrations are shortened to this.
    pub max_expires_s: u32,
    /// For a contact that asks for no particular time.
    pub default_expires_s: u32,
    /// How long a nonce may be used; after that it is `stale`.
    pub nonce_lifetime_s: u32,
    /// Contacts a user may have registered at once, unless the user sets
    /// its own `max_contacts`.
    pub max_contacts: u32,
    /// The digest algorithms challenged with, in this order (RFC 8760 §2.4:
    /// most preferred first). Devices that know only MD5 and cannot skip a
    /// challenge they do not understand need `["MD5"]`.
    pub algorithms: Vec<Algorithm>,
    /// What registered contacts are pinged with to keep their NAT
    /// bindings open.
    pub keepalive: Keepalive,
    /// Seconds between pings (0 = none).
    pub keepalive_interval_s: u32,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            realm: "mediaplane".to_string(),
            min_expires_s: 60,
            max_expires_s: 3600,
            default_expires_s: 3600,
            nonce_lifetime_s: 300,
            max_contacts: 10,
            algorithms: Algorithm::PREFERRED_FIRST.to_vec(),
            keepalive: Keepalive::Crlf,
            keepalive_interval_s: 30,
        }
    }
}

/// The `algorithms` list, each name checked; unknown ones are reported one
/// by one.
fn read_algorithms(r: &mut Reader, t: &mut Table) -> Option<Vec<Algorithm>> {
    let names = r.string_list(t, "algorithms")?;
    let path = t.key_path("algorithms");
    let line = r.line_of_key(&path);
    let mut algorithms = Vec::with_capacity(names.len());
    let mut all_known = true;
    for (index, name) in names.iter().enumerate() {
        match Algorithm::from_token(name) {
            Some(a) => algorithms.push(a),
            None => {
                all_known = false;
                r.invalid(
                    format!("{path}[{index}]"),
                    line,
                    format!("unknown digest algorithm `{name}`; known: SHA-256, MD5"),
                );
            }
        }
    }
    if !all_known {
        r.failed.insert(path);
        return None;
    }
    Some(algorithms)
}

/// Upper bound of `max_contacts` (here and per user): the location table
/// must stay small whatever the file says.
pub(crate) const MAX_CONTACTS_LIMIT: u32 = 1000;

impl RegistrarConfig {
    pub(crate) fn read(r: &mut Reader, t: &mut Table) -> Self {
        let d = RegistrarConfig::default();
        RegistrarConfig {
            realm: r.string(t, "realm").unwrap_or(d.realm),
            min_expires_s: r.integer(t, "min_expires_s").unwrap_or(d.min_expires_s),
            max_expires_s: r.integer(t, "max_expires_s").unwrap_or(d.max_expires_s),
            default_expires_s: r
                .integer(t, "default_expires_s")
                .unwrap_or(d.default_expires_s),
            nonce_lifetime_s: r
                .integer(t, "nonce_lifetime_s")
                .unwrap_or(d.nonce_lifetime_s),
            max_contacts: r.integer(t, "max_contacts").unwrap_or(d.max_contacts),
            algorithms: read_algorithms(r, t).unwrap_or(d.algorithms),
            keepalive: r
                .parsed(t, "keepalive", KEEPALIVE_VALUES)
                .unwrap_or(d.keepalive),
            keepalive_interval_s: r
                .integer(t, "keepalive_interval_s")
                .unwrap_or(d.keepalive_interval_s),
        }
    }

    /// Every problem of the section; keys in `failed` could not be read and
    /// are left out of the checks.
    pub(crate) fn check(&self, failed: &std::collections::HashSet<String>) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        let mut require = |keys: &[&str], ok: bool, message: String| {
            if !ok && !keys.iter().any(|k| failed.contains(*k)) {
                problems.push(ConfigError::invalid(keys[0], message));
            }
        };
        let realm = &self.realm;
        // The realm is a quoted-string in WWW-Authenticate (RFC 7616 §3.3).
        require(
            &["registrar.realm"],
            !realm.trim().is_empty() && !realm.chars().any(|c| c.is_control() || c == '"' || c == '\\'),
            format!("`{realm}` must be non-empty text without quotes, backslashes or control characters"),
        );
        require(
            &["registrar.keepalive_interval_s"],
            self.keepalive_interval_s <= 3600,
            format!("{} is more than 3600", self.keepalive_interval_s),
        );
        require(
            &["registrar.min_expires_s"],
            self.min_expires_s >= 1,
            "must be at least 1".into(),
        );
        require(
            &["registrar.max_expires_s", "registrar.min_expires_s"],
            self.max_expires_s >= self.min_expires_s,
            format!(
                "{} is below min_expires_s ({})",
                self.max_expires_s, self.min_expires_s
            ),
        );
        require(
            &[
                "registrar.default_expires_s",
                "registrar.min_expires_s",
                "registrar.max_expires_s",
            ],
            (self.min_expires_s..=self.max_expires_s).contains(&self.default_expires_s),
            format!(
                "{} is outside min_expires_s..=max_expires_s ({}..={})",
                self.default_expires_s, self.min_expires_s, self.max_expires_s
            ),
        );
        require(
            &["registrar.nonce_lifetime_s"],
            (1..=86_400).contains(&self.nonce_lifetime_s),
            format!("{} is out of range 1..=86400", self.nonce_lifetime_s),
        );
        require(
            &["registrar.algorithms"],
            !self.algorithms.is_empty()
                && self
                    .algorithms
                    .iter()
                    .enumerate()
                    .all(|(i, a)| !self.algorithms[..i].contains(a)),
            "must list SHA-256 and/or MD5, each once".into(),
        );
        require(
            &["registrar.max_contacts"],
            (1..=MAX_CONTACTS_LIMIT).contains(&self.max_contacts),
            format!(
                "{} is out of range 1..={MAX_CONTACTS_LIMIT}",
                self.max_contacts
            ),
        );
        problems
    }
}
