//! Origin mounts and certificate validation: the visitor's request, passed
//! to the platform origin as a reverse proxy, by the rules in
//! `portico_shared::reverse_proxy` and with the signed context of
//! `portico_shared::origin_context`.
//!
//! - Any method; the request body and the answer's body are the runtime's
//!   streams, handed on as they are: never read into wasm memory, so a
//!   100 MB video costs the isolate nothing but the stream.
//! - Request headers as sent (`Range`, `Cookie`, ...), minus hop-by-hop ones,
//!   `Host`, forwarding headers and every `X-Portico-*` a visitor sent; plus
//!   `X-Forwarded-Host`/`-Proto` (and `-For` from `CF-Connecting-IP`) and the
//!   signed `X-Portico-Context`.
//! - A WebSocket upgrade is fetched with its `Upgrade` header; the runtime
//!   answers 101 with the socket, which goes back to the visitor untouched.
//! - Redirects are not followed; `Location`, `Content-Location` and
//!   `Refresh` naming the platform origin, and `Set-Cookie`'s `Domain`, are
//!   rewritten for the custom domain.
//! - No answer within the timeout → [`Failure::Timeout`] (504); no answer
//!   at all → [`Failure::Unreachable`] (502). The timeout covers the
//!   answer's head only, so a long download is never cut.

use portico_shared::origin_context::{CONTEXT_HEADER, SIGNATURE_HEADER};
use portico_shared::reverse_proxy::{
    forwards_request_header, is_websocket_upgrade, scope_set_cookie, OriginBase,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::{console_error, Result};

use crate::runtime::task::settle;

#[wasm_bindgen(inline_js = "
export function fetch_within(request, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  return fetch(request, { signal: controller.signal }).then(
    (response) => { clearTimeout(timer); return response; },
    (error) => { clearTimeout(timer); if (controller.signal.aborted) return null; throw error; });
}
export function header_names(headers) { return [...headers.keys()]; }
export function set_cookies(headers) { return headers.getSetCookie(); }
export function rebuild(response, status, headers) {
  return new Response(response.body, { status, statusText: response.statusText, headers });
}
")]
extern "C" {
    /// The runtime's `fetch`, aborted when no answer came within `ms`:
    /// resolves to the response, or `null` on that timeout.
    #[wasm_bindgen(catch)]
    fn fetch_within(
        request: &web_sys::Request,
        ms: u32,
    ) -> std::result::Result<js_sys::Promise, JsValue>;
    fn header_names(headers: &web_sys::Headers) -> js_sys::Array;
    #[wasm_bindgen(catch)]
    fn set_cookies(headers: &web_sys::Headers) -> std::result::Result<js_sys::Array, JsValue>;
    /// The same body (stream) with another status and headers.
    #[wasm_bindgen(catch)]
    fn rebuild(
        response: &web_sys::Response,
        status: u16,
        headers: &web_sys::Headers,
    ) -> std::result::Result<web_sys::Response, JsValue>;
}

/// Where and how the edge forwards.
pub struct Origin {
    /// `PLATFORM_ORIGIN` without a trailing `/`.
    pub base: String,
    /// The same, for matching URLs the origin answers with.
    pub parsed: Option<OriginBase>,
    /// How long the origin has to start answering (ms).
    pub timeout_ms: u32,
}

/// One proxied request.
pub struct Forward<'a> {
    pub path_and_query: &'a str,
    pub forwarded_host: &'a str,
    pub forwarded_proto: &'a str,
    /// Replaces the origin's status (an origin page serving as a 404 target).
    pub status: Option<u16>,
    /// `X-Portico-Context` and `X-Portico-Signature`, when signed.
    pub signed: Option<(String, String)>,
}

/// Why the origin gave no answer.
pub enum Failure {
    Unreachable(String),
    Timeout,
}

pub async fn forward(
    incoming: &web_sys::Request,
    origin: &Origin,
    request: Forward<'_>,
) -> Result<std::result::Result<web_sys::Response, Failure>> {
    let target = [origin.base.as_str(), request.path_and_query].concat();
    // A mutable copy in one call: the incoming headers are immutable.
    let headers = web_sys::Headers::new_with_headers(&incoming.headers())?;
    let connection = headers.get("connection")?;
    // The visitor's address as the runtime saw it (set by Cloudflare, and by
    // `wrangler dev`), unlike any `X-Forwarded-For` the visitor sends.
    let client = headers.get("cf-connecting-ip")?;
    let websocket = is_websocket_upgrade(headers.get("upgrade")?.as_deref());
    for name in header_names(&headers)
        .iter()
        .filter_map(|name| name.as_string())
    {
        if !forwards_request_header(&name, connection.as_deref(), websocket) {
            headers.delete(&name)?;
        }
    }
    // The origin is addressed by its own name; the visitor's is forwarded.
    headers.delete("host")?;
    headers.set("x-forwarded-host", request.forwarded_host)?;
    headers.set("x-forwarded-proto", request.forwarded_proto)?;
    if let Some(client) = &client {
        headers.set("x-forwarded-for", client)?;
    }
    if let Some((context, signature)) = &request.signed {
        headers.set(CONTEXT_HEADER, context)?;
        headers.set(SIGNATURE_HEADER, signature)?;
    }

    let init = web_sys::RequestInit::new();
    // The method as sent (`worker::Method` would turn unknown ones into GET).
    init.set_method(&incoming.method());
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if let Some(body) = incoming.body() {
        init.set_body(&JsValue::from(body));
    }
    let outbound = web_sys::Request::new_with_str_and_init(&target, &init)?;
    let answer = match settle(fetch_within(&outbound, origin.timeout_ms)?).await {
        Ok(answer) => answer,
        Err(err) => {
            let reason = err
                .dyn_ref::<js_sys::Error>()
                .map(|err| String::from(err.message()))
                .or_else(|| err.as_string())
                .unwrap_or_else(|| format!("{err:?}"));
            return Ok(Err(Failure::Unreachable(reason)));
        }
    };
    if answer.is_null() {
        return Ok(Err(Failure::Timeout));
    }
    let response: web_sys::Response = answer.dyn_into()?;
    // A WebSocket's 101 carries the socket itself: handed back untouched.
    if response.status() == 101 {
        return Ok(Ok(response));
    }
    Ok(Ok(for_visitor(
        response,
        origin,
        &request,
        &incoming.url(),
    )?))
}

/// The origin's answer as the visitor gets it: URLs and cookies for the
/// custom domain, the route's status if it has one. The body stays the
/// origin's stream.
fn for_visitor(
    response: web_sys::Response,
    origin: &Origin,
    request: &Forward<'_>,
    visitor_url: &str,
) -> Result<web_sys::Response> {
    let original = response.headers();
    // Back to where the visitor is, port included (`wrangler dev` listens on
    // one; on Cloudflare it is the default and absent).
    let public = match portico_shared::reverse_proxy::visitor_base(visitor_url) {
        Some(base) => base.to_string(),
        None => portico_shared::reverse_proxy::public_base(
            request.forwarded_proto,
            request.forwarded_host,
        ),
    };
    let mut rewritten: Vec<(&'static str, String)> = Vec::new();
    if let Some(parsed) = &origin.parsed {
        for name in ["location", "content-location"] {
            if let Some(url) = original.get(name)? {
                if let Some(url) = parsed.rewrite_url(&url, &public) {
                    rewritten.push((name, url));
                }
            }
        }
        if let Some(refresh) = original.get("refresh")? {
            if let Some(refresh) = parsed.rewrite_refresh(&refresh, &public) {
                rewritten.push(("refresh", refresh));
            }
        }
    }
    let cookies: Vec<String> = match set_cookies(&original) {
        Ok(cookies) => cookies.iter().filter_map(|c| c.as_string()).collect(),
        Err(err) => {
            console_error!("reading the origin's Set-Cookie failed: {err:?}");
            Vec::new()
        }
    };
    let scoped: Vec<String> = cookies
        .iter()
        .map(|cookie| scope_set_cookie(cookie).into_owned())
        .collect();
    let cookies_changed = scoped != cookies;
    // Where a cache of proxied answers would sit. There is none: the edge
    // passes every origin answer through, and Cloudflare's CDN does not keep
    // a Worker's responses. Any cache added here must first ask
    // `portico_shared::reverse_proxy::shared_cacheable` (never an answer
    // that sets a cookie or says `private`/`no-store`).
    if rewritten.is_empty() && !cookies_changed && request.status.is_none() {
        return Ok(response);
    }
    let headers = web_sys::Headers::new_with_headers(&original)?;
    for (name, value) in &rewritten {
        headers.set(name, value)?;
    }
    if cookies_changed {
        headers.delete("set-cookie")?;
        for cookie in &scoped {
            headers.append("set-cookie", cookie)?;
        }
    }
    let status = request.status.unwrap_or_else(|| response.status());
    Ok(rebuild(&response, status, &headers)?)
}
