//! Portico's pure core, shared by the edge worker (wasm32) and the control
//! plane (native): hostname and path rules, validation of what customers
//! type (hostnames, slugs, external URLs), the KV record schema, and the
//! routing decision. No I/O, no clock, no randomness: facts come in as
//! arguments and decisions go out as data.
//!
//! Features: `customer-input` (default) adds IDNA mapping of Unicode names
//! and the Public Suffix List, which the edge does not need; `wasm` adds the
//! wasm-bindgen API that dashboards load.

pub mod address;
pub mod apex;
#[cfg(feature = "customer-input")]
pub mod checks;
pub mod host;
pub mod integration;
pub mod lifecycle;
pub mod link_path;
pub mod origin_context;
pub mod ownership;
pub mod pages;
pub mod path;
pub mod record;
pub mod reverse_proxy;
pub mod route;
pub mod special_use;
pub mod text;
pub mod url;
#[cfg(feature = "wasm")]
pub mod wasm;

pub use apex::{Apex, ApexAddresses, ApexError, ApexSetup, MainAddress};
pub use host::{HostError, Hostname, Username, UsernameError};
pub use integration::{
    AddressRecord, DnsRecord, DomainError, Integration, IntegrationKind, PlatformDomain,
    RootForward,
};
pub use link_path::{LinkPath, LinkPathError, LinkPattern, OriginPath, OriginPathError};
pub use path::{RequestPath, Slug, SlugError};
pub use record::{
    ContentDigest, HostRecord, PathEntry, PathRecord, RecordError, RoutingKeys, Target,
};
pub use route::{
    route, Decision, EdgeSettings, Facts, Lookup, Problem, Request, Scheme, Via, Visit,
};
pub use url::{ExternalUrl, UrlError};
