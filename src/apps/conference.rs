//! `conf-ROOM`: joins a conference room (the media plane mixes it, see
//! `crate::media::conference`). A room with a PIN or a moderator PIN asks
//! for it first (ended by `#`, three tries, then goodbye; see [`pin`] for
//! who an entry makes the caller); a full or locked room says so and hangs
//! up. In a room that waits for its moderator, the core may tell a member
//! to wait: it hears a request to wait, then music, until the core puts it
//! in the room. In a room that announces members by name, the caller says
//! its name (after any PIN), recorded before joining; the core plays it to
//! the room. Keys while in the room (or waiting): single keys on this
//! single-purpose line: `0` mutes or unmutes oneself (with a spoken
//! confirmation), `4` and `6` turn what one hears down and up by 3 dB, `#`
//! says how many are in the room.

mod pin;
#[cfg(test)]
mod tests;

pub use pin::{Role, RoomPins};

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::ivr::PromptFetch;
use super::voicemail::RecordingPurpose;
use super::{join_prompts, play, AppAction, CallApp, RecordingRequest};
use crate::media::dtmf::DtmfDigit;
use crate::media::session::{SessionEvent, Source};
use crate::media::{RecordingOutcome, RecordingSpec};
use crate::prompts::phrases;

/// Wrong PINs before the call is ended.
pub const PIN_TRIES: u32 = 3;
/// Time to enter a PIN (from the prompt's start); running out is a wrong try.
const PIN_TIMEOUT: Duration = Duration::from_secs(15);
/// A recorded name: at most this long, ended sooner by this much silence.
pub const NAME_MAX: Duration = Duration::from_millis(2500);
pub const NAME_SILENCE: Duration = Duration::from_secs(1);

/// Whether the room can be joined, as the control plane found it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RoomAdmission {
    #[default]
    Open,
    Full,
    Locked,
}

/// How a caller enters a room.
#[derive(Debug, Clone, Default)]
pub struct RoomOptions {
    pub pins: RoomPins,
    pub admission: RoomAdmission,
    /// The prompt looped to a member waiting for the moderator (music on
    /// hold); silence without one.
    pub wait_music: Option<String>,
    /// Where the caller's name is recorded before joining, in a room that
    /// announces members by name.
    pub name_path: Option<PathBuf>,
}

/// What the core tells a member of a room that waits for its moderator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomEvent {
    /// No moderator has come yet: the member is not mixed, and waits.
    Waiting,
    /// A moderator came: the member is in the room now.
    Admitted,
}

#[derive(Debug)]
enum Phase {
    /// Collecting the PIN until `deadline`.
    Pin {
        entered: String,
        tries: u32,
        deadline: Instant,
    },
    /// Asking for the caller's name, then the beep.
    AskName { role: Role },
    /// Recording the name; joins when the core reports it.
    RecordingName { role: Role },
    /// In the room.
    Joined,
    /// Joined, but waiting for the moderator (hearing the wait prompt,
    /// then music).
    Waiting,
    /// Saying why not, then hanging up.
    Refused,
}

/// Volume step of keys 4 and 6, and its limits.
const VOLUME_STEP_DB: i8 = 3;
const VOLUME_LIMIT_DB: i8 = 12;

pub struct ConferenceApp {
    room: String,
    prompts: PromptFetch,
    options: RoomOptions,
    phase: Phase,
    muted: bool,
    volume_db: i8,
}

impl ConferenceApp {
    pub fn new(room: String, prompts: PromptFetch) -> Self {
        Self::with_options(room, prompts, RoomOptions::default())
    }

    pub fn with_options(room: String, prompts: PromptFetch, options: RoomOptions) -> Self {
        ConferenceApp {
            room,
            prompts,
            options,
            phase: Phase::Refused,
            muted: false,
            volume_db: 0,
        }
    }

    /// The caller may come in: it joins, or first records its name.
    fn enter(&mut self, role: Role) -> Vec<AppAction> {
        if self.options.name_path.is_none() {
            return self.join(role);
        }
        self.phase = Phase::AskName { role };
        let asked = [phrases::CONF_SAY_NAME, phrases::BEEP];
        match join_prompts(&self.prompts, asked.into_iter()) {
            Some(samples) => vec![play(samples)],
            None => self.record_name(role),
        }
    }

    fn record_name(&mut self, role: Role) -> Vec<AppAction> {
        let Some(path) = self.options.name_path.clone() else {
            return self.join(role);
        };
        self.phase = Phase::RecordingName { role };
        let spec = RecordingSpec {
            path: path.clone(),
            max: NAME_MAX,
            silence: Some(NAME_SILENCE),
        };
        vec![AppAction::Record(Box::new(RecordingRequest {
            spec,
            purpose: RecordingPurpose::Name { path },
        }))]
    }

    fn join(&mut self, role: Role) -> Vec<AppAction> {
        self.phase = Phase::Joined;
        vec![AppAction::JoinRoom {
            room: self.room.clone(),
            moderator: role == Role::Moderator,
        }]
    }

    /// What a waiting member hears once a prompt has ended.
    fn wait_music(&self) -> AppAction {
        let music = self
            .options
            .wait_music
            .as_deref()
            .and_then(|name| (self.prompts)(name));
        AppAction::SetSource(match music {
            Some(samples) if !samples.is_empty() => Source::Loop {
                samples,
                position: 0,
            },
            _ => Source::Silence,
        })
    }

    /// Says `name`, then hangs up (when it has played).
    fn refuse(&mut self, name: &str) -> Vec<AppAction> {
        self.phase = Phase::Refused;
        match self.say(name) {
            Some(say) => vec![say],
            None => vec![AppAction::Hangup],
        }
    }

    /// A PIN was entered (or the time ran out, `entered` then partial).
    fn check_pin(&mut self, now: Instant) -> Vec<AppAction> {
        let Phase::Pin { entered, tries, .. } = &mut self.phase else {
            return Vec::new();
        };
        if let Some(role) = self.options.pins.check(entered) {
            return self.enter(role);
        }
        *tries += 1;
        let tries = *tries;
        tracing::info!(room = %self.room, tries, "wrong conference PIN");
        if tries >= PIN_TRIES {
            return self.refuse(phrases::GOODBYE);
        }
        self.phase = Phase::Pin {
            entered: String::new(),
            tries,
            deadline: now + PIN_TIMEOUT,
        };
        self.say(phrases::PIN_INVALID).into_iter().collect()
    }

    pub fn room(&self) -> &str {
        &self.room
    }

    /// Plays `name` to this member alone; the room comes back when it ends.
    fn say(&self, name: &str) -> Option<AppAction> {
        let samples = (self.prompts)(name)?;
        Some(AppAction::SetSource(Source::Prompt {
            samples,
            position: 0,
        }))
    }
}

impl CallApp for ConferenceApp {
    fn name(&self) -> &'static str {
        "conference"
    }

    fn start(&mut self, now: Instant) -> Vec<AppAction> {
        match self.options.admission {
            RoomAdmission::Full => return self.refuse(phrases::CONF_FULL),
            RoomAdmission::Locked => return self.refuse(phrases::CONF_LOCKED),
            RoomAdmission::Open => {}
        }
        if !self.options.pins.asked() {
            return self.enter(Role::Member);
        }
        self.phase = Phase::Pin {
            entered: String::new(),
            tries: 0,
            deadline: now + PIN_TIMEOUT,
        };
        self.say(self.options.pins.prompt()).into_iter().collect()
    }

    fn on_media_event(&mut self, _now: Instant, event: SessionEvent) -> Vec<AppAction> {
        match (event, &self.phase) {
            (SessionEvent::PlaybackFinished, &Phase::AskName { role }) => self.record_name(role),
            (SessionEvent::PlaybackFinished, Phase::Joined) => {
                vec![AppAction::SetSource(Source::Conference)]
            }
            (SessionEvent::PlaybackFinished, Phase::Waiting) => vec![self.wait_music()],
            (SessionEvent::PlaybackFinished, Phase::Refused) => vec![AppAction::Hangup],
            _ => Vec::new(),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Pin { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    fn handle_timeout(&mut self, now: Instant) -> Vec<AppAction> {
        match self.phase {
            Phase::Pin { deadline, .. } if deadline <= now => self.check_pin(now),
            _ => Vec::new(),
        }
    }

    fn on_digit(&mut self, now: Instant, digit: DtmfDigit) -> Vec<AppAction> {
        match &mut self.phase {
            Phase::Pin { entered, .. } => {
                if digit == DtmfDigit::Hash {
                    return self.check_pin(now);
                }
                if entered.len() < crate::config::MAX_PIN_DIGITS {
                    entered.push(digit.to_char());
                }
                return Vec::new();
            }
            Phase::Refused | Phase::AskName { .. } | Phase::RecordingName { .. } => {
                return Vec::new()
            }
            Phase::Joined | Phase::Waiting => {}
        }
        match digit {
            DtmfDigit::Digit0 => {
                self.muted = !self.muted;
                let said = if self.muted {
                    phrases::CONF_MUTED
                } else {
                    phrases::CONF_UNMUTED
                };
                let mut actions = vec![AppAction::SetMuted(self.muted)];
                actions.extend(self.say(said));
                actions
            }
            DtmfDigit::Hash => vec![AppAction::SayRoomCount],
            DtmfDigit::Digit4 | DtmfDigit::Digit6 => {
                let step = if digit == DtmfDigit::Digit6 {
                    VOLUME_STEP_DB
                } else {
                    -VOLUME_STEP_DB
                };
                self.volume_db = (self.volume_db + step).clamp(-VOLUME_LIMIT_DB, VOLUME_LIMIT_DB);
                vec![AppAction::SetVolume(self.volume_db)]
            }
            _ => Vec::new(),
        }
    }

    fn wants_digits(&self) -> bool {
        true
    }

    fn on_room_event(&mut self, _now: Instant, event: RoomEvent) -> Vec<AppAction> {
        match (event, &self.phase) {
            (RoomEvent::Waiting, Phase::Joined) => {
                self.phase = Phase::Waiting;
                match self.say(phrases::CONF_WAIT_MODERATOR) {
                    Some(say) => vec![say],
                    None => vec![self.wait_music()],
                }
            }
            (RoomEvent::Admitted, Phase::Waiting) => {
                self.phase = Phase::Joined;
                // The mix starts this member at 0 dB; what it chose while
                // waiting carries over.
                match self.volume_db {
                    0 => Vec::new(),
                    db => vec![AppAction::SetVolume(db)],
                }
            }
            _ => Vec::new(),
        }
    }

    /// The name is recorded (or the caller said nothing; the core then
    /// announces the join by a tone): into the room.
    fn on_recorded(
        &mut self,
        _now: Instant,
        _outcome: &RecordingOutcome,
        _kept: bool,
    ) -> Vec<AppAction> {
        match self.phase {
            Phase::RecordingName { role } => self.join(role),
            _ => Vec::new(),
        }
    }
}
