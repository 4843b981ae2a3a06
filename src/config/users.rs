//! `[[users]]`: who may register, and the secret each proves it with.

use std::collections::HashMap;

use super::error::{ConfigError, ConfigErrorKind};
use super::reader::{Reader, Table};
use super::registrar::MAX_CONTACTS_LIMIT;
use super::srtp::{read_srtp_overrides, SrtpOverrides};

/// One user of the registrar. Exactly one way of checking its digest must
/// be given: the plain `password`, or the HA1 of one or both algorithms
/// (`ha1_md5` = hex MD5 of `name:realm:password`, `ha1_sha256` the same
/// with SHA-256; RFC 7616 §3.4.2), so that the file need not hold the
/// password itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserConfig {
    pub name: String,
    pub password: Option<String>,
    pub ha1_md5: Option<String>,
    pub ha1_sha256: Option<String>,
    /// Overrides `registrar.max_contacts` for this user.
    pub max_contacts: Option<u32>,
    /// How long a call to this user may ring its devices before it is
    /// given up (480); `None` = the bridge default (30 s).
    pub no_answer_ms: Option<u32>,
    /// The SRTP policy of calls to this user's devices; absent keys take
    /// the `[media]` values.
    pub srtp: SrtpOverrides,
}

impl UserConfig {
    /// A user checked against a plain password.
    pub fn with_password(name: impl Into<String>, password: impl Into<String>) -> Self {
        UserConfig {
            name: name.into(),
            password: Some(password.into()),
            ha1_md5: None,
            ha1_sha256: None,
            max_contacts: None,
            no_answer_ms: None,
            srtp: SrtpOverrides::default(),
        }
    }
}

/// Reads `[[users]]`. Entries that could not be read are `None`, so the
/// indices of the others stay those of the file.
pub(crate) fn read_users(r: &mut Reader, root: &mut Table) -> Option<Vec<Option<UserConfig>>> {
    let tables = r.array_of_tables(root, "users")?;
    Some(
        tables
            .into_iter()
            .map(|table| {
                let mut t = table?;
                let user = read_user(r, &mut t);
                r.finish(t);
                user
            })
            .collect(),
    )
}

fn read_user(r: &mut Reader, t: &mut Table) -> Option<UserConfig> {
    let name = r.required_string(t, "name");
    let password = r.string(t, "password");
    let ha1_md5 = r.string(t, "ha1_md5");
    let ha1_sha256 = r.string(t, "ha1_sha256");
    let max_contacts = r.integer(t, "max_contacts");
    let no_answer_ms = r.integer(t, "no_answer_ms");
    let srtp = read_srtp_overrides(r, t);
    Some(UserConfig {
        name: name?,
        password,
        ha1_md5,
        ha1_sha256,
        max_contacts,
        no_answer_ms,
        srtp,
    })
}

/// Every problem of the users, each with its index in the file: names,
/// secrets, limits, and names given twice.
pub(crate) fn check_users<'u>(
    users: impl IntoIterator<Item = (usize, &'u UserConfig)>,
    failed: &std::collections::HashSet<String>,
) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, user) in users {
        let key = |k: &str| format!("users[{index}].{k}");
        let mut report = |kind: ConfigErrorKind, k: String, message: String| {
            if !failed.contains(&k) {
                problems.push(ConfigError::new(kind, k, message));
            }
        };
        let name = user.name.as_str();
        if !is_user_name(name) {
            report(
                ConfigErrorKind::InvalidValue,
                key("name"),
                format!("`{name}` is not a SIP user name (letters, digits and -_.!~*'()&=+$)"),
            );
        } else if let Some(first) = seen.get(name) {
            report(
                ConfigErrorKind::InvalidValue,
                key("name"),
                format!("user `{name}` is already defined in users[{first}]"),
            );
        } else {
            seen.insert(name, index);
        }
        let has_ha1 = user.ha1_md5.is_some() || user.ha1_sha256.is_some();
        match (&user.password, has_ha1) {
            (None, false) => {
                let readable = ["password", "ha1_md5", "ha1_sha256"]
                    .iter()
                    .all(|k| !failed.contains(&key(k)));
                if readable {
                    report(
                        ConfigErrorKind::MissingKey,
                        format!("users[{index}]"),
                        format!("user `{name}` needs `password`, or `ha1_md5` and/or `ha1_sha256`"),
                    );
                }
            }
            (Some(_), true) => report(
                ConfigErrorKind::InvalidValue,
                key("password"),
                "give either `password` or `ha1_md5`/`ha1_sha256`, not both".into(),
            ),
            (Some(password), false) if password.is_empty() => report(
                ConfigErrorKind::InvalidValue,
                key("password"),
                "must not be empty".into(),
            ),
            _ => {}
        }
        for (k, value, digits, algorithm) in [
            ("ha1_md5", &user.ha1_md5, 32, "MD5"),
            ("ha1_sha256", &user.ha1_sha256, 64, "SHA-256"),
        ] {
            if let Some(value) = value {
                if value.len() != digits || !value.chars().all(|c| c.is_ascii_hexdigit()) {
                    report(
                ConfigErrorKind::InvalidValue,
                        key(k),
                        format!(
                            "must be {digits} hex digits (the {algorithm} of name:realm:password), found {} characters",
                            value.len()
                        ),
                    );
                }
            }
        }
        if let Some(max) = user.max_contacts {
            if !(1..=MAX_CONTACTS_LIMIT).contains(&max) {
                report(
                    ConfigErrorKind::InvalidValue,
                    key("max_contacts"),
                    format!("{max} is out of range 1..={MAX_CONTACTS_LIMIT}"),
                );
            }
        }
        if let Some(ms) = user.no_answer_ms {
            if !(1000..=600_000).contains(&ms) {
                report(
                    ConfigErrorKind::InvalidValue,
                    key("no_answer_ms"),
                    format!("{ms} must be from 1000 to 600000"),
                );
            }
        }
    }
    problems
}

/// The characters a user name may hold: the unreserved and user-unreserved
/// ones of RFC 3261 §25.1 that need no escaping, minus `;`, `,`, `?` and
/// `/` which would read as URI or header separators.
fn is_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$".contains(c))
}
