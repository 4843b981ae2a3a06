//! The minimal SDP the test user agent needs: build an audio offer and read
//! the connection address, port and chosen payload type out of an answer
//! (RFC 4566 syntax, RFC 3264 offer/answer).

use std::net::{IpAddr, SocketAddr};

use crate::codec::CodecKind;
use crate::media::srtp::CryptoAttribute;

/// The dynamic payload type offered for telephone-event (RFC 4733).
pub const TELEPHONE_EVENT_PAYLOAD_TYPE: u8 = 101;

/// Why an SDP answer could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdpError {
    #[error("the SDP has no m=audio line")]
    NoAudioStream,
    #[error("the audio stream was rejected (port 0)")]
    StreamRejected,
    #[error("the SDP has no usable c= line for the audio stream")]
    NoConnection,
    #[error("the audio m= line lists no payload type")]
    NoPayloadType,
    #[error("malformed SDP line: {0}")]
    MalformedLine(String),
}

/// The payload type an offer uses for a codec.
pub fn offered_payload_type(codec: CodecKind) -> u8 {
    match (codec.static_payload_type(), codec) {
        (Some(pt), _) => pt,
        (None, CodecKind::TelephoneEvent) => TELEPHONE_EVENT_PAYLOAD_TYPE,
        // Dynamic payload types as common phones number them; each codec
        // its own, so that any mix can be offered.
        (None, CodecKind::L16At8000) => 112,
        (None, CodecKind::L16At16000) => 113,
        (None, _) => 111,
    }
}

/// One format of an offer: its payload type, rtpmap and fmtp, for tests
/// that need more than one codec per clock (telephone-event/48000 beside
/// Opus) or a particular fmtp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferFormat {
    pub payload_type: u8,
    pub codec: CodecKind,
    pub clock_rate: u32,
    /// The `a=fmtp` value, written verbatim.
    pub fmtp: Option<String>,
}

impl OfferFormat {
    /// `codec` as [`sdp_offer`] writes it.
    pub fn new(codec: CodecKind) -> Self {
        OfferFormat {
            payload_type: offered_payload_type(codec),
            codec,
            clock_rate: codec.clock_rate(),
            fmtp: (codec == CodecKind::TelephoneEvent).then(|| "0-16".to_owned()),
        }
    }

    /// `codec` on payload type `payload_type` at `clock_rate`.
    pub fn at(codec: CodecKind, payload_type: u8, clock_rate: u32) -> Self {
        OfferFormat {
            payload_type,
            clock_rate,
            ..OfferFormat::new(codec)
        }
    }

    pub fn with_fmtp(mut self, fmtp: impl Into<String>) -> Self {
        self.fmtp = Some(fmtp.into());
        self
    }
}

/// Builds an audio offer for `codecs` (first preferred) receiving RTP at `rtp_addr`.
pub fn sdp_offer(rtp_addr: SocketAddr, codecs: &[CodecKind]) -> String {
    let formats: Vec<OfferFormat> = codecs.iter().map(|&c| OfferFormat::new(c)).collect();
    sdp_offer_formats(rtp_addr, &formats)
}

/// Builds an audio offer listing `formats` in order.
pub fn sdp_offer_formats(rtp_addr: SocketAddr, formats: &[OfferFormat]) -> String {
    offer(rtp_addr, formats, &[])
}

/// Builds an `RTP/SAVP` offer for `codecs` carrying the SDES keys `crypto`
/// (RFC 4568 §5).
pub fn sdp_offer_secure(
    rtp_addr: SocketAddr,
    codecs: &[CodecKind],
    crypto: &[CryptoAttribute],
) -> String {
    let formats: Vec<OfferFormat> = codecs.iter().map(|&c| OfferFormat::new(c)).collect();
    offer(rtp_addr, &formats, crypto)
}

fn offer(rtp_addr: SocketAddr, formats: &[OfferFormat], crypto: &[CryptoAttribute]) -> String {
    let family = match rtp_addr.ip() {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    };
    let ip = rtp_addr.ip();
    let session_id: u32 = rand::random();
    let payload_types: Vec<String> = formats.iter().map(|f| f.payload_type.to_string()).collect();
    let mut sdp = format!(
        "v=0\r\n\
         o=loadgen {session_id} 1 IN {family} {ip}\r\n\
         s=-\r\n\
         c=IN {family} {ip}\r\n\
         t=0 0\r\n\
         m=audio {port} {profile} {pts}\r\n",
        port = rtp_addr.port(),
        profile = if crypto.is_empty() {
            "RTP/AVP"
        } else {
            "RTP/SAVP"
        },
        pts = payload_types.join(" "),
    );
    for format in formats {
        let pt = format.payload_type;
        let channels = match format.codec.channels() {
            1 => String::new(),
            n => format!("/{n}"),
        };
        sdp.push_str(&format!(
            "a=rtpmap:{pt} {}/{}{channels}\r\n",
            format.codec.encoding_name(),
            format.clock_rate
        ));
        if let Some(fmtp) = &format.fmtp {
            sdp.push_str(&format!("a=fmtp:{pt} {fmtp}\r\n"));
        }
    }
    for line in crypto {
        sdp.push_str(&format!("a=crypto:{line}\r\n"));
    }
    sdp.push_str("a=ptime:20\r\na=sendrecv\r\n");
    sdp
}

/// The `a=crypto` values of the first audio stream of an SDP body.
pub fn crypto_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut in_audio = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(media) = line.strip_prefix("m=") {
            if !lines.is_empty() || in_audio {
                break;
            }
            in_audio = media.starts_with("audio ");
        } else if let Some(value) = line.strip_prefix("a=crypto:").filter(|_| in_audio) {
            lines.push(value.trim());
        }
    }
    lines
}

/// What the user agent takes from an SDP answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdpAnswer {
    pub connection: IpAddr,
    pub port: u16,
    /// The first audio payload type of the m= line: the one the answerer
    /// will send (RFC 3264 §6.1).
    pub payload_type: u8,
    /// The codec of that payload type, if known.
    pub codec: Option<CodecKind>,
}

impl SdpAnswer {
    /// Where to send RTP.
    pub fn rtp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.connection, self.port)
    }

    /// Reads the first audio stream of an SDP body.
    pub fn parse(text: &str) -> Result<SdpAnswer, SdpError> {
        let mut session_connection: Option<IpAddr> = None;
        let mut media: Option<AudioMedia> = None;
        let mut in_other_media = false;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let Some((kind, value)) = line.split_once('=') else {
                return Err(SdpError::MalformedLine(line.to_string()));
            };
            match kind {
                "m" => {
                    if media.is_some() {
                        // Only the first audio stream matters to us.
                        break;
                    }
                    if value.starts_with("audio ") {
                        media = Some(AudioMedia::parse(value)?);
                        in_other_media = false;
                    } else {
                        in_other_media = true;
                    }
                }
                "c" if !in_other_media => {
                    let addr = parse_connection(value)?;
                    match media.as_mut() {
                        Some(m) => m.connection = Some(addr),
                        None => session_connection = Some(addr),
                    }
                }
                "a" => {
                    if let (Some(m), Some(rtpmap)) = (media.as_mut(), value.strip_prefix("rtpmap:"))
                    {
                        m.add_rtpmap(rtpmap);
                    }
                }
                _ => {}
            }
        }
        let media = media.ok_or(SdpError::NoAudioStream)?;
        if media.port == 0 {
            return Err(SdpError::StreamRejected);
        }
        // A media-level c= overrides the session-level one (RFC 4566 §5.7).
        let connection = media
            .connection
            .or(session_connection)
            .ok_or(SdpError::NoConnection)?;
        let (payload_type, codec) = media.chosen_payload_type()?;
        Ok(SdpAnswer {
            connection,
            port: media.port,
            payload_type,
            codec,
        })
    }
}

struct AudioMedia {
    port: u16,
    payload_types: Vec<u8>,
    rtpmaps: Vec<(u8, Option<CodecKind>)>,
    connection: Option<IpAddr>,
}

impl AudioMedia {
    fn parse(value: &str) -> Result<AudioMedia, SdpError> {
        let malformed = || SdpError::MalformedLine(format!("m={value}"));
        let mut fields = value.split_ascii_whitespace();
        let _media = fields.next();
        // The port may carry a "/count" suffix (RFC 4566 §5.14).
        let port = fields
            .next()
            .and_then(|p| p.split('/').next())
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(malformed)?;
        let _proto = fields.next().ok_or_else(malformed)?;
        let payload_types = fields
            .map(|f| f.parse::<u8>().map_err(|_| malformed()))
            .collect::<Result<Vec<u8>, SdpError>>()?;
        Ok(AudioMedia {
            port,
            payload_types,
            rtpmaps: Vec::new(),
            connection: None,
        })
    }

    fn add_rtpmap(&mut self, rtpmap: &str) {
        let Some((pt, encoding)) = rtpmap.split_once(' ') else {
            return;
        };
        let Ok(pt) = pt.trim().parse::<u8>() else {
            return;
        };
        let mut parts = encoding.trim().split('/');
        let name = parts.next().unwrap_or_default();
        let rate = parts
            .next()
            .and_then(|r| r.parse::<u32>().ok())
            .unwrap_or(0);
        self.rtpmaps.push((pt, CodecKind::from_rtpmap(name, rate)));
    }

    fn codec_of(&self, pt: u8) -> Option<CodecKind> {
        self.rtpmaps
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| CodecKind::from_static_payload_type(pt))
    }

    /// The first payload type carrying audio, else the first listed one.
    fn chosen_payload_type(&self) -> Result<(u8, Option<CodecKind>), SdpError> {
        let first = *self.payload_types.first().ok_or(SdpError::NoPayloadType)?;
        let chosen = self
            .payload_types
            .iter()
            .copied()
            .find(|pt| self.codec_of(*pt).is_some_and(CodecKind::is_audio))
            .unwrap_or(first);
        Ok((chosen, self.codec_of(chosen)))
    }
}

fn parse_connection(value: &str) -> Result<IpAddr, SdpError> {
    // c=<nettype> <addrtype> <connection-address>[/ttl] (RFC 4566 §5.7)
    let address = value
        .split_ascii_whitespace()
        .nth(2)
        .and_then(|a| a.split('/').next())
        .ok_or_else(|| SdpError::MalformedLine(format!("c={value}")))?;
    address
        .parse::<IpAddr>()
        .map_err(|_| SdpError::MalformedLine(format!("c={value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_lists_codecs_in_preference_order() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let offer = sdp_offer(
            addr,
            &[CodecKind::Pcma, CodecKind::Pcmu, CodecKind::TelephoneEvent],
        );
        assert!(offer.contains("m=audio 4000 RTP/AVP 8 0 101\r\n"));
        assert!(offer.contains("c=IN IP4 127.0.0.1\r\n"));
        assert!(offer.contains("a=rtpmap:101 telephone-event/8000\r\n"));
        // An offer is also a valid answer for our own parser.
        let parsed = SdpAnswer::parse(&offer).unwrap();
        assert_eq!(parsed.rtp_addr(), addr);
        assert_eq!(parsed.payload_type, 8);
        assert_eq!(parsed.codec, Some(CodecKind::Pcma));
    }

    #[test]
    fn formats_carry_their_own_rate_and_fmtp() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let offer = sdp_offer_formats(
            addr,
            &[
                OfferFormat::new(CodecKind::Opus).with_fmtp("useinbandfec=1"),
                OfferFormat::at(CodecKind::TelephoneEvent, 110, 48_000),
                OfferFormat::new(CodecKind::L16At16000),
            ],
        );
        assert!(
            offer.contains("m=audio 4000 RTP/AVP 111 110 113\r\n"),
            "{offer}"
        );
        assert!(offer.contains("a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n"));
        assert!(offer.contains("a=rtpmap:110 telephone-event/48000\r\na=fmtp:110 0-16\r\n"));
        assert!(offer.contains("a=rtpmap:113 L16/16000\r\n"));
        let parsed = SdpAnswer::parse(&offer).unwrap();
        assert_eq!(parsed.codec, Some(CodecKind::Opus));
    }

    #[test]
    fn a_secure_offer_carries_its_keys_in_the_audio_stream() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let crypto = CryptoAttribute::generate_offer(&[
            crate::media::srtp::SrtpSuite::AES_CM_128_HMAC_SHA1_80,
            crate::media::srtp::SrtpSuite::AEAD_AES_128_GCM,
        ])
        .unwrap();
        let offer = sdp_offer_secure(addr, &[CodecKind::Pcmu], &crypto);
        assert!(offer.contains("m=audio 4000 RTP/SAVP 0\r\n"), "{offer}");
        let lines = crypto_lines(&offer);
        assert_eq!(lines.len(), 2);
        assert_eq!(CryptoAttribute::parse(lines[0]).unwrap(), crypto[0]);
        assert_eq!(CryptoAttribute::parse(lines[1]).unwrap(), crypto[1]);
        // Lines of a later stream are not the audio stream's.
        let video = format!("{offer}m=video 5000 RTP/SAVP 96\r\na=crypto:9 x\r\n");
        assert_eq!(crypto_lines(&video).len(), 2);
        assert!(crypto_lines(&sdp_offer(addr, &[CodecKind::Pcmu])).is_empty());
    }

    #[test]
    fn answer_media_connection_overrides_session_and_skips_events() {
        let answer = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                      m=audio 30000 RTP/AVP 101 0\r\nc=IN IP4 127.0.0.2\r\n\
                      a=rtpmap:101 telephone-event/8000\r\n";
        let parsed = SdpAnswer::parse(answer).unwrap();
        assert_eq!(parsed.rtp_addr(), "127.0.0.2:30000".parse().unwrap());
        assert_eq!(parsed.payload_type, 0);
        assert_eq!(parsed.codec, Some(CodecKind::Pcmu));
    }

    #[test]
    fn answer_errors_are_reported() {
        assert_eq!(
            SdpAnswer::parse("v=0\r\nc=IN IP4 127.0.0.1\r\n"),
            Err(SdpError::NoAudioStream)
        );
        assert_eq!(
            SdpAnswer::parse("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 0 RTP/AVP 0\r\n"),
            Err(SdpError::StreamRejected)
        );
        assert_eq!(
            SdpAnswer::parse("v=0\r\nm=audio 5 RTP/AVP 0\r\n"),
            Err(SdpError::NoConnection)
        );
        assert!(matches!(
            SdpAnswer::parse("v=0\r\nm=audio x RTP/AVP 0\r\n"),
            Err(SdpError::MalformedLine(_))
        ));
        assert!(matches!(
            SdpAnswer::parse("garbage"),
            Err(SdpError::MalformedLine(_))
        ));
    }
}
