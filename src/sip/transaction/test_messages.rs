//! SIP messages for the transaction tests.

use rsip::headers::UntypedHeader;
use rsip::Header;

/// A request from 192.0.2.1 with the given top Via branch and CSeq number.
pub fn request(method: &str, branch: &str, seq: u32) -> rsip::Request {
    let to_tag = if method == "BYE" { ";tag=callee" } else { "" };
    let text = format!(
        "{method} sip:service@192.0.2.10 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         Route: <sip:proxy.example.com;lr>\r\n\
         From: \"Alice\" <sip:alice@example.com>;tag=caller\r\n\
         To: <sip:service@192.0.2.10>{to_tag}\r\n\
         Call-ID: call-1@192.0.2.1\r\n\
         CSeq: {seq} {method}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    rsip::Request::try_from(text.as_str()).unwrap()
}

/// A response to `request` as a UAS builds it: Via, From, To (with the tag),
/// Call-ID and CSeq copied (RFC 3261 §8.2.6.2).
pub fn response_to(request: &rsip::Request, status: u16, to_tag: Option<&str>) -> rsip::Response {
    let mut headers = Vec::new();
    for header in request.headers.iter() {
        match header {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                headers.push(header.clone())
            }
            Header::To(to) => {
                let value = match to_tag {
                    Some(tag) if !to.value().contains(";tag=") => {
                        format!("{};tag={}", to.value(), tag)
                    }
                    _ => to.value().to_owned(),
                };
                headers.push(Header::To(rsip::headers::To::new(value)));
            }
            _ => {}
        }
    }
    headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
        "0",
    )));
    rsip::Response {
        status_code: status.into(),
        version: rsip::Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    }
}

/// The ACK a UAC sends for a 2xx: a new transaction, so a new branch
/// (RFC 3261 §13.2.2.4), with the To tag of the 2xx.
pub fn ack_for_2xx(invite: &rsip::Request, to_tag: &str, branch: &str) -> rsip::Request {
    let seq = crate::sip::transaction::header_fields::cseq(&invite.headers)
        .unwrap()
        .seq;
    let mut ack = request("ACK", branch, seq);
    for header in ack.headers.iter_mut() {
        if let Header::To(to) = header {
            *to = rsip::headers::To::new(format!("<sip:service@192.0.2.10>;tag={to_tag}"));
        }
    }
    ack
}
