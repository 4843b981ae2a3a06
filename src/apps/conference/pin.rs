//! Which PIN a room asks for, and who an entry makes the caller.
//!
//! | `pin` | `moderator_pin` | asked | an entry of ... joins as |
//! | --- | --- | --- | --- |
//! | no | no | nothing | (everyone joins as a member at once) |
//! | yes | no | "enter your PIN" | `pin`: member |
//! | yes | yes | "enter your PIN" | `pin`: member, `moderator_pin`: moderator |
//! | no | yes | "enter the moderator PIN, or press hash to join now" | nothing: member, `moderator_pin`: moderator |
//!
//! Any other entry is a wrong try.

use crate::prompts::phrases;

/// What a caller is in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Member,
    Moderator,
}

/// A room's PINs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomPins {
    pub member: Option<String>,
    pub moderator: Option<String>,
}

impl RoomPins {
    /// Whether callers are asked before joining.
    pub fn asked(&self) -> bool {
        self.member.is_some() || self.moderator.is_some()
    }

    /// The prompt that asks.
    pub fn prompt(&self) -> &'static str {
        if self.member.is_none() && self.moderator.is_some() {
            phrases::CONF_ENTER_PIN_OR_JOIN
        } else {
            phrases::ENTER_PIN
        }
    }

    /// Who `entered` makes the caller; `None` for a wrong try.
    pub fn check(&self, entered: &str) -> Option<Role> {
        if self.moderator.as_deref() == Some(entered) {
            return Some(Role::Moderator);
        }
        let member = match self.member.as_deref() {
            Some(pin) => pin == entered,
            // Only a moderator PIN exists: members enter nothing.
            None => entered.is_empty(),
        };
        member.then_some(Role::Member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(member: Option<&str>, moderator: Option<&str>) -> RoomPins {
        RoomPins {
            member: member.map(Into::into),
            moderator: moderator.map(Into::into),
        }
    }

    #[test]
    fn each_pin_gives_its_role_and_anything_else_is_wrong() {
        let both = pins(Some("12"), Some("99"));
        assert!(both.asked());
        assert_eq!(both.prompt(), phrases::ENTER_PIN);
        assert_eq!(both.check("12"), Some(Role::Member));
        assert_eq!(both.check("99"), Some(Role::Moderator));
        for wrong in ["", "1", "129", "9"] {
            assert_eq!(both.check(wrong), None, "{wrong:?}");
        }

        let moderator_only = pins(None, Some("99"));
        assert!(moderator_only.asked());
        assert_eq!(moderator_only.prompt(), phrases::CONF_ENTER_PIN_OR_JOIN);
        assert_eq!(moderator_only.check(""), Some(Role::Member));
        assert_eq!(moderator_only.check("99"), Some(Role::Moderator));
        assert_eq!(moderator_only.check("98"), None);

        let member_only = pins(Some("12"), None);
        assert_eq!(member_only.prompt(), phrases::ENTER_PIN);
        assert_eq!(member_only.check("12"), Some(Role::Member));
        assert_eq!(member_only.check(""), None);

        assert!(!pins(None, None).asked());
    }
}
