//! Settings of the user agent and of the INVITEs it sends.

use std::time::Duration;

/// Default T1, the round-trip estimate (RFC 3261 §17.1.1.1).
pub const DEFAULT_T1: Duration = Duration::from_millis(500);
/// Default T2, the non-INVITE retransmission cap (RFC 3261 §17.1.2.2).
pub const DEFAULT_T2: Duration = Duration::from_secs(4);
/// Timer B: how long an INVITE waits for a final response (64·T1).
pub const TIMER_B: Duration = Duration::from_secs(32);

/// User agent settings.
#[derive(Clone, Debug)]
pub struct UaConfig {
    /// User part of From and Contact.
    pub user: String,
    pub t1: Duration,
    pub t2: Duration,
}

impl Default for UaConfig {
    fn default() -> Self {
        UaConfig {
            user: "loadgen".to_string(),
            t1: DEFAULT_T1,
            t2: DEFAULT_T2,
        }
    }
}

/// How an INVITE is sent.
#[derive(Clone, Debug)]
pub struct InviteOptions {
    /// ACK final responses (turn off to make the server run Timer G/H).
    pub send_ack: bool,
    /// Extra header lines, e.g. "Subject: test".
    pub extra_headers: Vec<String>,
    /// How long [`TestUserAgent::invite_with`] waits for the final response.
    pub final_timeout: Duration,
    /// SDP for the ACK of the 2xx: the answer to the server's offer when
    /// the INVITE carried none (a delayed offer, RFC 3261 §13.2.1).
    pub ack_sdp: Option<String>,
}

impl Default for InviteOptions {
    fn default() -> Self {
        InviteOptions {
            send_ack: true,
            extra_headers: Vec::new(),
            final_timeout: TIMER_B,
            ack_sdp: None,
        }
    }
}
