//! The customers' DNS provider and registrar of the local stack, in one
//! piece: an authoritative DNS server (hickory-server, UDP and TCP) whose
//! records change while it runs, the registrar's URL forwarding (an HTTP
//! server answering each forwarded Host), and an admin HTTP server: a JSON
//! API and a small HTML page where a newcomer plays the customer's DNS
//! provider. `portico-local-dns --admin … --forward …` runs it as a process;
//! tests run it in-process with [`LocalDns::start`].
//!
//! Admin API (errors are `{"error":{"code","message"}}` with a 4xx):
//! - `GET /api/records` → `{"records":[{name,type,value,ttl}]}`
//! - `POST /api/records` `{name,type,value,ttl?}` → 201 with the record
//! - `DELETE /api/records?name=…&type=…[&value=…]` → 204, 404 if none
//! - `GET /api/forwards` → `{"forwards":[{host,to,status,keep_path}]}`
//! - `PUT /api/forwards/{host}` `{to,status?,keep_path?}` → 200 with the forward
//! - `DELETE /api/forwards/{host}` → 204, 404 if none
//! - `GET /` → the HTML page
//! - Domain Connect (`domain_connect.rs`): `/v2/{domain}/settings`, the
//!   template-support endpoint and the apply/consent page; every zone
//!   announces it in `_domainconnect` TXT
//!
//! With a state file (`--state`, `LocalDnsOptions::state`), what was created
//! through the API or the page outlives a restart, as a real provider's
//! records do: the file is rewritten after every change and replayed at
//! start, after the zone files.

mod admin;
pub mod domain_connect;
mod page;
pub mod records;
mod zones;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::dns::{DnsServer, LiveCatalog};
use crate::forwarder::{ForwardTable, Forwarder};
use crate::Result;
use records::{DnsRecord, ForwardRule, NewForward, NewRecord, Provider, ProviderError};

/// Where each part listens; port 0 picks a free one. `None`: not started.
#[derive(Debug, Clone)]
pub struct LocalDnsOptions {
    pub dns: SocketAddr,
    pub admin: Option<SocketAddr>,
    pub forward: Option<SocketAddr>,
    /// Its zone (`*.<platform domain>` → 127.0.0.1) is served from the start.
    pub platform_domain: String,
    /// Zone files to load first: `(origin, text relative to the origin)`.
    pub zones: Vec<(String, String)>,
    /// Where records and forwards are kept between runs; `None`: in memory only.
    pub state: Option<PathBuf>,
    /// Speak Domain Connect on the admin server (and announce it in DNS).
    pub domain_connect: bool,
}

impl Default for LocalDnsOptions {
    fn default() -> LocalDnsOptions {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        LocalDnsOptions {
            dns: any,
            admin: Some(any),
            forward: Some(any),
            platform_domain: "portico.test".into(),
            zones: Vec::new(),
            state: None,
            domain_connect: true,
        }
    }
}

/// The provider's state, shared by the admin server and in-process callers.
/// Every change is made on a copy and published (DNS and forwards) only
/// when it succeeded, so a refused change leaves nothing half done.
#[derive(Clone)]
pub struct ProviderHandle {
    provider: Arc<Mutex<Provider>>,
    catalog: LiveCatalog,
    forwards: ForwardTable,
    state: Option<Arc<PathBuf>>,
}

/// The state file: what the provider's API lists.
#[derive(Serialize, Deserialize, Default)]
struct SavedState {
    records: Vec<DnsRecord>,
    forwards: Vec<ForwardRule>,
}

impl SavedState {
    /// What `path` holds; nothing when it does not exist yet.
    fn load(path: &Path) -> Result<SavedState> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                crate::Error::msg(format!(
                    "{}: not a state file of portico-local-dns ({err}); move it away to start afresh",
                    path.display()
                ))
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(SavedState::default()),
            Err(err) => Err(err.into()),
        }
    }

    /// Forwards first (they make their A records), then the records; one
    /// already there (from a zone file, or made by its forward) is skipped,
    /// and one that no longer applies (say, the platform domain changed) is
    /// left out with a warning rather than keeping the provider from starting.
    fn replay(self, provider: &mut Provider) {
        for forward in self.forwards {
            let new = NewForward {
                to: forward.to,
                status: Some(forward.status),
                keep_path: Some(forward.keep_path),
            };
            if let Err(err) = provider.set_forward(&forward.host, &new) {
                eprintln!(
                    "portico-local-dns: kept forward of {} left out: {err}",
                    forward.host
                );
            }
        }
        let present = provider.records();
        for record in self.records.into_iter().filter(|r| !present.contains(r)) {
            let new = NewRecord {
                name: record.name.clone(),
                kind: record.kind.as_str().to_string(),
                value: record.value.clone(),
                ttl: Some(record.ttl),
            };
            if let Err(err) = provider.add(&new) {
                eprintln!(
                    "portico-local-dns: kept record {} {} left out: {err}",
                    record.name,
                    record.kind.as_str()
                );
            }
        }
    }

    /// Written whole to a temporary file, then renamed over the old one.
    fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&tmp, path)
    }
}

impl ProviderHandle {
    fn new(provider: Provider, state: Option<PathBuf>) -> ProviderHandle {
        let handle = ProviderHandle {
            catalog: LiveCatalog::new(provider.catalog()),
            forwards: ForwardTable::default(),
            provider: Arc::new(Mutex::new(provider)),
            state: state.map(Arc::new),
        };
        handle.forwards.replace(handle.read(|p| p.forward_table()));
        handle
    }

    fn read<T>(&self, f: impl FnOnce(&Provider) -> T) -> T {
        f(&self.provider.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn change<T>(
        &self,
        f: impl FnOnce(&mut Provider) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let mut current = self.provider.lock().unwrap_or_else(|e| e.into_inner());
        let mut draft = current.clone();
        let result = f(&mut draft)?;
        self.catalog.replace(draft.catalog());
        self.forwards.replace(draft.forward_table());
        if let Some(path) = &self.state {
            let saved = SavedState {
                records: draft.records(),
                forwards: draft.forwards(),
            };
            if let Err(err) = saved.save(path) {
                // The change stands (it is served); only its keeping failed.
                eprintln!(
                    "portico-local-dns: cannot keep the state in {}: {err}",
                    path.display()
                );
            }
        }
        *current = draft;
        Ok(result)
    }

    pub fn records(&self) -> Vec<DnsRecord> {
        self.read(Provider::records)
    }

    pub fn forwards(&self) -> Vec<ForwardRule> {
        self.read(Provider::forwards)
    }

    /// Creates a record; it is answered from the next query on.
    pub fn add_record(&self, record: &NewRecord) -> Result<DnsRecord, ProviderError> {
        self.change(|p| p.add(record))
    }

    pub fn remove_records(
        &self,
        name: &str,
        kind: &str,
        value: Option<&str>,
    ) -> Result<usize, ProviderError> {
        self.change(|p| p.remove(name, kind, value))
    }

    pub fn set_forward(
        &self,
        host: &str,
        forward: &NewForward,
    ) -> Result<ForwardRule, ProviderError> {
        self.change(|p| p.set_forward(host, forward))
    }

    pub fn remove_forward(&self, host: &str) -> Result<ForwardRule, ProviderError> {
        self.change(|p| p.remove_forward(host))
    }
}

/// A running local DNS provider and registrar; stops when dropped.
pub struct LocalDns {
    /// The DNS server (UDP and TCP on the same port).
    pub dns_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    pub forward_addr: Option<SocketAddr>,
    pub provider: ProviderHandle,
    _dns: DnsServer,
    _forwarder: Option<Forwarder>,
    admin: Option<JoinHandle<()>>,
}

impl Drop for LocalDns {
    fn drop(&mut self) {
        if let Some(admin) = &self.admin {
            admin.abort();
        }
    }
}

impl LocalDns {
    pub async fn start(options: LocalDnsOptions) -> Result<LocalDns> {
        let mut provider = Provider::with_builtin_zones(&options.platform_domain);
        for (origin, text) in &options.zones {
            provider
                .load_zone_text(origin, text)
                .map_err(|e| crate::Error::msg(format!("zone {origin}: {e}")))?;
        }
        if let Some(path) = &options.state {
            SavedState::load(path)?.replay(&mut provider);
        }
        // The admin port is known before the zones are built: they announce it.
        let admin_listener = match options.admin {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let admin_addr = match &admin_listener {
            Some(listener) => Some(listener.local_addr()?),
            None => None,
        };
        if options.domain_connect {
            provider.domain_connect_host = admin_addr.map(|a| a.to_string());
        }
        let provider = ProviderHandle::new(provider, options.state.clone());
        let dns = DnsServer::live(options.dns, provider.catalog.clone()).await?;
        let forwarder = match options.forward {
            Some(addr) => Some(Forwarder::serve(addr, provider.forwards.clone()).await?),
            None => None,
        };
        let admin = match (admin_listener, admin_addr) {
            (Some(listener), Some(bound)) => {
                let mut app = admin::router(provider.clone());
                if options.domain_connect {
                    app = app.merge(domain_connect::router(domain_connect::DomainConnect {
                        provider: provider.clone(),
                        base_url: format!("http://{bound}"),
                        dns: dns.addr,
                        platform_domain: options
                            .platform_domain
                            .trim_end_matches('.')
                            .to_ascii_lowercase(),
                    }));
                }
                Some(tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                }))
            }
            _ => None,
        };
        Ok(LocalDns {
            dns_addr: dns.addr,
            admin_addr,
            forward_addr: forwarder.as_ref().map(|f| f.addr),
            provider,
            _dns: dns,
            _forwarder: forwarder,
            admin,
        })
    }
}
