//! Page HTML by content key, from the nearer of two tiers:
//!
//! 1. this isolate's memory (a bounded map, first in first out);
//! 2. the `CONTENT` KV namespace, read with a `cacheTtl` of a year (see
//!    `kv.rs`): KV's own cache in the data centre is the shared tier.
//!
//! Content keys name a digest of the HTML (`v1/c/<sha256>`), so an entry can
//! never go stale: a changed page gets a new key, and nothing is ever
//! invalidated. A hot page therefore costs no read at all here; its routing
//! record is the request's one KV read.
//!
//! There used to be a Workers Cache API tier between the two. It cost a
//! `match` on every memory miss and a `put` after every KV read, for what
//! KV's cache (with `cacheTtl`) already gives: on the many-keys benchmark
//! (README, "Benchmarks") dropping it was worth more than anything else.
//!
//! The HTML stays in the runtime's `ArrayBuffer`: it is never copied into
//! wasm memory, and the response is made from it in JS.

use std::cell::RefCell;

use crate::runtime::memo::Memo;
use js_sys::ArrayBuffer;
use worker::{Env, Result};

use crate::runtime::kv::KvNamespace;

/// Memory the isolate gives to page HTML (an isolate has 128 MB; a page is at
/// most 1 MiB, so the hottest dozens of pages always fit).
const MEMORY_BUDGET: usize = 16 * 1024 * 1024;

thread_local! {
    /// The runtime's own buffers: a response is made from one as it is,
    /// never copied into wasm memory and out again.
    static MEMORY: RefCell<Memo<ArrayBuffer>> = RefCell::new(Memo::new(MEMORY_BUDGET));
}

/// The HTML under `key`, or `None` when no tier has it (the store is behind:
/// content is published before the records naming it).
pub async fn get(key: &str, env: &Env) -> Result<Option<ArrayBuffer>> {
    if let Some(html) = MEMORY.with(|memory| memory.borrow().get(key)) {
        return Ok(Some(html));
    }
    let content = KvNamespace::binding(env, "CONTENT")?;
    let Some(html) = content.get_content(key).await? else {
        return Ok(None);
    };
    let size = html.byte_length() as usize;
    MEMORY.with(|memory| memory.borrow_mut().insert(key, html.clone(), size));
    Ok(Some(html))
}
