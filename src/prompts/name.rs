//! What counts as a prompt name.

/// Longest accepted prompt name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Most `/`-separated parts a name may have (`numbers/20` has two), which is
/// also how deep the catalogue looks into subfolders.
pub const MAX_NAME_PARTS: usize = 4;

/// True when `name` is a usable prompt name: 1 to [`MAX_NAME_PARTS`] parts
/// joined by `/`, each a valid [`is_valid_name_part`], at most
/// [`MAX_NAME_LEN`] bytes in all. Names arrive from dialled numbers
/// (`play-NAME`), so the parts admit no `.` or `\`: nothing can climb out of
/// the prompt folder, and a leading or doubled `/` leaves an empty part.
pub fn is_valid_prompt_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN
        && name.split('/').count() <= MAX_NAME_PARTS
        && name.split('/').all(is_valid_name_part)
}

/// True for one part of a name (a file stem or a folder): 1 to
/// [`MAX_NAME_LEN`] characters from `A-Z a-z 0-9 _ -`.
pub fn is_valid_name_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= MAX_NAME_LEN
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_and_grouped_names_only() {
        for good in [
            "welcome",
            "please-wait",
            "menu_1",
            "A-Z_09",
            "numbers/20",
            "a/b/c/d",
        ] {
            assert!(is_valid_prompt_name(good), "{good}");
        }
        let too_long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in [
            "",
            "../etc/passwd",
            "..",
            "./a",
            "a/../b",
            "/a",
            "a/",
            "a//b",
            "a/b/c/d/e",
            "a\\b",
            "welcome.wav",
            "numbers/20.wav",
            "wel come",
            "välkommen",
            "x\0",
            too_long.as_str(),
        ] {
            assert!(!is_valid_prompt_name(bad), "{bad:?}");
        }
        assert!(is_valid_name_part("en"));
        assert!(!is_valid_name_part("en/x"));
        assert!(!is_valid_name_part(""));
    }
}
