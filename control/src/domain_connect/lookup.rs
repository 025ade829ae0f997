//! Discovery over the wire: the `_domainconnect` TXT record through the
//! verifier's DNS client, the provider's settings document over HTTP(S),
//! then whether the provider has the platform's template. Every request
//! goes to an address the verifier's outbound rule permits (no private
//! addresses unless the deployment allows them), is bounded in time and
//! size, and follows no redirect. The rules about what comes back live in
//! [`super::discovery`]; this module only fetches.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::rr::{RData, RecordType};
use url::{Host, Url};

use super::discovery::{self, NotOffered, ProviderSettings, Schemes};
use super::template::Service;
use crate::verify::dns::{name_of, Dns};
use crate::verify::observe::http::{probe, Probe};
use crate::verify::outbound::refused_text;

/// Each request's time, and the whole discovery's.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(8);

/// The provider of `zone`, if it supports `service` of `provider_id`.
pub async fn discover(
    dns: &Dns,
    zone: &str,
    provider_id: &str,
    service: Service,
) -> Result<ProviderSettings, NotOffered> {
    match tokio::time::timeout(
        DISCOVERY_TIMEOUT,
        discover_now(dns, zone, provider_id, service),
    )
    .await
    {
        Ok(found) => found,
        Err(_) => Err(NotOffered::Unreadable(format!(
            "no answer within {} s",
            DISCOVERY_TIMEOUT.as_secs()
        ))),
    }
}

async fn discover_now(
    dns: &Dns,
    zone: &str,
    provider_id: &str,
    service: Service,
) -> Result<ProviderSettings, NotOffered> {
    let values = txt_values(dns, &format!("_domainconnect.{zone}")).await?;
    let api_host = discovery::api_host(&values)?;
    let schemes = if dns.outbound().allow_private {
        Schemes::AlsoHttp
    } else {
        Schemes::HttpsOnly
    };
    let url = discovery::settings_url(&api_host, zone, schemes);
    let body = match get(dns, &url).await? {
        (200, body) => body,
        (404, _) => {
            return Err(NotOffered::Unreadable(format!(
                "{url} answered 404: the provider does not hold {zone}"
            )))
        }
        (status, _) => {
            return Err(NotOffered::Unreadable(format!("{url} answered {status}")));
        }
    };
    let settings = discovery::parse(body.as_bytes(), schemes)?;
    // The customer's browser is sent to the sync URL: it must be public too.
    let sync = settings.url_sync_ux.clone().unwrap_or_default();
    permitted_address(dns, &discovery::check_url(&sync, schemes)?).await?;
    let support = format!(
        "{}/v2/domainTemplates/providers/{provider_id}/services/{}",
        settings.url_api.trim_end_matches('/'),
        service.id()
    );
    match get(dns, &support).await? {
        (200, body) => template_matches(&body, provider_id, service)?,
        (404, _) => return Err(NotOffered::TemplateUnsupported(service.id().to_string())),
        (status, _) => {
            return Err(NotOffered::Unreadable(format!(
                "{support} answered {status}"
            )))
        }
    }
    Ok(settings)
}

/// The support endpoint may answer the template itself: if it does, it must
/// be ours (a provider answering another template does not have ours).
fn template_matches(body: &str, provider_id: &str, service: Service) -> Result<(), NotOffered> {
    let Ok(serde_json::Value::Object(template)) = serde_json::from_str(body) else {
        return Ok(());
    };
    let same = |field: &str, want: &str| {
        template
            .get(field)
            .and_then(|v| v.as_str())
            .is_none_or(|got| got.eq_ignore_ascii_case(want))
    };
    if same("providerId", provider_id) && same("serviceId", service.id()) {
        Ok(())
    } else {
        Err(NotOffered::TemplateUnsupported(format!(
            "{}: the provider answered another template",
            service.id()
        )))
    }
}

/// The TXT values at `name`, through the recursive resolvers.
async fn txt_values(dns: &Dns, name: &str) -> Result<Vec<String>, NotOffered> {
    let name = name_of(name);
    match dns.recursive(&name, RecordType::TXT).await {
        crate::verify::dns::Answer::Failed(why) => Err(NotOffered::Unreadable(format!(
            "the _domainconnect TXT record could not be looked up: {why}"
        ))),
        answer => Ok(answer
            .owned_by(&name, RecordType::TXT)
            .into_iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|part| String::from_utf8_lossy(part))
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect()),
    }
}

/// The address `url`'s host is reached at, if the outbound rule permits one.
async fn permitted_address(dns: &Dns, url: &Url) -> Result<SocketAddr, NotOffered> {
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match url.host() {
        Some(Host::Ipv4(ip)) => vec![ip.into()],
        Some(Host::Ipv6(ip)) => vec![ip.into()],
        Some(Host::Domain(domain)) => dns.addresses_of(&name_of(domain)).await,
        None => Vec::new(),
    };
    let refused = |why: String| NotOffered::Refused {
        url: url.to_string(),
        why,
    };
    let mut why = "its host has no address".to_string();
    for ip in addresses {
        match dns.outbound().refusal(ip) {
            None => return Ok(SocketAddr::new(ip, port)),
            Some(class) => why = refused_text(ip, class),
        }
    }
    Err(refused(why))
}

/// GETs `url` at a permitted address: status and (at most 64 KiB of) body.
async fn get(dns: &Dns, url: &str) -> Result<(u16, String), NotOffered> {
    let parsed = Url::parse(url).map_err(|_| NotOffered::Refused {
        url: url.to_string(),
        why: "not an absolute URL".into(),
    })?;
    let addr = permitted_address(dns, &parsed).await?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    match probe(url, &host, addr, REQUEST_TIMEOUT).await {
        Probe::Answered { status, body, .. } => Ok((status, body)),
        Probe::Unreachable(why) => Err(NotOffered::Unreadable(format!("{url}: {why}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_support_answer_naming_another_template_is_a_refusal() {
        let ours = r#"{"providerId":"portico.test","serviceId":"root","records":[]}"#;
        assert!(template_matches(ours, "portico.test", Service::Root).is_ok());
        assert!(template_matches("", "portico.test", Service::Root).is_ok());
        let other = r#"{"providerId":"other.test","serviceId":"root"}"#;
        assert!(matches!(
            template_matches(other, "portico.test", Service::Root),
            Err(NotOffered::TemplateUnsupported(_))
        ));
    }
}
