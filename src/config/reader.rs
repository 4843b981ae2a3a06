//! Reads typed values out of a parsed TOML document, key by key, recording
//! every problem instead of stopping at the first (serde's derive stops at
//! the first error, and a user fixing a file wants the whole list at once).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::{ConfigError, ConfigErrorKind};
use super::source::LineIndex;

/// Problems and key locations gathered while reading one document.
pub(crate) struct Reader<'s> {
    lines: &'s LineIndex,
    pub(crate) errors: Vec<ConfigError>,
    /// Key paths whose value could not be read; checks that involve them are
    /// skipped, since the default standing in for them would mislead.
    pub(crate) failed: HashSet<String>,
    pub(crate) key_lines: HashMap<String, usize>,
}

/// A TOML table being read: its key path and the keys asked for so far.
pub(crate) struct Table<'t, 'i> {
    path: String,
    /// How unknown-key messages place this table, when its path says too little.
    context: Option<String>,
    line: Option<usize>,
    entries: &'t DeTable<'i>,
    asked: Vec<&'static str>,
}

impl Table<'_, '_> {
    pub(crate) fn set_context(&mut self, context: String) {
        self.context = Some(context);
    }

    /// The key path of a key in this table.
    pub(crate) fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

/// Integer types a setting can have, with the range TOML values must fit.
pub(crate) trait IntegerSetting: TryFrom<i64> {
    const MIN: i64;
    const MAX: i64;
}

macro_rules! integer_setting {
    ($($t:ty),*) => {$(
        impl IntegerSetting for $t {
            const MIN: i64 = 0;
            const MAX: i64 = if (<$t>::MAX as u64) > i64::MAX as u64 { i64::MAX } else { <$t>::MAX as i64 };
        }
    )*};
}
integer_setting!(u16, u32, u64, usize);

impl<'s> Reader<'s> {
    pub(crate) fn new(lines: &'s LineIndex) -> Self {
        Reader {
            lines,
            errors: Vec::new(),
            failed: HashSet::new(),
            key_lines: HashMap::new(),
        }
    }

    pub(crate) fn root<'t, 'i>(&mut self, table: &'t Spanned<DeTable<'i>>) -> Table<'t, 'i> {
        Table {
            path: String::new(),
            context: None,
            line: None,
            entries: table.get_ref(),
            asked: Vec::new(),
        }
    }

    /// Records a problem with a value and marks its key as failed.
    pub(crate) fn invalid(
        &mut self,
        path: String,
        line: Option<usize>,
        message: impl Into<String>,
    ) {
        self.failed.insert(path.clone());
        self.errors
            .push(ConfigError::invalid(path, message).at_line(line));
    }

    pub(crate) fn line_of_key(&self, path: &str) -> Option<usize> {
        self.key_lines.get(path).copied()
    }

    fn line_of(&self, value: &Spanned<DeValue<'_>>) -> usize {
        self.lines.line_of(value.span().start)
    }

    /// Finds a key, remembering that it was asked for and where it is.
    fn lookup<'t, 'i>(
        &mut self,
        table: &mut Table<'t, 'i>,
        key: &'static str,
    ) -> Option<(&'t Spanned<DeValue<'i>>, String)> {
        table.asked.push(key);
        let (name, value) = table.entries.get_key_value(key)?;
        let path = table.key_path(key);
        self.key_lines
            .insert(path.clone(), self.lines.line_of(name.span().start));
        Some((value, path))
    }

    fn wrong_type(&mut self, path: String, value: &Spanned<DeValue<'_>>, expected: &str) {
        let line = self.line_of(value);
        self.failed.insert(path.clone());
        self.errors.push(
            ConfigError::new(
                ConfigErrorKind::WrongType,
                path,
                format!("expected {expected}, found {}", value.get_ref().type_str()),
            )
            .at_line(Some(line)),
        );
    }

    pub(crate) fn string(
        &mut self,
        table: &mut Table<'_, '_>,
        key: &'static str,
    ) -> Option<String> {
        let (value, path) = self.lookup(table, key)?;
        match value.get_ref().as_str() {
            Some(text) => Some(text.to_string()),
            None => {
                self.wrong_type(path, value, "a string");
                None
            }
        }
    }

    /// Like [`Reader::string`], but an absent key is a problem.
    pub(crate) fn required_string(
        &mut self,
        table: &mut Table<'_, '_>,
        key: &'static str,
    ) -> Option<String> {
        if !table.entries.contains_key(key) {
            table.asked.push(key);
            let path = table.key_path(key);
            self.failed.insert(path.clone());
            self.errors.push(
                ConfigError::new(ConfigErrorKind::MissingKey, path, "required key is missing")
                    .at_line(table.line),
            );
            return None;
        }
        self.string(table, key)
    }

    pub(crate) fn integer<T: IntegerSetting>(
        &mut self,
        table: &mut Table<'_, '_>,
        key: &'static str,
    ) -> Option<T> {
        let (value, path) = self.lookup(table, key)?;
        let Some(integer) = value.get_ref().as_integer() else {
            self.wrong_type(path, value, "an integer");
            return None;
        };
        let line = Some(self.line_of(value));
        let parsed = i64::from_str_radix(integer.as_str(), integer.radix())
            .ok()
            .filter(|n| (T::MIN..=T::MAX).contains(n))
            .and_then(|n| T::try_from(n).ok());
        if parsed.is_none() {
            let expected = if T::MAX == i64::MAX {
                "a non-negative integer".to_string()
            } else {
                format!("an integer from {} to {}", T::MIN, T::MAX)
            };
            let found = integer.as_str();
            self.invalid(path, line, format!("expected {expected}, found {found}"));
        }
        parsed
    }

    /// A string parsed with `FromStr`; `what` completes "`x` is not ...".
    pub(crate) fn parsed<T: FromStr>(
        &mut self,
        table: &mut Table<'_, '_>,
        key: &'static str,
        what: &str,
    ) -> Option<T> {
        let text = self.string(table, key)?;
        let path = table.key_path(key);
        match text.trim().parse() {
            Ok(parsed) => Some(parsed),
            Err(_) => {
                let line = self.line_of_key(&path);
                self.invalid(path, line, format!("`{text}` is not {what}"));
                None
            }
        }
    }

    /// An array of strings; elements of another type are reported one by one.
    pub(crate) fn string_list(
        &mut self,
        table: &mut Table<'_, '_>,
        key: &'static str,
    ) -> Option<Vec<String>> {
        let (value, path) = self.lookup(table, key)?;
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(path, value, "an array of strings");
            return None;
        };
        let mut strings = Vec::with_capacity(items.len());
        let mut all_strings = true;
        for (index, item) in items.iter().enumerate() {
            match item.get_ref().as_str() {
                Some(text) => strings.push(text.to_string()),
                None => {
                    all_strings = false;
                    self.wrong_type(format!("{path}[{index}]"), item, "a string");
                }
            }
        }
        if !all_strings {
            self.failed.insert(path);
            return None;
        }
        Some(strings)
    }

    pub(crate) fn boolean(&mut self, table: &mut Table<'_, '_>, key: &'static str) -> Option<bool> {
        let (value, path) = self.lookup(table, key)?;
        match value.get_ref().as_bool() {
            Some(flag) => Some(flag),
            None => {
                self.wrong_type(path, value, "true or false");
                None
            }
        }
    }

    /// One string or an array of strings (a list of one is the same as the
    /// string alone).
    pub(crate) fn string_or_list(
        &mut self,
        table: &mut Table<'_, '_>,
        key: &'static str,
    ) -> Option<Vec<String>> {
        let (value, path) = self.lookup(table, key)?;
        self.strings_of(value, path)
    }

    fn strings_of(&mut self, value: &Spanned<DeValue<'_>>, path: String) -> Option<Vec<String>> {
        if let Some(text) = value.get_ref().as_str() {
            return Some(vec![text.to_string()]);
        }
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(path, value, "a string or an array of strings");
            return None;
        };
        let mut strings = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item.get_ref().as_str() {
                Some(text) => strings.push(text.to_string()),
                None => self.wrong_type(format!("{path}[{index}]"), item, "a string"),
            }
        }
        if strings.len() < items.len() {
            self.failed.insert(path);
            return None;
        }
        Some(strings)
    }

    /// Every entry of a table whose keys are data rather than settings
    /// (`[menus.keys]`), each a string or an array of strings: the key, its
    /// path (quoted where TOML needs it), and the value if it could be read.
    /// Such a table has no unknown keys, so it is not passed to `finish`.
    pub(crate) fn data_entries(&mut self, table: Table<'_, '_>) -> Vec<DataEntry> {
        let mut entries = Vec::new();
        for (key, value) in table.entries.iter() {
            let name: &str = key.get_ref();
            let path = format!("{}.{}", table.path, toml_key(name));
            self.key_lines
                .insert(path.clone(), self.lines.line_of(key.span().start));
            let values = self.strings_of(value, path.clone());
            entries.push(DataEntry {
                key: name.to_string(),
                path,
                values,
            });
        }
        entries
    }

    /// A sub-table such as `[media]`; absent -> None (defaults apply).
    pub(crate) fn section<'t, 'i>(
        &mut self,
        table: &mut Table<'t, 'i>,
        key: &'static str,
    ) -> Option<Table<'t, 'i>> {
        let (value, path) = self.lookup(table, key)?;
        match value.get_ref().as_table() {
            Some(entries) => Some(Table {
                context: None,
                line: self.line_of_key(&path),
                path,
                entries,
                asked: Vec::new(),
            }),
            None => {
                self.wrong_type(path, value, "a table");
                None
            }
        }
    }

    /// An array of tables such as `[[routes]]`. Elements that are not tables
    /// are reported and come back as `None`, keeping the indices of the
    /// others true to the file.
    pub(crate) fn array_of_tables<'t, 'i>(
        &mut self,
        table: &mut Table<'t, 'i>,
        key: &'static str,
    ) -> Option<Vec<Option<Table<'t, 'i>>>> {
        let (value, path) = self.lookup(table, key)?;
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(path, value, "an array of tables");
            return None;
        };
        let mut tables = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            match item.get_ref().as_table() {
                Some(entries) => {
                    let line = self.line_of(item);
                    self.key_lines.insert(item_path.clone(), line);
                    tables.push(Some(Table {
                        path: item_path,
                        context: None,
                        line: Some(line),
                        entries,
                        asked: Vec::new(),
                    }));
                }
                None => {
                    self.wrong_type(item_path, item, "a table");
                    tables.push(None);
                }
            }
        }
        Some(tables)
    }

    /// Reports every key of the table that nobody asked for.
    pub(crate) fn finish(&mut self, table: Table<'_, '_>) {
        for (key, _) in table.entries.iter() {
            let name: &str = key.get_ref();
            if table.asked.contains(&name) {
                continue;
            }
            let mut known = table.asked.clone();
            known.sort_unstable();
            known.dedup();
            let where_ = match &table.context {
                Some(context) => context.clone(),
                None if table.path.is_empty() => "at the top level".to_string(),
                None => format!("in [{}]", table.path),
            };
            self.errors.push(
                ConfigError::new(
                    ConfigErrorKind::UnknownKey,
                    table.key_path(name),
                    format!("unknown key {where_}; known keys: {}", known.join(", ")),
                )
                .at_line(Some(self.lines.line_of(key.span().start))),
            );
        }
    }
}

/// One entry of [`Reader::data_entries`].
pub(crate) struct DataEntry {
    pub key: String,
    pub path: String,
    pub values: Option<Vec<String>>,
}

/// A key as it would be written in TOML: bare when it can be (and does not
/// look like a number, which reads better quoted), else quoted.
pub(crate) fn toml_key(key: &str) -> String {
    let bare = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T>(text: &str, f: impl FnOnce(&mut Reader, &mut Table) -> T) -> (T, Vec<ConfigError>) {
        let lines = LineIndex::new(text);
        let (document, syntax) = DeTable::parse_recoverable(text);
        assert!(syntax.is_empty(), "{syntax:?}");
        let mut reader = Reader::new(&lines);
        let mut root = reader.root(&document);
        let value = f(&mut reader, &mut root);
        reader.finish(root);
        (value, reader.errors)
    }

    #[test]
    fn integers_are_range_checked_with_the_line() {
        let (value, errors) = read("\nport = 70000", |r, t| r.integer::<u16>(t, "port"));
        assert_eq!(value, None);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, Some(2));
        assert_eq!(
            errors[0].message,
            "expected an integer from 0 to 65535, found 70000"
        );
    }

    #[test]
    fn hex_and_underscored_integers_read() {
        let (value, errors) = read("a = 0x10\nb = 1_000", |r, t| {
            (r.integer::<u32>(t, "a"), r.integer::<u32>(t, "b"))
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(value, (Some(16), Some(1000)));
    }

    #[test]
    fn wrong_type_names_both_types() {
        let (value, errors) = read("name = 5", |r, t| r.string(t, "name"));
        assert_eq!(value, None);
        assert_eq!(errors[0].kind, ConfigErrorKind::WrongType);
        assert_eq!(errors[0].message, "expected a string, found integer");
    }

    #[test]
    fn every_unknown_key_is_reported() {
        let (_, errors) = read("known = 'x'\nfirst = 1\nsecond = 2", |r, t| {
            r.string(t, "known")
        });
        let keys: Vec<_> = errors.iter().map(|e| e.key.as_deref()).collect();
        assert_eq!(keys, vec![Some("first"), Some("second")]);
        assert!(errors.iter().all(|e| e.kind == ConfigErrorKind::UnknownKey));
        assert!(errors[0].message.ends_with("known keys: known"));
    }

    #[test]
    fn bad_list_elements_are_reported_by_index() {
        let (value, errors) = read("list = ['a', 2, 'c', true]", |r, t| {
            r.string_list(t, "list")
        });
        assert_eq!(value, None);
        let keys: Vec<_> = errors.iter().map(|e| e.key.as_deref()).collect();
        assert_eq!(keys, vec![Some("list[1]"), Some("list[3]")]);
    }
}
