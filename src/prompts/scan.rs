//! Finding the prompt files under a folder (and its subfolders), with the
//! size and modification stamp that tells a rescan whether a file changed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::decode::PROMPT_EXTENSIONS;
use super::name::{is_valid_prompt_name, MAX_NAME_PARTS};

/// What a rescan compares to decide whether a file must be decoded again.
/// Replacing a file by renaming another over it changes the inode even when
/// size and time match; an in-place rewrite of the same size within the
/// file system's time resolution is the one change this cannot see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl FileStamp {
    fn of(metadata: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(metadata);
        #[cfg(not(unix))]
        let inode = 0;
        FileStamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode,
        }
    }
}

/// One candidate prompt file.
#[derive(Debug)]
pub(super) struct FoundFile {
    pub path: PathBuf,
    /// The prompt name (`numbers/20` for `numbers/20.wav`), or `None` when a
    /// part of the path is not a valid name part.
    pub name: Option<String>,
    pub stamp: FileStamp,
}

/// The files of one folder tree, and the entries that could not be read.
#[derive(Debug, Default)]
pub(super) struct Listing {
    pub files: Vec<FoundFile>,
    pub unreadable: Vec<(PathBuf, std::io::Error)>,
}

/// Lists the prompt files under `dir`, descending into subfolders as deep
/// as a name may have parts, but not into the top-level subfolders for
/// which `skip_top` is true (the language folders, seen from the root).
/// Hidden entries (`.git`, editor swap files) are ignored. The result is
/// sorted by path, so which of two same-named files wins does not depend on
/// the file system's listing order.
pub(super) fn list_tree(
    dir: &Path,
    skip_top: &dyn Fn(&str) -> bool,
) -> Result<Listing, std::io::Error> {
    let mut listing = Listing::default();
    let entries = std::fs::read_dir(dir)?;
    walk(entries, dir, &[], skip_top, &mut listing);
    listing.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(listing)
}

fn walk(
    entries: std::fs::ReadDir,
    dir: &Path,
    parents: &[&str],
    skip_top: &dyn Fn(&str) -> bool,
    listing: &mut Listing,
) {
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                listing.unreadable.push((dir.to_owned(), error));
                continue;
            }
        };
        let path = entry.path();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            // Not UTF-8: cannot be a prompt name, and is reported as such
            // only if it looks like audio.
            if has_prompt_extension(&path) {
                push_file(&path, None, listing);
            }
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        // Follows symbolic links; a loop of them ends at the depth limit.
        let metadata = match std::fs::metadata(&path) {
            Ok(metadata) => metadata,
            Err(error) => {
                if has_prompt_extension(&path) {
                    listing.unreadable.push((path, error));
                }
                continue;
            }
        };
        if metadata.is_dir() {
            if parents.len() + 2 > MAX_NAME_PARTS || (parents.is_empty() && skip_top(file_name)) {
                continue;
            }
            match std::fs::read_dir(&path) {
                Ok(sub) => {
                    let mut parts = parents.to_vec();
                    parts.push(file_name);
                    walk(sub, &path, &parts, skip_top, listing);
                }
                Err(error) => listing.unreadable.push((path, error)),
            }
        } else if metadata.is_file() && has_prompt_extension(&path) {
            let name = prompt_name(parents, &path);
            listing.files.push(FoundFile {
                path,
                name,
                stamp: FileStamp::of(&metadata),
            });
        }
    }
}

fn push_file(path: &Path, name: Option<String>, listing: &mut Listing) {
    match std::fs::metadata(path) {
        Ok(metadata) => listing.files.push(FoundFile {
            path: path.to_owned(),
            name,
            stamp: FileStamp::of(&metadata),
        }),
        Err(error) => listing.unreadable.push((path.to_owned(), error)),
    }
}

/// `parents/stem`, if that is a name a caller could ask for; a file under
/// any other name could never be played, so it is reported instead.
fn prompt_name(parents: &[&str], path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let mut parts = parents.to_vec();
    parts.push(stem);
    let name = parts.join("/");
    is_valid_prompt_name(&name).then_some(name)
}

fn has_prompt_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PROMPT_EXTENSIONS.iter().any(|p| e.eq_ignore_ascii_case(p)))
}

/// The names of the prompts a catalogue over `dir` in `language` would
/// hold, found without decoding anything (configuration checks use it);
/// `None` when `dir` cannot be listed.
pub(crate) fn prompt_names(dir: &Path, language: &str) -> Option<HashSet<String>> {
    let root = list_tree(dir, &is_language_folder).ok()?;
    // A missing language folder leaves only the shared prompts, as at run time.
    let local = if super::name::is_valid_name_part(language) {
        list_tree(&dir.join(language), &|_| false).unwrap_or_default()
    } else {
        Listing::default()
    };
    Some(
        local
            .files
            .into_iter()
            .chain(root.files)
            .filter_map(|file| file.name)
            .collect(),
    )
}

/// Whether a top-level folder of the prompt root is a language folder rather
/// than a shared group of prompts: a two-letter language code, optionally
/// with a region or script (`en`, `fr`, `en-GB`, `pt_BR`, `zh-Hant`).
/// Other languages' folders are not loaded, so only this shape is reserved
/// and shared groups (`numbers`, `moh`, `tones`) can have any other name.
pub(super) fn is_language_folder(name: &str) -> bool {
    let (code, region) = match name.find(['-', '_']) {
        Some(at) => (&name[..at], Some(&name[at + 1..])),
        None => (name, None),
    };
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| {
            (2..=8).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_folders_are_two_letter_codes() {
        for language in ["en", "fr", "en-GB", "pt_BR", "zh-Hant"] {
            assert!(is_language_folder(language), "{language}");
        }
        for group in ["numbers", "moh", "tones", "EN", "e", "en-", "en-G", "en/GB"] {
            assert!(!is_language_folder(group), "{group}");
        }
    }
}
