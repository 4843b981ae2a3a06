//! Building responses to requests (RFC 3261 §8.2.6).

use rsip::headers::{ContentLength, Header, Headers};
use rsip::prelude::*;
use rsip::{Request, Response, StatusCode};

/// Builds a response: Via (all, in order), From, To (with `to_tag` added when
/// it has none and the response is not 100), Call-ID and CSeq copied.
/// `reason` overrides the standard reason phrase (400 and 488 say why).
pub fn build_response(
    request: &Request,
    code: u16,
    reason: Option<&str>,
    to_tag: Option<&str>,
    extra: Vec<Header>,
    body: Option<(&str, Vec<u8>)>,
) -> Response {
    let mut headers = Headers::default();
    for header in request.headers.iter() {
        match header {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                headers.push(header.clone())
            }
            Header::To(to) => {
                let mut value = to.value().to_string();
                if let Some(tag) = to_tag.filter(|_| code != 100) {
                    if !value.contains(";tag=") {
                        value.push_str(";tag=");
                        value.push_str(tag);
                    }
                }
                headers.push(Header::To(value.into()));
            }
            _ => {}
        }
    }
    for header in extra {
        headers.push(header);
    }
    let body = match body {
        Some((content_type, bytes)) => {
            headers.push(Header::ContentType(content_type.into()));
            bytes
        }
        None => Vec::new(),
    };
    headers.push(Header::ContentLength(
        ContentLength::from(body.len() as u32),
    ));
    let status_code = match reason {
        Some(reason) => StatusCode::Other(code, sanitize_reason(reason)),
        None => StatusCode::from(code),
    };
    Response {
        status_code,
        version: rsip::Version::V2,
        headers,
        body,
    }
}

/// A reason phrase is a single line of text.
fn sanitize_reason(reason: &str) -> String {
    reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect()
}
