//! `conf-ROOM`: joins a conference room (the media plane mixes it, see
//! `crate::media::conference`). A room with a PIN asks for it first (ended
//! by `#`, three tries, then goodbye); a full or locked room says so and
//! hangs up. Keys while in the room: single keys on this single-purpose
//! line: `0` mutes or unmutes oneself (with a spoken confirmation), `4` and
//! `6` turn what one hears down and up by 3 dB, `#` says how many are in the
//! room.

use std::time::{Duration, Instant};

use super::ivr::PromptFetch;
use super::{AppAction, CallApp};
use crate::media::dtmf::DtmfDigit;
use crate::media::session::{SessionEvent, Source};
use crate::prompts::phrases;

/// Wrong PINs before the call is ended.
pub const PIN_TRIES: u32 = 3;
/// Time to enter a PIN (from the prompt's start); running out is a wrong try.
const PIN_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether the room can be joined, as the control plane found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomAdmission {
    Open,
    Full,
    Locked,
}

#[derive(Debug)]
enum Phase {
    /// Collecting the PIN until `deadline`.
    Pin {
        entered: String,
        tries: u32,
        deadline: Instant,
    },
    /// In the room.
    Joined,
    /// Saying why not, then hanging up.
    Refused,
}

/// Volume step of keys 4 and 6, and its limits.
const VOLUME_STEP_DB: i8 = 3;
const VOLUME_LIMIT_DB: i8 = 12;

pub struct ConferenceApp {
    room: String,
    prompts: PromptFetch,
    pin: Option<String>,
    admission: RoomAdmission,
    phase: Phase,
    muted: bool,
    volume_db: i8,
}

impl ConferenceApp {
    pub fn new(room: String, prompts: PromptFetch) -> Self {
        Self::with_options(room, prompts, None, RoomAdmission::Open)
    }

    /// A room asking for `pin`, found `admission` when the call came.
    pub fn with_options(
        room: String,
        prompts: PromptFetch,
        pin: Option<String>,
        admission: RoomAdmission,
    ) -> Self {
        ConferenceApp {
            room,
            prompts,
            pin,
            admission,
            phase: Phase::Refused,
            muted: false,
            volume_db: 0,
        }
    }

    fn join(&mut self) -> Vec<AppAction> {
        self.phase = Phase::Joined;
        vec![AppAction::JoinRoom(self.room.clone())]
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
        if Some(entered.as_str()) == self.pin.as_deref() {
            return self.join();
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
        match self.admission {
            RoomAdmission::Full => return self.refuse(phrases::CONF_FULL),
            RoomAdmission::Locked => return self.refuse(phrases::CONF_LOCKED),
            RoomAdmission::Open => {}
        }
        if self.pin.is_none() {
            return self.join();
        }
        self.phase = Phase::Pin {
            entered: String::new(),
            tries: 0,
            deadline: now + PIN_TIMEOUT,
        };
        self.say(phrases::ENTER_PIN).into_iter().collect()
    }

    fn on_media_event(&mut self, _now: Instant, event: SessionEvent) -> Vec<AppAction> {
        match (event, &self.phase) {
            (SessionEvent::PlaybackFinished, Phase::Joined) => {
                vec![AppAction::SetSource(Source::Conference)]
            }
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
            Phase::Refused => return Vec::new(),
            Phase::Joined => {}
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn app() -> ConferenceApp {
        let fetch: PromptFetch =
            Arc::new(|name: &str| Some(Arc::from(vec![name.len() as i16; 160])));
        ConferenceApp::new("100".into(), fetch)
    }

    fn keys(app: &mut ConferenceApp, now: Instant, keys: &str) -> Vec<AppAction> {
        keys.chars()
            .flat_map(|c| app.on_digit(now, DtmfDigit::from_char(c).unwrap()))
            .collect()
    }

    #[test]
    fn a_pin_is_asked_three_times_then_goodbye() {
        let now = Instant::now();
        let fetch: PromptFetch = Arc::new(|name: &str| Some(Arc::from(vec![1i16; name.len()])));
        let mut app = ConferenceApp::with_options(
            "b".into(),
            fetch.clone(),
            Some("42".into()),
            RoomAdmission::Open,
        );
        // "enter-pin" is 9 samples long in this fake catalogue.
        assert!(
            matches!(&app.start(now)[..], [AppAction::SetSource(Source::Prompt { samples, .. })] if samples.len() == 9)
        );
        assert!(matches!(
            &keys(&mut app, now, "41#")[..],
            [AppAction::SetSource(_)]
        ));
        // The time running out is a wrong try too.
        let later = app.poll_timeout().unwrap();
        assert!(matches!(
            &app.handle_timeout(later)[..],
            [AppAction::SetSource(_)]
        ));
        assert!(app
            .on_media_event(later, SessionEvent::PlaybackFinished)
            .is_empty());
        // Third wrong PIN: goodbye, then the hang-up.
        assert!(
            matches!(&keys(&mut app, later, "4#")[..], [AppAction::SetSource(Source::Prompt { samples, .. })] if samples.len() == 7)
        );
        assert!(
            keys(&mut app, later, "42#").is_empty(),
            "keys after goodbye do nothing"
        );
        assert!(matches!(
            &app.on_media_event(later, SessionEvent::PlaybackFinished)[..],
            [AppAction::Hangup]
        ));

        let mut app = ConferenceApp::with_options(
            "b".into(),
            fetch.clone(),
            Some("42".into()),
            RoomAdmission::Open,
        );
        app.start(now);
        assert!(matches!(&keys(&mut app, now, "42#")[..], [AppAction::JoinRoom(r)] if r == "b"));
        assert_eq!(app.poll_timeout(), None);

        for (admission, said) in [(RoomAdmission::Full, 9), (RoomAdmission::Locked, 11)] {
            let mut app = ConferenceApp::with_options("b".into(), fetch.clone(), None, admission);
            assert!(
                matches!(&app.start(now)[..], [AppAction::SetSource(Source::Prompt { samples, .. })] if samples.len() == said)
            );
            assert!(matches!(
                &app.on_media_event(now, SessionEvent::PlaybackFinished)[..],
                [AppAction::Hangup]
            ));
        }
    }

    #[test]
    fn joins_its_room_and_keys_mute_and_set_the_volume() {
        let now = Instant::now();
        let mut app = app();
        assert!(matches!(app.start(now).as_slice(), [AppAction::JoinRoom(r)] if r == "100"));
        let actions = app.on_digit(now, DtmfDigit::Digit0);
        assert!(matches!(actions[0], AppAction::SetMuted(true)));
        assert!(matches!(
            actions[1],
            AppAction::SetSource(Source::Prompt { .. })
        ));
        assert!(matches!(
            app.on_media_event(now, SessionEvent::PlaybackFinished)
                .as_slice(),
            [AppAction::SetSource(Source::Conference)]
        ));
        assert!(matches!(
            app.on_digit(now, DtmfDigit::Digit0)[0],
            AppAction::SetMuted(false)
        ));
        for _ in 0..10 {
            app.on_digit(now, DtmfDigit::Digit6);
        }
        assert_eq!(app.volume_db, VOLUME_LIMIT_DB);
        assert!(matches!(
            app.on_digit(now, DtmfDigit::Digit4).as_slice(),
            [AppAction::SetVolume(9)]
        ));
        assert!(app.on_digit(now, DtmfDigit::Digit5).is_empty());
    }
}
