//! KV reads: a namespace binding called directly, awaited through `task`. The `worker`
//! crate's `KvStore` looks up five methods of the binding and builds an
//! options object on every read; a read here is one call, one string and an
//! options object made once per isolate.
//!
//! Every read names how long the data centre's KV cache may keep the value
//! (`cacheTtl`): content keys name a digest of what they hold and never
//! change, so they are kept a year; routing records change when a customer
//! publishes, so they get the shortest time KV allows, its default of 60 s
//! spelt out (what a published change waits for at most, as before).

use wasm_bindgen::prelude::*;
use worker::{Env, Result};

use crate::runtime::reply::{fixed, text};
use crate::runtime::task::settle;

/// `cacheTtl` of routing records (seconds): KV's own default.
const ROUTING_CACHE_TTL_S: u32 = 60;
/// `cacheTtl` of content (seconds): immutable, so a year.
const CONTENT_CACHE_TTL_S: u32 = 365 * 24 * 60 * 60;

#[wasm_bindgen]
extern "C" {
    /// A Workers KV namespace binding.
    pub type KvNamespace;

    /// `get(key, options)`: the value as `options.type`, or `null`.
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_with(
        this: &KvNamespace,
        key: &JsValue,
        options: &JsValue,
    ) -> std::result::Result<js_sys::Promise, JsValue>;
}

/// `{ type, cacheTtl }`, made once per isolate.
fn options(kind: &'static str, cache_ttl_s: u32) -> JsValue {
    let options = js_sys::Object::new();
    // Setting a property of a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(&options, &fixed("type"), &fixed(kind));
    let _ = js_sys::Reflect::set(&options, &fixed("cacheTtl"), &JsValue::from(cache_ttl_s));
    options.into()
}

thread_local! {
    static ROUTING: JsValue = options("text", ROUTING_CACHE_TTL_S);
    static CONTENT: JsValue = options("arrayBuffer", CONTENT_CACHE_TTL_S);
}

impl KvNamespace {
    /// The namespace bound as `name` in `wrangler.toml`.
    pub fn binding(env: &Env, name: &'static str) -> Result<KvNamespace> {
        let binding = js_sys::Reflect::get(env, &fixed(name))?;
        if binding.is_undefined() {
            return Err(format!("no KV binding `{name}` (see wrangler.toml)").into());
        }
        Ok(binding.unchecked_into())
    }

    /// The routing record under `key` as text, `None` when there is none.
    pub async fn get_record(&self, key: &str) -> Result<Option<String>> {
        let promise = ROUTING.with(|options| self.get_with(&text(key), options))?;
        Ok(settle(promise).await?.as_string())
    }

    /// The content under `key` as the runtime's `ArrayBuffer` (never copied
    /// into wasm memory), `None` when there is none.
    pub async fn get_content(&self, key: &str) -> Result<Option<js_sys::ArrayBuffer>> {
        let promise = CONTENT.with(|options| self.get_with(&text(key), options))?;
        let value = settle(promise).await?;
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        Ok(Some(value.unchecked_into()))
    }
}
