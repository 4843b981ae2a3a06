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
    /// 16-bit linear PCM, mono, at 8 kHz (RFC 3551 §4.5.11), dynamic PT.
    L16At8000,
    /// 16-bit linear PCM, mono, at 16 kHz (RFC 3551 §4.5.11), dynamic PT.
    L16At16000,
    /// Named telephone events (RFC 4733). One kind at every clock rate: the
    /// rate is that of the audio codec beside it (RFC 4733 §2.1), so it
    /// lives in the SDP entry, not here.
    TelephoneEvent,
}

impl CodecKind {
    /// Every codec, in mediaplane's default preference order.
    pub const ALL: [CodecKind; 7] = [
        CodecKind::Pcmu,
        CodecKind::Pcma,
        CodecKind::G722,
        CodecKind::Opus,
        CodecKind::L16At16000,
        CodecKind::L16At8000,
        CodecKind::TelephoneEvent,
    ];

    /// Clock rates telephone-event is accepted at: those of the audio
    /// codecs it can accompany (RFC 4733 §2.1).
    pub const EVENT_CLOCK_RATES: [u32; 3] = [8000, 16_000, 48_000];

    /// The encoding name of the rtpmap attribute.
    pub fn encoding_name(self) -> &'static str {
        match self {
            CodecKind::Pcmu => "PCMU",
            CodecKind::Pcma => "PCMA",
            CodecKind::G722 => "G722",
            CodecKind::Opus => "opus",
            CodecKind::L16At8000 | CodecKind::L16At16000 => "L16",
            CodecKind::TelephoneEvent => "telephone-event",
        }
    }

    /// The name used in the configuration's codec list: the encoding name,
    /// with the rate where one name covers several (L16).
    pub fn config_name(self) -> &'static str {
        match self {
            CodecKind::L16At8000 => "L16/8000",
            CodecKind::L16At16000 => "L16/16000",
            other => other.encoding_name(),
        }
    }

    /// The RTP clock rate written in SDP (8000 for G.722 too, RFC 3551 §4.5.2).
    pub fn clock_rate(self) -> u32 {
        match self {
            // RFC 7587 §4.1: the RTP clock is always 48 kHz, whatever
            // bandwidth the encoder actually uses.
            CodecKind::Opus => 48_000,
            CodecKind::L16At16000 => 16_000,
            // telephone-event reports 8000 here, its usual rate; other
            // rates are read from the rtpmap (see `accepts_clock_rate`).
            _ => 8000,
        }
    }

    /// True when an rtpmap of this codec may name `rate`.
    pub fn accepts_clock_rate(self, rate: u32) -> bool {
        match self {
            CodecKind::TelephoneEvent => CodecKind::EVENT_CLOCK_RATES.contains(&rate),
            other => other.clock_rate() == rate,
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
            // L16 samples are RTP ticks (RFC 3551 §4.5.11).
            CodecKind::L16At16000 => 16_000,
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
            // PT 11 is L16/44100 mono (RFC 3551 Table 4), a rate we do not
            // carry; our L16 rates are dynamic.
            CodecKind::Opus
            | CodecKind::L16At8000
            | CodecKind::L16At16000
            | CodecKind::TelephoneEvent => None,
        }
    }

    /// Looks a codec up by rtpmap name (case-insensitive, RFC 4855 §3) and clock rate.
    pub fn from_rtpmap(name: &str, clock_rate: u32) -> Option<CodecKind> {
        CodecKind::ALL.into_iter().find(|c| {
            c.encoding_name().eq_ignore_ascii_case(name) && c.accepts_clock_rate(clock_rate)
        })
    }

    /// Looks a codec up by static payload type (used when no rtpmap is given).
    pub fn from_static_payload_type(pt: u8) -> Option<CodecKind> {
        CodecKind::ALL
            .into_iter()
            .find(|c| c.static_payload_type() == Some(pt))
    }

    /// Parses a configuration name such as "PCMU", "L16/16000" or
    /// "telephone-event".
    pub fn from_name(name: &str) -> Option<CodecKind> {
        CodecKind::ALL
            .into_iter()
            .find(|c| c.config_name().eq_ignore_ascii_case(name))
    }

    /// The codecs a configuration name stands for: one, or for a bare
    /// "L16" both rates, wideband first.
    pub fn family_from_name(name: &str) -> Option<&'static [CodecKind]> {
        const L16: [CodecKind; 2] = [CodecKind::L16At16000, CodecKind::L16At8000];
        if name.eq_ignore_ascii_case("L16") {
            return Some(&L16);
        }
        let all: &'static [CodecKind] = &CodecKind::ALL;
        let index = all
            .iter()
            .position(|c| c.config_name().eq_ignore_ascii_case(name))?;
        all.get(index..=index)
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
    fn l16_comes_at_two_dynamic_rates_and_never_as_pt_11() {
        // RFC 3551 §4.5.11: 16-bit linear, the rate is the RTP clock.
        assert_eq!(
            CodecKind::from_rtpmap("l16", 8000),
            Some(CodecKind::L16At8000)
        );
        assert_eq!(
            CodecKind::from_rtpmap("L16", 16_000),
            Some(CodecKind::L16At16000)
        );
        // PT 11 (L16/44100) and other rates are not ours.
        assert_eq!(CodecKind::from_rtpmap("L16", 44_100), None);
        assert_eq!(CodecKind::from_static_payload_type(11), None);
        for kind in [CodecKind::L16At8000, CodecKind::L16At16000] {
            assert_eq!(kind.audio_rate(), kind.clock_rate());
            assert_eq!(kind.channels(), 1);
            assert_eq!(kind.static_payload_type(), None);
            assert_eq!(CodecKind::from_name(kind.config_name()), Some(kind));
        }
        assert_eq!(CodecKind::from_name("L16"), None);
        assert_eq!(
            CodecKind::family_from_name("l16"),
            Some(&[CodecKind::L16At16000, CodecKind::L16At8000][..])
        );
        assert_eq!(
            CodecKind::family_from_name("pcmu"),
            Some(&[CodecKind::Pcmu][..])
        );
        assert_eq!(CodecKind::family_from_name("L16/44100"), None);
    }

    #[test]
    fn telephone_event_is_read_at_each_audio_clock_rate() {
        // RFC 4733 §2.1: the event clock is the audio clock.
        for rate in [8000, 16_000, 48_000] {
            assert_eq!(
                CodecKind::from_rtpmap("telephone-event", rate),
                Some(CodecKind::TelephoneEvent)
            );
        }
        assert_eq!(CodecKind::from_rtpmap("telephone-event", 44_100), None);
        assert!(!CodecKind::Opus.accepts_clock_rate(8000));
    }

    #[test]
    fn other_kinds_keep_8000_hz_audio() {
        for kind in [CodecKind::Pcmu, CodecKind::Pcma, CodecKind::TelephoneEvent] {
            assert_eq!(kind.audio_rate(), 8000);
            assert_eq!(kind.clock_rate(), 8000);
        }
    }
}
