//! The SDP parser (RFC 4566 §5).
//!
//! Why our own parser rather than the `sdp` crate: that crate parses well
//! formed bodies, but its errors are untyped strings that do not say which
//! line failed, it has no limits on size or number of m-lines, and it cannot
//! resolve static payload types written without rtpmap (RFC 3551), which a
//! SIP media server meets every day. SDP is a line format simple enough that
//! a small parser which never indexes blindly, caps its input and names the
//! offending line is the clearer and safer base for text that comes from the
//! network.

use std::str::FromStr;

use super::direction::Direction;
use super::error::SdpError;
use super::fields;
use super::model::{AddressType, MediaDescription, Origin, SessionDescription, Timing};

/// Bodies larger than this are refused before any parsing; real offers,
/// WebRTC ones included, stay well under it.
pub const MAX_SDP_BYTES: usize = 32 * 1024;

/// More m-lines than this are refused; a call needs a handful at most.
pub const MAX_MEDIA: usize = 64;

impl SessionDescription {
    /// Parses an SDP body that may not be UTF-8, as it arrives in a SIP message.
    pub fn parse_bytes(body: &[u8]) -> Result<Self, SdpError> {
        check_size(body.len())?;
        match std::str::from_utf8(body) {
            Ok(text) => Self::parse(text),
            Err(e) => {
                let before = body.get(..e.valid_up_to()).unwrap_or_default();
                let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
                Err(SdpError::NotUtf8 { line })
            }
        }
    }

    /// Parses an SDP body. Lines may end in CRLF or LF (RFC 4566 §5 asks
    /// parsers to accept both); trailing blanks are ignored.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        check_size(text.len())?;
        let mut parser = Parser::new();
        let mut lines = text.split('\n').enumerate().peekable();
        while let Some((index, raw)) = lines.next() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let line = line.trim_end_matches([' ', '\t']);
            let number = index + 1;
            if line.is_empty() {
                // Blank lines are tolerated only at the very end.
                if lines.clone().all(|(_, rest)| rest.trim().is_empty()) {
                    break;
                }
                return Err(SdpError::malformed(number, line, "empty line"));
            }
            parser.line(number, line)?;
        }
        parser.finish()
    }
}

impl FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(text: &str) -> Result<Self, SdpError> {
        SessionDescription::parse(text)
    }
}

fn check_size(size: usize) -> Result<(), SdpError> {
    if size > MAX_SDP_BYTES {
        return Err(SdpError::TooLarge {
            size,
            max: MAX_SDP_BYTES,
        });
    }
    Ok(())
}

/// Parser state: the session built so far and whether an m= has been seen.
struct Parser {
    session: SessionDescription,
    seen_version: bool,
    seen_origin: bool,
    seen_name: bool,
}

impl Parser {
    fn new() -> Self {
        let placeholder = Origin {
            username: String::new(),
            session_id: 0,
            session_version: 0,
            address_type: AddressType::Ip4,
            address: String::new(),
        };
        let mut session = SessionDescription::new(placeholder, "");
        // Only the t= lines read count; finish() fills in a default.
        session.timings.clear();
        Parser {
            session,
            seen_version: false,
            seen_origin: false,
            seen_name: false,
        }
    }

    fn line(&mut self, number: usize, line: &str) -> Result<(), SdpError> {
        let bad = |reason: String| SdpError::malformed(number, line, reason);
        // Text fields exclude NUL, CR and LF (RFC 4566 §9); other controls
        // have no business in SDP either.
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return Err(bad("control character in line".into()));
        }
        let bytes = line.as_bytes();
        if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
            return Err(bad("expected <type>=<value>".into()));
        }
        let kind = char::from(bytes[0]);
        // Both leading bytes are ASCII, so byte 2 is a char boundary.
        let value = &line[2..];

        if !self.seen_version {
            // RFC 4566 §5: the body starts with v=0.
            if kind != 'v' || value != "0" {
                return Err(bad("SDP must start with v=0".into()));
            }
            self.seen_version = true;
            return Ok(());
        }
        if kind == 'm' {
            if self.session.media.len() >= MAX_MEDIA {
                return Err(SdpError::TooManyMedia {
                    line: number,
                    max: MAX_MEDIA,
                });
            }
            let media = fields::media(value).map_err(bad)?;
            self.session.media.push(media);
            return Ok(());
        }
        let result = match self.session.media.last_mut() {
            None => self.session_line(kind, value),
            Some(media) => media_line(media, kind, value),
        };
        result.map_err(bad)
    }

    fn session_line(&mut self, kind: char, value: &str) -> fields::FieldResult<()> {
        let session = &mut self.session;
        match kind {
            'v' => return Err("v= may appear only once, first".into()),
            'o' => {
                once(self.seen_origin, "o=")?;
                session.origin = fields::origin(value)?;
                self.seen_origin = true;
            }
            's' => {
                once(self.seen_name, "s=")?;
                session.session_name = value.to_owned();
                self.seen_name = true;
            }
            'i' => set_once(&mut session.information, value, "i=")?,
            'u' => set_once(&mut session.uri, value, "u=")?,
            'e' => session.emails.push(value.to_owned()),
            'p' => session.phones.push(value.to_owned()),
            'c' => {
                once(session.connection.is_some(), "c=")?;
                session.connection = Some(fields::connection(value)?);
            }
            'b' => session.bandwidths.push(fields::bandwidth(value)?),
            't' => session.timings.push(fields::timing(value)?),
            'r' => match session.timings.last_mut() {
                // RFC 4566 §5.10: r= belongs to the t= before it.
                Some(timing) => timing.repeats.push(value.to_owned()),
                None => return Err("r= without a preceding t=".into()),
            },
            'z' => set_once(&mut session.time_zones, value, "z=")?,
            'k' => set_once(&mut session.encryption_key, value, "k=")?,
            'a' => {
                let attribute = fields::attribute(value)?;
                match Direction::from_attribute(&attribute.name) {
                    Some(direction) => {
                        set_direction(&mut session.direction, direction, &attribute.value)?
                    }
                    None => session.attributes.push(attribute),
                }
            }
            // RFC 4566 §5: a description with an unknown type letter must
            // not be used.
            other => return Err(format!("unknown line type '{other}='")),
        }
        Ok(())
    }

    fn finish(self) -> Result<SessionDescription, SdpError> {
        if !self.seen_version {
            return Err(SdpError::Empty);
        }
        if !self.seen_origin {
            return Err(SdpError::MissingLine("o="));
        }
        if !self.seen_name {
            return Err(SdpError::MissingLine("s="));
        }
        let mut session = self.session;
        // RFC 4566 §5.9 makes t= mandatory, yet some endpoints leave it
        // out; such a body means a permanent session, as t=0 0 does.
        if session.timings.is_empty() {
            session.timings.push(Timing::permanent());
        }
        Ok(session)
    }
}

/// Lines allowed after an m= (RFC 4566 §5: i, c, b, k, a).
fn media_line(media: &mut MediaDescription, kind: char, value: &str) -> fields::FieldResult<()> {
    match kind {
        'i' => set_once(&mut media.information, value, "i=")?,
        'c' => {
            // RFC 4566 §5.7 allows several c= only for layered multicast,
            // which a unicast media server cannot use.
            once(media.connection.is_some(), "c=")?;
            media.connection = Some(fields::connection(value)?);
        }
        'b' => media.bandwidths.push(fields::bandwidth(value)?),
        'k' => set_once(&mut media.encryption_key, value, "k=")?,
        'a' => media_attribute(media, value)?,
        other => return Err(format!("'{other}=' is not allowed in a media description")),
    }
    Ok(())
}

fn media_attribute(media: &mut MediaDescription, value: &str) -> fields::FieldResult<()> {
    let attribute = fields::attribute(value)?;
    let name = attribute.name.as_str();
    if let Some(direction) = Direction::from_attribute(name) {
        return set_direction(&mut media.direction, direction, &attribute.value);
    }
    let text = attribute.value.as_deref();
    match (name, text) {
        ("rtpmap", Some(text)) => {
            let (pt, map) = fields::rtpmap(text)?;
            if media.rtpmaps.insert(pt, map).is_some() {
                return Err(format!("second rtpmap for payload type {pt}"));
            }
        }
        // Format parameters only tune a codec and each has a default
        // (RFC 7587 §6.1, RFC 4733 §2.4.1), so an fmtp we cannot read, or
        // a second one for a payload type, is kept verbatim but not acted
        // on: refusing the whole call for it would help nobody.
        ("fmtp", Some(text)) => match fields::fmtp(text) {
            Ok((pt, params)) if !media.fmtps.contains_key(&pt) => {
                media.fmtps.insert(pt, params);
            }
            _ => media.attributes.push(attribute),
        },
        ("fmtp", None) => media.attributes.push(attribute),
        ("ptime", Some(text)) => {
            once(media.ptime_ms.is_some(), "a=ptime")?;
            media.ptime_ms = Some(fields::milliseconds(text)?);
        }
        ("maxptime", Some(text)) => {
            once(media.maxptime_ms.is_some(), "a=maxptime")?;
            media.maxptime_ms = Some(fields::milliseconds(text)?);
        }
        ("rtcp", Some(text)) => {
            once(media.rtcp.is_some(), "a=rtcp")?;
            media.rtcp = Some(fields::rtcp(text)?);
        }
        ("rtcp-mux", None) => media.rtcp_mux = true,
        ("rtcp-mux", Some(_)) => return Err("a=rtcp-mux takes no value".into()),
        ("rtpmap" | "ptime" | "maxptime" | "rtcp", None) => {
            return Err(format!("a={name} needs a value"));
        }
        _ => media.attributes.push(attribute),
    }
    Ok(())
}

fn once(seen: bool, what: &str) -> fields::FieldResult<()> {
    if seen {
        Err(format!("second {what} line"))
    } else {
        Ok(())
    }
}

fn set_once(slot: &mut Option<String>, value: &str, what: &str) -> fields::FieldResult<()> {
    once(slot.is_some(), what)?;
    *slot = Some(value.to_owned());
    Ok(())
}

fn set_direction(
    slot: &mut Option<Direction>,
    direction: Direction,
    value: &Option<String>,
) -> fields::FieldResult<()> {
    if value.is_some() {
        return Err(format!("a={direction} takes no value"));
    }
    if slot.is_some() {
        return Err("second direction attribute".into());
    }
    *slot = Some(direction);
    Ok(())
}
