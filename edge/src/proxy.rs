//! Origin mounts and certificate validation: the visitor's request, passed
//! to the platform origin with its method, body and headers, minus the
//! hop-by-hop ones, plus `X-Forwarded-Host`/`-Proto`. Redirects from the
//! origin go back to the visitor as they are. A status from the route (an
//! origin page serving as the 404 target) replaces the origin's.

use portico_shared::route::HOP_BY_HOP_HEADERS;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::Result;

use crate::runtime::task::settle;

#[wasm_bindgen]
extern "C" {
    /// The runtime's global `fetch`.
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> std::result::Result<js_sys::Promise, JsValue>;
}

pub async fn forward(
    incoming: &web_sys::Request,
    target: &str,
    forwarded_host: &str,
    forwarded_proto: &str,
    status: Option<u16>,
) -> Result<web_sys::Response> {
    // A mutable copy in one call: the incoming headers are immutable.
    let headers = web_sys::Headers::new_with_headers(&incoming.headers())?;
    // Headers named by `Connection` are hop-by-hop too (RFC 9110 §7.6.1).
    if let Some(listed) = headers.get("connection")? {
        for name in listed.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            // An invalid name cannot be present anyway.
            let _ = headers.delete(name);
        }
    }
    for name in HOP_BY_HOP_HEADERS {
        headers.delete(name)?;
    }
    headers.set("x-forwarded-host", forwarded_host)?;
    headers.set("x-forwarded-proto", forwarded_proto)?;

    let init = web_sys::RequestInit::new();
    // The method as sent (`worker::Method` would turn unknown ones into GET).
    init.set_method(&incoming.method());
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if let Some(body) = incoming.body() {
        init.set_body(&JsValue::from(body));
    }
    let outbound = web_sys::Request::new_with_str_and_init(target, &init)?;
    let response: web_sys::Response = settle(global_fetch(&outbound)?).await?.dyn_into()?;
    let Some(status) = status else {
        return Ok(response);
    };
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&response.headers());
    Ok(web_sys::Response::new_with_opt_readable_stream_and_init(
        response.body().as_ref(),
        &init,
    )?)
}
