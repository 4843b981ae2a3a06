//! The `application/simple-message-summary` body (RFC 3842 §5): whether
//! messages wait, the account they wait in, and per-class counts.

use std::fmt::Write as _;

/// The event package name (RFC 3842 §3.1).
pub const EVENT_PACKAGE: &str = "message-summary";
/// The body's media type (RFC 3842 §3.5, §5).
pub const CONTENT_TYPE: &str = "application/simple-message-summary";

/// Counts of one message-context class (RFC 3842 §5.2: `new/old`, and
/// `(new-urgent/old-urgent)` when given).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageCounts {
    pub new: u32,
    pub old: u32,
    pub urgent: Option<(u32, u32)>,
}

/// A parsed or to-be-sent message summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageSummary {
    /// `Messages-Waiting: yes|no`.
    pub waiting: bool,
    /// `Message-Account`: the URI of the mailbox.
    pub account: Option<String>,
    /// Summary lines by message-context class, as written
    /// (`Voice-Message`, `Fax-Message`, ...), in order.
    pub classes: Vec<(String, MessageCounts)>,
}

/// Why a body is not a message summary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    #[error("body does not start with Messages-Waiting")]
    MissingStatus,
    #[error("Messages-Waiting is neither yes nor no")]
    BadStatus,
    #[error("malformed summary line: {0}")]
    BadLine(String),
    #[error("body is not UTF-8")]
    NotText,
}

/// The classes of RFC 3842 §5.2 (from RFC 3458 message contexts).
const CLASSES: [&str; 6] = [
    "voice-message",
    "fax-message",
    "pager-message",
    "multimedia-message",
    "text-message",
    "none",
];

impl MessageSummary {
    /// A voice mailbox's summary: waiting when there are new messages
    /// (RFC 3842 §5.2: the status line tells of new messages).
    pub fn voice(account: Option<String>, new: u32, old: u32) -> Self {
        MessageSummary {
            waiting: new > 0,
            account,
            classes: vec![(
                "Voice-Message".to_string(),
                MessageCounts {
                    new,
                    old,
                    urgent: None,
                },
            )],
        }
    }

    /// The counts of a class, named case-insensitively.
    pub fn counts(&self, class: &str) -> Option<MessageCounts> {
        self.classes
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(class))
            .map(|(_, counts)| *counts)
    }

    /// The body text, lines ended by CRLF (RFC 3842 §5.2 grammar order:
    /// status, account, summary lines).
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "Messages-Waiting: {}\r\n",
            if self.waiting { "yes" } else { "no" }
        );
        if let Some(account) = &self.account {
            let _ = write!(body, "Message-Account: {account}\r\n");
        }
        for (class, c) in &self.classes {
            let _ = write!(body, "{class}: {}/{}", c.new, c.old);
            if let Some((new, old)) = c.urgent {
                let _ = write!(body, " ({new}/{old})");
            }
            body.push_str("\r\n");
        }
        body
    }

    /// Reads a body (RFC 3842 §5.2). Header names are case-insensitive;
    /// lines of unknown names and everything after a blank line
    /// (the optional message headers) are skipped.
    pub fn parse(body: &[u8]) -> Result<Self, SummaryError> {
        let text = std::str::from_utf8(body).map_err(|_| SummaryError::NotText)?;
        let mut lines = text
            .split('\n')
            .map(|l| l.trim_end_matches('\r'))
            .take_while(|l| !l.trim().is_empty());
        let status = lines.next().ok_or(SummaryError::MissingStatus)?;
        let (name, value) = status.split_once(':').ok_or(SummaryError::MissingStatus)?;
        if !name.trim().eq_ignore_ascii_case("Messages-Waiting") {
            return Err(SummaryError::MissingStatus);
        }
        let waiting = match value.trim().to_ascii_lowercase().as_str() {
            "yes" => true,
            "no" => false,
            _ => return Err(SummaryError::BadStatus),
        };
        let mut summary = MessageSummary {
            waiting,
            account: None,
            classes: Vec::new(),
        };
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                return Err(SummaryError::BadLine(line.to_string()));
            };
            let name = name.trim();
            if name.eq_ignore_ascii_case("Message-Account") {
                summary.account = Some(value.trim().to_string());
            } else if CLASSES.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                let counts =
                    parse_counts(value).ok_or_else(|| SummaryError::BadLine(line.to_string()))?;
                summary.classes.push((name.to_string(), counts));
            }
        }
        Ok(summary)
    }
}

/// `new/old [(new-urgent/old-urgent)]`.
fn parse_counts(value: &str) -> Option<MessageCounts> {
    let (plain, urgent) = match value.split_once('(') {
        Some((plain, rest)) => (plain, Some(rest.trim().strip_suffix(')')?)),
        None => (value, None),
    };
    let pair = |text: &str| -> Option<(u32, u32)> {
        let (a, b) = text.split_once('/')?;
        Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
    };
    let (new, old) = pair(plain)?;
    let urgent = match urgent {
        Some(text) => Some(pair(text)?),
        None => None,
    };
    Some(MessageCounts { new, old, urgent })
}
