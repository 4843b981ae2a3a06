//! `[[rooms]]`: options of named conference rooms. A room without an entry
//! is open to anyone who dials it, without a member limit.

use std::collections::HashSet;

use super::error::ConfigError;
use super::reader::{Reader, Table};

/// Longest PIN accepted (keys before `#`).
pub const MAX_PIN_DIGITS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomConfig {
    /// The room, as in `conf-NAME`.
    pub name: String,
    /// Asked for (ended by `#`) before joining; three tries.
    pub pin: Option<String>,
    /// Callers beyond this many members hear that the room is full.
    pub max_members: Option<u32>,
    /// The room's mix is recorded to `DATA/conferences/NAME/` while it is open.
    pub record: bool,
}

/// Reads `[[rooms]]`; entries that could not be read are `None`.
pub(crate) fn read_rooms(r: &mut Reader, root: &mut Table) -> Option<Vec<Option<RoomConfig>>> {
    let tables = r.array_of_tables(root, "rooms")?;
    Some(
        tables
            .into_iter()
            .map(|table| {
                let mut t = table?;
                let name = r.required_string(&mut t, "name");
                let pin = r.string(&mut t, "pin");
                let max_members = r.integer(&mut t, "max_members");
                let record = r.boolean(&mut t, "record").unwrap_or(false);
                r.finish(t);
                Some(RoomConfig {
                    name: name?,
                    pin,
                    max_members,
                    record,
                })
            })
            .collect(),
    )
}

/// Every problem of the rooms, each with its index in the file.
pub(crate) fn check_rooms<'a>(
    rooms: impl IntoIterator<Item = (usize, &'a RoomConfig)>,
    failed: &HashSet<String>,
) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let mut names = HashSet::new();
    for (index, room) in rooms {
        let key = |k: &str| format!("rooms[{index}].{k}");
        let valid_name = !room.name.is_empty()
            && room
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            problems.push(ConfigError::invalid(
                key("name"),
                format!("`{}` is not a room name (A-Z a-z 0-9 _ -)", room.name),
            ));
        } else if !names.insert(room.name.as_str()) {
            problems.push(ConfigError::invalid(
                key("name"),
                format!("room `{}` is configured twice", room.name),
            ));
        }
        if let Some(pin) = &room.pin {
            if pin.is_empty()
                || pin.len() > MAX_PIN_DIGITS
                || !pin.chars().all(|c| c.is_ascii_digit())
            {
                problems.push(ConfigError::invalid(
                    key("pin"),
                    format!("must be 1 to {MAX_PIN_DIGITS} digits 0-9"),
                ));
            }
        }
        if let Some(max) = room.max_members {
            if !(2..=10_000).contains(&max) && !failed.contains(&key("max_members")) {
                problems.push(ConfigError::invalid(
                    key("max_members"),
                    format!("{max} must be from 2 to 10000"),
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn load(rooms: &str) -> Result<Config, crate::config::ConfigErrors> {
        let prompts = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts");
        Config::from_toml_str(&format!("[prompts]\ndir = {prompts:?}\n{rooms}"), "t.toml")
    }

    #[test]
    fn rooms_are_read_and_checked() {
        let config =
            load("[[rooms]]\nname = \"board\"\npin = \"4321\"\nmax_members = 8\nrecord = true\n")
                .unwrap();
        assert_eq!(config.rooms[0].pin.as_deref(), Some("4321"));
        assert!(config.rooms[0].record);
        assert_eq!(config.rooms[0].max_members, Some(8));
        let errors = load(
            "[[rooms]]\nname = \"a b\"\n[[rooms]]\nname = \"x\"\npin = \"12a\"\nmax_members = 1\nrecord = 1\n\
             [[rooms]]\nname = \"x\"\ncolour = 1\n",
        )
        .unwrap_err();
        let mut keys = errors.keys();
        keys.sort();
        assert_eq!(
            keys,
            [
                Some("rooms[0].name"),
                Some("rooms[1].max_members"),
                Some("rooms[1].pin"),
                Some("rooms[1].record"),
                Some("rooms[2].colour"),
                Some("rooms[2].name"),
            ]
        );
    }
}
