//! `[[menus]]`: IVR menus, the keys a caller may press in each and what
//! every key does. Actions are parsed here, at load time, so that a typo in
//! one is reported with its key rather than found by a caller.

use super::reader::{Reader, Table};

/// One IVR menu as configured. Keys are kept as written (validation names
/// them that way); the IVR application compares them in upper case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuConfig {
    pub name: String,
    /// Played in order on entering the menu and on every retry.
    pub prompts: Vec<String>,
    /// How long to wait for the first key once the prompts have ended.
    pub timeout_ms: u32,
    /// How long to wait for each further key of a multi-key entry.
    pub inter_digit_ms: u32,
    /// Keys collected per entry.
    pub max_digits: u32,
    /// Ends a multi-key entry early; empty = none.
    pub terminator: String,
    /// Tries after the first, on an invalid entry or a timeout.
    pub retries: u32,
    /// Played on an entry no key matches; empty = nothing.
    pub invalid_prompt: String,
    /// Played when nothing was pressed; empty = nothing.
    pub timeout_prompt: String,
    /// Played before `on_fail` runs; empty = nothing.
    pub fail_prompt: String,
    pub on_fail: Vec<MenuAction>,
    /// A key stops the prompts; otherwise keys are ignored until they end.
    pub barge_in: bool,
    /// Play the prompts in a 183 and answer at the first key or when they end.
    pub early_media: bool,
    /// `[menus.keys]` in key order, without `default`.
    pub keys: Vec<MenuKey>,
    /// `keys.default`: what any other complete entry does.
    pub default: Option<Vec<MenuAction>>,
}

impl MenuConfig {
    /// A menu with the documented defaults, no prompts and no keys.
    pub fn new(name: impl Into<String>) -> Self {
        MenuConfig {
            name: name.into(),
            prompts: Vec::new(),
            timeout_ms: 5000,
            inter_digit_ms: 3000,
            max_digits: 1,
            terminator: "#".into(),
            retries: 2,
            invalid_prompt: "invalid".into(),
            timeout_prompt: "no-input".into(),
            fail_prompt: "too-many-attempts".into(),
            on_fail: vec![MenuAction::Hangup],
            barge_in: true,
            early_media: false,
            keys: Vec::new(),
            default: None,
        }
    }
}

/// One entry of `[menus.keys]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuKey {
    pub key: String,
    pub actions: Vec<MenuAction>,
}

/// What a key does. Parameters may hold `${NAME}` references to call
/// variables (`${digits}` is the entry just collected); see [`expand`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MenuAction {
    /// `menu NAME`: go to another menu, with a fresh retry count.
    Menu(String),
    /// `dial USER`, and `voicemail [BOX]` / `conference ROOM`, which are
    /// dials of `vm-BOX`, `voicemail` and `conf-ROOM`: hand the call on
    /// through the dial plan.
    Dial(String),
    /// `play PROMPT`: play a prompt, then carry on (back to the menu when
    /// nothing follows).
    Play(String),
    /// `hangup`: end the call.
    Hangup,
    /// `set NAME=VALUE`: set a call variable.
    Set { name: String, value: String },
}

/// The forms an action may take, for error messages.
pub const ACTION_FORMS: &str =
    "menu NAME, dial USER, voicemail [BOX], conference ROOM, play PROMPT, hangup, set NAME=VALUE";

impl MenuAction {
    /// Parses one action string.
    pub fn parse(text: &str) -> Result<MenuAction, String> {
        let text = text.trim();
        let (verb, rest) = match text.split_once(char::is_whitespace) {
            Some((verb, rest)) => (verb, rest.trim()),
            None => (text, ""),
        };
        let one_word = |what: &str| -> Result<String, String> {
            if rest.is_empty() {
                Err(format!("`{verb}` needs a {what}"))
            } else if rest.contains(char::is_whitespace) {
                Err(format!("`{verb}` takes a single {what}, found `{rest}`"))
            } else {
                check_template(rest)?;
                Ok(rest.to_string())
            }
        };
        match verb {
            "menu" => one_word("menu name").map(MenuAction::Menu),
            "dial" => one_word("user").map(MenuAction::Dial),
            "voicemail" if rest.is_empty() => Ok(MenuAction::Dial("voicemail".into())),
            "voicemail" => one_word("mailbox").map(|b| MenuAction::Dial(format!("vm-{b}"))),
            "conference" => one_word("room").map(|r| MenuAction::Dial(format!("conf-{r}"))),
            "play" => one_word("prompt name").map(MenuAction::Play),
            "hangup" if rest.is_empty() => Ok(MenuAction::Hangup),
            "hangup" => Err(format!("`hangup` takes nothing, found `{rest}`")),
            "set" => {
                let Some((name, value)) = rest.split_once('=') else {
                    return Err(format!("`set` needs NAME=VALUE, found `{rest}`"));
                };
                let name = name.trim();
                if !is_variable_name(name) {
                    return Err(format!(
                        "`{name}` is not a variable name (letters, digits, `_`)"
                    ));
                }
                if name == "digits" {
                    return Err("`digits` is set by each entry and cannot be set".into());
                }
                check_template(value)?;
                Ok(MenuAction::Set {
                    name: name.to_string(),
                    value: value.trim().to_string(),
                })
            }
            _ => Err(format!("`{text}` is not an action; known: {ACTION_FORMS}")),
        }
    }
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks the `${NAME}` references of a parameter.
fn check_template(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
        if !is_variable_name(&after[..end]) {
            return Err(format!(
                "`${{{}}}` in `{text}` is not a variable (letters, digits, `_`)",
                &after[..end]
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// Substitutes the `${NAME}` references of a parameter; a variable never set
/// substitutes as empty, and a `$` not opening a reference stays itself.
pub fn expand<'v>(text: &str, lookup: impl Fn(&str) -> Option<&'v str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push_str(lookup(&after[..end]).unwrap_or(""));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Reads `[[menus]]`. Entries that could not be read are `None`, so the
/// indices of the others stay those of the file.
pub(crate) fn read_menus(r: &mut Reader, root: &mut Table) -> Option<Vec<Option<MenuConfig>>> {
    let tables = r.array_of_tables(root, "menus")?;
    Some(
        tables
            .into_iter()
            .map(|table| {
                let mut t = table?;
                let menu = read_menu(r, &mut t);
                r.finish(t);
                menu
            })
            .collect(),
    )
}

fn read_menu(r: &mut Reader, t: &mut Table) -> Option<MenuConfig> {
    let name = r.required_string(t, "name");
    let mut menu = MenuConfig::new(name.clone().unwrap_or_default());
    if let Some(prompts) = r.string_list(t, "prompts") {
        menu.prompts = prompts;
    }
    let integers: [(&'static str, &mut u32); 4] = [
        ("timeout_ms", &mut menu.timeout_ms),
        ("inter_digit_ms", &mut menu.inter_digit_ms),
        ("max_digits", &mut menu.max_digits),
        ("retries", &mut menu.retries),
    ];
    for (key, slot) in integers {
        if let Some(value) = r.integer::<u32>(t, key) {
            *slot = value;
        }
    }
    let strings: [(&'static str, &mut String); 4] = [
        ("terminator", &mut menu.terminator),
        ("invalid_prompt", &mut menu.invalid_prompt),
        ("timeout_prompt", &mut menu.timeout_prompt),
        ("fail_prompt", &mut menu.fail_prompt),
    ];
    for (key, slot) in strings {
        if let Some(value) = r.string(t, key) {
            *slot = value;
        }
    }
    if let Some(texts) = r.string_or_list(t, "on_fail") {
        let path = t.key_path("on_fail");
        if let Some(actions) = parse_actions(r, &path, &texts) {
            menu.on_fail = actions;
        }
    }
    if let Some(flag) = r.boolean(t, "barge_in") {
        menu.barge_in = flag;
    }
    if let Some(flag) = r.boolean(t, "early_media") {
        menu.early_media = flag;
    }
    if let Some(keys) = r.section(t, "keys") {
        for entry in r.data_entries(keys) {
            let Some(texts) = entry.values else { continue };
            let Some(actions) = parse_actions(r, &entry.path, &texts) else {
                continue;
            };
            if entry.key == "default" {
                menu.default = Some(actions);
            } else {
                menu.keys.push(MenuKey {
                    key: entry.key,
                    actions,
                });
            }
        }
    }
    name.map(|_| menu)
}

/// Parses the actions of one key, reporting each bad one under the key.
fn parse_actions(r: &mut Reader, path: &str, texts: &[String]) -> Option<Vec<MenuAction>> {
    if texts.is_empty() {
        let line = r.line_of_key(path);
        r.invalid(path.to_string(), line, "lists no action");
        return None;
    }
    let mut actions = Vec::with_capacity(texts.len());
    let mut ok = true;
    for text in texts {
        match MenuAction::parse(text) {
            Ok(action) => actions.push(action),
            Err(problem) => {
                let line = r.line_of_key(path);
                r.invalid(path.to_string(), line, problem);
                ok = false;
            }
        }
    }
    ok.then_some(actions)
}
