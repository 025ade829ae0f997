//! Free text customers send (titles, names, HTML, ids in paths): control
//! characters are refused, so a NUL byte or an escape sequence never
//! reaches a database (PostgreSQL refuses NUL in text outright), a log line
//! or a dashboard. Multi-line text (HTML) may keep tabs and line breaks.

/// Why a piece of text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("contains the control character {} at character {at}: remove it", unicode_name(*.ch))]
    ControlCharacter { ch: char, at: usize },
}

impl TextError {
    /// A stable, snake_case code that dashboards can switch on.
    pub fn code(&self) -> &'static str {
        match self {
            TextError::ControlCharacter { .. } => "control_character",
        }
    }
}

/// `U+0000`, as people look characters up.
fn unicode_name(ch: char) -> String {
    format!("U+{:04X}", ch as u32)
}

/// One line of text (a title, a name, an id): no control character at all.
pub fn check_line(text: &str) -> Result<(), TextError> {
    check(text, false)
}

/// Text that may span lines (HTML): tab, line feed and carriage return
/// allowed, every other control character refused.
pub fn check_multiline(text: &str) -> Result<(), TextError> {
    check(text, true)
}

fn check(text: &str, multiline: bool) -> Result<(), TextError> {
    // Cc: C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F).
    match text
        .chars()
        .enumerate()
        .find(|(_, ch)| ch.is_control() && !(multiline && matches!(ch, '\t' | '\n' | '\r')))
    {
        Some((at, ch)) => Err(TextError::ControlCharacter { ch, at }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused() {
        for text in [
            "a\0b",
            "\u{1}",
            "tab\there",
            "line\nbreak",
            "\r",
            "\u{1b}[31mred",
            "del\u{7f}",
            "c1\u{85}",
            "c1\u{9f}",
        ] {
            let err = check_line(text).unwrap_err();
            assert_eq!(err.code(), "control_character", "{text:?}");
        }
        let err = check_line("ab\0").unwrap_err();
        assert_eq!(err, TextError::ControlCharacter { ch: '\0', at: 2 });
        assert!(err.to_string().contains("U+0000"), "{err}");
    }

    #[test]
    fn multiline_text_keeps_tabs_and_line_breaks() {
        assert!(check_multiline("<p>\n\tHello\r\n</p>").is_ok());
        for text in ["<p>\0</p>", "\u{1b}", "\u{7f}", "\u{8d}", "\u{c}"] {
            assert!(check_multiline(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn ordinary_text_passes() {
        for text in [
            "",
            "Spring offer",
            "Bücher – 20 % off",
            "日本語",
            "emoji 🎉",
        ] {
            assert!(check_line(text).is_ok(), "{text:?}");
            assert!(check_multiline(text).is_ok(), "{text:?}");
        }
    }
}
