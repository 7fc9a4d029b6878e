//! The Unicode rules every name follows (organization, program and input group names, usernames,
//! the paths inside a program tar): one normalization (NFC), characters that may not appear, and
//! one case rule for uniqueness ([`unique_key`]), so that both database backends agree whatever
//! their collation.

use icu_normalizer::ComposingNormalizerBorrowed;

/// The text in Normalization Form C, so that the same name typed with a precomposed `é` or with
/// `e` and a combining accent is one name.
pub fn nfc(text: &str) -> String {
    ComposingNormalizerBorrowed::new_nfc()
        .normalize(text)
        .into_owned()
}

/// The key under which a name is unique: NFC, then lower case. Two names with the same key are
/// the same name on every backend (the databases compare keys byte for byte).
pub fn unique_key(text: &str) -> String {
    nfc(&nfc(text).to_lowercase())
}

/// Characters that reorder the text around them (bidirectional overrides, embeddings, isolates
/// and marks): they make a name display as something else than what it is.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that take no room: a name made only of them (and spaces) looks empty, and a
/// username must not hold any.
pub fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{034F}' | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
    )
}

/// What is wrong with `text` as a name, if anything: control characters, bidirectional
/// formatting characters, or nothing visible at all.
pub fn name_problem(text: &str) -> Option<&'static str> {
    if text.chars().any(char::is_control) {
        Some("contains control characters")
    } else if text.chars().any(is_bidi_control) {
        Some("contains bidirectional formatting characters (which change how it displays)")
    } else if text.chars().all(|c| c.is_whitespace() || is_zero_width(c)) {
        Some("has no visible character")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_and_decomposed_forms_are_one_name_and_case_is_ignored() {
        assert_eq!(nfc("cafe\u{301}"), "caf\u{e9}");
        assert_eq!(unique_key("Cafe\u{301}"), unique_key("CAF\u{c9}"));
        assert_ne!(unique_key("cafe"), unique_key("caf\u{e9}"));
    }

    #[test]
    fn hostile_characters_are_named() {
        for (text, problem) in [
            ("a\u{7}b", "control"),
            ("a\u{202E}gnp.exe", "bidirectional"),
            ("\u{2067}x", "bidirectional"),
            ("\u{200B}\u{200D}", "visible"),
            (" \u{FEFF} ", "visible"),
        ] {
            let found = name_problem(text).unwrap_or_else(|| panic!("{text:?} accepted"));
            assert!(found.contains(problem), "{text:?}: {found}");
        }
        assert_eq!(name_problem("a\u{200D}b"), None);
        assert_eq!(name_problem("Zürich lab"), None);
    }
}
