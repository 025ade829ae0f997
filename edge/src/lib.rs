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
//! workspace compile only the plain-Rust parts of [`runtime`] (the
//! executor's bookkeeping and the page memory, tested there), never the JS
//! bindings.
//!
//! Layout: [`handler`] is the request's way through (request in, `route()`,
//! I/O, response out), with the deployment's settings from [`config`];
//! [`proxy`] and [`content`] are its I/O; [`runtime`] is the workerd
//! plumbing under them.

#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
mod config;
#[cfg(target_arch = "wasm32")]
mod content;
#[cfg(target_arch = "wasm32")]
mod handler;
// Development builds only (the `local-kv` feature): see edge/Cargo.toml.
#[cfg(all(target_arch = "wasm32", feature = "local-kv"))]
mod local_kv;
#[cfg(target_arch = "wasm32")]
mod proxy;
mod runtime;
