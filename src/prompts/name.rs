//! What counts as a prompt name.

/// Longest accepted prompt name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// True when `name` is a usable prompt name: 1 to [`MAX_NAME_LEN`] characters
/// from `A-Z a-z 0-9 _ -`. Names arrive from dialled numbers (`play-NAME`),
/// so nothing that could mean a path (`/`, `.`, `\`) gets through.
pub fn is_valid_prompt_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names_only() {
        for good in ["welcome", "please-wait", "menu_1", "A-Z_09"] {
            assert!(is_valid_prompt_name(good), "{good}");
        }
        let too_long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in [
            "",
            "../etc/passwd",
            "..",
            "a/b",
            "a\\b",
            "welcome.wav",
            "wel come",
            "välkommen",
            "x\0",
            too_long.as_str(),
        ] {
            assert!(!is_valid_prompt_name(bad), "{bad:?}");
        }
    }
}
