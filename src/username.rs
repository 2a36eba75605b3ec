//! The one normalisation of user names (e-mail addresses). Every lookup, login, throttle row,
//! login stripe and cache slot uses [`key`], computed here in Rust and stored in
//! `users.user_key`; SQL only ever compares keys, so PostgreSQL's `lower()` (which folds some
//! letters differently, and depends on the database's locale) decides nothing.
//!
//! The key is Unicode's compatibility caseless form (The Unicode Standard, D146:
//! NFKD(toCasefold(NFKD(toCasefold(NFD(X)))))) stored in NFC: full case folding, so `ALICE`,
//! `Alice` and full-width `ＡＬＩＣＥ` are one user with one shared throttle. Folding is the
//! language-neutral one: `İ` (U+0130) folds to `i` + U+0307, so `alİce@acme.test` is a
//! different name from `alice@acme.test` — a different user (usually none) with its own
//! throttle, never a way into alice's account.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

/// The normalised key of a user name.
pub fn key(name: &str) -> String {
    name.chars()
        .nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkd()
        .nfc()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn case_and_width_variants_are_one_key() {
        assert_eq!(key("Alice@Acme.Test"), "alice@acme.test");
        assert_eq!(key("ＡＬＩＣＥ@acme.test"), "alice@acme.test");
        assert_eq!(key("STRASSE@x"), key("straße@x"));
    }

    #[test]
    fn dotted_capital_i_is_not_a_plain_i() {
        assert_ne!(key("alİce@acme.test"), key("alice@acme.test"));
        assert_eq!(key("alİce@acme.test"), key("ali\u{307}ce@acme.test"));
    }

    #[test]
    fn the_key_is_stable_when_applied_again() {
        for s in ["alİce", "ǅx", "ﬃ", "Ω", "K", "ẞ"] {
            assert_eq!(key(&key(s)), key(s), "{s}");
        }
    }
}
