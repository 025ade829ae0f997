//! The wasm-bindgen API dashboards load (built by `scripts/build-wasm-pkg`):
//! every function returns `{ ok, value }` or `{ ok: false, error: { code,
//! message } }`, exactly as [`crate::checks`] does natively.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::checks;

fn to_js<T: Serialize>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).unwrap_or(JsValue::NULL)
}

/// `normalizeHostname("Bücher.Example:443")` → `{ ok, value: { ascii, unicode } }`.
#[wasm_bindgen(js_name = normalizeHostname)]
pub fn normalize_hostname(input: &str) -> JsValue {
    to_js(&checks::normalize_hostname(input))
}

/// `classifyDomain("example.com", "pages.example.net", "katie")` → root or
/// subdomain, the served host, the CNAME and (roots) the forward to create.
#[wasm_bindgen(js_name = classifyDomain)]
pub fn classify_domain(input: &str, platform_domain: &str, username: Option<String>) -> JsValue {
    to_js(&checks::classify_domain(
        input,
        platform_domain,
        username.as_deref(),
    ))
}

#[wasm_bindgen(js_name = checkSlug)]
pub fn check_slug(input: &str) -> JsValue {
    to_js(&checks::check_slug(input))
}

#[wasm_bindgen(js_name = checkUsername)]
pub fn check_username(input: &str) -> JsValue {
    to_js(&checks::check_username(input))
}

/// Checks an Index/404 URL for `domain` (as the customer added it).
#[wasm_bindgen(js_name = checkExternalUrl)]
pub fn check_external_url(url: &str, domain: &str, platform_domain: &str) -> JsValue {
    to_js(&checks::check_external_url(url, domain, platform_domain))
}
