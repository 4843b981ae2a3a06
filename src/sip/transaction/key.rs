//! Transaction identity: how requests and responses find their transaction
//! (RFC 3261 §17.1.3, §17.2.3), and branch generation.

use std::fmt;

use rand::distr::{Alphanumeric, SampleString};

use super::header_fields;
use super::TransactionError;
use crate::sip::via::TopVia;

/// The branch prefix marking an RFC 3261 globally unique branch (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// Which side of the exchange a transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionRole {
    Client,
    Server,
}

/// Identifies one transaction.
///
/// Server keys are branch + sent-by + method (§17.2.3), client keys branch +
/// CSeq method (§17.1.3); ACK counts as INVITE so that it finds the INVITE's
/// transaction, while CANCEL keeps its own method and so its own transaction.
///
/// A request whose branch lacks the magic cookie (RFC 2543 peers) is keyed by
/// the RFC 2543 rule instead (§17.2.3): Request-URI, From tag, Call-ID, CSeq
/// number and the top Via (transport, sent-by, branch). The To tag is left out so that the ACK of a
/// non-2xx response, whose To carries the tag this side added, still matches
/// its INVITE.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TransactionKey {
    role: TransactionRole,
    branch: String,
    sent_by: String,
    method: String,
}

impl TransactionKey {
    /// The server transaction a received request belongs to.
    pub fn for_server_request(request: &rsip::Request) -> Result<Self, TransactionError> {
        let method = match request.method {
            rsip::Method::Ack => rsip::Method::Invite,
            method => method,
        };
        Self::server_key(request, method)
    }

    /// The INVITE server transaction a CANCEL refers to: the CANCEL's key
    /// with method INVITE (RFC 3261 §9.2).
    pub fn for_cancelled_invite(cancel: &rsip::Request) -> Result<Self, TransactionError> {
        Self::server_key(cancel, rsip::Method::Invite)
    }

    /// The client transaction of a request about to be sent; its top Via must
    /// carry an RFC 3261 branch.
    pub fn for_client_request(request: &rsip::Request) -> Result<Self, TransactionError> {
        let via = TopVia::from_headers(&request.headers)?;
        let branch = via
            .branch()
            .filter(|branch| has_magic_cookie(branch))
            .ok_or(TransactionError::MissingBranch)?;
        Ok(TransactionKey {
            role: TransactionRole::Client,
            branch: branch.to_owned(),
            sent_by: String::new(),
            method: request.method.to_string(),
        })
    }

    /// The client transaction a received response belongs to (§17.1.3).
    pub fn for_client_response(response: &rsip::Response) -> Result<Self, TransactionError> {
        let via = TopVia::from_headers(&response.headers)?;
        let branch = via.branch().ok_or(TransactionError::MissingBranch)?;
        let cseq = header_fields::cseq(&response.headers)?;
        Ok(TransactionKey {
            role: TransactionRole::Client,
            branch: branch.to_owned(),
            sent_by: String::new(),
            method: cseq.method,
        })
    }

    pub fn role(&self) -> TransactionRole {
        self.role
    }

    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The method the transaction was created for (INVITE for its ACK).
    pub fn method(&self) -> &str {
        &self.method
    }

    pub fn is_invite(&self) -> bool {
        self.method == "INVITE"
    }

    fn server_key(request: &rsip::Request, method: rsip::Method) -> Result<Self, TransactionError> {
        let via = TopVia::from_headers(&request.headers)?;
        let branch = match via.branch() {
            Some(branch) if has_magic_cookie(branch) => branch.to_owned(),
            _ => rfc2543_identity(request, &via)?,
        };
        Ok(TransactionKey {
            role: TransactionRole::Server,
            branch,
            sent_by: via.sent_by(),
            method: method.to_string(),
        })
    }
}

impl fmt::Display for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.role {
            TransactionRole::Client => "client",
            TransactionRole::Server => "server",
        };
        write!(f, "{} {} {}", role, self.method, self.branch)?;
        if !self.sent_by.is_empty() {
            write!(f, " from {}", self.sent_by)?;
        }
        Ok(())
    }
}

pub fn has_magic_cookie(branch: &str) -> bool {
    branch.starts_with(MAGIC_COOKIE)
}

/// A fresh RFC 3261 branch: the magic cookie and 16 random alphanumerics
/// (about 95 bits), unique across space and time as §8.1.1.7 asks.
pub fn new_branch() -> String {
    let mut branch = String::from(MAGIC_COOKIE);
    Alphanumeric.append_string(&mut rand::rng(), &mut branch, 16);
    branch
}

/// The RFC 2543 matching fields folded into one string (§17.2.3).
fn rfc2543_identity(request: &rsip::Request, via: &TopVia) -> Result<String, TransactionError> {
    let cseq = header_fields::cseq(&request.headers)?;
    // The Via by transport, sent-by and branch only: `received`/`rport`
    // stamped on receipt must not change the identity.
    Ok(format!(
        "rfc2543|{}|{}|{}|{}|{} {} {}",
        request.uri,
        header_fields::call_id(&request.headers)?,
        header_fields::from_tag(&request.headers)?.unwrap_or_default(),
        cseq.seq,
        via.transport,
        via.sent_by(),
        via.branch().unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transaction::test_messages::{request, response_to};
    use rsip::headers::UntypedHeader;

    #[test]
    fn ack_and_invite_share_a_server_key_cancel_does_not() {
        let invite = request("INVITE", "z9hG4bKabc", 1);
        let ack = request("ACK", "z9hG4bKabc", 1);
        let cancel = request("CANCEL", "z9hG4bKabc", 1);
        let invite_key = TransactionKey::for_server_request(&invite).unwrap();
        assert_eq!(
            TransactionKey::for_server_request(&ack).unwrap(),
            invite_key
        );
        let cancel_key = TransactionKey::for_server_request(&cancel).unwrap();
        assert_ne!(cancel_key, invite_key);
        assert_eq!(cancel_key.method(), "CANCEL");
        assert_eq!(
            TransactionKey::for_cancelled_invite(&cancel).unwrap(),
            invite_key
        );
    }

    #[test]
    fn server_key_depends_on_branch_and_sent_by() {
        let first = request("BYE", "z9hG4bKabc", 2);
        let other_branch = request("BYE", "z9hG4bKabd", 2);
        let mut other_host = first.clone();
        for header in other_host.headers.iter_mut() {
            if let rsip::Header::Via(via) = header {
                *via = rsip::headers::Via::new("SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKabc");
            }
        }
        let key = TransactionKey::for_server_request(&first).unwrap();
        assert_ne!(
            TransactionKey::for_server_request(&other_branch).unwrap(),
            key
        );
        assert_ne!(
            TransactionKey::for_server_request(&other_host).unwrap(),
            key
        );
    }

    #[test]
    fn client_response_matches_client_request() {
        let invite = request("INVITE", "z9hG4bKcli", 7);
        let key = TransactionKey::for_client_request(&invite).unwrap();
        let ok = response_to(&invite, 200, Some("totag"));
        assert_eq!(TransactionKey::for_client_response(&ok).unwrap(), key);
        assert_eq!(key.role(), TransactionRole::Client);
        assert_ne!(TransactionKey::for_server_request(&invite).unwrap(), key);
    }

    #[test]
    fn client_request_needs_an_rfc3261_branch() {
        let old = request("OPTIONS", "1234", 1);
        assert_eq!(
            TransactionKey::for_client_request(&old),
            Err(TransactionError::MissingBranch)
        );
    }

    #[test]
    fn rfc2543_requests_match_by_the_old_rule() {
        let invite = request("INVITE", "oldbranch", 5);
        let ack = request("ACK", "oldbranch", 5);
        let next = request("INVITE", "oldbranch", 6);
        let key = TransactionKey::for_server_request(&invite).unwrap();
        assert_eq!(TransactionKey::for_server_request(&ack).unwrap(), key);
        assert_ne!(TransactionKey::for_server_request(&next).unwrap(), key);
    }

    #[test]
    fn new_branches_carry_the_cookie_and_differ() {
        let first = new_branch();
        assert!(has_magic_cookie(&first));
        assert_eq!(first.len(), MAGIC_COOKIE.len() + 16);
        assert_ne!(first, new_branch());
    }
}
