// Writes the KV namespaces `scripts/bench-edge` seeds into every worker, as
// `wrangler kv bulk put` files, following the KV contract of
// shared/src/record.rs (the same JSON the control plane publishes):
//
//   node edge/bench/seed.mjs <out dir> [pages]
//
// - bench.example.com: a site with `pages` pages (`/page-0001`…), an Index
//   and a 404 page;
// - 49 other sites with 20 pages each, so the namespace is not one host's;
// - example.com: a root that redirects to www.example.com.
// Page HTML (a few KiB each, every page different) goes to CONTENT under
// v1/c/<sha-256>. Also writes expected.env: the digests the benchmark checks.

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [outDir, pagesArg = "1000"] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node edge/bench/seed.mjs <out dir> [pages]");
  process.exit(2);
}
const pages = Number.parseInt(pagesArg, 10);
if (!(pages >= 1 && pages <= 9999)) {
  console.error(`pages must be 1..9999, not ${pagesArg}`);
  process.exit(2);
}

const routes = [];
const content = new Map();

function html(site, title, paragraphs) {
  const body = [];
  for (let i = 0; i < paragraphs; i++) {
    body.push(
      `<section id="s${i}"><h2>${title}, part ${i + 1}</h2><p>${site} sells handmade things. ` +
        `This paragraph ${i + 1} of “${title}” describes the offer in some detail, with a list ` +
        `of what is included, what it costs and how to order it, as landing pages do.</p>` +
        `<ul><li>Item ${i * 3 + 1}</li><li>Item ${i * 3 + 2}</li><li>Item ${i * 3 + 3}</li></ul></section>`,
    );
  }
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title} · ${site}</title>` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:auto;padding:1rem}</style></head>` +
    `<body><header><h1>${title}</h1></header><main>${body.join("\n")}</main></body></html>\n`
  );
}

/** Stores the HTML under its content key; returns the page target. */
function page(htmlText) {
  const digest = createHash("sha256").update(htmlText).digest("hex");
  content.set(`v1/c/${digest}`, htmlText);
  return { type: "page", digest };
}

function site(host, count) {
  const index = page(html(host, "Welcome", 16));
  const notFound = page(html(host, "Page not found", 2));
  routes.push({ key: `v1/h/${host}`, value: JSON.stringify({ kind: "site", v: 1, index, not_found: notFound }) });
  const targets = {};
  for (let n = 1; n <= count; n++) {
    const slug = `page-${String(n).padStart(4, "0")}`;
    const target = page(html(host, `Offer ${n}`, 12));
    targets[slug] = target;
    routes.push({ key: `v1/p/${host}/${slug}`, value: JSON.stringify({ v: 1, target }) });
  }
  return { index, notFound, targets };
}

const bench = site("bench.example.com", pages);
for (let n = 1; n <= 49; n++) site(`shop${n}.example.net`, 20);
routes.push({ key: "v1/h/example.com", value: JSON.stringify({ kind: "redirect", v: 1, to: "www.example.com" }) });

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "routes.json"), JSON.stringify(routes));
writeFileSync(
  join(outDir, "content.json"),
  JSON.stringify([...content].map(([key, value]) => ({ key, value }))),
);
const probe = `page-${String(Math.ceil(pages / 2)).padStart(4, "0")}`;
writeFileSync(
  join(outDir, "expected.env"),
  [
    `BENCH_HOST=bench.example.com`,
    `PAGE_PATH=/${probe}`,
    `PAGE_DIGEST=${bench.targets[probe].digest}`,
    `INDEX_DIGEST=${bench.index.digest}`,
    `NOT_FOUND_DIGEST=${bench.notFound.digest}`,
    `ROUTE_KEYS=${routes.length}`,
    `CONTENT_KEYS=${content.size}`,
    "",
  ].join("\n"),
);
