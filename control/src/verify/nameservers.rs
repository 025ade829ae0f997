//! The rules for the `nameservers` check: the zone's delegation holds (its
//! nameservers answer for it, with authority), and they agree about the
//! served host. A delegation to nameservers that do not answer, refuse, or
//! answer without authority (a lame delegation) is diagnosed as such,
//! naming them: the fix is at the registrar. It never changes a domain's
//! status on its own (the finding stays inconclusive), as a timeout does
//! not. Pure: the answers come from `super::observe::zone`.

use super::cname::Verdict;
use super::dns::{fqdn_text, Authority};
use super::observe::ZoneView;
use super::report::{Check, CheckName, CheckState, Who};

/// A nameserver's answer to "who answers for this name?", in words.
pub fn describe(authority: &Authority) -> String {
    match authority {
        Authority::Authoritative { .. } => "answers with authority".into(),
        Authority::Referral { child, .. } if child.is_root() => {
            "refers upward to the root instead of answering (it does not host the zone)".into()
        }
        Authority::Referral { child, .. } => {
            format!("refers to {} instead of answering", fqdn_text(child))
        }
        Authority::NotAuthoritative(why) => format!("is not authoritative: {why}"),
        Authority::Error(code) if code == "REFUSED" => "refuses to answer (REFUSED)".into(),
        Authority::Error(code) => format!("answers {code}"),
        Authority::Silent(why) => format!("does not answer ({why})"),
    }
}

/// The answer shows the server does not host the zone (not a passing fault).
fn definitely_lame(authority: Option<&Authority>) -> bool {
    match authority {
        Some(Authority::NotAuthoritative(_)) | Some(Authority::Referral { .. }) => true,
        Some(Authority::Error(code)) => code == "REFUSED",
        _ => false,
    }
}

/// The `nameservers` check. `views`: each nameserver's verdict about the
/// host; `disagree`: those that answered do not say the same.
pub fn check(zone: &ZoneView, host: &str, views: &[(String, Verdict)], disagree: bool) -> Check {
    let apex = super::dns::display_text(&zone.apex);
    let names = zone.names();
    let unreachable: Vec<String> = zone
        .nameservers
        .iter()
        .filter(|n| !n.addresses.is_empty())
        .filter_map(|n| n.asked.clone().err())
        .collect();
    let failed: Vec<String> = views
        .iter()
        .filter_map(|(ns, v)| match v {
            Verdict::Failed(why) => Some(format!("{ns}: {why}")),
            _ => None,
        })
        .collect();
    let answered: Vec<&str> = views
        .iter()
        .filter(|(_, v)| !matches!(v, Verdict::Failed(_)))
        .map(|(ns, _)| ns.as_str())
        .collect();
    let lame: Vec<String> = zone
        .nameservers
        .iter()
        .filter(|n| !n.answers())
        .map(|n| match (&n.asked, &n.authority) {
            (Err(why), _) => why.clone(),
            (Ok(_), Some(authority)) => format!("{} {}", n.name, describe(authority)),
            (Ok(_), None) => format!("{} was not asked", n.name),
        })
        .collect();
    let delegation = match &zone.delegated_by {
        Some(parent) => format!(
            "{apex} is delegated by {} to {}",
            fqdn_text(parent),
            names.join(", ")
        ),
        None => format!("the nameservers of {apex} are {}", names.join(", ")),
    };
    if !views.is_empty() && unreachable.len() == views.len() {
        return super::outbound::unreachable_nameservers(&apex, &unreachable);
    }
    if answered.is_empty() {
        let definite = zone
            .nameservers
            .iter()
            .any(|n| definitely_lame(n.authority.as_ref()));
        // Timeouts alone, where the resolvers know the zone, may pass.
        if !definite && zone.delegated_by.is_none() {
            return Check::pending(
                CheckName::Nameservers,
                format!("{} (zone {apex})", names.join(", ")),
                format!("no nameserver answered: {}", failed.join("; ")),
            )
            .with_fix(format!(
                "If this lasts, check at your registrar that the nameservers of {apex} are the ones of the provider where its DNS is managed."
            ));
        }
        return Check::problem(
            CheckName::Nameservers,
            CheckState::Fail,
            format!("{delegation}; {}", lame.join("; ")),
            format!(
                "a lame delegation: the nameservers {apex} is delegated to do not answer for it ({}), so no one can look up {host} or any other name in {apex}; nothing about its records can be told until they do",
                names.join(", ")
            ),
            format!(
                "At your registrar, set the nameservers of {apex} to those of the provider where you manage its DNS (or create the zone {apex} at the provider of {}).",
                names.join(", ")
            ),
            Who::Registrar,
        );
    }
    if disagree {
        let said = views
            .iter()
            .map(|(ns, v)| format!("{ns} says {}", v.key()))
            .collect::<Vec<_>>()
            .join("; ");
        return Check::problem(
            CheckName::Nameservers,
            CheckState::Fail,
            said,
            format!(
                "the nameservers of {apex} disagree about {host}: resolvers ask any of them, so visitors and certificate authorities get different answers"
            ),
            format!(
                "Make the record the same on every nameserver listed for {apex}: usually the records were added at a provider that is only one of the nameservers, or a secondary has not transferred the zone. Keep only the nameservers of the provider where you edit DNS, at your registrar."
            ),
            Who::CustomerDns,
        );
    }
    if !failed.is_empty() {
        let definite = zone
            .nameservers
            .iter()
            .any(|n| definitely_lame(n.authority.as_ref()));
        return Check::problem(
            CheckName::Nameservers,
            CheckState::Warn,
            format!("{} answer; {}", answered.join(", "), lame.join("; ")),
            if definite {
                format!("a nameserver listed for {apex} does not host the zone (a lame delegation): resolvers that ask it get no answer and try another, so lookups are slow or fail")
            } else {
                format!("a nameserver listed for {apex} did not answer")
            },
            format!("At your registrar, list only nameservers that host {apex}."),
            Who::Registrar,
        );
    }
    Check::pass(
        CheckName::Nameservers,
        format!("{} (zone {apex}) answer and agree", names.join(", ")),
    )
}
