//! DNSSEC, as far as it breaks customers' domains: a DS record left at the
//! registry after moving DNS to a provider that does not sign (or signs with
//! other keys). Validating resolvers — and certificate authorities — then
//! answer SERVFAIL for every name in the zone while a non-validating lookup
//! (the zone's own nameservers) works. Found without cryptography: the DS
//! set from the resolvers against the DNSKEY set from the nameservers, by
//! key tag (RFC 4034 appendix B). Signatures themselves are not validated.

use hickory_proto::rr::{Name, RData, RecordType};

use super::dns::{display_text, Answer};
use super::observe::DnssecSeen;
use super::report::{Check, CheckName, CheckState, Who};

/// The key tag of a DNSKEY's RDATA (RFC 4034, appendix B).
pub fn key_tag(dnskey_rdata: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for (i, byte) in dnskey_rdata.iter().enumerate() {
        acc += if i & 1 == 0 {
            u32::from(*byte) << 8
        } else {
            u32::from(*byte)
        };
    }
    acc += (acc >> 16) & 0xFFFF;
    (acc & 0xFFFF) as u16
}

/// The raw RDATA of records of `record_type` (hickory parses DS and DNSKEY
/// only with its DNSSEC features; without them they arrive as raw bytes).
fn raw(answer: &Answer, record_type: RecordType) -> Vec<Vec<u8>> {
    answer
        .records()
        .iter()
        .filter(|r| r.record_type() == record_type)
        .filter_map(|r| match &r.data {
            RData::Unknown { rdata, .. } => Some(rdata.anything.clone()),
            _ => None,
        })
        .collect()
}

/// Judges the zone's DS (from the resolvers) against its DNSKEYs (from its
/// nameservers); `resolvers_servfail`: the CNAME lookup through the
/// resolvers answered SERVFAIL.
pub fn check(seen: &DnssecSeen, apex: &Name, resolvers_servfail: bool) -> Check {
    let apex = display_text(apex);
    let ds_answer = &seen.ds;
    if let Answer::Failed(why) = ds_answer {
        return Check::pending(
            CheckName::Dnssec,
            format!("could not read the DS records of {apex}: {why}"),
            "the next check asks again",
        );
    }
    let ds = raw(ds_answer, RecordType::DS);
    if ds.is_empty() {
        return Check::pass(
            CheckName::Dnssec,
            format!("{apex} is not signed (no DS record at the registry)"),
        );
    }
    let ds_tags: Vec<u16> = ds
        .iter()
        .filter(|d| d.len() >= 2)
        .map(|d| u16::from_be_bytes([d[0], d[1]]))
        .collect();
    let Some(keys_answer) = &seen.keys else {
        return Check::pending(
            CheckName::Dnssec,
            "no nameserver answered",
            "the next check asks again",
        );
    };
    if let Answer::Failed(why) = keys_answer {
        return Check::pending(
            CheckName::Dnssec,
            format!("could not read the DNSKEY records of {apex}: {why}"),
            "the next check asks again",
        );
    }
    let key_tags: Vec<u16> = raw(keys_answer, RecordType::DNSKEY)
        .iter()
        .map(|k| key_tag(k))
        .collect();
    let tags = |t: &[u16]| {
        t.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let found = format!(
        "DS at the registry for key tag {}; the nameservers publish {}",
        tags(&ds_tags),
        if key_tags.is_empty() {
            "no DNSKEY".to_string()
        } else {
            format!("DNSKEY tag {}", tags(&key_tags))
        }
    );
    let matched = ds_tags.iter().any(|t| key_tags.contains(t));
    if !matched {
        return Check::problem(
            CheckName::Dnssec,
            CheckState::Fail,
            found,
            format!(
                "a stale DS record: the registry says {apex} is signed with a key its nameservers do not publish (usually left behind when DNS moved to another provider), so validating resolvers and certificate authorities get SERVFAIL for every name in it{}",
                if resolvers_servfail { " — the resolvers do already" } else { "" }
            ),
            format!("At your registrar, remove the DS record(s) of {apex} (DNSSEC → off), or turn DNSSEC on at your DNS provider and publish its DS instead."),
            Who::CustomerDns,
        );
    }
    if resolvers_servfail {
        return Check::problem(
            CheckName::Dnssec,
            CheckState::Fail,
            found,
            format!("validating resolvers answer SERVFAIL for {apex} although its DS matches a key: expired or broken signatures"),
            "Ask your DNS provider to re-sign the zone, or remove the DS at your registrar to turn DNSSEC off.",
            Who::CustomerDns,
        );
    }
    Check::pass(CheckName::Dnssec, format!("{apex} is signed; {found}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn computes_key_tags_like_rfc_4034() {
        // RFC 4034 section 5.4's example DNSKEY (dskey.example.com, tag 60485).
        let key = data_encoding_base64(
            "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
        );
        let mut rdata = vec![0x01, 0x00, 3, 5];
        rdata.extend_from_slice(&key);
        assert_eq!(super::key_tag(&rdata), 60485);
    }

    fn data_encoding_base64(text: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }
}
