// Runs the dashboard checks through the wasm package built by
// scripts/build-wasm-pkg, for the cases given as JSON on stdin
// ([{ "fn": "classifyDomain", "args": [...] }, ...]); prints the results as
// a JSON array. The Rust test tests/tests/wasm_checks.rs compares them with
// the native results.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const pkgDir = resolve(process.argv[2] ?? "shared/pkg");
const require = createRequire(import.meta.url);
const checks = require(`${pkgDir}/portico_shared.js`);

const cases = JSON.parse(readFileSync(0, "utf8"));
const results = cases.map(({ fn, args }) => {
  if (typeof checks[fn] !== "function") {
    throw new Error(`the wasm package has no function ${fn}`);
  }
  return checks[fn](...args);
});
process.stdout.write(JSON.stringify(results));
