//! Development only: the Workers KV bulk API, answered by the local edge so
//! that the control plane's `local` publisher writes the very KV namespaces
//! `wrangler dev` reads, through their bindings. The request and response
//! shapes are Cloudflare's (`PUT …/bulk`, `POST …/bulk/delete`, the
//! `{ success, errors, messages, result }` envelope), so the publisher's
//! client is the same for both; only the base URL and token differ.
//!
//! Compiled only with the `local-kv` cargo feature, which development builds
//! turn on (`scripts/build-edge --dev`: `scripts/dev`, `scripts/test`); a
//! production build has no such route, and `scripts/check-bundle` fails if
//! its bundle holds the prefix. Even then it answers only when the
//! `LOCAL_KV_TOKEN` var is set, which `scripts/dev` does through `.dev.vars`
//! (read by `wrangler dev`, never deployed). Otherwise `/__portico/kv/…` is
//! routed like any other path.

use portico_shared::route::split_request_url;
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response, Result};

/// The route (`LOCAL_KV_ROUTE` in scripts/lib.sh). Also spelled out whole
/// in [`USAGE`]: the compiler turns `strip_prefix(PREFIX)` into integer
/// compares, and the build scripts find a build with this endpoint by the
/// route in its wasm, so the usage message must keep it (scripts/build-edge
/// fails a `local-kv` build without it).
macro_rules! prefix {
    () => {
        "/__portico/kv/"
    };
}
const PREFIX: &str = prefix!();
const USAGE: &str = concat!(
    "use PUT ",
    prefix!(),
    "<BINDING>/bulk or POST ",
    prefix!(),
    "<BINDING>/bulk/delete"
);
const BINDINGS: &[&str] = &["ROUTES", "CONTENT"];
/// Cloudflare's limit per bulk request.
const MAX_PAIRS: usize = 10_000;

#[derive(Deserialize)]
struct Pair {
    key: String,
    value: String,
    #[serde(default)]
    base64: bool,
}

/// `None` when the request is not for this endpoint (or it is disabled).
pub async fn handle(req: &web_sys::Request, url: &str, env: &Env) -> Option<Result<Response>> {
    let (_, path, _) = split_request_url(url)?;
    let rest = path.strip_prefix(PREFIX)?;
    let token = env.var("LOCAL_KV_TOKEN").ok()?.to_string();
    if token.is_empty() {
        return None;
    }
    // A `worker::Request` (the same JS object) for its body helpers: this
    // dev-only endpoint may pay for the conversion.
    let mut req = Request::from(Clone::clone(req));
    Some(serve(&mut req, env, rest, &token).await)
}

async fn serve(req: &mut Request, env: &Env, rest: &str, token: &str) -> Result<Response> {
    let authorized = req
        .headers()
        .get("authorization")?
        .is_some_and(|value| value == format!("Bearer {token}"));
    if !authorized {
        return failure(401, 10000, "Authentication error");
    }
    let (binding, operation) = rest.split_once('/').unwrap_or((rest, ""));
    if !BINDINGS.contains(&binding) {
        return failure(404, 10013, "namespace not found");
    }
    let kv = env.kv(binding)?;
    let method = req.inner().method();
    match (method.as_str(), operation) {
        ("PUT", "bulk") => {
            let pairs: Vec<Pair> = match req.json().await {
                Ok(pairs) => pairs,
                Err(_) => {
                    return failure(400, 10026, "the body must be a JSON array of {key, value}")
                }
            };
            if pairs.len() > MAX_PAIRS {
                return failure(413, 10026, "at most 10000 pairs a request");
            }
            if pairs.iter().any(|pair| pair.base64) {
                return failure(
                    400,
                    10026,
                    "base64 values are not supported by the local endpoint",
                );
            }
            for pair in &pairs {
                kv.put(&pair.key, pair.value.as_str())?.execute().await?;
            }
            success(pairs.len())
        }
        ("POST", "bulk/delete") => {
            let keys: Vec<String> = match req.json().await {
                Ok(keys) => keys,
                Err(_) => return failure(400, 10026, "the body must be a JSON array of keys"),
            };
            if keys.len() > MAX_PAIRS {
                return failure(413, 10026, "at most 10000 keys a request");
            }
            for key in &keys {
                kv.delete(key).await?;
            }
            success(keys.len())
        }
        _ => failure(405, 10000, USAGE),
    }
}

fn success(count: usize) -> Result<Response> {
    Response::from_json(&json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": { "successful_key_count": count, "unsuccessful_keys": [] },
    }))
}

fn failure(status: u16, code: u32, message: &str) -> Result<Response> {
    Ok(Response::from_json(&json!({
        "success": false,
        "errors": [{ "code": code, "message": message }],
        "messages": [],
        "result": null,
    }))?
    .with_status(status))
}
