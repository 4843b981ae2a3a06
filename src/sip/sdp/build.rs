//! Writing SDP: lines in the order of RFC 4566 §5, each ended by CRLF.

use std::fmt::{self, Display, Formatter, Write};

use super::model::{Attribute, Bandwidth, Connection, MediaDescription, SessionDescription};

const CRLF: &str = "\r\n";

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v=0{CRLF}")?;
        write!(
            f,
            "o={} {} {} IN {} {}{CRLF}",
            o.username, o.session_id, o.session_version, o.address_type, o.address
        )?;
        // RFC 4566 §5.3: "s= " when the session has no meaningful name.
        let name = if self.session_name.is_empty() {
            " "
        } else {
            &self.session_name
        };
        write!(f, "s={name}{CRLF}")?;
        optional_line(f, 'i', self.information.as_deref())?;
        optional_line(f, 'u', self.uri.as_deref())?;
        for email in &self.emails {
            write!(f, "e={email}{CRLF}")?;
        }
        for phone in &self.phones {
            write!(f, "p={phone}{CRLF}")?;
        }
        if let Some(c) = &self.connection {
            connection_line(f, c)?;
        }
        bandwidth_lines(f, &self.bandwidths)?;
        // RFC 4566 §5.9: t= is mandatory; "0 0" is a permanent session.
        if self.timings.is_empty() {
            write!(f, "t=0 0{CRLF}")?;
        }
        for t in &self.timings {
            write!(f, "t={} {}{CRLF}", t.start, t.stop)?;
            for repeat in &t.repeats {
                write!(f, "r={repeat}{CRLF}")?;
            }
        }
        optional_line(f, 'z', self.time_zones.as_deref())?;
        optional_line(f, 'k', self.encryption_key.as_deref())?;
        if let Some(direction) = self.direction {
            write!(f, "a={direction}{CRLF}")?;
        }
        attribute_lines(f, &self.attributes)?;
        for media in &self.media {
            write!(f, "{media}")?;
        }
        Ok(())
    }
}

impl Display for MediaDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media, self.port)?;
        if let Some(count) = self.port_count {
            write!(f, "/{count}")?;
        }
        write!(f, " {}", self.protocol)?;
        for format in &self.formats {
            write!(f, " {format}")?;
        }
        f.write_str(CRLF)?;
        optional_line(f, 'i', self.information.as_deref())?;
        if let Some(c) = &self.connection {
            connection_line(f, c)?;
        }
        bandwidth_lines(f, &self.bandwidths)?;
        optional_line(f, 'k', self.encryption_key.as_deref())?;
        self.format_attribute_lines(f)?;
        if let Some(ptime) = self.ptime_ms {
            write!(f, "a=ptime:{ptime}{CRLF}")?;
        }
        if let Some(maxptime) = self.maxptime_ms {
            write!(f, "a=maxptime:{maxptime}{CRLF}")?;
        }
        if let Some(rtcp) = &self.rtcp {
            write!(f, "a=rtcp:{}", rtcp.port)?;
            if let Some(c) = &rtcp.connection {
                write!(f, " IN {} {}", c.address_type, c.address)?;
            }
            f.write_str(CRLF)?;
        }
        if self.rtcp_mux {
            write!(f, "a=rtcp-mux{CRLF}")?;
        }
        if let Some(direction) = self.direction {
            write!(f, "a={direction}{CRLF}")?;
        }
        attribute_lines(f, &self.attributes)
    }
}

impl MediaDescription {
    /// rtpmap then fmtp of each payload type, in m-line order, then any for
    /// payload types the m-line does not list, so that nothing is lost.
    fn format_attribute_lines(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut written = Vec::new();
        let listed = self.payload_types().chain(
            self.rtpmaps
                .keys()
                .chain(self.fmtps.keys())
                .copied()
                .collect::<Vec<_>>(),
        );
        for pt in listed {
            if written.contains(&pt) {
                continue;
            }
            written.push(pt);
            if let Some(map) = self.rtpmaps.get(&pt) {
                write!(f, "a=rtpmap:{pt} {}/{}", map.encoding_name, map.clock_rate)?;
                if let Some(channels) = map.channels {
                    write!(f, "/{channels}")?;
                }
                f.write_str(CRLF)?;
            }
            if let Some(params) = self.fmtps.get(&pt) {
                write!(f, "a=fmtp:{pt} {params}{CRLF}")?;
            }
        }
        Ok(())
    }
}

fn optional_line(f: &mut Formatter<'_>, kind: char, value: Option<&str>) -> fmt::Result {
    match value {
        Some(value) => write!(f, "{kind}={value}{CRLF}"),
        None => Ok(()),
    }
}

fn connection_line(f: &mut Formatter<'_>, c: &Connection) -> fmt::Result {
    write!(f, "c=IN {} {}{CRLF}", c.address_type, c.address)
}

fn bandwidth_lines(f: &mut Formatter<'_>, bandwidths: &[Bandwidth]) -> fmt::Result {
    for b in bandwidths {
        write!(f, "b={}:{}{CRLF}", b.modifier, b.kbps)?;
    }
    Ok(())
}

fn attribute_lines(f: &mut Formatter<'_>, attributes: &[Attribute]) -> fmt::Result {
    for a in attributes {
        f.write_str("a=")?;
        f.write_str(&a.name)?;
        if let Some(value) = &a.value {
            f.write_char(':')?;
            f.write_str(value)?;
        }
        f.write_str(CRLF)?;
    }
    Ok(())
}
