//! The routing reads: a KV namespace binding called directly. The `worker`
//! crate's `KvStore` looks up five methods of the binding and builds an
//! options object on every read; a read here is one call and one string.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use worker::{Env, Result};

#[wasm_bindgen]
extern "C" {
    /// A Workers KV namespace binding.
    pub type KvNamespace;

    /// `get(key)`: the value as text, or `null`.
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get(this: &KvNamespace, key: &str) -> std::result::Result<js_sys::Promise, JsValue>;
}

impl KvNamespace {
    /// The namespace bound as `name` in `wrangler.toml`.
    pub fn binding(env: &Env, name: &str) -> Result<KvNamespace> {
        let binding = js_sys::Reflect::get(env, &JsValue::from_str(name))?;
        if binding.is_undefined() {
            return Err(format!("no KV binding `{name}` (see wrangler.toml)").into());
        }
        Ok(binding.unchecked_into())
    }

    /// The value under `key` as text, `None` when there is none.
    pub async fn get_text(&self, key: &str) -> Result<Option<String>> {
        let value = JsFuture::from(self.get(key)?).await?;
        Ok(value.as_string())
    }
}
