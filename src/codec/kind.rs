//! The codecs mediaplane speaks, as named in SDP (RFC 3551 §6 and rtpmap).

/// A codec (or RTP payload format) known to the codec layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodecKind {
    Pcmu,
    Pcma,
    /// ITU-T G.722 at 64 kbit/s (RFC 3551 §4.5.2).
    G722,
    /// Opus (RFC 6716) in RTP (RFC 7587).
    Opus,
    TelephoneEvent,
}

impl CodecKind {
    /// Every codec, in mediaplane's default preference order.
    pub const ALL: [CodecKind; 5] = [
        CodecKind::Pcmu,
        CodecKind::Pcma,
        CodecKind::G722,
        CodecKind::Opus,
        CodecKind::TelephoneEvent,
    ];

    /// The encoding name of the rtpmap attribute.
    pub fn encoding_name(self) -> &'static str {
        match self {
            CodecKind::Pcmu => "PCMU",
            CodecKind::Pcma => "PCMA",
            CodecKind::G722 => "G722",
            CodecKind::Opus => "opus",
            CodecKind::TelephoneEvent => "telephone-event",
        }
    }

    /// The RTP clock rate written in SDP (8000 for G.722 too, RFC 3551 §4.5.2).
    pub fn clock_rate(self) -> u32 {
        match self {
            // RFC 7587 §4.1: the RTP clock is always 48 kHz, whatever
            // bandwidth the encoder actually uses.
            CodecKind::Opus => 48_000,
            _ => 8000,
        }
    }

    /// The sample rate of the audio the codec carries (differs from the RTP
    /// clock for G.722, RFC 3551 §4.5.2).
    pub fn audio_rate(self) -> u32 {
        match self {
            // G.722 samples at 16 kHz, yet its RTP clock (and SDP rate) stays
            // 8000 for compatibility with an error in RFC 1890: RFC 3551 §4.5.2.
            CodecKind::G722 => 16_000,
            // libopus decodes at 48 kHz natively (RFC 6716 §2), so no resampling.
            CodecKind::Opus => 48_000,
            _ => 8000,
        }
    }

    /// Channels written in the rtpmap.
    pub fn channels(self) -> u16 {
        match self {
            // RFC 7587 §7: the rtpmap is always opus/48000/2, even for mono;
            // mono versus stereo is the fmtp's `stereo` parameter.
            CodecKind::Opus => 2,
            _ => 1,
        }
    }

    /// The static payload type of RFC 3551 Table 4, if any.
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            CodecKind::Pcmu => Some(0),
            CodecKind::Pcma => Some(8),
            CodecKind::G722 => Some(9),
            CodecKind::Opus | CodecKind::TelephoneEvent => None,
        }
    }

    /// Looks a codec up by rtpmap name (case-insensitive, RFC 4855 §3) and clock rate.
    pub fn from_rtpmap(name: &str, clock_rate: u32) -> Option<CodecKind> {
        CodecKind::ALL
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(name) && c.clock_rate() == clock_rate)
    }

    /// Looks a codec up by static payload type (used when no rtpmap is given).
    pub fn from_static_payload_type(pt: u8) -> Option<CodecKind> {
        CodecKind::ALL
            .into_iter()
            .find(|c| c.static_payload_type() == Some(pt))
    }

    /// Parses a configuration name such as "PCMU" or "telephone-event".
    pub fn from_name(name: &str) -> Option<CodecKind> {
        CodecKind::ALL
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(name))
    }

    /// True for formats that carry audio samples (not events).
    pub fn is_audio(self) -> bool {
        !matches!(self, CodecKind::TelephoneEvent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g722_has_the_rfc_3551_quirk() {
        // RFC 3551 §4.5.2: 16 kHz audio, but an 8000 Hz RTP clock, PT 9.
        let g722 = CodecKind::G722;
        assert_eq!(g722.encoding_name(), "G722");
        assert_eq!(g722.clock_rate(), 8000);
        assert_eq!(g722.audio_rate(), 16_000);
        assert_eq!(g722.channels(), 1);
        assert_eq!(g722.static_payload_type(), Some(9));
        assert!(g722.is_audio());
        assert_eq!(CodecKind::from_rtpmap("g722", 8000), Some(g722));
        assert_eq!(CodecKind::from_rtpmap("G722", 16_000), None);
        assert_eq!(CodecKind::from_static_payload_type(9), Some(g722));
        assert_eq!(CodecKind::from_name("G722"), Some(g722));
    }

    #[test]
    fn other_kinds_keep_8000_hz_audio() {
        for kind in [CodecKind::Pcmu, CodecKind::Pcma, CodecKind::TelephoneEvent] {
            assert_eq!(kind.audio_rate(), 8000);
            assert_eq!(kind.clock_rate(), 8000);
        }
    }
}
