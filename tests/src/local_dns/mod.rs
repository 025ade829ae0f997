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

mod admin;
mod page;
pub mod records;
mod zones;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

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
}

impl ProviderHandle {
    fn new(provider: Provider) -> ProviderHandle {
        let handle = ProviderHandle {
            catalog: LiveCatalog::new(provider.catalog()),
            forwards: ForwardTable::default(),
            provider: Arc::new(Mutex::new(provider)),
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
        let provider = ProviderHandle::new(provider);
        let dns = DnsServer::live(options.dns, provider.catalog.clone()).await?;
        let forwarder = match options.forward {
            Some(addr) => Some(Forwarder::serve(addr, provider.forwards.clone()).await?),
            None => None,
        };
        let (admin, admin_addr) = match options.admin {
            Some(addr) => {
                let listener = TcpListener::bind(addr).await?;
                let bound = listener.local_addr()?;
                let app = admin::router(provider.clone());
                let task = tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
                (Some(task), Some(bound))
            }
            None => (None, None),
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
