//! The zone of a host, found the way resolvers find it: by delegation. The
//! resolvers name the closest enclosing zone they know; its nameservers are
//! asked directly. Where one of them refers further down (the NS records of
//! a referral, in the authority section), the delegated zone is the zone,
//! and its own nameservers are asked — whether they answer or not. An
//! ancestor's servers never stand in for a zone delegated away from them:
//! a lame delegation is seen as one (see `rules::nameservers`).

use std::net::IpAddr;

use hickory_proto::rr::{Name, RData, RecordType};

use crate::verify::dns::{fqdn_text, Answer, Authority, Dns};

/// Delegations followed at most, below the zone the resolvers name.
const MAX_REFERRALS: usize = 4;

/// Where the zone was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneSeen {
    Found(ZoneView),
    /// Nothing encloses the host (NXDOMAIN all the way up).
    NxDomain,
    /// The resolvers did not answer: nothing can be concluded.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneView {
    pub apex: Name,
    /// The zone whose servers referred to this one (`None`: the resolvers
    /// named it, and its nameservers answer for it).
    pub delegated_by: Option<Name>,
    /// Sorted by name.
    pub nameservers: Vec<NameserverSeen>,
}

/// One of the zone's nameservers and what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameserverSeen {
    pub name: String,
    pub addresses: Vec<IpAddr>,
    /// The address asked, or why none was (no address, the outbound rule).
    pub asked: Result<IpAddr, String>,
    /// Its answer to the SOA of the host, asked directly (`None`: not asked).
    pub authority: Option<Authority>,
    /// The host's records from it (`None`: not asked, as it does not
    /// answer with authority).
    pub host: Option<HostSeen>,
}

impl NameserverSeen {
    /// It answers for the zone (with authority).
    pub fn answers(&self) -> bool {
        matches!(self.authority, Some(Authority::Authoritative { .. }))
    }
}

/// The served host's records, from one nameserver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSeen {
    pub cname: Answer,
    pub a: Answer,
    pub aaaa: Answer,
}

impl ZoneView {
    pub fn names(&self) -> Vec<&str> {
        self.nameservers.iter().map(|n| n.name.as_str()).collect()
    }

    /// The address of the first nameserver that answers with authority.
    pub fn first_answering(&self) -> Option<IpAddr> {
        self.nameservers
            .iter()
            .filter(|n| n.answers())
            .find_map(|n| n.asked.clone().ok())
    }
}

/// The closest enclosing name the resolvers know NS records for, and those.
async fn resolvers_zone(dns: &Dns, host: &Name) -> Result<(Name, Vec<Name>), ZoneSeen> {
    let mut name = host.clone();
    let mut last = ZoneSeen::NxDomain;
    loop {
        if name.num_labels() < 1 {
            return Err(last);
        }
        let answer = dns.recursive_ns(&name).await;
        let nameservers: Vec<Name> = answer
            .records()
            .iter()
            .filter(|r| r.name == name)
            .filter_map(|r| match &r.data {
                RData::NS(ns) => Some(ns.0.clone()),
                _ => None,
            })
            .collect();
        if !nameservers.is_empty() {
            return Ok((name, nameservers));
        }
        if let Answer::Failed(why) = answer {
            // Keep climbing (a lame zone fails at the resolvers; its parent
            // refers to it), but remember why if nothing is found.
            last = ZoneSeen::Failed(why);
        }
        if name.num_labels() <= 1 {
            return Err(last);
        }
        name = name.base_name();
    }
}

async fn nameserver(dns: &Dns, name: &Name, glue: &[(Name, IpAddr)]) -> NameserverSeen {
    let text = fqdn_text(name);
    let addresses = match dns.fixed_address(&text) {
        Some(ip) => vec![ip],
        None => {
            let given: Vec<IpAddr> = glue
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, ip)| *ip)
                .collect();
            if given.is_empty() {
                dns.addresses_of(name).await
            } else {
                given
            }
        }
    };
    NameserverSeen {
        asked: dns.usable_address(&text, &addresses),
        name: text,
        addresses,
        authority: None,
        host: None,
    }
}

/// Finds the zone of `host` and asks each of its nameservers for the
/// host's records.
pub async fn observe(dns: &Dns, host: &Name) -> ZoneSeen {
    let (mut apex, mut names) = match resolvers_zone(dns, host).await {
        Ok(found) => found,
        Err(seen) => return seen,
    };
    let mut glue: Vec<(Name, IpAddr)> = Vec::new();
    let mut delegated_by = None;
    let mut referrals = 0;
    let nameservers = 'walk: loop {
        let mut servers =
            futures_util::future::join_all(names.iter().map(|name| nameserver(dns, name, &glue)))
                .await;
        servers.sort_by(|a, b| a.name.cmp(&b.name));
        // The first that can be asked first: a parent's server refers at
        // once, and the others need not be asked.
        let mut asked_first = None;
        for (i, server) in servers.iter_mut().enumerate() {
            if let Ok(ip) = server.asked {
                let authority = dns.authority(ip, host).await;
                server.authority = Some(authority.clone());
                asked_first = Some(i);
                if let Authority::Referral {
                    child,
                    nameservers,
                    glue: given,
                } = authority
                {
                    if referrals < MAX_REFERRALS
                        && child.num_labels() > apex.num_labels()
                        && !nameservers.is_empty()
                    {
                        referrals += 1;
                        delegated_by = Some(apex.clone());
                        apex = child;
                        names = nameservers;
                        glue = given;
                        continue 'walk;
                    }
                }
                break;
            }
        }
        let rest = servers
            .iter()
            .enumerate()
            .filter(|(i, s)| Some(*i) != asked_first && s.asked.is_ok())
            .map(|(_, s)| {
                let ip = s.asked.clone().ok();
                async move {
                    match ip {
                        Some(ip) => Some(dns.authority(ip, host).await),
                        None => None,
                    }
                }
            });
        let answers = futures_util::future::join_all(rest).await;
        let mut answers = answers.into_iter();
        for (i, server) in servers.iter_mut().enumerate() {
            if Some(i) != asked_first && server.asked.is_ok() {
                server.authority = answers.next().flatten();
            }
        }
        break servers;
    };
    let mut nameservers = nameservers;
    let asks = nameservers.iter().map(|server| {
        let ip = server.asked.clone().ok().filter(|_| server.answers());
        async move {
            match ip {
                Some(ip) => Some(host_records(dns, ip, host).await),
                None => None,
            }
        }
    });
    let hosts = futures_util::future::join_all(asks).await;
    for (server, host) in nameservers.iter_mut().zip(hosts) {
        server.host = host;
    }
    ZoneSeen::Found(ZoneView {
        apex,
        delegated_by,
        nameservers,
    })
}

async fn host_records(dns: &Dns, ip: IpAddr, host: &Name) -> HostSeen {
    let (cname, a, aaaa) = tokio::join!(
        dns.authoritative(ip, host, RecordType::CNAME),
        dns.authoritative(ip, host, RecordType::A),
        dns.authoritative(ip, host, RecordType::AAAA),
    );
    HostSeen { cname, a, aaaa }
}
