//! The prompt catalogue: every prompt of a folder decoded once at load, and
//! served at whatever rate a call leg needs, each rate resampled once. A
//! rescan, asked for by the owner when it sees fit, picks up changed files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use super::decode::{decode_file, DecodeError};
use super::name::{is_valid_name_part, is_valid_prompt_name};
use super::scan::{is_language_folder, list_tree, FileStamp, Listing};
use crate::codec::resample::resample;

/// Why a catalogue could not be loaded (or rescanned) at all.
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
    #[error("path is not a valid prompt name (A-Z a-z 0-9 _ - in each part, at most 4 parts and 64 characters)")]
    InvalidName,
    #[error("another file in the same folder has the same name: {}", .0.display())]
    Duplicate(PathBuf),
    #[error("cannot read: {0}")]
    Unreadable(#[source] std::io::Error),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// What a rescan changed, by prompt name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    pub removed: Vec<String>,
    /// Files skipped after the rescan (as listed by `problems`).
    pub problems: usize,
}

impl ReloadSummary {
    /// Whether every prompt plays as before.
    pub fn is_unchanged(&self) -> bool {
        self.added.is_empty() && self.replaced.is_empty() && self.removed.is_empty()
    }
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

/// What became of one file, kept so that a rescan decodes only what changed
/// (and does not report an unchanged bad file again).
#[derive(Debug, Clone)]
struct Decoded {
    stamp: FileStamp,
    outcome: Result<Arc<Prompt>, Arc<PromptProblem>>,
}

/// One complete, consistent view of the folders.
#[derive(Debug, Default)]
struct Snapshot {
    prompts: BTreeMap<String, Arc<Prompt>>,
    problems: Vec<Arc<PromptProblem>>,
    decoded: HashMap<PathBuf, Decoded>,
}

/// Prompts by name, decoded to mono i16, from a language folder with a
/// shared fallback folder. Names may have folder parts (`numbers/20`).
#[derive(Debug)]
pub struct PromptCatalogue {
    dir: PathBuf,
    language: String,
    /// Replaced whole by a rescan; readers clone the `Arc` and let go, so a
    /// call keeps playing the buffer it started with.
    snapshot: RwLock<Arc<Snapshot>>,
    /// One rescan at a time, so two do not decode the same files.
    rescanning: Mutex<()>,
}

impl PromptCatalogue {
    /// Loads every prompt under `dir/language/` (subfolders included), then
    /// those under `dir/` whose names the language folder lacks; the root's
    /// language folders (`en`, `fr`, `en-GB`: see the prompts README) are not
    /// part of the fallback. Files that cannot be used are logged, listed by
    /// [`problems`](Self::problems) and skipped; only a missing or unreadable
    /// folder fails the load.
    pub fn load(dir: &Path, language: &str) -> Result<Self, PromptError> {
        if !is_valid_name_part(language) {
            return Err(PromptError::InvalidLanguage(language.to_owned()));
        }
        let catalogue = PromptCatalogue {
            dir: dir.to_owned(),
            language: language.to_owned(),
            snapshot: RwLock::new(Arc::default()),
            rescanning: Mutex::new(()),
        };
        let snapshot = catalogue.scan(&Snapshot::default())?;
        tracing::info!(
            folder = %dir.display(),
            language,
            prompts = snapshot.prompts.len(),
            skipped = snapshot.problems.len(),
            "prompts loaded"
        );
        *write(&catalogue.snapshot) = Arc::new(snapshot);
        Ok(catalogue)
    }

    /// Looks at the folders again and decodes the files that are new or
    /// changed since the last scan; prompts whose files went away are
    /// dropped, and a fallback takes over where it exists. The result is
    /// what [`load`](Self::load) would give now. Cheap when nothing changed
    /// (a listing and a `stat` per file), so the owner can poll it every few
    /// seconds. A folder that went missing fails the rescan and leaves the
    /// catalogue as it was.
    pub fn reload_if_changed(&self) -> Result<ReloadSummary, PromptError> {
        let _one_at_a_time = lock(&self.rescanning);
        let old = self.snapshot();
        let new = self.scan(&old)?;
        let mut summary = ReloadSummary {
            problems: new.problems.len(),
            ..ReloadSummary::default()
        };
        for (name, prompt) in &new.prompts {
            match old.prompts.get(name) {
                None => summary.added.push(name.clone()),
                Some(before) if !Arc::ptr_eq(before, prompt) => summary.replaced.push(name.clone()),
                Some(_) => {}
            }
        }
        summary.removed = old
            .prompts
            .keys()
            .filter(|name| !new.prompts.contains_key(*name))
            .cloned()
            .collect();
        if !summary.is_unchanged() {
            tracing::info!(
                added = summary.added.len(),
                replaced = summary.replaced.len(),
                removed = summary.removed.len(),
                skipped = summary.problems,
                "prompts reloaded"
            );
        }
        *write(&self.snapshot) = Arc::new(new);
        Ok(summary)
    }

    /// Builds a snapshot from the folders, reusing what `old` decoded from
    /// files that have not changed since.
    fn scan(&self, old: &Snapshot) -> Result<Snapshot, PromptError> {
        let language_dir = self.dir.join(&self.language);
        // Both are listed before anything is decoded, so a missing folder
        // fails fast.
        let language_files = list_folder(&language_dir, &|_| false)?;
        let language = self.language.as_str();
        let root_files = list_folder(&self.dir, &|top| top == language || is_language_folder(top))?;

        let mut new = Snapshot::default();
        new.add_tree(language_files, old);
        new.add_tree(root_files, old);
        // Only what is newly wrong is logged, so polling an unchanged folder
        // with a bad file in it does not repeat the warning.
        let known: HashSet<String> = old.problems.iter().map(|p| p.to_string()).collect();
        for problem in &new.problems {
            if !known.contains(&problem.to_string()) {
                tracing::warn!(file = %problem.path.display(), reason = %problem.kind, "prompt skipped");
            }
        }
        Ok(new)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&read(&self.snapshot))
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

    /// Whether a prompt called `name` is loaded.
    pub fn contains(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    /// The names of all loaded prompts, in sorted order.
    pub fn names(&self) -> Vec<String> {
        self.snapshot().prompts.keys().cloned().collect()
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
    pub fn source_path(&self, name: &str) -> Option<PathBuf> {
        self.lookup(name).map(|p| p.path.clone())
    }

    /// The files skipped by the last load or rescan, and why.
    pub fn problems(&self) -> Vec<Arc<PromptProblem>> {
        self.snapshot().problems.clone()
    }

    /// The language folder the catalogue was loaded from.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Number of loaded prompts.
    pub fn len(&self) -> usize {
        self.snapshot().prompts.len()
    }

    /// Whether no prompt is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, name: &str) -> Option<Arc<Prompt>> {
        if !is_valid_prompt_name(name) {
            return None;
        }
        read(&self.snapshot).prompts.get(name).cloned()
    }
}

impl Snapshot {
    /// Adds the files of one folder tree. A name already present (from the
    /// language folder) is kept, and its fallback is not even decoded.
    fn add_tree(&mut self, listing: Listing, old: &Snapshot) {
        for (path, error) in listing.unreadable {
            self.report(path, ProblemKind::Unreadable(error));
        }
        let mut added: BTreeMap<String, PathBuf> = BTreeMap::new();
        for file in listing.files {
            let Some(name) = file.name else {
                self.report(file.path, ProblemKind::InvalidName);
                continue;
            };
            if let Some(first) = added.get(&name) {
                let kind = ProblemKind::Duplicate(first.clone());
                self.report(file.path, kind);
                continue;
            }
            if self.prompts.contains_key(&name) {
                continue;
            }
            let decoded = match old.decoded.get(&file.path) {
                Some(before) if before.stamp == file.stamp => before.clone(),
                _ => Decoded {
                    stamp: file.stamp,
                    outcome: decode_prompt(&file.path),
                },
            };
            match &decoded.outcome {
                Ok(prompt) => {
                    added.insert(name.clone(), file.path.clone());
                    self.prompts.insert(name, Arc::clone(prompt));
                }
                Err(problem) => self.problems.push(Arc::clone(problem)),
            }
            self.decoded.insert(file.path, decoded);
        }
    }

    fn report(&mut self, path: PathBuf, kind: ProblemKind) {
        self.problems.push(Arc::new(PromptProblem { path, kind }));
    }
}

fn decode_prompt(path: &Path) -> Result<Arc<Prompt>, Arc<PromptProblem>> {
    match decode_file(path) {
        Ok(audio) => Ok(Arc::new(Prompt {
            path: path.to_owned(),
            rate_hz: audio.rate_hz,
            samples: audio.samples.into(),
            resampled: Mutex::new(HashMap::new()),
        })),
        Err(error) => Err(Arc::new(PromptProblem {
            path: path.to_owned(),
            kind: ProblemKind::Decode(error),
        })),
    }
}

fn list_folder(dir: &Path, skip_top: &dyn Fn(&str) -> bool) -> Result<Listing, PromptError> {
    if !dir.is_dir() {
        return Err(PromptError::MissingFolder(dir.to_owned()));
    }
    list_tree(dir, skip_top).map_err(|source| PromptError::ReadFolder {
        path: dir.to_owned(),
        source,
    })
}

/// The locks guard only finished values (a whole snapshot, finished
/// buffers), so one left by a panicking thread is still valid.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tree_tests;
