//! API request bodies: the checks the control plane runs on a JSON body,
//! using shared's validators (the body structs and the `ApiJson` extractor
//! live in `portico-control`, left out of this build: see docs/fuzzing.md).
//! Never a panic, and
//! - the control-character checks refuse exactly the strings holding one
//!   (tab, line feed and carriage return allowed in `content` only), name
//!   the first such character at its position, and say so without one;
//! - each field a body carries is checked by the parser its handler uses
//!   (`hostname(s)`: classify; `path`: slug; `username`; `url`: http URL;
//!   `title`, `description` and ids: one line; `content`: HTML), and reading
//!   it through serde (`Hostname`, `Slug`, `Username` fields) gives the same
//!   answer as the parser.
//!
//! Input: a request body, as bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_fuzz::{check_hostname, check_text_error, platform};
use portico_shared::text::{check_line, check_multiline};
use portico_shared::url::parse_http_url;
use portico_shared::{Hostname, Integration, Slug, Username};
use serde_json::Value;

/// As control's `MULTILINE_FIELDS`: fields holding HTML.
const MULTILINE_FIELDS: &[&str] = &["content"];

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    walk(&body, "");
});

fn walk(value: &Value, field: &str) {
    match value {
        Value::String(text) => {
            check_text(text, MULTILINE_FIELDS.contains(&field));
            check_field(field, text);
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, field)),
        Value::Object(map) => {
            for (key, item) in map {
                check_text(key, false);
                walk(item, key);
            }
        }
        _ => {}
    }
}

fn check_text(text: &str, multiline: bool) {
    let line = check_line(text);
    let lines = check_multiline(text);
    assert_eq!(
        line.is_ok(),
        !text.chars().any(char::is_control),
        "{text:?}"
    );
    if let Err(err) = &line {
        check_text_error(text, err, &[]);
    }
    if let Err(err) = &lines {
        check_text_error(text, err, &['\t', '\n', '\r']);
    }
    assert!(
        line.is_err() || lines.is_ok(),
        "one line passes, multi-line refuses"
    );
    let accepted = if multiline { lines } else { line };
    if accepted.is_ok() {
        // What reaches the database: no NUL (PostgreSQL refuses it in text).
        assert!(!text.contains('\0'));
    }
}

fn check_field(field: &str, text: &str) {
    let json = Value::String(text.to_string());
    match field {
        "hostname" | "hostnames" => {
            let parsed = Hostname::parse(text);
            let read = serde_json::from_value::<Hostname>(json);
            assert_eq!(parsed.as_ref().ok(), read.as_ref().ok(), "{text:?}");
            if let Ok(host) = &parsed {
                check_hostname(host);
            }
            if let Ok(integration) = Integration::classify(text, &platform()) {
                let _ = integration.refuse_special_use(&[]);
            }
        }
        "path" => {
            let parsed = Slug::parse(text);
            let read = serde_json::from_value::<Slug>(json);
            assert_eq!(parsed.as_ref().ok(), read.as_ref().ok(), "{text:?}");
        }
        "username" => {
            let parsed = Username::parse(text);
            let read = serde_json::from_value::<Username>(json);
            assert_eq!(parsed.as_ref().ok(), read.as_ref().ok(), "{text:?}");
        }
        "url" => {
            if let Ok((url, host)) = parse_http_url(text) {
                assert!(matches!(url.scheme(), "http" | "https"));
                check_hostname(&host);
            }
        }
        _ => {}
    }
}
