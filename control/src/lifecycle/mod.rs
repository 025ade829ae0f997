//! The lifecycle of a domain, driven by the platform: [`scheduler`] claims
//! the domains that are due, has `verify` observe and diagnose them, asks
//! `portico_shared::lifecycle::decide` what follows and carries it out with
//! the transitions here (published, connected, disconnected, unpublished,
//! expired, released). `verify` itself only observes and diagnoses.

pub mod scheduler;
mod transitions;

pub use transitions::*;
