//! Everything after the lossy hop, on clean links: 8 kHz PCM → the middle
//! codec at its own rate → back to 8 kHz → PCMU to the far end. Without a
//! middle codec only the resampling round trip remains, to tell its share
//! of the loss from the codec's.

use std::error::Error;

use mediaplane::codec::resample::FrameResampler;
use mediaplane::codec::{new_decoder, new_encoder, AudioDecoder, AudioEncoder, CodecKind};

/// Room for any one encoded frame (an Opus frame is at most 1275 bytes).
const MAX_PAYLOAD: usize = 1500;

/// One codec hop: encode, then decode what the next hop receives.
struct Hop {
    encoder: Box<dyn AudioEncoder>,
    decoder: Box<dyn AudioDecoder>,
    payload: Vec<u8>,
    pcm: Vec<i16>,
}

impl Hop {
    fn new(codec: CodecKind, frame: usize) -> Result<Self, Box<dyn Error>> {
        Ok(Hop {
            encoder: new_encoder(codec)?,
            decoder: new_decoder(codec)?,
            payload: vec![0; MAX_PAYLOAD],
            pcm: vec![0; frame],
        })
    }

    fn run(&mut self, input: &[i16]) -> Result<&[i16], Box<dyn Error>> {
        let len = self.encoder.encode(input, &mut self.payload)?;
        let n = self.decoder.decode(&self.payload[..len], &mut self.pcm)?;
        if n != self.pcm.len() {
            return Err(format!("decoder gave {n} samples, expected {}", self.pcm.len()).into());
        }
        Ok(&self.pcm)
    }
}

/// The middle codec and the far PCMU leg, one 20 ms frame at a time.
pub struct Transcoder {
    up: FrameResampler,
    middle: Option<Hop>,
    down: FrameResampler,
    far: Hop,
    wide: Vec<i16>,
    narrow: Vec<i16>,
}

impl Transcoder {
    /// `middle` runs at `middle_hz`, its audio rate.
    pub fn new(
        middle: Option<CodecKind>,
        middle_hz: u32,
        ptime_ms: u32,
    ) -> Result<Self, Box<dyn Error>> {
        let up = FrameResampler::new(8000, middle_hz, ptime_ms)?;
        let down = FrameResampler::new(middle_hz, 8000, ptime_ms)?;
        Ok(Transcoder {
            middle: middle
                .map(|codec| Hop::new(codec, up.output_len()))
                .transpose()?,
            far: Hop::new(CodecKind::Pcmu, down.output_len())?,
            wide: vec![0; up.output_len()],
            narrow: vec![0; down.output_len()],
            up,
            down,
        })
    }

    /// Passes one 8 kHz frame through, returning the far end's 8 kHz frame.
    pub fn process(&mut self, frame: &[i16]) -> Result<&[i16], Box<dyn Error>> {
        self.up.process(frame, &mut self.wide)?;
        let decoded = match &mut self.middle {
            Some(hop) => hop.run(&self.wide)?,
            None => &self.wide[..],
        };
        self.down.process(decoded, &mut self.narrow)?;
        self.far.run(&self.narrow)
    }
}
