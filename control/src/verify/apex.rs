//! The rules for a root whose bare domain (the apex) points at the
//! platform's addresses instead of being forwarded by the registrar: every
//! A and AAAA record of the apex must be one of the platform's
//! (`apex_addresses`). An ALIAS/ANAME record or CNAME flattening at the
//! apex resolves to the platform's addresses too, so it passes the same
//! way. An address that is not the platform's is diagnosed like a wrong
//! CNAME: named, with the record to delete. The addresses are observed
//! with the root's (`observe::ForwardSeen::addresses`); this only judges.

use std::net::IpAddr;

use portico_shared::apex::record_type;
use portico_shared::{ApexAddresses, MainAddress};

use super::cdn::CdnRanges;
use super::report::{Check, CheckName, CheckState, UrlForm, Who, Works};

/// The records to create, in words: "A `@` → `192.0.2.10`, AAAA `@` → `2001:db8::10`".
pub fn records_text(offered: &ApexAddresses) -> String {
    offered
        .as_slice()
        .iter()
        .map(|ip| format!("{} `@` → `{ip}`", record_type(ip)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the customer points the apex: the records, or flattening.
fn create_fix(root: &str, offered: &ApexAddresses, target: &str) -> String {
    format!(
        "At your DNS provider, create {} (host `@`, the bare {root}); or, where your provider offers it, an ALIAS or ANAME record (or CNAME flattening at the apex) `@` → `{target}`, which resolves to the same addresses.",
        records_text(offered)
    )
}

/// Judges the apex's addresses: `found` as observed (`None`: not observed,
/// no nameserver answered); `offered`, the platform's; `target`,
/// `<username>.<platform domain>` for flattening.
pub fn check(
    found: Option<&[IpAddr]>,
    root: &str,
    offered: &ApexAddresses,
    target: &str,
    cdn: &CdnRanges,
) -> Check {
    if offered.is_empty() {
        return Check::problem(
            CheckName::ApexAddresses,
            CheckState::Fail,
            format!("{root} is set up to point at the platform's addresses, but the platform lists none"),
            "the platform no longer offers pointing the bare domain at its addresses (its apex_addresses setting is empty)",
            format!("Nothing to change in your DNS yet: the platform's operators must set its addresses again. Meanwhile, switch the bare domain back to the registrar forward (setup `forward`) and forward {root} to https://www.{root}."),
            Who::Platform,
        );
    }
    let Some(found) = found else {
        return Check::pending(
            CheckName::ApexAddresses,
            format!("the addresses of {root} could not be read"),
            "a timeout or SERVFAIL changes nothing: the next check asks again",
        );
    };
    if found.is_empty() {
        return Check::problem(
            CheckName::ApexAddresses,
            CheckState::Fail,
            format!("{root} has no A or AAAA records"),
            format!(
                "no A record at the apex yet: nothing sends visitors of {root} to the platform"
            ),
            create_fix(root, offered, target),
            Who::CustomerDns,
        );
    }
    let foreign: Vec<IpAddr> = found
        .iter()
        .copied()
        .filter(|ip| !offered.contains(ip))
        .collect();
    if foreign.is_empty() {
        let listed = found
            .iter()
            .map(|ip| format!("{} {ip}", record_type(ip)))
            .collect::<Vec<_>>()
            .join(", ");
        return Check::pass(
            CheckName::ApexAddresses,
            format!("{root} → {listed}: the platform's addresses"),
        );
    }
    let found_text = foreign
        .iter()
        .map(|ip| format!("{root} {} {ip}", record_type(ip)))
        .collect::<Vec<_>>()
        .join(", ");
    let whose = foreign
        .iter()
        .map(|ip| match cdn.provider_of(*ip) {
            Some(provider) => format!(
                "{ip} is {provider}'s: a proxy of your own in front of {root} hides the platform (set the record to DNS only, or delete it)"
            ),
            None => format!("{ip} is not the platform's (a previous host or a parking page?)"),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let delete = foreign
        .iter()
        .map(|ip| {
            format!(
                "Delete the {} record of `@` ({root}) → `{ip}`.",
                record_type(ip)
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let missing: Vec<&IpAddr> = offered
        .as_slice()
        .iter()
        .filter(|ip| !found.contains(*ip))
        .collect();
    let create = if missing.is_empty() {
        String::new()
    } else {
        format!(
            " Then create {}.",
            missing
                .iter()
                .map(|ip| format!("{} `@` → `{ip}`", record_type(ip)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Check::problem(
        CheckName::ApexAddresses,
        CheckState::Fail,
        format!(
            "{found_text} instead of the platform's {}",
            offered
                .as_slice()
                .iter()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("{whose}: visitors given it never reach your pages, and the certificate for {root} cannot be issued while it answers"),
        format!("{delete}{create}"),
        Who::CustomerDns,
    )
}

/// What was found, for the six-address table of a root by address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// `www` points at the platform.
    pub www_points: bool,
    /// The apex's addresses are all the platform's.
    pub apex_points: bool,
    /// Both names' certificates are active (or not managed).
    pub certificate_ready: bool,
    pub main: MainAddress,
}

/// The six ways of typing a root's address when its apex points at the
/// platform: the platform answers every one itself, over HTTPS too.
pub fn url_table(root: &str, found: &Reach) -> Vec<UrlForm> {
    let www = format!("www.{root}");
    let (main_name, other_name, main_points, other_points) = match found.main {
        MainAddress::Www => (
            www.clone(),
            root.to_string(),
            found.www_points,
            found.apex_points,
        ),
        MainAddress::Apex => (
            root.to_string(),
            www.clone(),
            found.apex_points,
            found.www_points,
        ),
    };
    let state = |points: bool, name: &str, served: String| {
        if !points {
            (
                Works::No,
                format!("{name} does not point at the platform yet"),
            )
        } else if !found.certificate_ready {
            (
                Works::Soon,
                "works once the certificate is issued".to_string(),
            )
        } else {
            (Works::Yes, served)
        }
    };
    let main_state = state(main_points, &main_name, "served by the platform".into());
    let other_state = if main_state.0 == Works::No {
        (
            Works::No,
            format!("redirects to https://{main_name}, which {}", main_state.1),
        )
    } else {
        let (works, why) = state(
            other_points,
            &other_name,
            format!("the platform redirects it to https://{main_name}"),
        );
        // Reached only once the main address works too.
        (
            if works == Works::Yes {
                main_state.0
            } else {
                works
            },
            why,
        )
    };
    let (root_state, www_state) = match found.main {
        MainAddress::Www => (other_state, main_state),
        MainAddress::Apex => (main_state, other_state),
    };
    let row = |url: String, (works, why): &(Works, String)| UrlForm {
        url,
        works: *works,
        why: why.clone(),
    };
    vec![
        row(format!("https://{root}"), &root_state),
        row(format!("http://{root}"), &root_state),
        row(root.to_string(), &root_state),
        row(format!("https://{www}"), &www_state),
        row(format!("http://{www}"), &www_state),
        row(www, &www_state),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered() -> ApexAddresses {
        ApexAddresses::parse("203.0.113.10, 2001:db8::10").unwrap()
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    #[test]
    fn every_address_at_the_apex_must_be_the_platforms() {
        let cdn = CdnRanges::built_in();
        let target = "katie.portico.test";
        /// What, found, state, who, words.
        type Row = (
            &'static str,
            Option<Vec<IpAddr>>,
            CheckState,
            Option<Who>,
            &'static [&'static str],
        );
        let rows: Vec<Row> = vec![
            (
                "both of the platform's",
                Some(ips(&["203.0.113.10", "2001:db8::10"])),
                CheckState::Pass,
                None,
                &["A 203.0.113.10", "AAAA 2001:db8::10", "the platform's"],
            ),
            (
                "flattening shows as the platform's IPv4 only",
                Some(ips(&["203.0.113.10"])),
                CheckState::Pass,
                None,
                &["A 203.0.113.10"],
            ),
            (
                "nothing at the apex",
                Some(Vec::new()),
                CheckState::Fail,
                Some(Who::CustomerDns),
                &[
                    "no A record at the apex yet",
                    "A `@` → `203.0.113.10`, AAAA `@` → `2001:db8::10`",
                    "ALIAS or ANAME",
                    "`@` → `katie.portico.test`",
                ],
            ),
            (
                "a previous host beside the platform's",
                Some(ips(&["203.0.113.10", "192.0.2.7"])),
                CheckState::Fail,
                Some(Who::CustomerDns),
                &[
                    "example.com A 192.0.2.7 instead of the platform's 203.0.113.10, 2001:db8::10",
                    "192.0.2.7 is not the platform's",
                    "Delete the A record of `@` (example.com) → `192.0.2.7`.",
                    "Then create AAAA `@` → `2001:db8::10`.",
                ],
            ),
            (
                "someone else's IPv6",
                Some(ips(&["203.0.113.10", "2001:db8::10", "2001:db8::99"])),
                CheckState::Fail,
                Some(Who::CustomerDns),
                &["Delete the AAAA record of `@` (example.com) → `2001:db8::99`."],
            ),
            (
                "the customer's own Cloudflare proxy",
                Some(ips(&["104.16.1.1"])),
                CheckState::Fail,
                Some(Who::CustomerDns),
                &["Cloudflare", "DNS only"],
            ),
            (
                "not readable",
                None,
                CheckState::Pending,
                None,
                &["could not be read"],
            ),
        ];
        for (what, found, state, who, words) in rows {
            let got = check(found.as_deref(), "example.com", &offered(), target, &cdn);
            assert_eq!(got.state, state, "{what}: {got:#?}");
            assert_eq!(got.who, who, "{what}");
            let said = format!(
                "{} {} {}",
                got.found,
                got.cause.clone().unwrap_or_default(),
                got.fix.clone().unwrap_or_default()
            );
            for word in words {
                assert!(said.contains(word), "{what}: `{word}` not in {said}");
            }
        }
        let none = check(
            Some(&ips(&["203.0.113.10"])),
            "example.com",
            &ApexAddresses::default(),
            target,
            &cdn,
        );
        assert_eq!(none.who, Some(Who::Platform));
    }

    #[test]
    fn the_six_addresses_of_a_root_by_address() {
        let works = |found: Reach| -> Vec<Works> {
            url_table("example.com", &found)
                .iter()
                .map(|r| r.works)
                .collect()
        };
        let all = Reach {
            www_points: true,
            apex_points: true,
            certificate_ready: true,
            main: MainAddress::Www,
        };
        assert_eq!(works(all), [Works::Yes; 6]);
        assert_eq!(
            works(Reach {
                apex_points: false,
                ..all
            }),
            [
                Works::No,
                Works::No,
                Works::No,
                Works::Yes,
                Works::Yes,
                Works::Yes
            ]
        );
        let at_apex = Reach {
            main: MainAddress::Apex,
            www_points: false,
            ..all
        };
        assert_eq!(
            works(at_apex),
            [
                Works::Yes,
                Works::Yes,
                Works::Yes,
                Works::No,
                Works::No,
                Works::No
            ]
        );
        assert_eq!(
            works(Reach {
                certificate_ready: false,
                ..all
            }),
            [Works::Soon; 6]
        );
        let rows = url_table("example.com", &all);
        assert!(rows[0]
            .why
            .contains("redirects it to https://www.example.com"));
    }
}
