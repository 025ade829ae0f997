//! KV records as the edge reads them, whatever bytes the store holds: never
//! a panic, and a record that decodes
//! - holds only targets the edge may act on (an http(s) URL, an origin path
//!   that cannot change the origin, a valid host to redirect to);
//! - encodes to bytes that decode to the same record.
//!
//! Input: the raw value of a host key, a path key, or a content digest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_fuzz::check_hostname;
use portico_shared::record::{content_key, MAX_KEY_LEN};
use portico_shared::{ContentDigest, HostRecord, Lookup, PathRecord, Target};

fn check_target(target: &Target) {
    match target {
        Target::Page { digest } => check_digest(digest),
        Target::External { url } => {
            assert!(
                url.starts_with("https://") || url.starts_with("http://"),
                "{url:?}"
            )
        }
        Target::Origin { path, .. } => {
            assert!(path.starts_with('/') && !path.starts_with("//"), "{path:?}")
        }
    }
}

fn check_digest(digest: &ContentDigest) {
    let hex = digest.as_str();
    assert!((16..=128).contains(&hex.len()));
    assert!(hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    assert!(content_key(digest).len() <= MAX_KEY_LEN);
    assert_eq!(ContentDigest::parse(hex).as_ref(), Ok(digest));
}

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = HostRecord::decode(data) {
        match &record {
            HostRecord::Site {
                index, not_found, ..
            } => {
                check_target(index);
                check_target(not_found);
            }
            HostRecord::Redirect { to, .. } => check_hostname(to),
        }
        let again = HostRecord::decode(&record.encode()).expect("an encoded host record decodes");
        assert_eq!(again, record);
    }
    if let Ok(record) = PathRecord::decode(data) {
        for entry in &record.entries {
            check_target(&entry.target);
            // A prefix is an origin's; a rest is a path under a segment.
            assert!(!entry.prefix || matches!(entry.target, Target::Origin { .. }));
            assert!(entry.rest.is_empty() || entry.rest.starts_with('/'));
        }
        assert!(record.entries.len() <= portico_shared::link_path::MAX_ENTRIES_PER_SEGMENT);
        // Whatever a request's rest, the answer is one of the record's entries.
        if let Some((entry, remainder)) = record.answer("/a/B/c") {
            assert!(record.entries.contains(entry));
            assert!(remainder.is_empty() || remainder.starts_with('/'));
        }
        let again = PathRecord::decode(&record.encode()).expect("an encoded path record decodes");
        assert_eq!(again, record);
    }
    // The edge's path: a KV answer becomes a fact, never a panic.
    let _ = Lookup::from_kv(Some(data), HostRecord::decode);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(digest) = ContentDigest::parse(text) {
            check_digest(&digest);
        }
    }
});
