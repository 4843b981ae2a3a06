//! Where each setting came from, so that a problem found late (after command-
//! line overrides, or by a check that spans several keys) still points at the
//! line or flag that set the value.

use std::collections::HashMap;

use super::error::ConfigError;

/// Byte offset -> 1-based line number.
pub(crate) struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { line_starts }
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }
}

/// Origins of the configuration's values.
#[derive(Clone, Debug, Default)]
pub(crate) struct SourceMap {
    /// The file name, or a description of the embedded default.
    pub(crate) origin: String,
    /// Line of each key path present in the file.
    pub(crate) key_lines: HashMap<String, usize>,
    /// Key paths set on the command line (or environment), with the flag.
    pub(crate) overridden: HashMap<String, String>,
}

impl SourceMap {
    pub(crate) fn new(origin: &str) -> Self {
        SourceMap {
            origin: origin.to_string(),
            ..SourceMap::default()
        }
    }

    /// Fills in origin and line of an error that does not have them yet.
    pub(crate) fn locate(&self, error: &mut ConfigError) {
        if error.origin.is_some() {
            return;
        }
        if let Some(flag) = error.key.as_deref().and_then(|k| self.overridden.get(k)) {
            error.origin = Some(flag.clone());
            error.line = None;
            return;
        }
        error.origin = Some(self.origin.clone());
        if error.line.is_none() {
            error.line = error.key.as_deref().and_then(|k| self.line_of_key(k));
        }
    }

    /// The line of a key, or of its closest enclosing table or array when the
    /// key itself is absent (a missing parameter points at its route).
    fn line_of_key(&self, key: &str) -> Option<usize> {
        let mut path = key;
        loop {
            if let Some(line) = self.key_lines.get(path) {
                return Some(*line);
            }
            path = parent_path(path)?;
        }
    }
}

/// `routes[1].prompt` -> `routes[1]` -> `routes` -> None.
fn parent_path(path: &str) -> Option<&str> {
    let cut = if path.ends_with(']') {
        path.rfind('[')?
    } else {
        path.rfind('.')?
    };
    Some(&path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_one_based() {
        let index = LineIndex::new("a = 1\nb = 2\n\nc = 3");
        assert_eq!(index.line_of(0), 1);
        assert_eq!(index.line_of(5), 1);
        assert_eq!(index.line_of(6), 2);
        assert_eq!(index.line_of(13), 4);
    }

    #[test]
    fn missing_key_falls_back_to_enclosing_route() {
        let mut sources = SourceMap::new("site.toml");
        sources.key_lines.insert("routes[1]".into(), 12);
        let mut error = ConfigError::invalid("routes[1].prompt", "missing");
        sources.locate(&mut error);
        assert_eq!(error.origin.as_deref(), Some("site.toml"));
        assert_eq!(error.line, Some(12));
    }

    #[test]
    fn overridden_key_names_the_flag() {
        let mut sources = SourceMap::new("site.toml");
        sources.key_lines.insert("media.workers".into(), 3);
        sources
            .overridden
            .insert("media.workers".into(), "--workers".into());
        let mut error = ConfigError::invalid("media.workers", "too many");
        sources.locate(&mut error);
        assert_eq!(error.origin.as_deref(), Some("--workers"));
        assert_eq!(error.line, None);
    }
}
