//! Browsing a folder's messages: per message the envelope ("Message from
//! 1 0 0 2, received on Saturday, November 21st, at nine forty five P M"),
//! the audio, then the message menu. Keys, at any point (barge-in): `5`
//! repeat, `4` previous, `6` next, `7` delete, `9` save, `#` leave. A new
//! message moves to `Old/` as soon as its audio starts playing.

use std::time::{Duration, Instant};

use super::load_audio;
use super::retrieval::{Phase, RetrievalApp, Then};
use crate::apps::{play, AppAction};
use crate::prompts::{phrases, say_date, say_digits, say_time, CalendarDate, ClockTime};
use crate::store::mailbox::{Folder, MessageMeta};

const MENU_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(super) struct Browse {
    messages: Vec<MessageMeta>,
    index: usize,
    part: Part,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Envelope,
    Audio,
    Menu,
    /// A notice plays; then the current message from its envelope, or the
    /// main menu when there is none.
    Notice,
}

/// The prompts of a message's envelope (times in UTC).
fn envelope(meta: &MessageMeta) -> Vec<String> {
    let mut names = Vec::new();
    let caller_digits = say_digits(&meta.caller);
    if !caller_digits.is_empty() {
        names.push(phrases::MESSAGE_FROM.to_string());
        names.extend(caller_digits);
    }
    let days = meta.start_unix_s.div_euclid(86_400);
    let seconds = meta.start_unix_s.rem_euclid(86_400);
    names.push(phrases::RECEIVED_ON.to_string());
    names.extend(say_date(CalendarDate::from_days_since_epoch(days)));
    if let Ok(time) = ClockTime::new((seconds / 3600) as u8, (seconds % 3600 / 60) as u8) {
        names.push(phrases::AT.to_string());
        names.extend(say_time(time));
    }
    names
}

impl RetrievalApp {
    /// Opens a folder at its oldest message.
    pub(super) fn browse(&mut self, now: Instant, folder: Folder) -> Vec<AppAction> {
        let Some(number) = self.mailbox_number() else {
            return Vec::new();
        };
        let listing = match self.voicemail.store().list(&number, folder) {
            Ok(listing) => listing,
            Err(e) => {
                tracing::warn!(mailbox = %number, error = %e, "cannot list messages");
                return self.notice(now, &[phrases::TRY_AGAIN], Then::MainMenu);
            }
        };
        for problem in &listing.skipped {
            tracing::warn!(mailbox = %number, path = %problem.path.display(), reason = %problem.reason, "message skipped");
        }
        if listing.messages.is_empty() {
            return self.notice(now, &[phrases::NO_MESSAGES], Then::MainMenu);
        }
        let browse = Browse {
            messages: listing.messages,
            index: 0,
            part: Part::Envelope,
        };
        self.play_message(now, browse)
    }

    /// The current message from its envelope.
    fn play_message(&mut self, now: Instant, mut browse: Browse) -> Vec<AppAction> {
        self.deadline = None;
        let Some(meta) = browse.messages.get(browse.index) else {
            return self.notice(now, &[phrases::NO_MORE_MESSAGES], Then::MainMenu);
        };
        let names = envelope(meta);
        browse.part = Part::Envelope;
        match self.say(names.iter().map(String::as_str)) {
            Some(audio) => {
                self.phase = Phase::Listening(browse);
                vec![play(audio)]
            }
            None => self.play_audio(now, browse),
        }
    }

    fn play_audio(&mut self, now: Instant, mut browse: Browse) -> Vec<AppAction> {
        let Some(number) = self.mailbox_number() else {
            return Vec::new();
        };
        let Some(meta) = browse.messages.get_mut(browse.index) else {
            return self.main_menu(now);
        };
        let audio = self
            .voicemail
            .store()
            .audio_path(&number, &meta.id)
            .map_err(|e| tracing::warn!(mailbox = %number, id = %meta.id, error = %e, "message audio missing"))
            .ok()
            .and_then(|path| load_audio(&path, self.rate_hz));
        let mut actions = Vec::new();
        if meta.folder == Folder::Inbox {
            match self.voicemail.store().mark_old(&number, &meta.id) {
                Ok(()) => {
                    meta.folder = Folder::Old;
                    actions.push(AppAction::MailboxChanged(number.clone()));
                }
                Err(e) => {
                    tracing::warn!(mailbox = %number, id = %meta.id, error = %e, "cannot move to Old")
                }
            }
        }
        browse.part = Part::Audio;
        match audio {
            Some(audio) => {
                self.phase = Phase::Listening(browse);
                actions.push(play(audio));
            }
            None => actions.extend(self.message_menu(now, browse)),
        }
        actions
    }

    fn message_menu(&mut self, now: Instant, mut browse: Browse) -> Vec<AppAction> {
        browse.part = Part::Menu;
        self.deadline = Some(now + MENU_TIMEOUT);
        let audio = self.say([phrases::MESSAGE_MENU].into_iter());
        self.phase = Phase::Listening(browse);
        audio.map(play).into_iter().collect()
    }

    /// A notice inside the folder, then the current message (or the main
    /// menu after the last one).
    fn browse_notice(&mut self, now: Instant, mut browse: Browse, name: &str) -> Vec<AppAction> {
        self.deadline = None;
        browse.part = Part::Notice;
        match self.say([name].into_iter()) {
            Some(audio) => {
                self.phase = Phase::Listening(browse);
                vec![play(audio)]
            }
            None => self.after_notice(now, browse),
        }
    }

    fn after_notice(&mut self, now: Instant, browse: Browse) -> Vec<AppAction> {
        if browse.index < browse.messages.len() {
            self.play_message(now, browse)
        } else {
            self.notice(now, &[phrases::NO_MORE_MESSAGES], Then::MainMenu)
        }
    }

    pub(super) fn browse_part_ended(&mut self, now: Instant, browse: Browse) -> Vec<AppAction> {
        match browse.part {
            Part::Envelope => self.play_audio(now, browse),
            Part::Audio => self.message_menu(now, browse),
            Part::Notice => self.after_notice(now, browse),
            Part::Menu => {
                self.phase = Phase::Listening(browse);
                Vec::new()
            }
        }
    }

    pub(super) fn browse_key(
        &mut self,
        now: Instant,
        mut browse: Browse,
        key: char,
    ) -> Vec<AppAction> {
        self.tries = 0;
        let number = self.mailbox_number().unwrap_or_default();
        match key {
            '5' => self.play_message(now, browse),
            '4' if browse.index == 0 => self.browse_notice(now, browse, phrases::FIRST_MESSAGE),
            '4' => {
                browse.index -= 1;
                self.play_message(now, browse)
            }
            '6' => {
                browse.index += 1;
                self.after_notice(now, browse)
            }
            '7' => {
                let mut actions = Vec::new();
                if let Some(meta) = browse.messages.get(browse.index) {
                    match self.voicemail.store().delete(&number, &meta.id) {
                        Ok(()) => {
                            tracing::info!(mailbox = %number, id = %meta.id, "message deleted");
                            browse.messages.remove(browse.index);
                            actions.push(AppAction::MailboxChanged(number));
                        }
                        Err(e) => {
                            tracing::warn!(mailbox = %number, id = %meta.id, error = %e, "cannot delete");
                            return self.browse_notice(now, browse, phrases::TRY_AGAIN);
                        }
                    }
                }
                actions.extend(self.browse_notice(now, browse, phrases::MESSAGE_DELETED));
                actions
            }
            '9' => {
                let mut actions = Vec::new();
                if let Some(meta) = browse.messages.get_mut(browse.index) {
                    if meta.folder == Folder::Inbox
                        && self.voicemail.store().mark_old(&number, &meta.id).is_ok()
                    {
                        meta.folder = Folder::Old;
                        actions.push(AppAction::MailboxChanged(number));
                    }
                }
                browse.index += 1;
                actions.extend(self.browse_notice(now, browse, phrases::MESSAGE_SAVED));
                actions
            }
            '#' => self.notice(now, &[phrases::GOODBYE], Then::Hangup),
            _ => {
                self.phase = Phase::Listening(browse);
                Vec::new()
            }
        }
    }

    pub(super) fn browse_timeout(&mut self, now: Instant, browse: Browse) -> Vec<AppAction> {
        if browse.part == Part::Menu {
            self.message_menu(now, browse)
        } else {
            self.phase = Phase::Listening(browse);
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_reads_caller_date_and_time() {
        let meta = MessageMeta {
            id: "x".into(),
            folder: Folder::Inbox,
            caller: "1002".into(),
            called: "1001".into(),
            start: "2026-11-21T21:45:00Z".into(),
            start_unix_s: 1_795_297_500,
            duration_ms: 2000,
            codec: "PCMU".into(),
            rate_hz: 8000,
            complete: true,
            recovered: false,
        };
        let names = envelope(&meta);
        assert_eq!(names[0], phrases::MESSAGE_FROM);
        assert_eq!(
            names[1..5],
            ["numbers/1", "numbers/0", "numbers/0", "numbers/2"]
        );
        assert!(names.contains(&"months/november".to_string()), "{names:?}");
        assert!(names.contains(&"ordinals/21st".to_string()), "{names:?}");
        assert_eq!(
            names.last().map(String::as_str),
            Some("time/pm"),
            "{names:?}"
        );
    }
}
