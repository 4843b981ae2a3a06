//! What can go wrong when the transaction user drives the layer.

use thiserror::Error;

use super::TransactionKey;
use crate::sip::via::ViaError;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TransactionError {
    #[error("no transaction {0}")]
    UnknownTransaction(TransactionKey),
    #[error("transaction {0} already exists")]
    DuplicateTransaction(TransactionKey),
    #[error("top Via: {0}")]
    Via(#[from] ViaError),
    #[error("top Via branch lacks the RFC 3261 magic cookie")]
    MissingBranch,
    #[error("missing or malformed {0} header")]
    BadHeader(&'static str),
    #[error("{0} is sent outside any transaction")]
    NotATransaction(String),
    #[error("status {0} is not a valid response code")]
    InvalidStatus(u16),
    #[error("cannot send a {status} response in state {state}")]
    ResponseNotAllowed { status: u16, state: &'static str },
}
