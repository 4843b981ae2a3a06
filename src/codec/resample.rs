//! Sample-rate conversion for mono i16 audio.
//!
//! [`FrameResampler`] is the streaming form used on the media path: one fixed
//! frame in (e.g. 20 ms at 8 kHz = 160 samples), one fixed frame out (20 ms at
//! 48 kHz = 960 samples), with a constant delay. [`resample`] converts a whole
//! clip (a prompt) at once, with the delay removed.
//!
//! Both use rubato's synchronous FFT resampler: the rates mediaplane meets are
//! in small integer ratios, for which it is the cheapest converter with a
//! proper anti-aliasing filter.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

/// Lowest sample rate accepted.
pub const MIN_RATE_HZ: u32 = 1_000;
/// Highest sample rate accepted. Bounds the FFT sizes a file header can ask for.
pub const MAX_RATE_HZ: u32 = 384_000;
/// Longest frame accepted by [`FrameResampler`].
pub const MAX_FRAME_MS: u32 = 1_000;

/// The streaming resampler's FFT block aims at this duration: the delay is
/// half a block (5 ms), and a 10 ms block still gives a filter that passes
/// the telephone band (up to ~3.5 kHz at 8 kHz) and rejects aliases by about
/// 70 dB, far below G.711's own quantisation noise.
const STREAM_BLOCK_TARGET_MS: usize = 10;

/// The one-shot resampler has no delay budget, so it uses 100 ms blocks and
/// a filter whose transition band hugs the Nyquist frequency.
const CLIP_BLOCK_MS: usize = 100;

/// i16 full scale as a float, so that i16::MIN maps to exactly -1.0.
const FULL_SCALE: f32 = 32768.0;

/// Why a resampler could not be built or could not run.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("sample rate {0} Hz is outside {MIN_RATE_HZ}..={MAX_RATE_HZ} Hz")]
    UnsupportedRate(u32),
    #[error("frame duration {0} ms is outside 1..={MAX_FRAME_MS} ms")]
    UnsupportedFrame(u32),
    #[error("a {frame_ms} ms frame is not a whole number of samples at {rate_hz} Hz")]
    FractionalFrame { rate_hz: u32, frame_ms: u32 },
    #[error("input frame has {actual} samples, expected {expected}")]
    InputLength { expected: usize, actual: usize },
    #[error("output frame has {actual} samples, expected {expected}")]
    OutputLength { expected: usize, actual: usize },
    #[error("resampler produced {actual} samples for a frame, expected {expected}")]
    UnexpectedOutput { expected: usize, actual: usize },
    #[error("cannot build resampler: {0}")]
    Construction(#[from] rubato::ResamplerConstructionError),
    #[error("resampling failed: {0}")]
    Process(#[from] rubato::ResampleError),
    #[error("audio buffer size: {0}")]
    BufferSize(#[from] audioadapter_buffers::SizeError),
}

/// Converts a stream of fixed-duration mono frames from one rate to another.
///
/// Each [`process`](Self::process) call takes exactly one input frame and
/// yields exactly one output frame; the output lags the input by a constant
/// [`latency_samples`](Self::latency_samples). Nothing is allocated after
/// construction.
pub struct FrameResampler {
    from_hz: u32,
    to_hz: u32,
    input_len: usize,
    output_len: usize,
    latency_samples: usize,
    /// `None` when the rates are equal: frames are copied through unchanged.
    engine: Option<FftEngine>,
}

/// The rubato resampler and the float buffers it works in.
struct FftEngine {
    resampler: Fft<f32>,
    input: Vec<f32>,
    output: Vec<f32>,
}

impl FrameResampler {
    /// Builds a resampler for `frame_ms` frames from `from_hz` to `to_hz`.
    pub fn new(from_hz: u32, to_hz: u32, frame_ms: u32) -> Result<Self, ResampleError> {
        check_rate(from_hz)?;
        check_rate(to_hz)?;
        if frame_ms == 0 || frame_ms > MAX_FRAME_MS {
            return Err(ResampleError::UnsupportedFrame(frame_ms));
        }
        let input_len = frame_samples(from_hz, frame_ms)?;
        let output_len = frame_samples(to_hz, frame_ms)?;
        if from_hz == to_hz {
            return Ok(FrameResampler {
                from_hz,
                to_hz,
                input_len,
                output_len,
                latency_samples: 0,
                engine: None,
            });
        }

        // The FFT block must be a whole number of the smallest block the rate
        // pair allows, and it must divide the frame: then every frame holds
        // whole blocks and yields exactly one output frame, with no leftover
        // samples carried between calls and no buffering delay beyond the
        // filter's own.
        let gcd = gcd(from_hz as usize, to_hz as usize);
        let min_block = from_hz as usize / gcd;
        let target = from_hz as usize * STREAM_BLOCK_TARGET_MS / 1000;
        let block = choose_block(input_len, min_block, target);
        let resampler = Fft::<f32>::new_custom(
            from_hz as usize,
            to_hz as usize,
            input_len,
            input_len / block,
            1,
            // Blackman rather than rubato's default squared Blackman-Harris:
            // a narrower transition band for the same block (and delay), with
            // ~70 dB of stop-band rejection, ample for 16-bit telephony.
            WindowFunction::Blackman,
            FixedSync::Input,
        )?;
        if resampler.output_frames_next() != output_len || resampler.fft_size_in() != block {
            return Err(ResampleError::UnexpectedOutput {
                expected: output_len,
                actual: resampler.output_frames_next(),
            });
        }
        let latency_samples = resampler.output_delay();
        Ok(FrameResampler {
            from_hz,
            to_hz,
            input_len,
            output_len,
            latency_samples,
            engine: Some(FftEngine {
                input: vec![0.0; input_len],
                output: vec![0.0; resampler.output_frames_max().max(output_len)],
                resampler,
            }),
        })
    }

    /// Resamples one frame: `input` must hold [`input_len`](Self::input_len)
    /// samples and `output` [`output_len`](Self::output_len).
    pub fn process(&mut self, input: &[i16], output: &mut [i16]) -> Result<(), ResampleError> {
        if input.len() != self.input_len {
            return Err(ResampleError::InputLength {
                expected: self.input_len,
                actual: input.len(),
            });
        }
        if output.len() != self.output_len {
            return Err(ResampleError::OutputLength {
                expected: self.output_len,
                actual: output.len(),
            });
        }
        match &mut self.engine {
            None => output.copy_from_slice(input),
            Some(engine) => engine.process(input, output)?,
        }
        Ok(())
    }

    /// Forgets all past input, as if freshly built (e.g. after a stream restart).
    pub fn reset(&mut self) {
        if let Some(engine) = &mut self.engine {
            engine.resampler.reset();
        }
    }

    /// How many output samples the output lags the input: a sound entering
    /// at input sample 0 comes out at output sample `latency_samples()`.
    pub fn latency_samples(&self) -> usize {
        self.latency_samples
    }

    /// Samples per input frame.
    pub fn input_len(&self) -> usize {
        self.input_len
    }

    /// Samples per output frame.
    pub fn output_len(&self) -> usize {
        self.output_len
    }

    /// Input sample rate in Hz.
    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    /// Output sample rate in Hz.
    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }
}

impl std::fmt::Debug for FrameResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameResampler")
            .field("from_hz", &self.from_hz)
            .field("to_hz", &self.to_hz)
            .field("input_len", &self.input_len)
            .field("output_len", &self.output_len)
            .field("latency_samples", &self.latency_samples)
            .finish()
    }
}

impl FftEngine {
    fn process(&mut self, input: &[i16], output: &mut [i16]) -> Result<(), ResampleError> {
        for (dst, &sample) in self.input.iter_mut().zip(input) {
            *dst = f32::from(sample) / FULL_SCALE;
        }
        let frames_in = self.input.len();
        let frames_out = self.output.len();
        let adapter_in = InterleavedSlice::new(&self.input[..], 1, frames_in)?;
        let mut adapter_out = InterleavedSlice::new_mut(&mut self.output[..], 1, frames_out)?;
        let (_, produced) =
            self.resampler
                .process_into_buffer(&adapter_in, &mut adapter_out, None)?;
        if produced != output.len() {
            return Err(ResampleError::UnexpectedOutput {
                expected: output.len(),
                actual: produced,
            });
        }
        for (dst, &sample) in output.iter_mut().zip(&self.output) {
            *dst = to_i16(sample);
        }
        Ok(())
    }
}

/// Resamples a whole clip from `from_hz` to `to_hz`.
///
/// The output has `round(len × to_hz / from_hz)` samples and is aligned with
/// the input: the resampler's delay is trimmed, so sample `n` of the output
/// is at the same instant as input time `n / to_hz`. Meant for prompts,
/// decoded once; it allocates.
pub fn resample(samples: &[i16], from_hz: u32, to_hz: u32) -> Result<Vec<i16>, ResampleError> {
    check_rate(from_hz)?;
    check_rate(to_hz)?;
    if from_hz == to_hz {
        return Ok(samples.to_vec());
    }
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let output_len = scaled_len(samples.len(), from_hz, to_hz);
    // One block per chunk, rounded up to a whole number of the smallest block
    // the rate pair allows, and even (see `choose_block`).
    let mut min_block = from_hz as usize / gcd(from_hz as usize, to_hz as usize);
    if min_block % 2 == 1 {
        min_block *= 2;
    }
    let chunk = (from_hz as usize * CLIP_BLOCK_MS / 1000).div_ceil(min_block) * min_block;
    let mut resampler = Fft::<f32>::new_custom(
        from_hz as usize,
        to_hz as usize,
        chunk,
        1,
        1,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )?;
    let input: Vec<f32> = samples.iter().map(|&s| f32::from(s) / FULL_SCALE).collect();
    let adapter_in = InterleavedSlice::new(&input[..], 1, input.len())?;
    // process_all trims the resampler's delay from the front of its output.
    let resampled = resampler.process_all(&adapter_in, input.len(), None)?;
    let mut output: Vec<i16> = resampled
        .take_data()
        .into_iter()
        .take(output_len)
        .map(to_i16)
        .collect();
    output.resize(output_len, 0);
    Ok(output)
}

/// `len × to_hz / from_hz`, rounded to the nearest sample.
fn scaled_len(len: usize, from_hz: u32, to_hz: u32) -> usize {
    let scaled = (len as u128 * u128::from(to_hz) + u128::from(from_hz) / 2) / u128::from(from_hz);
    usize::try_from(scaled).unwrap_or(usize::MAX)
}

fn check_rate(rate_hz: u32) -> Result<(), ResampleError> {
    if (MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate_hz) {
        Ok(())
    } else {
        Err(ResampleError::UnsupportedRate(rate_hz))
    }
}

fn frame_samples(rate_hz: u32, frame_ms: u32) -> Result<usize, ResampleError> {
    let product = u64::from(rate_hz) * u64::from(frame_ms);
    if !product.is_multiple_of(1000) {
        return Err(ResampleError::FractionalFrame { rate_hz, frame_ms });
    }
    Ok((product / 1000) as usize)
}

/// The divisor of `frame_len` that is a multiple of `min_block` and closest
/// to `target`. `min_block` always divides a whole frame (the output frame
/// would otherwise be fractional), so there is at least one candidate.
///
/// Even blocks come first: rubato centres its filter on sample `block / 2`,
/// which for an odd block is half a sample off the window's centre, so the
/// delay would no longer be the whole number `output_delay()` reports.
fn choose_block(frame_len: usize, min_block: usize, target: usize) -> usize {
    (1..=frame_len / min_block)
        .map(|blocks| blocks * min_block)
        .filter(|&block| frame_len.is_multiple_of(block))
        .min_by_key(|block| (block % 2, block.abs_diff(target)))
        .unwrap_or(frame_len)
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Rounds to the nearest integer sample and saturates: the filter may
/// overshoot full scale slightly on full-scale input.
fn to_i16(sample: f32) -> i16 {
    (sample * FULL_SCALE).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests;
