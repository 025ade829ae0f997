//! CAA (RFC 8659): the first CAA record set found climbing from the served
//! host to its root decides which certificate authorities may issue for
//! it. If it has `issue` records and none names an authority the
//! certificate provider issues from (`certs::authorities`), no certificate
//! can be issued: one naming only an authority the provider no longer uses
//! (DigiCert) is diagnosed like any other, and says so.

use hickory_proto::rr::{Name, RData};

use super::dns::{display_text, fqdn_text, Answer};
use super::observe::CaaSeen;
use super::report::{Check, CheckName, CheckState, Who};
use crate::certs::authorities::{self, Authority};

/// The domain of a CAA `issue` value, lower case: `None` for `;` (no CA).
/// Parameters (`; accounturi=…`) are ignored.
pub fn issue_domain(value: &str) -> Option<String> {
    let domain = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (!domain.is_empty()).then_some(domain)
}

/// The CAA records of one set: as shown, and the domains of its `issue` values.
#[derive(Debug, Clone, Default)]
pub struct CaaSet {
    pub shown: Vec<String>,
    pub issue: Vec<Option<String>>,
}

fn caa_set(answer: &Answer) -> (CaaSet, Option<Name>) {
    let mut set = CaaSet::default();
    let mut owner = None;
    for record in answer.records() {
        if let RData::CAA(caa) = &record.data {
            owner.get_or_insert_with(|| record.name.clone());
            set.shown
                .push(format!("{} {}", fqdn_text(&record.name), caa));
            if caa.tag.eq_ignore_ascii_case("issue") {
                set.issue
                    .push(issue_domain(&String::from_utf8_lossy(&caa.value)));
            }
        }
    }
    (set, owner)
}

/// The `caa` check for the set found at `at` (pure). `outside_customer`:
/// `at` is above the customer's root (the platform must act).
pub fn judge(
    set: &CaaSet,
    at: &str,
    host: &str,
    outside_customer: bool,
    allowed: &[Authority],
) -> Check {
    if set.issue.is_empty() {
        return Check::pass(
            CheckName::Caa,
            format!("{} (no `issue` restriction)", set.shown.join("; ")),
        );
    }
    let permitted = set
        .issue
        .iter()
        .flatten()
        .any(|domain| allowed.iter().any(|a| a.caa.eq_ignore_ascii_case(domain)));
    if permitted {
        return Check::pass(CheckName::Caa, set.shown.join("; "));
    }
    let named: Vec<String> = set
        .issue
        .iter()
        .map(
            |d| match d.as_deref().map(|d| (d, authorities::retired(d))) {
                None => "no authority at all".to_string(),
                Some((d, Some((_, why)))) => format!("{d} ({why})"),
                Some((d, None)) => d.to_string(),
            },
        )
        .collect();
    let records: Vec<String> = allowed
        .iter()
        .map(|a| format!("`CAA 0 issue \"{}\"`", a.caa))
        .collect();
    Check::problem(
        CheckName::Caa,
        CheckState::Fail,
        set.shown.join("; "),
        format!(
            "the CAA records at {at} allow only {}: the certificate authorities the platform uses ({}) may not issue a certificate for {host}",
            named.join(", "),
            allowed
                .iter()
                .map(|a| format!("{}, {}", a.name, a.caa))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        format!(
            "Add {} at {at} (keep your existing ones), or remove the CAA records there.",
            records.join(" and ")
        ),
        if outside_customer {
            Who::Platform
        } else {
            Who::CustomerDns
        },
    )
}

/// The `caa` check over the set found from `host` up to `root` (pure).
pub fn check(seen: &CaaSeen, host: &Name, root: &Name, allowed: &[Authority]) -> Check {
    match seen {
        CaaSeen::Unreadable { at, why } => Check::pending(
            CheckName::Caa,
            format!("could not read CAA at {}: {why}", fqdn_text(at)),
            "certificate authorities refuse to issue while CAA cannot be read; the next check asks again",
        ),
        CaaSeen::Found { at: name, answer } => {
            let (set, owner) = caa_set(answer);
            let at = owner
                .map(|o| fqdn_text(&o))
                .unwrap_or_else(|| fqdn_text(name));
            let outside_customer = !root.zone_of(&super::dns::name_of(&at));
            judge(&set, &at, &display_text(host), outside_customer, allowed)
        }
        CaaSeen::Nothing => Check::pass(
            CheckName::Caa,
            format!(
                "no CAA records from {} up to {}: any certificate authority may issue",
                display_text(host),
                display_text(root)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::authorities::CLOUDFLARE_FOR_SAAS;

    fn set(values: &[&str]) -> CaaSet {
        CaaSet {
            shown: values
                .iter()
                .map(|v| format!("example.com. 0 issue \"{v}\""))
                .collect(),
            issue: values.iter().map(|v| issue_domain(v)).collect(),
        }
    }

    #[test]
    fn caa_is_judged_against_the_providers_authorities() {
        let cases: &[(&[&str], CheckState)] = &[
            (&["digicert.com"], CheckState::Fail),
            (&["letsencrypt.org"], CheckState::Pass),
            (
                &["LetsEncrypt.org; accounturi=https://acme/1"],
                CheckState::Pass,
            ),
            (&["pki.goog"], CheckState::Pass),
            (&["ssl.com"], CheckState::Pass),
            (&["digicert.com", "pki.goog"], CheckState::Pass),
            (&["sectigo.com"], CheckState::Fail),
            (&["comodoca.com", "digicert.com"], CheckState::Fail),
            (&[";"], CheckState::Fail),
            (&[], CheckState::Pass),
        ];
        for (values, want) in cases {
            let got = judge(
                &set(values),
                "example.com",
                "www.example.com",
                false,
                CLOUDFLARE_FOR_SAAS,
            );
            assert_eq!(got.state, *want, "{values:?}: {got:?}");
        }
    }

    #[test]
    fn a_retired_authority_is_named_and_the_fix_lists_the_providers() {
        let got = judge(
            &set(&["digicert.com"]),
            "example.com",
            "www.example.com",
            false,
            CLOUDFLARE_FOR_SAAS,
        );
        let cause = got.cause.clone().unwrap();
        assert!(
            cause.contains("digicert.com (Cloudflare stopped"),
            "{cause}"
        );
        let fix = got.fix.clone().unwrap();
        let named: Vec<&str> = fix
            .match_indices("issue \"")
            .map(|(i, m)| {
                let rest = &fix[i + m.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect();
        let want: Vec<&str> = CLOUDFLARE_FOR_SAAS.iter().map(|a| a.caa).collect();
        assert_eq!(named, want, "{fix}");
        assert_eq!(got.who, Some(Who::CustomerDns));
        let above = judge(
            &set(&[";"]),
            "com",
            "www.example.com",
            true,
            CLOUDFLARE_FOR_SAAS,
        );
        assert_eq!(above.who, Some(Who::Platform));
    }
}
