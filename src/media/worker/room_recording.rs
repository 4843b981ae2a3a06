//! A conference room's recording: every room tick the full mix (all the
//! speakers, nobody left out; join and leave tones are cues for the
//! members, not part of the meeting, so they are not recorded) goes to the
//! recorder thread like a leg's recording, in ~100 ms chunks from its pool.
//!
//! The room's rate rises when a member with a higher audio rate joins. The
//! file keeps the room's first rate and the mix is resampled to it: a WAV
//! has one rate, and one meeting stays one file at the path the control
//! plane chose and the API shows, rather than pieces to stitch together.
//! What is lost is only the band above the first members' rate, which most
//! of those listening did not hear either.

use crate::codec::resample::FrameResampler;
use crate::media::conference::ROOM_PTIME_MS;
use crate::media::mixer::Mixer;
use crate::media::recorder::{RecorderHandle, RecordingEnd, RecordingStream, RoomRecordingSpec};
use crate::media::recorder::{RecordingKey, RecordingOutcome};
use crate::media::worker::MediaEventKind;

use super::rooms::room_frame_len;
use super::Worker;

pub(super) struct RoomRecording {
    stream: RecordingStream,
    /// The file's rate: the room's when the recording began.
    rate: u32,
    room_rate: u32,
    /// From the room's rate to the file's, once they differ.
    resampler: Option<FrameResampler>,
    /// One room frame at the file's rate.
    resampled: Box<[i16]>,
}

/// A room recording is the only recording of its id.
fn key(spec: &RoomRecordingSpec) -> RecordingKey {
    (spec.id, 0)
}

impl RoomRecording {
    /// Starts recording what `mixer` mixes, at its rate.
    fn start(recorder: &RecorderHandle, spec: RoomRecordingSpec, mixer: &mut Mixer) -> Self {
        // Both members may be speaking: nobody listens to the shared mix.
        mixer.keep_full_mix(true);
        let rate = mixer.config().sample_rate;
        let frame = room_frame_len(rate);
        let stream = RecordingStream::open(recorder, key(&spec), spec.path, rate, frame);
        RoomRecording {
            stream,
            rate,
            room_rate: rate,
            resampler: None,
            resampled: vec![0; frame].into_boxed_slice(),
        }
    }

    /// The room now mixes with `mixer`, maybe at a higher rate (allocates
    /// the resampler: a join, not a tick).
    pub(super) fn set_mixer(&mut self, mixer: &mut Mixer) {
        mixer.keep_full_mix(true);
        let room_rate = mixer.config().sample_rate;
        self.room_rate = room_rate;
        self.resampler = None;
        if room_rate != self.rate {
            match FrameResampler::new(room_rate, self.rate, ROOM_PTIME_MS) {
                Ok(resampler) => self.resampler = Some(resampler),
                Err(e) => {
                    tracing::warn!(error = %e, "room recording cannot follow the room's rate")
                }
            }
        }
    }

    /// One room tick's full mix, at the room's rate.
    pub(super) fn push(&mut self, mix: &[i16]) {
        if self.room_rate == self.rate {
            self.stream.push(mix);
            return;
        }
        let resampled = match self.resampler.as_mut() {
            Some(resampler) => resampler.process(mix, &mut self.resampled).is_ok(),
            None => false,
        };
        if !resampled {
            // Silence keeps the file on the meeting's timeline.
            self.resampled.fill(0);
        }
        self.stream.push(&self.resampled);
    }
}

impl Drop for RoomRecording {
    /// The room closed: its last member left, or the worker stopped.
    fn drop(&mut self) {
        self.stream.close(RecordingEnd::RoomClosed);
    }
}

impl Worker {
    /// Starts recording room `room_index`'s mix at its current rate.
    pub(super) fn start_room_recording(&mut self, room_index: usize, spec: RoomRecordingSpec) {
        let Some(recorder) = self.recorder.clone() else {
            let outcome = RecordingOutcome {
                path: spec.path,
                duration: std::time::Duration::ZERO,
                end: RecordingEnd::Stopped,
                error: Some("this worker has no recorder".into()),
            };
            self.emit(spec.id, MediaEventKind::Recorded(outcome));
            return;
        };
        let Some(room) = self.rooms.get_mut(room_index).and_then(Option::as_mut) else {
            return;
        };
        room.recording = Some(RoomRecording::start(&recorder, spec, &mut room.mixer));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::media::mixer::{Mixer, MixerConfig};
    use crate::media::recorder::Recorder;
    use crate::media::stats::MediaMetrics;
    use crate::media::worker::MediaEvent;

    /// Frame `tick` (20 ms) of a sine at `rate`.
    fn tone(hz: f64, rate: u32, tick: usize) -> Vec<i16> {
        let len = room_frame_len(rate);
        (0..len)
            .map(|i| {
                let t = (tick * len + i) as f64 / f64::from(rate);
                (6000.0 * (std::f64::consts::TAU * hz * t).sin()) as i16
            })
            .collect()
    }

    /// Goertzel power at `hz`, as a share of the block's energy (a pure
    /// tone is 1).
    fn share(samples: &[i16], rate: u32, hz: f64) -> f64 {
        let coeff = 2.0 * (std::f64::consts::TAU * hz / f64::from(rate)).cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in samples {
            let s = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2) / samples.len() as f64;
        let energy: f64 = samples.iter().map(|&x| f64::from(x).powi(2)).sum();
        2.0 * power / energy.max(1.0)
    }

    /// A room's mixer at `rate` with two members.
    fn mixer(rate: u32) -> Mixer {
        let mut mixer = Mixer::new(MixerConfig::new(rate)).unwrap();
        mixer.add_member(1).unwrap();
        mixer.add_member(2).unwrap();
        mixer
    }

    /// Both members speak for `ticks`; the room's full mix is recorded.
    fn speak(recording: &mut RoomRecording, mixer: &mut Mixer, ticks: std::ops::Range<usize>) {
        let rate = mixer.config().sample_rate;
        for tick in ticks {
            mixer.push(1, &tone(400.0, rate, tick));
            mixer.push(2, &tone(1000.0, rate, tick));
            mixer.mix();
            recording.push(mixer.full_mix());
        }
    }

    #[test]
    fn the_file_holds_both_members_at_the_first_rate_after_the_room_rate_rises() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel::<MediaEvent>();
        let mut recorder = Recorder::start(tx, Arc::new(MediaMetrics::default())).unwrap();
        let path = dir.path().join("conferences/r/20261121-120000.wav");
        let spec = RoomRecordingSpec {
            id: 77,
            path: path.clone(),
        };
        let mut narrow = mixer(8000);
        let mut recording = RoomRecording::start(&recorder.handle(), spec, &mut narrow);
        speak(&mut recording, &mut narrow, 0..100);
        let mut wide = mixer(16_000);
        recording.set_mixer(&mut wide);
        speak(&mut recording, &mut wide, 100..200);
        drop(recording);
        recorder.shutdown();
        let event = events.try_recv().expect("the recording is reported");
        assert_eq!(event.session, 77);
        let MediaEventKind::Recorded(outcome) = event.kind else {
            panic!("{event:?}");
        };
        assert_eq!(outcome.error, None);
        assert_eq!(outcome.end, RecordingEnd::RoomClosed);
        assert_eq!(outcome.duration, std::time::Duration::from_secs(4));
        let mut reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, 8000);
        let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(samples.len(), 4 * 8000);
        // The last second at each room rate (past the speakers' onset).
        for second in [&samples[8000..16_000], &samples[24_000..]] {
            for hz in [400.0, 1000.0] {
                let s = share(second, 8000, hz);
                assert!(s > 0.3, "{hz} Hz: {s}");
            }
        }
    }
}
