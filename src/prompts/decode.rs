//! Decoding one prompt file (WAV, FLAC, MP3, Ogg Vorbis) to mono i16 at the
//! file's own sample rate.

use std::fs::File;
use std::io::ErrorKind;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::codec::resample::{MAX_RATE_HZ, MIN_RATE_HZ};

/// File extensions tried as prompts (compared case-insensitively); other
/// files in a prompt folder (a README, say) are not prompts.
pub const PROMPT_EXTENSIONS: [&str; 5] = ["wav", "flac", "mp3", "ogg", "oga"];

/// The longest prompt accepted: prompts are held in memory, decoded, and a
/// mislabelled hour-long recording should not exhaust it.
pub const MAX_PROMPT_SECONDS: u64 = 600;

/// A decoded prompt: mono samples at `rate_hz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedAudio {
    pub samples: Vec<i16>,
    pub rate_hz: u32,
}

/// Why a file could not be used as a prompt.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("cannot open: {0}")]
    Open(#[source] std::io::Error),
    #[error("not a recognised audio file: {0}")]
    Format(#[source] SymphoniaError),
    #[error("no audio track")]
    NoAudioTrack,
    #[error("no decoder for its codec: {0}")]
    Codec(#[source] SymphoniaError),
    #[error("unreadable audio data: {0}")]
    Read(#[source] SymphoniaError),
    #[error("contains no audio samples")]
    NoAudio,
    #[error("sample rate {0} Hz is outside {MIN_RATE_HZ}..={MAX_RATE_HZ} Hz")]
    UnsupportedRate(u32),
    #[error("sample rate changes within the file ({first} Hz, then {later} Hz)")]
    RateChanged { first: u32, later: u32 },
    #[error("longer than {MAX_PROMPT_SECONDS} s")]
    TooLong,
    #[error("the decoder failed on malformed data")]
    DecoderPanicked,
}

/// Decodes the whole of `path`, mixing all channels down to one by averaging.
pub fn decode_file(path: &Path) -> Result<DecodedAudio, DecodeError> {
    // The demuxers and decoders parse untrusted bytes; should one of them
    // panic on a malformed file, that file is reported like any other bad
    // file instead of taking the whole catalogue (and the server) down.
    panic::catch_unwind(AssertUnwindSafe(|| decode_unguarded(path)))
        .unwrap_or(Err(DecodeError::DecoderPanicked))
}

fn decode_unguarded(path: &Path) -> Result<DecodedAudio, DecodeError> {
    let file = File::open(path).map_err(DecodeError::Open)?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(extension);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(DecodeError::Format)?;

    let track = format
        .default_track(TrackType::Audio)
        .ok_or(DecodeError::NoAudioTrack)?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or(DecodeError::NoAudioTrack)?;
    let declared_rate = params.sample_rate;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(DecodeError::Codec)?;

    let mut mono = MonoAccumulator::new(declared_rate);
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A chained stream with new tracks: the prompt is the first one.
            Err(SymphoniaError::ResetRequired) => break,
            // A file cut short keeps the audio before the cut.
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(DecodeError::Read(e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buffer) => {
                let spec = buffer.spec();
                let channels = spec.channels().count().max(1);
                let rate = spec.rate();
                buffer.copy_to_vec_interleaved(&mut mono.interleaved);
                mono.push(rate, channels)?;
            }
            // One damaged packet costs its few milliseconds, not the prompt.
            Err(SymphoniaError::DecodeError(_)) | Err(SymphoniaError::IoError(_)) => continue,
            Err(e) => return Err(DecodeError::Read(e)),
        }
    }
    mono.finish()
}

/// Collects decoded buffers as mono i16, checking rate and length as it goes.
struct MonoAccumulator {
    rate_hz: Option<u32>,
    samples: Vec<i16>,
    /// The last decoded buffer, interleaved, as floats in -1.0..=1.0.
    interleaved: Vec<f32>,
}

impl MonoAccumulator {
    fn new(declared_rate: Option<u32>) -> Self {
        MonoAccumulator {
            rate_hz: declared_rate.filter(|&r| r > 0),
            samples: Vec::new(),
            interleaved: Vec::new(),
        }
    }

    /// Downmixes `self.interleaved` (of `channels` channels at `rate_hz`).
    fn push(&mut self, rate_hz: u32, channels: usize) -> Result<(), DecodeError> {
        match self.rate_hz {
            Some(first) if first != rate_hz && !self.samples.is_empty() => {
                return Err(DecodeError::RateChanged {
                    first,
                    later: rate_hz,
                });
            }
            _ => self.rate_hz = Some(rate_hz),
        }
        if !(MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate_hz) {
            return Err(DecodeError::UnsupportedRate(rate_hz));
        }
        let frames = self.interleaved.len() / channels;
        let limit = MAX_PROMPT_SECONDS * u64::from(rate_hz);
        if (self.samples.len() + frames) as u64 > limit {
            return Err(DecodeError::TooLong);
        }
        let scale = 1.0 / channels as f32;
        self.samples
            .extend(self.interleaved.chunks_exact(channels).map(|frame| {
                let mean = frame.iter().sum::<f32>() * scale;
                (mean * 32768.0).round().clamp(-32768.0, 32767.0) as i16
            }));
        Ok(())
    }

    fn finish(self) -> Result<DecodedAudio, DecodeError> {
        match self.rate_hz {
            Some(rate_hz) if !self.samples.is_empty() => Ok(DecodedAudio {
                samples: self.samples,
                rate_hz,
            }),
            _ => Err(DecodeError::NoAudio),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn write_wav(
        path: &Path,
        spec: hound::WavSpec,
        frames: usize,
        sample: impl Fn(usize, u16) -> f64,
    ) {
        let mut writer = hound::WavWriter::create(path, spec).unwrap();
        for n in 0..frames {
            for channel in 0..spec.channels {
                let value = sample(n, channel);
                match (spec.sample_format, spec.bits_per_sample) {
                    (hound::SampleFormat::Float, _) => writer.write_sample(value as f32).unwrap(),
                    (hound::SampleFormat::Int, 16) => writer
                        .write_sample((value * 32767.0).round() as i16)
                        .unwrap(),
                    (hound::SampleFormat::Int, 24) => writer
                        .write_sample((value * 8_388_607.0).round() as i32)
                        .unwrap(),
                    other => panic!("unsupported test format {other:?}"),
                }
            }
        }
        writer.finalize().unwrap();
    }

    fn peak(samples: &[i16]) -> i16 {
        samples
            .iter()
            .map(|s| s.saturating_abs())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn stereo_is_averaged_to_mono() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stereo.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        // Left a half-scale sine, right silent: the mix is a quarter-scale sine.
        write_wav(&path, spec, 1_600, |n, ch| {
            if ch == 0 {
                0.5 * (2.0 * PI * 500.0 * n as f64 / 16_000.0).sin()
            } else {
                0.0
            }
        });
        let audio = decode_file(&path).unwrap();
        assert_eq!(audio.rate_hz, 16_000);
        assert_eq!(audio.samples.len(), 1_600);
        let peak = f64::from(peak(&audio.samples));
        assert!((peak / 8192.0 - 1.0).abs() < 0.01, "peak {peak}");
    }

    #[test]
    fn float_and_24_bit_samples_decode_to_the_same_level() {
        let dir = tempfile::tempdir().unwrap();
        let tone = |n: usize, _| 0.25 * (2.0 * PI * 1_000.0 * n as f64 / 48_000.0).sin();
        for (name, format, bits) in [
            ("float.wav", hound::SampleFormat::Float, 32),
            ("int24.wav", hound::SampleFormat::Int, 24),
        ] {
            let path = dir.path().join(name);
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 48_000,
                bits_per_sample: bits,
                sample_format: format,
            };
            write_wav(&path, spec, 4_800, tone);
            let audio = decode_file(&path).unwrap();
            assert_eq!(
                (audio.rate_hz, audio.samples.len()),
                (48_000, 4_800),
                "{name}"
            );
            let peak = f64::from(peak(&audio.samples));
            assert!((peak / 8192.0 - 1.0).abs() < 0.01, "{name}: peak {peak}");
        }
    }

    #[test]
    fn garbage_empty_and_silent_headers_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.wav");
        std::fs::write(&garbage, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunkjunk").unwrap();
        assert!(decode_file(&garbage).is_err());

        let empty = dir.path().join("empty.wav");
        std::fs::write(&empty, b"").unwrap();
        assert!(decode_file(&empty).is_err());

        let no_samples = dir.path().join("no-samples.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        write_wav(&no_samples, spec, 0, |_, _| 0.0);
        assert!(matches!(
            decode_file(&no_samples),
            Err(DecodeError::NoAudio)
        ));

        let missing = dir.path().join("missing.wav");
        assert!(matches!(decode_file(&missing), Err(DecodeError::Open(_))));
    }
}
