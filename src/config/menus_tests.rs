//! `[[menus]]`: reading, actions, and every check.

use super::tests::shipped_prompts;
use super::*;

/// `text` with the shipped prompts and a route that reaches menu `main`
/// (and through it whatever it leads to).
fn with_route(text: &str) -> String {
    format!(
        "[prompts]\ndir = '{}'\n\n[[routes]]\nmatch = '^x$'\napp = 'ivr'\nmenu = 'main'\n\n{text}",
        shipped_prompts().display()
    )
}

fn load(text: &str) -> Result<Config, ConfigErrors> {
    Config::from_toml_str(&with_route(text), "t.toml")
}

/// "key: message" of each problem.
fn problems(text: &str) -> Vec<String> {
    match load(text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.key.as_deref().unwrap_or("-"), e.message))
            .collect(),
    }
}

#[test]
fn a_full_menu_reads_with_typed_actions() {
    let config = load(
        r#"
[[menus]]
name = "main"
prompts = ["welcome", "numbers/5"]
timeout_ms = 4000
inter_digit_ms = 2000
max_digits = 4
terminator = "*"
retries = 3
invalid_prompt = "try-again"
timeout_prompt = ""
fail_prompt = "goodbye"
on_fail = ["set why=fail", "dial operator"]
barge_in = false
early_media = true
[menus.keys]
"1" = "menu sub"
"2" = ["set dept=support", "dial ${dept}"]
"4" = "voicemail 1001"
"5" = "voicemail"
"6" = "conference 100"
"7" = "play goodbye"
"0" = "hangup"
default = "dial ext-${digits}"

[[menus]]
name = "sub"
[menus.keys]
"*" = "menu main"
"#,
    )
    .unwrap();
    let main = &config.menus[0];
    assert_eq!(main.prompts, ["welcome", "numbers/5"]);
    assert_eq!(
        (main.timeout_ms, main.inter_digit_ms, main.max_digits),
        (4000, 2000, 4)
    );
    assert_eq!((main.terminator.as_str(), main.retries), ("*", 3));
    assert_eq!(main.timeout_prompt, "");
    assert!(!main.barge_in && main.early_media);
    assert_eq!(
        main.on_fail,
        [
            MenuAction::Set {
                name: "why".into(),
                value: "fail".into()
            },
            MenuAction::Dial("operator".into())
        ]
    );
    let actions = |key: &str| {
        main.keys
            .iter()
            .find(|k| k.key == key)
            .map(|k| k.actions.clone())
            .unwrap()
    };
    assert_eq!(actions("1"), [MenuAction::Menu("sub".into())]);
    assert_eq!(actions("4"), [MenuAction::Dial("vm-1001".into())]);
    assert_eq!(actions("5"), [MenuAction::Dial("voicemail".into())]);
    assert_eq!(actions("6"), [MenuAction::Dial("conf-100".into())]);
    assert_eq!(actions("7"), [MenuAction::Play("goodbye".into())]);
    assert_eq!(actions("0"), [MenuAction::Hangup]);
    assert_eq!(main.keys.len(), 7);
    assert_eq!(
        main.default,
        Some(vec![MenuAction::Dial("ext-${digits}".into())])
    );
    let sub = &config.menus[1];
    assert_eq!(sub.timeout_ms, 5000);
    assert_eq!(sub.inter_digit_ms, 3000);
    assert_eq!(sub.max_digits, 1);
    assert_eq!(sub.terminator, "#");
    assert_eq!(sub.retries, 2);
    assert_eq!(sub.invalid_prompt, "invalid");
    assert_eq!(sub.timeout_prompt, "no-input");
    assert_eq!(sub.fail_prompt, "too-many-attempts");
    assert_eq!(sub.on_fail, [MenuAction::Hangup]);
    assert!(sub.barge_in && !sub.early_media);
}

#[test]
fn no_menus_section_means_no_menus() {
    let text = format!("[prompts]\ndir = '{}'\n", shipped_prompts().display());
    assert!(Config::from_toml_str(&text, "t.toml")
        .unwrap()
        .menus
        .is_empty());
}

#[test]
fn the_default_demo_menus_load() {
    let overrides = ConfigOverrides {
        prompts_dir: Some(shipped_prompts().to_path_buf()),
        ..ConfigOverrides::default()
    };
    let config = Config::load_with_overrides(None, &overrides).unwrap();
    let names: Vec<&str> = config.menus.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["demo", "demo-sub"]);
    let plan = crate::routing::DialPlan::compile(&config.routes).unwrap();
    assert_eq!(
        plan.route("ivr-demo").unwrap().application,
        Application::Ivr {
            menu: "demo".into()
        }
    );
}

#[test]
fn bad_actions_and_unknown_keys_are_named() {
    let found = problems(
        r#"
[[menus]]
name = "main"
colour = "red"
on_fail = "explode"
[menus.keys]
"1" = "menu"
"2" = "hangup now"
"3" = "set x"
"4" = "set digits=1"
"5" = "dial a b"
"6" = "play ${unclosed"
"7" = []
"8" = 8
"9" = ["hangup", 9]
"#,
    );
    assert_eq!(
        found,
        [
            "menus[0].colour: unknown key in [menus[0]]; known keys: barge_in, early_media, \
             fail_prompt, inter_digit_ms, invalid_prompt, keys, max_digits, name, on_fail, \
             prompts, retries, terminator, timeout_ms, timeout_prompt",
            format!("menus[0].on_fail: `explode` is not an action; known: {ACTION_FORMS}").as_str(),
            "menus[0].keys.\"1\": `menu` needs a menu name",
            "menus[0].keys.\"2\": `hangup` takes nothing, found `now`",
            "menus[0].keys.\"3\": `set` needs NAME=VALUE, found `x`",
            "menus[0].keys.\"4\": `digits` is set by each entry and cannot be set",
            "menus[0].keys.\"5\": `dial` takes a single user, found `a b`",
            "menus[0].keys.\"6\": unclosed `${` in `${unclosed`",
            "menus[0].keys.\"7\": lists no action",
            "menus[0].keys.\"8\": expected a string or an array of strings, found integer",
            "menus[0].keys.\"9\"[1]: expected a string, found integer",
        ]
    );
}

#[test]
fn problems_carry_their_line() {
    let errors = load("[[menus]]\nname = 'main'\n[menus.keys]\n'1' = 'menu'\n").unwrap_err();
    let error = &errors.errors()[0];
    assert_eq!(error.key.as_deref(), Some("menus[0].keys.\"1\""));
    // Eight lines of prompts and route come first.
    assert_eq!(error.line, Some(12));
}

#[test]
fn unknown_prompts_are_reported_wherever_named() {
    let found = problems(
        r#"
[[menus]]
name = "main"
prompts = ["welcome", "nope", "numbers/5", "numbers/nope"]
invalid_prompt = "bad-1"
timeout_prompt = "bad-2"
fail_prompt = "bad-3"
on_fail = "play bad-4"
[menus.keys]
"1" = "play bad-5"
"2" = "play ${computed}"
"#,
    );
    let folder = shipped_prompts().display().to_string();
    let tail = format!("(not in {folder}/en or {folder})");
    assert_eq!(
        found,
        [
            format!("menus[0].prompts[1]: unknown prompt `nope` {tail}"),
            format!("menus[0].prompts[3]: unknown prompt `numbers/nope` {tail}"),
            format!("menus[0].invalid_prompt: unknown prompt `bad-1` {tail}"),
            format!("menus[0].timeout_prompt: unknown prompt `bad-2` {tail}"),
            format!("menus[0].fail_prompt: unknown prompt `bad-3` {tail}"),
            format!("menus[0].on_fail: unknown prompt `bad-4` {tail}"),
            format!("menus[0].keys.\"1\": unknown prompt `bad-5` {tail}"),
        ]
    );
}

#[test]
fn shared_prompts_outside_the_language_folder_count() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::create_dir_all(dir.path().join("fr")).unwrap();
    std::fs::create_dir_all(dir.path().join("moh")).unwrap();
    for file in [
        "en/welcome.wav",
        "moh/jazz.flac",
        "invalid.ogg",
        "fr/only-fr.wav",
    ] {
        std::fs::write(dir.path().join(file), b"").unwrap();
    }
    let text = format!(
        "[prompts]\ndir = '{}'\n[[menus]]\nname = 'main'\nprompts = ['welcome', 'moh/jazz', 'only-fr']\n\
         timeout_prompt = ''\nfail_prompt = ''\n[menus.keys]\n'1' = 'hangup'\n",
        dir.path().display()
    );
    let errors = Config::from_toml_str(&text, "t.toml").unwrap_err();
    assert_eq!(errors.keys(), [Some("menus[0].prompts[2]")], "{errors}");
}

#[test]
fn a_missing_prompts_folder_is_reported_once() {
    let text = "[prompts]\ndir = '/nonexistent/mediaplane'\n[[menus]]\nname = 'm'\nprompts = ['x']\n[menus.keys]\n'1' = 'hangup'\n";
    let errors = Config::from_toml_str(text, "t.toml").unwrap_err();
    assert_eq!(errors.keys(), [Some("prompts.dir")], "{errors}");
}

#[test]
fn unknown_and_unreachable_menus() {
    let found = problems(
        r#"
[[menus]]
name = "main"
[menus.keys]
"1" = "menu sub"
"2" = "menu nowhere"

[[menus]]
name = "sub"
on_fail = "menu deeper"
[menus.keys]
"1" = "hangup"

[[menus]]
name = "deeper"
[menus.keys]
"1" = "hangup"

[[menus]]
name = "island"
[menus.keys]
"1" = "menu main"
"#,
    );
    assert_eq!(
        found,
        [
            "menus[0].keys.\"2\": `menu nowhere`: no menu `nowhere`",
            "menus[3].name: menu `island` is unreachable: no `ivr` route names it \
             and no reachable menu leads to it",
        ]
    );
}

#[test]
fn a_route_with_a_template_reaches_every_menu() {
    let text = format!(
        "[prompts]\ndir = '{}'\n[[routes]]\nmatch = '^ivr-(.+)$'\napp = 'ivr'\nmenu = '$1'\n\
         [[routes]]\nmatch = '^y$'\napp = 'ivr'\nmenu = 'lost'\n\
         [[menus]]\nname = 'island'\n[menus.keys]\n'1' = 'hangup'\n",
        shipped_prompts().display()
    );
    let errors = Config::from_toml_str(&text, "t.toml").unwrap_err();
    assert_eq!(errors.keys(), [Some("routes[1].menu")], "{errors}");
    assert_eq!(errors.errors()[0].message, "no menu `lost` in [[menus]]");
}

#[test]
fn a_computed_menu_action_reaches_every_menu() {
    let found = problems(
        "[[menus]]\nname = 'main'\n[menus.keys]\ndefault = 'menu m-${digits}'\n\
         [[menus]]\nname = 'm-1'\n[menus.keys]\n'1' = 'hangup'\n",
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn digit_conflicts() {
    let found = problems(
        r#"
[[menus]]
name = "main"
max_digits = 2
[menus.keys]
"1x" = "hangup"
"a" = "hangup"
"A" = "hangup"
"123" = "hangup"
"1#" = "hangup"
"*" = "hangup"
"#,
    );
    assert_eq!(
        found,
        [
            "menus[0].keys.\"1x\": `1x` is not a key sequence (0-9, *, #, A-D)",
            "menus[0].keys.a: is the same key as `A`",
            "menus[0].keys.\"123\": key is longer than max_digits (2)",
            "menus[0].keys.\"1#\": key contains the terminator `#`, which ends the entry",
        ]
    );
}

#[test]
fn the_terminator_is_a_key_in_single_key_menus() {
    let found = problems("[[menus]]\nname = 'main'\n[menus.keys]\n'#' = 'hangup'\n");
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_prefix_is_ambiguous_only_without_terminator() {
    let keys = "[menus.keys]\n'1' = 'hangup'\n'12' = 'hangup'\n'3' = 'hangup'\n";
    let with = format!("[[menus]]\nname = 'main'\nmax_digits = 2\n{keys}");
    assert!(problems(&with).is_empty());
    let without = format!("[[menus]]\nname = 'main'\nmax_digits = 2\nterminator = ''\n{keys}");
    assert_eq!(
        problems(&without),
        [
            "menus[0].keys.\"1\": ambiguous: `1` is the start of `12` and there is no \
          terminator, so it is chosen only by waiting out inter_digit_ms"
        ]
    );
}

#[test]
fn ranges_names_and_empty_menus() {
    let found = problems(
        r#"
[[menus]]
name = "main"
timeout_ms = 99
inter_digit_ms = 600001
max_digits = 33
retries = 11
terminator = "x"
[menus.keys]
"1" = "menu main"

[[menus]]
name = "main"

[[menus]]
name = "bad name"
[menus.keys]
default = "hangup"
"#,
    );
    assert_eq!(
        found,
        [
            "menus[0].timeout_ms: 99 must be from 100 to 600000",
            "menus[0].inter_digit_ms: 600001 must be from 100 to 600000",
            "menus[0].max_digits: 33 must be from 1 to 32",
            "menus[0].retries: 11 must be from 0 to 10",
            "menus[0].terminator: `x` is not one key (0-9, *, #, A-D) or empty",
            "menus[1].keys: menu `main` has no keys and no default",
            "menus[1].name: menu `main` is already defined in menus[0]",
            "menus[2].name: `bad name` is not a menu name (letters, digits, `_`, `-`)",
        ]
    );
}

#[test]
fn expand_substitutes_known_and_unknown_variables() {
    let lookup = |name: &str| match name {
        "digits" => Some("42"),
        _ => None,
    };
    assert_eq!(expand("ext-${digits}", lookup), "ext-42");
    assert_eq!(expand("${nope}x$y${digits}", lookup), "x$y42");
    assert_eq!(expand("plain", lookup), "plain");
}
