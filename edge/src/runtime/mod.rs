//! The workerd plumbing under the handler: how a request's future is driven
//! on the runtime's promises ([`task`], its bookkeeping in [`parking`]), how
//! responses and header strings are made with few calls into JS ([`reply`]),
//! KV reads straight on the binding ([`kv`]), and the isolate's memory of
//! page HTML ([`memo`]), and `entry.mjs`, the JavaScript module wrangler
//! runs (copied into `build/` by `scripts/build-edge`), which hands each
//! request to the wasm `fetch` export. None of it knows about hosts, paths
//! or records.
//!
//! Natively only [`parking`] and [`memo`] compile, for their tests.

#[cfg(target_arch = "wasm32")]
pub mod kv;
pub mod memo;
pub mod parking;
#[cfg(target_arch = "wasm32")]
pub mod reply;
#[cfg(target_arch = "wasm32")]
pub mod task;
