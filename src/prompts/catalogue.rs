//! The prompt catalogue: every prompt of a folder decoded once at load, and
//! served at whatever rate a call leg needs, each rate resampled once.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::decode::{decode_file, DecodeError, PROMPT_EXTENSIONS};
use super::name::is_valid_prompt_name;
use crate::codec::resample::resample;

/// Why a catalogue could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("prompt folder {0} does not exist or is not a folder")]
    MissingFolder(PathBuf),
    #[error("cannot list prompt folder {path}: {source}")]
    ReadFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("language {0:?} is not a valid folder name (A-Z a-z 0-9 _ -)")]
    InvalidLanguage(String),
}

/// A file that was skipped while loading, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct PromptProblem {
    pub path: PathBuf,
    pub kind: ProblemKind,
}

/// The reasons a prompt file is skipped.
#[derive(Debug, thiserror::Error)]
pub enum ProblemKind {
    #[error("file name is not a valid prompt name (A-Z a-z 0-9 _ -)")]
    InvalidName,
    #[error("another file in the same folder has the same name: {}", .0.display())]
    Duplicate(PathBuf),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// One decoded prompt and its resampled copies.
#[derive(Debug)]
struct Prompt {
    path: PathBuf,
    rate_hz: u32,
    samples: Arc<[i16]>,
    /// Copies at other rates, made on first request. The control plane asks
    /// for these when a call starts playing, never per packet, so a lock is fine.
    resampled: Mutex<HashMap<u32, Arc<[i16]>>>,
}

/// Prompts by name, decoded to mono i16, from a language folder with a
/// shared fallback folder.
#[derive(Debug)]
pub struct PromptCatalogue {
    language: String,
    prompts: BTreeMap<String, Prompt>,
    problems: Vec<PromptProblem>,
}

impl PromptCatalogue {
    /// Loads every prompt under `dir/language/`, then those under `dir/`
    /// whose names the language folder lacks. Files that cannot be used are
    /// logged, listed by [`problems`](Self::problems) and skipped; only a
    /// missing or unreadable folder fails the load.
    pub fn load(dir: &Path, language: &str) -> Result<Self, PromptError> {
        if !is_valid_prompt_name(language) {
            return Err(PromptError::InvalidLanguage(language.to_owned()));
        }
        let language_dir = dir.join(language);
        // Both are listed before anything is decoded, so a missing folder
        // fails fast.
        let language_files = list_prompt_files(&language_dir)?;
        let root_files = list_prompt_files(dir)?;

        let mut catalogue = PromptCatalogue {
            language: language.to_owned(),
            prompts: BTreeMap::new(),
            problems: Vec::new(),
        };
        catalogue.add_folder(language_files);
        catalogue.add_folder(root_files);
        tracing::info!(
            folder = %dir.display(),
            language,
            prompts = catalogue.prompts.len(),
            skipped = catalogue.problems.len(),
            "prompts loaded"
        );
        Ok(catalogue)
    }

    /// Decodes `files` (of one folder) into the catalogue. A name already
    /// present (from the language folder) is kept, and its fallback is not
    /// even decoded.
    fn add_folder(&mut self, files: Vec<PathBuf>) {
        let mut added: BTreeMap<String, PathBuf> = BTreeMap::new();
        for path in files {
            let name = match file_stem(&path) {
                Some(name) if is_valid_prompt_name(name) => name.to_owned(),
                _ => {
                    self.report(path, ProblemKind::InvalidName);
                    continue;
                }
            };
            if let Some(first) = added.get(&name) {
                let kind = ProblemKind::Duplicate(first.clone());
                self.report(path, kind);
                continue;
            }
            if self.prompts.contains_key(&name) {
                continue;
            }
            match decode_file(&path) {
                Ok(audio) => {
                    added.insert(name.clone(), path.clone());
                    self.prompts.insert(
                        name,
                        Prompt {
                            path,
                            rate_hz: audio.rate_hz,
                            samples: audio.samples.into(),
                            resampled: Mutex::new(HashMap::new()),
                        },
                    );
                }
                Err(error) => self.report(path, ProblemKind::Decode(error)),
            }
        }
    }

    fn report(&mut self, path: PathBuf, kind: ProblemKind) {
        let problem = PromptProblem { path, kind };
        tracing::warn!(file = %problem.path.display(), reason = %problem.kind, "prompt skipped");
        self.problems.push(problem);
    }

    /// The prompt `name` as mono samples at `rate_hz`, or `None` if there is
    /// no such prompt (or the rate is unusable). The first request for a rate
    /// resamples; later ones share the same buffer.
    pub fn get(&self, name: &str, rate_hz: u32) -> Option<Arc<[i16]>> {
        let prompt = self.lookup(name)?;
        if rate_hz == prompt.rate_hz {
            return Some(Arc::clone(&prompt.samples));
        }
        if let Some(cached) = lock(&prompt.resampled).get(&rate_hz) {
            return Some(Arc::clone(cached));
        }
        // Resampled outside the lock; should two requests race, both results
        // are identical and the first one stored wins.
        let samples: Arc<[i16]> = match resample(&prompt.samples, prompt.rate_hz, rate_hz) {
            Ok(samples) => samples.into(),
            Err(error) => {
                tracing::warn!(prompt = name, rate_hz, %error, "cannot resample prompt");
                return None;
            }
        };
        let mut cache = lock(&prompt.resampled);
        Some(Arc::clone(cache.entry(rate_hz).or_insert(samples)))
    }

    /// Whether a prompt called `name` was loaded.
    pub fn contains(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    /// The names of all loaded prompts, in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.prompts.keys().map(String::as_str)
    }

    /// How long the prompt `name` plays.
    pub fn duration(&self, name: &str) -> Option<Duration> {
        let prompt = self.lookup(name)?;
        let micros = prompt.samples.len() as u64 * 1_000_000 / u64::from(prompt.rate_hz);
        Some(Duration::from_micros(micros))
    }

    /// The sample rate the prompt `name` was recorded at.
    pub fn native_rate(&self, name: &str) -> Option<u32> {
        self.lookup(name).map(|p| p.rate_hz)
    }

    /// The file the prompt `name` was loaded from.
    pub fn source_path(&self, name: &str) -> Option<&Path> {
        self.lookup(name).map(|p| p.path.as_path())
    }

    /// The files skipped at load, and why.
    pub fn problems(&self) -> &[PromptProblem] {
        &self.problems
    }

    /// The language folder the catalogue was loaded from.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Number of loaded prompts.
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// Whether no prompt was loaded.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    fn lookup(&self, name: &str) -> Option<&Prompt> {
        if !is_valid_prompt_name(name) {
            return None;
        }
        self.prompts.get(name)
    }
}

/// The prompt candidates of one folder (not its subfolders), sorted by file
/// name so that which of two same-named files wins does not depend on the
/// file system's listing order.
fn list_prompt_files(dir: &Path) -> Result<Vec<PathBuf>, PromptError> {
    if !dir.is_dir() {
        return Err(PromptError::MissingFolder(dir.to_owned()));
    }
    let read_error = |source| PromptError::ReadFolder {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.is_file() && has_prompt_extension(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn has_prompt_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PROMPT_EXTENSIONS.iter().any(|p| e.eq_ignore_ascii_case(p)))
}

fn file_stem(path: &Path) -> Option<&str> {
    path.file_stem().and_then(|s| s.to_str())
}

/// The cache holds only finished buffers, so one left by a panicking thread
/// is still valid.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
