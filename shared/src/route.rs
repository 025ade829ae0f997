//! The routing decision: what the edge answers for a request, given the
//! routing records it has read so far. Pure: the edge reads the KV keys that
//! a [`Decision::ReadHost`] or [`Decision::ReadPath`] names, records what it
//! found in [`Facts`], and asks again; any other decision is final.
//!
//! Order of rules (DESIGN.md, "Routing at the edge"):
//! 1. A bad `Host` → 400; an overlong path → 414.
//! 2. `/.well-known/acme-challenge/` and `/.well-known/pki-validation/` →
//!    the platform origin, for any host (certificates are validated before a
//!    domain is published); decided on, and forwarded as, the normalized path.
//! 3. `/<segment>…` → its path record, if one of its entries answers the
//!    path (the longest: `/courses/intro` before `/courses/*`).
//! 4. The host record: none → "domain not connected" (404); a redirect host
//!    → `https://<to><path>?<query>` in one hop; `http://` → `https://`;
//!    `/` → the Index target; anything else → the 404 target with status 404.

use crate::host::Hostname;
use crate::path::{is_pass_through, RequestPath};
use crate::record::{content_key, host_key, path_key, HostRecord, PathRecord, RecordError, Target};

/// `Cache-Control` of platform pages: always revalidated (cheap, with the
/// ETag), so a customer's edit shows at once.
pub const PAGE_CACHE_CONTROL: &str = "public, max-age=0, must-revalidate";
/// `Cache-Control` of the platform's own answers (not connected, errors):
/// never cached, so the first visitor after connecting is not served a stale
/// "not connected".
pub const NO_STORE: &str = "no-store";
/// `Cache-Control` of permanent redirects (http → https, root → www): long
/// enough to spare the hop, short enough that a removed domain is not stuck.
pub const PERMANENT_REDIRECT_CACHE_CONTROL: &str = "public, max-age=3600";

/// The `Cache-Control` a redirect of this status carries: external Index and
/// 404 targets (302) can change at any moment.
pub fn redirect_cache_control(status: u16) -> &'static str {
    match status {
        301 | 308 => PERMANENT_REDIRECT_CACHE_CONTROL,
        _ => NO_STORE,
    }
}

/// What pages are served as.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";
/// Methods a page answers.
pub const PAGE_METHODS: &str = "GET, HEAD";
/// Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward.
pub const HOP_BY_HOP_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    /// Anything else: pages refuse it, origin mounts pass it on.
    Other,
}

impl Method {
    /// HTTP methods are case-sensitive.
    pub fn parse(method: &str) -> Method {
        match method {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            _ => Method::Other,
        }
    }
}

/// A request as the edge received it, before any rule ran.
#[derive(Debug, Clone, Copy)]
pub struct Visit<'a> {
    pub scheme: Scheme,
    pub method: &'a str,
    /// The `Host` header, if any.
    pub host: Option<&'a str>,
    /// The path, without the query.
    pub path: &'a str,
    /// The query, without `?`.
    pub query: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
}

/// The parts of the absolute URL a runtime hands over (`request.url`) that
/// routing needs: scheme, path and query. Done on the string so the edge
/// carries no URL parser (and none of its IDNA tables).
pub fn split_request_url(url: &str) -> Option<(Scheme, &str, Option<&str>)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        Scheme::Https
    } else if scheme.eq_ignore_ascii_case("http") {
        Scheme::Http
    } else {
        return None;
    };
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let target = rest.find(['/', '?']).map_or("", |at| &rest[at..]);
    let (path, query) = crate::path::split_query(target);
    Some((scheme, if path.is_empty() { "/" } else { path }, query))
}

/// How this edge deployment behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeSettings {
    /// Redirect `http://` to `https://` (on in production; off on a plain-HTTP
    /// local stack).
    pub https_redirect: bool,
}

/// A request whose host and path passed the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub scheme: Scheme,
    pub method: Method,
    pub host: Hostname,
    pub path: RequestPath,
    pub query: Option<String>,
    pub if_none_match: Option<String>,
}

impl Request {
    /// Applies the host and path rules; a refusal is the final decision.
    pub fn parse(visit: &Visit<'_>) -> Result<Request, Decision> {
        let host = visit
            .host
            .and_then(|raw| Hostname::parse(raw).ok())
            .ok_or(Decision::Problem(Problem::BadHost))?;
        let path =
            RequestPath::parse(visit.path).map_err(|_| Decision::Problem(Problem::UriTooLong))?;
        Ok(Request {
            scheme: visit.scheme,
            method: Method::parse(visit.method),
            host,
            path,
            query: visit.query.map(str::to_string),
            if_none_match: visit.if_none_match.map(str::to_string),
        })
    }

    fn query_suffix(&self) -> String {
        match &self.query {
            Some(query) => format!("?{query}"),
            None => String::new(),
        }
    }
}

/// What the edge knows of one routing key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Lookup<T> {
    #[default]
    Unread,
    Missing,
    /// Present but corrupt or of another format version: treated as missing.
    Unusable(RecordError),
    Found(T),
}

impl<T> Lookup<T> {
    /// Turns a KV answer into a fact, decoding with `decode`.
    pub fn from_kv(
        value: Option<&[u8]>,
        decode: impl FnOnce(&[u8]) -> Result<T, RecordError>,
    ) -> Lookup<T> {
        match value {
            None => Lookup::Missing,
            Some(bytes) => match decode(bytes) {
                Ok(record) => Lookup::Found(record),
                Err(err) => Lookup::Unusable(err),
            },
        }
    }
}

/// The routing records read so far for one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    pub host: Lookup<HostRecord>,
    pub path: Lookup<PathRecord>,
}

/// Answers the platform gives itself, without tenant data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    BadHost,
    UriTooLong,
    NotConnected,
    MethodNotAllowed,
    /// The platform origin did not answer a proxied request.
    OriginUnreachable,
    /// The platform origin did not answer within the edge's timeout.
    OriginTimeout,
    /// The routing store could not be read: nothing the visitor did.
    Unavailable,
}

impl Problem {
    pub fn status(self) -> u16 {
        match self {
            Problem::BadHost => 400,
            Problem::UriTooLong => 414,
            Problem::NotConnected => 404,
            Problem::MethodNotAllowed => 405,
            Problem::OriginUnreachable => 502,
            Problem::OriginTimeout => 504,
            Problem::Unavailable => 503,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Problem::BadHost => "Bad request",
            Problem::UriTooLong => "Address too long",
            Problem::NotConnected => "This domain is not connected",
            Problem::MethodNotAllowed => "Method not allowed",
            Problem::OriginUnreachable => "Bad gateway",
            Problem::OriginTimeout => "Gateway timeout",
            Problem::Unavailable => "Temporarily unavailable",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Problem::BadHost => "The request did not name a valid domain.",
            Problem::UriTooLong => "The address of this request is too long to be served.",
            Problem::NotConnected => {
                "This domain does not serve any pages yet. If it is yours, finish connecting it in your dashboard; it can take a few minutes after the DNS records are created."
            }
            Problem::MethodNotAllowed => "This page can only be read (GET or HEAD).",
            Problem::OriginUnreachable => {
                "The platform could not be reached to answer this request. Please try again in a moment."
            }
            Problem::OriginTimeout => {
                "The platform took too long to answer this request. Please try again in a moment."
            }
            Problem::Unavailable => "This page cannot be served right now. Please try again in a moment.",
        }
    }

    /// Seconds a visitor should wait before retrying, for passing faults.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            Problem::OriginUnreachable | Problem::OriginTimeout | Problem::Unavailable => Some(5),
            _ => None,
        }
    }

    /// The `Allow` header a 405 carries.
    pub fn allow(self) -> Option<&'static str> {
        match self {
            Problem::MethodNotAllowed => Some(PAGE_METHODS),
            _ => None,
        }
    }
}

/// Which account's host and which mount a proxied request came through, as
/// the records that answered it say. Both absent for the pass-through paths
/// (certificate validation), which belong to no account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Via {
    /// The account id of the host's records.
    pub account: Option<String>,
    /// The mount id of the origin target.
    pub mount: Option<String>,
}

/// What to do next. Every variant but the two reads is final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Read this key from the routing namespace into [`Facts::host`].
    ReadHost(String),
    /// Read this key from the routing namespace into [`Facts::path`].
    ReadPath(String),
    /// Serve the HTML under `content_key` (`body: false` for HEAD).
    Page {
        status: u16,
        content_key: String,
        etag: String,
        body: bool,
    },
    /// 304: the visitor's copy is current.
    NotModified {
        etag: String,
    },
    Redirect {
        status: u16,
        location: String,
    },
    /// Proxy to the platform origin at `path_and_query`; `status`, when set,
    /// replaces the origin's (a 404 target served from the origin). `via`
    /// is what the origin is told (signed) about where the request came in.
    Proxy {
        path_and_query: String,
        forwarded_host: String,
        forwarded_proto: &'static str,
        status: Option<u16>,
        via: Via,
    },
    Problem(Problem),
}

/// The decision for `request` given what has been read.
pub fn route(request: &Request, facts: &Facts, settings: &EdgeSettings) -> Decision {
    if is_pass_through(&request.path) {
        return proxy(
            request,
            format!("{}{}", request.path, request.query_suffix()),
            None,
            Via::default(),
        );
    }
    if !request.path.is_root() {
        if let Some(slug) = request.path.page_slug() {
            match &facts.path {
                Lookup::Unread => return Decision::ReadPath(path_key(&request.host, &slug)),
                Lookup::Found(record) => {
                    let (_, rest) = request.path.split_first();
                    if let Some(decision) = serve_path(request, record, rest, settings) {
                        return decision;
                    }
                }
                Lookup::Missing | Lookup::Unusable(_) => {}
            }
        }
    }
    match &facts.host {
        Lookup::Unread => Decision::ReadHost(host_key(&request.host)),
        Lookup::Missing | Lookup::Unusable(_) => Decision::Problem(Problem::NotConnected),
        Lookup::Found(HostRecord::Redirect { to, .. }) => {
            let scheme = if settings.https_redirect {
                Scheme::Https
            } else {
                request.scheme
            };
            redirect_to(request, scheme, to)
        }
        Lookup::Found(HostRecord::Site {
            index,
            not_found,
            account,
            ..
        }) => {
            if let Some(upgrade) = https_upgrade(request, settings) {
                return upgrade;
            }
            let account = account.as_deref();
            if request.path.is_root() {
                serve_target(request, index, 200, "", account)
            } else {
                serve_target(request, not_found, 404, "", account)
            }
        }
    }
}

/// The `Strict-Transport-Security` max-age of the answer, once `route` has
/// decided: what the record that answered says (the host's, or the path's
/// when it answered alone), and only over HTTPS (browsers ignore it over
/// HTTP). `None` for answers given before any record was read.
pub fn hsts_max_age(request: &Request, facts: &Facts) -> Option<u32> {
    if request.scheme != Scheme::Https {
        return None;
    }
    match (&facts.host, &facts.path) {
        (Lookup::Found(host), _) => host.hsts(),
        (_, Lookup::Found(path)) => path.hsts,
        _ => None,
    }
}

/// `Strict-Transport-Security` for `max_age_s`: this host only, never
/// `includeSubDomains` (the customer's other names are not ours to pin).
pub fn hsts_header(max_age_s: u32) -> String {
    ["max-age=", &max_age_s.to_string()].concat()
}

/// A path record answers with its longest entry at the request's path (or,
/// for a prefix entry, above it); `rest` is what follows the first segment.
fn serve_path(
    request: &Request,
    record: &PathRecord,
    rest: &str,
    settings: &EdgeSettings,
) -> Option<Decision> {
    let (entry, remainder) = record.answer(rest)?;
    // Path records exist only for published hosts: the host is connected.
    if let Some(upgrade) = https_upgrade(request, settings) {
        return Some(upgrade);
    }
    Some(serve_target(
        request,
        &entry.target,
        200,
        remainder,
        record.account.as_deref(),
    ))
}

fn serve_target(
    request: &Request,
    target: &Target,
    status: u16,
    rest: &str,
    account: Option<&str>,
) -> Decision {
    match target {
        Target::Page { digest } => {
            if request.method == Method::Other {
                return Decision::Problem(Problem::MethodNotAllowed);
            }
            let etag = digest.etag();
            if status == 200 && if_none_match_hits(request.if_none_match.as_deref(), &etag) {
                return Decision::NotModified { etag };
            }
            Decision::Page {
                status,
                content_key: content_key(digest),
                etag,
                body: request.method != Method::Head,
            }
        }
        Target::External { url } => Decision::Redirect {
            status: 302,
            location: url.clone(),
        },
        Target::Origin { path, mount } => {
            let base = path.strip_suffix('/').unwrap_or(path);
            let joined = match (base.is_empty(), rest.is_empty()) {
                (true, true) => "/".to_string(),
                _ => format!("{base}{rest}"),
            };
            let override_status = (status != 200).then_some(status);
            proxy(
                request,
                format!("{joined}{}", request.query_suffix()),
                override_status,
                Via {
                    account: account.map(str::to_owned),
                    mount: mount.clone(),
                },
            )
        }
    }
}

fn proxy(request: &Request, path_and_query: String, status: Option<u16>, via: Via) -> Decision {
    Decision::Proxy {
        path_and_query,
        forwarded_host: request.host.to_string(),
        forwarded_proto: request.scheme.as_str(),
        status,
        via,
    }
}

fn https_upgrade(request: &Request, settings: &EdgeSettings) -> Option<Decision> {
    (settings.https_redirect && request.scheme == Scheme::Http)
        .then(|| redirect_to(request, Scheme::Https, &request.host))
}

/// One hop to `scheme://host` with the path and query kept. 301 for reads;
/// 308 otherwise, so a form post is not turned into a GET.
fn redirect_to(request: &Request, scheme: Scheme, host: &Hostname) -> Decision {
    let status = match request.method {
        Method::Get | Method::Head => 301,
        Method::Other => 308,
    };
    Decision::Redirect {
        status,
        location: format!(
            "{}://{}{}{}",
            scheme.as_str(),
            host,
            request.path,
            request.query_suffix()
        ),
    }
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2).
fn if_none_match_hits(header: Option<&str>, etag: &str) -> bool {
    let Some(header) = header else {
        return false;
    };
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

#[cfg(test)]
mod tests;
