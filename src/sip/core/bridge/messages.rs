//! The requests a B2BUA sends on its outgoing leg before a dialog exists:
//! the forked INVITE and its CANCEL.

use rsip::prelude::*;
use rsip::Request;

/// Everything an outgoing INVITE is made of.
#[derive(Debug, Clone)]
pub struct OutgoingInvite<'a> {
    pub request_uri: &'a str,
    /// `To` URI: the target as dialled.
    pub to_uri: &'a str,
    /// `From`: the caller's identity (name-addr, without its tag).
    pub from: &'a str,
    pub from_tag: &'a str,
    pub call_id: &'a str,
    /// `UDP` or `TCP`.
    pub transport: &'a str,
    pub via_host: &'a str,
    pub via_port: u16,
    pub branch: &'a str,
    pub contact: &'a str,
    pub max_forwards: u32,
    pub user_agent: &'a str,
    pub allow: &'a str,
    pub sdp: &'a str,
}

/// Builds the INVITE of one fork (RFC 3261 §8.1.1, CSeq 1).
pub fn build_invite(invite: &OutgoingInvite<'_>) -> Result<Request, String> {
    let mut text = format!(
        "INVITE {ruri} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {host}:{port};branch={branch};rport\r\n\
         Max-Forwards: {mf}\r\n\
         From: {from};tag={tag}\r\n\
         To: <{to}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: {contact}\r\n\
         Allow: {allow}\r\n",
        ruri = invite.request_uri,
        transport = invite.transport,
        host = invite.via_host,
        port = invite.via_port,
        branch = invite.branch,
        mf = invite.max_forwards,
        from = invite.from,
        tag = invite.from_tag,
        to = invite.to_uri,
        call_id = invite.call_id,
        contact = invite.contact,
        allow = invite.allow,
    );
    if !invite.user_agent.is_empty() {
        text.push_str(&format!("User-Agent: {}\r\n", invite.user_agent));
    }
    text.push_str(&format!(
        "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{}",
        invite.sdp.len(),
        invite.sdp
    ));
    Request::try_from(text.as_str()).map_err(|e| e.to_string())
}

/// The CANCEL of `invite` (RFC 3261 §9.1): same Request-URI, Call-ID, To,
/// From and CSeq number, and only the INVITE's top Via, so it matches the
/// INVITE's transaction at the next hop.
pub fn build_cancel(invite: &Request) -> Result<Request, String> {
    let cseq = invite
        .cseq_header()
        .ok()
        .and_then(|c| c.seq().ok())
        .ok_or("INVITE without CSeq")?;
    let mut text = format!("CANCEL {} SIP/2.0\r\n", invite.uri);
    let mut via_done = false;
    for header in invite.headers.iter() {
        let keep = match header {
            rsip::Header::Via(_) if !via_done => {
                via_done = true;
                true
            }
            rsip::Header::From(_)
            | rsip::Header::To(_)
            | rsip::Header::CallId(_)
            | rsip::Header::MaxForwards(_)
            | rsip::Header::Route(_) => true,
            _ => false,
        };
        if keep {
            text.push_str(&format!("{header}\r\n"));
        }
    }
    text.push_str(&format!("CSeq: {cseq} CANCEL\r\nContent-Length: 0\r\n\r\n"));
    Request::try_from(text.as_str()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Request {
        build_invite(&OutgoingInvite {
            request_uri: "sip:bob@127.0.0.1:5070",
            to_uri: "sip:bob@127.0.0.1",
            from: "\"Alice\" <sip:alice@10.0.0.1>",
            from_tag: "t1",
            call_id: "c1@x",
            transport: "UDP",
            via_host: "127.0.0.1",
            via_port: 5060,
            branch: "z9hG4bKabc",
            contact: "<sip:127.0.0.1:5060>",
            max_forwards: 69,
            user_agent: "mediaplane",
            allow: "INVITE, ACK",
            sdp: "v=0\r\n",
        })
        .unwrap()
    }

    #[test]
    fn invite_carries_identity_offer_and_hop_count() {
        let text = invite().to_string();
        assert!(text.starts_with("INVITE sip:bob@127.0.0.1:5070 SIP/2.0\r\n"));
        assert!(text.contains("From: \"Alice\" <sip:alice@10.0.0.1>;tag=t1"));
        assert!(text.contains("Max-Forwards: 69"));
        assert!(text.contains("CSeq: 1 INVITE"));
        assert!(text.contains("Content-Length: 5"));
        assert!(text.ends_with("\r\n\r\nv=0\r\n"));
    }

    #[test]
    fn cancel_matches_the_invite_transaction() {
        let cancel = build_cancel(&invite()).unwrap();
        let text = cancel.to_string();
        assert!(text.starts_with("CANCEL sip:bob@127.0.0.1:5070 SIP/2.0\r\n"));
        assert!(text.contains("branch=z9hG4bKabc"));
        assert!(text.contains("CSeq: 1 CANCEL"));
        assert!(text.contains("Call-ID: c1@x"));
        assert!(text.contains(";tag=t1"));
        assert!(!text.contains("Contact:"));
        assert!(!text.contains("application/sdp"));
    }
}
