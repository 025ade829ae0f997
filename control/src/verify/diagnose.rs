//! Diagnosing: every rule of the verifier, over [`Observations`], without
//! any I/O. [`diagnose`] turns one verification's observations into the
//! report the API, `doctor` and dashboards render; table tests give it
//! observations directly (`diagnose/tests.rs`).

use portico_shared::lifecycle::{CertificateFinding, Finding};
use portico_shared::ownership::{Proof, TxtFinding};
use portico_shared::{Apex, IntegrationKind, MainAddress};

use super::cname;
use super::dns::fqdn_text;
use super::observe::{CertificateSeen, Observations, ZoneSeen};
use super::ownership::{self, TxtSeen};
use super::provider::{self, Provider};
use super::report::{self, Check, CheckName, CheckState, ProviderView, Report, Who};
use super::settings::VerifySettings;
use super::{apex, caa, current_site, dnssec, forward, workaround};
use crate::certs::{CertificateState, Validation};

#[cfg(test)]
mod tests;

/// The DNS provider, from the zone's nameservers.
fn provider_of(obs: &Observations) -> Option<&'static Provider> {
    let zone = obs.zone()?;
    let names: Vec<String> = zone.nameservers.iter().map(|n| n.name.clone()).collect();
    provider::identify(&names)
}

/// Where the DNS stands: the checks about the zone and the CNAME, and
/// the finding they come to.
fn dns_checks(obs: &Observations, settings: &VerifySettings) -> (Vec<Check>, Finding) {
    let integration = &obs.subject.integration;
    match &obs.zone {
        ZoneSeen::Found(_) => {
            let outcome = cname::check(obs, provider_of(obs), &settings.cdn_ranges);
            (outcome.checks, outcome.finding)
        }
        ZoneSeen::Failed(why) => (
            vec![Check::pending(
                CheckName::Nameservers,
                format!(
                    "could not find the nameservers of {}: {why}",
                    integration.root
                ),
                "a timeout or SERVFAIL changes nothing: the next check asks again",
            )],
            Finding::Inconclusive,
        ),
        ZoneSeen::NxDomain => (
            vec![
                Check::problem(
                    CheckName::Nameservers,
                    CheckState::Fail,
                    format!("{} has no nameservers (NXDOMAIN)", integration.root),
                    format!("{} is not registered, its registration lapsed, or it has no nameservers at its registrar", integration.root),
                    format!("Check that {} is registered and renewed, and that its nameservers are set at the registrar.", integration.root),
                    Who::CustomerDns,
                ),
                Check::problem(
                    CheckName::Cname,
                    CheckState::Fail,
                    format!("{} does not resolve", integration.served_host),
                    format!("{} does not exist in DNS", integration.root),
                    format!(
                        "Once {} resolves, create a CNAME `{}` → `{}`.",
                        integration.root,
                        integration.relative_name(),
                        obs.want.target_text()
                    ),
                    Who::CustomerDns,
                ),
            ],
            Finding::NotPointing,
        ),
    }
}

/// The TXT proof as seen (missing when not asked).
fn txt_seen(obs: &Observations) -> TxtSeen {
    match (&obs.txt, &obs.subject.ownership_token) {
        (Some(values), Some(token)) => ownership::seen(values, token),
        _ => TxtSeen::Finding(TxtFinding::Missing),
    }
}

/// Whether the DNS proves the domain is the account's: the CNAME names it,
/// or the TXT holds its token.
pub fn proof(obs: &Observations, settings: &VerifySettings) -> Option<Proof> {
    let (_, finding) = dns_checks(obs, settings);
    let cname_points = finding == Finding::Pointing && obs.subject.username.is_some();
    ownership::proof(cname_points, &txt_seen(obs))
}

/// The `ownership` check alone (`Verifier::prove`).
pub fn ownership_check(obs: &Observations, settings: &VerifySettings) -> Check {
    let (_, finding) = dns_checks(obs, settings);
    let cname_points = finding == Finding::Pointing;
    let seen = match (&obs.txt, &obs.subject.ownership_token) {
        (None, _) if obs.zone().is_none() => TxtSeen::Inconclusive(match &obs.zone {
            ZoneSeen::Failed(why) => why.clone(),
            _ => format!(
                "{} has no nameservers (NXDOMAIN)",
                obs.subject.integration.root
            ),
        }),
        _ => txt_seen(obs),
    };
    ownership::check(
        &settings.challenge_label,
        &obs.subject.integration,
        obs.subject.ownership_token.as_deref().unwrap_or_default(),
        cname_points,
        &seen,
    )
}

/// Whether a certificate may be requested now, and how it is validated:
/// only once the DNS proves the domain is the account's, and CAA allows
/// the provider's authorities.
pub fn certificate_request(obs: &Observations, settings: &VerifySettings) -> Option<Validation> {
    let proven = proof(obs, settings)?;
    let caa = caa::check(
        &obs.caa,
        &obs.want.served_host,
        &obs.want.root,
        settings.authorities,
    );
    if caa.state == CheckState::Fail {
        return None;
    }
    Some(match proven {
        Proof::Cname => Validation::Http,
        // Proven by TXT while the CNAME still points elsewhere (a site live
        // elsewhere): validated over TXT, so the certificate is active
        // before the CNAME moves.
        Proof::Txt => Validation::Txt,
    })
}

/// The report for `obs`.
pub fn diagnose(obs: &Observations, settings: &VerifySettings) -> Report {
    let integration = &obs.subject.integration;
    let want = &obs.want;
    let expected_target = want.target().map(|t| fqdn_text(&t));
    let target_text = want.target_text();
    let provider = provider_of(obs);
    let (mut checks, cname_finding) = dns_checks(obs, settings);
    // A root whose apex points at the platform's addresses: checked
    // instead of a registrar forward.
    let by_address = integration.kind == IntegrationKind::Root && integration.apex.by_address();
    let apex_check = by_address.then(|| {
        apex::check(
            obs.forward.as_ref().map(|seen| seen.addresses.as_slice()),
            integration.root.as_str(),
            &settings.apex_addresses,
            &target_text,
            &settings.cdn_ranges,
        )
    });
    // Served at the apex: an apex pointing elsewhere is as wrong as a CNAME
    // pointing elsewhere.
    let finding = match &apex_check {
        Some(check)
            if integration.apex == Apex::AddressesMain
                && check.state == CheckState::Fail
                && cname_finding == Finding::Pointing =>
        {
            Finding::NotPointing
        }
        _ => cname_finding,
    };
    let resolvers_servfail = checks
        .iter()
        .any(|c| c.name == CheckName::Propagation && c.state == CheckState::Fail);
    let www = hickory_proto::rr::Name::from_ascii("www")
        .and_then(|www| www.append_domain(&want.root))
        .ok();
    let workaround = workaround::applies(integration, provider);
    let root_forward = match (&obs.forward, integration.kind, &www) {
        (Some(seen), IntegrationKind::Root, Some(www)) if !by_address => Some(forward::check(
            seen,
            &want.root,
            www,
            cname_finding == Finding::Pointing,
            settings.dns.outbound,
            provider.and_then(|p| p.forward_help),
        )),
        (Some(seen), IntegrationKind::Subdomain, _) if workaround => Some(forward::check(
            seen,
            &want.root,
            &want.served_host,
            cname_finding == Finding::Pointing,
            settings.dns.outbound,
            None,
        )),
        _ => None,
    };
    if let Some(outcome) = &root_forward {
        checks.push(in_unicode(outcome.check.clone(), integration));
    }
    if let Some(check) = &apex_check {
        checks.push(in_unicode(check.clone(), integration));
    }
    let caa = caa::check(
        &obs.caa,
        &want.served_host,
        &want.root,
        settings.authorities,
    );
    let caa_refuses = caa.state == CheckState::Fail;
    checks.push(caa);
    if let (Some(seen), Some(zone)) = (&obs.dnssec, obs.zone()) {
        checks.push(dnssec::check(seen, &zone.apex, resolvers_servfail));
    }
    checks.push(provider_check(obs, provider, &target_text, settings));
    let hint = obs
        .subject
        .ownership_token
        .as_deref()
        .filter(|_| obs.subject.username.is_some())
        .map(|token| current_site::ProofHint {
            label: &settings.challenge_label,
            token,
        });
    if let Some(check) = current_site::check(
        integration,
        obs.site.as_ref(),
        obs.forward.as_ref(),
        &target_text,
        hint,
        &settings.cdn_ranges,
    ) {
        checks.push(check);
    }
    let cname_points = cname_finding == Finding::Pointing && obs.subject.username.is_some();
    let txt = txt_seen(obs);
    let proven = ownership::proof(cname_points, &txt);
    if let (Some(token), Some(_)) = (&obs.subject.ownership_token, &obs.subject.username) {
        checks.push(ownership::check(
            &settings.challenge_label,
            integration,
            token,
            cname_points,
            &txt,
        ));
    }
    let served_certificate = certificate(&obs.certificate, proven.is_some(), caa_refuses);
    let (certificate_check, certificate_finding, certificate_records) = match &obs.apex_certificate
    {
        Some(seen) if by_address => combine_certificates(
            served_certificate,
            certificate(seen, proven.is_some(), caa_refuses),
            integration,
        ),
        _ => served_certificate,
    };
    checks.push(certificate_check);
    let not_asked = obs.certificate == CertificateSeen::NotAsked;
    let addresses = match (&integration.kind, &root_forward) {
        (IntegrationKind::Root, _) if by_address => apex::url_table(
            integration.root.as_str(),
            &apex::Reach {
                www_points: cname_finding == Finding::Pointing,
                apex_points: apex_check
                    .as_ref()
                    .is_some_and(|check| check.state == CheckState::Pass),
                certificate_ready: certificate_finding == CertificateFinding::Ready || not_asked,
                main: integration.apex.main(),
            },
        ),
        (IntegrationKind::Subdomain, Some(outcome)) => workaround::table(
            integration.root.as_str(),
            &workaround::Reach {
                pages_points: cname_finding == Finding::Pointing,
                certificate_ready: certificate_finding == CertificateFinding::Ready || not_asked,
                root_http_forwards: outcome.http_forwards,
                root_https_forwards: outcome.https_forwards,
                www_http_reaches: reaches_pages(obs, outcome, false),
                www_https_reaches: reaches_pages(obs, outcome, true),
                hsts_tld: forward::hsts_preloaded(integration.root.as_str()),
            },
        ),
        (IntegrationKind::Root, Some(outcome)) => provider::url_table(
            integration.root.as_str(),
            &provider::Reachability {
                www_points: cname_finding == Finding::Pointing,
                certificate_ready: certificate_finding == CertificateFinding::Ready || not_asked,
                root_http_forwards: outcome.http_forwards,
                root_https_forwards: outcome.https_forwards,
                hsts_tld: forward::hsts_preloaded(integration.root.as_str()),
            },
        ),
        _ => Vec::new(),
    };
    Report {
        served_host: integration.served_host.to_string(),
        served_host_unicode: integration.served_host.to_unicode(),
        kind: match integration.kind {
            IntegrationKind::Root => "root".into(),
            IntegrationKind::Subdomain => "subdomain".into(),
        },
        expected_target,
        checked_at: crate::store::rfc3339(obs.checked_at_ms),
        dns: finding,
        certificate: certificate_finding,
        ready: finding == Finding::Pointing && certificate_finding == CertificateFinding::Ready,
        provider: obs.zone().map(|zone| {
            let names: Vec<String> = zone.nameservers.iter().map(|n| n.name.clone()).collect();
            ProviderView {
                name: provider
                    .map(|p| p.name.to_string())
                    .unwrap_or_else(|| "unknown".into()),
                nameservers: names,
                cname_steps: provider.map(|p| p.cname_help.to_string()),
                forward_steps: provider.and_then(|p| p.forward_help.map(str::to_string)),
            }
        }),
        addresses,
        certificate_records,
        checks,
    }
}

/// The forward's texts name the root as its URLs were compared (ASCII);
/// people read an internationalized root in Unicode, as a browser's
/// address bar shows it (`http://bücher.example/…`).
fn in_unicode(mut check: Check, integration: &portico_shared::Integration) -> Check {
    let ascii = integration.root.as_str();
    let unicode = integration.root.to_unicode();
    if unicode != ascii {
        for text in [
            Some(&mut check.found),
            check.cause.as_mut(),
            check.fix.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            *text = text.replace(ascii, &unicode);
        }
    }
    check
}

/// The workaround: whether `www.<root>` (over HTTPS when `secure`) reaches
/// `pages.<root>`: redirected there, or to the root while the root's own
/// forward (over the same scheme) goes there.
fn reaches_pages(obs: &Observations, outcome: &forward::ForwardOutcome, secure: bool) -> bool {
    let Some(probe) = obs.forward.as_ref().and_then(|f| f.www_forward.as_ref()) else {
        return false;
    };
    let answer = if secure { &probe.https } else { &probe.http };
    let super::observe::http::Probe::Answered {
        status,
        location: Some(location),
        ..
    } = answer
    else {
        return false;
    };
    if !(300..400).contains(status) {
        return false;
    }
    let Ok(target) = reqwest::Url::parse(location) else {
        return false;
    };
    let host = target.host_str().unwrap_or_default().to_ascii_lowercase();
    let integration = &obs.subject.integration;
    if host == integration.served_host.as_str() {
        return target.scheme() == "https";
    }
    host == integration.root.as_str()
        && match target.scheme() {
            "https" => outcome.https_forwards,
            _ => outcome.http_forwards,
        }
}

fn provider_check(
    obs: &Observations,
    provider: Option<&Provider>,
    target: &str,
    settings: &VerifySettings,
) -> Check {
    let Some(zone) = obs.zone() else {
        return Check::pending(
            CheckName::DnsProvider,
            "unknown: no nameservers found",
            "see the nameservers check",
        );
    };
    let names = zone.names();
    let Some(provider) = provider else {
        return Check::pass(
            CheckName::DnsProvider,
            format!(
                "not recognised ({}): create the records wherever {} is managed",
                names.join(", "),
                fqdn_text(&zone.apex)
            ),
        );
    };
    let integration = &obs.subject.integration;
    let root = integration.root.as_str();
    if integration.kind == IntegrationKind::Root
        && provider.forward_help.is_none()
        && !integration.apex.by_address()
    {
        let mut workaround =
            workaround::advice(provider, root, target, forward::hsts_preloaded(root));
        // Apex by address, where offered, works at every address (HTTPS
        // too): offered first, the workaround second.
        if !settings.apex_addresses.is_empty() {
            workaround = format!(
                "{} Otherwise: {workaround}",
                provider::apex_advice(provider, root, target, &settings.apex_addresses)
            );
        }
        return Check::problem(
            CheckName::DnsProvider,
            CheckState::Warn,
            format!("{} ({})", provider.name, names.join(", ")),
            format!("with {}, the bare {root} cannot be forwarded to www.{root}: only the www addresses will work", provider.name),
            workaround,
            Who::CustomerDns,
        );
    }
    Check::pass(
        CheckName::DnsProvider,
        format!(
            "{} ({}). {}",
            provider.name,
            names.join(", "),
            provider.cname_help
        ),
    )
}

/// One `certificate` check for both names of a root whose apex points at
/// the platform: the first name whose certificate is not ready speaks for
/// it, named; the records of both are listed. Connecting waits for the
/// main address's certificate (the other name only redirects to it).
fn combine_certificates(
    served: (Check, CertificateFinding, Vec<report::CertificateRecord>),
    bare: (Check, CertificateFinding, Vec<report::CertificateRecord>),
    integration: &portico_shared::Integration,
) -> (Check, CertificateFinding, Vec<report::CertificateRecord>) {
    let (served_check, served_finding, mut records) = served;
    let (bare_check, bare_finding, bare_records) = bare;
    records.extend(bare_records);
    let finding = match integration.apex.main() {
        MainAddress::Www => served_finding,
        MainAddress::Apex => [served_finding, bare_finding]
            .into_iter()
            .max_by_key(|finding| match finding {
                CertificateFinding::Ready => 0,
                CertificateFinding::Unknown => 1,
                CertificateFinding::Pending => 2,
                CertificateFinding::Failed => 3,
            })
            .unwrap_or(served_finding),
    };
    let named = |host: String, mut check: Check| {
        check.found = format!("{host}: {}", check.found);
        check
    };
    let served_host = integration.served_host.to_unicode();
    let root = integration.root.to_unicode();
    let check = match (served_check.state, bare_check.state) {
        (CheckState::Pass, CheckState::Pass) => Check::pass(
            CheckName::Certificate,
            format!(
                "{served_host}: {}; {root}: {}",
                served_check.found, bare_check.found
            ),
        ),
        (CheckState::Fail, _) | (_, CheckState::Pass) => named(served_host, served_check),
        _ => named(root, bare_check),
    };
    (check, finding, records)
}

/// The `certificate` check from what the provider said (or why it was not asked).
fn certificate(
    seen: &CertificateSeen,
    proven: bool,
    caa_refuses: bool,
) -> (Check, CertificateFinding, Vec<report::CertificateRecord>) {
    let pending = |found: String, cause: &str, finding| {
        (
            Check::pending(CheckName::Certificate, found, cause),
            finding,
            Vec::new(),
        )
    };
    match seen {
        CertificateSeen::NotAsked => pending(
            "not checked (doctor does not request certificates)".into(),
            "the platform requests the certificate once the domain's DNS proves it is the customer's",
            CertificateFinding::Unknown,
        ),
        // Nothing that costs (a custom hostname, a certificate) before proof.
        CertificateSeen::NotRequested if !proven => pending(
            "not requested yet".into(),
            "the certificate is requested once the DNS proves the domain is yours (see the ownership check)",
            CertificateFinding::Pending,
        ),
        CertificateSeen::NotRequested => pending(
            if caa_refuses {
                "not requested: CAA forbids the certificate authorities the platform uses".into()
            } else {
                "not requested yet".into()
            },
            "a request would be refused: see the caa check",
            CertificateFinding::Pending,
        ),
        CertificateSeen::NoOwner => pending(
            "not requested: no stored domain to own it".into(),
            "add the domain to request its certificate",
            CertificateFinding::Unknown,
        ),
        CertificateSeen::Unavailable(why) => pending(
            format!("the certificate provider did not answer: {why}"),
            "the next check asks again",
            CertificateFinding::Unknown,
        ),
        CertificateSeen::Throttled(wait) => pending(
            format!(
                "not asked yet: the platform's Cloudflare API budget is spent for the next {} s",
                wait.as_secs().max(1)
            ),
            "the platform spreads its requests to Cloudflare; a later check asks",
            CertificateFinding::Unknown,
        ),
        CertificateSeen::Reading => pending(
            "not asked yet: the platform is reading its certificates' states from Cloudflare".into(),
            "the platform reads them in pages after it starts; a later check has this one",
            CertificateFinding::Unknown,
        ),
        CertificateSeen::Refused(why) => (
            Check::problem(
                CheckName::Certificate,
                CheckState::Fail,
                format!("the certificate provider refused: {why}"),
                "the platform's certificate request was refused",
                "Nothing for you to do: the platform's operators are told.",
                Who::Platform,
            ),
            CertificateFinding::Failed,
            Vec::new(),
        ),
        CertificateSeen::Reported(report) => {
            let who = report.who.map(|w| match w {
                crate::certs::Who::Customer => Who::CustomerDns,
                crate::certs::Who::Platform => Who::Platform,
            });
            let (state, finding) = match report.state {
                CertificateState::Active => (CheckState::Pass, CertificateFinding::Ready),
                CertificateState::NotManaged => (CheckState::Pass, CertificateFinding::Ready),
                CertificateState::Pending => (CheckState::Pending, CertificateFinding::Pending),
                CertificateState::Failed => (CheckState::Fail, CertificateFinding::Failed),
                CertificateState::HeldElsewhere => {
                    (CheckState::Pending, CertificateFinding::Pending)
                }
            };
            // TXT validation: the exact records, so the customer can create
            // them before moving the CNAME.
            let records: Vec<String> = report
                .records
                .iter()
                .map(|r| format!("{} `{}` = `{}`", r.record_type, r.name, r.value))
                .collect();
            let structured = report
                .records
                .iter()
                .map(|r| report::CertificateRecord {
                    record_type: r.record_type.clone(),
                    name: r.name.clone(),
                    value: r.value.clone(),
                    purpose: match r.purpose {
                        crate::certs::RecordPurpose::Ownership => "ownership".into(),
                        crate::certs::RecordPurpose::Certificate => "certificate".into(),
                    },
                })
                .collect();
            let fix = match (report.fix.clone(), records.is_empty()) {
                (fix, true) => fix,
                (fix, false) => Some(format!(
                    "{}Create: {}.",
                    fix.map(|f| format!("{f} ")).unwrap_or_default(),
                    records.join("; ")
                )),
            };
            (
                Check {
                    name: CheckName::Certificate,
                    state,
                    found: report.found.clone(),
                    cause: report.cause.clone(),
                    fix,
                    who,
                },
                finding,
                structured,
            )
        }
    }
}
