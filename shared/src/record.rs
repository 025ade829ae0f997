//! The KV contract between the control plane (writer) and the edge (reader).
//!
//! Three kinds of keys, all under the format prefix `v1/`:
//!
//! | key                      | value                                    |
//! |--------------------------|------------------------------------------|
//! | `v1/h/<host>`            | [`HostRecord`]: a served host's Index and 404 targets, or a redirect to another host (the bare root → `www`) |
//! | `v1/p/<host>/<segment>`  | [`PathRecord`]: every page and mount whose path starts with `/<segment>` on that host (`/courses`, `/courses/intro`, `/members/*`) |
//! | `v1/c/<sha-256 hex>`     | page HTML, immutable: a new revision gets a new key, so the edge may cache it forever |
//!
//! A request reads at most two routing keys (its path key, named by the
//! request's first segment, then the host key when no entry of the path
//! record answers it), each of bounded size: a path record holds at most
//! [`MAX_ENTRIES_PER_SEGMENT`] entries of at most [`MAX_LINK_PATH_LEN`]
//! bytes of path each (the control plane refuses a link past that), so the
//! cost does not grow with the number of pages a domain has, nor with how
//! deep its paths go. Within a record the longest entry that answers wins:
//! an exact entry answers its path (a trailing slash allowed), a prefix
//! entry (origin mounts only) its path and everything below it; link paths
//! are matched without regard to case (see `link_path.rs`). Values are JSON
//! with a `v` field; an edge ignores (treats as absent) any record whose
//! version it does not know, rather than misreading it. A future format is
//! written under `v2/` beside `v1/` until every edge reads it.

use serde::{Deserialize, Serialize};

use crate::host::Hostname;
use crate::link_path::{
    is_exact, remainder_under, LinkPath, MAX_ENTRIES_PER_SEGMENT, MAX_LINK_PATH_LEN,
};
use crate::path::Slug;

/// The record format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Workers KV refuses keys over 512 bytes.
pub const MAX_KEY_LEN: usize = 512;
/// Workers KV refuses values over 25 MiB.
pub const MAX_VALUE_LEN: usize = 25 * 1024 * 1024;

// Keys and ETags are built on every request at the edge: concatenated, not
// `format!`ted (the formatting machinery showed in the worker's profiles).

/// What every host key starts with.
pub const HOST_KEY_PREFIX: &str = "v1/h/";

/// `v1/h/<host>`
pub fn host_key(host: &Hostname) -> String {
    [HOST_KEY_PREFIX, host.as_str()].concat()
}

/// True for a host record's key (`v1/h/…`), false for path and content keys.
pub fn is_host_key(key: &str) -> bool {
    key.starts_with(HOST_KEY_PREFIX)
}

/// `v1/p/<host>/<segment>` (the first segment of the paths it holds)
pub fn path_key(host: &Hostname, slug: &Slug) -> String {
    ["v1/p/", host.as_str(), "/", slug.as_str()].concat()
}

/// `v1/p/<host>/`: every path key of a host starts with this.
pub fn path_key_prefix(host: &Hostname) -> String {
    format!("v1/p/{host}/")
}

/// The routing keys one domain publishes: a host record for each host it
/// answers (the served host; for a root, the bare root's redirect too) and
/// the path records under the served host. The publisher builds exactly
/// these, and the verifier waits for exactly these before saying Connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingKeys {
    /// `v1/h/<host>` of each host.
    pub hosts: Vec<String>,
    /// `v1/p/<host>/` of each host: every path key of the domain starts
    /// with one of these.
    pub path_prefixes: Vec<String>,
}

impl RoutingKeys {
    /// The keys of `integration`.
    pub fn of(integration: &crate::Integration) -> RoutingKeys {
        let hosts = integration.hosts();
        RoutingKeys {
            hosts: hosts.iter().map(|host| host_key(host)).collect(),
            path_prefixes: hosts.iter().map(|host| path_key_prefix(host)).collect(),
        }
    }

    /// True when `key` is one of these, or under one of the prefixes.
    pub fn contains(&self, key: &str) -> bool {
        self.hosts.iter().any(|host| host == key)
            || self
                .path_prefixes
                .iter()
                .any(|prefix| key.starts_with(prefix.as_str()))
    }
}

/// `v1/c/<digest>` where `digest` is the hex SHA-256 of the HTML.
pub fn content_key(digest: &ContentDigest) -> String {
    ["v1/c/", digest.as_str()].concat()
}

/// The hex SHA-256 of a page revision's HTML: names its content key and is
/// its ETag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ContentDigest(String);

impl ContentDigest {
    /// Accepts 16 to 128 lower-case hex digits.
    pub fn parse(hex: &str) -> Result<ContentDigest, RecordError> {
        let ok = (16..=128).contains(&hex.len())
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(ContentDigest(hex.to_string()))
        } else {
            Err(RecordError::Corrupt(format!(
                "`{hex}` is not a content digest"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The strong ETag of this revision.
    pub fn etag(&self) -> String {
        ["\"", self.0.as_str(), "\""].concat()
    }
}

impl<'de> Deserialize<'de> for ContentDigest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        ContentDigest::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// What a host or path answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Target {
    /// A platform page: HTML under [`content_key`].
    Page { digest: ContentDigest },
    /// Another site: the visitor is redirected there.
    External { url: String },
    /// Dynamic content from the platform's application origin (checkouts,
    /// membership portals): proxied there, at `path` plus whatever follows
    /// the mount point. `mount` names the mount (its id) in the signed
    /// context the origin receives; absent for records written before it.
    Origin {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mount: Option<String>,
    },
}

impl Target {
    fn validate(&self) -> Result<(), RecordError> {
        match self {
            Target::Page { .. } => Ok(()),
            Target::External { url } => {
                if url.starts_with("https://") || url.starts_with("http://") {
                    Ok(())
                } else {
                    Err(RecordError::Corrupt(format!(
                        "`{url}` is not an http(s) URL"
                    )))
                }
            }
            // A path that does not start with one `/` could change the origin
            // it is joined to (`//evil.example`, `@evil.example`).
            Target::Origin { path, .. } => {
                if path.starts_with('/') && !path.starts_with("//") {
                    Ok(())
                } else {
                    Err(RecordError::Corrupt(format!(
                        "`{path}` is not an origin path"
                    )))
                }
            }
        }
    }
}

/// `v1/h/<host>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HostRecord {
    /// A connected, served host.
    Site {
        v: u32,
        index: Target,
        not_found: Target,
        /// `Strict-Transport-Security: max-age=<this>` on the host's HTTPS
        /// answers: set only for a Connected custom domain with an active
        /// certificate. Optional, so records written before it (and edges
        /// that predate it, which ignore unknown fields) stay readable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hsts: Option<u32>,
        /// The account the host belongs to (its id): named in the signed
        /// context of requests proxied to the platform origin. Optional, as
        /// `hsts`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    /// A host that only redirects to another (the bare root of a root
    /// integration → `www`).
    Redirect { v: u32, to: Hostname },
}

impl HostRecord {
    pub fn site(index: Target, not_found: Target) -> HostRecord {
        HostRecord::Site {
            v: FORMAT_VERSION,
            index,
            not_found,
            hsts: None,
            account: None,
        }
    }

    /// The same record naming its account (a redirect host names none).
    pub fn with_account(mut self, id: Option<String>) -> HostRecord {
        if let HostRecord::Site { account, .. } = &mut self {
            *account = id;
        }
        self
    }

    /// The account a site host belongs to, when the record names it.
    pub fn account(&self) -> Option<&str> {
        match self {
            HostRecord::Site { account, .. } => account.as_deref(),
            HostRecord::Redirect { .. } => None,
        }
    }

    /// The same record with this HSTS max-age (seconds; `None`: no header).
    /// A redirect host never carries one.
    pub fn with_hsts(mut self, max_age_s: Option<u32>) -> HostRecord {
        if let HostRecord::Site { hsts, .. } = &mut self {
            *hsts = max_age_s;
        }
        self
    }

    /// The HSTS max-age its host's answers carry, if any.
    pub fn hsts(&self) -> Option<u32> {
        match self {
            HostRecord::Site { hsts, .. } => *hsts,
            HostRecord::Redirect { .. } => None,
        }
    }

    pub fn redirect(to: Hostname) -> HostRecord {
        HostRecord::Redirect {
            v: FORMAT_VERSION,
            to,
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<HostRecord, RecordError> {
        let record: HostRecord = decode_versioned(bytes)?;
        let version = match &record {
            HostRecord::Site { v, .. } | HostRecord::Redirect { v, .. } => *v,
        };
        check_version(version)?;
        if let HostRecord::Site {
            index, not_found, ..
        } = &record
        {
            index.validate()?;
            not_found.validate()?;
        }
        Ok(record)
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// One page or mount under a path record's first segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathEntry {
    /// What follows the key's first segment: `` for `/<segment>` itself,
    /// `/intro` for `/<segment>/intro`. Lower case, as [`LinkPath::rest`].
    #[serde(default)]
    pub rest: String,
    /// Answers everything below its path too (origin mounts only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefix: bool,
    pub target: Target,
}

impl PathEntry {
    /// The entry for `path` (whose first segment names the record's key).
    pub fn at(path: &LinkPath, prefix: bool, target: Target) -> PathEntry {
        PathEntry {
            rest: path.rest().to_string(),
            prefix,
            target,
        }
    }

    fn validate(&self) -> Result<(), RecordError> {
        let rest_ok = self.rest.is_empty()
            || (self.rest.starts_with('/')
                && !self.rest.ends_with('/')
                && !self.rest.contains("//")
                && self.rest.len() <= MAX_LINK_PATH_LEN);
        if !rest_ok {
            return Err(RecordError::Corrupt(format!(
                "`{}` is not a path under a segment",
                self.rest
            )));
        }
        if self.prefix && !matches!(self.target, Target::Origin { .. }) {
            return Err(RecordError::Corrupt(
                "only an origin target covers a prefix".into(),
            ));
        }
        self.target.validate()
    }
}

/// `v1/p/<host>/<segment>`: every page and mount whose path starts with
/// `/<segment>` (at most [`MAX_ENTRIES_PER_SEGMENT`]); the longest that
/// answers a request wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRecord {
    pub v: u32,
    pub entries: Vec<PathEntry>,
    /// The host's HSTS max-age, as in its [`HostRecord::Site`]: a page
    /// answered by its path record alone (one KV read) carries it too.
    pub hsts: Option<u32>,
    /// The host's account, as in its [`HostRecord::Site`].
    pub account: Option<String>,
}

impl PathRecord {
    /// A record for the key's segment itself: a page or redirect at exactly
    /// `/<segment>`, an origin target at it and everything below (what a
    /// record meant before `entries`).
    pub fn new(target: Target) -> PathRecord {
        let prefix = matches!(target, Target::Origin { .. });
        PathRecord::with_entries(vec![PathEntry {
            rest: String::new(),
            prefix,
            target,
        }])
    }

    /// A record holding these entries.
    pub fn with_entries(entries: Vec<PathEntry>) -> PathRecord {
        PathRecord {
            v: FORMAT_VERSION,
            entries,
            hsts: None,
            account: None,
        }
    }

    /// The same record naming its host's account.
    pub fn with_account(mut self, id: Option<String>) -> PathRecord {
        self.account = id;
        self
    }

    /// The same record with this HSTS max-age (seconds; `None`: no header).
    pub fn with_hsts(mut self, max_age_s: Option<u32>) -> PathRecord {
        self.hsts = max_age_s;
        self
    }

    /// The entry that answers a request whose path continues with
    /// `request_rest` after the key's segment, and the remainder below the
    /// entry: the longest entry at the request's path (exactly, a trailing
    /// slash allowed) or, for a prefix, above it.
    pub fn answer<'a>(&self, request_rest: &'a str) -> Option<(&PathEntry, &'a str)> {
        self.entries
            .iter()
            .filter_map(|entry| {
                let remainder = remainder_under(request_rest, &entry.rest)?;
                (entry.prefix || is_exact(remainder)).then_some((entry, remainder))
            })
            .max_by_key(|(entry, _)| entry.rest.len())
    }

    pub fn decode(bytes: &[u8]) -> Result<PathRecord, RecordError> {
        let record: PathRecord = decode_versioned(bytes)?;
        check_version(record.v)?;
        if record.entries.len() > MAX_ENTRIES_PER_SEGMENT {
            return Err(RecordError::Corrupt(format!(
                "{} entries under one segment: at most {MAX_ENTRIES_PER_SEGMENT}",
                record.entries.len()
            )));
        }
        for entry in &record.entries {
            entry.validate()?;
        }
        Ok(record)
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

// On the wire a path record is `{"v":1,"entries":[…],"hsts":…,"account":…}`.
// Records written before `entries` had one `target` for the segment itself
// (an origin target covering everything below it). A record that is just
// that is still written so: the common case stays as small as it was, and
// an edge that predates `entries` keeps serving it while the new one rolls
// out (it treats any other record as corrupt, so absent: never misread).
impl Serialize for PathRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            v: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            target: Option<&'a Target>,
            #[serde(skip_serializing_if = "Option::is_none")]
            entries: Option<&'a [PathEntry]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            hsts: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            account: Option<&'a str>,
        }
        let legacy = match self.entries.as_slice() {
            [only]
                if only.rest.is_empty()
                    && only.prefix == matches!(only.target, Target::Origin { .. }) =>
            {
                Some(&only.target)
            }
            _ => None,
        };
        Wire {
            v: self.v,
            target: legacy,
            entries: legacy.is_none().then_some(self.entries.as_slice()),
            hsts: self.hsts,
            account: self.account.as_deref(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PathRecord {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            v: u32,
            target: Option<Target>,
            entries: Option<Vec<PathEntry>>,
            hsts: Option<u32>,
            account: Option<String>,
        }
        let wire = Wire::deserialize(deserializer)?;
        let entries = match (wire.entries, wire.target) {
            (Some(entries), _) => entries,
            (None, Some(target)) => PathRecord::new(target).entries,
            (None, None) => return Err(serde::de::Error::missing_field("entries")),
        };
        Ok(PathRecord {
            v: wire.v,
            entries,
            hsts: wire.hsts,
            account: wire.account,
        })
    }
}

// Records are read on every request at the edge. serde's derive for an
// internally tagged enum (`{"type": "page", …}`) first copies the whole object
// into an owned tree, because the tag may come after the fields; a host
// record holds two such targets. These read the fields straight into a flat
// struct and pick the variant afterwards: the same JSON accepted, with one
// difference: a field of another variant, if present, must still have its
// own type (`"url": 5` on a page is corrupt rather than ignored).

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Kind {
            Page,
            External,
            Origin,
        }
        #[derive(Deserialize)]
        struct Flat {
            #[serde(rename = "type")]
            kind: Kind,
            digest: Option<ContentDigest>,
            url: Option<String>,
            path: Option<String>,
            mount: Option<String>,
        }
        use serde::de::Error;
        let flat = Flat::deserialize(deserializer)?;
        Ok(match flat.kind {
            Kind::Page => Target::Page {
                digest: flat
                    .digest
                    .ok_or_else(|| D::Error::missing_field("digest"))?,
            },
            Kind::External => Target::External {
                url: flat.url.ok_or_else(|| D::Error::missing_field("url"))?,
            },
            Kind::Origin => Target::Origin {
                path: flat.path.ok_or_else(|| D::Error::missing_field("path"))?,
                mount: flat.mount,
            },
        })
    }
}

impl<'de> Deserialize<'de> for HostRecord {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Kind {
            Site,
            Redirect,
        }
        #[derive(Deserialize)]
        struct Flat {
            kind: Kind,
            v: u32,
            index: Option<Target>,
            not_found: Option<Target>,
            to: Option<Hostname>,
            // Absent in records written before HSTS: `None`, no header.
            hsts: Option<u32>,
            account: Option<String>,
        }
        use serde::de::Error;
        let flat = Flat::deserialize(deserializer)?;
        Ok(match flat.kind {
            Kind::Site => HostRecord::Site {
                v: flat.v,
                index: flat.index.ok_or_else(|| D::Error::missing_field("index"))?,
                not_found: flat
                    .not_found
                    .ok_or_else(|| D::Error::missing_field("not_found"))?,
                hsts: flat.hsts,
                account: flat.account,
            },
            Kind::Redirect => HostRecord::Redirect {
                v: flat.v,
                to: flat.to.ok_or_else(|| D::Error::missing_field("to"))?,
            },
        })
    }
}

/// Why a stored record was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record format {found} is not supported (this build reads {FORMAT_VERSION})")]
    UnsupportedVersion { found: u64 },
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

fn check_version(found: u32) -> Result<(), RecordError> {
    if found == FORMAT_VERSION {
        Ok(())
    } else {
        Err(RecordError::UnsupportedVersion {
            found: u64::from(found),
        })
    }
}

/// Parses a record; when that fails, says whether it is a newer format
/// (readable `v`) or garbage.
fn decode_versioned<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, RecordError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        v: u64,
    }
    serde_json::from_slice(bytes).map_err(|err| {
        match serde_json::from_slice::<VersionOnly>(bytes) {
            Ok(VersionOnly { v }) if v != u64::from(FORMAT_VERSION) => {
                RecordError::UnsupportedVersion { found: v }
            }
            _ => RecordError::Corrupt(err.to_string()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> ContentDigest {
        ContentDigest::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn keys_follow_the_contract() {
        let host = Hostname::parse("sales.example.com").unwrap();
        let slug = Slug::parse("offer").unwrap();
        assert_eq!(host_key(&host), "v1/h/sales.example.com");
        assert_eq!(path_key(&host, &slug), "v1/p/sales.example.com/offer");
        assert!(path_key(&host, &slug).starts_with(&path_key_prefix(&host)));
        assert_eq!(
            content_key(&digest()),
            "v1/c/0123456789abcdef0123456789abcdef"
        );
        let longest_host =
            Hostname::parse(&format!("{}.com", vec!["a".repeat(61); 4].join("."))).unwrap();
        let longest_slug = Slug::parse(&"b".repeat(crate::path::MAX_SLUG_LEN)).unwrap();
        assert!(path_key(&longest_host, &longest_slug).len() <= MAX_KEY_LEN);
    }

    #[test]
    fn records_round_trip() {
        let site = HostRecord::site(
            Target::Page { digest: digest() },
            Target::External {
                url: "https://other.org/".into(),
            },
        );
        assert_eq!(HostRecord::decode(&site.encode()).unwrap(), site);
        let redirect = HostRecord::redirect(Hostname::parse("www.example.com").unwrap());
        assert_eq!(HostRecord::decode(&redirect.encode()).unwrap(), redirect);
        let path = PathRecord::new(Target::Origin {
            path: "/m/42".into(),
            mount: None,
        });
        assert_eq!(PathRecord::decode(&path.encode()).unwrap(), path);
        assert_eq!(
            String::from_utf8(path.encode()).unwrap(),
            r#"{"v":1,"target":{"type":"origin","path":"/m/42"}}"#
        );
    }

    #[test]
    fn account_and_mount_are_optional_and_round_trip() {
        let path = PathRecord::new(Target::Origin {
            path: "/m/42".into(),
            mount: Some("mnt_1".into()),
        })
        .with_account(Some("acc_1".into()));
        let encoded = String::from_utf8(path.encode()).unwrap();
        assert_eq!(
            encoded,
            r#"{"v":1,"target":{"type":"origin","path":"/m/42","mount":"mnt_1"},"account":"acc_1"}"#
        );
        assert_eq!(PathRecord::decode(encoded.as_bytes()).unwrap(), path);
        let site = HostRecord::site(
            Target::Page { digest: digest() },
            Target::Page { digest: digest() },
        )
        .with_account(Some("acc_1".into()));
        assert_eq!(HostRecord::decode(&site.encode()).unwrap(), site);
        assert_eq!(site.account(), Some("acc_1"));
        let redirect = HostRecord::redirect(Hostname::parse("www.example.com").unwrap())
            .with_account(Some("acc_1".into()));
        assert_eq!(redirect.account(), None);
    }

    #[test]
    fn path_records_hold_bounded_entries_and_stay_small_when_single() {
        let intro = LinkPath::parse("/courses/intro").unwrap();
        let members = LinkPath::parse("/courses").unwrap();
        let record = PathRecord::with_entries(vec![
            PathEntry::at(&intro, false, Target::Page { digest: digest() }),
            PathEntry::at(
                &members,
                true,
                Target::Origin {
                    path: "/m/1".into(),
                    mount: Some("mnt_1".into()),
                },
            ),
        ]);
        let encoded = String::from_utf8(record.encode()).unwrap();
        assert_eq!(
            encoded,
            r#"{"v":1,"entries":[{"rest":"/intro","target":{"type":"page","digest":"0123456789abcdef0123456789abcdef"}},{"rest":"","prefix":true,"target":{"type":"origin","path":"/m/1","mount":"mnt_1"}}]}"#
        );
        assert_eq!(PathRecord::decode(encoded.as_bytes()).unwrap(), record);
        // One entry at the segment itself, in the old meaning: the old shape.
        let single = PathRecord::new(Target::Page { digest: digest() });
        assert_eq!(
            String::from_utf8(single.encode()).unwrap(),
            r#"{"v":1,"target":{"type":"page","digest":"0123456789abcdef0123456789abcdef"}}"#
        );
        // An exact mount at the segment is not the old meaning: `entries`.
        let exact_mount = PathRecord::with_entries(vec![PathEntry::at(
            &members,
            false,
            Target::Origin {
                path: "/m/1".into(),
                mount: None,
            },
        )]);
        assert!(String::from_utf8(exact_mount.encode())
            .unwrap()
            .contains("entries"));
        assert_eq!(
            PathRecord::decode(&exact_mount.encode()).unwrap(),
            exact_mount
        );

        let entry = r#"{"rest":"/a","target":{"type":"page","digest":"0123456789abcdef"}}"#;
        let too_many = format!(
            r#"{{"v":1,"entries":[{}]}}"#,
            vec![entry; MAX_ENTRIES_PER_SEGMENT + 1].join(",")
        );
        let at_most = format!(
            r#"{{"v":1,"entries":[{}]}}"#,
            vec![entry; MAX_ENTRIES_PER_SEGMENT].join(",")
        );
        assert!(PathRecord::decode(at_most.as_bytes()).is_ok());
        for corrupt in [
            too_many.as_str(),
            r#"{"v":1}"#,
            r#"{"v":1,"entries":[{"rest":"a","target":{"type":"page","digest":"0123456789abcdef"}}]}"#,
            r#"{"v":1,"entries":[{"rest":"/a/","target":{"type":"page","digest":"0123456789abcdef"}}]}"#,
            r#"{"v":1,"entries":[{"rest":"//a","target":{"type":"page","digest":"0123456789abcdef"}}]}"#,
            // Only an origin covers a prefix.
            r#"{"v":1,"entries":[{"rest":"","prefix":true,"target":{"type":"page","digest":"0123456789abcdef"}}]}"#,
            r#"{"v":1,"entries":[{"rest":"","target":{"type":"origin","path":"//evil.example"}}]}"#,
        ] {
            assert!(
                matches!(
                    PathRecord::decode(corrupt.as_bytes()),
                    Err(RecordError::Corrupt(_))
                ),
                "{corrupt}"
            );
        }
    }

    #[test]
    fn hsts_is_optional_and_records_without_it_still_decode() {
        let site = HostRecord::site(
            Target::Page { digest: digest() },
            Target::Page { digest: digest() },
        )
        .with_hsts(Some(31_536_000));
        let encoded = String::from_utf8(site.encode()).unwrap();
        assert!(encoded.contains(r#""hsts":31536000"#), "{encoded}");
        assert_eq!(HostRecord::decode(encoded.as_bytes()).unwrap(), site);
        assert_eq!(site.hsts(), Some(31_536_000));
        // Written before the field existed (or without HSTS): no header.
        let old = br#"{"kind":"site","v":1,"index":{"type":"origin","path":"/"},"not_found":{"type":"origin","path":"/"}}"#;
        assert_eq!(HostRecord::decode(old).unwrap().hsts(), None);
        let plain = HostRecord::site(
            Target::Page { digest: digest() },
            Target::Page { digest: digest() },
        );
        assert!(!String::from_utf8(plain.encode()).unwrap().contains("hsts"));
        // A redirect host never carries it.
        let redirect =
            HostRecord::redirect(Hostname::parse("www.example.com").unwrap()).with_hsts(Some(60));
        assert_eq!(redirect.hsts(), None);

        let path = PathRecord::new(Target::Page { digest: digest() }).with_hsts(Some(60));
        assert_eq!(PathRecord::decode(&path.encode()).unwrap(), path);
        let old_path = br#"{"v":1,"target":{"type":"origin","path":"/m"}}"#;
        assert_eq!(PathRecord::decode(old_path).unwrap().hsts, None);
        for corrupt in [
            &br#"{"v":1,"target":{"type":"origin","path":"/m"},"hsts":"1 year"}"#[..],
            br#"{"v":1,"target":{"type":"origin","path":"/m"},"hsts":-1}"#,
        ] {
            assert!(matches!(
                PathRecord::decode(corrupt),
                Err(RecordError::Corrupt(_))
            ));
        }
        let corrupt_site = br#"{"kind":"site","v":1,"index":{"type":"origin","path":"/"},"not_found":{"type":"origin","path":"/"},"hsts":true}"#;
        assert!(matches!(
            HostRecord::decode(corrupt_site),
            Err(RecordError::Corrupt(_))
        ));
    }

    #[test]
    fn tags_may_come_anywhere_and_fields_of_other_variants_are_ignored() {
        let site = br#"{"index":{"digest":"0123456789abcdef0123456789abcdef","type":"page"},
            "not_found":{"url":"https://other.org/","type":"external","digest":"00000000000000000"},
            "v":1,"to":"www.example.com","kind":"site","added_later":[1,2]}"#;
        assert_eq!(
            HostRecord::decode(site).unwrap(),
            HostRecord::site(
                Target::Page { digest: digest() },
                Target::External {
                    url: "https://other.org/".into()
                },
            )
        );
        for corrupt in [
            // Each variant's own fields are required.
            &br#"{"v":1,"kind":"redirect","index":{"type":"origin","path":"/"}}"#[..],
            br#"{"v":1,"kind":"site","index":{"type":"page"},"not_found":{"type":"origin","path":"/"}}"#,
            // Another variant's field of the wrong type.
            br#"{"v":1,"target":{"type":"origin","path":"/x","url":5}}"#,
        ] {
            let refused = if corrupt.starts_with(br#"{"v":1,"target""#) {
                PathRecord::decode(corrupt).map(|_| ())
            } else {
                HostRecord::decode(corrupt).map(|_| ())
            };
            assert!(
                matches!(refused, Err(RecordError::Corrupt(_))),
                "{}",
                String::from_utf8_lossy(corrupt)
            );
        }
    }

    #[test]
    fn newer_and_corrupt_records_are_refused_not_misread() {
        let newer = br#"{"v":2,"target":{"type":"page","digest":"0123456789abcdef"}}"#;
        assert_eq!(
            PathRecord::decode(newer).unwrap_err(),
            RecordError::UnsupportedVersion { found: 2 }
        );
        let newer_shape = br#"{"kind":"hologram","v":7}"#;
        assert_eq!(
            HostRecord::decode(newer_shape).unwrap_err(),
            RecordError::UnsupportedVersion { found: 7 }
        );
        for corrupt in [
            &b""[..],
            b"null",
            b"{",
            b"\xff\xfe",
            br#"{"v":1,"target":{"type":"page","digest":"../../x"}}"#,
            br#"{"v":1,"target":{"type":"origin","path":"//evil.example/x"}}"#,
            br#"{"v":1,"target":{"type":"origin","path":"@evil.example"}}"#,
            br#"{"v":1,"target":{"type":"external","url":"javascript:alert(1)"}}"#,
        ] {
            assert!(
                matches!(PathRecord::decode(corrupt), Err(RecordError::Corrupt(_))),
                "{:?}",
                String::from_utf8_lossy(corrupt)
            );
        }
        let bad_host = br#"{"kind":"redirect","v":1,"to":"not a host"}"#;
        assert!(matches!(
            HostRecord::decode(bad_host),
            Err(RecordError::Corrupt(_))
        ));
    }
}
