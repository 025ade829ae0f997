// A hand-written JavaScript twin of the Rust edge worker (edge/src/lib.rs +
// shared/src/route.rs), for `scripts/bench-edge` only: never deployed, never
// tested by CI. It reads the same KV contract (shared/src/record.rs) and
// answers with the same statuses, headers and bodies, so that the benchmark
// compares the same work written two ways.
//
// Same as the Rust worker: Host normalization and validation (trim, port,
// one trailing dot, lower case, label rules), path normalization (percent
// escapes, dot segments, repeated slashes) before the first segment becomes
// a slug, the path key then the host key, record validation (format
// version, digests, targets), ETag/If-None-Match (weak comparison), HEAD,
// 405, redirects, origin mounts and certificate-validation pass-through,
// page HTML from the isolate's memory in front of CONTENT (read with
// cacheTtl), the platform's own problem pages. Left out: the dev-only local KV bulk endpoint
// (edge/src/local_kv.rs, only in builds with the `local-kv` feature), the
// records' HSTS header and the pass-through's path normalization.

const FORMAT_VERSION = 1;
const PAGE_CACHE_CONTROL = "public, max-age=0, must-revalidate";
const NO_STORE = "no-store";
const PERMANENT_REDIRECT_CACHE_CONTROL = "public, max-age=3600";
const HTML_CONTENT_TYPE = "text/html; charset=utf-8";
const PAGE_METHODS = "GET, HEAD";
// KV reads name how long the data centre's KV cache may keep a value:
// content never changes (a year), routing records get KV's default (60 s).
const ROUTING_READ = { type: "text", cacheTtl: 60 };
const CONTENT_READ = { type: "arrayBuffer", cacheTtl: 365 * 24 * 60 * 60 };
const MAX_PATH_LEN = 8 * 1024;
const MAX_SLUG_LEN = 100;
const MAX_NAME_LEN = 253;
const MAX_LABEL_LEN = 63;
const RESERVED_SLUGS = ["cdn-cgi", "portico"];
const PASS_THROUGH_PREFIXES = ["/.well-known/acme-challenge/", "/.well-known/pki-validation/"];
const HOP_BY_HOP_HEADERS = [
  "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
  "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
];

const PROBLEMS = {
  badHost: { status: 400, title: "Bad request", message: "The request did not name a valid domain." },
  uriTooLong: { status: 414, title: "Address too long", message: "The address of this request is too long to be served." },
  notConnected: {
    status: 404,
    title: "This domain is not connected",
    message: "This domain does not serve any pages yet. If it is yours, finish connecting it in your dashboard; it can take a few minutes after the DNS records are created.",
  },
  methodNotAllowed: { status: 405, title: "Method not allowed", message: "This page can only be read (GET or HEAD).", allow: PAGE_METHODS },
  originUnreachable: {
    status: 502,
    title: "Bad gateway",
    message: "The platform could not be reached to answer this request. Please try again in a moment.",
    retryAfter: 5,
  },
  unavailable: {
    status: 503,
    title: "Temporarily unavailable",
    message: "This page cannot be served right now. Please try again in a moment.",
    retryAfter: 5,
  },
};

export default {
  async fetch(request, env) {
    const config = {
      httpsRedirect: env.HTTPS_REDIRECT === "true",
      platformName: env.PLATFORM_NAME || "Portico",
      platformOrigin: env.PLATFORM_ORIGIN || "",
    };
    try {
      return await serve(request, env, config);
    } catch (err) {
      console.error(`serving failed: ${err}`);
      return problem(PROBLEMS.unavailable, config);
    }
  },
};

async function serve(request, env, config) {
  const url = new URL(request.url);
  const scheme = url.protocol === "https:" ? "https" : "http";
  const host = parseHostname(request.headers.get("host"));
  if (host === null) return problem(PROBLEMS.badHost, config);
  const rawPath = url.pathname;
  if (rawPath.length > MAX_PATH_LEN) return problem(PROBLEMS.uriTooLong, config);
  const visit = {
    scheme,
    method: request.method === "GET" || request.method === "HEAD" ? request.method : "OTHER",
    host,
    rawPath,
    path: normalizePath(rawPath),
    // "?…" as sent (url.search drops a lone "?", the Rust worker keeps it).
    query: queryOf(request.url),
    ifNoneMatch: request.headers.get("if-none-match"),
  };

  if (PASS_THROUGH_PREFIXES.some((prefix) => rawPath.startsWith(prefix))) {
    return proxy(request, `${rawPath}${visit.query}`, visit, null, config);
  }
  if (visit.path !== "/") {
    const [first, rest] = splitFirst(visit.path);
    const slug = parseSlug(first);
    if (slug !== null) {
      const record = await readRecord(env.ROUTES, `v1/p/${host}/${slug}`, decodePathRecord);
      // A path record answers `/<slug>` exactly, an origin mount also below it.
      if (record !== null && (rest === "" || rest === "/" || record.target.type === "origin")) {
        return httpsUpgrade(visit, config) ?? serveTarget(record.target, 200, rest, visit, request, env, config);
      }
    }
  }
  const site = await readRecord(env.ROUTES, `v1/h/${host}`, decodeHostRecord);
  if (site === null) return problem(PROBLEMS.notConnected, config);
  if (site.kind === "redirect") {
    return redirectTo(visit, config.httpsRedirect ? "https" : visit.scheme, site.to);
  }
  const upgrade = httpsUpgrade(visit, config);
  if (upgrade) return upgrade;
  return visit.path === "/"
    ? serveTarget(site.index, 200, "", visit, request, env, config)
    : serveTarget(site.not_found, 404, "", visit, request, env, config);
}

async function serveTarget(target, status, rest, visit, request, env, config) {
  switch (target.type) {
    case "page": {
      if (visit.method === "OTHER") return problem(PROBLEMS.methodNotAllowed, config);
      const etag = `"${target.digest}"`;
      if (status === 200 && ifNoneMatchHits(visit.ifNoneMatch, etag)) {
        return new Response(null, { status: 304, headers: { etag, "cache-control": PAGE_CACHE_CONTROL } });
      }
      const headers = new Headers({
        "content-type": HTML_CONTENT_TYPE,
        etag,
        "cache-control": PAGE_CACHE_CONTROL,
        "x-content-type-options": "nosniff",
      });
      if (visit.method === "HEAD") return new Response(null, { status, headers });
      const body = await content(`v1/c/${target.digest}`, env);
      if (body === null) {
        // Content is published before the records naming it: the store is behind.
        console.error(`content v1/c/${target.digest} is missing`);
        return problem(PROBLEMS.unavailable, config);
      }
      return new Response(body, { status, headers });
    }
    case "external":
      return new Response(null, { status: 302, headers: { location: target.url, "cache-control": NO_STORE } });
    case "origin": {
      const base = target.path.endsWith("/") ? target.path.slice(0, -1) : target.path;
      const joined = base === "" && rest === "" ? "/" : `${base}${rest}`;
      return proxy(request, `${joined}${visit.query}`, visit, status === 200 ? null : status, config);
    }
  }
  return problem(PROBLEMS.unavailable, config);
}

// Page HTML kept in the isolate's memory (edge/src/runtime/memo.rs): at most
// MEMORY_BUDGET bytes, the oldest entry forgotten first. Content keys name a
// digest of the HTML, so an entry never goes stale.
const MEMORY_BUDGET = 16 * 1024 * 1024;
const memory = new Map();
let memoryBytes = 0;

function remember(key, html) {
  if (html.byteLength > MEMORY_BUDGET || memory.has(key)) return;
  for (const [oldest, value] of memory) {
    if (memoryBytes + html.byteLength <= MEMORY_BUDGET) break;
    memory.delete(oldest);
    memoryBytes -= value.byteLength;
  }
  memoryBytes += html.byteLength;
  memory.set(key, html);
}

/** Page HTML: from the isolate's memory, else CONTENT (KV's own cache keeps it a year). */
async function content(key, env) {
  const kept = memory.get(key);
  if (kept !== undefined) return kept;
  const html = await env.CONTENT.get(key, CONTENT_READ);
  if (html === null) return null;
  remember(key, html);
  return html;
}

async function proxy(request, pathAndQuery, visit, status, config) {
  const target = `${config.platformOrigin.replace(/\/+$/, "")}${pathAndQuery}`;
  const headers = new Headers(request.headers);
  for (const name of (headers.get("connection") ?? "").split(",").map((n) => n.trim()).filter(Boolean)) {
    try { headers.delete(name); } catch { /* an invalid name cannot be present */ }
  }
  for (const name of HOP_BY_HOP_HEADERS) headers.delete(name);
  headers.set("x-forwarded-host", visit.host);
  headers.set("x-forwarded-proto", visit.scheme);
  try {
    const response = await fetch(target, {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
    });
    return status === null ? response : new Response(response.body, { status, headers: response.headers });
  } catch (err) {
    console.error(`origin ${target} did not answer: ${err}`);
    return problem(PROBLEMS.originUnreachable, config);
  }
}

function httpsUpgrade(visit, config) {
  return config.httpsRedirect && visit.scheme === "http" ? redirectTo(visit, "https", visit.host) : null;
}

function redirectTo(visit, scheme, host) {
  const status = visit.method === "OTHER" ? 308 : 301;
  const location = `${scheme}://${host}${visit.path}${visit.query}`;
  return new Response(null, { status, headers: { location, "cache-control": PERMANENT_REDIRECT_CACHE_CONTROL } });
}

/** `If-None-Match`, weak comparison (RFC 9110 §13.1.2). */
function ifNoneMatchHits(header, etag) {
  if (header === null) return false;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim();
    return tag === "*" || (tag.startsWith("W/") ? tag.slice(2) : tag) === etag;
  });
}

// ---- KV records (shared/src/record.rs) ----

/** The decoded record, or null when absent, corrupt or of another version. */
async function readRecord(kv, key, decode) {
  const text = await kv.get(key, ROUTING_READ);
  if (text === null) return null;
  let record;
  try {
    record = decode(JSON.parse(text));
  } catch (err) {
    record = null;
  }
  if (record === null) console.warn(`ignoring routing record ${key}: unusable`);
  return record;
}

function decodeHostRecord(value) {
  if (typeof value !== "object" || value === null || value.v !== FORMAT_VERSION) return null;
  if (value.kind === "site") {
    return validTarget(value.index) && validTarget(value.not_found) ? value : null;
  }
  if (value.kind === "redirect") {
    const to = parseHostname(value.to);
    return to === null ? null : { kind: "redirect", to };
  }
  return null;
}

function decodePathRecord(value) {
  if (typeof value !== "object" || value === null || value.v !== FORMAT_VERSION) return null;
  return validTarget(value.target) ? value : null;
}

const DIGEST = /^[0-9a-f]{16,128}$/;

function validTarget(target) {
  if (typeof target !== "object" || target === null) return false;
  switch (target.type) {
    case "page":
      return typeof target.digest === "string" && DIGEST.test(target.digest);
    case "external":
      return typeof target.url === "string" && (target.url.startsWith("https://") || target.url.startsWith("http://"));
    case "origin":
      return typeof target.path === "string" && target.path.startsWith("/") && !target.path.startsWith("//");
  }
  return false;
}

// ---- Hosts (shared/src/host.rs, edge build: no IDNA tables) ----

const LABEL = /^[a-z0-9-]+$/;

/** The normalized host, or null when it is not a valid domain name. */
function parseHostname(input) {
  if (typeof input !== "string") return null;
  const trimmed = input.trim();
  if (trimmed === "" || trimmed.startsWith("[")) return null;
  let name = trimmed;
  const colon = trimmed.lastIndexOf(":");
  if (colon !== -1) {
    name = trimmed.slice(0, colon);
    const port = trimmed.slice(colon + 1);
    // More than one colon: an IPv6 literal or garbage.
    if (name.includes(":") || !/^[0-9]{1,5}$/.test(port)) return null;
  }
  if (name.endsWith(".")) name = name.slice(0, -1);
  // Non-ASCII is refused: browsers send punycode.
  if (name === "" || name.includes("*") || !/^[\x00-\x7f]*$/.test(name)) return null;
  name = name.toLowerCase();
  if (name.length > MAX_NAME_LEN) return null;
  const labels = name.split(".");
  for (const label of labels) {
    if (label.length === 0 || label.length > MAX_LABEL_LEN || !LABEL.test(label)) return null;
    if (label.startsWith("-") || label.endsWith("-")) return null;
  }
  // A numeric last label is an IPv4 address to URL parsers, never a domain.
  const last = labels[labels.length - 1];
  if (/^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/.test(last)) return null;
  return name;
}

// ---- Paths and slugs (shared/src/path.rs) ----

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const PATH_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;
const HEX = "0123456789ABCDEF";

function escapeByte(byte) {
  return `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
}

/** Canonical percent-encoding, dot segments resolved, slashes collapsed. */
function normalizePath(raw) {
  let encoded = raw.startsWith("/") ? "" : "/";
  const bytes = new TextEncoder().encode(raw);
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    const ch = String.fromCharCode(byte);
    if (byte === 0x25) {
      const high = parseInt(String.fromCharCode(bytes[i + 1] ?? 0), 16);
      const low = parseInt(String.fromCharCode(bytes[i + 2] ?? 0), 16);
      if (!Number.isNaN(high) && !Number.isNaN(low)) {
        const decoded = (high << 4) | low;
        encoded += UNRESERVED.test(String.fromCharCode(decoded)) ? String.fromCharCode(decoded) : escapeByte(decoded);
        i += 2;
      } else {
        encoded += "%25";
      }
    } else {
      encoded += byte < 0x80 && PATH_SAFE.test(ch) ? ch : escapeByte(byte);
    }
  }
  const segments = [];
  for (const segment of encoded.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  let path = segments.map((segment) => `/${segment}`).join("");
  if (path === "" || (encoded.endsWith("/") && segments.length > 0)) path += "/";
  return path;
}

function queryOf(href) {
  const at = href.indexOf("?");
  return at === -1 ? "" : href.slice(at);
}

/** The first segment and what follows it (`/a/b/` → [`a`, `/b/`]). */
function splitFirst(path) {
  const tail = path.slice(1);
  const at = tail.indexOf("/");
  return at === -1 ? [tail, ""] : [tail.slice(0, at), tail.slice(at)];
}

const SLUG = /^[A-Za-z0-9._-]+$/;
const ALNUM = /[A-Za-z0-9]/;

/** The page slug a first segment names (lower case), or null. */
function parseSlug(segment) {
  const s = segment.trim();
  if (s === "" || s.length > MAX_SLUG_LEN || !SLUG.test(s)) return null;
  if (!ALNUM.test(s[0]) || !ALNUM.test(s[s.length - 1])) return null;
  const slug = s.toLowerCase();
  return RESERVED_SLUGS.includes(slug) ? null : slug;
}

// ---- The platform's own pages (shared/src/pages.rs) ----

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
}

function problem(found, config) {
  const headers = new Headers({ "content-type": HTML_CONTENT_TYPE, "cache-control": NO_STORE, "x-content-type-options": "nosniff" });
  if (found.allow) headers.set("allow", found.allow);
  if (found.retryAfter) headers.set("retry-after", String(found.retryAfter));
  const html =
    `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<meta name="robots" content="noindex">\n<title>${found.title}</title>\n` +
    `<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1.5rem;color:#222;line-height:1.5}` +
    `h1{font-size:1.5rem}footer{margin-top:3rem;color:#777;font-size:.875rem}</style>\n` +
    `</head>\n<body>\n<main>\n<h1>${found.title}</h1>\n<p>${found.message}</p>\n</main>\n` +
    `<footer>${found.status} · ${escapeHtml(config.platformName)}</footer>\n</body>\n</html>\n`;
  return new Response(html, { status: found.status, headers });
}
