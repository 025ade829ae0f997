//! DNS as the verifier asks it, with hickory-resolver: the configured
//! recursive resolvers (what visitors and certificate authorities see), and
//! each of a zone's authoritative nameservers asked directly, without
//! recursion (what is true right now). No answer is cached — every check
//! asks again — so a failure seen before a fix never outlives it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolveHosts, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::TokioResolver;
use portico_shared::Hostname;

use super::outbound::{refused_text, Outbound};
use crate::metrics::{metrics, DnsKind};

/// One answer, reduced to what the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The answer section (may hold a CNAME before the records asked for).
    Records(Vec<Record>),
    /// The name exists, without records of that type.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// No usable answer: SERVFAIL, REFUSED, a timeout, a network error.
    Failed(String),
}

impl Answer {
    pub fn records(&self) -> &[Record] {
        match self {
            Answer::Records(records) => records,
            _ => &[],
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Answer::Failed(_))
    }

    /// Records of `record_type` owned by `name` itself (not reached through a CNAME).
    pub fn owned_by(&self, name: &Name, record_type: RecordType) -> Vec<&Record> {
        self.records()
            .iter()
            .filter(|r| r.record_type() == record_type && r.name == *name)
            .collect()
    }

    /// The CNAME target `name` has, if the answer shows one.
    pub fn cname_of(&self, name: &Name) -> Option<Name> {
        self.records().iter().find_map(|r| match &r.data {
            RData::CNAME(target) if r.name == *name => Some(target.0.clone()),
            _ => None,
        })
    }

    /// Every address in the answer (whoever owns it).
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.records()
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                _ => None,
            })
            .collect()
    }

    /// In words, for `found`.
    pub fn describe(&self) -> String {
        match self {
            Answer::Records(records) if records.is_empty() => "no records".into(),
            Answer::Records(records) => records
                .iter()
                .map(|r| {
                    format!(
                        "{} {} {}",
                        fqdn_text(&r.name),
                        r.record_type(),
                        rdata_text(&r.data)
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            Answer::NoData => "no records of that type".into(),
            Answer::NxDomain => "no such name (NXDOMAIN)".into(),
            Answer::Failed(why) => why.clone(),
        }
    }
}

/// A name without its trailing dot, lower case.
pub fn fqdn_text(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// `name` for people: Unicode where a label is internationalized
/// (`bücher.example`), without the final dot. For what a person reads;
/// what they type into a DNS record stays [`fqdn_text`].
pub fn display_text(name: &Name) -> String {
    name.to_utf8().trim_end_matches('.').to_lowercase()
}

fn rdata_text(data: &RData) -> String {
    match data {
        RData::CNAME(target) => fqdn_text(&target.0),
        RData::NS(ns) => fqdn_text(&ns.0),
        other => other.to_string(),
    }
}

/// `host` as a fully qualified DNS name.
pub fn name_of(host: &str) -> Name {
    let text = format!("{}.", host.trim_end_matches('.'));
    Name::from_ascii(&text).unwrap_or_else(|_| Name::root())
}

pub fn name_of_host(host: &Hostname) -> Name {
    name_of(host.as_str())
}

/// Where to ask, and how patiently.
#[derive(Debug, Clone)]
pub struct DnsSettings {
    /// Recursive resolvers; empty: the system's (`/etc/resolv.conf`).
    pub resolvers: Vec<SocketAddr>,
    /// The port authoritative nameservers are asked on (53; tests use loopback ports).
    pub nameserver_port: u16,
    /// Per query attempt.
    pub timeout: Duration,
    /// Nameserver addresses given instead of looked up: `(name, ip)`, the
    /// name `*` standing for every nameserver (the local stack).
    pub nameserver_addresses: Vec<(String, IpAddr)>,
    /// Which addresses found in customers' zones may be asked.
    pub outbound: Outbound,
}

impl DnsSettings {
    fn fixed_address(&self, nameserver: &str) -> Option<IpAddr> {
        self.nameserver_addresses
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(nameserver))
            .or_else(|| {
                self.nameserver_addresses
                    .iter()
                    .find(|(name, _)| name == "*")
            })
            .map(|(_, ip)| *ip)
    }
}

/// The verifier's DNS client.
pub struct Dns {
    settings: DnsSettings,
    recursive: TokioResolver,
    authoritative: Mutex<HashMap<IpAddr, TokioResolver>>,
    /// Lookups made (for the benchmark and logs).
    queries: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns")
            .field("settings", &self.settings)
            .finish()
    }
}

fn server(ip: IpAddr, port: u16) -> NameServerConfig {
    let mut udp = ConnectionConfig::new(ProtocolConfig::Udp);
    udp.port = port;
    let mut tcp = ConnectionConfig::new(ProtocolConfig::Tcp);
    tcp.port = port;
    let mut config = NameServerConfig::udp_and_tcp(ip);
    config.connections = vec![udp, tcp];
    config
}

fn build(
    config: ResolverConfig,
    recursion: bool,
    timeout: Duration,
) -> Result<TokioResolver, NetError> {
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    let options = builder.options_mut();
    options.cache_size = 0;
    options.timeout = timeout;
    options.attempts = 2;
    options.recursion_desired = recursion;
    options.use_hosts_file = ResolveHosts::Never;
    options.ndots = 0;
    options.preserve_intermediates = true;
    options.try_tcp_on_error = true;
    options.positive_max_ttl = Some(Duration::ZERO);
    options.negative_max_ttl = Some(Duration::ZERO);
    builder.build()
}

impl Dns {
    pub fn new(settings: DnsSettings) -> Result<Dns, String> {
        let recursive = if settings.resolvers.is_empty() {
            system_resolver(settings.timeout)?
        } else {
            let config = ResolverConfig::from_name_servers(
                settings
                    .resolvers
                    .iter()
                    .map(|addr| server(addr.ip(), addr.port()))
                    .collect(),
            );
            build(config, true, settings.timeout).map_err(|err| err.to_string())?
        };
        Ok(Dns {
            settings,
            recursive,
            authoritative: Mutex::new(HashMap::new()),
            queries: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn settings(&self) -> &DnsSettings {
        &self.settings
    }

    /// How many lookups this client has made.
    pub fn queries(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self, kind: DnsKind) {
        self.queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics().dns_query(kind);
    }

    fn nameserver(&self, ip: IpAddr) -> Result<TokioResolver, String> {
        let mut known = self.authoritative.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(resolver) = known.get(&ip) {
            return Ok(resolver.clone());
        }
        let config =
            ResolverConfig::from_name_servers(vec![server(ip, self.settings.nameserver_port)]);
        let resolver = build(config, false, self.settings.timeout).map_err(|e| e.to_string())?;
        known.insert(ip, resolver.clone());
        Ok(resolver)
    }

    /// Asks the recursive resolvers.
    pub async fn recursive(&self, name: &Name, record_type: RecordType) -> Answer {
        self.count(DnsKind::recursive);
        convert(
            DnsKind::recursive,
            self.recursive.lookup(name.clone(), record_type).await,
        )
    }

    /// The outbound rule, for the HTTP probes too.
    pub fn outbound(&self) -> Outbound {
        self.settings.outbound
    }

    /// Why `ip` may not be asked (`None`: it may). Addresses the operator
    /// configured are always asked.
    pub fn refusal(&self, ip: IpAddr) -> Option<String> {
        if self
            .settings
            .nameserver_addresses
            .iter()
            .any(|(_, fixed)| *fixed == ip)
        {
            return None;
        }
        self.settings
            .outbound
            .refusal(ip)
            .map(|class| refused_text(ip, class))
    }

    /// The first of a nameserver's `addresses` that may be asked, or why none.
    pub fn usable_address(&self, name: &str, addresses: &[IpAddr]) -> Result<IpAddr, String> {
        let mut why = format!("{name} has no address");
        for ip in addresses {
            match self.refusal(*ip) {
                None => return Ok(*ip),
                Some(refused) => why = format!("{name}: {refused}"),
            }
        }
        Err(why)
    }

    /// Asks one authoritative nameserver directly (no recursion); never one
    /// at an address the outbound rule refuses.
    pub async fn authoritative(&self, ip: IpAddr, name: &Name, record_type: RecordType) -> Answer {
        if let Some(why) = self.refusal(ip) {
            return Answer::Failed(format!("not asked: {why}"));
        }
        self.count(DnsKind::authoritative);
        match self.nameserver(ip) {
            Ok(resolver) => convert(
                DnsKind::authoritative,
                resolver.lookup(name.clone(), record_type).await,
            ),
            Err(why) => Answer::Failed(why),
        }
    }

    /// Asks the resolvers with DNSSEC checking disabled (the CD bit): what a
    /// non-validating lookup sees. hickory-resolver does not expose the CD
    /// bit, so this one query is sent by hand (UDP, first answering resolver).
    pub async fn recursive_unchecked(&self, name: &Name, record_type: RecordType) -> Answer {
        let mut last = Answer::Failed("no resolver configured".into());
        for resolver in &self.settings.resolvers {
            self.count(DnsKind::unchecked);
            last = raw_query(*resolver, name, record_type, self.settings.timeout).await;
            if !last.is_failed() {
                return last;
            }
        }
        last
    }

    /// Asks the resolvers for the NS records `name` owns (with checking
    /// disabled again where they answer SERVFAIL, so a zone whose DNSSEC is
    /// broken can still be asked directly).
    pub async fn recursive_ns(&self, name: &Name) -> Answer {
        let answer = self.recursive(name, RecordType::NS).await;
        if matches!(&answer, Answer::Failed(why) if why.contains("SERVFAIL")) {
            return self.recursive_unchecked(name, RecordType::NS).await;
        }
        answer
    }

    /// The address given for `nameserver` by the operator, if any.
    pub fn fixed_address(&self, nameserver: &str) -> Option<IpAddr> {
        self.settings.fixed_address(nameserver)
    }

    /// Asks the nameserver at `ip` directly, without recursion, for the SOA
    /// of `name`, and reads the whole reply (header, answer and authority
    /// sections): whether it answers with authority, for which zone, or
    /// refers further down. Never at an address the outbound rule refuses.
    pub async fn authority(&self, ip: IpAddr, name: &Name) -> Authority {
        if let Some(why) = self.refusal(ip) {
            return Authority::Silent(format!("not asked: {why}"));
        }
        let server = SocketAddr::new(ip, self.settings.nameserver_port);
        let mut last = String::new();
        // A lost datagram costs the short first wait, not the whole timeout:
        // under load (a sweep of many domains) waiting the full timeout
        // twice held a slot for seconds per drop.
        let full = self.settings.timeout;
        let first = (full / 4).max(Duration::from_millis(250)).min(full);
        for wait in [first, full] {
            self.count(DnsKind::authoritative);
            match exchange(server, name, RecordType::SOA, false, false, wait).await {
                Ok(reply) => return classify_authority(&reply, name),
                Err(why) => {
                    if why.contains("timed out") {
                        metrics().dns_timeout(DnsKind::authoritative);
                    }
                    last = why
                }
            }
        }
        Authority::Silent(last)
    }

    /// A nameserver's IPv4 addresses, else its IPv6 ones.
    pub async fn addresses_of(&self, name: &Name) -> Vec<IpAddr> {
        let mut v4 = self.recursive(name, RecordType::A).await.addresses();
        if v4.is_empty() && !self.settings.resolvers.is_empty() {
            v4 = self
                .recursive_unchecked(name, RecordType::A)
                .await
                .addresses();
        }
        if !v4.is_empty() {
            return v4;
        }
        self.recursive(name, RecordType::AAAA).await.addresses()
    }
}

fn system_resolver(timeout: Duration) -> Result<TokioResolver, String> {
    let mut builder = match TokioResolver::builder_tokio() {
        Ok(builder) => builder,
        Err(err) => {
            // No /etc/resolv.conf (a bare container): every lookup fails,
            // which the checks report as inconclusive; set dns_resolvers.
            tracing::warn!(error = %err, "cannot read the system's DNS resolvers; set PORTICO_DNS_RESOLVERS");
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(Vec::new()),
                TokioRuntimeProvider::default(),
            )
        }
    };
    let options = builder.options_mut();
    options.cache_size = 0;
    options.timeout = timeout;
    options.use_hosts_file = ResolveHosts::Never;
    options.ndots = 0;
    options.preserve_intermediates = true;
    builder.build().map_err(|err| err.to_string())
}

fn convert(kind: DnsKind, result: Result<hickory_resolver::lookup::Lookup, NetError>) -> Answer {
    match result {
        Ok(lookup) => Answer::Records(lookup.answers().to_vec()),
        Err(NetError::Dns(DnsError::NoRecordsFound(no))) => match no.response_code {
            ResponseCode::NXDomain => Answer::NxDomain,
            ResponseCode::NoError => Answer::NoData,
            code => Answer::Failed(rcode_text(code)),
        },
        Err(NetError::Dns(DnsError::ResponseCode(code))) => Answer::Failed(rcode_text(code)),
        Err(NetError::Timeout) => {
            metrics().dns_timeout(kind);
            Answer::Failed("no answer (timed out)".into())
        }
        Err(err) => Answer::Failed(err.to_string()),
    }
}

/// What one nameserver, asked directly, says about a name's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// Answers with authority (the AA bit) for `zone` (the owner of the SOA
    /// it shows; `None` when it shows none).
    Authoritative { zone: Option<Name> },
    /// Refers further down: `child` is delegated to `nameservers` (the NS
    /// records of the authority section), with the `glue` addresses given.
    Referral {
        child: Name,
        nameservers: Vec<Name>,
        glue: Vec<(Name, IpAddr)>,
    },
    /// Answers, but without authority for the name (a resolver or cache,
    /// a server for another zone, a referral upward), in words.
    NotAuthoritative(String),
    /// Answers with an error code: `REFUSED` (it does not host the zone),
    /// `SERVFAIL`, …
    Error(String),
    /// No usable answer: a timeout, a network error, garbage.
    Silent(String),
}

fn classify_authority(reply: &hickory_proto::op::Message, name: &Name) -> Authority {
    let soa_owner = reply
        .answers
        .iter()
        .chain(reply.authorities.iter())
        .find(|r| r.record_type() == RecordType::SOA)
        .map(|r| r.name.clone());
    match reply.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        code => return Authority::Error(rcode_text(code)),
    }
    if reply.metadata.authoritative {
        return match soa_owner {
            Some(zone) if !zone.zone_of(name) => Authority::NotAuthoritative(format!(
                "answers for another zone ({})",
                fqdn_text(&zone)
            )),
            zone => Authority::Authoritative { zone },
        };
    }
    let referral: Vec<&Record> = reply
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NS && r.name.zone_of(name))
        .collect();
    if let Some(first) = referral.first() {
        let child = first.name.clone();
        let nameservers: Vec<Name> = referral
            .iter()
            .filter(|r| r.name == child)
            .filter_map(|r| match &r.data {
                RData::NS(ns) => Some(ns.0.clone()),
                _ => None,
            })
            .collect();
        let glue = reply
            .additionals
            .iter()
            .filter(|r| nameservers.contains(&r.name))
            .filter_map(|r| match &r.data {
                RData::A(a) => Some((r.name.clone(), IpAddr::V4(a.0))),
                RData::AAAA(aaaa) => Some((r.name.clone(), IpAddr::V6(aaaa.0))),
                _ => None,
            })
            .collect();
        return Authority::Referral {
            child,
            nameservers,
            glue,
        };
    }
    Authority::NotAuthoritative("answers without authority (the AA bit is not set)".into())
}

/// One query by hand over UDP (again over TCP when the answer is
/// truncated): the whole reply, or why there is none. Replies that are not
/// DNS, or not to this query, are ignored until the time is up.
async fn exchange(
    server: SocketAddr,
    name: &Name,
    record_type: RecordType,
    recursion: bool,
    checking_disabled: bool,
    timeout: Duration,
) -> Result<hickory_proto::op::Message, String> {
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut query = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    query.metadata.recursion_desired = recursion;
    query.metadata.checking_disabled = checking_disabled;
    query.add_query(Query::query(name.clone(), record_type));
    let bytes = query
        .to_vec()
        .map_err(|_| "could not encode the query".to_string())?;
    let id = query.metadata.id;
    let matches = |reply: &Message| {
        reply.metadata.id == id
            && reply
                .queries
                .first()
                .is_none_or(|q| q.name() == name && q.query_type() == record_type)
    };
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let udp = async {
        let socket = tokio::net::UdpSocket::bind(bind).await?;
        socket.send_to(&bytes, server).await?;
        let mut buf = vec![0u8; 4096];
        loop {
            let (len, from) = socket.recv_from(&mut buf).await?;
            if from != server {
                continue;
            }
            if let Ok(reply) = Message::from_vec(&buf[..len]) {
                if matches(&reply) {
                    return Ok::<Message, std::io::Error>(reply);
                }
            }
        }
    };
    let reply = match tokio::time::timeout(timeout, udp).await {
        Err(_) => return Err("no answer (timed out)".into()),
        Ok(Err(err)) => return Err(err.to_string()),
        Ok(Ok(reply)) => reply,
    };
    if !reply.metadata.truncation {
        return Ok(reply);
    }
    let tcp = async {
        let mut stream = tokio::net::TcpStream::connect(server).await?;
        stream
            .write_all(&(bytes.len() as u16).to_be_bytes())
            .await?;
        stream.write_all(&bytes).await?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut buf).await?;
        Ok::<Vec<u8>, std::io::Error>(buf)
    };
    match tokio::time::timeout(timeout, tcp).await {
        Err(_) => Err("a truncated answer, and no answer over TCP (timed out)".into()),
        Ok(Err(err)) => Err(format!("a truncated answer, and over TCP: {err}")),
        Ok(Ok(buf)) => match Message::from_vec(&buf) {
            Ok(reply) if matches(&reply) => Ok(reply),
            _ => Err("a truncated answer, and garbage over TCP".into()),
        },
    }
}

/// One query by hand, recursion desired and checking disabled.
async fn raw_query(
    server: SocketAddr,
    name: &Name,
    record_type: RecordType,
    timeout: Duration,
) -> Answer {
    match exchange(server, name, record_type, true, true, timeout).await {
        Err(why) => {
            if why.contains("timed out") {
                metrics().dns_timeout(DnsKind::unchecked);
            }
            Answer::Failed(why)
        }
        Ok(reply) => match reply.metadata.response_code {
            ResponseCode::NXDomain => Answer::NxDomain,
            ResponseCode::NoError if reply.answers.is_empty() => Answer::NoData,
            ResponseCode::NoError => Answer::Records(reply.answers),
            code => Answer::Failed(rcode_text(code)),
        },
    }
}

fn rcode_text(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, MessageType, OpCode};
    use hickory_proto::rr::rdata::{A, NS, SOA};

    use super::*;

    fn reply(code: ResponseCode, authoritative: bool) -> Message {
        let mut reply = Message::new(1, MessageType::Response, OpCode::Query);
        reply.metadata.response_code = code;
        reply.metadata.authoritative = authoritative;
        reply
    }

    fn soa(zone: &str) -> Record {
        Record::from_rdata(
            name_of(zone),
            300,
            RData::SOA(SOA::new(
                name_of(&format!("ns1.{zone}")),
                name_of(&format!("hostmaster.{zone}")),
                1,
                3600,
                600,
                86400,
                60,
            )),
        )
    }

    fn ns(owner: &str, target: &str) -> Record {
        Record::from_rdata(name_of(owner), 300, RData::NS(NS(name_of(target))))
    }

    /// Every kind of answer a nameserver asked directly can give, read as
    /// what it says about its authority: never a panic, never a guess.
    #[test]
    fn a_direct_answer_is_read_for_authority() {
        let host = name_of("sales.example.com");
        let mut own = reply(ResponseCode::NXDomain, true);
        own.authorities.push(soa("example.com"));
        assert_eq!(
            classify_authority(&own, &host),
            Authority::Authoritative {
                zone: Some(name_of("example.com"))
            }
        );
        let mut other = reply(ResponseCode::NoError, true);
        other.authorities.push(soa("elsewhere.net"));
        assert!(matches!(
            classify_authority(&other, &host),
            Authority::NotAuthoritative(why) if why.contains("elsewhere.net")
        ));
        let mut referral = reply(ResponseCode::NoError, false);
        referral
            .authorities
            .push(ns("example.com", "ns1.dns-host.net"));
        referral.additionals.push(Record::from_rdata(
            name_of("ns1.dns-host.net"),
            300,
            RData::A(A([192, 0, 2, 53].into())),
        ));
        assert_eq!(
            classify_authority(&referral, &host),
            Authority::Referral {
                child: name_of("example.com"),
                nameservers: vec![name_of("ns1.dns-host.net")],
                glue: vec![(name_of("ns1.dns-host.net"), IpAddr::from([192, 0, 2, 53]))],
            }
        );
        // A referral to the root: upward, so no delegation to follow.
        let mut upward = reply(ResponseCode::NoError, false);
        upward.authorities.push(ns(".", "a.root-servers.net"));
        assert!(matches!(
            classify_authority(&upward, &host),
            Authority::Referral { child, .. } if child.is_root()
        ));
        let mut cache = reply(ResponseCode::NoError, false);
        cache.answers.push(soa("example.com"));
        assert!(matches!(
            classify_authority(&cache, &host),
            Authority::NotAuthoritative(_)
        ));
        assert_eq!(
            classify_authority(&reply(ResponseCode::Refused, false), &host),
            Authority::Error("REFUSED".into())
        );
        assert_eq!(
            classify_authority(&reply(ResponseCode::ServFail, true), &host),
            Authority::Error("SERVFAIL".into())
        );
    }
}
