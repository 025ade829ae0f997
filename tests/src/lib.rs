//! Portico's cross-process tests and the harnesses they share. Each harness
//! runs a real piece of the stack on loopback (the edge worker under
//! `wrangler dev`, the local DNS provider, the whole stack in
//! [`stack::LocalStack`], ...) and stops it when dropped.

use std::fmt;
use std::path::{Path, PathBuf};

pub mod client;
pub mod cloudflare_kv;
pub mod cloudflare_saas;
pub mod dns;
pub mod forwarder;
pub mod local_dns;
pub mod measure;
pub mod origin;
pub mod platform;
pub mod process;
pub mod stack;
pub mod story;
pub mod wait;
pub mod wrangler;

/// A harness failure, worded to say what to do about it. Its `Debug` is its
/// message, so a test returning `Result<(), Error>` prints it readably.
pub struct Error(String);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn msg(message: impl Into<String>) -> Self {
        Error(message.into())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        Error(message)
    }
}

/// The repository root: wrangler.toml, build/ and node_modules/ live there.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the repository")
        .to_path_buf()
}
