//! `conf-ROOM`: joins a conference room (the media plane mixes it, see
//! `crate::media::conference`). Keys while in the room: `*6` is not needed
//! on a single-purpose line, so single keys do it: `0` mutes or unmutes
//! oneself (with a spoken confirmation), `4` and `6` turn what one hears
//! down and up by 3 dB.

use std::time::Instant;

use super::ivr::PromptFetch;
use super::{AppAction, CallApp};
use crate::media::dtmf::DtmfDigit;
use crate::media::session::{SessionEvent, Source};
use crate::prompts::phrases;

/// Volume step of keys 4 and 6, and its limits.
const VOLUME_STEP_DB: i8 = 3;
const VOLUME_LIMIT_DB: i8 = 12;

pub struct ConferenceApp {
    room: String,
    prompts: PromptFetch,
    muted: bool,
    volume_db: i8,
}

impl ConferenceApp {
    pub fn new(room: String, prompts: PromptFetch) -> Self {
        ConferenceApp {
            room,
            prompts,
            muted: false,
            volume_db: 0,
        }
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

    fn start(&mut self, _now: Instant) -> Vec<AppAction> {
        vec![AppAction::JoinRoom(self.room.clone())]
    }

    fn on_media_event(&mut self, _now: Instant, event: SessionEvent) -> Vec<AppAction> {
        match event {
            SessionEvent::PlaybackFinished => vec![AppAction::SetSource(Source::Conference)],
            _ => Vec::new(),
        }
    }

    fn on_digit(&mut self, _now: Instant, digit: DtmfDigit) -> Vec<AppAction> {
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
