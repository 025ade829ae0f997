# Sourced by the scripts in this folder (not run): where things are, and the
# environment that keeps worker-build from downloading its own tools.
# shellcheck shell=bash

PORTICO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
# Where scripts/build-edge puts the worker (PORTICO_BUILD_DIR: another build,
# e.g. to benchmark a change beside the last one).
BUILD_DIR=${PORTICO_BUILD_DIR:-$PORTICO_ROOT/build}
# The development-only KV endpoint of the edge (edge/src/local_kv.rs, cargo
# feature `local-kv`): never in a production bundle (scripts/check-bundle).
LOCAL_KV_ROUTE=/__portico/kv/
# The virtual environment of the pinned API conformance tools (scripts/check-api).
API_TOOLS_DIR=$PORTICO_ROOT/target/api-tools
# Local state of `scripts/dev` (KV and caches of wrangler dev); gitignored.
DEV_PERSIST_DIR=$PORTICO_ROOT/.portico/wrangler-state

# worker-build takes each tool from <NAME>_BIN when set, else downloads it from
# GitHub (unreachable here): wasm-bindgen from `cargo install` (same version as
# Cargo.lock), wasm-opt and esbuild from the pinned npm packages.
export WASM_BINDGEN_BIN=$CARGO_BIN/wasm-bindgen
export WASM_OPT_BIN=$PORTICO_ROOT/node_modules/.bin/wasm-opt
export ESBUILD_BIN=$PORTICO_ROOT/node_modules/.bin/esbuild
export PATH=$PORTICO_ROOT/node_modules/.bin:$CARGO_BIN:$PATH
# No telemetry from wrangler.
export WRANGLER_SEND_METRICS=false
# Nor a fetch of the Request.cf sample from the internet (falls back to a placeholder).
export CLOUDFLARE_CF_FETCH_ENABLED=false

log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The wasm-bindgen version in Cargo.lock: the CLI must match the library exactly.
locked_wasm_bindgen_version() {
  awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' \
    "$PORTICO_ROOT/Cargo.lock"
}
