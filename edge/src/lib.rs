//! Portico's edge worker: a thin shell around `portico_shared::route`.
//! Request in → the routing keys the decision asks for, read from the
//! `ROUTES` KV namespace → page HTML (from the isolate's memory, else `CONTENT`),
//! a redirect, a proxied origin response or a platform page out.
//!
//! No rule lives here: hosts, paths, methods, redirects and conditional
//! requests are all decided in `shared`. What this crate does is I/O, and
//! turning every failure into a proper response (never a panic, never a 500).
//!
//! The worker only exists for wasm32. Native `cargo test`/`clippy` of the
//! workspace compile only [`parking`], the executor's bookkeeping (tested
//! there), never the JS bindings.

#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
mod content;
#[cfg(target_arch = "wasm32")]
mod handler;
#[cfg(target_arch = "wasm32")]
mod kv;
// Development builds only (the `local-kv` feature): see edge/Cargo.toml.
#[cfg(all(target_arch = "wasm32", feature = "local-kv"))]
mod local_kv;
mod parking;
#[cfg(target_arch = "wasm32")]
mod proxy;
#[cfg(target_arch = "wasm32")]
mod reply;
#[cfg(target_arch = "wasm32")]
mod task;
