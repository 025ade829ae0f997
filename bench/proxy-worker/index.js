// A plain JavaScript worker doing the Rust edge's pass-through to the
// platform origin, for scripts/bench-proxy: the same one KV read (the path
// record of `/<slug>/…`, read with cacheTtl 60), the same request header
// rules (hop-by-hop, Host and X-Portico-* dropped; X-Forwarded-Host/-Proto
// set), the same signed context (HMAC-SHA-256 through crypto.subtle: see
// docs/origin-signature.md; the stand-in platform refuses the request if it
// is wrong), the same answer rewriting (Location naming the origin,
// Set-Cookie's Domain), the same timeout on the answer's head
// (ORIGIN_TIMEOUT_MS, an AbortController and a timer), bodies streamed. No
// routing beyond that: the benchmark only asks for mounted paths.
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
  "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host",
]);
const encoder = new TextEncoder();
let signingKey;

function encode(value) {
  return encodeURIComponent(value ?? "").replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

async function sign(env, context) {
  signingKey ??= await crypto.subtle.importKey(
    "raw", encoder.encode(env.ORIGIN_SIGNING_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", signingKey, encoder.encode("portico-origin-context/v1\n" + context));
  return "v1=" + [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const host = (request.headers.get("host") || url.host).toLowerCase().replace(/:\d+$/, "");
    const [, slug, ...rest] = url.pathname.split("/");
    const record = await env.ROUTES.get(`v1/p/${host}/${slug}`, { type: "json", cacheTtl: 60 });
    if (record === null || record.target.type !== "origin") {
      return new Response("not mounted", { status: 404 });
    }
    const base = record.target.path.replace(/\/$/, "");
    const path = rest.length ? `${base}/${rest.join("/")}` : base || "/";
    const headers = new Headers(request.headers);
    const websocket = (headers.get("upgrade") || "").toLowerCase() === "websocket";
    const listed = (headers.get("connection") || "").split(",").map((n) => n.trim().toLowerCase());
    for (const name of [...headers.keys()]) {
      if ((HOP_BY_HOP.has(name) && !(websocket && name === "upgrade")) || listed.includes(name) || name.startsWith("x-portico-")) {
        headers.delete(name);
      }
    }
    const proto = url.protocol.slice(0, -1);
    headers.set("x-forwarded-host", host);
    headers.set("x-forwarded-proto", proto);
    const context = `t=${Math.floor(Date.now() / 1000)},host=${encode(host)},account=${encode(record.account)},mount=${encode(record.target.mount)}`;
    headers.set("x-portico-context", context);
    headers.set("x-portico-signature", await sign(env, context));
    const origin = env.PLATFORM_ORIGIN.replace(/\/$/, "");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Number(env.ORIGIN_TIMEOUT_MS) || 30000);
    let response;
    try {
      response = await fetch(origin + path + url.search, {
        method: request.method, headers, body: request.body, redirect: "manual", signal: controller.signal,
      });
    } catch (error) {
      return new Response(controller.signal.aborted ? "timeout" : "unreachable", { status: controller.signal.aborted ? 504 : 502 });
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 101) return response;
    const location = response.headers.get("location");
    const cookies = response.headers.getSetCookie();
    if ((location === null || !location.startsWith(origin)) && !cookies.some((c) => /;\s*domain\s*=/i.test(c))) {
      return response;
    }
    const out = new Headers(response.headers);
    if (location !== null && location.startsWith(origin)) out.set("location", `${proto}://${host}${location.slice(origin.length) || "/"}`);
    out.delete("set-cookie");
    for (const cookie of cookies) out.append("set-cookie", cookie.split(";").filter((a, i) => i === 0 || !/^\s*domain\s*=/i.test(a)).join(";"));
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers: out });
  },
};
