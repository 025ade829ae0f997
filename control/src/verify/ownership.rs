//! The ownership proof: does this account control the host's DNS? Either
//! the CNAME names the account's own host (the `cname` check), or the TXT
//! record at `<label>.<served host>` carries the account's token. The TXT is
//! asked of the zone's own nameservers (`super::observe`), so no resolver
//! cache can fake or delay it. The rules (what counts, what to say) are in
//! `portico_shared::ownership`; this words them.

use portico_shared::ownership::{txt_finding, txt_value, ChallengeLabel, Proof, TxtFinding};
use portico_shared::Integration;

use super::report::{Check, CheckName, CheckState, Who};

/// What the TXT lookup saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtSeen {
    Finding(TxtFinding),
    /// No nameserver answered: nothing can be concluded.
    Inconclusive(String),
}

/// What the TXT values observed (or why none could be read) mean for `token`.
pub fn seen(values: &Result<Vec<String>, String>, token: &str) -> TxtSeen {
    match values {
        Ok(values) => TxtSeen::Finding(txt_finding(values, token)),
        Err(why) => TxtSeen::Inconclusive(why.clone()),
    }
}

/// The proof, if any: the CNAME first (it is what serves visitors), then the TXT.
pub fn proof(cname_points: bool, txt: &TxtSeen) -> Option<Proof> {
    if cname_points {
        Some(Proof::Cname)
    } else if *txt == TxtSeen::Finding(TxtFinding::Present) {
        Some(Proof::Txt)
    } else {
        None
    }
}

/// The `ownership` check: which proof holds, or what to create.
pub fn check(
    label: &ChallengeLabel,
    integration: &Integration,
    token: &str,
    cname_points: bool,
    txt: &TxtSeen,
) -> Check {
    let name = label.name_for(&integration.served_host);
    let value = txt_value(token);
    let host = integration.served_host.to_unicode();
    if cname_points {
        return Check::pass(
            CheckName::Ownership,
            format!("proven: the CNAME of {host} names your account"),
        );
    }
    match txt {
        TxtSeen::Finding(TxtFinding::Present) => Check::pass(
            CheckName::Ownership,
            format!("proven: TXT {name} holds this domain's token"),
        ),
        TxtSeen::Finding(TxtFinding::Missing) => Check {
            name: CheckName::Ownership,
            state: CheckState::Pending,
            found: format!("not proven yet: the CNAME does not name your account, and there is no TXT record at {name}"),
            cause: Some(format!("the platform asks for nothing that costs (a certificate) until the DNS of {host} shows it is yours")),
            fix: Some(format!("Create the CNAME above. To prove ownership before moving a site that is live elsewhere, create TXT `{name}` = `{value}` instead; the CNAME can follow when you are ready.")),
            who: Some(Who::CustomerDns),
        },
        TxtSeen::Finding(TxtFinding::Wrong { found }) => Check::problem(
            CheckName::Ownership,
            CheckState::Fail,
            format!("TXT {name} = {}", found.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")),
            format!("the TXT record at {name} does not hold this domain's token (a typo, an old token, or the token of another account)"),
            format!("Set the TXT record `{name}` to exactly `{value}`, without quotes."),
            Who::CustomerDns,
        ),
        TxtSeen::Inconclusive(why) => Check::pending(
            CheckName::Ownership,
            format!("could not read TXT {name}: {why}"),
            "a timeout or SERVFAIL changes nothing: the next check asks again",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_shared::{Hostname, IntegrationKind};

    fn sales() -> Integration {
        Integration {
            kind: IntegrationKind::Subdomain,
            root: Hostname::parse("example.com").unwrap(),
            served_host: Hostname::parse("sales.example.com").unwrap(),
            apex: Default::default(),
        }
    }

    #[test]
    fn the_cname_or_the_exact_txt_proves_ownership() {
        let present = TxtSeen::Finding(TxtFinding::Present);
        let missing = TxtSeen::Finding(TxtFinding::Missing);
        let wrong = TxtSeen::Finding(TxtFinding::Wrong {
            found: vec!["x".into()],
        });
        let lost = TxtSeen::Inconclusive("timeout".into());
        assert_eq!(proof(true, &missing), Some(Proof::Cname));
        assert_eq!(proof(true, &present), Some(Proof::Cname));
        assert_eq!(proof(false, &present), Some(Proof::Txt));
        for txt in [&missing, &wrong, &lost] {
            assert_eq!(proof(false, txt), None, "{txt:?}");
        }
    }

    #[test]
    fn a_wrong_txt_says_what_was_found_and_the_exact_value() {
        let label = ChallengeLabel::default();
        let check = check(
            &label,
            &sales(),
            "tok",
            false,
            &TxtSeen::Finding(TxtFinding::Wrong {
                found: vec!["\"portico-verification=tok\"x".into()],
            }),
        );
        assert_eq!(check.state, CheckState::Fail);
        assert!(check.found.contains("_portico-challenge.sales.example.com"));
        assert!(check.fix.unwrap().contains("`portico-verification=tok`"));
        assert_eq!(check.who, Some(Who::CustomerDns));
        let missing = super::check(
            &label,
            &sales(),
            "tok",
            false,
            &TxtSeen::Finding(TxtFinding::Missing),
        );
        assert_eq!(missing.state, CheckState::Pending);
        assert_eq!(missing.who, Some(Who::CustomerDns));
    }
}
