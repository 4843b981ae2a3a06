//! Recording what a leg hears from its caller (voicemail): each tick's
//! decoded frame at the leg's audio rate goes to the recorder thread in
//! chunks of about 100 ms; the session itself ends the recording at its
//! maximum length or after the configured silence.

use std::time::Duration;

use super::{MediaSession, SessionEvent};
use crate::media::recorder::{RecorderHandle, RecordingEnd, RecordingSpec, RecordingStream};

/// A frame quieter than this (mean square against a full-scale sine) counts
/// as silence: about −45 dBFS, above a phone's comfort noise and well below
/// speech.
const SILENCE_DBFS: f64 = -45.0;

pub(super) struct SessionRecording {
    stream: RecordingStream,
    recorded: u64,
    max_samples: u64,
    silence_samples: Option<u64>,
    silent_run: u64,
}

impl SessionRecording {
    /// Takes a frame; `Some` when the recording must end by itself.
    fn push(&mut self, frame: &[i16]) -> Option<RecordingEnd> {
        let room = (self.max_samples - self.recorded) as usize;
        let frame = &frame[..frame.len().min(room)];
        self.stream.push(frame);
        self.recorded += frame.len() as u64;
        if self.silence_samples.is_some() {
            if is_quiet(frame) {
                self.silent_run += frame.len() as u64;
            } else {
                self.silent_run = 0;
            }
        }
        if self.recorded >= self.max_samples {
            Some(RecordingEnd::MaxLength)
        } else if self
            .silence_samples
            .is_some_and(|limit| self.silent_run >= limit)
        {
            Some(RecordingEnd::Silence)
        } else {
            None
        }
    }

    fn close(&mut self, end: RecordingEnd) {
        self.stream.close(end);
    }
}

fn is_quiet(frame: &[i16]) -> bool {
    if frame.is_empty() {
        return true;
    }
    let energy: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let mean_square = energy / frame.len() as f64;
    let full_scale_sine = 32767.0 * 32767.0 / 2.0;
    mean_square < full_scale_sine * 10f64.powf(SILENCE_DBFS / 10.0)
}

fn samples_in(duration: Duration, rate_hz: u32) -> u64 {
    duration.as_millis() as u64 * u64::from(rate_hz) / 1000
}

impl MediaSession {
    /// Starts recording the caller's audio (ending any recording before).
    pub fn start_recording(&mut self, recorder: &RecorderHandle, spec: RecordingSpec) {
        self.stop_recording(RecordingEnd::Stopped);
        let rate = self.params.codec.audio_rate();
        self.recordings_started = self.recordings_started.wrapping_add(1);
        let key = (self.id, self.recordings_started);
        let stream = RecordingStream::open(recorder, key, spec.path, rate, self.frame_samples);
        self.recording = Some(Box::new(SessionRecording {
            stream,
            recorded: 0,
            max_samples: samples_in(spec.max, rate).max(1),
            silence_samples: spec.silence.map(|s| samples_in(s, rate).max(1)),
            silent_run: 0,
        }));
    }

    /// Ends the recording, if there is one; the recorder reports it.
    pub fn stop_recording(&mut self, end: RecordingEnd) {
        if let Some(mut recording) = self.recording.take() {
            recording.close(end);
        }
    }

    pub(super) fn records(&self) -> bool {
        self.recording.is_some()
    }

    /// After the tick's decode: the frame heard, or silence for a tick with
    /// nothing heard, so the recording keeps the call's timeline.
    pub(super) fn record_frame(&mut self, heard: bool) {
        let Some(recording) = self.recording.as_mut() else {
            return;
        };
        if !heard {
            self.pcm.fill(0);
        }
        if let Some(end) = recording.push(&self.pcm) {
            self.stop_recording(end);
            self.push_event(SessionEvent::RecordingEnded(end));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_quiet;

    #[test]
    fn comfort_noise_is_quiet_and_speech_is_not() {
        let noise: Vec<i16> = (0..160)
            .map(|i| if i % 2 == 0 { 60 } else { -60 })
            .collect();
        assert!(is_quiet(&noise));
        let speech: Vec<i16> = (0..160)
            .map(|i| (3000.0 * (i as f64 * 0.3).sin()) as i16)
            .collect();
        assert!(!is_quiet(&speech));
    }
}
