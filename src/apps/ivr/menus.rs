//! The menus of `[[menus]]` compiled once for every call: keys in upper
//! case, times as durations, empty prompt names as none.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::{MenuAction, MenuConfig};

/// Every IVR menu, shared by all calls.
#[derive(Debug, Default)]
pub struct IvrMenus {
    menus: Vec<Menu>,
    by_name: HashMap<String, usize>,
}

/// One compiled menu.
#[derive(Debug)]
pub(super) struct Menu {
    pub name: String,
    pub prompts: Vec<String>,
    pub timeout: Duration,
    pub inter_digit: Duration,
    pub max_digits: usize,
    /// Only for multi-key menus: a single-key entry is complete at once.
    pub terminator: Option<char>,
    pub retries: u32,
    pub invalid_prompt: Option<String>,
    pub timeout_prompt: Option<String>,
    pub fail_prompt: Option<String>,
    pub on_fail: Vec<MenuAction>,
    pub barge_in: bool,
    pub early_media: bool,
    pub keys: HashMap<String, Vec<MenuAction>>,
    pub default: Option<Vec<MenuAction>>,
}

impl IvrMenus {
    /// Compiles validated menus; of two with one name, the first wins.
    pub fn new(menus: &[MenuConfig]) -> Self {
        let mut compiled = IvrMenus::default();
        for config in menus {
            if compiled.by_name.contains_key(&config.name) {
                continue;
            }
            compiled
                .by_name
                .insert(config.name.clone(), compiled.menus.len());
            compiled.menus.push(Menu::new(config));
        }
        compiled
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.menus.len()
    }

    pub fn is_empty(&self) -> bool {
        self.menus.is_empty()
    }

    pub(super) fn find(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub(super) fn menu(&self, index: usize) -> &Menu {
        &self.menus[index]
    }
}

impl Menu {
    fn new(config: &MenuConfig) -> Self {
        let optional = |name: &str| (!name.is_empty()).then(|| name.to_string());
        let max_digits = config.max_digits.max(1) as usize;
        Menu {
            name: config.name.clone(),
            prompts: config.prompts.clone(),
            timeout: Duration::from_millis(config.timeout_ms.into()),
            inter_digit: Duration::from_millis(config.inter_digit_ms.into()),
            max_digits,
            terminator: config
                .terminator
                .chars()
                .next()
                .filter(|_| max_digits > 1)
                .map(|c| c.to_ascii_uppercase()),
            retries: config.retries,
            invalid_prompt: optional(&config.invalid_prompt),
            timeout_prompt: optional(&config.timeout_prompt),
            fail_prompt: optional(&config.fail_prompt),
            on_fail: config.on_fail.clone(),
            barge_in: config.barge_in,
            early_media: config.early_media,
            keys: config
                .keys
                .iter()
                .map(|k| (k.key.to_ascii_uppercase(), k.actions.clone()))
                .collect(),
            default: config.default.clone(),
        }
    }
}
