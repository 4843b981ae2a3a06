//! Configuration problems: each names the key, where it was set and what is wrong.

use std::fmt;

/// What sort of problem a [`ConfigError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Io,
    /// The text is not valid TOML.
    Syntax,
    /// A key mediaplane does not know (often a typo).
    UnknownKey,
    /// A required key is absent.
    MissingKey,
    /// The value has the wrong TOML type (a string where a number belongs...).
    WrongType,
    /// The value has the right type but is not acceptable.
    InvalidValue,
}

/// One configuration problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the value came from: a file name, `embedded default` or a
    /// command-line flag. `None` until the error has been located.
    pub origin: Option<String>,
    /// 1-based line in `origin`, when the value came from a file.
    pub line: Option<usize>,
    /// Key path such as `media.rtp_port_min` or `routes[2].match`; `None`
    /// for problems that concern no key (syntax errors, unreadable file).
    pub key: Option<String>,
    pub kind: ConfigErrorKind,
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(
        kind: ConfigErrorKind,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            origin: None,
            line: None,
            key: Some(key.into()),
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::new(ConfigErrorKind::InvalidValue, key, message)
    }

    pub(crate) fn at_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.origin, self.line) {
            (Some(origin), Some(line)) => write!(f, "{origin}:{line}: ")?,
            (Some(origin), None) => write!(f, "{origin}: ")?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a configuration, in file order. Display prints
/// one line per problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", display_lines(.0))]
pub struct ConfigErrors(Vec<ConfigError>);

fn display_lines(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigErrors {
    /// Sorts by line so that problems read in file order; problems without a
    /// line (command-line flags, missing folders) keep their order at the end.
    pub(crate) fn new(mut errors: Vec<ConfigError>) -> Self {
        errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        ConfigErrors(errors)
    }

    pub(crate) fn single(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }

    /// `Ok(())` when there is no problem.
    pub(crate) fn check(errors: Vec<ConfigError>) -> Result<(), ConfigErrors> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors::new(errors))
        }
    }

    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// The key paths of the problems, in order (`None` for keyless ones).
    pub fn keys(&self) -> Vec<Option<&str>> {
        self.0.iter().map(|e| e.key.as_deref()).collect()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_origin_line_key_and_message() {
        let mut error =
            ConfigError::invalid("media.ptime_ms", "must be a multiple of 10").at_line(Some(7));
        error.origin = Some("site.toml".into());
        assert_eq!(
            error.to_string(),
            "site.toml:7: media.ptime_ms: must be a multiple of 10"
        );
    }

    #[test]
    fn errors_sort_by_line_and_print_one_per_line() {
        let a = ConfigError::invalid("a", "late").at_line(Some(9));
        let b = ConfigError::invalid("b", "no line");
        let c = ConfigError::invalid("c", "early").at_line(Some(2));
        let errors = ConfigErrors::new(vec![a, b, c]);
        assert_eq!(errors.keys(), vec![Some("c"), Some("a"), Some("b")]);
        assert_eq!(
            errors.to_string(),
            "line 2: c: early\nline 9: a: late\nb: no line"
        );
    }
}
