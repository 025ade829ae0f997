//! Domain Connect, synchronous flow (the DNS configuration standard that
//! GoDaddy, IONOS, Cloudflare and others implement; spec:
//! <https://github.com/Domain-Connect/spec>, now an IETF working-group
//! draft). Instead of typing records, the customer follows a link to their
//! DNS provider, consents, and is sent back; the provider creates the
//! records of the platform's template.
//!
//! - [`template`]: the platform's templates, kept in the standard's JSON
//!   format in `control/data/domain-connect/` (one per service: a
//!   subdomain's CNAME; a root's `www` CNAME and bare-domain redirect).
//! - [`settings`]: the platform's key and names (`PORTICO_DOMAIN_CONNECT_*`).
//! - [`apply`]: the signed apply URL (RS256 over the query string, the
//!   public key published in DNS as `p=…,a=RS256,d=…` TXT records).
//! - [`discovery`]: what discovery reads (the `_domainconnect` TXT record and
//!   the provider's settings document), checked before anything is linked.
//! - [`lookup`]: discovery over the wire (DNS, then HTTP to permitted
//!   addresses only).
//! - [`state`]: the signed, expiring `state` the provider hands back.
//! - [`offer`]: what the API answers: the signed apply URL, or why not and
//!   the manual steps.

pub mod apply;
pub mod discovery;
pub mod lookup;
pub mod offer;
pub mod settings;
pub mod state;
pub mod template;
