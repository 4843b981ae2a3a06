//! `[voicemail]` and `[[mailboxes]]`: the voicemail service's settings and
//! its mailboxes. A mailbox without an entry does not exist: `vm-BOX` for an
//! unknown BOX is refused.

use std::collections::HashSet;
use std::path::PathBuf;

use super::error::ConfigError;
use super::reader::{Reader, Table};
use super::rooms::MAX_PIN_DIGITS;
use super::users::UserConfig;

/// Longest mailbox number; it names a folder, so it is kept short.
pub const MAX_MAILBOX_CHARS: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxConfig {
    /// The mailbox, as in `vm-NUMBER`; also its folder under
    /// `DATA/voicemail/`.
    pub number: String,
    /// Asked for (ended by `#`) before the owner hears the messages.
    pub pin: String,
    /// The registered user whose unanswered calls land here, whose
    /// `voicemail` calls open it without asking for the number, and whose
    /// phones get message-waiting NOTIFYs.
    pub owner: Option<String>,
    /// Kept for message notification by e-mail (not sent yet).
    pub email: Option<String>,
    /// A greeting file of the operator's; the owner's recorded greeting
    /// takes precedence, the default "not available" greeting comes last.
    pub greeting: Option<PathBuf>,
    /// Callers beyond this many stored messages hear the mailbox is full.
    pub max_messages: u32,
    /// A recording stops at this length.
    pub max_message_s: u32,
}

/// `[voicemail]`: how deposits and logins behave for every mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoicemailConfig {
    /// A recording stops after this much silence; 0 = never.
    pub silence_timeout_s: u32,
    /// Recordings shorter than this are discarded.
    pub min_message_ms: u32,
    /// Wrong PINs in a row before a mailbox is locked.
    pub pin_attempts: u32,
    /// How long a locked mailbox refuses logins.
    pub lockout_s: u32,
    /// NOTIFY the owner's registered contacts of message-waiting changes
    /// without a subscription (RFC 3842 §3 allows it when configured).
    pub notify_unsubscribed: bool,
    /// Longest message-summary subscription granted, in seconds.
    pub max_subscription_s: u32,
}

impl VoicemailConfig {
    pub(crate) fn read(r: &mut Reader, t: &mut Table) -> Self {
        let d = VoicemailConfig::default();
        VoicemailConfig {
            silence_timeout_s: r
                .integer(t, "silence_timeout_s")
                .unwrap_or(d.silence_timeout_s),
            min_message_ms: r.integer(t, "min_message_ms").unwrap_or(d.min_message_ms),
            pin_attempts: r.integer(t, "pin_attempts").unwrap_or(d.pin_attempts),
            lockout_s: r.integer(t, "lockout_s").unwrap_or(d.lockout_s),
            notify_unsubscribed: r
                .boolean(t, "notify_unsubscribed")
                .unwrap_or(d.notify_unsubscribed),
            max_subscription_s: r
                .integer(t, "max_subscription_s")
                .unwrap_or(d.max_subscription_s),
        }
    }
}

impl Default for VoicemailConfig {
    fn default() -> Self {
        VoicemailConfig {
            silence_timeout_s: 5,
            min_message_ms: 1000,
            pin_attempts: 3,
            lockout_s: 300,
            notify_unsubscribed: false,
            max_subscription_s: 3600,
        }
    }
}

/// Reads `[[mailboxes]]`; entries that could not be read are `None`.
pub(crate) fn read_mailboxes(
    r: &mut Reader,
    root: &mut Table,
) -> Option<Vec<Option<MailboxConfig>>> {
    let tables = r.array_of_tables(root, "mailboxes")?;
    let d = MailboxDefaults::default();
    Some(
        tables
            .into_iter()
            .map(|table| {
                let mut t = table?;
                let number = r.required_string(&mut t, "number");
                let pin = r.required_string(&mut t, "pin");
                let owner = r.string(&mut t, "owner");
                let email = r.string(&mut t, "email");
                let greeting = r.string(&mut t, "greeting").map(PathBuf::from);
                let max_messages = r.integer(&mut t, "max_messages");
                let max_message_s = r.integer(&mut t, "max_message_s");
                r.finish(t);
                Some(MailboxConfig {
                    number: number?,
                    pin: pin?,
                    owner,
                    email,
                    greeting,
                    max_messages: max_messages.unwrap_or(d.max_messages),
                    max_message_s: max_message_s.unwrap_or(d.max_message_s),
                })
            })
            .collect(),
    )
}

struct MailboxDefaults {
    max_messages: u32,
    max_message_s: u32,
}

impl Default for MailboxDefaults {
    fn default() -> Self {
        MailboxDefaults {
            max_messages: 100,
            max_message_s: 180,
        }
    }
}

/// Whether `name` may name a mailbox (or a message): it becomes a folder or
/// file name, so only `A-Z a-z 0-9 _ -`, which also rules out `..` and `/`.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_MAILBOX_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Every problem of the mailboxes and `[voicemail]`, each with its index in
/// the file.
pub(crate) fn check_mailboxes<'a>(
    mailboxes: impl IntoIterator<Item = (usize, &'a MailboxConfig)>,
    voicemail: &VoicemailConfig,
    users: &[UserConfig],
    failed: &HashSet<String>,
) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let mut numbers = HashSet::new();
    let mut owners = HashSet::new();
    for (index, mailbox) in mailboxes {
        let key = |k: &str| format!("mailboxes[{index}].{k}");
        if !is_safe_name(&mailbox.number) {
            problems.push(ConfigError::invalid(
                key("number"),
                format!(
                    "`{}` is not a mailbox number (1 to {MAX_MAILBOX_CHARS} of A-Z a-z 0-9 _ -)",
                    mailbox.number
                ),
            ));
        } else if !numbers.insert(mailbox.number.as_str()) {
            problems.push(ConfigError::invalid(
                key("number"),
                format!("mailbox `{}` is configured twice", mailbox.number),
            ));
        }
        let pin = &mailbox.pin;
        if pin.is_empty() || pin.len() > MAX_PIN_DIGITS || !pin.chars().all(|c| c.is_ascii_digit())
        {
            problems.push(ConfigError::invalid(
                key("pin"),
                format!("must be 1 to {MAX_PIN_DIGITS} digits 0-9"),
            ));
        }
        if let Some(owner) = &mailbox.owner {
            if !users.iter().any(|u| &u.name == owner) {
                problems.push(ConfigError::invalid(
                    key("owner"),
                    format!("`{owner}` is not one of the [[users]]"),
                ));
            } else if !owners.insert(owner.as_str()) {
                problems.push(ConfigError::invalid(
                    key("owner"),
                    format!("user `{owner}` already owns a mailbox"),
                ));
            }
        }
        if let Some(greeting) = &mailbox.greeting {
            if !greeting.is_file() {
                problems.push(ConfigError::invalid(
                    key("greeting"),
                    format!("{} is not a readable file", greeting.display()),
                ));
            }
        }
        if !(1..=100_000).contains(&mailbox.max_messages) && !failed.contains(&key("max_messages"))
        {
            problems.push(ConfigError::invalid(
                key("max_messages"),
                format!("{} must be from 1 to 100000", mailbox.max_messages),
            ));
        }
        if !(1..=3600).contains(&mailbox.max_message_s) && !failed.contains(&key("max_message_s")) {
            problems.push(ConfigError::invalid(
                key("max_message_s"),
                format!("{} must be from 1 to 3600 seconds", mailbox.max_message_s),
            ));
        }
    }
    if !(1..=20).contains(&voicemail.pin_attempts) && !failed.contains("voicemail.pin_attempts") {
        problems.push(ConfigError::invalid(
            "voicemail.pin_attempts",
            format!("{} must be from 1 to 20", voicemail.pin_attempts),
        ));
    }
    if voicemail.min_message_ms > 60_000 && !failed.contains("voicemail.min_message_ms") {
        problems.push(ConfigError::invalid(
            "voicemail.min_message_ms",
            format!("{} must be at most 60000", voicemail.min_message_ms),
        ));
    }
    if !(60..=86_400).contains(&voicemail.max_subscription_s)
        && !failed.contains("voicemail.max_subscription_s")
    {
        problems.push(ConfigError::invalid(
            "voicemail.max_subscription_s",
            format!("{} must be from 60 to 86400", voicemail.max_subscription_s),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn load(body: &str) -> Result<Config, crate::config::ConfigErrors> {
        let prompts = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts");
        Config::from_toml_str(&format!("[prompts]\ndir = {prompts:?}\n{body}"), "t.toml")
    }

    #[test]
    fn mailboxes_are_read_with_defaults() {
        let config = load(
            "[[users]]\nname = \"alice\"\npassword = \"pw\"\n\
             [[mailboxes]]\nnumber = \"1001\"\npin = \"4321\"\nowner = \"alice\"\n\
             [voicemail]\nsilence_timeout_s = 7\n",
        )
        .unwrap();
        let mailbox = &config.mailboxes[0];
        assert_eq!(mailbox.number, "1001");
        assert_eq!(mailbox.owner.as_deref(), Some("alice"));
        assert_eq!((mailbox.max_messages, mailbox.max_message_s), (100, 180));
        assert_eq!(config.voicemail.silence_timeout_s, 7);
        assert_eq!(config.voicemail.pin_attempts, 3);
    }

    #[test]
    fn every_mailbox_problem_is_named() {
        let errors = load(
            "[[mailboxes]]\nnumber = \"../etc\"\npin = \"12a\"\n\
             [[mailboxes]]\nnumber = \"7\"\npin = \"1\"\nowner = \"nobody\"\nmax_messages = 0\n\
             [[mailboxes]]\nnumber = \"7\"\npin = \"1\"\ngreeting = \"/no/such.wav\"\n\
             [[mailboxes]]\npin = \"1\"\n\
             [voicemail]\npin_attempts = 0\n",
        )
        .unwrap_err();
        let mut keys = errors.keys();
        keys.sort();
        assert_eq!(
            keys,
            [
                Some("mailboxes[0].number"),
                Some("mailboxes[0].pin"),
                Some("mailboxes[1].max_messages"),
                Some("mailboxes[1].owner"),
                Some("mailboxes[2].greeting"),
                Some("mailboxes[2].number"),
                Some("mailboxes[3].number"),
                Some("voicemail.pin_attempts"),
            ]
        );
    }
}
