//! The subdomain workaround for roots at DNS providers that cannot forward
//! the bare root beside a `www` CNAME (GoDaddy): connect `pages.<root>` as a
//! subdomain and forward the root to `https://pages.<root>`. Once a
//! customer has done so, that forward is checked like any root forward
//! (`forward::check` with `pages.<root>` as the target), and the six ways
//! of typing the root's address are judged for this setup. The advice given
//! before (`advice`) is worded from the same table, computed for the setup
//! it recommends, so the two can never disagree.

use portico_shared::{Integration, IntegrationKind};

use super::provider::Provider;
use super::report::{UrlForm, Works};

/// The label of the workaround's subdomain.
pub const LABEL: &str = "pages";

/// Whether `integration` is the workaround: `pages.<root>` as a subdomain
/// at a provider that cannot forward the bare root itself.
pub fn applies(integration: &Integration, provider: Option<&Provider>) -> bool {
    integration.kind == IntegrationKind::Subdomain
        && provider.is_some_and(|p| p.forward_help.is_none())
        && integration.served_host.as_str() == format!("{LABEL}.{}", integration.root.as_str())
}

/// What was found, for the table of the workaround.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// `pages.<root>` points at the platform.
    pub pages_points: bool,
    /// Its certificate is active (or not managed).
    pub certificate_ready: bool,
    /// `http://<root>` forwards to `https://pages.<root>`.
    pub root_http_forwards: bool,
    /// `https://<root>` does too.
    pub root_https_forwards: bool,
    /// `http://www.<root>` reaches `pages.<root>` (directly, or through the
    /// root's forward: GoDaddy's default `www` → `@`).
    pub www_http_reaches: bool,
    /// `https://www.<root>` does.
    pub www_https_reaches: bool,
    /// The root's TLD is HSTS-preloaded: browsers never use plain HTTP there.
    pub hsts_tld: bool,
}

impl Reach {
    /// What the recommended setup gives: the forward in place (plain HTTP,
    /// as registrars' forwarding is), `www` following the root's forward,
    /// `pages` connected.
    pub fn recommended(hsts_tld: bool) -> Reach {
        Reach {
            pages_points: true,
            certificate_ready: true,
            root_http_forwards: true,
            root_https_forwards: false,
            www_http_reaches: true,
            www_https_reaches: false,
            hsts_tld,
        }
    }
}

/// The six ways of typing the root's address, for the workaround.
pub fn table(root: &str, found: &Reach) -> Vec<UrlForm> {
    let pages = format!("{LABEL}.{root}");
    let www = format!("www.{root}");
    let pages_state = if !found.pages_points {
        (
            Works::No,
            format!("{pages} does not point at the platform yet"),
        )
    } else if !found.certificate_ready {
        (
            Works::Soon,
            "works once the certificate is issued".to_string(),
        )
    } else {
        (Works::Yes, format!("forwarded to https://{pages}"))
    };
    let via = |reaches: bool, missing: String| {
        if reaches {
            pages_state.clone()
        } else {
            (Works::No, missing)
        }
    };
    let plain = |reaches: bool, missing: String| {
        if found.hsts_tld {
            (
                Works::No,
                "browsers only ever use https:// on this top-level domain (HSTS preload)"
                    .to_string(),
            )
        } else {
            via(reaches, missing)
        }
    };
    let https_root = via(
        found.root_https_forwards,
        format!("nothing forwards https://{root} with a valid certificate: registrar forwarding is plain HTTP"),
    );
    let http_root = plain(
        found.root_http_forwards,
        format!("http://{root} does not forward to https://{pages}"),
    );
    let https_www = via(
        found.www_https_reaches,
        format!("nothing forwards https://{www} with a valid certificate"),
    );
    let http_www = plain(
        found.www_http_reaches,
        format!("http://{www} does not reach {pages}"),
    );
    let row = |url: String, (works, why): (Works, String)| UrlForm { url, works, why };
    vec![
        row(format!("https://{root}"), https_root),
        row(format!("http://{root}"), http_root.clone()),
        row(root.to_string(), http_root),
        row(format!("https://{www}"), https_www),
        row(format!("http://{www}"), http_www.clone()),
        row(www, http_www),
    ]
}

/// Advice for a root at `provider` (which cannot forward the bare root):
/// the workaround's steps, and which addresses will work then — read off
/// [`table`] for the recommended setup.
pub fn advice(provider: &Provider, root: &str, target: &str, hsts_tld: bool) -> String {
    let rows = table(root, &Reach::recommended(hsts_tld));
    let list = |works: bool| {
        rows.iter()
            .filter(|r| (r.works == Works::Yes) == works)
            .map(|r| r.url.clone())
            .collect::<Vec<_>>()
    };
    let (working, not) = (list(true), list(false));
    let pages = format!("{LABEL}.{root}");
    let name = provider.name;
    let forwarding = if provider.is_godaddy() {
        format!("in GoDaddy's Forwarding forward {root} to https://{pages} (Permanent 301, Forward only)")
    } else {
        format!("forward {root} to https://{pages} (Permanent 301) with whatever forwarding service you use")
    };
    let mut text = format!(
        "{name} cannot forward the bare {root} to www while www is a CNAME. Reliable path: \
         add `{pages}` here as a subdomain instead, create CNAME `{LABEL}` → `{target}` in \
         {name}'s DNS, and {forwarding}. Then https://{pages}"
    );
    for url in &working {
        text.push_str(", ");
        text.push_str(url);
    }
    text.push_str(" work");
    if !not.is_empty() {
        text.push_str(&format!(
            "; {} will not, because the forward is plain HTTP with no certificate",
            not.join(", ")
        ));
        if hsts_tld {
            text.push_str(" and browsers never use plain HTTP on this top-level domain");
        }
    }
    text.push('.');
    text
}

#[cfg(test)]
mod tests {
    use portico_shared::PlatformDomain;

    use super::*;
    use crate::verify::provider::identify;

    fn godaddy() -> &'static Provider {
        identify(&["ns41.domaincontrol.com".to_string()]).unwrap()
    }

    #[test]
    fn the_advice_names_exactly_what_the_table_says_works() {
        for (root, hsts) in [("example.com", false), ("example.app", true)] {
            let text = advice(godaddy(), root, "katie.portico.test", hsts);
            for row in table(root, &Reach::recommended(hsts)) {
                let claimed_working = text
                    .split(" work")
                    .next()
                    .unwrap()
                    .split(", ")
                    .any(|u| u.ends_with(&row.url) && !u.ends_with(&format!(".{}", row.url)));
                assert_eq!(
                    claimed_working,
                    row.works == Works::Yes,
                    "{root}: {} is {:?} in the table; advice: {text}",
                    row.url,
                    row.works
                );
            }
        }
        let text = advice(godaddy(), "example.com", "katie.portico.test", false);
        assert!(text.contains("Then https://pages.example.com, http://example.com, example.com, http://www.example.com, www.example.com work; https://example.com, https://www.example.com will not"), "{text}");
        let hsts = advice(godaddy(), "example.app", "katie.portico.test", true);
        assert!(
            hsts.contains("Then https://pages.example.app work;"),
            "{hsts}"
        );
    }

    #[test]
    fn only_pages_under_the_root_at_a_provider_that_cannot_forward() {
        let platform = PlatformDomain::parse("portico.test").unwrap();
        let classify = |host: &str| Integration::classify(host, &platform).unwrap();
        let cloudflare = identify(&["amy.ns.cloudflare.com".to_string()]);
        assert!(applies(&classify("pages.example.com"), Some(godaddy())));
        assert!(!applies(&classify("pages.example.com"), cloudflare));
        assert!(!applies(&classify("pages.example.com"), None));
        assert!(!applies(&classify("sales.example.com"), Some(godaddy())));
        assert!(!applies(&classify("example.com"), Some(godaddy())));
        assert!(!applies(
            &classify("pages.shop.example.com"),
            Some(godaddy())
        ));
    }

    #[test]
    fn nothing_forwarded_yet_says_so_row_by_row() {
        let rows = table(
            "example.com",
            &Reach {
                root_http_forwards: false,
                www_http_reaches: false,
                ..Reach::recommended(false)
            },
        );
        assert!(rows.iter().all(|r| r.works == Works::No), "{rows:#?}");
        assert!(rows[1]
            .why
            .contains("does not forward to https://pages.example.com"));
    }
}
