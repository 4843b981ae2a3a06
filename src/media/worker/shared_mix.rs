//! A room's shared encodes: every member who is not among the speakers
//! hears the same mix (per listening volume), so that mix is resampled and
//! encoded once per codec and settings, and the payload handed to each such
//! member, who sends it under its own sequence number, timestamp and SSRC.
//! Only speakers (and members at another ptime, or hearing a prompt) get an
//! encode of their own; the cost of a room grows with its speakers and its
//! codecs, not with its listeners.
//!
//! A member moving between its own encode and the shared one switches
//! encoder state mid-stream; for G.711 nothing changes, and stateful
//! decoders (G.722, Opus) settle within a few milliseconds, the same
//! trade every MCU that shares encodes makes.
//!
//! A tick first asks for the encodes its members need ([`SharedEncodes::want`]),
//! then makes them all ([`SharedEncodes::encode`]): a tick with several
//! fans them out over rayon's pool, as a room of many codecs and volumes
//! would otherwise serialise them on its worker.

use rayon::prelude::*;

use crate::codec::resample::FrameResampler;
use crate::codec::{new_encoder_with, AudioEncoder};
use crate::media::conference::{MAX_PAYLOAD, ROOM_PTIME_MS};
use crate::media::mixer::Mixer;
use crate::media::session::SharedMixKey;

/// Encodes in one tick from which the work is spread over rayon's threads
/// (below it, handing the work over costs more than it saves).
const PARALLEL_ENCODES: usize = 4;

/// Ticks an encode may go unwanted before it is dropped (5 s): a listener
/// leaving briefly for a prompt does not rebuild an Opus encoder.
const IDLE_TICKS: u64 = 250;

struct SharedEncode {
    key: SharedMixKey,
    variant: u32,
    /// With the room's announcement added.
    announced: bool,
    /// Room rate to the codec's rate.
    resampler: FrameResampler,
    input: Box<[i16]>,
    pcm: Box<[i16]>,
    encoder: Box<dyn AudioEncoder>,
    payload: Box<[u8]>,
    /// This tick's payload length; None when it could not be made.
    len: Option<usize>,
    wanted: u64,
    encoded: u64,
}

impl SharedEncode {
    fn new(
        key: SharedMixKey,
        variant: u32,
        announced: bool,
        room_rate: u32,
    ) -> Option<SharedEncode> {
        let resampler =
            FrameResampler::new(room_rate, key.codec.audio_rate(), ROOM_PTIME_MS).ok()?;
        let encoder = new_encoder_with(key.codec, &key.options).ok()?;
        Some(SharedEncode {
            key,
            variant,
            announced,
            input: vec![0; resampler.input_len()].into_boxed_slice(),
            pcm: vec![0; resampler.output_len()].into_boxed_slice(),
            resampler,
            encoder,
            payload: vec![0; MAX_PAYLOAD].into_boxed_slice(),
            len: None,
            wanted: 0,
            encoded: 0,
        })
    }

    fn encode(&mut self, tick: u64, mix: &[i16], announcement: Option<&[i16]>) {
        self.len = None;
        if mix.len() != self.input.len() {
            return;
        }
        self.input.copy_from_slice(mix);
        if let Some(extra) = announcement.filter(|_| self.announced) {
            for (sample, &add) in self.input.iter_mut().zip(extra) {
                *sample = sample.saturating_add(add);
            }
        }
        if self.encoded + 1 != tick {
            // Resumed after unwanted ticks: no stale tail.
            self.resampler.reset();
        }
        self.encoded = tick;
        if self.resampler.process(&self.input, &mut self.pcm).is_err() {
            return;
        }
        self.len = self.encoder.encode(&self.pcm, &mut self.payload).ok();
    }
}

/// The shared encodes of one room.
#[derive(Default)]
pub(super) struct SharedEncodes {
    encodes: Vec<SharedEncode>,
    tick: u64,
}

/// Which of a room's shared encodes a member is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EncodeIndex(usize);

impl SharedEncodes {
    /// Starts a room tick.
    pub fn begin_tick(&mut self) {
        self.tick += 1;
    }

    /// The encode of the shared mix at `variant` (with the announcement
    /// when `announced`) for members with `key`, to be made this tick.
    /// A combination seen for the first time builds its encoder (the only
    /// allocation, once per codec and volume); None when it cannot be built.
    pub fn want(
        &mut self,
        key: SharedMixKey,
        variant: u32,
        announced: bool,
        room_rate: u32,
    ) -> Option<EncodeIndex> {
        let found = self
            .encodes
            .iter()
            .position(|e| e.key == key && e.variant == variant && e.announced == announced);
        let index = match found {
            Some(index) => index,
            None => {
                self.encodes
                    .push(SharedEncode::new(key, variant, announced, room_rate)?);
                self.encodes.len() - 1
            }
        };
        self.encodes[index].wanted = self.tick;
        Some(EncodeIndex(index))
    }

    /// Makes every encode wanted this tick from `mixer`'s shared mixes,
    /// with `announcement` added where asked; how many were made.
    pub fn encode(&mut self, mixer: &Mixer, announcement: Option<&[i16]>) -> usize {
        let tick = self.tick;
        let wanted = self.encodes.iter().filter(|e| e.wanted == tick).count();
        let work = |e: &mut SharedEncode| {
            if e.wanted == tick {
                e.encode(tick, mixer.shared_mix(e.variant), announcement);
            }
        };
        if wanted >= PARALLEL_ENCODES {
            self.encodes.par_iter_mut().for_each(work);
        } else {
            self.encodes.iter_mut().for_each(work);
        }
        wanted
    }

    /// This tick's payload of encode `index`.
    pub fn payload(&self, index: EncodeIndex) -> Option<&[u8]> {
        let e = self.encodes.get(index.0)?;
        let len = e.len.filter(|_| e.encoded == self.tick)?;
        e.payload.get(..len)
    }

    /// Drops encodes nobody has wanted for a while. Call after the tick's
    /// payloads are handed out (indices shift).
    pub fn retire_idle(&mut self) {
        let tick = self.tick;
        self.encodes.retain(|e| tick - e.wanted < IDLE_TICKS);
    }

    /// Forgets every encode (the room's rate changed).
    pub fn clear(&mut self) {
        self.encodes.clear();
    }

    /// Encodes kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.encodes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{new_decoder, CodecKind, CodecOptions};
    use crate::media::mixer::MixerConfig;

    fn key(codec: CodecKind) -> SharedMixKey {
        SharedMixKey {
            codec,
            options: CodecOptions::default(),
        }
    }

    /// A room at 16 kHz whose one speaker sends a 1 kHz tone.
    fn speaking_room() -> (Mixer, Vec<i16>) {
        let mut mixer = Mixer::new(MixerConfig::new(16_000)).unwrap_or_else(|e| panic!("{e}"));
        for id in 1..=3 {
            mixer.add_member(id).unwrap_or_else(|e| panic!("{e}"));
        }
        let tone: Vec<i16> = (0..320)
            .map(|n| (8000.0 * (std::f32::consts::TAU * 1000.0 * n as f32 / 16_000.0).sin()) as i16)
            .collect();
        (mixer, tone)
    }

    #[test]
    fn one_encode_per_codec_serves_every_listener() {
        let (mut mixer, tone) = speaking_room();
        let mut encodes = SharedEncodes::default();
        let mut decoded = Vec::new();
        let mut decoder = new_decoder(CodecKind::Pcmu).unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..20 {
            mixer.push(1, &tone);
            mixer.mix();
            encodes.begin_tick();
            let a = encodes.want(key(CodecKind::Pcmu), 0, false, 16_000);
            let b = encodes.want(key(CodecKind::Pcmu), 0, false, 16_000);
            let c = encodes.want(key(CodecKind::G722), 0, false, 16_000);
            assert_eq!(a, b, "listeners with one codec share one encode");
            assert_ne!(a, c);
            encodes.encode(&mixer, None);
            let (Some(a), Some(c)) = (a, c) else {
                panic!("encodes not built")
            };
            let pcmu = encodes.payload(a).unwrap_or_else(|| panic!("no payload"));
            assert_eq!(pcmu.len(), 160, "20 ms at 8 kHz");
            assert_eq!(encodes.payload(c).map(<[u8]>::len), Some(160));
            let mut frame = [0i16; 160];
            decoder
                .decode(pcmu, &mut frame)
                .unwrap_or_else(|e| panic!("{e}"));
            decoded.extend_from_slice(&frame);
        }
        assert_eq!(encodes.len(), 2);
        // The listeners hear the speaker's 1 kHz: 2 zero crossings a ms.
        let tail = &decoded[decoded.len() - 800..];
        let crossings = tail.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert!(
            (190..=210).contains(&crossings),
            "{crossings} crossings in 100 ms"
        );
    }

    #[test]
    fn many_encodes_in_one_tick_all_come_out_and_idle_ones_retire() {
        let (mut mixer, tone) = speaking_room();
        let mut encodes = SharedEncodes::default();
        let codecs = [
            CodecKind::Pcmu,
            CodecKind::Pcma,
            CodecKind::G722,
            CodecKind::Opus,
        ];
        mixer.push(1, &tone);
        mixer.mix();
        encodes.begin_tick();
        let mut wanted = Vec::new();
        for codec in codecs {
            for announced in [false, true] {
                wanted.push(encodes.want(key(codec), 0, announced, 16_000));
            }
        }
        let announcement = vec![1000i16; 320];
        encodes.encode(&mixer, Some(&announcement));
        for index in wanted.iter().flatten() {
            assert!(encodes.payload(*index).is_some_and(|p| !p.is_empty()));
        }
        assert_eq!(wanted.iter().flatten().count(), 8);
        // Only PCMU is wanted from now on; the others go after 5 s.
        for _ in 0..IDLE_TICKS {
            encodes.begin_tick();
            encodes.want(key(CodecKind::Pcmu), 0, false, 16_000);
            encodes.encode(&mixer, None);
            encodes.retire_idle();
        }
        assert_eq!(encodes.len(), 1);
    }
}
