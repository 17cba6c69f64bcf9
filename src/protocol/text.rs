//! Turning whatever bytes a client sent into text that is safe to show on a terminal.
//!
//! Chat lines end up on other people's terminals through `nc` and `telnet`, which print
//! every byte they receive. A raw escape sequence can recolour, retitle or wipe a screen; a
//! bidi override can make a line read differently from what it says. So before anything is
//! delivered: invalid UTF-8 becomes U+FFFD; C0 and C1 control characters (TAB excepted) and
//! DEL are removed; whole ANSI escape sequences (CSI, OSC and other strings, two-byte
//! escapes) are removed, not just their ESC, so no `[31m` debris is left behind; the
//! Unicode bidi embedding, override and isolate controls and the bidi marks are removed; and
//! so are the characters that show nothing yet change what a line says or where it breaks:
//! line and paragraph separators, zero-width spaces, word joiners, the soft hyphen and the
//! byte-order mark. The zero-width joiner and non-joiner (U+200D, U+200C) stay, because emoji
//! sequences and several scripts need them, and so do variation selectors.

/// Escape-sequence parsing state, carried from one character to the next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// Ordinary text.
    None,
    /// Just after ESC.
    Started,
    /// ESC followed by intermediate bytes, waiting for the final byte.
    Intermediate,
    /// Inside a control sequence (`ESC [` or C1 CSI), waiting for the final byte.
    Csi,
    /// Inside a control string (OSC, DCS, SOS, PM, APC), waiting for BEL or ST.
    ControlString,
}

/// Appends the displayable form of `raw` to `out`; see the module documentation.
pub fn sanitize_into(raw: &[u8], out: &mut String) {
    let mut state = Escape::None;
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            state = step(state, c, out);
        }
        if !chunk.invalid().is_empty() {
            state = step(state, char::REPLACEMENT_CHARACTER, out);
        }
    }
}

/// True if `text` has nothing but whitespace in it: such a line is ignored.
pub fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Advances the escape parser by one character, appending it to `out` if it is displayable.
fn step(state: Escape, c: char, out: &mut String) -> Escape {
    match state {
        Escape::None => plain(c, out),
        Escape::Started => match c {
            '[' => Escape::Csi,
            ']' | 'P' | 'X' | '^' | '_' => Escape::ControlString,
            ' '..='/' => Escape::Intermediate,
            '0'..='~' => Escape::None,
            _ => plain(c, out),
        },
        Escape::Intermediate => match c {
            ' '..='/' => Escape::Intermediate,
            '0'..='~' => Escape::None,
            _ => plain(c, out),
        },
        Escape::Csi => match c {
            ' '..='?' => Escape::Csi,
            '@'..='~' => Escape::None,
            _ => plain(c, out),
        },
        Escape::ControlString => match c {
            '\x07' | '\u{9c}' => Escape::None,
            '\x1b' => Escape::Started,
            _ => Escape::ControlString,
        },
    }
}

/// Handles a character outside any escape sequence.
fn plain(c: char, out: &mut String) -> Escape {
    match c {
        '\x1b' => Escape::Started,
        '\u{9b}' => Escape::Csi,
        '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => Escape::ControlString,
        '\t' => {
            out.push(c);
            Escape::None
        }
        c if c.is_control() || is_bidi_control(c) || is_invisible(c) => Escape::None,
        c => {
            out.push(c);
            Escape::None
        }
    }
}

/// The bidi embedding and override controls (U+202A..U+202E), the isolates
/// (U+2066..U+2069) and the bidi marks (LRM, RLM, ALM): the characters behind "Trojan Source"
/// text.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
    )
}

/// Characters that show nothing but break or disguise text: line and paragraph separators,
/// zero-width space, word joiner and invisible operators, deprecated format controls, the
/// soft hyphen, the Mongolian vowel separator, the byte-order mark and the interlinear
/// annotation controls. Not the joiners U+200C and U+200D, which emoji and scripts need.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{2028}'
            | '\u{2029}'
            | '\u{200b}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206a}'..='\u{206f}'
            | '\u{00ad}'
            | '\u{180e}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &[u8]) -> String {
        let mut out = String::new();
        sanitize_into(raw, &mut out);
        out
    }

    #[test]
    fn plain_text_and_tabs_pass_through() {
        assert_eq!(clean("héllo\twörld ✓".as_bytes()), "héllo\twörld ✓");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(clean(b"a\xffb\xc3"), "a\u{fffd}b\u{fffd}");
    }

    #[test]
    fn c0_c1_and_del_are_removed() {
        assert_eq!(
            clean("a\x00b\x07c\x08d\x7fe\u{85}f\rg".as_bytes()),
            "abcdefg"
        );
    }

    #[test]
    fn a_csi_sequence_is_removed_whole() {
        assert_eq!(clean(b"\x1b[1;31mred\x1b[0m \x1b[2J\x1b[H"), "red ");
        assert_eq!(clean("\u{9b}31mred".as_bytes()), "red");
    }

    #[test]
    fn an_osc_title_change_is_removed_whole() {
        assert_eq!(clean(b"a\x1b]0;pwned\x07b"), "ab");
        assert_eq!(
            clean(b"a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b"),
            "alinkb"
        );
    }

    #[test]
    fn two_byte_escapes_are_removed() {
        assert_eq!(clean(b"a\x1bcb\x1b(Bc"), "abc");
    }

    #[test]
    fn an_unterminated_escape_swallows_nothing_printable_after_an_abort() {
        assert_eq!(clean("\x1b\u{e9}x".as_bytes()), "\u{e9}x");
    }

    #[test]
    fn bidi_controls_are_removed() {
        assert_eq!(
            clean("abc\u{202e}fed\u{2066}x\u{2069}".as_bytes()),
            "abcfedx"
        );
    }

    #[test]
    fn bidi_marks_separators_and_invisible_characters_are_removed() {
        assert_eq!(
            clean(
                "a\u{200e}b\u{200f}c\u{61c}d\u{2028}e\u{2029}f\u{200b}g\u{2060}h\u{feff}i\u{ad}j"
                    .as_bytes()
            ),
            "abcdefghij"
        );
    }

    #[test]
    fn the_joiners_emoji_need_are_kept() {
        let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        assert_eq!(clean(family.as_bytes()), family);
        assert_eq!(
            clean("\u{2764}\u{fe0f} ab\u{200c}c".as_bytes()),
            "\u{2764}\u{fe0f} ab\u{200c}c"
        );
    }

    #[test]
    fn blank_means_only_whitespace() {
        assert!(is_blank(" \t "));
        assert!(is_blank(""));
        assert!(!is_blank(" a "));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// True if a terminal can show `text` as it is.
        fn is_terminal_safe(text: &str) -> bool {
            text.chars()
                .all(|c| c == '\t' || !(c.is_control() || is_bidi_control(c) || is_invisible(c)))
        }

        /// Bytes rich in escapes, controls, bidi controls and broken UTF-8.
        fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
            let pieces: Vec<&'static [u8]> = vec![
                b"\x1b",
                b"[",
                b"]",
                b"31m",
                b"\x07",
                b"\\",
                b"a",
                b" ",
                b"\t",
                b"\x00",
                b"\x7f",
                "\u{9b}".as_bytes(),
                "\u{9d}".as_bytes(),
                "\u{202e}".as_bytes(),
                "\u{2066}".as_bytes(),
                "\u{200f}".as_bytes(),
                "\u{2028}".as_bytes(),
                "\u{200b}".as_bytes(),
                "\u{200d}".as_bytes(),
                "é".as_bytes(),
                b"\xff",
                b"\xe2\x80",
                b"P",
                b"0;title",
            ];
            prop::collection::vec(prop::sample::select(pieces), 0..40)
                .prop_map(|parts| parts.concat())
        }

        proptest! {
            #[test]
            fn the_output_is_always_terminal_safe(bytes in hostile_bytes()) {
                let out = clean(&bytes);
                prop_assert!(is_terminal_safe(&out), "{:?} -> {:?}", bytes, out);
            }

            #[test]
            fn random_bytes_come_out_terminal_safe(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
                prop_assert!(is_terminal_safe(&clean(&bytes)));
            }

            #[test]
            fn cleaning_twice_changes_nothing(bytes in hostile_bytes()) {
                let once = clean(&bytes);
                prop_assert_eq!(clean(once.as_bytes()), once);
            }
        }
    }
}
