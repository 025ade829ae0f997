//! The `current_site` check: say what will stop working before it does.
//! A hostname that serves a site today (hosted elsewhere, or a parking page)
//! serves the customer's pages once its CNAME points here; a root's bare
//! domain that serves a site stops serving it once it forwards to `www`.
//! The reference documentation only warns that such a site "might cease to
//! work"; this names the address, what answered and from where, and the
//! path that switches without downtime (ownership by TXT, then the
//! certificate, then the CNAME).

use portico_shared::ownership::{txt_value, ChallengeLabel};
use portico_shared::{Integration, IntegrationKind};

use super::cdn::CdnRanges;
use super::observe::http::Probe;
use super::observe::{AddressProbe, ForwardSeen, SiteSeen};
use super::report::{Check, CheckName, CheckState, Who};

/// One address of one name that answers today, in words: `HTTP 200 over
/// HTTPS from 203.0.113.7 (Cloudflare)`; `None` when it does not serve a
/// site (no answer, or an error status).
fn serving(probe: &AddressProbe, cdn: &CdnRanges) -> Option<String> {
    let (status, scheme) = [(&probe.https, "HTTPS"), (&probe.http, "HTTP")]
        .into_iter()
        .find_map(|(answer, scheme)| match answer {
            Probe::Answered { status, .. } if *status < 400 => Some((*status, scheme)),
            _ => None,
        })?;
    let from = match cdn.provider_of(probe.ip) {
        Some(provider) => format!("{} ({provider})", probe.ip),
        None => probe.ip.to_string(),
    };
    Some(format!("HTTP {status} over {scheme} from {from}"))
}

/// A bare root's own site: a 2xx over either scheme (a redirect is a
/// forward already, nothing to lose).
fn root_serving(probe: &AddressProbe, cdn: &CdnRanges) -> Option<String> {
    let content = |answer: &Probe| matches!(answer, Probe::Answered { status, .. } if (200..300).contains(status));
    if content(&probe.https) || content(&probe.http) {
        serving(probe, cdn)
    } else {
        None
    }
}

/// The TXT proof to create first, when the subject has a token.
pub struct ProofHint<'a> {
    pub label: &'a ChallengeLabel,
    pub token: &'a str,
}

/// The check, or `None` when nothing was observed (the host points here
/// already, has no records, or only ownership was observed).
pub fn check(
    integration: &Integration,
    site: Option<&SiteSeen>,
    forward: Option<&ForwardSeen>,
    target: &str,
    proof: Option<ProofHint<'_>>,
    cdn: &CdnRanges,
) -> Option<Check> {
    let host = integration.served_host.to_unicode();
    let root = integration.root.to_unicode();
    let mut found = Vec::new();
    let mut causes = Vec::new();
    if let Some(site) = site {
        if let Some(how) = site.probe.as_ref().and_then(|p| serving(p, cdn)) {
            let via = site
                .via
                .as_ref()
                .map(|t| {
                    format!(
                        ", through its CNAME to {}",
                        t.to_utf8().trim_end_matches('.')
                    )
                })
                .unwrap_or_default();
            found.push(format!("{host} serves a site today ({how}{via})"));
            causes.push(format!(
                "once the CNAME of {host} points at {target}, {host} serves your pages from this platform: the site it serves today stops being reachable at this address"
            ));
        }
    }
    if integration.kind == IntegrationKind::Root {
        if let Some(how) = forward
            .into_iter()
            .flat_map(|f| f.probes.iter())
            .find_map(|p| root_serving(p, cdn))
        {
            found.push(format!("{root} serves a site today ({how})"));
            causes.push(if integration.apex.by_address() {
                format!("once {root} points only at the platform's addresses, the site {root} serves today is no longer reachable there")
            } else {
                format!("once {root} forwards to https://{host}, the site {root} serves today is no longer reachable there")
            });
        }
    }
    if found.is_empty() {
        let site = site?;
        let what = match (&site.probe, site.addresses.is_empty()) {
            (_, true) => "has no address".to_string(),
            (Some(_), false) => "answers with no site (an error or no answer)".to_string(),
            (None, false) => "has only addresses the verifier does not ask".to_string(),
        };
        return Some(Check::pass(
            CheckName::CurrentSite,
            format!("{host} {what} today: nothing stops working when it points here"),
        ));
    }
    let fix = match proof {
        Some(ProofHint { label, token }) => format!(
            "To switch without downtime: keep the site up and first create TXT `{}` = `{}` (it proves the name is yours without moving it); the certificate is then issued before the switch (create the records it asks for), and changing the CNAME is the last step. If that site must stay where it is, connect another name instead (for example `pages.{root}`).",
            label.name_for(&integration.served_host),
            txt_value(token)
        ),
        None => format!(
            "Move that site first, or connect another name instead (for example `pages.{root}`). With an account, a TXT ownership proof gets the certificate ready before the switch."
        ),
    };
    Some(Check::problem(
        CheckName::CurrentSite,
        CheckState::Warn,
        found.join("; "),
        causes.join("; "),
        fix,
        Who::CustomerDns,
    ))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use portico_shared::{Hostname, PlatformDomain};

    use super::*;
    use crate::verify::dns::name_of;

    fn answered(status: u16) -> Probe {
        Probe::Answered {
            status,
            location: None,
            body: String::new(),
        }
    }

    fn probe(ip: &str, https: Probe, http: Probe) -> AddressProbe {
        AddressProbe {
            ip: ip.parse::<IpAddr>().unwrap(),
            http,
            https,
        }
    }

    fn integration(host: &str) -> Integration {
        Integration::classify(host, &PlatformDomain::parse("portico.test").unwrap()).unwrap()
    }

    const TARGET: &str = "katie.portico.test";

    #[test]
    fn a_live_site_is_named_with_what_answered_and_the_way_to_switch_without_downtime() {
        let sales = integration("sales.example.com");
        let site = SiteSeen {
            via: Some(name_of("shops.example.net")),
            addresses: vec!["203.0.113.7".parse().unwrap()],
            probe: Some(probe(
                "203.0.113.7",
                answered(200),
                Probe::Unreachable("refused".into()),
            )),
        };
        let label = ChallengeLabel::default();
        let check = check(
            &sales,
            Some(&site),
            None,
            TARGET,
            Some(ProofHint {
                label: &label,
                token: "t0k",
            }),
            &CdnRanges::built_in(),
        )
        .unwrap();
        assert_eq!(check.state, CheckState::Warn);
        assert_eq!(
            check.found,
            "sales.example.com serves a site today (HTTP 200 over HTTPS from 203.0.113.7, through its CNAME to shops.example.net)"
        );
        assert!(
            check
                .cause
                .as_deref()
                .unwrap()
                .contains("stops being reachable"),
            "{check:?}"
        );
        let fix = check.fix.unwrap();
        assert!(
            fix.contains(&label.name_for(&sales.served_host)) && fix.contains(&txt_value("t0k")),
            "{fix}"
        );
        assert_eq!(check.who, Some(Who::CustomerDns));
    }

    #[test]
    fn errors_no_answer_and_no_address_lose_nothing() {
        let sales = integration("sales.example.com");
        for site in [
            SiteSeen {
                via: None,
                addresses: vec!["203.0.113.7".parse().unwrap()],
                probe: Some(probe("203.0.113.7", answered(404), answered(503))),
            },
            SiteSeen {
                via: None,
                addresses: vec!["203.0.113.7".parse().unwrap()],
                probe: Some(probe(
                    "203.0.113.7",
                    Probe::Unreachable("timed out".into()),
                    Probe::Unreachable("refused".into()),
                )),
            },
            SiteSeen {
                via: Some(name_of("gone.example.net")),
                addresses: Vec::new(),
                probe: None,
            },
        ] {
            let check = check(
                &sales,
                Some(&site),
                None,
                TARGET,
                None,
                &CdnRanges::built_in(),
            )
            .unwrap();
            assert_eq!(check.state, CheckState::Pass, "{site:?}");
        }
        assert_eq!(
            check(&sales, None, None, TARGET, None, &CdnRanges::built_in()),
            None
        );
    }

    #[test]
    fn a_root_names_the_bare_domain_it_will_forward_and_a_unicode_host() {
        let root = integration("www.bücher.com");
        assert_eq!(root.root, Hostname::parse("xn--bcher-kva.com").unwrap());
        let forward = ForwardSeen {
            addresses: vec!["198.51.100.2".parse().unwrap()],
            probes: vec![
                // Already a forward: nothing lost.
                probe("198.51.100.1", answered(301), answered(301)),
                probe("104.16.0.1", answered(200), answered(301)),
            ],
            www: None,
            www_forward: None,
            http_port: 80,
        };
        let check = check(
            &root,
            None,
            Some(&forward),
            TARGET,
            None,
            &CdnRanges::built_in(),
        )
        .unwrap();
        assert_eq!(check.state, CheckState::Warn);
        assert_eq!(
            check.found,
            "bücher.com serves a site today (HTTP 200 over HTTPS from 104.16.0.1 (Cloudflare))"
        );
        assert!(check
            .cause
            .unwrap()
            .contains("once bücher.com forwards to https://www.bücher.com"),);
        assert!(check.fix.unwrap().contains("`pages.bücher.com`"));
    }
}
