//! The IVR application driven by hand: menus, keys, prompts of distinct
//! lengths (powers of two, so a joined buffer names its parts).

use std::time::Duration;

use super::*;
use crate::config::MenuConfig;

const PROMPTS: [(&str, usize); 9] = [
    ("welcome", 1),
    ("main-menu", 2),
    ("invalid", 4),
    ("no-input", 8),
    ("too-many-attempts", 16),
    ("sales", 32),
    ("support", 64),
    ("news", 128),
    ("goodbye", 256),
];

fn fake_prompts() -> PromptFetch {
    Arc::new(|name: &str| {
        PROMPTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, len)| Arc::from(vec![0i16; *len]))
    })
}

/// A menu with the defaults, `prompts`, and `keys` as (key, actions).
pub(super) fn menu(name: &str, prompts: &[&str], keys: &[(&str, &[&str])]) -> MenuConfig {
    let mut menu = MenuConfig::new(name);
    menu.prompts = prompts.iter().map(|p| p.to_string()).collect();
    for (key, actions) in keys {
        let actions = actions.iter().map(|a| MenuAction::parse(a).unwrap());
        if *key == "default" {
            menu.default = Some(actions.collect());
        } else {
            menu.keys.push(crate::config::MenuKey {
                key: key.to_string(),
                actions: actions.collect(),
            });
        }
    }
    menu
}

/// An app with a clock the test moves.
pub(super) struct Call {
    pub app: IvrApp,
    pub now: Instant,
}

impl Call {
    pub fn new(menus: &[MenuConfig], entry: &str) -> Call {
        let menus = Arc::new(IvrMenus::new(menus));
        Call {
            app: IvrApp::new(menus, entry, fake_prompts()).unwrap(),
            now: Instant::now(),
        }
    }

    pub fn start(&mut self) -> Vec<String> {
        show(&self.app.start(self.now))
    }

    pub fn keys(&mut self, keys: &str) -> Vec<String> {
        let mut shown = Vec::new();
        for key in keys.chars() {
            let digit = DtmfDigit::from_char(key).unwrap();
            shown.extend(show(&self.app.on_digit(self.now, digit)));
        }
        shown
    }

    /// The playing prompt ends.
    pub fn ended(&mut self) -> Vec<String> {
        show(
            &self
                .app
                .on_media_event(self.now, SessionEvent::PlaybackFinished),
        )
    }

    /// Time passes; a deadline reached fires.
    pub fn wait(&mut self, ms: u64) -> Vec<String> {
        self.now += Duration::from_millis(ms);
        match self.app.poll_timeout() {
            Some(at) if at <= self.now => show(&self.app.handle_timeout(self.now)),
            _ => Vec::new(),
        }
    }

    pub fn in_menu(&self) -> &str {
        self.app.current_menu()
    }
}

/// Actions as text: `play welcome+main-menu`, `silence`, `answer`, ...
pub(super) fn show(actions: &[AppAction]) -> Vec<String> {
    actions
        .iter()
        .map(|action| match action {
            AppAction::SetSource(Source::Prompt { samples, position }) => {
                assert_eq!(*position, 0);
                let names: Vec<&str> = PROMPTS
                    .iter()
                    .filter(|(_, len)| samples.len() & len != 0)
                    .map(|(name, _)| *name)
                    .collect();
                format!("play {}", names.join("+"))
            }
            AppAction::SetSource(Source::Silence) => "silence".into(),
            AppAction::SetSource(other) => format!("source {other:?}"),
            AppAction::Answer => "answer".into(),
            AppAction::Hangup => "hangup".into(),
            AppAction::Dial(user) => format!("dial {user}"),
            AppAction::SendDigits(digits) => format!("send {digits}"),
            other => format!("{other:?}"),
        })
        .collect()
}

fn tree() -> Vec<MenuConfig> {
    vec![
        menu(
            "main",
            &["welcome", "main-menu"],
            &[("1", &["menu sales"]), ("2", &["menu support"])],
        ),
        menu(
            "sales",
            &["sales"],
            &[("1", &["menu news"]), ("*", &["menu main"])],
        ),
        menu("support", &["support"], &[("0", &["hangup"])]),
        menu(
            "news",
            &["news"],
            &[("*", &["menu main"]), ("9", &["play goodbye", "hangup"])],
        ),
    ]
}

#[test]
fn a_three_level_tree_is_navigated_by_keys() {
    let mut call = Call::new(&tree(), "main");
    assert!(!call.app.early_media());
    assert!(call.app.wants_digits());
    assert_eq!(call.start(), ["play welcome+main-menu"]);
    assert_eq!(call.ended(), Vec::<String>::new());
    assert_eq!(call.keys("1"), ["play sales"]);
    assert_eq!(call.in_menu(), "sales");
    // A key during the prompts stops them and counts.
    assert_eq!(call.keys("1"), ["silence", "play news"]);
    assert_eq!(call.in_menu(), "news");
    assert_eq!(call.keys("*"), ["silence", "play welcome+main-menu"]);
    assert_eq!(call.keys("2"), ["silence", "play support"]);
    assert_eq!(call.ended(), Vec::<String>::new());
    assert_eq!(call.keys("0"), ["hangup"]);
    // Done: nothing more happens.
    assert_eq!(call.keys("1"), Vec::<String>::new());
    assert_eq!(call.app.poll_timeout(), None);
}

#[test]
fn a_play_then_hangup_list_plays_before_hanging_up() {
    let mut call = Call::new(&tree(), "news");
    call.start();
    call.ended();
    assert_eq!(call.keys("9"), ["play goodbye"]);
    assert_eq!(
        call.keys("9"),
        Vec::<String>::new(),
        "keys wait for the notice"
    );
    assert_eq!(call.ended(), ["hangup"]);
}

#[test]
fn an_unknown_entry_menu_is_an_error() {
    let menus = Arc::new(IvrMenus::new(&tree()));
    assert!(menus.contains("sales") && !menus.contains("nope"));
    assert_eq!(menus.len(), 4);
    match IvrApp::new(menus, "nope", fake_prompts()) {
        Err(IvrError::UnknownMenu(name)) => assert_eq!(name, "nope"),
        Ok(_) => panic!("an app for a menu that does not exist"),
    }
    // The core holds applications as trait objects, moved between tasks.
    let app: Box<dyn CallApp> = Box::new(Call::new(&tree(), "main").app);
    assert_eq!(app.name(), "ivr");
}

#[test]
fn barge_in_off_ignores_keys_until_the_prompts_end() {
    let mut menus = tree();
    menus[0].barge_in = false;
    let mut call = Call::new(&menus, "main");
    call.start();
    assert_eq!(call.keys("1"), Vec::<String>::new());
    assert_eq!(call.in_menu(), "main");
    assert_eq!(call.app.poll_timeout(), None);
    call.ended();
    assert_eq!(call.keys("1"), ["play sales"]);
}

#[test]
fn early_media_answers_at_the_first_key() {
    let mut menus = tree();
    menus[0].early_media = true;
    let mut call = Call::new(&menus, "main");
    assert!(call.app.early_media());
    assert_eq!(call.start(), ["play welcome+main-menu"]);
    assert_eq!(call.keys("1"), ["silence", "answer", "play sales"]);
    call.ended();
    assert_eq!(call.keys("*"), ["play welcome+main-menu"]);
    assert!(call.app.early_media(), "still the entry menu's flag");
}

#[test]
fn early_media_answers_when_the_prompts_end() {
    let mut menus = tree();
    menus[0].early_media = true;
    let mut call = Call::new(&menus, "main");
    call.start();
    assert_eq!(call.ended(), ["answer"]);
    assert_eq!(call.keys("1"), ["play sales"]);
}

#[test]
fn early_media_of_another_menu_does_not_matter() {
    let mut menus = tree();
    menus[1].early_media = true;
    let mut call = Call::new(&menus, "main");
    assert!(!call.app.early_media());
    call.start();
    assert_eq!(call.keys("1"), ["silence", "play sales"]);
}

#[test]
fn play_returns_to_the_menu_keeping_the_tries() {
    let mut main = menu(
        "main",
        &["welcome"],
        &[("7", &["play news"]), ("0", &["hangup"])],
    );
    main.retries = 1;
    let mut call = Call::new(&[main], "main");
    call.start();
    call.ended();
    assert_eq!(call.keys("5"), ["play invalid"]);
    assert_eq!(call.ended(), ["play welcome"]);
    call.ended();
    assert_eq!(call.keys("7"), ["play news"]);
    assert_eq!(call.ended(), ["play welcome"]);
    call.ended();
    // The one retry was used before the `play`.
    assert_eq!(call.keys("5"), ["play invalid+too-many-attempts"]);
    assert_eq!(call.ended(), ["hangup"]);
}

#[test]
fn set_variables_substitute_into_later_actions() {
    let main = menu(
        "main",
        &["welcome"],
        &[
            (
                "2",
                &[
                    "set dept=support",
                    "set q=q-${dept}",
                    "dial ${q}-${digits}-${unset}",
                ],
            ),
            ("3", &["set room=7", "menu room-${room}"]),
        ],
    );
    let room = menu("room-7", &["news"], &[("1", &["conference ${room}"])]);
    let mut call = Call::new(&[main.clone(), room.clone()], "main");
    call.start();
    assert_eq!(call.keys("2"), ["silence", "dial q-support-2-"]);

    let mut call = Call::new(&[main, room], "main");
    call.start();
    assert_eq!(call.keys("3"), ["silence", "play news"]);
    assert_eq!(call.keys("1"), ["silence", "dial conf-7"]);
}

#[test]
fn dial_voicemail_and_conference_hand_the_call_on() {
    let main = menu(
        "main",
        &["welcome"],
        &[
            ("1", &["dial 1000"]),
            ("4", &["voicemail 1001"]),
            ("5", &["voicemail"]),
            ("6", &["conference 100"]),
        ],
    );
    for (key, user) in [
        ("1", "1000"),
        ("4", "vm-1001"),
        ("5", "voicemail"),
        ("6", "conf-100"),
    ] {
        let mut call = Call::new(std::slice::from_ref(&main), "main");
        call.start();
        call.ended();
        assert_eq!(call.keys(key), [format!("dial {user}")]);
        assert_eq!(call.app.poll_timeout(), None);
    }
}

#[test]
fn missing_prompts_are_skipped_and_keys_still_work() {
    let partly = menu("main", &["welcome", "missing"], &[("1", &["menu bare"])]);
    let bare = menu("bare", &["missing"], &[("1", &["play missing", "hangup"])]);
    let mut call = Call::new(&[partly, bare], "main");
    assert_eq!(call.start(), ["play welcome"]);
    call.ended();
    // Nothing playable: silence, and the wait for a key starts at once.
    assert_eq!(call.keys("1"), ["silence"]);
    assert_eq!(
        call.app.poll_timeout(),
        Some(call.now + Duration::from_millis(5000))
    );
    assert_eq!(call.keys("1"), ["hangup"]);
}

#[test]
fn a_computed_menu_that_does_not_exist_is_an_invalid_choice() {
    let main = menu("main", &["welcome"], &[("default", &["menu m-${digits}"])]);
    let one = menu("m-1", &["news"], &[("1", &["hangup"])]);
    let mut call = Call::new(&[main, one], "main");
    call.start();
    call.ended();
    assert_eq!(call.keys("2"), ["play invalid"]);
    assert_eq!(call.ended(), ["play welcome"]);
    assert_eq!(call.keys("1"), ["silence", "play news"]);
    assert_eq!(call.in_menu(), "m-1");
}

#[test]
fn a_late_end_of_a_cut_prompt_is_ignored() {
    let mut main = menu("main", &["welcome"], &[("12", &["hangup"])]);
    main.max_digits = 2;
    let mut call = Call::new(&[main], "main");
    call.start();
    assert_eq!(call.keys("1"), ["silence"]);
    assert_eq!(call.ended(), Vec::<String>::new());
    assert_eq!(call.keys("2"), ["hangup"]);
}
