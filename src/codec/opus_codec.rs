//! Opus (RFC 6716) behind the codec traits, carried in RTP as RFC 7587 says.
//!
//! Mono at 48 kHz: the RTP clock of Opus is always 48 kHz (RFC 7587 §4.1)
//! and libopus codes at 48 kHz natively, so samples map one to one to RTP
//! ticks. A 20 ms frame is 960 samples. Both directions are mono; a stereo
//! peer's packets are downmixed by libopus when decoded into one channel
//! (RFC 6716 §2.1.2 makes every packet decodable as mono).

use audiopus::coder::{Decoder, Encoder, GenericCtl};
use audiopus::packet::{self, Packet};
use audiopus::{Application, Bandwidth, Bitrate, Channels, ErrorCode, MutSignals, SampleRate};

use super::opus_fmtp::OpusParams;
use super::{AudioDecoder, AudioEncoder, CodecError, CodecKind};

/// Samples in one 20 ms frame at 48 kHz.
pub const FRAME_SAMPLES: usize = 960;

/// The largest payload one Opus frame needs: 1275 bytes (RFC 6716 §3.2.1);
/// an output buffer this long never limits the encoder.
pub const MAX_PAYLOAD: usize = 1275;

/// The smallest unit of Opus audio: 2.5 ms at 48 kHz (RFC 6716 §2.1.4).
/// Concealment and FEC must ask for whole multiples of it.
const GRANULE: usize = 120;

/// Frame durations an encoder accepts: 2.5, 5, 10, 20, 40 and 60 ms at 48 kHz
/// (RFC 6716 §2.1.4).
const ENCODER_FRAME_SIZES: [usize; 6] = [120, 240, 480, 960, 1920, 2880];

/// The longest audio one packet may carry: 120 ms (RFC 6716 §3.2.5).
const MAX_PACKET_SAMPLES: usize = 5760;

/// Encoder settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpusConfig {
    /// 0 (cheapest) to 10 (best); 5 keeps a 20 ms frame well under a
    /// millisecond of CPU while sounding close to 10 for speech.
    pub complexity: u8,
    /// Target bit rate in bit/s. 24 kbit/s is wideband speech of good
    /// quality (RFC 6716 §2.1.1 puts fullband speech at 28–40 kbit/s,
    /// wideband at 16–20).
    pub bitrate_bps: u32,
    /// Send in-band FEC (LBRR, RFC 6716 §2.1.7): each packet also carries a
    /// coarse copy of the previous frame. libopus only emits it when
    /// `packet_loss_percent` is above zero as well.
    pub inband_fec: bool,
    /// The loss rate the encoder plans for (0–100); it spends more bits on
    /// FEC and less on prediction as this grows.
    pub packet_loss_percent: u8,
    /// The widest audio band the encoder may code.
    pub max_bandwidth: OpusBandwidth,
}

/// Opus audio bandwidths (RFC 6716 §2), by the sample rate that carries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpusBandwidth {
    /// 4 kHz audio, 8 kHz sampling.
    Narrow,
    /// 6 kHz audio, 12 kHz sampling.
    Medium,
    /// 8 kHz audio, 16 kHz sampling.
    Wide,
    /// 12 kHz audio, 24 kHz sampling.
    SuperWide,
    /// 20 kHz audio, 48 kHz sampling.
    Full,
}

impl OpusBandwidth {
    /// The widest band a receiver playing at `hz` can use: RFC 7587 §6.1
    /// lets the sender stop at `maxplaybackrate`.
    pub fn for_playback_rate(hz: u32) -> Self {
        match hz {
            0..=8000 => OpusBandwidth::Narrow,
            8001..=12_000 => OpusBandwidth::Medium,
            12_001..=16_000 => OpusBandwidth::Wide,
            16_001..=24_000 => OpusBandwidth::SuperWide,
            _ => OpusBandwidth::Full,
        }
    }

    fn library(self) -> Bandwidth {
        match self {
            OpusBandwidth::Narrow => Bandwidth::Narrowband,
            OpusBandwidth::Medium => Bandwidth::Mediumband,
            OpusBandwidth::Wide => Bandwidth::Wideband,
            OpusBandwidth::SuperWide => Bandwidth::Superwideband,
            OpusBandwidth::Full => Bandwidth::Fullband,
        }
    }
}

/// The loss rate the encoder plans for when the peer asks for FEC: enough
/// for libopus to spend bits on LBRR (RFC 6716 §2.1.7) without starving
/// the main frame.
pub const FEC_LOSS_PERCENT: u8 = 10;

impl OpusConfig {
    /// The encoder settings the peer's fmtp asks for (RFC 7587 §6.1):
    /// FEC when it says `useinbandfec=1`, no wider band than its
    /// `maxplaybackrate`, no more than its `maxaveragebitrate`. We encode
    /// mono whatever its `stereo` says: that is only a preference.
    pub fn for_peer(peer: &OpusParams) -> Self {
        let default = OpusConfig::default();
        OpusConfig {
            inband_fec: peer.use_inband_fec,
            packet_loss_percent: if peer.use_inband_fec {
                FEC_LOSS_PERCENT
            } else {
                0
            },
            max_bandwidth: OpusBandwidth::for_playback_rate(peer.max_playback_rate),
            bitrate_bps: peer
                .max_average_bitrate
                .map_or(default.bitrate_bps, |cap| cap.min(default.bitrate_bps)),
            ..default
        }
    }
}

impl Default for OpusConfig {
    /// FEC is off by default: RFC 7587 §6.1 has the receiver announce FEC
    /// use with `useinbandfec=1`, whose default is 0.
    fn default() -> Self {
        OpusConfig {
            complexity: 5,
            bitrate_bps: 24_000,
            inband_fec: false,
            packet_loss_percent: 0,
            max_bandwidth: OpusBandwidth::Full,
        }
    }
}

/// Maps a libopus failure to the codec layer's error.
fn map_error(error: audiopus::Error) -> CodecError {
    let kind = CodecKind::Opus;
    let reason = match error {
        audiopus::Error::Opus(ErrorCode::InvalidPacket) => {
            return CodecError::InvalidPayload(kind);
        }
        audiopus::Error::EmptyPacket => return CodecError::EmptyPayload,
        audiopus::Error::Opus(ErrorCode::BadArgument) => "bad argument",
        audiopus::Error::Opus(ErrorCode::BufferTooSmall) => "buffer too small",
        audiopus::Error::Opus(ErrorCode::InternalError) => "internal error",
        audiopus::Error::Opus(ErrorCode::Unimplemented) => "unimplemented request",
        audiopus::Error::Opus(ErrorCode::InvalidState) => "invalid state",
        audiopus::Error::Opus(ErrorCode::AllocFail) => "allocation failed",
        audiopus::Error::Opus(ErrorCode::Unknown) => "unknown error code",
        audiopus::Error::InvalidComplexity(_) => "complexity out of range",
        audiopus::Error::InvalidBitrate(_) => "bit rate out of range",
        audiopus::Error::InvalidApplication
        | audiopus::Error::InvalidBandwidth(_)
        | audiopus::Error::InvalidSignal(_)
        | audiopus::Error::InvalidSampleRate(_)
        | audiopus::Error::InvalidChannels(_)
        | audiopus::Error::MappingExpectedLen(_) => "invalid setting",
        audiopus::Error::SignalsTooLarge | audiopus::Error::PacketTooLarge => "buffer too large",
    };
    CodecError::Library { kind, reason }
}

fn setting(reason: &'static str) -> CodecError {
    CodecError::Library {
        kind: CodecKind::Opus,
        reason,
    }
}

/// Opus encoder: mono, 48 kHz, tuned for voice.
#[derive(Debug)]
pub struct OpusEncoder {
    encoder: Encoder,
}

impl OpusEncoder {
    pub fn new(config: OpusConfig) -> Result<Self, CodecError> {
        if config.complexity > 10 {
            return Err(setting("complexity above 10"));
        }
        if config.packet_loss_percent > 100 {
            return Err(setting("packet loss above 100 %"));
        }
        // RFC 6716 §2.1.1: 6 to 510 kbit/s.
        let bitrate = i32::try_from(config.bitrate_bps)
            .ok()
            .filter(|b| (6_000..=510_000).contains(b))
            .ok_or(setting("bit rate outside 6–510 kbit/s"))?;
        // VoIP favours intelligibility and enables the speech tools (SILK,
        // and with them LBRR FEC), RFC 6716 §2.
        let mut encoder = Encoder::new(SampleRate::Hz48000, Channels::Mono, Application::Voip)
            .map_err(map_error)?;
        encoder
            .set_complexity(config.complexity)
            .map_err(map_error)?;
        encoder
            .set_bitrate(Bitrate::BitsPerSecond(bitrate))
            .map_err(map_error)?;
        encoder
            .set_inband_fec(config.inband_fec)
            .map_err(map_error)?;
        encoder
            .set_packet_loss_perc(config.packet_loss_percent)
            .map_err(map_error)?;
        encoder
            .set_max_bandwidth(config.max_bandwidth.library())
            .map_err(map_error)?;
        Ok(OpusEncoder { encoder })
    }

    /// Samples of delay the encoder adds (its look-ahead, 6.5 ms in VoIP mode).
    pub fn lookahead(&self) -> Result<u32, CodecError> {
        self.encoder.lookahead().map_err(map_error)
    }
}

impl AudioEncoder for OpusEncoder {
    fn kind(&self) -> CodecKind {
        CodecKind::Opus
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        // libopus rejects other lengths with a bare "bad argument"; say why.
        if !ENCODER_FRAME_SIZES.contains(&pcm.len()) {
            return Err(CodecError::FrameSize {
                kind: CodecKind::Opus,
                samples: pcm.len(),
            });
        }
        if out.is_empty() {
            return Err(CodecError::OutputTooSmall {
                needed: 1,
                available: 0,
            });
        }
        // A buffer shorter than MAX_PAYLOAD caps the payload size (libopus
        // lowers the rate to fit); it is not an error.
        let out = match out.len() {
            n if n > MAX_PAYLOAD => &mut out[..MAX_PAYLOAD],
            _ => out,
        };
        self.encoder.encode(pcm, out).map_err(map_error)
    }
}

/// Opus decoder: mono output at 48 kHz, libopus concealment and FEC.
#[derive(Debug)]
pub struct OpusDecoder {
    decoder: Decoder,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, CodecError> {
        let decoder = Decoder::new(SampleRate::Hz48000, Channels::Mono).map_err(map_error)?;
        Ok(OpusDecoder { decoder })
    }

    /// Decodes into exactly `out`, for loss (`payload` None) or FEC, where
    /// libopus needs the missing duration in whole 2.5 ms granules.
    fn decode_missing(
        &mut self,
        payload: Option<Packet<'_>>,
        out: &mut [i16],
        fec: bool,
    ) -> Result<usize, CodecError> {
        let signals = MutSignals::try_from(out).map_err(map_error)?;
        self.decoder
            .decode(payload, signals, fec)
            .map_err(map_error)
    }
}

impl AudioDecoder for OpusDecoder {
    fn kind(&self) -> CodecKind {
        CodecKind::Opus
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let packet = Packet::try_from(payload).map_err(map_error)?;
        // The TOC byte and frame count give the duration (RFC 6716 §3.1),
        // so a short buffer is reported with the size it needed.
        // `Packet` is not Copy and nb_samples consumes one, hence a second.
        let needed = packet::nb_samples(
            Packet::try_from(payload).map_err(map_error)?,
            SampleRate::Hz48000,
        )
        .map_err(map_error)?;
        // RFC 6716 §3.4 R5: a code 3 packet with zero frames, or more
        // than 120 ms of them, is malformed.
        if needed == 0 || needed > MAX_PACKET_SAMPLES {
            return Err(CodecError::InvalidPayload(CodecKind::Opus));
        }
        let available = out.len();
        let out = out
            .get_mut(..needed)
            .ok_or(CodecError::OutputTooSmall { needed, available })?;
        let signals = MutSignals::try_from(out).map_err(map_error)?;
        self.decoder
            .decode(Some(packet), signals, false)
            .map_err(map_error)
    }

    fn conceal(&mut self, out: &mut [i16]) -> usize {
        // libopus extrapolates from its state (SILK pitch/LPC or CELT
        // spectral repetition) and fades out over consecutive losses.
        let whole = out.len() / GRANULE * GRANULE;
        let (head, tail) = out.split_at_mut(whole);
        let written = if whole == 0 {
            0
        } else {
            self.decode_missing(None, head, false).unwrap_or_else(|_| {
                head.fill(0);
                whole
            })
        };
        // Anything that is not a whole granule (never for 10/20/40/60 ms
        // frames) is silence.
        tail.fill(0);
        written + tail.len()
    }

    fn supports_fec(&self) -> bool {
        true
    }

    fn decode_fec(&mut self, next_payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        // RFC 7587 §3.3 / RFC 6716 §4.2.5: decode the LBRR data of the packet
        // after the loss; libopus falls back to concealment when the packet
        // carries none, so the caller always gets audio for the gap.
        if out.is_empty() || !out.len().is_multiple_of(GRANULE) || out.len() > MAX_PACKET_SAMPLES {
            return Err(CodecError::FrameSize {
                kind: CodecKind::Opus,
                samples: out.len(),
            });
        }
        let packet = Packet::try_from(next_payload).map_err(map_error)?;
        self.decode_missing(Some(packet), out, true)
    }

    fn reset(&mut self) {
        // OPUS_RESET_STATE cannot fail on a live decoder; if it ever did, the
        // old state only makes the next frame's start a little off.
        let _ = self.decoder.reset_state();
    }
}

#[cfg(test)]
mod tests;
