//! Errors of the test user agent.

use super::message::ReceivedMessage;
use crate::loadgen::simple_sdp::SdpError;

#[derive(Debug, thiserror::Error)]
pub enum UaError {
    #[error("SIP transport error: {0}")]
    Io(#[from] std::io::Error),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("call rejected: {status} {reason}")]
    Rejected {
        status: u16,
        reason: String,
        response: Box<ReceivedMessage>,
    },
    #[error("got a {status} while waiting for {waiting_for}")]
    UnexpectedResponse {
        status: u16,
        waiting_for: &'static str,
    },
    #[error("invalid call state for {0}")]
    InvalidState(&'static str),
    #[error("the SIP transport is closed")]
    Closed,
    #[error("invalid target URI: {0}")]
    InvalidTarget(String),
    #[error("bad SDP answer: {0}")]
    Sdp(#[from] SdpError),
}
