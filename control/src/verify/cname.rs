//! The rules for the CNAME at the served host, over what every
//! authoritative nameserver of the zone said when asked directly (so a
//! record counts seconds after it is created) and what the recursive
//! resolvers see (propagation). Three checks come out: `nameservers` (the
//! delegation holds, they answer, and agree: `super::nameservers`), `cname`
//! (the record and what is wrong with it) and `propagation`. Pure: the
//! answers come from `super::observe`.

use std::net::IpAddr;

use hickory_proto::rr::{Name, RecordType};
use portico_shared::lifecycle::Finding;
use portico_shared::IntegrationKind;

use super::cdn::CdnRanges;
use super::dns::{fqdn_text, Answer};
use super::observe::{HostSeen, NameserverSeen, Observations};
use super::provider::{previous_host, Provider};
use super::report::{Check, CheckName, CheckState, Who};

/// What the CNAME must be, and whose it is.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub served_host: Name,
    pub root: Name,
    pub kind: IntegrationKind,
    pub platform: Name,
    /// `None` (doctor without `--username`): any `<username>.<platform>` counts.
    pub username: Option<String>,
}

impl Expectation {
    pub fn target(&self) -> Option<Name> {
        let username = self.username.as_ref()?;
        Name::from_ascii(username)
            .ok()?
            .append_domain(&self.platform)
            .ok()
    }

    pub fn target_text(&self) -> String {
        match self.target() {
            Some(target) => fqdn_text(&target),
            None => format!("<your username>.{}", fqdn_text(&self.platform)),
        }
    }

    /// The served host for people (Unicode where internationalized).
    pub fn host_text(&self) -> String {
        super::dns::display_text(&self.served_host)
    }

    /// The served host relative to the zone root, as it is typed into a
    /// DNS record (the ASCII form every provider accepts): `sales`, `www`.
    pub fn relative(&self) -> String {
        let host = fqdn_text(&self.served_host);
        let root = fqdn_text(&self.root);
        host.strip_suffix(&root)
            .and_then(|rest| rest.strip_suffix('.'))
            .unwrap_or(&host)
            .to_string()
    }

    /// True when `target` is where this account's CNAME must point.
    pub fn is_expected(&self, target: &Name) -> bool {
        match self.target() {
            Some(expected) => same(&expected, target),
            None => {
                target.num_labels() == self.platform.num_labels() + 1
                    && self.platform.zone_of(target)
            }
        }
    }
}

fn same(a: &Name, b: &Name) -> bool {
    fqdn_text(a) == fqdn_text(b)
}

/// What one nameserver says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Points at the platform; `beside`: A/AAAA records at the same name.
    Points {
        beside: Vec<IpAddr>,
    },
    Elsewhere(Name),
    NoCname {
        addresses: Vec<IpAddr>,
        nxdomain: bool,
    },
    Failed(String),
}

impl Verdict {
    pub fn key(&self) -> String {
        match self {
            Verdict::Points { beside } if beside.is_empty() => "points at the platform".into(),
            Verdict::Points { beside } => format!(
                "points at the platform, with address records beside it ({})",
                list(beside)
            ),
            Verdict::Elsewhere(target) => format!("CNAME → {}", fqdn_text(target)),
            Verdict::NoCname { addresses, .. } if !addresses.is_empty() => {
                format!("no CNAME; addresses {}", list(addresses))
            }
            Verdict::NoCname { nxdomain: true, .. } => "no such name (NXDOMAIN)".into(),
            Verdict::NoCname { .. } => "no CNAME".into(),
            Verdict::Failed(why) => why.clone(),
        }
    }
}

pub fn list(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What one nameserver's answers about the host come to.
pub fn verdict(host: &HostSeen, want: &Expectation) -> Verdict {
    let name = &want.served_host;
    if let Answer::Failed(why) = &host.cname {
        return Verdict::Failed(why.clone());
    }
    let mut direct: Vec<IpAddr> = Vec::new();
    for answer in [&host.a, &host.aaaa] {
        for record in answer
            .owned_by(name, RecordType::A)
            .into_iter()
            .chain(answer.owned_by(name, RecordType::AAAA))
        {
            if let Some(ip) = Answer::Records(vec![record.clone()]).addresses().first() {
                direct.push(*ip);
            }
        }
    }
    match host.cname.cname_of(name) {
        Some(target) if want.is_expected(&target) => Verdict::Points { beside: direct },
        Some(target) => Verdict::Elsewhere(target),
        None => Verdict::NoCname {
            addresses: direct,
            nxdomain: host.cname == Answer::NxDomain,
        },
    }
}

/// One nameserver's verdict: its answers, or why there are none.
pub fn nameserver_verdict(ns: &NameserverSeen, want: &Expectation) -> Verdict {
    match (&ns.asked, &ns.host) {
        (Err(why), _) => Verdict::Failed(why.clone()),
        (Ok(_), Some(host)) => verdict(host, want),
        (Ok(_), None) => Verdict::Failed(
            ns.authority
                .as_ref()
                .map(super::nameservers::describe)
                .unwrap_or_else(|| "not asked".into()),
        ),
    }
}

/// The outcome of the CNAME checks.
#[derive(Debug, Clone)]
pub struct CnameOutcome {
    pub finding: Finding,
    pub checks: Vec<Check>,
}

/// Levenshtein distance, for "did you mean" on usernames.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

fn create_fix(want: &Expectation, provider: Option<&Provider>) -> String {
    let mut fix = format!(
        "Create a CNAME record: host `{}`, pointing to `{}`.",
        want.relative(),
        want.target_text()
    );
    if let Some(provider) = provider {
        fix.push(' ');
        fix.push_str(provider.cname_help);
    }
    fix
}

/// The CNAME checks over what the zone's nameservers said (`obs.zone`
/// found).
pub fn check(obs: &Observations, provider: Option<&Provider>, cdn: &CdnRanges) -> CnameOutcome {
    let want = &obs.want;
    let host = want.host_text();
    let target = want.target_text();
    let Some(zone) = obs.zone() else {
        return CnameOutcome {
            finding: Finding::Inconclusive,
            checks: Vec::new(),
        };
    };
    let views: Vec<(String, Verdict)> = zone
        .nameservers
        .iter()
        .map(|ns| (ns.name.clone(), nameserver_verdict(ns, want)))
        .collect();
    let answered: Vec<&(String, Verdict)> = views
        .iter()
        .filter(|(_, v)| !matches!(v, Verdict::Failed(_)))
        .collect();
    let mut distinct: Vec<String> = answered.iter().map(|(_, v)| v.key()).collect();
    distinct.sort();
    distinct.dedup();
    let disagree = distinct.len() > 1;
    let mut checks = vec![super::nameservers::check(zone, &host, &views, disagree)];

    // cname: what the first nameserver that answered says.
    let Some((_, verdict)) = answered.first() else {
        checks.push(Check::pending(
            CheckName::Cname,
            "not checked: no nameserver answered",
            "a timeout or SERVFAIL changes nothing: the next check asks again",
        ));
        checks.push(propagation_unknown());
        return CnameOutcome {
            finding: Finding::Inconclusive,
            checks,
        };
    };
    let any_points = answered
        .iter()
        .any(|(_, v)| matches!(v, Verdict::Points { .. }));
    let (cname_check, mut finding) = diagnose(obs, verdict, provider, cdn);
    if disagree {
        finding = if any_points {
            Finding::Mixed
        } else {
            Finding::NotPointing
        };
    }
    checks.push(cname_check);

    // propagation: what the recursive resolvers see.
    let seen = obs
        .resolvers
        .clone()
        .unwrap_or_else(|| Answer::Failed("not asked".into()));
    let seen_target = seen.cname_of(&want.served_host);
    let authoritative_points = matches!(verdict, Verdict::Points { .. });
    let found = format!("resolvers see: {}", seen.describe());
    let propagation = match (&seen, authoritative_points) {
        (Answer::Failed(why), _) if why.contains("SERVFAIL") => Check::problem(
            CheckName::Propagation,
            CheckState::Fail,
            found,
            "resolvers answer SERVFAIL while your nameservers answer: validating resolvers (and certificate authorities) reject your zone, most often because of DNSSEC (see the dnssec check)",
            "Fix DNSSEC for your domain (see the dnssec check); the nameservers themselves are fine.",
            Who::CustomerDns,
        ),
        (Answer::Failed(why), _) => Check::pending(
            CheckName::Propagation,
            found.clone(),
            format!("the resolvers did not answer ({why})"),
        ),
        (_, true) if seen_target.as_ref().is_some_and(|t| want.is_expected(t)) => {
            Check::pass(CheckName::Propagation, format!("resolvers see {host} → {target}"))
        }
        (_, true) => Check::pending(
            CheckName::Propagation,
            found,
            "your nameservers have the record but resolvers still answer from their cache; they catch up within the record's TTL (often minutes, at most a day). The platform asks your nameservers directly, so this does not hold up connecting.",
        ),
        (_, false) => Check::pass(
            CheckName::Propagation,
            format!("{found} (the same as your nameservers)"),
        ),
    };
    checks.push(propagation);
    CnameOutcome { finding, checks }
}

fn propagation_unknown() -> Check {
    Check::pending(
        CheckName::Propagation,
        "not checked",
        "the nameservers did not answer",
    )
}

/// The `cname` check from one nameserver's verdict.
fn diagnose(
    obs: &Observations,
    verdict: &Verdict,
    provider: Option<&Provider>,
    cdn: &CdnRanges,
) -> (Check, Finding) {
    let want = &obs.want;
    let host = want.host_text();
    let target = want.target_text();
    let relative = want.relative();
    match verdict {
        Verdict::Points { beside } if beside.is_empty() => (
            wildcard(obs).unwrap_or_else(|| {
                Check::pass(CheckName::Cname, format!("{host} CNAME → {target}"))
            }),
            Finding::Pointing,
        ),
        Verdict::Points { beside } => {
            let v6 = beside.iter().any(|a| a.is_ipv6());
            (
                Check::problem(
                    CheckName::Cname,
                    CheckState::Fail,
                    format!("{host} CNAME → {target}, and also {}", list(beside)),
                    format!(
                        "{host} has address records beside the CNAME (left over from a parking page or a previous host){}",
                        if v6 { "; certificate authorities try IPv6 first, so a dead AAAA record fails validation" } else { "" }
                    ),
                    format!("Delete the A and AAAA records of `{relative}`; keep only the CNAME."),
                    Who::CustomerDns,
                ),
                Finding::Mixed,
            )
        }
        Verdict::Elsewhere(found) => elsewhere(obs, found, provider),
        Verdict::NoCname {
            addresses,
            nxdomain,
        } => {
            if !addresses.is_empty() {
                if let Some(cdn) = addresses.iter().find_map(|a| cdn.provider_of(*a)) {
                    let fix = if cdn == "Cloudflare" {
                        format!("In Cloudflare's DNS, set the record `{relative}` to DNS only (grey cloud) and make it a CNAME to `{target}`.")
                    } else {
                        format!("Take `{relative}` out of your {cdn} service and make it a plain CNAME to `{target}`.")
                    };
                    return (
                        Check::problem(
                            CheckName::Cname,
                            CheckState::Fail,
                            format!("{host} answers with {cdn} addresses ({}), no CNAME", list(addresses)),
                            format!("{host} is proxied through your own {cdn} account: the proxy hides the CNAME and answers with its own addresses, so the platform cannot see the record or serve the name"),
                            fix,
                            Who::CustomerDns,
                        ),
                        Finding::NotPointing,
                    );
                }
                let v6 = addresses.iter().any(|a| a.is_ipv6());
                return (
                    Check::problem(
                        CheckName::Cname,
                        CheckState::Fail,
                        format!("{host} has address records ({}), no CNAME", list(addresses)),
                        format!(
                            "{host} has A/AAAA records instead of the CNAME: left over from a parking page or a previous host{}",
                            if v6 { "; the AAAA (IPv6) record matters most: certificate authorities try IPv6 first" } else { "" }
                        ),
                        format!(
                            "Delete the A and AAAA records of `{relative}`, then {}",
                            lowercase_first(&create_fix(want, provider))
                        ),
                        Who::CustomerDns,
                    ),
                    Finding::NotPointing,
                );
            }
            if want.kind == IntegrationKind::Root {
                if let Some(at_root) = &obs.root_cname {
                    if let Some(root_target) = at_root.cname_of(&want.root) {
                        let root = fqdn_text(&want.root);
                        return (
                            Check::problem(
                                CheckName::Cname,
                                CheckState::Fail,
                                format!("no CNAME at {host}; {root} (the bare root) CNAME → {}", fqdn_text(&root_target)),
                                format!("the CNAME was created at the bare root ({root}, host `@`) instead of at `www`: a CNAME at the root clashes with the zone's own records and most providers refuse or flatten it"),
                                format!("Delete the CNAME of `@` and create it at host `www` → `{target}`; then forward {root} to https://{host}."),
                                Who::CustomerDns,
                            ),
                            Finding::NotPointing,
                        );
                    }
                }
            }
            let found = if *nxdomain {
                format!("{host} does not exist in your DNS (NXDOMAIN)")
            } else {
                format!("{host} exists but has no CNAME")
            };
            (
                Check::problem(
                    CheckName::Cname,
                    CheckState::Fail,
                    found,
                    format!("there is no CNAME record for {host} yet"),
                    create_fix(want, provider),
                    Who::CustomerDns,
                ),
                Finding::NotPointing,
            )
        }
        Verdict::Failed(why) => (
            Check::pending(
                CheckName::Cname,
                why.clone(),
                "the nameserver did not answer",
            ),
            Finding::Inconclusive,
        ),
    }
}

/// The `cname` check when the host points at the platform and the wildcard
/// beside it (`*.<parent>`) says the same: every name of the zone without a
/// record of its own now reaches the platform.
fn wildcard(obs: &Observations) -> Option<Check> {
    let want = &obs.want;
    let parent = want.served_host.base_name();
    let star = Name::from_ascii("*").ok()?.append_domain(&parent).ok()?;
    let target = obs.wildcard.as_ref()?.cname_of(&star)?;
    if !want.is_expected(&target) {
        return None;
    }
    let host = want.host_text();
    let parent = fqdn_text(&parent);
    let target = fqdn_text(&target);
    Some(Check::problem(
        CheckName::Cname,
        CheckState::Warn,
        format!("{host} CNAME → {target}, through the wildcard `*.{parent}` (no record of {host} of its own that differs)"),
        format!("a wildcard answers for {host}: every name under {parent} without a record of its own (anything a visitor or a typo makes up) now reaches the platform too, and shows its not-found page; a record created later for one of those names, {host} included, silently wins over the wildcard"),
        format!("If only {host} should reach the platform, create the CNAME at host `{}` → `{target}` and delete the `*` record.", want.relative()),
        Who::CustomerDns,
    ))
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn elsewhere(obs: &Observations, found: &Name, provider: Option<&Provider>) -> (Check, Finding) {
    let want = &obs.want;
    let host = want.host_text();
    let target = want.target_text();
    let relative = want.relative();
    let found_text = fqdn_text(found);
    let fix_to = format!("Change the CNAME of `{relative}` to point to `{target}`.");
    let wrong = |cause: String, fix: String| {
        (
            Check::problem(
                CheckName::Cname,
                CheckState::Fail,
                format!("{host} CNAME → {found_text}"),
                cause,
                fix,
                Who::CustomerDns,
            ),
            Finding::NotPointing,
        )
    };
    // The provider appended the zone to a target typed without a final dot.
    if let Some(expected) = want.target() {
        let root = fqdn_text(&want.root);
        if found_text == format!("{}.{root}", fqdn_text(&expected)) {
            return wrong(
                format!("your DNS provider appended {root} to the target: it reads `{found_text}`"),
                format!("Enter the target with a final dot, `{target}.`, so the provider takes it as a full name."),
            );
        }
    }
    // Another username on the platform: a typo, or someone else's account.
    if want.platform.zone_of(found) && found.num_labels() == want.platform.num_labels() + 1 {
        let label = found_text.split('.').next().unwrap_or_default().to_string();
        if let Some(username) = &want.username {
            if edit_distance(&label, username) <= 2 {
                return wrong(
                    format!("a typo in the username: the CNAME names `{label}`, your username is `{username}`"),
                    fix_to,
                );
            }
            return wrong(
                format!("the CNAME names another account (`{label}`): only the account whose username the CNAME names can connect {host}"),
                format!("{fix_to} If {host} belongs to the account `{label}`, connect it from that account instead."),
            );
        }
    }
    // A chain that ends at the platform works, but breaks if a link changes.
    let mut chain = vec![found_text.clone()];
    for next in &obs.chain {
        chain.push(fqdn_text(next));
        if want.is_expected(next) {
            return (
                Check::problem(
                    CheckName::Cname,
                    CheckState::Warn,
                    format!("{host} CNAME → {}", chain.join(" → ")),
                    format!("{host} reaches {target} through a chain of CNAMEs: it works, but breaks if any link changes, and some certificate authorities limit chains"),
                    fix_to.clone(),
                    Who::CustomerDns,
                ),
                Finding::Pointing,
            );
        }
    }
    if let Some(previous) = previous_host(&found_text) {
        return wrong(
            format!("{host} still points at {previous} (`{found_text}`), a previous host"),
            format!(
                "{fix_to} A domain can only point at one service: pages there stop working.{}",
                provider
                    .map(|p| format!(" {}", p.cname_help))
                    .unwrap_or_default()
            ),
        );
    }
    wrong(
        format!("{host} points at `{found_text}` instead of `{target}`"),
        fix_to,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_cdn_addresses() {
        let cdn = super::super::cdn::CdnRanges::built_in();
        assert_eq!(
            cdn.provider_of("104.16.1.1".parse().unwrap()),
            Some("Cloudflare")
        );
        assert_eq!(
            cdn.provider_of("2606:4700::1".parse().unwrap()),
            Some("Cloudflare")
        );
        assert_eq!(
            cdn.provider_of("151.101.1.1".parse().unwrap()),
            Some("Fastly")
        );
        assert_eq!(cdn.provider_of("192.0.2.1".parse().unwrap()), None);
    }

    #[test]
    fn measures_typos() {
        assert_eq!(edit_distance("katie", "katie"), 0);
        assert_eq!(edit_distance("katei", "katie"), 2);
        assert_eq!(edit_distance("katy", "katie"), 2);
        assert!(edit_distance("bob", "katie") > 2);
    }
}
