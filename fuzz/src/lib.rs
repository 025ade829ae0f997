//! Invariants more than one fuzz target checks, and the input format they
//! share: one field per line, so that seeds stay readable and the fuzzer's
//! mutations of text stay meaningful.

use portico_shared::host::{MAX_LABEL_LEN, MAX_NAME_LEN};
use portico_shared::path::{RequestPath, MAX_PATH_LEN};
use portico_shared::record::{host_key, MAX_KEY_LEN};
use portico_shared::text::TextError;
use portico_shared::{Hostname, PlatformDomain};

/// The platform domain the targets classify against unless the input names one.
pub const PLATFORM: &str = "pages.example.net";

pub fn platform() -> PlatformDomain {
    PlatformDomain::parse(PLATFORM).expect("the fixture platform domain is valid")
}

/// The input as text, split into at most `n` lines (`None`: not UTF-8).
pub fn fields(data: &[u8], n: usize) -> Option<Vec<&str>> {
    let text = std::str::from_utf8(data).ok()?;
    Some(text.splitn(n, '\n').collect())
}

/// What every `Hostname` promises, whichever parser made it.
pub fn check_hostname(host: &Hostname) {
    let name = host.as_str();
    assert!(name.len() <= MAX_NAME_LEN, "{name:?} is too long");
    for label in name.split('.') {
        assert!(
            !label.is_empty() && label.len() <= MAX_LABEL_LEN,
            "{name:?}: bad label length"
        );
        assert!(
            label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{name:?}: a character outside a-z 0-9 -"
        );
        assert!(
            !label.starts_with('-') && !label.ends_with('-'),
            "{name:?}: hyphen at an edge"
        );
    }
    assert_eq!(
        Hostname::parse(name).as_ref(),
        Ok(host),
        "normalizing {name:?} again changes it"
    );
    // Dashboards show the Unicode form; typed back in, it is the same host.
    let unicode = host.to_unicode();
    assert_eq!(
        Hostname::parse(&unicode).as_ref(),
        Ok(host),
        "the display form {unicode:?} of {name:?} does not parse back to it"
    );
    assert!(host_key(host).len() <= MAX_KEY_LEN);
}

/// What every normalized `RequestPath` promises.
pub fn check_request_path(path: &RequestPath) {
    let text = path.as_str();
    assert!(text.starts_with('/'), "{text:?} does not start with /");
    let inner = text.strip_suffix('/').unwrap_or(text);
    for segment in inner.split('/').skip(1) {
        assert!(
            !matches!(segment, "" | "." | ".."),
            "{text:?} keeps an empty, . or .. segment"
        );
    }
    let bytes = text.as_bytes();
    for (at, &byte) in bytes.iter().enumerate() {
        if byte == b'%' {
            let escape = bytes.get(at + 1..at + 3).unwrap_or_default();
            assert!(
                escape.len() == 2
                    && escape
                        .iter()
                        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)),
                "{text:?}: `%` at {at} starts no upper-case escape"
            );
        } else {
            assert!(
                byte.is_ascii_graphic() && !b"\"#<>?[\\]^`{|}".contains(&byte),
                "{text:?}: byte {byte:#x} left unescaped"
            );
        }
    }
    if text.len() <= MAX_PATH_LEN {
        assert_eq!(
            RequestPath::parse(text).as_ref(),
            Ok(path),
            "normalizing {text:?} again changes it"
        );
    }
    if let Some(slug) = path.page_slug() {
        let (first, _) = path.split_first();
        assert_eq!(slug.as_str(), first.to_ascii_lowercase());
    }
}

/// A refusal names a character that is there, the first of its kind, and
/// its message carries no control character itself (it reaches logs and
/// dashboards).
pub fn check_text_error(text: &str, err: &TextError, allowed: &[char]) {
    let TextError::ControlCharacter { ch, at } = *err;
    let refused = |c: char| c.is_control() && !allowed.contains(&c);
    assert_eq!(text.chars().nth(at), Some(ch), "{text:?}: wrong position");
    assert!(refused(ch), "{text:?}: {ch:?} is not refused");
    assert!(
        !text.chars().take(at).any(refused),
        "{text:?}: not the first"
    );
    assert!(!err.to_string().chars().any(char::is_control));
}
