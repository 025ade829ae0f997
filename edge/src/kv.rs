//! KV reads: a namespace binding called directly, awaited through `task`. The `worker`
//! crate's `KvStore` looks up five methods of the binding and builds an
//! options object on every read; a read here is one call and one string.

use wasm_bindgen::prelude::*;
use worker::{Env, Result};

use crate::reply::{fixed, text};
use crate::task::settle;

#[wasm_bindgen]
extern "C" {
    /// A Workers KV namespace binding.
    pub type KvNamespace;

    /// `get(key)`: the value as text, or `null`.
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get(this: &KvNamespace, key: &JsValue) -> std::result::Result<js_sys::Promise, JsValue>;

    /// `get(key, type)`: the value as `type` ("arrayBuffer", …), or `null`.
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_as(
        this: &KvNamespace,
        key: &JsValue,
        kind: &JsValue,
    ) -> std::result::Result<js_sys::Promise, JsValue>;
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

    /// The value under `key` as text, `None` when there is none.
    pub async fn get_text(&self, key: &str) -> Result<Option<String>> {
        let value = settle(self.get(&text(key))?).await?;
        Ok(value.as_string())
    }

    /// The value under `key` as the runtime's `ArrayBuffer`, `None` when
    /// there is none.
    pub async fn get_buffer(&self, key: &str) -> Result<Option<js_sys::ArrayBuffer>> {
        let value = settle(self.get_as(&text(key), &fixed("arrayBuffer"))?).await?;
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        Ok(Some(value.unchecked_into()))
    }
}
