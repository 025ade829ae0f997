//! Domain Connect settings: the signing key (off without one), the label its
//! public key is published under, the name DNS providers show, where they
//! send the customer back to, and the secret the return's `state` is
//! signed with.

use std::sync::Arc;

use portico_shared::PlatformDomain;

use url::Url;

use super::apply::SigningKey;
use super::state::StateKey;
use super::template::Provider;
use crate::config::{invalid, ConfigError, RawSettings};

/// The standard's examples name the key's TXT record `_dcpubkeyv1`.
pub const DEFAULT_KEY_ID: &str = "_dcpubkeyv1";

#[derive(Debug, Clone)]
pub struct DomainConnectSettings {
    pub key: Arc<SigningKey>,
    pub provider: Provider,
    /// The control plane as the customer's browser reaches it
    /// (`domain_connect_return_url`; default `https://<platform domain>`):
    /// providers send it back to `<this>/v1/domain-connect/return`.
    pub return_url: Url,
    /// Signs the `state` (`domain_connect_state_secret`; default derived
    /// from the signing key, so replicas sharing the key agree).
    pub state_key: StateKey,
}

impl DomainConnectSettings {
    /// `None`: no key configured, Domain Connect is not offered.
    pub fn resolve(
        raw: &RawSettings,
        platform: &PlatformDomain,
    ) -> Result<Option<DomainConnectSettings>, ConfigError> {
        let Some(path) = raw.domain_connect_key_file.as_deref() else {
            if raw.domain_connect_key_id.is_some() || raw.domain_connect_provider_name.is_some() {
                return Err(invalid(
                    "domain_connect_key_file",
                    "Domain Connect settings are given but not its key file",
                ));
            }
            return Ok(None);
        };
        let pem = std::fs::read_to_string(path)
            .map_err(|e| invalid("domain_connect_key_file", format!("{path}: {e}")))?;
        let key_id = raw
            .domain_connect_key_id
            .as_deref()
            .unwrap_or(DEFAULT_KEY_ID);
        let key = SigningKey::from_pem(&pem, key_id)
            .map_err(|e| invalid("domain_connect_key_file", format!("{path}: {e}")))?;
        let mut provider = Provider::of_platform(platform);
        if let Some(name) = &raw.domain_connect_provider_name {
            provider.provider_name = name.clone();
        }
        let return_url = match raw.domain_connect_return_url.as_deref() {
            Some(text) => return_url(text)?,
            None => return_url(&format!("https://{}", platform.host().as_str()))?,
        };
        // Providers accept only redirects to the template's redirect domain.
        provider.sync_redirect_domain = return_url.host_str().unwrap_or_default().to_string();
        let state_key = match raw.domain_connect_state_secret.as_deref() {
            Some(secret) if secret.len() < 32 => {
                return Err(invalid(
                    "domain_connect_state_secret",
                    "use at least 32 characters (openssl rand -hex 32)",
                ))
            }
            Some(secret) => StateKey::from_secret(secret.as_bytes()),
            None => StateKey::derived_from_signing_key(&pem),
        };
        Ok(Some(DomainConnectSettings {
            key: Arc::new(key),
            provider,
            return_url,
            state_key,
        }))
    }

    /// Where the provider sends the browser back: the return endpoint.
    pub fn redirect_uri(&self) -> String {
        format!(
            "{}/v1/domain-connect/return",
            self.return_url.as_str().trim_end_matches('/')
        )
    }

    /// The dashboard's view of a domain.
    pub fn dashboard_url(&self, domain_id: &str) -> String {
        format!(
            "{}/#/domains/{domain_id}",
            self.return_url.as_str().trim_end_matches('/')
        )
    }

    /// The name of the key's TXT records: `<key id>.<platform domain>`.
    pub fn key_record_name(&self) -> String {
        format!(
            "{}.{}",
            self.key.key_id(),
            self.provider.sync_pub_key_domain
        )
    }
}

/// An http(s) URL with a host and nothing after its path.
fn return_url(text: &str) -> Result<Url, ConfigError> {
    let bad = |why: &str| invalid("domain_connect_return_url", format!("{text:?}: {why}"));
    let url = Url::parse(text.trim()).map_err(|_| bad("not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad(
            "use https://<the host customers reach the dashboard at>",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("no query, fragment or credentials"));
    }
    Ok(url)
}
