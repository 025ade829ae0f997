//! The paths customers put pages and mounts at: `/offer`, `/courses/intro`,
//! and, for mounts, a prefix such as `/members/*` (the mount point and
//! everything below it).
//!
//! Rules (what the KV contract in `record.rs` relies on):
//! - 1 to [`MAX_LINK_DEPTH`] segments, each a [`Slug`] (lower case, letters,
//!   digits, `-`, `_`, `.`, starting and ending with a letter or a digit, never
//!   a reserved name), at most [`MAX_LINK_PATH_LEN`] bytes in all. So a link
//!   path can never be `/.well-known/…` or `/cdn-cgi/…`, nor hold an escape.
//! - Matching is case-insensitive on the link path (`/Courses/Intro` finds
//!   `/courses/intro`), like pages always were; what follows a prefix is
//!   passed on to the origin as the visitor wrote it.
//! - The routing key is the first segment (`v1/p/<host>/courses`): every link
//!   path under it lives in that one record, at most
//!   [`MAX_ENTRIES_PER_SEGMENT`] of them.

use std::fmt;

use crate::path::{Slug, SlugError};

/// Most segments a link path has (`/a/b/c/d/e/f`).
pub const MAX_LINK_DEPTH: usize = 6;
/// Longest link path, `/` separators included, leading `/` and `/*` not.
pub const MAX_LINK_PATH_LEN: usize = 200;
/// Most pages and mounts under one first segment (one path record): keeps
/// the record the edge reads for a request bounded, whatever the domain
/// holds.
pub const MAX_ENTRIES_PER_SEGMENT: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkPathError {
    #[error("enter a path, such as `/offer` or `/courses/intro`")]
    Empty,
    #[error("a path holds at most {MAX_LINK_PATH_LEN} characters")]
    TooLong,
    #[error("a path has at most {MAX_LINK_DEPTH} parts (`/a/b/c`)")]
    TooDeep,
    #[error("only a mount can cover a path prefix (`/members/*`); a page has one exact path")]
    PrefixNotAllowed,
    /// One segment is not a valid page name.
    #[error("{0}")]
    Segment(SlugError),
}

impl LinkPathError {
    /// Stable codes: a one-segment path keeps the `slug_*` codes it had.
    pub fn code(&self) -> &'static str {
        match self {
            LinkPathError::Empty => "slug_empty",
            LinkPathError::TooLong => "path_too_long",
            LinkPathError::TooDeep => "path_too_deep",
            LinkPathError::PrefixNotAllowed => "path_prefix_not_allowed",
            LinkPathError::Segment(err) => err.code(),
        }
    }
}

/// A page's or a mount's path on a host, without the prefix marker:
/// `courses/intro` (lower case, no leading `/`). Only [`LinkPath::parse`]
/// makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkPath(String);

impl LinkPath {
    /// Accepts `offer`, `/Courses/Intro/` (lower-cased); refuses a `*`.
    pub fn parse(input: &str) -> Result<LinkPath, LinkPathError> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_prefix('/').unwrap_or(trimmed);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(LinkPathError::Empty);
        }
        if trimmed.len() > MAX_LINK_PATH_LEN {
            return Err(LinkPathError::TooLong);
        }
        if trimmed.split('/').count() > MAX_LINK_DEPTH {
            return Err(LinkPathError::TooDeep);
        }
        let mut path = String::with_capacity(trimmed.len());
        for (i, segment) in trimmed.split('/').enumerate() {
            if segment.is_empty() {
                return Err(LinkPathError::Segment(SlugError::Empty));
            }
            let slug = Slug::parse(segment).map_err(LinkPathError::Segment)?;
            if i > 0 {
                path.push('/');
            }
            path.push_str(slug.as_str());
        }
        Ok(LinkPath(path))
    }

    /// `courses/intro`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first segment: names the routing key.
    pub fn first(&self) -> Slug {
        let first = self.0.split('/').next().unwrap_or_default();
        Slug::parse(first).expect("a link path's segments are slugs")
    }

    /// What follows the first segment: `` or `/intro`.
    pub fn rest(&self) -> &str {
        self.0.find('/').map_or("", |at| &self.0[at..])
    }

    /// `/courses/intro`.
    pub fn path(&self) -> String {
        ["/", self.0.as_str()].concat()
    }
}

impl fmt::Display for LinkPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mount's path: exact (`/book`) or a prefix (`/members/*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkPattern {
    pub path: LinkPath,
    pub prefix: bool,
}

impl LinkPattern {
    /// Accepts `/members/*` (a prefix) or an exact path.
    pub fn parse(input: &str) -> Result<LinkPattern, LinkPathError> {
        let trimmed = input.trim();
        match trimmed.strip_suffix("/*") {
            Some(path) => Ok(LinkPattern {
                path: LinkPath::parse(path)?,
                prefix: true,
            }),
            None => Ok(LinkPattern {
                path: LinkPath::parse(trimmed)?,
                prefix: false,
            }),
        }
    }

    /// `/members/*` or `/book`.
    pub fn display(&self) -> String {
        if self.prefix {
            [self.path.path().as_str(), "/*"].concat()
        } else {
            self.path.path()
        }
    }
}

/// Longest origin path a mount may name.
pub const MAX_ORIGIN_PATH_LEN: usize = 512;

/// A path on the platform's application that a mount proxies to
/// (`/memberships/42`): absolute, already normalized (what is stored is what
/// is requested), no query or fragment. Only [`OriginPath::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginPath(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginPathError {
    #[error("enter a path on the platform starting with `/`, such as `/memberships/42`")]
    NotAbsolute,
    #[error("a path on the platform holds at most {MAX_ORIGIN_PATH_LEN} characters")]
    TooLong,
    #[error("enter the path without `?` or `#`")]
    Query,
    #[error("enter the path in its plain form (`{0}`): no `..`, `.`, `//` or unneeded escapes")]
    NotNormal(String),
}

impl OriginPathError {
    pub fn code(&self) -> &'static str {
        match self {
            OriginPathError::NotAbsolute => "origin_path_not_absolute",
            OriginPathError::TooLong => "origin_path_too_long",
            OriginPathError::Query => "origin_path_query",
            OriginPathError::NotNormal(_) => "origin_path_not_normal",
        }
    }
}

impl OriginPath {
    pub fn parse(input: &str) -> Result<OriginPath, OriginPathError> {
        let trimmed = input.trim();
        if !trimmed.starts_with('/') {
            return Err(OriginPathError::NotAbsolute);
        }
        if trimmed.len() > MAX_ORIGIN_PATH_LEN {
            return Err(OriginPathError::TooLong);
        }
        if trimmed.contains(['?', '#']) {
            return Err(OriginPathError::Query);
        }
        let normal =
            crate::path::RequestPath::parse(trimmed).map_err(|_| OriginPathError::TooLong)?;
        if normal.as_str() != trimmed {
            return Err(OriginPathError::NotNormal(normal.as_str().to_string()));
        }
        Ok(OriginPath(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where `request_rest` (what follows the first segment of a normalized
/// request path: ``, `/`, `/intro/`, `/Intro/x`) meets an entry at
/// `entry_rest` (`` or `/intro`): `Some(remainder)` when the request is at
/// the entry's path or below it, compared without regard to case. The
/// remainder is what follows the entry's path, as the visitor wrote it.
pub fn remainder_under<'a>(request_rest: &'a str, entry_rest: &str) -> Option<&'a str> {
    let n = entry_rest.len();
    let head = request_rest.as_bytes().get(..n)?;
    if !head.eq_ignore_ascii_case(entry_rest.as_bytes()) {
        return None;
    }
    let remainder = &request_rest[n..];
    (remainder.is_empty() || remainder.starts_with('/')).then_some(remainder)
}

/// True when a remainder means the entry's path itself (a trailing slash
/// allowed).
pub fn is_exact(remainder: &str) -> bool {
    remainder.is_empty() || remainder == "/"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_link_paths() {
        for (input, want, first, rest) in [
            ("offer", "offer", "offer", ""),
            ("/Offer/", "offer", "offer", ""),
            ("/courses/intro", "courses/intro", "courses", "/intro"),
            (
                "/Courses/Intro/Part-2/",
                "courses/intro/part-2",
                "courses",
                "/intro/part-2",
            ),
        ] {
            let path = LinkPath::parse(input).unwrap();
            assert_eq!(path.as_str(), want, "{input}");
            assert_eq!(path.first().as_str(), first);
            assert_eq!(path.rest(), rest);
            assert_eq!(LinkPath::parse(&path.path()).unwrap(), path);
        }
    }

    #[test]
    fn refuses_bad_link_paths() {
        let long = format!("/{}", vec!["abcdefghij"; 19].join("/"));
        let deep = "/a/b/c/d/e/f/g";
        for (input, code) in [
            ("", "slug_empty"),
            ("/", "slug_empty"),
            ("/a//b", "slug_empty"),
            (long.as_str(), "path_too_long"),
            (deep, "path_too_deep"),
            ("/.well-known/x", "slug_bad_edge"),
            ("/cdn-cgi/x", "slug_reserved"),
            ("/a/../b", "slug_bad_edge"),
            ("/a/%2e", "slug_invalid_character"),
            ("/members/*", "slug_invalid_character"),
            ("/a b/c", "slug_invalid_character"),
        ] {
            assert_eq!(
                LinkPath::parse(input).unwrap_err().code(),
                code,
                "{input:?}"
            );
        }
        assert_eq!(
            LinkPath::parse("/a/b/c/d/e/f").unwrap().as_str(),
            "a/b/c/d/e/f"
        );
    }

    #[test]
    fn patterns_are_exact_or_prefix() {
        let prefix = LinkPattern::parse("/Members/*").unwrap();
        assert!(prefix.prefix);
        assert_eq!(prefix.path.as_str(), "members");
        assert_eq!(prefix.display(), "/members/*");
        let exact = LinkPattern::parse("/book/call").unwrap();
        assert!(!exact.prefix);
        assert_eq!(exact.display(), "/book/call");
        assert_eq!(LinkPattern::parse("/*").unwrap_err().code(), "slug_empty");
        assert_eq!(
            LinkPattern::parse("/a/*/b").unwrap_err().code(),
            "slug_invalid_character"
        );
    }

    #[test]
    fn origin_paths_are_absolute_and_normal() {
        for good in ["/", "/memberships/42", "/v/a-b_c.d~e", "/p/%20x"] {
            assert_eq!(OriginPath::parse(good).unwrap().as_str(), good);
        }
        for (bad, code) in [
            ("", "origin_path_not_absolute"),
            ("memberships", "origin_path_not_absolute"),
            ("https://evil.example/", "origin_path_not_absolute"),
            ("//evil.example/x", "origin_path_not_normal"),
            ("/a/../b", "origin_path_not_normal"),
            ("/a/%61", "origin_path_not_normal"),
            ("/a b", "origin_path_not_normal"),
            ("/a?x=1", "origin_path_query"),
            ("/a#x", "origin_path_query"),
        ] {
            assert_eq!(OriginPath::parse(bad).unwrap_err().code(), code, "{bad:?}");
        }
        let long = format!("/{}", "a".repeat(MAX_ORIGIN_PATH_LEN));
        assert_eq!(
            OriginPath::parse(&long).unwrap_err().code(),
            "origin_path_too_long"
        );
    }

    #[test]
    fn remainders_are_found_without_regard_to_case() {
        for (request, entry, want) in [
            ("", "", Some("")),
            ("/", "", Some("/")),
            ("/intro", "", Some("/intro")),
            ("/intro", "/intro", Some("")),
            ("/Intro/", "/intro", Some("/")),
            ("/INTRO/Lesson/2", "/intro", Some("/Lesson/2")),
            ("/introduction", "/intro", None),
            ("/int", "/intro", None),
            ("", "/intro", None),
            ("/other", "/intro", None),
        ] {
            assert_eq!(
                remainder_under(request, entry),
                want,
                "{request:?} {entry:?}"
            );
        }
        assert!(is_exact("") && is_exact("/") && !is_exact("/x"));
    }
}
