// The module wrangler runs (wrangler.toml `main`): the Rust worker that
// worker-build writes to build/, exported as a plain `{ fetch }` handler.
//
// worker-build exports a `WorkerEntrypoint` class behind a `Proxy` (so that
// it can swap the wasm instance after a panic). Under that export every
// request constructs the class (workerd's base constructor, the proxy's
// traps, a proxy around `fetch`, and under `wrangler dev` a middleware
// subclass with per-instance closures): in V8 profiles of a page hit that
// was about 6 % of the worker's CPU, more than all of the routing in wasm.
//
// Here the class's own `fetch` (worker-build's wrapper around the wasm
// export, which reads `this.env` and `this.ctx`) is called directly. After a
// panic (the `worker` crate's panic hook sets `criticalError` in the shared
// init state), the request goes through the class once more, whose
// construction resets the wasm instance, exactly as worker-build does.
// scripts/build-edge copies this file into the build directory, beside it.
import Entrypoint from "./index.js";

const initState = globalThis.__worker_init_state;
const handler = Entrypoint.prototype.fetch;

if (typeof handler !== "function" || initState === undefined) {
  throw new Error("build/index.js is not a worker-build 0.8 worker with a fetch handler");
}

export default {
  fetch(request, env, ctx) {
    if (initState.criticalError) {
      return new Entrypoint(ctx, env).fetch(request);
    }
    return handler.call({ env, ctx }, request);
  },
};
