//! The provider's zones as hickory-server serves them: each with an SOA and
//! the provider's NS, plus the registry zone of `.test` (unregistered names
//! answer NXDOMAIN, as they would under `.com`). Rebuilt after every change.

use std::str::FromStr;
use std::sync::Arc;

use hickory_proto::rr::rdata::{NS, SOA};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};

use super::records::{rdata, DnsRecord, Provider, NAMESERVER};

/// The top-level domain the provider plays the registry of.
const REGISTRY_TLD: &str = "test";

impl Provider {
    /// Builds the zones as hickory serves them: each with an SOA and the
    /// provider's NS, plus the registry zone of `.test`.
    pub fn catalog(&self) -> Catalog {
        let mut catalog = Catalog::new();
        let serial = self.serial();
        let mut zones: Vec<(&str, &[DnsRecord])> = self.zones().collect();
        if !zones.iter().any(|(origin, _)| *origin == REGISTRY_TLD) {
            zones.push((REGISTRY_TLD, &[]));
        }
        for (origin, records) in zones {
            let announce = self
                .domain_connect_host
                .as_deref()
                .filter(|_| origin != REGISTRY_TLD);
            match zone_handler(origin, records, serial, announce) {
                Ok((name, handler)) => catalog.upsert(name, vec![handler]),
                // Records are validated on the way in; a zone that still
                // fails to build is left out rather than taking the server down.
                Err(err) => eprintln!("local DNS: zone {origin} left out: {err}"),
            }
        }
        catalog
    }
}

fn zone_handler(
    origin: &str,
    records: &[DnsRecord],
    serial: u32,
    domain_connect: Option<&str>,
) -> Result<(LowerName, Arc<dyn ZoneHandler>), String> {
    let origin_name = Name::from_str(&format!("{origin}.")).map_err(|e| e.to_string())?;
    let mut handler =
        InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::empty(
            origin_name.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        );
    let nameserver = Name::from_str(NAMESERVER).map_err(|e| e.to_string())?;
    let hostmaster = Name::from_str(&format!("hostmaster.{origin}.")).map_err(|e| e.to_string())?;
    handler.upsert_mut(
        Record::from_rdata(
            origin_name.clone(),
            300,
            RData::SOA(SOA::new(
                nameserver.clone(),
                hostmaster,
                serial,
                3600,
                600,
                86_400,
                60,
            )),
        ),
        serial,
    );
    handler.upsert_mut(
        Record::from_rdata(origin_name.clone(), 300, RData::NS(NS(nameserver))),
        serial,
    );
    // Domain Connect discovery, unless the zone holds its own record.
    let label = format!("_domainconnect.{origin}");
    if let Some(host) = domain_connect.filter(|_| !records.iter().any(|r| r.name == label)) {
        let name = Name::from_str(&format!("{label}.")).map_err(|e| e.to_string())?;
        let data = rdata(super::records::RecordKind::TXT, host).map_err(|e| e.message)?;
        handler.upsert_mut(Record::from_rdata(name, 300, data), serial);
    }
    for record in records {
        let name = Name::from_str(&format!("{}.", record.name)).map_err(|e| e.to_string())?;
        let data = rdata(record.kind, &record.value).map_err(|e| e.message)?;
        handler.upsert_mut(Record::from_rdata(name, record.ttl, data), serial);
    }
    Ok((LowerName::new(&origin_name), Arc::new(handler)))
}
