//! `ivr-MENU`: IVR menus from `[[menus]]`. Each menu plays its prompts,
//! collects an entry of keys and runs the actions of the matching key; an
//! invalid entry or no entry at all is retried a few times before the menu
//! gives up. Sans-IO: time comes in as `now`, the next deadline goes out
//! through `poll_timeout`.

mod menus;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use super::{join_prompts, play, AppAction, CallApp};
use crate::config::{expand, MenuAction};
use crate::media::dtmf::DtmfDigit;
use crate::media::session::{SessionEvent, Source};

pub use menus::IvrMenus;

/// Fetches a prompt's samples at the leg's audio rate; `None` when there is
/// no such prompt. Kept apart from the catalogue so that the application can
/// be driven with any audio.
pub type PromptFetch = Arc<dyn Fn(&str) -> Option<Arc<[i16]>> + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum IvrError {
    #[error("no menu `{0}`")]
    UnknownMenu(String),
}

/// One call's run through the menus.
pub struct IvrApp {
    menus: Arc<IvrMenus>,
    fetch: PromptFetch,
    /// Each menu's prompts joined into one buffer (gapless), fetched the
    /// first time the call enters it; `None` when none could be fetched.
    menu_audio: HashMap<usize, Option<Arc<[i16]>>>,
    menu: usize,
    /// Failed tries (invalid entry or timeout) in the current menu.
    failures: u32,
    vars: HashMap<String, String>,
    phase: Phase,
    digits: String,
    deadline: Option<Instant>,
    /// The entry menu plays early media.
    early: bool,
    /// The leg is answered (always, unless the entry menu plays early media).
    answered: bool,
}

#[derive(Debug)]
enum Phase {
    /// Before `start`.
    Idle,
    /// The menu's prompts are playing.
    Prompting,
    /// Waiting for keys until `deadline`.
    Collecting,
    /// A notice (invalid entry, no input, failure, a `play` action) is
    /// playing; keys are ignored until it ends.
    Notice(After),
    /// Hung up or handed on.
    Done,
}

/// What follows a notice.
#[derive(Debug)]
enum After {
    /// The current menu again, its prompts and a new entry.
    Reenter,
    /// The rest of a list of actions.
    Actions(VecDeque<MenuAction>),
}

impl IvrApp {
    /// A call that starts in menu `entry`.
    pub fn new(
        menus: Arc<IvrMenus>,
        entry: &str,
        prompts: PromptFetch,
    ) -> Result<IvrApp, IvrError> {
        let menu = menus
            .find(entry)
            .ok_or_else(|| IvrError::UnknownMenu(entry.to_string()))?;
        let early = menus.menu(menu).early_media;
        Ok(IvrApp {
            menus,
            fetch: prompts,
            menu_audio: HashMap::new(),
            menu,
            failures: 0,
            vars: HashMap::new(),
            phase: Phase::Idle,
            digits: String::new(),
            deadline: None,
            early,
            answered: !early,
        })
    }

    /// The menu the call is in.
    pub fn current_menu(&self) -> &str {
        &self.menus.menu(self.menu).name
    }

    /// Enters the current menu: its prompts, then a new entry.
    fn enter(&mut self, now: Instant) -> Vec<AppAction> {
        self.digits.clear();
        self.deadline = None;
        let menu = self.menu;
        let audio = match self.menu_audio.get(&menu) {
            Some(audio) => audio.clone(),
            None => {
                let names = self.menus.menu(menu).prompts.clone();
                let audio = self.joined(names.iter().map(String::as_str));
                self.menu_audio.insert(menu, audio.clone());
                audio
            }
        };
        match audio {
            Some(samples) => {
                self.phase = Phase::Prompting;
                vec![play(samples)]
            }
            None => {
                let mut actions = vec![AppAction::SetSource(Source::Silence)];
                actions.extend(self.prompts_ended(now));
                actions
            }
        }
    }

    /// The menu's prompts are over (or were cut short): wait for keys.
    fn prompts_ended(&mut self, now: Instant) -> Vec<AppAction> {
        self.phase = Phase::Collecting;
        self.deadline = Some(now + self.menus.menu(self.menu).timeout);
        self.answer()
    }

    fn answer(&mut self) -> Vec<AppAction> {
        if self.answered {
            return Vec::new();
        }
        self.answered = true;
        vec![AppAction::Answer]
    }

    /// Prompts fetched and joined into one buffer; missing ones are skipped.
    fn joined<'n>(&self, names: impl Iterator<Item = &'n str>) -> Option<Arc<[i16]>> {
        join_prompts(&self.fetch, names)
    }

    /// Plays notice prompts, then goes on with `after`.
    fn notice<'n>(
        &mut self,
        now: Instant,
        names: impl Iterator<Item = &'n str>,
        after: After,
    ) -> Vec<AppAction> {
        self.deadline = None;
        match self.joined(names) {
            Some(samples) => {
                self.phase = Phase::Notice(after);
                vec![play(samples)]
            }
            None => self.then(now, after),
        }
    }

    fn then(&mut self, now: Instant, after: After) -> Vec<AppAction> {
        match after {
            After::Reenter => self.enter(now),
            After::Actions(actions) => self.run(now, actions),
        }
    }

    fn key(&mut self, now: Instant, key: char) -> Vec<AppAction> {
        let menus = self.menus.clone();
        let menu = menus.menu(self.menu);
        let mut actions = match self.phase {
            Phase::Prompting if menu.barge_in => {
                self.phase = Phase::Collecting;
                vec![AppAction::SetSource(Source::Silence)]
            }
            Phase::Collecting => Vec::new(),
            _ => return Vec::new(),
        };
        actions.extend(self.answer());
        if menu.terminator == Some(key) {
            if self.digits.is_empty() {
                // A lone terminator is an empty entry, which matches nothing.
                actions.extend(self.failed(now, Failure::Invalid));
            } else {
                actions.extend(self.entry_complete(now));
            }
            return actions;
        }
        self.digits.push(key);
        if self.digits.len() >= menu.max_digits {
            actions.extend(self.entry_complete(now));
        } else {
            self.deadline = Some(now + menu.inter_digit);
        }
        actions
    }

    fn entry_complete(&mut self, now: Instant) -> Vec<AppAction> {
        let entry = std::mem::take(&mut self.digits);
        self.deadline = None;
        let menu = self.menus.menu(self.menu);
        let actions = menu.keys.get(&entry).or(menu.default.as_ref()).cloned();
        self.vars.insert("digits".into(), entry);
        match actions {
            Some(actions) => self.run(now, actions.into()),
            None => self.failed(now, Failure::Invalid),
        }
    }

    /// An invalid entry or no entry: a notice, then the menu again, or
    /// once the retries are used up the fail prompt and `on_fail`.
    fn failed(&mut self, now: Instant, failure: Failure) -> Vec<AppAction> {
        self.failures += 1;
        let menus = self.menus.clone();
        let menu = menus.menu(self.menu);
        let notice = match failure {
            Failure::Invalid => &menu.invalid_prompt,
            Failure::NoInput => &menu.timeout_prompt,
        };
        if self.failures <= menu.retries {
            return self.notice(now, notice.iter().map(String::as_str), After::Reenter);
        }
        let names = notice.iter().chain(&menu.fail_prompt).map(String::as_str);
        self.notice(
            now,
            names,
            After::Actions(menu.on_fail.iter().cloned().collect()),
        )
    }

    /// Runs actions in order until one leaves the menu or plays a prompt;
    /// a list that does neither ends back in the current menu.
    fn run(&mut self, now: Instant, mut actions: VecDeque<MenuAction>) -> Vec<AppAction> {
        while let Some(action) = actions.pop_front() {
            match action {
                MenuAction::Set { name, value } => {
                    let value = self.expand(&value);
                    self.vars.insert(name, value);
                }
                MenuAction::Play(prompt) => {
                    let prompt = self.expand(&prompt);
                    if let Some(samples) = self.joined(std::iter::once(prompt.as_str())) {
                        self.deadline = None;
                        self.phase = Phase::Notice(After::Actions(actions));
                        return vec![play(samples)];
                    }
                }
                MenuAction::Menu(name) => {
                    let name = self.expand(&name);
                    let Some(menu) = self.menus.find(&name) else {
                        // Only a computed name can miss: treat it as a
                        // choice that does not exist.
                        tracing::warn!(menu = %name, "IVR menu not found");
                        return self.failed(now, Failure::Invalid);
                    };
                    self.menu = menu;
                    self.failures = 0;
                    return self.enter(now);
                }
                MenuAction::Dial(user) => {
                    let user = self.expand(&user);
                    self.finish();
                    return vec![AppAction::Dial(user)];
                }
                MenuAction::Hangup => {
                    self.finish();
                    return vec![AppAction::Hangup];
                }
            }
        }
        self.enter(now)
    }

    fn expand(&self, text: &str) -> String {
        expand(text, |name| self.vars.get(name).map(String::as_str))
    }

    fn finish(&mut self) {
        self.phase = Phase::Done;
        self.deadline = None;
    }
}

#[derive(Clone, Copy)]
enum Failure {
    Invalid,
    NoInput,
}

impl CallApp for IvrApp {
    fn name(&self) -> &'static str {
        "ivr"
    }

    fn start(&mut self, now: Instant) -> Vec<AppAction> {
        if !matches!(self.phase, Phase::Idle) {
            return Vec::new();
        }
        self.enter(now)
    }

    fn on_media_event(&mut self, now: Instant, event: SessionEvent) -> Vec<AppAction> {
        match event {
            SessionEvent::PlaybackFinished => {
                match std::mem::replace(&mut self.phase, Phase::Collecting) {
                    Phase::Prompting => self.prompts_ended(now),
                    Phase::Notice(after) => self.then(now, after),
                    // A prompt cut short by a key may still report its end.
                    other => {
                        self.phase = other;
                        Vec::new()
                    }
                }
            }
            SessionEvent::Digit(digit) => self.on_digit(now, digit),
            SessionEvent::MediaTimeout
            | SessionEvent::PeerDigit(_)
            | SessionEvent::Speaking(_)
            | SessionEvent::RecordingEnded(_) => Vec::new(),
        }
    }

    fn on_digit(&mut self, now: Instant, digit: DtmfDigit) -> Vec<AppAction> {
        self.key(now, digit.to_char().to_ascii_uppercase())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    fn handle_timeout(&mut self, now: Instant) -> Vec<AppAction> {
        match self.deadline {
            Some(deadline) if now >= deadline => {}
            _ => return Vec::new(),
        }
        self.deadline = None;
        if !matches!(self.phase, Phase::Collecting) {
            return Vec::new();
        }
        if self.digits.is_empty() {
            self.failed(now, Failure::NoInput)
        } else {
            self.entry_complete(now)
        }
    }

    fn early_media(&self) -> bool {
        self.early
    }

    fn wants_digits(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_entry;
