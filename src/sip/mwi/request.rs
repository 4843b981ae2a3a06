//! What a SUBSCRIBE for message-summary asks (RFC 6665 §8.2.1 Event,
//! §4.1.2.1 Expires, Accept) and why one is refused before any
//! subscription is looked at.

use rsip::prelude::*;
use rsip::{Header, Request};

use super::{CONTENT_TYPE, EVENT_PACKAGE};

/// The `Allow-Events` value (RFC 6665 §8.2.2): the packages we notify.
pub const ALLOW_EVENTS: &str = EVENT_PACKAGE;

/// `Allow-Events: message-summary`.
pub fn allow_events() -> Header {
    Header::Other("Allow-Events".into(), ALLOW_EVENTS.into())
}

/// What a SUBSCRIBE asks for, from its headers.
#[derive(Debug, PartialEq, Eq)]
pub struct SubscribeHeaders {
    /// The Event header's `id` parameter.
    pub event_id: Option<String>,
    /// The Expires header, if any.
    pub expires: Option<u32>,
}

/// Why a SUBSCRIBE is refused before any subscription is looked at.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    #[error("Missing Event header")]
    MissingEvent,
    #[error("Bad Event")]
    UnknownEvent,
    #[error("Malformed Expires")]
    Expires,
    #[error("Not Acceptable")]
    NotAcceptable,
}

impl SubscribeError {
    pub fn status_code(&self) -> u16 {
        match self {
            SubscribeError::MissingEvent | SubscribeError::Expires => 400,
            // RFC 6665 §4.2.1.1: a package we do not know.
            SubscribeError::UnknownEvent => 489,
            // RFC 6665 §4.2.1.1: Accept names no body type we send.
            SubscribeError::NotAcceptable => 406,
        }
    }

    pub fn headers(&self) -> Vec<Header> {
        match self {
            SubscribeError::UnknownEvent => vec![allow_events()],
            SubscribeError::NotAcceptable => vec![Header::Accept(CONTENT_TYPE.into())],
            _ => vec![],
        }
    }
}

/// Reads Event, Expires and Accept (RFC 6665 §8.2.1, §4.1.2.1).
impl SubscribeHeaders {
    pub fn read(request: &Request) -> Result<SubscribeHeaders, SubscribeError> {
        let mut event = None;
        let mut expires = None;
        let mut accepts = Vec::new();
        for header in request.headers.iter() {
            match header {
                Header::Event(e) => event = event.or(Some(e.value().to_string())),
                // "o" is Event's compact form (RFC 6665 §8.2.1).
                Header::Other(name, value)
                    if name.eq_ignore_ascii_case("o") || name.eq_ignore_ascii_case("Event") =>
                {
                    event = event.or(Some(value.to_string()))
                }
                Header::Expires(e) => expires = Some(e.value().to_string()),
                Header::Accept(a) => accepts.push(a.value().to_string()),
                _ => {}
            }
        }
        let event = event.ok_or(SubscribeError::MissingEvent)?;
        let mut parts = event.split(';');
        // RFC 6665 §8.2.1: event types are compared as tokens, exactly.
        if parts.next().map(str::trim) != Some(EVENT_PACKAGE) {
            return Err(SubscribeError::UnknownEvent);
        }
        let event_id = parts.find_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("id")
                .then(|| value.trim().to_string())
        });
        let expires = match expires {
            None => None,
            // RFC 3261 §20.19: delta-seconds beyond 2^32-1 read as 2^32-1.
            Some(text) => Some(
                text.trim()
                    .parse::<u64>()
                    .map_err(|_| SubscribeError::Expires)?
                    .min(u64::from(u32::MAX)) as u32,
            ),
        };
        if !accepts.is_empty() && !accepts.iter().any(|a| accepts_summary(a)) {
            return Err(SubscribeError::NotAcceptable);
        }
        Ok(SubscribeHeaders { event_id, expires })
    }
}

/// Whether an Accept value admits `application/simple-message-summary`.
fn accepts_summary(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or("").trim();
        media.eq_ignore_ascii_case(CONTENT_TYPE)
            || media.eq_ignore_ascii_case("application/*")
            || media == "*/*"
    })
}
