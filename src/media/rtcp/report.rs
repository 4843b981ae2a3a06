//! Compound RTCP packets: building ours (RFC 3550 §6.1: SR or RR, then SDES
//! with CNAME, then BYE on hang-up), parsing the far end's into a
//! [`RemoteReport`], the round-trip time from its report block about us
//! (RFC 3550 §6.4.1), and telling RTCP from RTP on a muxed port (RFC 5761).
//!
//! The packets themselves are the `rtcp` crate's; this checks the compound's
//! structure first (RFC 3550 A.2) so that only well-framed SR, RR, SDES and
//! BYE bodies reach its parsers, and never trusts a length it has not
//! checked against the datagram.

use std::time::{Duration, Instant};

use ::rtcp::goodbye::Goodbye;
use ::rtcp::receiver_report::ReceiverReport;
use ::rtcp::reception_report::ReceptionReport;
use ::rtcp::sender_report::SenderReport;
use ::rtcp::source_description::{
    SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem,
};
use bytes::Bytes;
use webrtc_util::marshal::{Marshal, Unmarshal};

use super::receive_stats::ReportBlock;
use super::send_stats::SenderInfo;

const PT_SR: u8 = 200;
const PT_RR: u8 = 201;
const PT_SDES: u8 = 202;
const PT_BYE: u8 = 203;

/// An SDES item or BYE reason is at most 255 octets (RFC 3550 §6.5, §6.6).
const MAX_TEXT: usize = 255;

/// Why a datagram is not an RTCP compound we can use, or a report could
/// not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("shorter than an RTCP header")]
    TooShort,
    #[error("RTCP version is not 2")]
    BadVersion,
    #[error("an RTCP length field runs past the datagram")]
    BadLength,
    #[error("RTCP padding that is not on the last packet or is too long")]
    BadPadding,
    #[error("compound RTCP does not start with SR or RR")]
    NotCompound,
    #[error("malformed RTCP packet of type {0}")]
    Malformed(u8),
    #[error("buffer too small for the RTCP report")]
    BufferTooSmall,
}

/// RFC 5761 §4: on a port shared with RTP, a second octet of 192..=223
/// (payload type 64..=95 once the marker bit is masked) is RTCP: SR, RR,
/// SDES, BYE and APP are 200..=204, and RTP avoids those payload types.
pub fn is_rtcp(datagram: &[u8]) -> bool {
    datagram.len() >= 2 && (192..=223).contains(&datagram[1])
}

/// What goes into one of our compounds.
#[derive(Debug, Clone, Copy)]
pub struct ReportContents<'a> {
    pub ssrc: u32,
    /// Some for an SR (we sent lately), None for an RR (RFC 3550 §6.4).
    pub sender: Option<SenderInfo>,
    /// The block about the far end's stream, once it is valid.
    pub block: Option<ReportBlock>,
    /// RFC 3550 §6.5.1: every compound carries the CNAME.
    pub cname: &'a str,
    /// Some on hang-up: a BYE closes the compound (RFC 3550 §6.6).
    pub bye: Option<&'a str>,
}

/// Builds the compound into `buf`, returning its length.
pub fn build_compound(buf: &mut [u8], contents: &ReportContents<'_>) -> Result<usize, RtcpError> {
    let reports: Vec<ReceptionReport> = contents.block.iter().map(to_reception).collect();
    let mut len = match contents.sender {
        Some(info) => put(
            buf,
            0,
            &SenderReport {
                ssrc: contents.ssrc,
                ntp_time: info.ntp_time,
                rtp_time: info.rtp_time,
                packet_count: info.packet_count,
                octet_count: info.octet_count,
                reports,
                profile_extensions: Bytes::new(),
            },
        )?,
        None => put(
            buf,
            0,
            &ReceiverReport {
                ssrc: contents.ssrc,
                reports,
                profile_extensions: Bytes::new(),
            },
        )?,
    };
    let sdes = SourceDescription {
        chunks: vec![SourceDescriptionChunk {
            source: contents.ssrc,
            items: vec![SourceDescriptionItem {
                sdes_type: SdesType::SdesCname,
                text: Bytes::copy_from_slice(truncate(contents.cname)),
            }],
        }],
    };
    len += put(buf, len, &sdes)?;
    if let Some(reason) = contents.bye {
        let bye = Goodbye {
            sources: vec![contents.ssrc],
            reason: Bytes::copy_from_slice(truncate(reason)),
        };
        len += put(buf, len, &bye)?;
    }
    Ok(len)
}

fn put(buf: &mut [u8], at: usize, packet: &impl Marshal) -> Result<usize, RtcpError> {
    let room = buf.get_mut(at..).ok_or(RtcpError::BufferTooSmall)?;
    if room.len() < packet.marshal_size() {
        return Err(RtcpError::BufferTooSmall);
    }
    // The other failures (too many blocks, over-long text) are ruled out
    // by how the packets are made above.
    packet
        .marshal_to(room)
        .map_err(|_| RtcpError::BufferTooSmall)
}

/// At most 255 octets, cut on a character boundary.
fn truncate(text: &str) -> &[u8] {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text.as_bytes()[..end]
}

fn to_reception(block: &ReportBlock) -> ReceptionReport {
    ReceptionReport {
        ssrc: block.ssrc,
        fraction_lost: block.fraction_lost,
        // Two's complement in 24 bits (RFC 3550 §6.4.1 signed field).
        total_lost: (block.cumulative_lost as u32) & 0xff_ffff,
        last_sequence_number: block.extended_highest_seq,
        jitter: block.jitter,
        last_sender_report: block.lsr,
        delay: block.dlsr,
    }
}

fn from_reception(report: &ReceptionReport) -> ReportBlock {
    ReportBlock {
        ssrc: report.ssrc,
        fraction_lost: report.fraction_lost,
        // Sign-extend the 24-bit field.
        cumulative_lost: ((report.total_lost << 8) as i32) >> 8,
        extended_highest_seq: report.last_sequence_number,
        jitter: report.jitter,
        lsr: report.last_sender_report,
        dlsr: report.delay,
    }
}

/// What a received compound says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteReport {
    /// SSRC of the SR or RR that opens the compound: the far end's.
    pub sender_ssrc: u32,
    /// The sender info, when the far end sent an SR.
    pub sender_info: Option<SenderInfo>,
    /// The far end's block about our stream.
    pub about_us: Option<ReportBlock>,
    /// Blocks about other sources (not ours).
    pub other_blocks: u32,
    /// The far end's CNAME, when its SDES carried one.
    pub cname: Option<String>,
    /// The far end said BYE (RFC 3550 §6.6).
    pub bye: bool,
    /// Packets in the compound, and those of types not handled here (APP,
    /// feedback, XR...), which are skipped.
    pub packets: u32,
    pub unknown: u32,
}

/// Parses a compound from the far end; `local_ssrc` picks the report block
/// about us.
pub fn parse_compound(datagram: &[u8], local_ssrc: u32) -> Result<RemoteReport, RtcpError> {
    if datagram.len() < 4 {
        return Err(RtcpError::TooShort);
    }
    let mut report = RemoteReport::default();
    let mut offset = 0;
    while offset < datagram.len() {
        let (packet_type, whole, body) = frame(datagram, offset)?;
        offset += whole.len();
        if report.packets == 0 && packet_type != PT_SR && packet_type != PT_RR {
            // RFC 3550 A.2: a compound starts with a report.
            return Err(RtcpError::NotCompound);
        }
        report.packets += 1;
        let bad = || RtcpError::Malformed(packet_type);
        match packet_type {
            PT_SR => {
                let sr = SenderReport::unmarshal(&mut &body[..]).map_err(|_| bad())?;
                if report.sender_info.is_none() && report.packets == 1 {
                    report.sender_ssrc = sr.ssrc;
                    report.sender_info = Some(SenderInfo {
                        ntp_time: sr.ntp_time,
                        rtp_time: sr.rtp_time,
                        packet_count: sr.packet_count,
                        octet_count: sr.octet_count,
                    });
                }
                report.take_blocks(&sr.reports, local_ssrc);
            }
            PT_RR => {
                let rr = ReceiverReport::unmarshal(&mut &body[..]).map_err(|_| bad())?;
                if report.packets == 1 {
                    report.sender_ssrc = rr.ssrc;
                }
                report.take_blocks(&rr.reports, local_ssrc);
            }
            PT_SDES => {
                let sdes = SourceDescription::unmarshal(&mut &body[..]).map_err(|_| bad())?;
                let cname = sdes
                    .chunks
                    .iter()
                    .filter(|chunk| chunk.source == report.sender_ssrc)
                    .flat_map(|chunk| chunk.items.iter())
                    .find(|item| item.sdes_type == SdesType::SdesCname);
                if let Some(item) = cname {
                    report.cname = Some(String::from_utf8_lossy(&item.text).into_owned());
                }
            }
            PT_BYE => {
                // The BYE parser reads its own padding, so it gets the whole
                // packet.
                let bye = Goodbye::unmarshal(&mut &whole[..]).map_err(|_| bad())?;
                report.bye |= !bye.sources.is_empty();
            }
            _ => report.unknown += 1,
        }
    }
    Ok(report)
}

impl RemoteReport {
    fn take_blocks(&mut self, blocks: &[ReceptionReport], local_ssrc: u32) {
        for block in blocks {
            if block.ssrc == local_ssrc {
                self.about_us = Some(from_reception(block));
            } else {
                self.other_blocks += 1;
            }
        }
    }
}

/// One packet of a compound at `offset`: its type, the whole packet and its
/// body without padding (RFC 3550 A.2 checks).
fn frame(datagram: &[u8], offset: usize) -> Result<(u8, &[u8], &[u8]), RtcpError> {
    let header = datagram
        .get(offset..offset + 4)
        .ok_or(RtcpError::BadLength)?;
    if header[0] >> 6 != 2 {
        return Err(RtcpError::BadVersion);
    }
    let words = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let end = offset + (words + 1) * 4;
    let whole = datagram.get(offset..end).ok_or(RtcpError::BadLength)?;
    let mut body = whole;
    if header[0] & 0x20 != 0 {
        // RFC 3550 A.2: only the last packet may be padded; the last octet
        // counts the padding, itself included.
        if end != datagram.len() {
            return Err(RtcpError::BadPadding);
        }
        let pad = usize::from(whole[whole.len() - 1]);
        if pad == 0 || pad > whole.len() - 4 {
            return Err(RtcpError::BadPadding);
        }
        body = &whole[..whole.len() - pad];
    }
    Ok((header[1], whole, body))
}

/// How many of our SRs the RTT can be matched against: a report block may
/// answer an SR a few intervals old when packets are lost or reordered.
const SR_HISTORY: usize = 8;

/// The NTP middle-32 of the last SRs we sent, each with the monotonic
/// instant it left: RTT is A − LSR − DLSR (RFC 3550 §6.4.1), where A − LSR
/// is measured on the monotonic clock, so a wall-clock step between our SR
/// and the far end's answer does not skew it, and an LSR we never sent is
/// not believed.
#[derive(Debug, Clone, Default)]
pub struct SrHistory {
    sent: [Option<(u32, Instant)>; SR_HISTORY],
    next: usize,
}

impl SrHistory {
    /// We sent an SR at `now` whose NTP time had middle-32 `lsr`.
    pub fn record(&mut self, lsr: u32, now: Instant) {
        self.sent[self.next] = Some((lsr, now));
        self.next = (self.next + 1) % SR_HISTORY;
    }

    /// The round-trip time a block received at `now` implies; None when it
    /// names no SR of ours (LSR 0 means none, RFC 3550 §6.4.1) or when its
    /// DLSR is longer than the whole round trip.
    pub fn rtt(&self, now: Instant, block: &ReportBlock) -> Option<Duration> {
        if block.lsr == 0 {
            return None;
        }
        let (_, sent_at) = self
            .sent
            .iter()
            .flatten()
            .find(|(lsr, _)| *lsr == block.lsr)?;
        let elapsed = now.saturating_duration_since(*sent_at);
        let hold = Duration::from_nanos(u64::from(block.dlsr) * 1_000_000_000 / 65536);
        elapsed.checked_sub(hold)
    }
}

#[cfg(test)]
mod tests;
