//! Entries of several keys, timeouts and retries.

use std::time::Duration;

use super::tests::{menu, Call};
use crate::apps::CallApp;
use crate::config::MenuConfig;

/// Four-key extensions ended by `#` or a pause; `12` is a key of its own.
fn extensions(terminator: &str) -> MenuConfig {
    let mut main = menu(
        "main",
        &["welcome"],
        &[
            ("12", &["dial twelve"]),
            ("default", &["dial ext-${digits}"]),
        ],
    );
    main.max_digits = 4;
    main.terminator = terminator.into();
    main
}

#[test]
fn the_terminator_ends_an_entry_and_is_not_part_of_it() {
    let mut call = Call::new(&[extensions("#")], "main");
    call.start();
    call.ended();
    assert_eq!(call.keys("12"), Vec::<String>::new());
    assert_eq!(call.keys("#"), ["dial twelve"]);

    let mut call = Call::new(&[extensions("#")], "main");
    call.start();
    call.ended();
    assert_eq!(call.keys("345#"), ["dial ext-345"]);
}

#[test]
fn max_digits_completes_an_entry() {
    let mut call = Call::new(&[extensions("#")], "main");
    call.start();
    assert_eq!(call.keys("1234"), ["silence", "dial ext-1234"]);
}

#[test]
fn the_inter_digit_timeout_ends_an_entry() {
    let mut call = Call::new(&[extensions("")], "main");
    call.start();
    call.ended();
    assert_eq!(
        call.app.poll_timeout(),
        Some(call.now + Duration::from_millis(5000))
    );
    call.keys("1");
    // After a key, the shorter inter-digit wait applies.
    assert_eq!(
        call.app.poll_timeout(),
        Some(call.now + Duration::from_millis(3000))
    );
    assert_eq!(call.wait(2999), Vec::<String>::new());
    assert_eq!(call.keys("2"), Vec::<String>::new());
    assert_eq!(call.wait(2999), Vec::<String>::new());
    assert_eq!(call.wait(1), ["dial twelve"]);
}

#[test]
fn a_lone_terminator_is_an_invalid_entry() {
    let mut call = Call::new(&[extensions("#")], "main");
    call.start();
    call.ended();
    assert_eq!(call.keys("#"), ["play invalid"]);
}

#[test]
fn in_a_single_key_menu_the_terminator_is_a_key() {
    let main = menu("main", &["welcome"], &[("#", &["hangup"])]);
    let mut call = Call::new(&[main], "main");
    call.start();
    assert_eq!(call.keys("#"), ["silence", "hangup"]);
}

#[test]
fn no_input_retries_exactly_retries_times_then_fails() {
    let mut main = menu("main", &["welcome", "main-menu"], &[("1", &["hangup"])]);
    main.retries = 2;
    let mut call = Call::new(&[main], "main");
    assert_eq!(call.start(), ["play welcome+main-menu"]);
    assert_eq!(call.app.poll_timeout(), None, "no wait while prompting");
    for _ in 0..2 {
        assert_eq!(call.ended(), Vec::<String>::new());
        assert_eq!(call.wait(4999), Vec::<String>::new());
        assert_eq!(call.wait(1), ["play no-input"]);
        assert_eq!(call.app.poll_timeout(), None);
        assert_eq!(call.ended(), ["play welcome+main-menu"]);
    }
    call.ended();
    assert_eq!(call.wait(5000), ["play no-input+too-many-attempts"]);
    assert_eq!(call.ended(), ["hangup"]);
    assert_eq!(call.app.poll_timeout(), None);
}

#[test]
fn invalid_entries_retry_exactly_retries_times_then_fail() {
    let mut main = menu("main", &["welcome"], &[("1", &["hangup"])]);
    main.retries = 3;
    main.on_fail = vec![crate::config::MenuAction::Dial("operator".into())];
    let mut call = Call::new(&[main], "main");
    call.start();
    for _ in 0..3 {
        assert_eq!(call.keys("5"), ["silence", "play invalid"]);
        assert_eq!(call.ended(), ["play welcome"]);
    }
    assert_eq!(
        call.keys("5"),
        ["silence", "play invalid+too-many-attempts"]
    );
    assert_eq!(call.ended(), ["dial operator"]);
}

#[test]
fn no_retries_fails_at_once_and_timeouts_and_invalid_entries_add_up() {
    let mut strict = menu("main", &["welcome"], &[("1", &["hangup"])]);
    strict.retries = 0;
    let mut call = Call::new(&[strict], "main");
    call.start();
    call.ended();
    assert_eq!(call.keys("9"), ["play invalid+too-many-attempts"]);

    let mut mixed = menu("main", &["welcome"], &[("1", &["hangup"])]);
    mixed.retries = 1;
    let mut call = Call::new(&[mixed], "main");
    call.start();
    call.ended();
    assert_eq!(call.wait(5000), ["play no-input"]);
    call.ended();
    call.ended();
    assert_eq!(call.keys("9"), ["play invalid+too-many-attempts"]);
}

#[test]
fn empty_notice_prompts_go_straight_on() {
    let mut main = menu("main", &["welcome"], &[("1", &["hangup"])]);
    main.retries = 1;
    main.invalid_prompt = String::new();
    main.fail_prompt = String::new();
    let mut call = Call::new(&[main], "main");
    call.start();
    call.ended();
    assert_eq!(call.keys("9"), ["play welcome"]);
    call.ended();
    assert_eq!(call.keys("9"), ["hangup"]);
}

#[test]
fn a_new_menu_starts_with_fresh_tries() {
    let mut main = menu("main", &["welcome"], &[("1", &["menu sub"])]);
    main.retries = 1;
    let mut sub = menu("sub", &["news"], &[("*", &["menu main"])]);
    sub.retries = 1;
    let mut call = Call::new(&[main, sub], "main");
    call.start();
    call.ended();
    assert_eq!(call.keys("9"), ["play invalid"]);
    call.ended();
    call.ended();
    assert_eq!(call.keys("1"), ["play news"]);
    call.ended();
    assert_eq!(call.keys("9"), ["play invalid"]);
    call.ended();
    call.ended();
    assert_eq!(call.keys("*"), ["play welcome"]);
    call.ended();
    assert_eq!(call.keys("9"), ["play invalid"], "a retry left again");
}
