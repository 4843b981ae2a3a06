//! Typed configuration: TOML with an embedded default, validation that names every bad key.
//!
//! A file need only hold the keys it changes; every other key takes the
//! value of config/default.toml. A missing `[[routes]]` keeps the default
//! dial plan; `routes = []` empties it. Loading reports every problem at
//! once (syntax, unknown keys, types, values, folders, dial plan), each with
//! its key path, line and what is wrong.

mod error;
mod mailboxes;
mod menus;
mod menus_check;
mod overrides;
mod reader;
mod registrar;
mod rooms;
mod routes;
mod sections;
mod source;
mod srtp;
mod users;
mod validate;

use std::collections::HashSet;
use std::path::Path;

use toml::de::DeTable;

pub use error::{ConfigError, ConfigErrorKind, ConfigErrors};
pub use mailboxes::{is_safe_name, MailboxConfig, VoicemailConfig, MAX_MAILBOX_CHARS};
pub use menus::{expand, MenuAction, MenuConfig, MenuKey, ACTION_FORMS};
pub use overrides::{ConfigOverrides, PortRange, PortRangeError};
pub use registrar::RegistrarConfig;
pub use rooms::{RoomAnnounce, RoomConfig, MAX_PIN_DIGITS};
pub use routes::{Application, DtmfMode, RouteConfig};
pub use sections::{
    HttpConfig, LimitsConfig, MediaConfig, PromptsConfig, SipConfig, StorageConfig,
};
pub use srtp::{SrtpMode, SrtpOverrides, SrtpPolicy};
pub use users::UserConfig;

use reader::{Reader, Table};
use source::{LineIndex, SourceMap};

/// The text of config/default.toml, built into the binary.
pub const EMBEDDED_DEFAULT_TOML: &str = include_str!("../../config/default.toml");

const EMBEDDED_ORIGIN: &str = "embedded config/default.toml";

/// The whole configuration, validated.
#[derive(Clone, Debug)]
pub struct Config {
    pub sip: SipConfig,
    pub media: MediaConfig,
    pub http: HttpConfig,
    pub storage: StorageConfig,
    pub prompts: PromptsConfig,
    pub limits: LimitsConfig,
    /// The dial plan in file order; compile with [`crate::routing::DialPlan::compile`].
    pub routes: Vec<RouteConfig>,
    pub registrar: RegistrarConfig,
    /// `[[users]]`: who may REGISTER; none by default.
    pub users: Vec<UserConfig>,
    /// `[[menus]]`: IVR menus; none unless the file defines them.
    pub menus: Vec<MenuConfig>,
    /// `[[rooms]]`: options of named conference rooms; none by default.
    pub rooms: Vec<RoomConfig>,
    /// `[voicemail]`: deposit and login behaviour of every mailbox.
    pub voicemail: VoicemailConfig,
    /// `[[mailboxes]]`: voicemail boxes; none by default.
    pub mailboxes: Vec<MailboxConfig>,
    sources: SourceMap,
}

impl Config {
    /// Parses and validates TOML text; `origin` names it in error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        build(text, origin, None)
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = read_file(path)?;
        build(&text, &path.display().to_string(), None)
    }

    /// The embedded config/default.toml, validated (its relative prompt
    /// folder must exist under the working directory).
    pub fn embedded_default() -> Result<Config, ConfigErrors> {
        build(EMBEDDED_DEFAULT_TOML, EMBEDDED_ORIGIN, None)
    }

    /// What the server runs on: the file at `path` (the embedded default when
    /// `None`) with the overrides applied, validated once as a whole, so that
    /// an override can repair a value (such as a prompt folder that does not
    /// exist here) before it is checked.
    pub fn load_with_overrides(
        path: Option<&Path>,
        overrides: &ConfigOverrides,
    ) -> Result<Config, ConfigErrors> {
        match path {
            Some(path) => {
                let text = read_file(path)?;
                build(&text, &path.display().to_string(), Some(overrides))
            }
            None => build(EMBEDDED_DEFAULT_TOML, EMBEDDED_ORIGIN, Some(overrides)),
        }
    }

    /// Checks the configuration as it stands (after edits or overrides).
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errors = validate::check_config(
            self,
            self.routes.iter().enumerate(),
            self.users.iter().enumerate(),
            self.menus.iter().enumerate(),
            &HashSet::new(),
        );
        errors.extend(rooms::check_rooms(
            self.rooms.iter().enumerate(),
            &HashSet::new(),
        ));
        errors.extend(mailboxes::check_mailboxes(
            self.mailboxes.iter().enumerate(),
            &self.voicemail,
            &self.users,
            &HashSet::new(),
        ));
        for error in &mut errors {
            self.sources.locate(error);
        }
        ConfigErrors::check(errors)
    }

    /// The file (or description of the embedded default) it was read from.
    pub fn origin(&self) -> &str {
        &self.sources.origin
    }
}

/// `mediaplane check-config FILE`: the loaded configuration, or every
/// problem in it.
pub fn check_config(path: &Path) -> Result<Config, ConfigErrors> {
    Config::load(path)
}

fn read_file(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors::single(ConfigError {
            origin: Some(path.display().to_string()),
            line: None,
            key: None,
            kind: ConfigErrorKind::Io,
            message: format!("cannot read: {e}"),
        })
    })
}

/// The dial plan of config/default.toml.
fn default_routes() -> Vec<RouteConfig> {
    vec![
        RouteConfig::new("^echo$", Application::Echo),
        RouteConfig::new(
            "^play-(?P<name>[A-Za-z0-9_-]+)$",
            Application::Play {
                prompt: "${name}".to_string(),
            },
        ),
        RouteConfig::new(
            "^conf-(?P<room>[A-Za-z0-9_-]+)$",
            Application::Conference {
                room: "${room}".to_string(),
            },
        ),
        RouteConfig::new(
            "^ivr-(?P<name>[A-Za-z0-9_-]+)$",
            Application::Ivr {
                menu: "${name}".to_string(),
            },
        ),
        RouteConfig::new(
            "^vm-(?P<mailbox>[A-Za-z0-9_-]+)$",
            Application::Deposit {
                mailbox: "${mailbox}".to_string(),
            },
        ),
        RouteConfig::new("^voicemail$", Application::Voicemail { mailbox: None }),
        RouteConfig::new(
            "^voicemail-(?P<mailbox>[A-Za-z0-9_-]+)$",
            Application::Voicemail {
                mailbox: Some("${mailbox}".to_string()),
            },
        ),
    ]
}

fn build(
    text: &str,
    origin: &str,
    overrides: Option<&ConfigOverrides>,
) -> Result<Config, ConfigErrors> {
    let lines = LineIndex::new(text);
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        return Err(syntax_problems(&syntax_errors, &lines, origin));
    }

    let mut reader = Reader::new(&lines);
    let mut root = reader.root(&document);
    let sip = read_section(&mut reader, &mut root, "sip", SipConfig::read);
    let media = read_section(&mut reader, &mut root, "media", MediaConfig::read);
    let http = read_section(&mut reader, &mut root, "http", HttpConfig::read);
    let storage = read_section(&mut reader, &mut root, "storage", StorageConfig::read);
    let prompts = read_section(&mut reader, &mut root, "prompts", PromptsConfig::read);
    let limits = read_section(&mut reader, &mut root, "limits", LimitsConfig::read);
    let registrar = read_section(&mut reader, &mut root, "registrar", RegistrarConfig::read);
    let route_slots = routes::read_routes(&mut reader, &mut root);
    let user_slots = users::read_users(&mut reader, &mut root).unwrap_or_default();
    let menu_slots = menus::read_menus(&mut reader, &mut root).unwrap_or_default();
    let room_slots = rooms::read_rooms(&mut reader, &mut root).unwrap_or_default();
    let voicemail = read_section(&mut reader, &mut root, "voicemail", VoicemailConfig::read);
    let mailbox_slots = mailboxes::read_mailboxes(&mut reader, &mut root).unwrap_or_default();
    reader.finish(root);

    let routes = match &route_slots {
        Some(slots) => slots.iter().flatten().cloned().collect(),
        None if reader.failed.contains("routes") => Vec::new(),
        None => default_routes(),
    };
    let mut config = Config {
        sip,
        media,
        http,
        storage,
        prompts,
        limits,
        routes,
        registrar,
        users: user_slots.iter().flatten().cloned().collect(),
        menus: menu_slots.iter().flatten().cloned().collect(),
        rooms: room_slots.iter().flatten().cloned().collect(),
        voicemail,
        mailboxes: mailbox_slots.iter().flatten().cloned().collect(),
        sources: SourceMap::new(origin),
    };
    config.sources.key_lines = std::mem::take(&mut reader.key_lines);
    if let Some(overrides) = overrides {
        overrides.set(&mut config);
    }

    // Routes are checked under their index in the file, which differs from
    // the index in `config.routes` when an entry before them was unreadable.
    let file_routes: Vec<(usize, &RouteConfig)> = match &route_slots {
        Some(slots) => slots
            .iter()
            .enumerate()
            .filter_map(|(index, route)| route.as_ref().map(|route| (index, route)))
            .collect(),
        None => config.routes.iter().enumerate().collect(),
    };
    // Users too, for the same reason.
    let file_users = user_slots
        .iter()
        .enumerate()
        .filter_map(|(index, user)| user.as_ref().map(|user| (index, user)));
    // Menus too; one that could not be read at all makes the checks of
    // menu names unsound, which the failed `menus[N]` key tells them.
    let file_menus = menu_slots
        .iter()
        .enumerate()
        .filter_map(|(index, menu)| menu.as_ref().map(|menu| (index, menu)));
    let mut errors = reader.errors;
    errors.extend(validate::check_config(
        &config,
        file_routes,
        file_users,
        file_menus,
        &reader.failed,
    ));
    let file_rooms = room_slots
        .iter()
        .enumerate()
        .filter_map(|(index, room)| room.as_ref().map(|room| (index, room)));
    errors.extend(rooms::check_rooms(file_rooms, &reader.failed));
    let file_mailboxes = mailbox_slots
        .iter()
        .enumerate()
        .filter_map(|(index, mailbox)| mailbox.as_ref().map(|mailbox| (index, mailbox)));
    errors.extend(mailboxes::check_mailboxes(
        file_mailboxes,
        &config.voicemail,
        &config.users,
        &reader.failed,
    ));
    for error in &mut errors {
        config.sources.locate(error);
    }
    ConfigErrors::check(errors)?;
    Ok(config)
}

/// One problem per line with a syntax error: the parser's recovery tends to
/// cascade (an unclosed array yields several complaints on the same line),
/// and the first is the one that explains it. Nothing else is checked in a
/// broken file, since what the parser recovers of it would only add
/// follow-on complaints.
fn syntax_problems(errors: &[toml::de::Error], lines: &LineIndex, origin: &str) -> ConfigErrors {
    let mut problems: Vec<ConfigError> = Vec::new();
    for error in errors {
        let line = error.span().map(|span| lines.line_of(span.start));
        if line.is_some() && problems.iter().any(|p| p.line == line) {
            continue;
        }
        problems.push(ConfigError {
            origin: Some(origin.to_string()),
            line,
            key: None,
            kind: ConfigErrorKind::Syntax,
            message: error
                .message()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        });
    }
    ConfigErrors::new(problems)
}

/// Reads one `[section]`; an absent one takes its defaults.
fn read_section<T: Default>(
    reader: &mut Reader,
    root: &mut Table,
    key: &'static str,
    read: fn(&mut Reader, &mut Table) -> T,
) -> T {
    match reader.section(root, key) {
        Some(mut table) => {
            let section = read(reader, &mut table);
            reader.finish(table);
            section
        }
        None => T::default(),
    }
}

#[cfg(test)]
mod menus_tests;
#[cfg(test)]
mod overrides_tests;
#[cfg(test)]
mod registrar_tests;
#[cfg(test)]
mod rtcp_tests;
#[cfg(test)]
mod srtp_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tls_tests;
