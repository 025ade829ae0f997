//! What the platform offers for one domain: the signed apply URL (with a
//! fresh `state` and the return endpoint as `redirect_uri`), or why not.

use portico_shared::{Integration, IntegrationKind};

use super::apply::ApplyRequest;
use super::discovery::{NotOffered, ProviderSettings};
use super::settings::DomainConnectSettings;
use super::state::{new_state, ReturnState};
use super::template::{Service, TARGET_VARIABLE};
use crate::verify::dns::Dns;

/// A button the dashboard may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    pub apply_url: String,
    pub state: String,
    pub redirect_uri: String,
    /// Who the customer is sent to (the provider's display name).
    pub provider_name: String,
    pub expires_at_ms: i64,
}

/// The zone and the host within it that `integration`'s template is
/// applied to: `shop.example` with `sales`, or the zone itself for a root.
pub fn zone_and_host(integration: &Integration) -> (String, Option<String>) {
    let zone = integration.root.as_str().to_string();
    let host = match integration.kind {
        IntegrationKind::Root => None,
        IntegrationKind::Subdomain => integration
            .served_host
            .as_str()
            .strip_suffix(&format!(".{zone}"))
            .map(str::to_string),
    };
    (zone, host)
}

/// The apply request for a domain whose provider is `provider` (pure).
pub fn apply_request(
    dc: &DomainConnectSettings,
    provider: &ProviderSettings,
    integration: &Integration,
    target: &str,
    state: &ReturnState,
) -> ApplyRequest {
    let (domain, host) = zone_and_host(integration);
    ApplyRequest {
        url_sync_ux: provider.url_sync_ux.clone().unwrap_or_default(),
        provider_id: dc.provider.provider_id.clone(),
        service: Service::for_integration(integration),
        domain,
        host,
        variables: vec![(TARGET_VARIABLE.to_string(), target.to_string())],
        redirect_uri: Some(dc.redirect_uri()),
        state: Some(dc.state_key.seal(state)),
    }
}

/// Discovers the domain's provider and, if it supports the platform's
/// template, signs an apply URL for it.
pub async fn offer(
    dc: &DomainConnectSettings,
    dns: &Dns,
    integration: &Integration,
    target: &str,
    ids: (&str, &str),
    now_ms: i64,
) -> Result<Offered, NotOffered> {
    let (domain_id, account_id) = ids;
    let service = Service::for_integration(integration);
    let (zone, _) = zone_and_host(integration);
    let provider = super::lookup::discover(dns, &zone, &dc.provider.provider_id, service).await?;
    let state = new_state(domain_id, account_id, rand::random(), now_ms);
    let request = apply_request(dc, &provider, integration, target, &state);
    Ok(Offered {
        apply_url: request.signed_url(&dc.key),
        state: request.state.clone().unwrap_or_default(),
        redirect_uri: dc.redirect_uri(),
        provider_name: provider.display_name().to_string(),
        expires_at_ms: state.expires_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_shared::PlatformDomain;

    #[test]
    fn a_subdomain_is_a_host_in_its_zone_and_a_root_is_the_zone() {
        let platform = PlatformDomain::parse("portico.test").unwrap();
        let sub = Integration::classify("sales.shop.example", &platform).unwrap();
        assert_eq!(
            zone_and_host(&sub),
            ("shop.example".into(), Some("sales".into()))
        );
        let root = Integration::classify("www.shop.example", &platform).unwrap();
        assert_eq!(zone_and_host(&root), ("shop.example".into(), None));
    }
}
