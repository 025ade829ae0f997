//! Page slugs and usernames, as customers type them: never a panic, and
//! - a slug is lower case, 1 to 100 of `a-z 0-9 - _ .`, starts and ends
//!   with a letter or digit, is not reserved, and parses to itself;
//! - the page is found at its own path, in any letter case, with or
//!   without a trailing slash (the edge's `page_slug` agrees with `Slug`);
//! - a username is one DNS label, and `<username>.<platform>` is a valid
//!   host even for the longest platform domain allowed.
//!
//! Input: the text typed, as is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_fuzz::check_hostname;
use portico_shared::path::{RequestPath, MAX_SLUG_LEN, RESERVED_SLUGS};
use portico_shared::record::{path_key, MAX_KEY_LEN};
use portico_shared::{Hostname, PlatformDomain, Slug, Username};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(slug) = Slug::parse(text) {
        let name = slug.as_str();
        assert!((1..=MAX_SLUG_LEN).contains(&name.len()), "{name:?}");
        assert!(name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)));
        let (first, last) = (name.as_bytes()[0], name.as_bytes()[name.len() - 1]);
        assert!(first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric());
        assert!(!RESERVED_SLUGS.contains(&name));
        assert_eq!(Slug::parse(name).as_ref(), Ok(&slug));
        assert_eq!(Slug::parse(&slug.path()).as_ref(), Ok(&slug));
        for path in [
            slug.path(),
            slug.path().to_uppercase(),
            format!("{}/", slug.path()),
        ] {
            let request_path = RequestPath::parse(&path).expect("a page path is short");
            assert_eq!(request_path.page_slug().as_ref(), Some(&slug), "{path}");
        }
        let longest_host =
            Hostname::parse(&format!("{}.com", vec!["a".repeat(61); 4].join("."))).unwrap();
        assert!(path_key(&longest_host, &slug).len() <= MAX_KEY_LEN);
    }
    if let Ok(username) = Username::parse(text) {
        let longest = format!("{}.com", vec!["p".repeat(61); 3].join("."));
        for platform in ["pages.example.net", longest.as_str()] {
            let platform = PlatformDomain::parse(platform).expect("a valid platform domain");
            let host = platform.account_host(&username);
            assert_eq!(
                host.as_str(),
                format!("{username}.{}", platform.host()),
                "the account host is <username>.<platform>"
            );
            check_hostname(&host);
        }
        assert_eq!(Username::parse(username.as_str()).as_ref(), Ok(&username));
    }
});
