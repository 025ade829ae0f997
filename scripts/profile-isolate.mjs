// Samples the V8 CPU profile of a worker's isolate under `wrangler dev`
// through its inspector (Chrome DevTools Protocol), for `scripts/bench-edge`
// (BENCH_PROFILE): profiling starts at once and stops after SECONDS; the
// profile is written to OUT (.cpuprofile, opens in Chrome DevTools) and a
// summary of where the samples fell goes to standard output.
//
// usage: node scripts/profile-isolate.mjs INSPECTOR_PORT SECONDS OUT
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";

// `ws` comes with wrangler (node_modules), so nothing more is installed.
const WebSocket = createRequire(import.meta.url)("ws");

const [port, seconds, out] = process.argv.slice(2);
if (!port || !seconds || !out) {
  console.error("usage: node scripts/profile-isolate.mjs INSPECTOR_PORT SECONDS OUT");
  process.exit(2);
}

const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
const target = targets.find((t) => t.webSocketDebuggerUrl);
if (!target) throw new Error(`no debuggable isolate on inspector port ${port}`);
const socket = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
let lastId = 0;
const pending = new Map();
socket.on("message", (data) => {
  const message = JSON.parse(data);
  const resolve = pending.get(message.id);
  if (resolve) {
    pending.delete(message.id);
    resolve(message);
  }
});
function send(method, params = {}) {
  return new Promise((resolve) => {
    const id = ++lastId;
    pending.set(id, resolve);
    socket.send(JSON.stringify({ id, method, params }));
  });
}

await send("Profiler.enable");
const interval = 100; // µs between samples
await send("Profiler.setSamplingInterval", { interval });
await send("Profiler.start");
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
const { result, error } = await send("Profiler.stop");
socket.close();
if (error) throw new Error(`Profiler.stop: ${error.message}`);
const profile = result.profile;
writeFileSync(out, JSON.stringify(profile));

// Self samples per node, then per function and per kind of code.
const hits = new Map();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const byFunction = new Map();
const byKind = new Map();
let busy = 0;
for (const node of profile.nodes) {
  const count = hits.get(node.id) ?? 0;
  if (count === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  if (functionName === "(idle)") continue;
  busy += count;
  const file = url.split("/").pop();
  const name = `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + count);
  const kind = url.startsWith("wasm://")
    ? "wasm"
    : functionName.startsWith("(")
      ? functionName
      : url === ""
        ? "runtime built-ins (no script)"
        : `script ${file}`;
  byKind.set(kind, (byKind.get(kind) ?? 0) + count);
}
const percent = (count) => `${((100 * count) / busy).toFixed(1).padStart(5)} %`;
// First line, read by scripts/bench-edge: the isolate's busy time in ms.
console.log(`busy_ms=${(busy * interval) / 1000} seconds=${seconds}`);
console.log(`${busy} busy samples (${interval} µs apart) in ${seconds} s`);
console.log("by kind of code:");
for (const [kind, count] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`  ${percent(count)}  ${kind}`);
console.log("top functions (self):");
for (const [name, count] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`  ${percent(count)}  ${name}`);
}
