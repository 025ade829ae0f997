//! Page HTML by content key, from the nearest of three tiers:
//!
//! 1. this isolate's memory (a bounded map, first in first out);
//! 2. the Workers Cache API (shared by the isolates of a data centre);
//! 3. the `CONTENT` KV namespace.
//!
//! Content keys name a digest of the HTML (`v1/c/<sha256>`), so an entry can
//! never go stale: a changed page gets a new key, and nothing is ever
//! invalidated. A hot page therefore costs no read at all here; its routing
//! record is the request's one KV read.

use std::cell::RefCell;

use js_sys::{ArrayBuffer, Promise};
use portico_shared::memo::Memo;
use wasm_bindgen::prelude::*;
use worker::{console_warn, Cache, Context, Env, Result};

use crate::kv::KvNamespace;
use crate::reply::{reply, Body, Value::Fixed};
use crate::task::settle;

/// Content keys are immutable: the Cache API may keep them for a year.
const CONTENT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// The Cache API is keyed by URL; content gets URLs of its own, never served
/// to visitors directly.
const CONTENT_CACHE_ORIGIN: &str = "https://content.portico.invalid/";
/// Memory the isolate gives to page HTML (an isolate has 128 MB; a page is at
/// most 1 MiB, so the hottest dozens of pages always fit).
const MEMORY_BUDGET: usize = 16 * 1024 * 1024;

thread_local! {
    /// The runtime's own buffers: a response is made from one as it is,
    /// never copied into wasm memory and out again.
    static MEMORY: RefCell<Memo<ArrayBuffer>> = RefCell::new(Memo::new(MEMORY_BUDGET));
}

// The reads, awaited through `task` (`worker::Cache` awaits through
// `wasm-bindgen-futures`); writes happen after the response, through
// `worker::Cache` in `ctx.wait_until`.
#[wasm_bindgen]
extern "C" {
    type CacheStorage;
    #[wasm_bindgen(thread_local_v2, js_name = caches)]
    static CACHES: CacheStorage;
    #[wasm_bindgen(method, getter, js_name = default)]
    fn default_cache(this: &CacheStorage) -> DefaultCache;

    type DefaultCache;
    /// `match(url)`: the cached response, or `undefined`.
    #[wasm_bindgen(method, catch, js_name = match)]
    fn match_url(this: &DefaultCache, url: &str) -> std::result::Result<Promise, JsValue>;
}

/// The HTML under `key`, or `None` when no tier has it (the store is behind:
/// content is published before the records naming it).
pub async fn get(key: &str, env: &Env, ctx: &Context) -> Result<Option<ArrayBuffer>> {
    if let Some(html) = MEMORY.with(|memory| memory.borrow().get(key)) {
        return Ok(Some(html));
    }
    let cache_url = format!("{CONTENT_CACHE_ORIGIN}{key}");
    let cached = settle(
        CACHES
            .with(CacheStorage::default_cache)
            .match_url(&cache_url)?,
    )
    .await?;
    let html: ArrayBuffer = match cached.dyn_into::<web_sys::Response>() {
        Ok(hit) => settle(hit.array_buffer()?).await?.unchecked_into(),
        Err(_) => {
            let content = KvNamespace::binding(env, "CONTENT")?;
            let Some(html) = content.get_buffer(key).await? else {
                return Ok(None);
            };
            // The runtime copies the buffer into the response it caches.
            let for_cache = reply(
                200,
                &[("cache-control", Fixed(CONTENT_CACHE_CONTROL))],
                Body::Buffer(&html),
            )?;
            ctx.wait_until(async move {
                if let Err(err) = Cache::default()
                    .put(cache_url.as_str(), for_cache.into())
                    .await
                {
                    console_warn!("caching {cache_url} failed: {err}");
                }
            });
            html
        }
    };
    let size = html.byte_length() as usize;
    MEMORY.with(|memory| memory.borrow_mut().insert(key, html.clone(), size));
    Ok(Some(html))
}
