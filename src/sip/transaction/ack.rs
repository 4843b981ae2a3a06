//! ACK handling: the ACK an INVITE client transaction builds for a non-2xx
//! final response, and how an ACK for a 2xx (a new transaction) is tied back
//! to the INVITE server transaction retransmitting that 2xx.

use rsip::headers::UntypedHeader;
use rsip::Header;

use super::header_fields;
use super::TransactionError;
use crate::sip::via::TopVia;

/// The ACK for a 300–699 response to `invite` (RFC 3261 §17.1.1.3): the
/// INVITE's Request-URI, Call-ID, From, CSeq number, top Via and Route set,
/// the response's To (it carries the tag), CSeq method ACK, no body.
pub fn build_non_2xx_ack(
    invite: &rsip::Request,
    response: &rsip::Response,
) -> Result<rsip::Request, TransactionError> {
    let top_via = TopVia::from_headers(&invite.headers)?;
    let cseq = header_fields::cseq(&invite.headers)?;
    let to = response
        .headers
        .iter()
        .find(|header| matches!(header, Header::To(_)))
        .cloned()
        .ok_or(TransactionError::BadHeader("To"))?;

    let mut headers = vec![Header::Via(rsip::headers::Via::new(top_via.to_string()))];
    headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new("70")));
    for header in invite.headers.iter() {
        match header {
            Header::From(_) | Header::CallId(_) | Header::Route(_) => headers.push(header.clone()),
            _ => {}
        }
    }
    if !headers
        .iter()
        .any(|header| matches!(header, Header::From(_)))
    {
        return Err(TransactionError::BadHeader("From"));
    }
    if !headers
        .iter()
        .any(|header| matches!(header, Header::CallId(_)))
    {
        return Err(TransactionError::BadHeader("Call-ID"));
    }
    headers.push(to);
    headers.push(Header::CSeq(rsip::headers::CSeq::new(format!(
        "{} ACK",
        cseq.seq
    ))));
    headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
        "0",
    )));

    Ok(rsip::Request {
        method: rsip::Method::Ack,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    })
}

/// What ties an ACK for a 2xx to the INVITE it acknowledges: the dialog
/// (Call-ID and both tags) and the CSeq number (RFC 3261 §13.2.2.4, §12.2.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AckMatch {
    call_id: String,
    cseq: u32,
    from_tag: Option<String>,
    to_tag: Option<String>,
}

impl AckMatch {
    /// From the 2xx this side sends; the ACK will echo its To tag.
    pub fn from_response(response: &rsip::Response) -> Result<Self, TransactionError> {
        Self::from_headers(&response.headers)
    }

    pub fn from_ack(ack: &rsip::Request) -> Result<Self, TransactionError> {
        Self::from_headers(&ack.headers)
    }

    fn from_headers(headers: &rsip::Headers) -> Result<Self, TransactionError> {
        Ok(AckMatch {
            call_id: header_fields::call_id(headers)?.to_owned(),
            cseq: header_fields::cseq(headers)?.seq,
            from_tag: header_fields::from_tag(headers)?.map(str::to_owned),
            to_tag: header_fields::to_tag(headers)?.map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transaction::test_messages::{ack_for_2xx, request, response_to};
    use rsip::prelude::HeadersExt;

    #[test]
    fn non_2xx_ack_follows_rfc3261_17_1_1_3() {
        let invite = request("INVITE", "z9hG4bKinv", 41);
        let busy = response_to(&invite, 486, Some("remote"));
        let ack = build_non_2xx_ack(&invite, &busy).unwrap();

        assert_eq!(ack.method, rsip::Method::Ack);
        assert_eq!(ack.uri, invite.uri);
        assert_eq!(
            ack.via_header().unwrap().value(),
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv"
        );
        assert_eq!(ack.cseq_header().unwrap().value(), "41 ACK");
        assert_eq!(ack.from_header().unwrap(), invite.from_header().unwrap());
        assert_eq!(
            ack.call_id_header().unwrap(),
            invite.call_id_header().unwrap()
        );
        assert_eq!(
            ack.to_header().unwrap().value(),
            "<sip:service@192.0.2.10>;tag=remote"
        );
        assert_eq!(
            ack.route_header().unwrap().value(),
            "<sip:proxy.example.com;lr>"
        );
        assert!(ack.body.is_empty());
        // It survives a round trip through the wire format.
        let text = ack.to_string();
        assert!(text.contains("Content-Length: 0"));
        assert_eq!(rsip::Request::try_from(text.as_str()).unwrap(), ack);
    }

    #[test]
    fn non_2xx_ack_needs_the_response_to() {
        let invite = request("INVITE", "z9hG4bKinv", 41);
        let mut busy = response_to(&invite, 486, Some("remote"));
        busy.headers
            .retain(|header| !matches!(header, Header::To(_)));
        assert_eq!(
            build_non_2xx_ack(&invite, &busy),
            Err(TransactionError::BadHeader("To"))
        );
    }

    #[test]
    fn ack_for_2xx_matches_by_dialog_and_cseq() {
        let invite = request("INVITE", "z9hG4bKinv", 3);
        let ok = response_to(&invite, 200, Some("uas"));
        let expected = AckMatch::from_response(&ok).unwrap();
        let ack = ack_for_2xx(&invite, "uas", "z9hG4bKack");
        assert_eq!(AckMatch::from_ack(&ack).unwrap(), expected);
        let other_dialog = ack_for_2xx(&invite, "other", "z9hG4bKack");
        assert_ne!(AckMatch::from_ack(&other_dialog).unwrap(), expected);
        let later = ack_for_2xx(&request("INVITE", "z9hG4bKre", 4), "uas", "z9hG4bKack2");
        assert_ne!(AckMatch::from_ack(&later).unwrap(), expected);
    }
}
