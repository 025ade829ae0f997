//! CAA (RFC 8659): the first CAA record set found climbing from the served
//! host to its root decides which certificate authorities may issue for
//! it. If it has `issue` records and none names a CA the platform uses,
//! no certificate can be issued.

use hickory_proto::rr::{Name, RData, RecordType};

use super::dns::{fqdn_text, Answer, Dns};
use super::report::{Check, CheckState, Who};

/// The `issue` values of a CAA set: `Some(domain)`, or `None` for `;` (no CA).
fn issuers(answer: &Answer) -> (Vec<Option<String>>, Vec<String>, Option<Name>) {
    let mut issue = Vec::new();
    let mut shown = Vec::new();
    let mut owner = None;
    for record in answer.records() {
        if let RData::CAA(caa) = &record.data {
            owner.get_or_insert_with(|| record.name.clone());
            shown.push(format!("{} {}", fqdn_text(&record.name), caa));
            if caa.tag.eq_ignore_ascii_case("issue") {
                let value = String::from_utf8_lossy(&caa.value).to_string();
                let domain = value
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                issue.push((!domain.is_empty()).then_some(domain));
            }
        }
    }
    (issue, shown, owner)
}

/// Checks CAA from `host` up to `root` against `allowed` CA domains.
pub async fn check(dns: &Dns, host: &Name, root: &Name, allowed: &[String]) -> Check {
    let mut name = host.clone();
    loop {
        let answer = dns.recursive(&name, RecordType::CAA).await;
        if let Answer::Failed(why) = &answer {
            return Check::pending(
                "caa",
                format!("could not read CAA at {}: {why}", fqdn_text(&name)),
                "certificate authorities refuse to issue while CAA cannot be read; the next check asks again",
            );
        }
        let (issue, shown, owner) = issuers(&answer);
        if !shown.is_empty() {
            let at = owner
                .map(|o| fqdn_text(&o))
                .unwrap_or_else(|| fqdn_text(&name));
            if issue.is_empty() {
                return Check::pass(
                    "caa",
                    format!("{} (no `issue` restriction)", shown.join("; ")),
                );
            }
            let permitted = issue
                .iter()
                .flatten()
                .any(|domain| allowed.iter().any(|a| a.eq_ignore_ascii_case(domain)));
            if permitted {
                return Check::pass("caa", shown.join("; "));
            }
            let outside_customer = !root.zone_of(&name_of_text(&at));
            let records: Vec<String> = allowed
                .iter()
                .map(|ca| format!("`CAA 0 issue \"{ca}\"`"))
                .collect();
            return Check::problem(
                "caa",
                CheckState::Fail,
                shown.join("; "),
                format!(
                    "the CAA records at {at} allow only {}: the certificate authorities the platform uses ({}) may not issue a certificate for {}",
                    issue
                        .iter()
                        .map(|d| d.clone().unwrap_or_else(|| "no authority at all".into()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    allowed.join(", "),
                    fqdn_text(host)
                ),
                format!(
                    "Add {} at {at} (keep your existing ones), or remove the CAA records there.",
                    records.join(" and ")
                ),
                if outside_customer { Who::Platform } else { Who::CustomerDns },
            );
        }
        if name == *root || name.num_labels() <= 1 {
            return Check::pass(
                "caa",
                format!(
                    "no CAA records from {} up to {}: any certificate authority may issue",
                    fqdn_text(host),
                    fqdn_text(root)
                ),
            );
        }
        name = name.base_name();
    }
}

fn name_of_text(text: &str) -> Name {
    super::dns::name_of(text)
}
