//! One recording as a worker feeds it: frames gathered into chunks of about
//! 100 ms in pooled buffers and handed to the recorder thread, so the packet
//! path neither allocates (in steady state) nor writes.

use std::path::PathBuf;

use super::{RecorderHandle, RecorderInput, RecordingEnd, RecordingKey};

pub(crate) struct RecordingStream {
    key: RecordingKey,
    recorder: RecorderHandle,
    chunk: Box<[i16]>,
    len: usize,
    /// Samples per chunk: 100 ms at the stream's rate, at least one frame.
    chunk_samples: usize,
    closed: bool,
}

impl RecordingStream {
    /// Opens `path` on the recorder at `rate_hz`; `frame_samples` is the
    /// usual frame pushed (a chunk holds at least one).
    pub(crate) fn open(
        recorder: &RecorderHandle,
        key: RecordingKey,
        path: PathBuf,
        rate_hz: u32,
        frame_samples: usize,
    ) -> Self {
        recorder.send(RecorderInput::Open { key, path, rate_hz });
        let chunk_samples = (rate_hz as usize / 10).max(frame_samples);
        RecordingStream {
            key,
            recorder: recorder.clone(),
            chunk: recorder.buffer(chunk_samples + frame_samples),
            len: 0,
            chunk_samples,
            closed: false,
        }
    }

    pub(crate) fn push(&mut self, frame: &[i16]) {
        // In pieces: the packet time may have grown past the chunk size.
        let mut rest = frame;
        while !rest.is_empty() {
            let space = self.chunk.len() - self.len;
            let n = rest.len().min(space);
            self.chunk[self.len..self.len + n].copy_from_slice(&rest[..n]);
            self.len += n;
            rest = &rest[n..];
            if self.len >= self.chunk_samples.min(self.chunk.len()) {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        if self.len == 0 {
            return;
        }
        let next = self.recorder.buffer(self.chunk.len());
        let chunk = std::mem::replace(&mut self.chunk, next);
        self.recorder.send(RecorderInput::Audio {
            key: self.key,
            chunk,
            len: self.len,
        });
        self.len = 0;
    }

    /// Hands over the last audio and ends the file; later calls do nothing.
    pub(crate) fn close(&mut self, end: RecordingEnd) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.flush();
        self.recorder
            .send(RecorderInput::Close { key: self.key, end });
    }
}

impl Drop for RecordingStream {
    /// A stream dropped unclosed (its leg hung up) still hands over its
    /// last audio and closes the file.
    fn drop(&mut self) {
        self.close(RecordingEnd::SessionClosed);
    }
}
