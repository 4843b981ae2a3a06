//! What the registrar reads from a REGISTER: the address of record, the
//! Call-ID and CSeq that order updates, the contacts and the expiry each
//! asks for (RFC 3261 §10.2, §10.3).

use rsip::headers::UntypedHeader;
use rsip::{Header, Request};

use crate::sip::dialog::{angle_uri, split_list};

/// Largest expiry a REGISTER can express; longer ones read as this
/// (RFC 3261 §20.19: delta-seconds over 2^32-1 are taken as 2^32-1).
const EXPIRES_CEILING: u64 = u32::MAX as u64;

/// One Contact of a REGISTER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedContact {
    pub uri: String,
    /// Its `expires` parameter, if any.
    pub expires: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestedContacts {
    None,
    Wildcard,
    List(Vec<RequestedContact>),
}

/// The parts of a REGISTER the registrar acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterRequest {
    /// User part of the To URI: the address of record (§10.3 step 5).
    pub user: String,
    pub call_id: String,
    pub cseq: u32,
    /// The Expires header, if any.
    pub expires: Option<u64>,
    pub contacts: RequestedContacts,
    /// Every Authorization value, in order.
    pub authorizations: Vec<String>,
}

/// Why a REGISTER cannot be processed: the reason phrase of its 400.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("To has no user part")]
    NoUser,
    #[error("Missing or malformed {0}")]
    Header(&'static str),
    #[error("Malformed Contact: {0}")]
    Contact(String),
    #[error("Malformed expires in Contact {0}")]
    ContactExpires(String),
    #[error("Malformed Expires")]
    Expires,
    // RFC 3261 §10.3 step 6.
    #[error("Contact * must be alone and with Expires: 0")]
    Wildcard,
}

impl RegisterRequest {
    pub fn parse(request: &Request) -> Result<RegisterRequest, RequestError> {
        let mut to = None;
        let mut call_id = None;
        let mut cseq = None;
        let mut expires_values = Vec::new();
        let mut contact_values = Vec::new();
        let mut authorizations = Vec::new();
        for header in request.headers.iter() {
            match header {
                Header::To(h) => to = Some(h.value().to_string()),
                Header::CallId(h) => call_id = Some(h.value().trim().to_string()),
                Header::CSeq(h) => cseq = h.value().split_whitespace().next().map(str::to_string),
                Header::Expires(h) => expires_values.push(h.value().to_string()),
                Header::Contact(h) => contact_values.push(h.value().to_string()),
                Header::Authorization(h) => authorizations.push(h.value().to_string()),
                _ => {}
            }
        }
        let to = to.ok_or(RequestError::Header("To"))?;
        let user = uri_user(&angle_uri(&to).ok_or(RequestError::Header("To"))?)
            .ok_or(RequestError::NoUser)?;
        let call_id = call_id
            .filter(|c| !c.is_empty())
            .ok_or(RequestError::Header("Call-ID"))?;
        let cseq = cseq
            .and_then(|c| c.parse().ok())
            .ok_or(RequestError::Header("CSeq"))?;
        let expires = match expires_values.as_slice() {
            [] => None,
            [one] => Some(delta_seconds(one).ok_or(RequestError::Expires)?),
            _ => return Err(RequestError::Expires),
        };
        let entries: Vec<String> = contact_values.iter().flat_map(|v| split_list(v)).collect();
        let contacts = if entries.is_empty() {
            RequestedContacts::None
        } else if entries.iter().any(|e| e == "*") {
            if entries.len() != 1 || expires != Some(0) {
                return Err(RequestError::Wildcard);
            }
            RequestedContacts::Wildcard
        } else {
            let mut list: Vec<RequestedContact> = Vec::with_capacity(entries.len());
            for entry in &entries {
                let contact = parse_contact(entry)?;
                // The same URI twice: the later one wins, as if sent alone.
                list.retain(|c| c.uri != contact.uri);
                list.push(contact);
            }
            RequestedContacts::List(list)
        };
        Ok(RegisterRequest {
            user,
            call_id,
            cseq,
            expires,
            contacts,
            authorizations,
        })
    }
}

/// The user part of a SIP URI (`sip:user:password@host` gives `user`).
fn uri_user(uri: &str) -> Option<String> {
    let rest = uri.split_once(':')?.1;
    let (userinfo, _) = rest.rsplit_once('@')?;
    let user = userinfo.split(':').next()?;
    (!user.is_empty()).then(|| user.to_string())
}

/// One Contact entry: `<uri>;params`, or a bare URI whose parameters are
/// then the header's (RFC 3261 §20.10).
fn parse_contact(entry: &str) -> Result<RequestedContact, RequestError> {
    let short = || entry.chars().take(60).collect::<String>();
    let uri = angle_uri(entry).ok_or_else(|| RequestError::Contact(short()))?;
    if !(uri.starts_with("sip:") || uri.starts_with("sips:"))
        || uri.contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
    {
        return Err(RequestError::Contact(short()));
    }
    let params = match entry.rfind('>') {
        Some(end) => &entry[end + 1..],
        None => entry.split_once(';').map_or("", |(_, p)| p),
    };
    let mut expires = None;
    for param in params.split(';') {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("expires") {
            expires = Some(
                delta_seconds(value).ok_or_else(|| RequestError::ContactExpires(uri.clone()))?,
            );
        }
    }
    let uri = match entry.rfind('>') {
        Some(_) => uri,
        // Without angle brackets the parameters were the header's.
        None => uri.split(';').next().unwrap_or(&uri).to_string(),
    };
    Ok(RequestedContact { uri, expires })
}

/// delta-seconds (RFC 3261 §25.1), saturating at 2^32-1.
fn delta_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<u64>().unwrap_or(u64::MAX).min(EXPIRES_CEILING))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(headers: &str) -> Request {
        let text = format!(
            "REGISTER sip:example.org SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1\r\n\
             From: <sip:alice@example.org>;tag=1\r\n\
             To: \"Alice\" <sip:alice@example.org>\r\n\
             Call-ID: cid-1\r\n\
             CSeq: 7 REGISTER\r\n\
             {headers}Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap()
    }

    #[test]
    fn reads_user_ordering_and_contacts() {
        let r = RegisterRequest::parse(&register(
            "Contact: <sip:alice@10.0.0.1:5062;transport=udp>;expires=120, <sip:alice@10.0.0.2>\r\n\
             Contact: sip:alice@10.0.0.3;expires=30\r\n\
             Expires: 600\r\n",
        ))
        .unwrap();
        assert_eq!(r.user, "alice");
        assert_eq!(r.call_id, "cid-1");
        assert_eq!(r.cseq, 7);
        assert_eq!(r.expires, Some(600));
        assert_eq!(
            r.contacts,
            RequestedContacts::List(vec![
                RequestedContact {
                    uri: "sip:alice@10.0.0.1:5062;transport=udp".into(),
                    expires: Some(120)
                },
                RequestedContact {
                    uri: "sip:alice@10.0.0.2".into(),
                    expires: None
                },
                RequestedContact {
                    uri: "sip:alice@10.0.0.3".into(),
                    expires: Some(30)
                },
            ])
        );
    }

    #[test]
    fn wildcard_and_query() {
        let r = RegisterRequest::parse(&register("Contact: *\r\nExpires: 0\r\n")).unwrap();
        assert_eq!(r.contacts, RequestedContacts::Wildcard);
        let q = RegisterRequest::parse(&register("")).unwrap();
        assert_eq!(q.contacts, RequestedContacts::None);
        assert_eq!(
            RegisterRequest::parse(&register("Contact: *\r\n")),
            Err(RequestError::Wildcard)
        );
        assert_eq!(
            RegisterRequest::parse(&register("Contact: *, <sip:a@b>\r\nExpires: 0\r\n")),
            Err(RequestError::Wildcard)
        );
    }

    #[test]
    fn bad_values_are_named() {
        assert_eq!(
            RegisterRequest::parse(&register("Expires: soon\r\n")),
            Err(RequestError::Expires)
        );
        assert_eq!(
            RegisterRequest::parse(&register("Contact: <sip:a@b>;expires=-1\r\n")),
            Err(RequestError::ContactExpires("sip:a@b".into()))
        );
        assert!(matches!(
            RegisterRequest::parse(&register("Contact: <mailto:a@b>\r\n")),
            Err(RequestError::Contact(_))
        ));
        // Huge values saturate instead of failing.
        let r = RegisterRequest::parse(&register("Expires: 99999999999999999999999\r\n")).unwrap();
        assert_eq!(r.expires, Some(u64::from(u32::MAX)));
        assert_eq!(uri_user("sip:example.org"), None);
        assert_eq!(uri_user("sip:bob:pw@h").as_deref(), Some("bob"));
    }
}
