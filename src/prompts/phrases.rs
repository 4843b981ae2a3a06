//! Names of the shipped phrase prompts (`prompts/en/NAME.wav`), so that the
//! IVR, voicemail and conference flows refer to them by constant and a
//! renamed file fails a test instead of a call.

pub const WELCOME: &str = "welcome";
pub const GOODBYE: &str = "goodbye";
pub const PLEASE_WAIT: &str = "please-wait";
pub const PLEASE_HOLD: &str = "please-hold";
pub const TRANSFER: &str = "transfer";
pub const INVALID: &str = "invalid";
pub const TRY_AGAIN: &str = "try-again";
pub const NO_INPUT: &str = "no-input";
pub const TOO_MANY_ATTEMPTS: &str = "too-many-attempts";
pub const NOT_FOUND: &str = "not-found";
pub const BEEP: &str = "beep";
/// Music on hold: about 20 s of synthesised music at 8 kHz, looped.
pub const MOH: &str = "moh";

pub const NOT_AVAILABLE: &str = "not-available";
pub const BUSY: &str = "busy";
pub const LEAVE_MESSAGE_AFTER_TONE: &str = "leave-message-after-tone";
pub const MESSAGE_RECORDED: &str = "message-recorded";
pub const MAILBOX_FULL: &str = "mailbox-full";
pub const RECORD_GREETING: &str = "record-greeting";
pub const GREETING_SAVED: &str = "greeting-saved";
/// "Mailbox" (before its number, in the default greeting).
pub const MAILBOX: &str = "mailbox";

pub const ENTER_MAILBOX: &str = "enter-mailbox";
pub const ENTER_PIN: &str = "enter-pin";
pub const PIN_INVALID: &str = "pin-invalid";
pub const YOU_HAVE: &str = "you-have";
pub const NEW_MESSAGE: &str = "new-message";
pub const NEW_MESSAGES: &str = "new-messages";
pub const OLD_MESSAGE: &str = "old-message";
pub const OLD_MESSAGES: &str = "old-messages";
pub const NO_MESSAGES: &str = "no-messages";
/// "To listen to new messages, press 1. For old messages, press 2."
pub const PRESS_1_NEW_PRESS_2_OLD: &str = "press-1-new-press-2-old";
/// "Press 5 to repeat, 4 for the previous message, 6 for the next, 7 to
/// delete, 9 to save, or hash to leave."
pub const MESSAGE_MENU: &str = "message-menu";
pub const MESSAGE_FROM: &str = "message-from";
pub const RECEIVED_ON: &str = "received-on";
pub const AT: &str = "at";
pub const AND: &str = "and";
pub const MESSAGE_DELETED: &str = "message-deleted";
pub const MESSAGE_SAVED: &str = "message-saved";
pub const NO_MORE_MESSAGES: &str = "no-more-messages";
pub const FIRST_MESSAGE: &str = "first-message";
pub const NO_SUCH_MAILBOX: &str = "no-such-mailbox";
/// "This mailbox is locked after too many wrong PINs. Please try again later."
pub const MAILBOX_LOCKED: &str = "mailbox-locked";
/// "To record your greeting, press 1. To change your PIN, press 2. To go
/// back, press hash."
pub const MAILBOX_OPTIONS: &str = "mailbox-options";
pub const ENTER_NEW_PIN: &str = "enter-new-pin";
pub const PIN_CHANGED: &str = "pin-changed";

pub const CONF_WELCOME: &str = "conf-welcome";
pub const CONF_JOINED: &str = "conf-joined";
pub const CONF_LEFT: &str = "conf-left";
pub const CONF_MUTED: &str = "conf-muted";
pub const CONF_UNMUTED: &str = "conf-unmuted";
pub const CONF_ONLY_PERSON: &str = "conf-only-person";
pub const CONF_LOCKED: &str = "conf-locked";
pub const CONF_FULL: &str = "conf-full";
/// "Please wait. The conference will begin when the moderator joins."
pub const CONF_WAIT_MODERATOR: &str = "conf-wait-moderator";
/// "To join as the moderator, enter the moderator PIN, followed by hash.
/// To join now, press hash."
pub const CONF_ENTER_PIN_OR_JOIN: &str = "conf-enter-pin-or-join";
/// Asked before joining a room that announces members by name.
pub const CONF_SAY_NAME: &str = "conf-say-name";
/// Played to the room after a member's recorded name.
pub const CONF_HAS_JOINED: &str = "conf-has-joined";
pub const CONF_HAS_LEFT: &str = "conf-has-left";
/// "participant in this conference" (after "one"; joined to a number).
pub const CONF_PARTICIPANT: &str = "conf-participant";
/// "participants in this conference" (after a number).
pub const CONF_PARTICIPANTS: &str = "conf-participants";

/// Every phrase above.
pub const ALL: &[&str] = &[
    WELCOME,
    GOODBYE,
    PLEASE_WAIT,
    PLEASE_HOLD,
    TRANSFER,
    INVALID,
    TRY_AGAIN,
    NO_INPUT,
    TOO_MANY_ATTEMPTS,
    NOT_FOUND,
    BEEP,
    MOH,
    NOT_AVAILABLE,
    BUSY,
    LEAVE_MESSAGE_AFTER_TONE,
    MESSAGE_RECORDED,
    MAILBOX_FULL,
    RECORD_GREETING,
    GREETING_SAVED,
    MAILBOX,
    ENTER_MAILBOX,
    ENTER_PIN,
    PIN_INVALID,
    YOU_HAVE,
    NEW_MESSAGE,
    NEW_MESSAGES,
    OLD_MESSAGE,
    OLD_MESSAGES,
    NO_MESSAGES,
    PRESS_1_NEW_PRESS_2_OLD,
    MESSAGE_MENU,
    MESSAGE_FROM,
    RECEIVED_ON,
    AT,
    AND,
    MESSAGE_DELETED,
    MESSAGE_SAVED,
    NO_MORE_MESSAGES,
    FIRST_MESSAGE,
    NO_SUCH_MAILBOX,
    MAILBOX_LOCKED,
    MAILBOX_OPTIONS,
    ENTER_NEW_PIN,
    PIN_CHANGED,
    CONF_WELCOME,
    CONF_JOINED,
    CONF_LEFT,
    CONF_MUTED,
    CONF_UNMUTED,
    CONF_ONLY_PERSON,
    CONF_LOCKED,
    CONF_FULL,
    CONF_WAIT_MODERATOR,
    CONF_ENTER_PIN_OR_JOIN,
    CONF_SAY_NAME,
    CONF_HAS_JOINED,
    CONF_HAS_LEFT,
    CONF_PARTICIPANT,
    CONF_PARTICIPANTS,
];
