//! Why an SDP body was refused.

use thiserror::Error;

/// How much of an offending line an error quotes: enough to recognise it,
/// not enough to flood a log or a reason phrase.
const QUOTE_CHARS: usize = 60;

/// A parse failure. Line numbers count from 1.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SdpError {
    #[error("SDP is empty")]
    Empty,
    #[error("SDP is {size} bytes, more than the {max} allowed")]
    TooLarge { size: usize, max: usize },
    #[error("line {line}: not valid UTF-8")]
    NotUtf8 { line: usize },
    #[error("line {line}: more than {max} m-lines")]
    TooManyMedia { line: usize, max: usize },
    #[error("missing {0} line")]
    MissingLine(&'static str),
    #[error("line {line} {quote}: {reason}")]
    Malformed {
        line: usize,
        /// The start of the line, quoted and escaped.
        quote: String,
        reason: String,
    },
}

impl SdpError {
    pub(crate) fn malformed(line: usize, text: &str, reason: impl Into<String>) -> Self {
        SdpError::Malformed {
            line,
            quote: quote(text, QUOTE_CHARS),
            reason: reason.into(),
        }
    }

    /// The 1-based line the error is about, if it is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            SdpError::NotUtf8 { line }
            | SdpError::TooManyMedia { line, .. }
            | SdpError::Malformed { line, .. } => Some(*line),
            SdpError::Empty | SdpError::TooLarge { .. } | SdpError::MissingLine(_) => None,
        }
    }
}

/// `text` quoted and escaped (so control characters show as escapes), cut
/// to `max_chars` characters.
pub(crate) fn quote(text: &str, max_chars: usize) -> String {
    let shown: String = text.chars().take(max_chars).collect();
    if shown.len() < text.len() {
        format!("{shown:?}...")
    } else {
        format!("{shown:?}")
    }
}
