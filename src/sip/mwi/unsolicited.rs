//! A NOTIFY outside any subscription, to a mailbox owner's registered
//! contact (RFC 3842 §3 leaves it to configuration).
//!
//! It carries no Subscription-State: there is no subscription whose state
//! it could describe, and phones that take unsolicited message-waiting
//! NOTIFYs (as servers commonly send them) read only Event and the body.

use rsip::Request;

use super::{CONTENT_TYPE, EVENT_PACKAGE};

/// The parts of an unsolicited NOTIFY.
pub struct UnsolicitedNotify<'a> {
    /// The registered contact: Request-URI.
    pub contact: &'a str,
    /// `sip:BOX@HOST`: the From (the mailbox tells the news).
    pub account: &'a str,
    /// `sip:OWNER@HOST`: the To.
    pub owner_uri: &'a str,
    pub from_tag: &'a str,
    pub call_id: &'a str,
    /// Via sent-by and transport token.
    pub via_host: &'a str,
    pub via_port: u16,
    pub transport: &'a str,
    pub branch: &'a str,
    /// Our Contact value, with angle brackets.
    pub our_contact: &'a str,
    pub user_agent: &'a str,
    pub body: &'a str,
}

/// Builds the NOTIFY, a request of its own (CSeq 1, a new Call-ID).
pub fn build_unsolicited_notify(n: &UnsolicitedNotify<'_>) -> Result<Request, String> {
    let mut text = format!(
        "NOTIFY {contact} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {host}:{port};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <{account}>;tag={tag}\r\n\
         To: <{owner}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 NOTIFY\r\n\
         Contact: {our_contact}\r\n\
         Event: {EVENT_PACKAGE}\r\n",
        contact = n.contact,
        transport = n.transport,
        host = n.via_host,
        port = n.via_port,
        branch = n.branch,
        account = n.account,
        tag = n.from_tag,
        owner = n.owner_uri,
        call_id = n.call_id,
        our_contact = n.our_contact,
    );
    if !n.user_agent.is_empty() {
        text.push_str(&format!("User-Agent: {}\r\n", n.user_agent));
    }
    text.push_str(&format!(
        "Content-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\n\r\n{}",
        n.body.len(),
        n.body
    ));
    Request::try_from(text.as_str()).map_err(|e| e.to_string())
}
