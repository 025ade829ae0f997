//! Portico's edge worker: a thin shell around `portico_shared::route`.
//! Request in → the routing keys the decision asks for, read from the
//! `ROUTES` KV namespace → page HTML (from the Cache API, else `CONTENT`),
//! a redirect, a proxied origin response or a platform page out.
//!
//! No rule lives here: hosts, paths, methods, redirects and conditional
//! requests are all decided in `shared`. What this file does is I/O, and
//! turning every failure into a proper response (never a panic, never a 500).

// The worker only exists for wasm32: native `cargo test`/`clippy` of the
// workspace compile this crate as empty instead of linking the JS bindings.
#![cfg(target_arch = "wasm32")]

mod local_kv;
mod proxy;

use portico_shared::pages::problem_page;
use portico_shared::route::{
    redirect_cache_control, split_request_url, HTML_CONTENT_TYPE, NO_STORE, PAGE_CACHE_CONTROL,
};
use portico_shared::{
    route, Decision, EdgeSettings, Facts, HostRecord, Lookup, PathRecord, Problem,
    Request as Visitor, Visit,
};
use web_sys::Request;
use worker::{
    console_error, console_warn, event, Cache, Context, Env, Headers, KvStore, Response,
    ResponseBody, Result,
};

/// Content keys are immutable (they name a digest of the HTML): cache them
/// for a year.
const CONTENT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// The Cache API is keyed by URL; content gets URLs of its own, never served
/// to visitors directly.
const CONTENT_CACHE_ORIGIN: &str = "https://content.portico.invalid/";

/// The deployment's settings, from `wrangler.toml` vars.
struct Config {
    settings: EdgeSettings,
    platform_name: String,
    platform_origin: String,
}

impl Config {
    fn from_env(env: &Env) -> Config {
        let var = |name: &str| env.var(name).map(|v| v.to_string()).unwrap_or_default();
        let platform_name = var("PLATFORM_NAME");
        Config {
            settings: EdgeSettings {
                https_redirect: var("HTTPS_REDIRECT") == "true",
            },
            platform_name: if platform_name.is_empty() {
                "Portico".to_string()
            } else {
                platform_name
            },
            platform_origin: var("PLATFORM_ORIGIN"),
        }
    }
}

/// Runs once per isolate (again after a panic reset it). The `worker` crate
/// installs its own panic hook; this one logs the panic with our context
/// first, then hands over to it. No path is meant to panic: the hook is for
/// finding the one that does.
#[event(start)]
fn start() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        console_error!("portico-edge panicked (the isolate will be reset): {info}");
        previous(info);
    }));
}

/// Takes the runtime's request as it is: `worker::Request` would read
/// `request.cf` (an object workerd builds on first access; the largest piece
/// of JS glue in a CPU profile of a page hit under `wrangler dev`), the URL
/// and the method up front on every request. Nothing here needs `cf`.
#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let config = Config::from_env(&env);
    // The runtime's URL string, read once.
    let url = req.url();
    if let Some(response) = local_kv::handle(&req, &url, &env).await {
        return response.or_else(|err| {
            console_error!("local kv endpoint: {err}");
            problem(Problem::Unavailable, &config)
        });
    }
    match serve(&req, &url, &env, &ctx, &config).await {
        Ok(response) => Ok(response),
        Err(err) => {
            console_error!("serving failed: {err}");
            problem(Problem::Unavailable, &config)
        }
    }
}

async fn serve(
    req: &Request,
    url: &str,
    env: &Env,
    ctx: &Context,
    config: &Config,
) -> Result<Response> {
    // Split without a URL parser (see shared).
    let Some((scheme, path, query)) = split_request_url(url) else {
        return problem(Problem::BadHost, config);
    };
    let headers = req.headers();
    let host = headers.get("host")?;
    let if_none_match = headers.get("if-none-match")?;
    // The raw method: `worker::Method` maps methods it does not know to GET.
    let method = req.method();
    let visit = Visit {
        scheme,
        method: &method,
        host: host.as_deref(),
        path,
        query,
        if_none_match: if_none_match.as_deref(),
    };
    let request = match Visitor::parse(&visit) {
        Ok(request) => request,
        Err(decision) => return respond(decision, req, env, ctx, config).await,
    };
    let routes = env.kv("ROUTES")?;
    let mut facts = Facts::default();
    loop {
        match route(&request, &facts, &config.settings) {
            Decision::ReadHost(key) => facts.host = read(&routes, &key, HostRecord::decode).await?,
            Decision::ReadPath(key) => facts.path = read(&routes, &key, PathRecord::decode).await?,
            decision => return respond(decision, req, env, ctx, config).await,
        }
    }
}

async fn read<T>(
    routes: &KvStore,
    key: &str,
    decode: fn(&[u8]) -> std::result::Result<T, portico_shared::RecordError>,
) -> Result<Lookup<T>> {
    let value = routes.get(key).bytes().await?;
    let lookup = Lookup::from_kv(value.as_deref(), decode);
    if let Lookup::Unusable(err) = &lookup {
        console_warn!("ignoring routing record {key}: {err}");
    }
    Ok(lookup)
}

async fn respond(
    decision: Decision,
    req: &Request,
    env: &Env,
    ctx: &Context,
    config: &Config,
) -> Result<Response> {
    match decision {
        Decision::Page {
            status,
            content_key,
            etag,
            body,
        } => {
            let headers = Headers::new();
            headers.set("content-type", HTML_CONTENT_TYPE)?;
            headers.set("etag", &etag)?;
            headers.set("cache-control", PAGE_CACHE_CONTROL)?;
            headers.set("x-content-type-options", "nosniff")?;
            let builder = Response::builder()
                .with_status(status)
                .with_headers(headers);
            if !body {
                return Ok(builder.empty());
            }
            match content(&content_key, env, ctx).await? {
                Some(body) => Ok(builder.body(body)),
                None => {
                    // Content is published before the records naming it; a
                    // miss means the store is behind, not that the page is gone.
                    console_error!("content {content_key} is missing");
                    problem(Problem::Unavailable, config)
                }
            }
        }
        Decision::NotModified { etag } => {
            let headers = Headers::new();
            headers.set("etag", &etag)?;
            headers.set("cache-control", PAGE_CACHE_CONTROL)?;
            Ok(Response::builder()
                .with_status(304)
                .with_headers(headers)
                .empty())
        }
        Decision::Redirect { status, location } => {
            let headers = Headers::new();
            headers.set("location", &location)?;
            headers.set("cache-control", redirect_cache_control(status))?;
            Ok(Response::builder()
                .with_status(status)
                .with_headers(headers)
                .empty())
        }
        Decision::Proxy {
            path_and_query,
            forwarded_host,
            forwarded_proto,
            status,
        } => {
            let target = format!(
                "{}{}",
                config.platform_origin.trim_end_matches('/'),
                path_and_query
            );
            match proxy::forward(req, &target, &forwarded_host, forwarded_proto).await {
                Ok(response) => Ok(match status {
                    Some(status) => response.with_status(status),
                    None => response,
                }),
                Err(err) => {
                    console_error!("origin {target} did not answer: {err}");
                    problem(Problem::OriginUnreachable, config)
                }
            }
        }
        Decision::Problem(found) => problem(found, config),
        // `serve` loops on reads; a read reaching here is a bug, not a visitor's fault.
        Decision::ReadHost(_) | Decision::ReadPath(_) => problem(Problem::Unavailable, config),
    }
}

/// Page HTML: from the Cache API when hot, else from `CONTENT` (and then
/// cached, after the response is sent).
async fn content(key: &str, env: &Env, ctx: &Context) -> Result<Option<ResponseBody>> {
    let cache_url = format!("{CONTENT_CACHE_ORIGIN}{key}");
    if let Some(hit) = Cache::default().get(cache_url.as_str(), false).await? {
        return Ok(Some(hit.into_parts().1));
    }
    let Some(stream) = env.kv("CONTENT")?.get(key).stream().await? else {
        return Ok(None);
    };
    let headers = Headers::new();
    headers.set("cache-control", CONTENT_CACHE_CONTROL)?;
    let mut fetched = Response::builder().with_headers(headers).stream(stream);
    let for_cache = fetched.cloned()?;
    ctx.wait_until(async move {
        if let Err(err) = Cache::default().put(cache_url.as_str(), for_cache).await {
            console_warn!("caching {cache_url} failed: {err}");
        }
    });
    Ok(Some(fetched.into_parts().1))
}

fn problem(found: Problem, config: &Config) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", HTML_CONTENT_TYPE)?;
    headers.set("cache-control", NO_STORE)?;
    if let Some(allow) = found.allow() {
        headers.set("allow", allow)?;
    }
    if let Some(seconds) = found.retry_after() {
        headers.set("retry-after", &seconds.to_string())?;
    }
    Ok(Response::builder()
        .with_status(found.status())
        .with_headers(headers)
        .fixed(problem_page(found, &config.platform_name).into_bytes()))
}
