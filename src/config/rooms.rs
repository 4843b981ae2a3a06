//! `[[rooms]]`: options of named conference rooms. A room without an entry
//! is open to anyone who dials it, without a member limit.

use std::collections::HashSet;

use super::error::ConfigError;
use super::reader::{Reader, Table};

/// Longest PIN accepted (keys before `#`).
pub const MAX_PIN_DIGITS: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomConfig {
    /// The room, as in `conf-NAME`.
    pub name: String,
    /// Asked for (ended by `#`) before joining; three tries.
    pub pin: Option<String>,
    /// Callers beyond this many members hear that the room is full.
    pub max_members: Option<u32>,
    /// The room's mix is recorded to `DATA/conferences/NAME/` while it is open.
    pub record: bool,
    /// Entered instead of the PIN, makes the caller a moderator. With it
    /// and no `pin`, callers are asked for it but may press `#` alone to
    /// join as members.
    pub moderator_pin: Option<String>,
    /// Members who come before any moderator wait with music until one
    /// joins. Needs a `moderator_pin`.
    pub wait_for_moderator: bool,
    /// What the others hear when a member joins or leaves.
    pub announce: RoomAnnounce,
}

/// `announce`: how a room tells its members of arrivals and departures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoomAnnounce {
    /// A rising tone on a join, a falling one on a leave.
    #[default]
    Tone,
    /// Each caller records its name before joining; the room says "NAME
    /// has joined" and "NAME has left" (the tone for one who said nothing).
    Name,
    /// Nothing.
    None,
}

/// The values of `announce`, for check-config.
pub const ANNOUNCE_VALUES: &str = "one of \"tone\", \"name\", \"none\"";

impl std::str::FromStr for RoomAnnounce {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "tone" => Ok(RoomAnnounce::Tone),
            "name" => Ok(RoomAnnounce::Name),
            "none" => Ok(RoomAnnounce::None),
            _ => Err(()),
        }
    }
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
                let moderator_pin = r.string(&mut t, "moderator_pin");
                let wait_for_moderator = r.boolean(&mut t, "wait_for_moderator");
                let announce = r.parsed(&mut t, "announce", ANNOUNCE_VALUES);
                r.finish(t);
                Some(RoomConfig {
                    name: name?,
                    pin,
                    max_members,
                    record,
                    moderator_pin,
                    wait_for_moderator: wait_for_moderator.unwrap_or(false),
                    announce: announce.unwrap_or_default(),
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
        for (name, pin) in [("pin", &room.pin), ("moderator_pin", &room.moderator_pin)] {
            if pin.as_deref().is_some_and(|pin| !valid_pin(pin)) {
                problems.push(ConfigError::invalid(
                    key(name),
                    format!("must be 1 to {MAX_PIN_DIGITS} digits 0-9"),
                ));
            }
        }
        if room.moderator_pin.is_some() && room.moderator_pin == room.pin {
            problems.push(ConfigError::invalid(
                key("moderator_pin"),
                "must differ from `pin` (the PIN tells a moderator from a member)",
            ));
        }
        if room.wait_for_moderator
            && room.moderator_pin.is_none()
            && !failed.contains(&key("moderator_pin"))
        {
            problems.push(ConfigError::invalid(
                key("wait_for_moderator"),
                "needs a `moderator_pin`: without one no moderator can come, and members would wait for ever",
            ));
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

fn valid_pin(pin: &str) -> bool {
    !pin.is_empty() && pin.len() <= MAX_PIN_DIGITS && pin.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::RoomAnnounce;
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
        assert_eq!(config.rooms[0].announce, RoomAnnounce::Tone, "the default");
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

    #[test]
    fn a_moderator_pin_differs_from_the_pin_and_waiting_needs_one() {
        let config = load(
            "[[rooms]]\nname = \"m\"\npin = \"1\"\nmoderator_pin = \"99\"\nwait_for_moderator = true\n",
        )
        .unwrap();
        assert_eq!(config.rooms[0].moderator_pin.as_deref(), Some("99"));
        assert!(config.rooms[0].wait_for_moderator);
        let config = load("[[rooms]]\nname = \"m\"\n").unwrap();
        assert_eq!(config.rooms[0].moderator_pin, None);
        assert!(!config.rooms[0].wait_for_moderator);

        let errors = load(
            "[[rooms]]\nname = \"a\"\npin = \"12\"\nmoderator_pin = \"12\"\n\
             [[rooms]]\nname = \"b\"\nwait_for_moderator = true\n\
             [[rooms]]\nname = \"c\"\nmoderator_pin = \"x1\"\n\
             [[rooms]]\nname = \"d\"\nwait_for_moderator = \"yes\"\n",
        )
        .unwrap_err();
        let mut keys = errors.keys();
        keys.sort();
        assert_eq!(
            keys,
            [
                Some("rooms[0].moderator_pin"),
                Some("rooms[1].wait_for_moderator"),
                Some("rooms[2].moderator_pin"),
                Some("rooms[3].wait_for_moderator"),
            ]
        );
        let text: String = (&errors).into_iter().map(|e| format!("{e}\n")).collect();
        assert!(text.contains("must differ from `pin`"), "{text}");
        assert!(text.contains("needs a `moderator_pin`"), "{text}");
    }

    #[test]
    fn announce_is_tone_name_or_none() {
        let config = load(
            "[[rooms]]\nname = \"a\"\nannounce = \"name\"\n\
             [[rooms]]\nname = \"b\"\nannounce = \"none\"\n\
             [[rooms]]\nname = \"c\"\nannounce = \"tone\"\n",
        )
        .unwrap();
        let announce: Vec<_> = config.rooms.iter().map(|r| r.announce).collect();
        assert_eq!(
            announce,
            [RoomAnnounce::Name, RoomAnnounce::None, RoomAnnounce::Tone]
        );
        let errors = load("[[rooms]]\nname = \"a\"\nannounce = \"names\"\n").unwrap_err();
        assert_eq!(errors.keys(), [Some("rooms[0].announce")]);
        let text: String = (&errors).into_iter().map(|e| format!("{e}\n")).collect();
        assert!(
            text.contains("`names` is not one of \"tone\", \"name\", \"none\""),
            "{text}"
        );
    }
}
