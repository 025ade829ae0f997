//! Domain Connect settings: the signing key (off without one), the label its
//! public key is published under, and the name DNS providers show.

use std::sync::Arc;

use portico_shared::PlatformDomain;

use super::apply::SigningKey;
use super::template::Provider;
use crate::config::{invalid, ConfigError, RawSettings};

/// The standard's examples name the key's TXT record `_dcpubkeyv1`.
pub const DEFAULT_KEY_ID: &str = "_dcpubkeyv1";

#[derive(Debug, Clone)]
pub struct DomainConnectSettings {
    pub key: Arc<SigningKey>,
    pub provider: Provider,
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
        Ok(Some(DomainConnectSettings {
            key: Arc::new(key),
            provider,
        }))
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
