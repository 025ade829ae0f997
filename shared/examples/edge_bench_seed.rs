//! Writes the KV namespaces `scripts/bench-edge` seeds into every worker, as
//! `wrangler kv bulk put` files. Records are built with the same builders the
//! control plane's publisher uses (`HostRecord::site`/`redirect`,
//! `PathRecord::new`, `host_key`, `path_key`, `content_key`), so the
//! benchmark reads exactly the layout that is published.
//!
//! ```text
//! cargo run -p portico-shared --example edge_bench_seed -- <out dir> [pages] [many sites] [many roots]
//! ```
//!
//! Two data sets in one pair of namespaces:
//! - the hot-URL set: `bench.example.com` with `pages` pages (`/page-0001`…),
//!   an Index and a 404 page; 49 other sites (`shop<n>.example.net`) of 20
//!   pages; `example.com`, a bare root redirecting to `www.example.com`;
//! - the many-keys set: `many sites` sites (`site<n>.example.org`, default
//!   1,000) and `many roots` roots (default 100: `root<n>.example` redirects
//!   to `www.root<n>.example`), every served host with 50 pages
//!   (`/page-01`…`/page-50`) of about 4 KB, all different, an Index and a
//!   404 page.
//!
//! Output: `routes.json`, `content-<n>.json` (2,000 pairs each), all in the
//! `wrangler kv bulk put` format, `expected.env` (digests and counts the benchmark
//! checks) and `many.lua` (the wrk script of the many-keys scenario: its
//! hosts and page count).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use portico_shared::record::{content_key, host_key, path_key};
use portico_shared::{ContentDigest, HostRecord, Hostname, PathRecord, Slug, Target};
use sha2::{Digest, Sha256};

/// Pages of each many-keys host.
const MANY_PAGES: usize = 50;
/// Pairs per seed file (the bulk API takes 10,000; smaller files keep the
/// seeding worker's memory low).
const PAIRS_PER_FILE: usize = 2_000;

struct Seed {
    routes: Vec<(String, String)>,
    content: Vec<(String, String)>,
}

struct Site {
    index: ContentDigest,
    not_found: ContentDigest,
    pages: Vec<ContentDigest>,
}

impl Seed {
    /// Stores the HTML under its content key; returns its digest.
    fn page(&mut self, html: String) -> ContentDigest {
        let hex = Sha256::digest(html.as_bytes()).iter().fold(
            String::with_capacity(64),
            |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            },
        );
        let digest = ContentDigest::parse(&hex).expect("a sha-256 is a digest");
        self.content.push((content_key(&digest), html));
        digest
    }

    fn route(&mut self, key: String, record: Vec<u8>) {
        self.routes
            .push((key, String::from_utf8(record).expect("records are JSON")));
    }

    /// A served host: its host record and one path record per page, as the
    /// publisher writes them (`control/src/publish/sync.rs`).
    fn site(&mut self, host: &str, slugs: &[String], paragraphs: usize) -> Site {
        let host = Hostname::parse(host).expect("a bench host");
        let index = self.page(html(host.as_str(), "Welcome", paragraphs + 4));
        let not_found = self.page(html(host.as_str(), "Page not found", 2));
        let record = HostRecord::site(page(&index), page(&not_found));
        self.route(host_key(&host), record.encode());
        let mut pages = Vec::with_capacity(slugs.len());
        for (n, slug) in slugs.iter().enumerate() {
            let digest = self.page(html(host.as_str(), &format!("Offer {}", n + 1), paragraphs));
            let slug = Slug::parse(slug).expect("a bench slug");
            self.route(
                path_key(&host, &slug),
                PathRecord::new(page(&digest)).encode(),
            );
            pages.push(digest);
        }
        Site {
            index,
            not_found,
            pages,
        }
    }

    /// A bare root answering with a redirect to its `www` host.
    fn redirect(&mut self, from: &str, to: &str) {
        let from = Hostname::parse(from).expect("a bench host");
        let to = Hostname::parse(to).expect("a bench host");
        self.route(host_key(&from), HostRecord::redirect(to).encode());
    }
}

fn page(digest: &ContentDigest) -> Target {
    Target::Page {
        digest: digest.clone(),
    }
}

/// A landing page of `paragraphs` sections (about 320 bytes each: 12 make a page of about 4 KB), every
/// one different (the host and title are in each section).
fn html(site: &str, title: &str, paragraphs: usize) -> String {
    let mut body = String::new();
    for i in 0..paragraphs {
        let _ = writeln!(
            body,
            "<section id=\"s{i}\"><h2>{title}, part {n}</h2><p>{site} sells handmade things. \
             This paragraph {n} of “{title}” describes the offer in some detail, with a list \
             of what is included, what it costs and how to order it, as landing pages do.</p>\
             <ul><li>Item {a}</li><li>Item {b}</li><li>Item {c}</li></ul></section>",
            n = i + 1,
            a = i * 3 + 1,
            b = i * 3 + 2,
            c = i * 3 + 3,
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · {site}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:auto;padding:1rem}}</style></head>\
         <body><header><h1>{title}</h1></header><main>{body}</main></body></html>\n"
    )
}

fn arg(args: &[String], at: usize, default: usize, name: &str) -> usize {
    match args.get(at) {
        None => default,
        Some(raw) => raw.parse().unwrap_or_else(|_| {
            eprintln!("{name} must be a number, not {raw}");
            std::process::exit(2)
        }),
    }
}

/// `[{"key": …, "value": …}, …]`, as `wrangler kv bulk put` reads it.
fn write_pairs(path: &Path, pairs: &[(String, String)]) {
    let list: Vec<serde_json::Value> = pairs
        .iter()
        .map(|(key, value)| serde_json::json!({ "key": key, "value": value }))
        .collect();
    fs::write(path, serde_json::to_vec(&list).expect("JSON")).expect("writing a seed file");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        eprintln!("usage: edge_bench_seed <out dir> [pages] [many sites] [many roots]");
        std::process::exit(2);
    };
    let pages = arg(&args, 1, 1000, "pages");
    let many_sites = arg(&args, 2, 1000, "many sites");
    let many_roots = arg(&args, 3, 100, "many roots");
    if !(1..=9999).contains(&pages) || many_sites > 9999 || many_roots > 999 {
        eprintln!("pages must be 1..9999, many sites at most 9999, many roots at most 999");
        std::process::exit(2);
    }
    let mut seed = Seed {
        routes: Vec::new(),
        content: Vec::new(),
    };

    // The hot-URL set.
    let bench_slugs: Vec<String> = (1..=pages).map(|n| format!("page-{n:04}")).collect();
    let bench = seed.site("bench.example.com", &bench_slugs, 12);
    let shop_slugs: Vec<String> = (1..=20).map(|n| format!("page-{n:04}")).collect();
    for n in 1..=49 {
        seed.site(&format!("shop{n}.example.net"), &shop_slugs, 12);
    }
    seed.redirect("example.com", "www.example.com");

    // The many-keys set.
    let many_slugs: Vec<String> = (1..=MANY_PAGES).map(|n| format!("page-{n:02}")).collect();
    let mut many_hosts = Vec::new();
    for n in 1..=many_sites {
        many_hosts.push(format!("site{n:04}.example.org"));
    }
    for n in 1..=many_roots {
        let root = format!("root{n:03}.example");
        let www = format!("www.{root}");
        seed.redirect(&root, &www);
        many_hosts.push(www);
    }
    let mut many_probe = None;
    for host in &many_hosts {
        let site = seed.site(host, &many_slugs, 12);
        many_probe.get_or_insert((host.clone(), site.pages[MANY_PAGES - 1].clone()));
    }

    fs::create_dir_all(&out).expect("creating the seed directory");
    write_pairs(&out.join("routes.json"), &seed.routes);
    for (n, chunk) in seed.content.chunks(PAIRS_PER_FILE).enumerate() {
        write_pairs(&out.join(format!("content-{n}.json")), chunk);
    }
    let probe = pages.div_ceil(2) - 1;
    let mut env = format!(
        "BENCH_HOST=bench.example.com\nPAGE_PATH=/{}\nPAGE_DIGEST={}\nINDEX_DIGEST={}\n\
         NOT_FOUND_DIGEST={}\nROUTE_KEYS={}\nCONTENT_KEYS={}\nMANY_HOSTS={}\nMANY_PAGES={MANY_PAGES}\n",
        bench_slugs[probe],
        bench.pages[probe].as_str(),
        bench.index.as_str(),
        bench.not_found.as_str(),
        seed.routes.len(),
        seed.content.len(),
        many_hosts.len(),
    );
    if let Some((host, digest)) = many_probe {
        let _ = writeln!(
            env,
            "MANY_PROBE_HOST={host}\nMANY_PROBE_PATH=/page-{MANY_PAGES:02}\nMANY_PROBE_DIGEST={}",
            digest.as_str()
        );
    }
    fs::write(out.join("expected.env"), env).expect("writing expected.env");
    fs::write(out.join("many.lua"), many_lua(&many_hosts)).expect("writing many.lua");
}

/// The wrk script of the many-keys scenario: every request picks a host at
/// random, then 80 % a page, 10 % the Index, 10 % a path no host has.
/// Statuses other than 200 and 404 are counted and reported by `done`.
fn many_lua(hosts: &[String]) -> String {
    let mut list = String::new();
    for host in hosts {
        let _ = writeln!(list, "  \"{host}\",");
    }
    format!(
        r#"-- Written by shared/examples/edge_bench_seed.rs: the many-keys scenario.
local hosts = {{
{list}}}
local pages = {MANY_PAGES}
local threads = {{}}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(7919 * id)
  unexpected = 0
  missing = 0
end

function request()
  local host = hosts[math.random(#hosts)]
  local pick = math.random(100)
  local path
  if pick <= 80 then
    path = string.format("/page-%02d", math.random(pages))
  elseif pick <= 90 then
    path = "/"
  else
    path = string.format("/missing-%d", math.random(1000000))
  end
  return wrk.format("GET", path, {{ Host = host }})
end

function response(status, headers, body)
  if status == 404 then
    missing = missing + 1
  elseif status ~= 200 then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local u, m = 0, 0
  for _, thread in ipairs(threads) do
    u = u + thread:get("unexpected")
    m = m + thread:get("missing")
  end
  io.write(string.format("portico-statuses: unexpected=%d missing=%d\n", u, m))
end
"#
    )
}
