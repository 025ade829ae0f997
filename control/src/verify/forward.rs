//! The rules for the root forward of a root domain:
//! `http://example.com/some/path?x=1` must answer 301 with `Location:
//! https://www.example.com/some/path?x=1`, at every address of the root
//! (IPv4 and IPv6 visitors each reach one of them). The requests are made
//! for real by `super::observe` (without following redirects, bounded in
//! time and bytes, and never to loopback, private, link-local or
//! cloud-metadata addresses unless a development setting allows them:
//! `super::outbound`); this only judges what they got.

use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::rr::Name;
use reqwest::Url;

use super::dns::fqdn_text;
use super::observe::http::Probe;
use super::observe::{AddressProbe, ForwardSeen};
use super::outbound::Outbound;
use super::report::{Check, CheckName, CheckState, Who};

pub use super::observe::PROBE_PATH;

/// Top-level domains on the HSTS preload list as a whole: browsers only
/// ever use `https://` there, so a plain-HTTP forward is never reached.
pub const HSTS_TLDS: &[&str] = &[
    "android",
    "app",
    "bank",
    "boo",
    "chrome",
    "dad",
    "day",
    "dev",
    "eat",
    "esq",
    "fly",
    "foo",
    "gle",
    "gmail",
    "google",
    "hangout",
    "ing",
    "insurance",
    "meet",
    "meme",
    "mov",
    "new",
    "nexus",
    "page",
    "phd",
    "play",
    "prof",
    "rsvp",
    "search",
    "youtube",
    "zip",
];

pub fn hsts_preloaded(root: &str) -> bool {
    let tld = root.trim_end_matches('.').rsplit('.').next().unwrap_or("");
    HSTS_TLDS.iter().any(|t| t.eq_ignore_ascii_case(tld))
}

/// Where and how the forward is requested.
#[derive(Debug, Clone)]
pub struct ForwardSettings {
    /// 80 in production; tests point it at a loopback server.
    pub http_port: u16,
    /// 443 in production.
    pub https_port: u16,
    pub timeout: Duration,
}

/// What the forward check found.
#[derive(Debug, Clone)]
pub struct ForwardOutcome {
    pub check: Check,
    /// `http://<root>` forwards to `https://www.<root>` (301 or temporary).
    pub http_forwards: bool,
    /// `https://<root>` does too.
    pub https_forwards: bool,
}

fn registrar(state: CheckState, found: String, cause: String, fix: String) -> Check {
    Check::problem(
        CheckName::RootForward,
        state,
        found,
        cause,
        fix,
        Who::RegistrarForwarding,
    )
}

/// The addresses that answer nothing while another answers, in words:
/// `(what was found, the record to delete)`.
fn dead_addresses(root: &str, probes: &[AddressProbe]) -> Vec<(String, String)> {
    if !probes
        .iter()
        .any(|p| matches!(p.http, Probe::Answered { .. }))
    {
        return Vec::new();
    }
    probes
        .iter()
        .filter_map(|p| match &p.http {
            Probe::Unreachable(why) => {
                let (record, family) = if p.ip.is_ipv6() {
                    ("AAAA", "IPv6")
                } else {
                    ("A", "IPv4")
                };
                Some((
                    format!("{root} {record} {} does not answer ({why}): {family} visitors who are given it never reach the forward", p.ip),
                    format!("Delete the {record} record of `@` ({root}) → `{}`.", p.ip),
                ))
            }
            Probe::Answered { .. } => None,
        })
        .collect()
}

/// Judges the forward of `root` to `https://www.<root>` from what each of
/// its addresses answered; `www_points`: the `www` CNAME is right (else the
/// probe of `www` shows the loop).
pub fn check(
    seen: &ForwardSeen,
    root: &Name,
    to: &Name,
    www_points: bool,
    outbound: Outbound,
    forward_help: Option<&str>,
) -> ForwardOutcome {
    let root_text = fqdn_text(root);
    // `www.<root>`, or the workaround's `pages.<root>`.
    let www = fqdn_text(to);
    let to_www = www == format!("www.{root_text}");
    let from = format!("http://{root_text}{PROBE_PATH}");
    let expected = format!("https://{www}{PROBE_PATH}");
    let how = forward_help.map(|h| format!(" {h}")).unwrap_or_default();
    let set_up = format!(
        "At your registrar (or DNS provider), forward {root_text} to https://{www} — Permanent (301), Forward path on, \"redirect www\" off.{how}"
    );
    let failing = |check: Check| ForwardOutcome {
        check,
        http_forwards: false,
        https_forwards: false,
    };
    if hsts_preloaded(&root_text) {
        let tld = root_text.rsplit('.').next().unwrap_or_default();
        return failing(registrar(
            CheckState::Fail,
            format!(".{tld} is on the HSTS preload list"),
            format!("browsers only ever open https://{root_text} on .{tld}: a registrar's plain-HTTP forward can never be reached, so the bare root cannot work through one"),
            format!("Use a forwarding service that answers https://{root_text} with its own certificate (for example Cloudflare redirect rules on a proxied record), or share only https://{www} links."),
        ));
    }
    let found_addresses = &seen.addresses;
    if found_addresses.is_empty() {
        return failing(registrar(
            CheckState::Fail,
            format!("{root_text} has no A or AAAA records"),
            format!("nothing answers at {root_text}: the forward is not set up (a registrar's forwarding adds its own A record)"),
            set_up,
        ));
    }
    let usable: Vec<IpAddr> = found_addresses
        .iter()
        .copied()
        .filter(|ip| outbound.permits(*ip))
        .collect();
    if usable.is_empty() {
        let kinds = found_addresses
            .iter()
            .map(|a| match outbound.refusal(*a) {
                Some(class) => format!("{a} ({})", class.describe()),
                None => a.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        return failing(registrar(
            CheckState::Fail,
            format!("{root_text} points at {kinds}"),
            format!("{root_text} points only at private or reserved addresses, which no visitor can reach (and the platform never requests)"),
            set_up,
        ));
    }
    // The first address that answers speaks for the forward; the others
    // that do not are named below.
    let Some(first) = seen
        .probes
        .iter()
        .find(|p| matches!(p.http, Probe::Answered { .. }))
    else {
        let why = seen
            .probes
            .iter()
            .map(|p| match &p.http {
                Probe::Unreachable(why) => format!("{why} ({}, port {})", p.ip, seen.http_port),
                Probe::Answered { .. } => String::new(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        return failing(registrar(
            CheckState::Fail,
            format!("{from}: {why}"),
            format!("nothing answers http://{root_text}"),
            set_up,
        ));
    };
    let https_forwards = seen.probes.iter().any(|p| match &p.https {
        Probe::Answered {
            status,
            location: Some(location),
            ..
        } => (300..400).contains(status) && location.starts_with(&format!("https://{www}")),
        _ => false,
    });
    let (status, location, body) = match &first.http {
        Probe::Answered {
            status,
            location,
            body,
        } => (*status, location.clone(), body.clone()),
        Probe::Unreachable(_) => (0, None, String::new()),
    };
    let found = match &location {
        Some(location) => format!("{from} → {status} {location}"),
        None => format!("{from} → {status}"),
    };
    let outcome = |check: Check, http: bool| ForwardOutcome {
        check,
        http_forwards: http,
        https_forwards,
    };
    if (200..300).contains(&status) {
        let lower = body.to_ascii_lowercase();
        if lower.contains("<frame") || lower.contains("<iframe") {
            return outcome(
                registrar(
                    CheckState::Fail,
                    found,
                    "masked forwarding (\"forward with masking\"): the registrar serves its own page framing the target, so the address bar never changes, the page is not secure, and browsers refuse to frame checkout pages".into(),
                    format!("Change the forward's type to \"forward only\" (no masking), Permanent (301), to https://{www}."),
                ),
                false,
            );
        }
        return outcome(
            registrar(
                CheckState::Fail,
                found,
                format!("{root_text} serves a page of its own (a parking page or an old site) instead of forwarding"),
                set_up,
            ),
            false,
        );
    }
    if !(300..400).contains(&status) || location.is_none() {
        return outcome(
            registrar(
                CheckState::Fail,
                found,
                format!("{root_text} answers {status} instead of forwarding"),
                set_up,
            ),
            false,
        );
    }
    let location = location.unwrap_or_default();
    let Ok(base) = Url::parse(&from) else {
        return outcome(Check::pass(CheckName::RootForward, found), true);
    };
    let Ok(target) = base.join(&location) else {
        return outcome(
            registrar(
                CheckState::Fail,
                found,
                format!("the forward's Location `{location}` is not a URL"),
                set_up,
            ),
            false,
        );
    };
    let target_host = target.host_str().unwrap_or("").to_ascii_lowercase();
    if target_host == root_text {
        return outcome(
            registrar(
                CheckState::Fail,
                found,
                format!("{root_text} forwards to itself: a loop"),
                set_up,
            ),
            false,
        );
    }
    if target_host != www {
        return outcome(
            registrar(
                CheckState::Fail,
                found,
                format!("{root_text} forwards to {target_host}, not to {www}"),
                set_up,
            ),
            false,
        );
    }
    // It reaches www: does www itself come back to the root (the loop)?
    if to_www && !www_points {
        if let Some((
            _,
            Probe::Answered {
                status: s,
                location: Some(back),
                ..
            },
        )) = &seen.www
        {
            let back_host = Url::parse(&format!("http://{www}/"))
                .ok()
                .and_then(|b| b.join(back).ok())
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
            if (300..400).contains(s) && back_host.as_deref() == Some(root_text.as_str()) {
                return outcome(
                    registrar(
                        CheckState::Fail,
                        format!("{found}; http://{www}{PROBE_PATH} → {s} {back}"),
                        format!("an infinite loop: {root_text} forwards to {www} and {www} forwards back to {root_text} (the forward was set up with \"redirect www\" on, which replaces the www CNAME)"),
                        "In the forward's settings choose \"do not redirect www\", then make sure `www` is a CNAME to the platform again.".to_string(),
                    ),
                    false,
                );
            }
        }
    }
    let temporary = matches!(status, 302 | 303 | 307);
    let mut problems: Vec<(CheckState, String, String)> = Vec::new();
    if target.scheme() == "http" {
        problems.push((
            CheckState::Warn,
            format!("the forward goes to http://{www}, not https://: visitors take an extra redirect, and the first hop is not secure"),
            format!("Change the forward's destination to https://{www}."),
        ));
    }
    let expected_url = Url::parse(&expected).ok();
    let path_kept = target.path() == "/some/path";
    let query_kept = target.query() == Some("x=1");
    if !path_kept {
        problems.push((
            CheckState::Fail,
            format!("the forward drops the path: {root_text}/some/path lands on {} (\"Forward path\" is off)", target.as_str()),
            "Turn on \"Forward path\" (also called \"path forwarding\" or \"include path\") in the forward's settings.".into(),
        ));
    } else if !query_kept {
        problems.push((
            CheckState::Warn,
            "the forward drops the query string (?x=1): tracking parameters such as utm_source are lost".into(),
            "Turn on the option that keeps the query string (\"preserve query string\").".into(),
        ));
    }
    if temporary {
        problems.push((
            CheckState::Warn,
            format!("the forward is temporary ({status}): it works, but browsers and search engines do not remember it, so {root_text} keeps its own search ranking instead of passing it on"),
            "Change the forward's type to Permanent (301).".into(),
        ));
    }
    let _ = expected_url;
    for (cause, fix) in dead_addresses(&root_text, &seen.probes) {
        problems.push((CheckState::Warn, cause, fix));
    }
    if problems.is_empty() {
        return outcome(Check::pass(CheckName::RootForward, found), true);
    }
    let state = if problems.iter().any(|(s, _, _)| *s == CheckState::Fail) {
        CheckState::Fail
    } else {
        CheckState::Warn
    };
    let cause = problems
        .iter()
        .map(|(_, c, _)| c.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let fix = problems
        .iter()
        .map(|(_, _, f)| f.clone())
        .collect::<Vec<_>>()
        .join(" ");
    // Every forward that reaches www gets visitors to the pages (deep links
    // may still break: the cause says so).
    outcome(registrar(state, found, cause, fix), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_addresses_no_visitor_could_reach() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
        ] {
            assert!(
                !super::super::outbound::Outbound::PUBLIC_ONLY.permits(ip.parse().unwrap()),
                "{ip}"
            );
        }
        for ip in ["93.184.216.34", "104.16.1.1", "2606:4700::1"] {
            assert!(
                super::super::outbound::Outbound::PUBLIC_ONLY.permits(ip.parse().unwrap()),
                "{ip}"
            );
        }
    }

    #[test]
    fn knows_hsts_preloaded_tlds() {
        assert!(hsts_preloaded("example.app"));
        assert!(hsts_preloaded("example.dev."));
        assert!(hsts_preloaded("example.page"));
        assert!(!hsts_preloaded("example.com"));
    }
}
