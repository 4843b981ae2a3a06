//! The recorder: one thread that writes recorded audio to WAV files, so no
//! disk write ever happens on a media worker (DESIGN.md: the packet path
//! takes no lock and does no I/O beyond its sockets).
//!
//! A worker hands over audio in chunks of about 100 ms. Chunks are boxed
//! buffers that travel to the recorder and come back through a pool, so a
//! recording allocates only while the pool fills up, never in steady state.
//! Each file is a crash-safe [`WavRecorder`] checkpointed twice a second, so
//! at most about 600 ms of audio (one chunk plus half a second) is lost if
//! the process is killed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::mpsc::UnboundedSender;

use crate::media::stats::{bump, MediaMetrics};
use crate::media::worker::{MediaEvent, MediaEventKind};
use crate::media::SessionId;
use crate::store::recording::WavRecorder;

mod stream;

pub(crate) use stream::RecordingStream;

/// Chunks queued to the recorder before audio is dropped (and counted):
/// at 10 chunks a second per recording, 5 s of backlog for 1,200
/// recordings. The queue's slots (about 56 bytes each, 3.5 MB) are
/// allocated up front; the audio buffers travel by pointer.
const QUEUE_CHUNKS: usize = 65_536;
/// Spare chunk buffers kept for reuse.
const POOL_CHUNKS: usize = 4096;
/// How often a file's header is brought up to date with its audio.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// What a leg records, from the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSpec {
    /// The final file name; the audio is written to `PATH.part` until the
    /// recording ends.
    pub path: PathBuf,
    /// The recording ends by itself at this length.
    pub max: Duration,
    /// ... or after this much silence (None = never).
    pub silence: Option<Duration>,
}

/// A conference room's recording of its mix, from the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecordingSpec {
    /// Reported with the outcome in place of a session: an id the control
    /// plane set aside for this recording, never a leg's.
    pub id: SessionId,
    pub path: PathBuf,
}

/// Why a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingEnd {
    /// The control plane stopped it (a key press, another source).
    Stopped,
    MaxLength,
    Silence,
    /// The leg went away (hang-up) while recording.
    SessionClosed,
    /// The conference room closed (its last member left, or the server
    /// stopped).
    RoomClosed,
}

/// A finished recording, reported to the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingOutcome {
    pub path: PathBuf,
    pub duration: Duration,
    pub end: RecordingEnd,
    /// Why the file could not be written (some audio may still be in it).
    pub error: Option<String>,
}

/// One recording's identity on the recorder: a session may record more
/// than once, and the recorder may still be writing the last one.
pub type RecordingKey = (SessionId, u32);

pub(crate) enum RecorderInput {
    Open {
        key: RecordingKey,
        path: PathBuf,
        rate_hz: u32,
    },
    Audio {
        key: RecordingKey,
        chunk: Box<[i16]>,
        len: usize,
    },
    Close {
        key: RecordingKey,
        end: RecordingEnd,
    },
    Shutdown,
}

/// What a worker holds to record: the queue to the recorder and the pool of
/// spare buffers.
#[derive(Clone)]
pub struct RecorderHandle {
    input: Sender<RecorderInput>,
    spare: Receiver<Box<[i16]>>,
    metrics: Arc<MediaMetrics>,
}

impl RecorderHandle {
    /// A buffer of `samples` for the next chunk: a spare one when the pool
    /// has one that fits, else a new one.
    pub(crate) fn buffer(&self, samples: usize) -> Box<[i16]> {
        while let Ok(buffer) = self.spare.try_recv() {
            if buffer.len() >= samples {
                return buffer;
            }
        }
        bump(&self.metrics.recording_buffer_allocations);
        vec![0; samples].into_boxed_slice()
    }

    /// Queues an input; audio that does not fit the queue is dropped and
    /// counted rather than block the worker.
    pub(crate) fn send(&self, input: RecorderInput) {
        match self.input.try_send(input) {
            Ok(()) => {}
            Err(TrySendError::Full(RecorderInput::Audio { .. })) => {
                bump(&self.metrics.recording_chunks_dropped);
            }
            Err(TrySendError::Full(other)) => {
                // Opening and closing must not be lost: wait for room.
                let _ = self.input.send(other);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// The recorder thread and the handle workers record through.
pub struct Recorder {
    handle: RecorderHandle,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    pub fn start(
        events: UnboundedSender<MediaEvent>,
        metrics: Arc<MediaMetrics>,
    ) -> std::io::Result<Recorder> {
        let (input, inputs) = crossbeam_channel::bounded(QUEUE_CHUNKS);
        let (give_back, spare) = crossbeam_channel::bounded(POOL_CHUNKS);
        let writer = Writer {
            inputs,
            give_back,
            events,
            metrics: metrics.clone(),
            open: HashMap::new(),
        };
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || writer.run())?;
        Ok(Recorder {
            handle: RecorderHandle {
                input,
                spare,
                metrics,
            },
            thread: Some(thread),
        })
    }

    pub fn handle(&self) -> RecorderHandle {
        self.handle.clone()
    }

    /// Finishes every open recording and stops the thread. Call after the
    /// workers have stopped, so their last audio is written.
    pub fn shutdown(&mut self) {
        let _ = self.handle.input.send(RecorderInput::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A file being written, or the reason it could not be.
struct OpenRecording {
    file: Result<WavRecorder, String>,
    path: PathBuf,
    /// Samples received, including any a failed file could not take.
    samples: u64,
    rate_hz: u32,
}

struct Writer {
    inputs: Receiver<RecorderInput>,
    give_back: Sender<Box<[i16]>>,
    events: UnboundedSender<MediaEvent>,
    metrics: Arc<MediaMetrics>,
    open: HashMap<RecordingKey, OpenRecording>,
}

impl Writer {
    fn run(mut self) {
        while let Ok(input) = self.inputs.recv() {
            match input {
                RecorderInput::Open { key, path, rate_hz } => self.open(key, path, rate_hz),
                RecorderInput::Audio { key, chunk, len } => {
                    self.write(key, &chunk[..len.min(chunk.len())]);
                    let _ = self.give_back.try_send(chunk);
                }
                RecorderInput::Close { key, end } => self.close(key, end),
                RecorderInput::Shutdown => break,
            }
        }
        let keys: Vec<RecordingKey> = self.open.keys().copied().collect();
        for key in keys {
            self.close(key, RecordingEnd::SessionClosed);
        }
    }

    fn open(&mut self, key: RecordingKey, path: PathBuf, rate_hz: u32) {
        bump(&self.metrics.recordings_started);
        // A room's folder is made on its first recording.
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let file = WavRecorder::create(&path, rate_hz)
            .map(|file| file.with_checkpoint_interval(CHECKPOINT_EVERY))
            .map_err(|e| {
                tracing::warn!(error = %e, "cannot start a recording");
                e.to_string()
            });
        self.open.insert(
            key,
            OpenRecording {
                file,
                path,
                samples: 0,
                rate_hz,
            },
        );
    }

    fn write(&mut self, key: RecordingKey, samples: &[i16]) {
        let Some(recording) = self.open.get_mut(&key) else {
            return;
        };
        recording.samples += samples.len() as u64;
        if let Ok(file) = &mut recording.file {
            if let Err(e) = file.write(samples) {
                tracing::warn!(error = %e, "recording write failed");
                bump(&self.metrics.recording_write_errors);
                recording.file = Err(e.to_string());
            }
        }
    }

    fn close(&mut self, key: RecordingKey, end: RecordingEnd) {
        let Some(recording) = self.open.remove(&key) else {
            return;
        };
        let rate = u64::from(recording.rate_hz.max(1));
        let duration = Duration::from_micros(recording.samples * 1_000_000 / rate);
        let error = match recording.file {
            Ok(file) => file.finish().err().map(|e| {
                bump(&self.metrics.recording_write_errors);
                tracing::warn!(error = %e, "cannot finish a recording");
                e.to_string()
            }),
            Err(reason) => Some(reason),
        };
        bump(&self.metrics.recordings_finished);
        let outcome = RecordingOutcome {
            path: recording.path,
            duration,
            end,
            error,
        };
        let _ = self.events.send(MediaEvent {
            session: key.0,
            kind: MediaEventKind::Recorded(outcome),
            generation: 0,
        });
    }
}
