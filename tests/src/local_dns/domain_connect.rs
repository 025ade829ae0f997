//! The local DNS provider speaks Domain Connect (synchronous flow), as a
//! real DNS provider does once a platform's templates are onboarded:
//!
//! - every zone announces the provider's API host in `_domainconnect.<zone>`
//!   TXT (`zones.rs`), unless the zone holds its own record;
//! - `GET /v2/{domain}/settings`: the settings document of a zone it holds;
//! - `GET /v2/domainTemplates/providers/{providerId}/services/{serviceId}`:
//!   the platform's template (the repo's `control/data/domain-connect/`,
//!   with the platform domain as `providerId` and `syncPubKeyDomain`), 404
//!   for any other;
//! - `GET …/apply?…&sig=…&key=…`: the consent page, after verifying the
//!   signature with the public key read over DNS from
//!   `<key>.<syncPubKeyDomain>` TXT (`p=1,a=RS256,d=…` parts), as the
//!   spec says; `POST` the same URL with `action=connect` writes the
//!   records (a CNAME; for a root, the `www` CNAME and the registrar's
//!   forward of the bare domain) and sends the browser to `redirect_uri`
//!   with the `state`; `action=cancel` sends it back with
//!   `error=access_denied`.
//!
//! `syncRedirectDomain` also names `127.0.0.1` and `localhost`, where the
//! local stack's control plane listens.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hickory_proto::rr::{RData, RecordType};
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;
use serde_json::{json, Value};

use super::page::escape;
use super::records::{NewForward, NewRecord, ProviderError};
use super::ProviderHandle;

/// Who the local provider says it is.
pub const PROVIDER_ID: &str = "dns-host.test";
pub const PROVIDER_NAME: &str = "Local DNS provider";

const SUBDOMAIN: &str = include_str!("../../../control/data/domain-connect/subdomain.json");
const ROOT: &str = include_str!("../../../control/data/domain-connect/root.json");

/// What the Domain Connect routes need besides the zones.
#[derive(Clone)]
pub struct DomainConnect {
    pub provider: ProviderHandle,
    /// `http://127.0.0.1:<admin port>`: urlSyncUX and urlAPI.
    pub base_url: String,
    /// The provider's own DNS server, asked for the platform's public key.
    pub dns: SocketAddr,
    pub platform_domain: String,
}

pub fn router(dc: DomainConnect) -> Router {
    Router::new()
        .route("/v2/{domain}/settings", get(settings))
        .route(
            "/v2/domainTemplates/providers/{provider_id}/services/{service_id}",
            get(template),
        )
        .route(
            "/v2/domainTemplates/providers/{provider_id}/services/{service_id}/apply",
            get(consent).post(apply),
        )
        .with_state(dc)
}

fn error(err: ProviderError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        Json(json!({ "error": { "code": err.code, "message": err.message } })),
    )
        .into_response()
}

fn refuse(status: u16, code: &'static str, message: impl Into<String>) -> ProviderError {
    ProviderError {
        status,
        code,
        message: message.into(),
    }
}

impl DomainConnect {
    /// The platform's template `service_id`, as onboarded here.
    fn template(&self, provider_id: &str, service_id: &str) -> Option<Value> {
        if !provider_id.eq_ignore_ascii_case(&self.platform_domain) {
            return None;
        }
        let text = match service_id {
            "subdomain" => SUBDOMAIN,
            "root" => ROOT,
            _ => return None,
        };
        let mut template: Value = serde_json::from_str(text).ok()?;
        let platform = self.platform_domain.clone();
        template["providerId"] = platform.clone().into();
        template["syncPubKeyDomain"] = platform.clone().into();
        template["syncRedirectDomain"] = format!("{platform},127.0.0.1,localhost").into();
        Some(template)
    }
}

async fn settings(State(dc): State<DomainConnect>, Path(domain): Path<String>) -> Response {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if !dc.provider.read(|p| p.holds_zone(&domain)) {
        return error(refuse(
            404,
            "not_found",
            format!("{domain} is not a zone of this provider"),
        ));
    }
    Json(json!({
        "providerId": PROVIDER_ID,
        "providerName": "Local DNS",
        "providerDisplayName": PROVIDER_NAME,
        "urlSyncUX": dc.base_url,
        "urlAPI": dc.base_url,
        "width": 750,
        "height": 750,
        "nameServers": ["ns1.dns-host.test"],
    }))
    .into_response()
}

async fn template(
    State(dc): State<DomainConnect>,
    Path((provider_id, service_id)): Path<(String, String)>,
) -> Response {
    match dc.template(&provider_id, &service_id) {
        Some(template) => Json(template).into_response(),
        None => error(refuse(
            404,
            "template_not_found",
            format!("no template {provider_id}/{service_id} here"),
        )),
    }
}

/// One record the template asks for, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Cname { name: String, target: String },
    Forward { host: String, to: String },
}

impl Change {
    fn describe(&self) -> String {
        match self {
            Change::Cname { name, target } => format!("CNAME {name} → {target}"),
            Change::Forward { host, to } => {
                format!("Forward http://{host} → {to} (301, path kept)")
            }
        }
    }
}

/// A verified apply request.
struct Apply {
    domain: String,
    changes: Vec<Change>,
    provider_name: String,
    redirect_uri: Option<String>,
    state: Option<String>,
}

async fn verified(
    dc: &DomainConnect,
    provider_id: &str,
    service_id: &str,
    raw: Option<String>,
) -> Result<Apply, ProviderError> {
    let template = dc
        .template(provider_id, service_id)
        .ok_or_else(|| refuse(404, "template_not_found", "no such template here"))?;
    let raw = raw.unwrap_or_default();
    // The signature covers the query up to `&sig=`; sig and key come last.
    let (signed, tail) = raw
        .split_once("&sig=")
        .ok_or_else(|| refuse(400, "unsigned", "the apply URL carries no sig"))?;
    let params: HashMap<String, String> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let tail: HashMap<String, String> =
        url::form_urlencoded::parse(format!("sig={tail}").as_bytes())
            .into_owned()
            .collect();
    let (Some(sig), Some(key)) = (tail.get("sig"), tail.get("key")) else {
        return Err(refuse(
            400,
            "unsigned",
            "sig and key come last in an apply URL",
        ));
    };
    let key_domain = template["syncPubKeyDomain"].as_str().unwrap_or_default();
    let public_key = public_key(dc.dns, key, key_domain).await?;
    verify_signature(&public_key, signed.as_bytes(), sig)?;

    let domain = params
        .get("domain")
        .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
        .ok_or_else(|| refuse(400, "invalid_query", "no domain"))?;
    if !dc.provider.read(|p| p.holds_zone(&domain)) {
        return Err(refuse(
            404,
            "not_found",
            format!("{domain} is not a zone here"),
        ));
    }
    let host = params.get("host").filter(|h| !h.is_empty()).cloned();
    if template["hostRequired"] == true && host.is_none() {
        return Err(refuse(400, "invalid_query", "this template needs a host"));
    }
    let base = match &host {
        Some(host) => format!("{host}.{domain}"),
        None => domain.clone(),
    };
    let fill = |text: &str| -> Result<String, ProviderError> {
        let mut out = text
            .replace("%domain%", &domain)
            .replace("%host%", host.as_deref().unwrap_or(""))
            .replace("%fqdn%", &base);
        for (name, value) in &params {
            out = out.replace(&format!("%{name}%"), value);
        }
        if out.contains('%') {
            return Err(refuse(
                400,
                "missing_variable",
                format!("{text}: a variable is missing"),
            ));
        }
        Ok(out)
    };
    let mut changes = Vec::new();
    for record in template["records"].as_array().cloned().unwrap_or_default() {
        let at = record["host"].as_str().unwrap_or("@");
        let name = if at == "@" {
            base.clone()
        } else {
            format!("{at}.{base}")
        };
        match record["type"].as_str() {
            Some("CNAME") => changes.push(Change::Cname {
                name,
                target: fill(record["pointsTo"].as_str().unwrap_or_default())?,
            }),
            Some("REDIR301") => changes.push(Change::Forward {
                host: name,
                to: fill(record["target"].as_str().unwrap_or_default())?,
            }),
            other => {
                return Err(refuse(
                    422,
                    "unsupported_record",
                    format!("this provider does not apply {other:?} records"),
                ))
            }
        }
    }
    let redirect_uri = params.get("redirect_uri").cloned();
    if let Some(uri) = &redirect_uri {
        let allowed = template["syncRedirectDomain"].as_str().unwrap_or_default();
        let host = url::Url::parse(uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let ok = allowed
            .split(',')
            .map(str::trim)
            .any(|d| !d.is_empty() && (host == d || host.ends_with(&format!(".{d}"))));
        if !ok {
            return Err(refuse(
                400,
                "invalid_redirect",
                format!("redirect_uri {uri} is not under {allowed}"),
            ));
        }
    }
    Ok(Apply {
        domain,
        changes,
        provider_name: template["providerName"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        redirect_uri,
        state: params.get("state").cloned(),
    })
}

/// The public key (DER SubjectPublicKeyInfo) from `<key>.<domain>` TXT.
async fn public_key(dns: SocketAddr, key: &str, domain: &str) -> Result<Vec<u8>, ProviderError> {
    let label_ok = !key.is_empty()
        && key.len() <= 63
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !label_ok {
        return Err(refuse(400, "invalid_key", "key is not one DNS label"));
    }
    let name = format!("{key}.{domain}.");
    let mut udp = ConnectionConfig::new(ProtocolConfig::Udp);
    udp.port = dns.port();
    let mut tcp = ConnectionConfig::new(ProtocolConfig::Tcp);
    tcp.port = dns.port();
    let mut server = NameServerConfig::udp_and_tcp(dns.ip());
    server.connections = vec![udp, tcp];
    let config = ResolverConfig::from_name_servers(vec![server]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    builder.options_mut().cache_size = 0;
    let resolver = builder
        .build()
        .map_err(|e| refuse(503, "dns_unavailable", e.to_string()))?;
    let lookup = resolver
        .lookup(name.as_str(), RecordType::TXT)
        .await
        .map_err(|e| refuse(403, "invalid_key", format!("no public key at {name}: {e}")))?;
    let mut parts: Vec<(u32, String)> = Vec::new();
    for record in lookup.answers() {
        let RData::TXT(txt) = &record.data else {
            continue;
        };
        let text: String = txt
            .txt_data
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        let fields: HashMap<&str, &str> =
            text.split(',').filter_map(|f| f.split_once('=')).collect();
        if fields.get("a").is_some_and(|a| *a != "RS256") {
            continue;
        }
        let (Some(p), Some(d)) = (fields.get("p"), fields.get("d")) else {
            continue;
        };
        parts.push((p.parse().unwrap_or(u32::MAX), d.to_string()));
    }
    parts.sort();
    let joined: String = parts.into_iter().map(|(_, d)| d).collect();
    BASE64.decode(joined).map_err(|_| {
        refuse(
            403,
            "invalid_key",
            format!("the key at {name} is not base64"),
        )
    })
}

fn verify_signature(spki_der: &[u8], data: &[u8], sig: &str) -> Result<(), ProviderError> {
    use spki::der::Decode;
    let info = spki::SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|_| refuse(403, "invalid_key", "the published key is not a public key"))?;
    let signature = BASE64
        .decode(sig)
        .map_err(|_| refuse(403, "invalid_signature", "sig is not base64"))?;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        info.subject_public_key.raw_bytes(),
    )
    .verify(data, &signature)
    .map_err(|_| {
        refuse(
            403,
            "invalid_signature",
            "the signature does not match the platform's published key",
        )
    })
}

async fn consent(
    State(dc): State<DomainConnect>,
    Path((provider_id, service_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let apply = match verified(&dc, &provider_id, &service_id, raw).await {
        Ok(apply) => apply,
        Err(err) => return error(err),
    };
    let items: String = apply
        .changes
        .iter()
        .map(|c| format!("<li>{}</li>", escape(&c.describe())))
        .collect();
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Connect {domain}</title></head>\
         <body><h1>{provider} wants to set up {domain}</h1>\
         <p>{who} will create these records in your zone <b>{domain}</b>:</p><ul id=\"changes\">{items}</ul>\
         <form method=\"post\"><button name=\"action\" value=\"connect\" id=\"connect\">Connect</button> \
         <button name=\"action\" value=\"cancel\" id=\"cancel\">Cancel</button></form></body></html>",
        domain = escape(&apply.domain),
        provider = escape(&apply.provider_name),
        who = escape(PROVIDER_NAME),
    ))
    .into_response()
}

#[derive(serde::Deserialize)]
struct Decision {
    action: String,
}

async fn apply(
    State(dc): State<DomainConnect>,
    Path((provider_id, service_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    Form(decision): Form<Decision>,
) -> Response {
    let apply = match verified(&dc, &provider_id, &service_id, raw).await {
        Ok(apply) => apply,
        Err(err) => return error(err),
    };
    let mut back: Vec<(&str, String)> = Vec::new();
    if decision.action == "connect" {
        let changes = apply.changes.clone();
        let written = dc.provider.change(|p| {
            for change in &changes {
                match change {
                    Change::Cname { name, target } => {
                        for kind in ["CNAME", "A", "AAAA", "TXT"] {
                            let _ = p.remove(name, kind, None);
                        }
                        let _ = p.remove_forward(name);
                        p.add(&NewRecord {
                            name: name.clone(),
                            kind: "CNAME".into(),
                            value: target.clone(),
                            ttl: Some(300),
                        })?;
                    }
                    Change::Forward { host, to } => {
                        let _ = p.remove(host, "CNAME", None);
                        p.set_forward(
                            host,
                            &NewForward {
                                to: to.clone(),
                                status: Some(301),
                                keep_path: Some(true),
                            },
                        )?;
                    }
                }
            }
            Ok(())
        });
        if let Err(err) = written {
            return error(err);
        }
    } else {
        back.push(("error", "access_denied".into()));
        back.push(("error_description", "user_cancel".into()));
    }
    let Some(uri) = apply.redirect_uri else {
        return Html(format!(
            "<!doctype html><p>Done: {} is set up.</p>",
            escape(&apply.domain)
        ))
        .into_response();
    };
    if let Some(state) = apply.state {
        back.push(("state", state));
    }
    let mut location = url::Url::parse(&uri).expect("checked in verified()");
    location.query_pairs_mut().extend_pairs(back);
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}
