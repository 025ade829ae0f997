//! Portico's edge worker: looks the request's Host up in the ROUTES KV
//! namespace. A placeholder until `portico_shared::route` takes over the
//! decision; the shape (Host in, KV read, Response out) stays.

// The worker only exists for wasm32: native `cargo test`/`clippy` of the
// workspace compile this crate as empty instead of linking the JS bindings.
#![cfg(target_arch = "wasm32")]

use worker::{event, Context, Env, Request, Response, Result};

const NOT_CONNECTED_PAGE: &str =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Domain not connected</title></head>\
<body><h1>This domain is not connected</h1></body></html>\n";

#[event(fetch)]
async fn main(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let host = req.headers().get("host")?.unwrap_or_default();
    let key = format!("v1/h/{}", host.to_ascii_lowercase());
    match env.kv("ROUTES")?.get(&key).text().await? {
        Some(value) => Response::ok(format!("routed: {value}")),
        None => Ok(Response::from_html(NOT_CONNECTED_PAGE)?.with_status(404)),
    }
}
