//! Checks on `[[menus]]`: values in range, keys a keypad can send and that
//! do not shadow each other, prompts that exist, menus that exist and can be
//! reached.

use std::collections::{HashMap, HashSet};

use super::error::ConfigError;
use super::menus::{MenuAction, MenuConfig};
use super::reader::toml_key;
use super::routes::{Application, RouteConfig};

/// What the menu checks need beyond the menus themselves.
pub(crate) struct MenuContext<'a> {
    /// The prompts that exist; `None` skips the prompt checks (the folder is
    /// missing, which is reported on its own).
    pub prompts: Option<&'a HashSet<String>>,
    pub prompts_where: String,
    /// The readable routes, with their index in the file.
    pub routes: &'a [(usize, &'a RouteConfig)],
    /// Every `[[menus]]` and `[[routes]]` entry could be read: only then can
    /// a name be called unknown or a menu unreachable.
    pub complete: bool,
    pub failed: &'a HashSet<String>,
}

/// Every problem of the menus, each with its index in the file.
pub(crate) fn check_menus(menus: &[(usize, &MenuConfig)], cx: &MenuContext) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let names: HashSet<&str> = menus.iter().map(|(_, m)| m.name.as_str()).collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for &(index, menu) in menus {
        let mut report = |key: String, message: String| {
            if !cx.failed.contains(&key) {
                problems.push(ConfigError::invalid(key, message));
            }
        };
        let path = |k: &str| format!("menus[{index}].{k}");
        let name = menu.name.as_str();
        if !is_menu_name(name) {
            report(
                path("name"),
                format!("`{name}` is not a menu name (letters, digits, `_`, `-`)"),
            );
        } else if let Some(first) = seen.get(name) {
            report(
                path("name"),
                format!("menu `{name}` is already defined in menus[{first}]"),
            );
        } else {
            seen.insert(name, index);
        }
        for (key, value) in [
            ("timeout_ms", menu.timeout_ms),
            ("inter_digit_ms", menu.inter_digit_ms),
        ] {
            if !(100..=600_000).contains(&value) {
                report(path(key), format!("{value} must be from 100 to 600000"));
            }
        }
        if !(1..=32).contains(&menu.max_digits) {
            report(
                path("max_digits"),
                format!("{} must be from 1 to 32", menu.max_digits),
            );
        }
        if menu.retries > 10 {
            report(
                path("retries"),
                format!("{} must be from 0 to 10", menu.retries),
            );
        }
        let terminator = menu.terminator.to_ascii_uppercase();
        let terminator_ok = terminator.is_empty()
            || (terminator.chars().count() == 1 && is_key_sequence(&terminator));
        if !terminator_ok {
            report(
                path("terminator"),
                format!(
                    "`{}` is not one key (0-9, *, #, A-D) or empty",
                    menu.terminator
                ),
            );
        }
        let mut prompts: Vec<(String, &str)> = menu
            .prompts
            .iter()
            .enumerate()
            .map(|(i, p)| (path(&format!("prompts[{i}]")), p.as_str()))
            .collect();
        for (key, prompt) in [
            ("invalid_prompt", &menu.invalid_prompt),
            ("timeout_prompt", &menu.timeout_prompt),
            ("fail_prompt", &menu.fail_prompt),
        ] {
            if !prompt.is_empty() {
                prompts.push((path(key), prompt));
            }
        }
        let mut actions: Vec<(String, &MenuAction)> = Vec::new();
        for key in &menu.keys {
            let key_path = path(&format!("keys.{}", toml_key(&key.key)));
            actions.extend(key.actions.iter().map(|a| (key_path.clone(), a)));
        }
        if let Some(default) = &menu.default {
            actions.extend(default.iter().map(|a| (path("keys.default"), a)));
        }
        actions.extend(menu.on_fail.iter().map(|a| (path("on_fail"), a)));
        for (key, action) in &actions {
            match action {
                MenuAction::Play(prompt) if !prompt.contains("${") => {
                    prompts.push((key.clone(), prompt));
                }
                MenuAction::Menu(target)
                    if cx.complete
                        && !target.contains("${")
                        && !names.contains(target.as_str()) =>
                {
                    report(key.clone(), format!("`menu {target}`: no menu `{target}`"));
                }
                _ => {}
            }
        }
        if let Some(existing) = cx.prompts {
            for (key, prompt) in prompts {
                if !existing.contains(prompt) {
                    report(
                        key,
                        format!("unknown prompt `{prompt}` (not in {})", cx.prompts_where),
                    );
                }
            }
        }
        let keys_readable = !cx.failed.iter().any(|k| k.starts_with(&path("keys")));
        if menu.keys.is_empty() && menu.default.is_none() && keys_readable {
            report(
                path("keys"),
                format!("menu `{name}` has no keys and no default"),
            );
        }
        if terminator_ok {
            for (key, message) in key_problems(menu, &terminator) {
                report(path(&format!("keys.{}", toml_key(&key))), message);
            }
        }
    }
    if cx.complete {
        problems.extend(check_reachable(menus, &names, cx.routes));
    }
    problems
}

/// The problems of each key of a menu, by the key as written.
fn key_problems(menu: &MenuConfig, terminator: &str) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut normal: Vec<(&str, String)> = Vec::new();
    for key in &menu.keys {
        let upper = key.key.to_ascii_uppercase();
        if !is_key_sequence(&upper) {
            problems.push((
                key.key.clone(),
                format!("`{}` is not a key sequence (0-9, *, #, A-D)", key.key),
            ));
            continue;
        }
        if let Some((first, _)) = normal.iter().find(|(_, n)| *n == upper) {
            problems.push((key.key.clone(), format!("is the same key as `{first}`")));
            continue;
        }
        if upper.len() > menu.max_digits as usize {
            problems.push((
                key.key.clone(),
                format!("key is longer than max_digits ({})", menu.max_digits),
            ));
        }
        // A single-key entry is complete at its key: no terminator applies.
        if menu.max_digits > 1 && !terminator.is_empty() && upper.contains(terminator) {
            problems.push((
                key.key.clone(),
                format!("key contains the terminator `{terminator}`, which ends the entry"),
            ));
        }
        normal.push((&key.key, upper));
    }
    if terminator.is_empty() && menu.max_digits > 1 {
        for (key, upper) in &normal {
            if let Some((longer, _)) = normal
                .iter()
                .find(|(_, other)| other.len() > upper.len() && other.starts_with(upper.as_str()))
            {
                problems.push((
                    key.to_string(),
                    format!(
                        "ambiguous: `{key}` is the start of `{longer}` and there is no \
                         terminator, so it is chosen only by waiting out inter_digit_ms"
                    ),
                ));
            }
        }
    }
    problems
}

/// Menus no route and no reachable menu leads to; `ivr` routes naming an
/// unknown menu.
fn check_reachable(
    menus: &[(usize, &MenuConfig)],
    names: &HashSet<&str>,
    routes: &[(usize, &RouteConfig)],
) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let mut reached: HashSet<&str> = HashSet::new();
    let mut open: Vec<&str> = Vec::new();
    let mut any = false;
    for (index, route) in routes {
        let Application::Ivr { menu } = &route.application else {
            continue;
        };
        if menu.contains('$') {
            any = true;
        } else if names.contains(menu.as_str()) {
            open.push(menu);
        } else {
            problems.push(ConfigError::invalid(
                format!("routes[{index}].menu"),
                format!("no menu `{menu}` in [[menus]]"),
            ));
        }
    }
    if any {
        return problems;
    }
    let by_name: HashMap<&str, &MenuConfig> =
        menus.iter().map(|(_, m)| (m.name.as_str(), *m)).collect();
    while let Some(name) = open.pop() {
        if !reached.insert(name) {
            continue;
        }
        let Some(menu) = by_name.get(name) else {
            continue;
        };
        let actions = menu
            .keys
            .iter()
            .flat_map(|k| &k.actions)
            .chain(menu.default.iter().flatten())
            .chain(&menu.on_fail);
        for action in actions {
            if let MenuAction::Menu(target) = action {
                if target.contains("${") {
                    // A computed name can lead to any menu.
                    return problems;
                }
                open.push(target);
            }
        }
    }
    for (index, menu) in menus {
        if is_menu_name(&menu.name) && !reached.contains(menu.name.as_str()) {
            problems.push(ConfigError::invalid(
                format!("menus[{index}].name"),
                format!(
                    "menu `{}` is unreachable: no `ivr` route names it and no reachable menu leads to it",
                    menu.name
                ),
            ));
        }
    }
    problems
}

fn is_menu_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Keys a keypad can send, in upper case.
fn is_key_sequence(keys: &str) -> bool {
    !keys.is_empty()
        && keys
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'))
}
