//! What can go wrong in the message store.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A mailbox or message name that could leave the store's folder.
    #[error("`{name}` is not a valid {what} name (1 to 32 of A-Z a-z 0-9 _ -)")]
    InvalidName { what: &'static str, name: String },
    #[error("no message {id} in mailbox {mailbox}")]
    NotFound { mailbox: String, id: String },
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

pub(super) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// A file the store could not use, left where it is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoreProblem {
    pub path: PathBuf,
    pub reason: String,
}

impl StoreProblem {
    pub(super) fn new(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        StoreProblem {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for StoreProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl From<StoreError> for StoreProblem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt { path, reason } => StoreProblem { path, reason },
            StoreError::Io { op, path, source } => StoreProblem {
                path,
                reason: format!("{op}: {source}"),
            },
            other => StoreProblem {
                path: PathBuf::new(),
                reason: other.to_string(),
            },
        }
    }
}
