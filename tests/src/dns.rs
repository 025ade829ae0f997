//! A real DNS server on loopback, the way hickory's own tests run one: a
//! `hickory_server::Server` over in-memory zones, answering UDP and TCP on
//! `127.0.0.x`. It plays customers' DNS providers (authoritative for their
//! zones) and, holding every zone of a scenario, the recursive resolvers the
//! verifier asks about propagation. Beside it, two misbehaving servers:
//! one that answers SERVFAIL (or times out), and a "validating resolver"
//! that SERVFAILs one zone as a resolver does when its DNSSEC is broken.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::NULL;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use hickory_server::Server;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use crate::{Error, Result};

/// One zone: its origin and records in zone-file syntax, relative to the
/// origin. An SOA is added; raw records (DS, DNSKEY, which hickory's text
/// parser leaves to its DNSSEC feature) can be added as wire bytes.
#[derive(Debug, Clone)]
pub struct Zone {
    pub origin: String,
    pub text: String,
    raw: Vec<(String, RecordType, Vec<u8>)>,
}

impl Zone {
    /// `Zone::new("example.test", "www CNAME katie.portico.test.\n@ NS ns1.dns.test.")`
    pub fn new(origin: &str, records: &str) -> Zone {
        Zone {
            origin: origin.trim_end_matches('.').to_string(),
            text: records.to_string(),
            raw: Vec::new(),
        }
    }

    /// Adds a record given as RDATA wire bytes (`name` relative to the origin, `@` for it).
    pub fn raw(mut self, name: &str, record_type: RecordType, rdata: Vec<u8>) -> Zone {
        self.raw.push((name.to_string(), record_type, rdata));
        self
    }

    fn handler(&self) -> Result<(LowerName, Arc<dyn ZoneHandler>)> {
        let origin = Name::from_str(&format!("{}.", self.origin))
            .map_err(|e| Error::msg(format!("zone origin {}: {e}", self.origin)))?;
        let text = format!(
            "$ORIGIN {origin}\n$TTL 300\n@ IN SOA ns1.{origin} hostmaster.{origin} 1 3600 600 86400 60\n{}\n",
            self.text
        );
        let (origin, records) = Parser::new(text, None, Some(origin.clone()))
            .parse()
            .map_err(|e| Error::msg(format!("zone {}: {e}", self.origin)))?;
        let mut handler =
            InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::new(
                origin.clone(),
                records,
                ZoneType::Primary,
                AxfrPolicy::Deny,
            )
            .map_err(Error::msg)?;
        for (name, record_type, rdata) in &self.raw {
            let owner = if name == "@" {
                origin.clone()
            } else {
                Name::from_str(name)
                    .map_err(|e| Error::msg(format!("{name}: {e}")))?
                    .append_domain(&origin)
                    .map_err(|e| Error::msg(format!("{name}: {e}")))?
            };
            let record = Record::from_rdata(
                owner,
                300,
                RData::Unknown {
                    code: *record_type,
                    rdata: NULL::with(rdata.clone()),
                },
            );
            handler.upsert_mut(record, 1);
        }
        Ok((LowerName::new(&origin), Arc::new(handler)))
    }
}

/// A running DNS server; stops when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    kind: Running,
}

enum Running {
    Hickory(Box<Server<Catalog>>),
    Live(Box<Server<LiveCatalog>>),
    Task(JoinHandle<()>, JoinHandle<()>),
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        match &self.kind {
            Running::Hickory(server) => server.shutdown_token().cancel(),
            Running::Live(server) => server.shutdown_token().cancel(),
            Running::Task(udp, tcp) => {
                udp.abort();
                tcp.abort();
            }
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener, SocketAddr)> {
    // The same port for UDP and TCP: bind UDP first, then TCP on its port,
    // retrying with a fresh port when TCP's is taken.
    for _ in 0..20 {
        let udp = UdpSocket::bind(addr).await?;
        let bound = udp.local_addr()?;
        match TcpListener::bind(bound).await {
            Ok(tcp) => return Ok((udp, tcp, bound)),
            Err(_) if addr.port() == 0 => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::msg(format!("no free UDP+TCP port on {}", addr.ip())))
}

impl DnsServer {
    /// Serves `zones` on `addr` (port 0: any free port).
    pub async fn start(addr: SocketAddr, zones: &[Zone]) -> Result<DnsServer> {
        let mut catalog = Catalog::new();
        for zone in zones {
            let (name, handler) = zone.handler()?;
            catalog.upsert(name, vec![handler]);
        }
        let (udp, tcp, bound) = bind(addr).await?;
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64);
        Ok(DnsServer {
            addr: bound,
            kind: Running::Hickory(Box::new(server)),
        })
    }

    /// Serves whatever `catalog` holds at the moment of each query, so zones
    /// can change while it runs (the local DNS provider).
    pub async fn live(addr: SocketAddr, catalog: LiveCatalog) -> Result<DnsServer> {
        let (udp, tcp, bound) = bind(addr).await?;
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64);
        Ok(DnsServer {
            addr: bound,
            kind: Running::Live(Box::new(server)),
        })
    }

    /// On 127.0.0.1, any port.
    pub async fn loopback(zones: &[Zone]) -> Result<DnsServer> {
        DnsServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), zones).await
    }

    /// Answers every query with SERVFAIL (`Some`), or never answers (`None`: timeouts).
    pub async fn broken(addr: SocketAddr, code: Option<ResponseCode>) -> Result<DnsServer> {
        DnsServer::custom(addr, move |query: &Message| {
            code.map(|code| Message::error_msg(query.metadata.id, OpCode::Query, code))
        })
        .await
    }

    /// A validating resolver whose validation of `zone` fails (a stale DS):
    /// SERVFAIL for names in `zone`, except the DS query for the zone itself,
    /// which its parent answers, and queries with checking disabled (CD);
    /// everything else is passed to `upstream`.
    pub async fn validating_resolver(
        addr: SocketAddr,
        upstream: SocketAddr,
        zone: &str,
    ) -> Result<DnsServer> {
        DnsServer::failing_resolver(addr, upstream, zone, true).await
    }

    /// A resolver for which `zone` is lame (its nameservers do not answer):
    /// SERVFAIL for every name in it, checking disabled or not, as real
    /// resolvers answer; everything else is passed to `upstream`.
    pub async fn lame_resolver(
        addr: SocketAddr,
        upstream: SocketAddr,
        zone: &str,
    ) -> Result<DnsServer> {
        DnsServer::failing_resolver(addr, upstream, zone, false).await
    }

    async fn failing_resolver(
        addr: SocketAddr,
        upstream: SocketAddr,
        zone: &str,
        validating: bool,
    ) -> Result<DnsServer> {
        let zone = Name::from_str(&format!("{}.", zone.trim_end_matches('.')))
            .map_err(|e| Error::msg(e.to_string()))?;
        let (udp, tcp, bound) = bind(addr).await?;
        drop(tcp);
        let udp = Arc::new(udp);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, from)) = udp.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(query) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                // With the CD bit (checking disabled) it answers like a
                // non-validating resolver, as real ones do.
                let broken = if validating {
                    !query.metadata.checking_disabled
                        && query.queries.first().is_some_and(|q| {
                            zone.zone_of(q.name())
                                && !(q.query_type() == RecordType::DS && q.name() == &zone)
                        })
                } else {
                    query
                        .queries
                        .first()
                        .is_some_and(|q| zone.zone_of(q.name()))
                };
                let answer = if broken {
                    let mut reply = Message::error_msg(
                        query.metadata.id,
                        OpCode::Query,
                        ResponseCode::ServFail,
                    );
                    reply.queries = query.queries.clone();
                    reply.metadata.recursion_desired = query.metadata.recursion_desired;
                    reply.metadata.recursion_available = true;
                    reply.to_vec().ok()
                } else {
                    forward(&buf[..len], upstream).await
                };
                if let Some(answer) = answer {
                    let _ = udp.send_to(&answer, from).await;
                }
            }
        });
        Ok(DnsServer {
            addr: bound,
            kind: Running::Task(task, tokio::spawn(async {})),
        })
    }

    /// Answers each query with what `answer` makes of it (`None`: silence).
    pub async fn custom(
        addr: SocketAddr,
        answer: impl Fn(&Message) -> Option<Message> + Send + Sync + 'static,
    ) -> Result<DnsServer> {
        let (udp, tcp, bound) = bind(addr).await?;
        let answer = Arc::new(answer);
        let udp_answer = answer.clone();
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, from)) = udp.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(query) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                if let Some(mut reply) = udp_answer(&query) {
                    reply.metadata.message_type = MessageType::Response;
                    reply.queries = query.queries.clone();
                    if let Ok(bytes) = reply.to_vec() {
                        let _ = udp.send_to(&bytes, from).await;
                    }
                }
            }
        });
        let tcp_task = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            loop {
                let Ok((mut stream, _)) = tcp.accept().await else {
                    return;
                };
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut len = [0u8; 2];
                    if stream.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
                    if stream.read_exact(&mut buf).await.is_err() {
                        return;
                    }
                    let Ok(query) = Message::from_vec(&buf) else {
                        return;
                    };
                    match answer(&query) {
                        Some(mut reply) => {
                            reply.metadata.message_type = MessageType::Response;
                            reply.queries = query.queries.clone();
                            if let Ok(bytes) = reply.to_vec() {
                                let _ = stream.write_all(&(bytes.len() as u16).to_be_bytes()).await;
                                let _ = stream.write_all(&bytes).await;
                            }
                        }
                        // Hold the connection open without answering.
                        None => tokio::time::sleep(Duration::from_secs(30)).await,
                    }
                });
            }
        });
        Ok(DnsServer {
            addr: bound,
            kind: Running::Task(udp_task, tcp_task),
        })
    }
}

/// A catalog that can be replaced while a server answers from it: each
/// query is answered by the catalog current when it arrives.
#[derive(Clone)]
pub struct LiveCatalog(Arc<RwLock<Arc<Catalog>>>);

impl LiveCatalog {
    pub fn new(catalog: Catalog) -> LiveCatalog {
        LiveCatalog(Arc::new(RwLock::new(Arc::new(catalog))))
    }

    pub fn replace(&self, catalog: Catalog) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(catalog);
    }

    fn current(&self) -> Arc<Catalog> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait::async_trait]
impl RequestHandler for LiveCatalog {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let catalog = self.current();
        catalog
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

async fn forward(query: &[u8], upstream: SocketAddr) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind(SocketAddr::new(upstream.ip(), 0))
        .await
        .ok()?;
    socket.send_to(query, upstream).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let (len, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    buf.truncate(len);
    Some(buf)
}

/// `127.0.0.n`: loopback addresses other than 127.0.0.1 let several
/// nameservers of one zone share a port (the verifier reaches every
/// nameserver on one configurable port, as it does port 53 in production).
pub fn loopback(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

/// The key tag of a DNSKEY RDATA (RFC 4034, appendix B), for test DS records.
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

/// A DNSKEY RDATA (zone key, protocol 3, algorithm 13) with `key` as its public key.
pub fn dnskey_rdata(key: &[u8]) -> Vec<u8> {
    let mut rdata = vec![0x01, 0x01, 3, 13];
    rdata.extend_from_slice(key);
    rdata
}

/// A DS RDATA naming the key with `key_tag` (algorithm 13, SHA-256, a dummy digest).
pub fn ds_rdata(key_tag: u16) -> Vec<u8> {
    let mut rdata = key_tag.to_be_bytes().to_vec();
    rdata.extend_from_slice(&[13, 2]);
    rdata.extend_from_slice(&[0xAB; 32]);
    rdata
}
