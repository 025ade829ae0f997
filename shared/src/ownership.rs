//! Who may hold a hostname: one account at a time, at every moment a
//! record for it can be served. A hostname changes account only when its
//! domain is removed or expires, or through a proof in DNS: the CNAME names
//! the claiming account's username, or a TXT record carries the token of
//! its challenge. Pure rules; the control plane gathers the facts.

use crate::host::Hostname;
use crate::lifecycle::Status;

/// Where the TXT proof lives unless configured: `_portico-challenge.<host>`.
pub const DEFAULT_CHALLENGE_LABEL: &str = "_portico-challenge";
/// What the TXT record's value starts with, before the token.
pub const TXT_VALUE_PREFIX: &str = "portico-verification=";

/// True while a domain holds its served host: being connected, connected,
/// or still published (a disconnected domain in its grace period).
pub fn holds(status: Status, published: bool) -> bool {
    matches!(status, Status::Processing | Status::Connected) || published
}

/// The label under the served host where the TXT proof is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeLabel(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a challenge label is 1 to 63 of a-z, 0-9, `-` and `_` (such as `_portico-challenge`): `{0}` is not")]
pub struct ChallengeLabelError(String);

impl ChallengeLabel {
    pub fn parse(text: &str) -> Result<ChallengeLabel, ChallengeLabelError> {
        let valid = (1..=63).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(ChallengeLabel(text.to_string()))
        } else {
            Err(ChallengeLabelError(text.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<label>.<served host>`: the name of the TXT record. Not a hostname
    /// (it may hold `_`), so text.
    pub fn name_for(&self, served_host: &Hostname) -> String {
        format!("{}.{}", self.0, served_host)
    }
}

impl Default for ChallengeLabel {
    fn default() -> ChallengeLabel {
        ChallengeLabel(DEFAULT_CHALLENGE_LABEL.to_string())
    }
}

/// The TXT record's value for a token.
pub fn txt_value(token: &str) -> String {
    format!("{TXT_VALUE_PREFIX}{token}")
}

/// What the TXT lookup found, against the token expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtFinding {
    /// One of the values is exactly the expected one.
    Present,
    /// No TXT record at the name.
    Missing,
    /// TXT records, none of them the expected value (a typo, the token of
    /// another account, quotes pasted into the value).
    Wrong { found: Vec<String> },
}

/// Compares the TXT values found (each the concatenation of its strings)
/// with the token's. Surrounding quotes and spaces pasted by the customer
/// are forgiven; anything else must match exactly.
pub fn txt_finding(values: &[String], token: &str) -> TxtFinding {
    if values.is_empty() {
        return TxtFinding::Missing;
    }
    let want = txt_value(token);
    let matches = |value: &String| value.trim().trim_matches('"').trim() == want;
    if values.iter().any(matches) {
        TxtFinding::Present
    } else {
        TxtFinding::Wrong {
            found: values.to_vec(),
        }
    }
}

/// How the claiming account proved control of the hostname's DNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The served host's CNAME names the account's own host.
    Cname,
    /// The challenge TXT record carries the account's token.
    Txt,
}

/// What adding a hostname may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Nobody holds it: the domain is added.
    Free,
    /// Another account holds it and there is no proof: refused, with the
    /// proof's instructions and nothing about the holder.
    Taken,
    /// Another account holds it, but the claimant controls the DNS: the
    /// holder's domain is released (its records unpublished first) and the
    /// claimant's added.
    Move(Proof),
}

/// The rule: proof of DNS control beats any claim, whatever its status
/// (the DNS is the owner's word); without proof, the first holder keeps it.
pub fn claim(held_by_another: bool, proof: Option<Proof>) -> Claim {
    match (held_by_another, proof) {
        (false, _) => Claim::Free,
        (true, Some(proof)) => Claim::Move(proof),
        (true, None) => Claim::Taken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_held_while_it_can_be_served() {
        for (status, published, held) in [
            (Status::Processing, false, true),
            (Status::Processing, true, true),
            (Status::Connected, true, true),
            (Status::Disconnected, true, true),
            (Status::Disconnected, false, false),
        ] {
            assert_eq!(holds(status, published), held, "{status:?} {published}");
        }
    }

    #[test]
    fn proof_moves_a_held_host_and_nothing_else_does() {
        assert_eq!(claim(false, None), Claim::Free);
        assert_eq!(claim(false, Some(Proof::Txt)), Claim::Free);
        assert_eq!(claim(true, None), Claim::Taken);
        assert_eq!(claim(true, Some(Proof::Cname)), Claim::Move(Proof::Cname));
        assert_eq!(claim(true, Some(Proof::Txt)), Claim::Move(Proof::Txt));
    }

    #[test]
    fn txt_values_are_compared_exactly_but_for_pasted_quotes() {
        let token = "abc123";
        let want = txt_value(token);
        assert_eq!(txt_finding(&[], token), TxtFinding::Missing);
        assert_eq!(
            txt_finding(std::slice::from_ref(&want), token),
            TxtFinding::Present
        );
        assert_eq!(
            txt_finding(&[format!("\"{want}\" ")], token),
            TxtFinding::Present
        );
        assert_eq!(
            txt_finding(&["v=spf1 -all".into(), want.clone()], token),
            TxtFinding::Present
        );
        for wrong in [
            "abc123",
            "portico-verification=abc12",
            "PORTICO-VERIFICATION=abc123",
        ] {
            assert_eq!(
                txt_finding(&[wrong.to_string()], token),
                TxtFinding::Wrong {
                    found: vec![wrong.to_string()]
                },
                "{wrong}"
            );
        }
    }

    #[test]
    fn challenge_labels() {
        let host = Hostname::parse("sales.example.com").unwrap();
        assert_eq!(
            ChallengeLabel::default().name_for(&host),
            "_portico-challenge.sales.example.com"
        );
        for bad in ["", "UPPER", "a.b", "x y", &"a".repeat(64)] {
            assert!(ChallengeLabel::parse(bad).is_err(), "{bad}");
        }
        assert!(ChallengeLabel::parse("_acme-owner").is_ok());
    }
}
