//! Crash-safe WAV recording: 16-bit PCM mono, written to `NAME.wav.part` and
//! renamed to `NAME.wav` when finished.
//!
//! The file on disk is a valid WAV at every checkpoint (at least once per
//! second of audio): the samples are written first and the RIFF and data sizes
//! in the header rewritten after them, so the header never claims bytes that
//! are not there. If the process dies, [`recover_partial_recordings`] repairs
//! whatever the last checkpoint left (and any data written after it) and gives
//! the file its final name.
//!
//! The header is kept by hand rather than through `hound::WavWriter`: hound's
//! writer finalizes the header when dropped, which would hide a lost
//! checkpoint, and it cannot write at fixed offsets, which is what makes a
//! failed write safe to retry here.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Length of the canonical PCM header written by [`WavRecorder`].
const HEADER_LEN: u64 = 44;
/// Offset of the RIFF chunk size (file length minus 8).
const RIFF_SIZE_OFFSET: u64 = 4;
const BYTES_PER_SAMPLE: u64 = 2;
const PART_SUFFIX: &str = ".part";
const PART_NAME_SUFFIX: &str = ".wav.part";

/// Errors from recording or recovering WAV files.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("sample rate must be positive")]
    InvalidSampleRate,
    #[error("{} already exists", path.display())]
    AlreadyExists { path: PathBuf },
    #[error("{}: recording exceeds the 4 GiB WAV size limit", path.display())]
    TooLong { path: PathBuf },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> RecordingError + 'a {
    move |source| RecordingError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Records 16-bit mono PCM to `NAME.wav.part`, renamed to `NAME.wav` by
/// [`WavRecorder::finish`]. Dropping it without `finish` leaves the `.part`
/// file for [`recover_partial_recordings`], exactly as a crash would.
#[derive(Debug)]
pub struct WavRecorder {
    file: File,
    final_path: PathBuf,
    part_path: PathBuf,
    sample_rate: u32,
    /// Samples not yet written to the file, little-endian. Sized for one
    /// second up front so steady-state writes do not allocate.
    pending: Vec<u8>,
    /// Data bytes on disk and covered by the header.
    flushed: u64,
    /// Pending bytes that trigger a checkpoint.
    checkpoint_bytes: u64,
}

impl WavRecorder {
    /// Creates `path` with a `.part` suffix while recording; 16-bit mono PCM
    /// at `sample_rate`. Refuses to replace an existing recording or an
    /// unrecovered `.part`, since either may hold a message.
    pub fn create(path: &Path, sample_rate: u32) -> Result<WavRecorder, RecordingError> {
        if sample_rate == 0 {
            return Err(RecordingError::InvalidSampleRate);
        }
        if path.exists() {
            return Err(RecordingError::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        let part_path = with_suffix(path, PART_SUFFIX);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&part_path)
            .map_err(|source| {
                if source.kind() == io::ErrorKind::AlreadyExists {
                    RecordingError::AlreadyExists {
                        path: part_path.clone(),
                    }
                } else {
                    io_err("create", &part_path)(source)
                }
            })?;
        file.write_all_at(&header(sample_rate, 0), 0)
            .map_err(io_err("write header", &part_path))?;
        // Capped so an absurd rate cannot demand a huge allocation up front.
        let one_second = sample_rate.min(192_000) as usize * BYTES_PER_SAMPLE as usize;
        Ok(WavRecorder {
            file,
            final_path: path.to_path_buf(),
            part_path,
            sample_rate,
            pending: Vec::with_capacity(one_second),
            flushed: 0,
            checkpoint_bytes: one_second as u64,
        })
    }

    /// Checkpoints every `interval` of audio instead of every second, for a
    /// caller that must lose less on a crash.
    pub fn with_checkpoint_interval(mut self, interval: Duration) -> WavRecorder {
        let samples = u64::from(self.sample_rate) * interval.as_millis() as u64 / 1000;
        self.checkpoint_bytes =
            (samples * BYTES_PER_SAMPLE).clamp(BYTES_PER_SAMPLE, self.checkpoint_bytes);
        self
    }

    /// Appends samples (buffered). Once a second of audio (or the interval
    /// set by [`WavRecorder::with_checkpoint_interval`]) is pending it is
    /// written out and the header sizes rewritten to cover it.
    pub fn write(&mut self, samples: &[i16]) -> Result<(), RecordingError> {
        let total =
            self.flushed + self.pending.len() as u64 + samples.len() as u64 * BYTES_PER_SAMPLE;
        if total > max_data_len() {
            return Err(RecordingError::TooLong {
                path: self.part_path.clone(),
            });
        }
        self.pending
            .extend(samples.iter().flat_map(|s| s.to_le_bytes()));
        if self.pending.len() as u64 >= self.checkpoint_bytes {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Audio recorded so far, buffered samples included.
    pub fn duration(&self) -> Duration {
        let samples = (self.flushed + self.pending.len() as u64) / BYTES_PER_SAMPLE;
        let rate = u64::from(self.sample_rate);
        Duration::from_secs(samples / rate)
            + Duration::from_nanos((samples % rate) * 1_000_000_000 / rate)
    }

    /// Flushes, fixes the header, fsyncs and renames `.part` to the final
    /// name. Returns the final path.
    pub fn finish(mut self) -> Result<PathBuf, RecordingError> {
        self.checkpoint()?;
        self.file
            .sync_all()
            .map_err(io_err("sync", &self.part_path))?;
        fs::rename(&self.part_path, &self.final_path).map_err(io_err("rename", &self.part_path))?;
        sync_parent(&self.final_path)?;
        Ok(self.final_path)
    }

    /// Writes pending samples, then the sizes covering them. Data goes at a
    /// fixed offset, so after a failed write a retry overwrites the same bytes
    /// instead of leaving a gap. No fsync: surviving a process crash only
    /// needs the page cache; `finish` syncs for durability.
    fn checkpoint(&mut self) -> Result<(), RecordingError> {
        if !self.pending.is_empty() {
            self.file
                .write_all_at(&self.pending, HEADER_LEN + self.flushed)
                .map_err(io_err("write", &self.part_path))?;
            self.flushed += self.pending.len() as u64;
            self.pending.clear();
        }
        write_sizes(&self.file, HEADER_LEN, self.flushed)
            .map_err(io_err("write header", &self.part_path))
    }
}

/// Largest data chunk whose RIFF size still fits the 32-bit field.
fn max_data_len() -> u64 {
    u64::from(u32::MAX) - (HEADER_LEN - 8)
}

/// The canonical 44-byte header for 16-bit mono PCM with `data_len` bytes.
fn header(sample_rate: u32, data_len: u32) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    let block_align: u16 = 2;
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(data_len + (HEADER_LEN as u32 - 8)).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&1u16.to_le_bytes()); // mono
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    let byte_rate = sample_rate.saturating_mul(u32::from(block_align));
    h[28..32].copy_from_slice(&byte_rate.to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// Rewrites the RIFF size and the data size (its field just before
/// `data_offset`) for `data_len` bytes of data.
fn write_sizes(file: &File, data_offset: u64, data_len: u64) -> io::Result<()> {
    let riff = u32::try_from(data_offset - 8 + data_len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "WAV too large"))?;
    let data = u32::try_from(data_len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "WAV too large"))?;
    file.write_all_at(&data.to_le_bytes(), data_offset - 4)?;
    file.write_all_at(&riff.to_le_bytes(), RIFF_SIZE_OFFSET)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}

/// Makes a rename durable: the new directory entry is only on disk once the
/// directory itself is synced.
fn sync_parent(path: &Path) -> Result<(), RecordingError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync directory", parent))
}

/// After a restart: every `*.wav.part` under `dir` (recursively) is repaired
/// — sizes set from the file length, rounded down to whole samples — and
/// renamed to `.wav`. A file too short for a header is removed. A file that
/// is not a WAV, or whose final name is taken, is left alone with a warning
/// rather than risk destroying a message. Returns the recovered paths, sorted.
pub fn recover_partial_recordings(dir: &Path) -> Result<Vec<PathBuf>, RecordingError> {
    let mut recovered = Vec::new();
    recover_dir(dir, &mut recovered)?;
    recovered.sort();
    Ok(recovered)
}

fn recover_dir(dir: &Path, recovered: &mut Vec<PathBuf>) -> Result<(), RecordingError> {
    let entries = fs::read_dir(dir).map_err(io_err("read directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(io_err("read directory", dir))?;
        let path = entry.path();
        // file_type does not follow symlinks, so a link cannot loop the walk.
        let kind = entry.file_type().map_err(io_err("stat", &path))?;
        if kind.is_dir() {
            recover_dir(&path, recovered)?;
        } else if kind.is_file() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(PART_NAME_SUFFIX) {
                if let Some(done) = recover_file(&path)? {
                    recovered.push(done);
                }
            }
        }
    }
    Ok(())
}

/// Repairs and renames one `.part`; `None` when it was removed or skipped.
fn recover_file(part: &Path) -> Result<Option<PathBuf>, RecordingError> {
    let final_path = part.with_extension("");
    if final_path.exists() {
        tracing::warn!(part = %part.display(), "recording already exists; leaving partial file");
        return Ok(None);
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(part)
        .map_err(io_err("open", part))?;
    let len = file.metadata().map_err(io_err("stat", part))?.len();
    let layout = match parse_layout(&file, len).map_err(io_err("read", part))? {
        Layout::Wav {
            data_offset,
            block_align,
        } => (data_offset, block_align),
        Layout::TooShort => {
            drop(file);
            fs::remove_file(part).map_err(io_err("remove", part))?;
            tracing::info!(part = %part.display(), "removed partial recording without audio");
            return Ok(None);
        }
        Layout::NotWav => {
            tracing::warn!(part = %part.display(), "partial recording is not a WAV; leaving it");
            return Ok(None);
        }
    };
    let (data_offset, block_align) = layout;
    let fits = u64::from(u32::MAX).saturating_sub(data_offset - 8);
    let data_len = (len - data_offset).min(fits) / block_align * block_align;
    file.set_len(data_offset + data_len)
        .map_err(io_err("truncate", part))?;
    write_sizes(&file, data_offset, data_len).map_err(io_err("write header", part))?;
    file.sync_all().map_err(io_err("sync", part))?;
    drop(file);
    fs::rename(part, &final_path).map_err(io_err("rename", part))?;
    sync_parent(&final_path)?;
    tracing::info!(path = %final_path.display(), bytes = data_len, "recovered partial recording");
    Ok(Some(final_path))
}

enum Layout {
    Wav { data_offset: u64, block_align: u64 },
    TooShort,
    NotWav,
}

/// Finds where the data chunk starts by walking the chunks before it. Their
/// sizes are trusted (they are written whole at creation); the data size is
/// not, since it may lag behind the samples.
fn parse_layout(file: &File, len: u64) -> io::Result<Layout> {
    let mut riff = [0u8; 12];
    if len < 12 {
        return Ok(Layout::TooShort);
    }
    file.read_exact_at(&mut riff, 0)?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Ok(Layout::NotWav);
    }
    let mut pos = 12u64;
    let mut block_align = None;
    loop {
        if pos + 8 > len {
            // Only a header cut short at creation is discarded; a longer file
            // whose chunks run off its end is not ours to delete.
            return Ok(if len < HEADER_LEN {
                Layout::TooShort
            } else {
                Layout::NotWav
            });
        }
        let mut chunk = [0u8; 8];
        file.read_exact_at(&mut chunk, pos)?;
        let size = u64::from(u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
        match &chunk[0..4] {
            b"data" => {
                return Ok(match block_align {
                    Some(align) => Layout::Wav {
                        data_offset: pos + 8,
                        block_align: align,
                    },
                    None => Layout::NotWav,
                });
            }
            b"fmt " => {
                if size < 16 || pos + 8 + 16 > len {
                    return Ok(Layout::TooShort);
                }
                let mut fmt = [0u8; 16];
                file.read_exact_at(&mut fmt, pos + 8)?;
                let align = u64::from(u16::from_le_bytes([fmt[12], fmt[13]]));
                if align == 0 {
                    return Ok(Layout::NotWav);
                }
                block_align = Some(align);
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        pos += 8 + size + (size & 1);
    }
}

#[cfg(test)]
mod tests;
