//! Nickname rules: what a nickname may look like and which ones nobody may take.
//!
//! A nickname is ASCII, 1 to 24 characters, a letter first, then letters, digits, `_` or
//! `-`. Nicknames are unique ignoring case, so `Alice` and `alice` are the same person; the
//! [`fold`]ed form is what the server compares and indexes. Names that would let a client
//! pass for the server or its staff are reserved.

use std::fmt;

/// The longest nickname, in characters (all ASCII, so also in bytes).
pub const MAX_NICK_LEN: usize = 24;

/// Names nobody may take, because a line from them would look official.
pub const BUILT_IN_RESERVED: [&str; 6] =
    ["server", "admin", "root", "system", "operator", "moderator"];

/// Why a nickname was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum NickError {
    /// Nothing was given.
    Empty,
    /// Longer than [`MAX_NICK_LEN`].
    TooLong,
    /// The first character is not an ASCII letter.
    MustStartWithLetter,
    /// A character outside letters, digits, `_` and `-`.
    BadCharacter,
    /// On the reserved list.
    Reserved,
    /// Someone already has it (ignoring case).
    Taken,
}

impl fmt::Display for NickError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NickError::Empty => "a nickname cannot be empty",
            NickError::TooLong => "a nickname has at most 24 characters",
            NickError::MustStartWithLetter => "a nickname must start with a letter (a-z, A-Z)",
            NickError::BadCharacter => "a nickname may only hold letters, digits, '_' and '-'",
            NickError::Reserved => "that nickname is reserved",
            NickError::Taken => "that nickname is taken",
        })
    }
}

/// Checks the shape of a nickname (not whether it is free or reserved).
pub fn check_shape(nick: &str) -> Result<(), NickError> {
    let bytes = nick.as_bytes();
    let Some(first) = bytes.first() else {
        return Err(NickError::Empty);
    };
    if nick.chars().count() > MAX_NICK_LEN {
        return Err(NickError::TooLong);
    }
    if !first.is_ascii_alphabetic() {
        return Err(NickError::MustStartWithLetter);
    }
    if !bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(NickError::BadCharacter);
    }
    Ok(())
}

/// The case-folded form under which nicknames are compared and indexed.
pub fn fold(nick: &str) -> Box<str> {
    nick.to_ascii_lowercase().into_boxed_str()
}

/// The reserved names: the built-in ones plus those given with `--reserved-nicks`.
#[derive(Debug)]
pub struct ReservedNicks {
    /// Folded names. A short list scanned linearly: it is consulted only when someone picks a
    /// name, never per message.
    folded: Vec<Box<str>>,
}

impl ReservedNicks {
    /// The built-in list plus `extra` (blank entries are ignored).
    pub fn new<'a>(extra: impl IntoIterator<Item = &'a str>) -> Self {
        let folded = BUILT_IN_RESERVED
            .into_iter()
            .chain(extra)
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(fold)
            .collect();
        ReservedNicks { folded }
    }

    /// True if `folded` (an already folded nickname) is reserved.
    pub fn contains(&self, folded: &str) -> bool {
        self.folded.iter().any(|name| **name == *folded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_shapes_pass() {
        for nick in ["a", "alice", "Bob_2", "x-y-z", "A23456789012345678901234"] {
            assert_eq!(check_shape(nick), Ok(()), "{nick}");
        }
    }

    #[test]
    fn bad_shapes_say_why() {
        assert_eq!(check_shape(""), Err(NickError::Empty));
        assert_eq!(
            check_shape("a234567890123456789012345"),
            Err(NickError::TooLong)
        );
        assert_eq!(check_shape("1abc"), Err(NickError::MustStartWithLetter));
        assert_eq!(check_shape("_abc"), Err(NickError::MustStartWithLetter));
        assert_eq!(check_shape("éclair"), Err(NickError::MustStartWithLetter));
        assert_eq!(check_shape("al ice"), Err(NickError::BadCharacter));
        assert_eq!(check_shape("alicé"), Err(NickError::BadCharacter));
        assert_eq!(check_shape("a.b"), Err(NickError::BadCharacter));
    }

    #[test]
    fn reserved_names_match_ignoring_case_and_include_the_extras() {
        let reserved = ReservedNicks::new(["Guest", " bot ", ""]);
        for name in [
            "server",
            "ADMIN",
            "Root",
            "system",
            "operator",
            "moderator",
            "guest",
            "BOT",
        ] {
            assert!(reserved.contains(&fold(name)), "{name}");
        }
        assert!(!reserved.contains(&fold("alice")));
    }
}
