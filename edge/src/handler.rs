//! The worker's handlers: `fetch` for visitors, `start` once per isolate.

use portico_shared::origin_context::OriginContext;
use portico_shared::pages::problem_page;
use portico_shared::path::is_pass_through;
use portico_shared::route::{
    hsts_max_age, redirect_cache_control, split_request_url, HTML_CONTENT_TYPE, NO_STORE,
    PAGE_CACHE_CONTROL,
};
use portico_shared::{
    route, Decision, Facts, HostRecord, Lookup, PathRecord, Problem, Request as Visitor, Via, Visit,
};
use wasm_bindgen::prelude::*;
use web_sys::{Request, Response};
use worker::{console_error, console_warn, event, Env, Result};

use crate::config::Config;
use crate::content;
use crate::proxy::{self, Failure, Forward};
use crate::runtime::kv::KvNamespace;
use crate::runtime::reply::{
    self, reply, Body, Method, RequestHeaders, Value, Value::Fixed, Value::Text,
};
use crate::runtime::task;

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

/// The worker's `fetch` handler, exported under that name as
/// `#[event(fetch)]` would export it (worker-build's shim calls it with the
/// request, `env` and `ctx`), but driven by [`task::run`] instead of
/// `wasm-bindgen-futures`: see `task.rs` for what that saves per request.
///
/// It takes the runtime's request and answers with a runtime response as
/// they are: `worker::Request` would read `request.cf` (an object workerd
/// builds on first access; the largest piece of JS glue in a CPU profile of
/// a page hit under `wrangler dev`), the URL and the method up front on
/// every request, and `worker::Response` is converted once more on the way
/// out. Nothing here needs either.
#[wasm_bindgen(js_name = fetch)]
pub fn fetch_handler(req: Request, env: Env, _ctx: worker::worker_sys::Context) -> JsValue {
    task::run(
        async move {
            let config = Config::get(&env);
            // `answer` turns every failure into a problem page already; an
            // error here means even that page could not be built, and the
            // runtime answers with its own 500.
            match answer(&req, &env, &config).await {
                Ok(response) => response.into(),
                Err(err) => {
                    console_error!("answering failed: {err}");
                    JsValue::from_str(&err.to_string())
                }
            }
        },
        abandoned,
    )
}

/// The answer to a request whose future was dropped after waiting too long
/// (see `task.rs`) and whose promise settled after all.
fn abandoned() -> JsValue {
    let config = Config::cached().unwrap_or_default();
    match problem(Problem::Unavailable, &config) {
        Ok(response) => response.into(),
        Err(err) => JsValue::from_str(&err.to_string()),
    }
}

async fn answer(req: &Request, env: &Env, config: &Config) -> Result<Response> {
    // The runtime's URL string, read once.
    let url = req.url();
    #[cfg(feature = "local-kv")]
    if let Some(response) = crate::local_kv::handle(req, &url, env).await {
        return match response {
            Ok(response) => Ok(Response::from(response)),
            Err(err) => {
                console_error!("local kv endpoint: {err}");
                problem(Problem::Unavailable, config)
            }
        };
    }
    match serve(req, &url, env, config).await {
        Ok(response) => Ok(response),
        Err(err) => {
            console_error!("serving failed: {err}");
            problem(Problem::Unavailable, config)
        }
    }
}

async fn serve(req: &Request, url: &str, env: &Env, config: &Config) -> Result<Response> {
    // Split without a URL parser (see shared).
    let Some((scheme, path, query)) = split_request_url(url) else {
        return problem(Problem::BadHost, config);
    };
    let headers = RequestHeaders::of(req);
    let host = headers.get("host")?;
    let if_none_match = headers.get("if-none-match")?;
    // The raw method (`worker::Method` maps methods it does not know to
    // GET), its name passed into wasm only when it is neither GET nor HEAD.
    let other;
    let method = match Method::of(req) {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Other => {
            other = req.method();
            other.as_str()
        }
    };
    let visit = Visit {
        scheme,
        method,
        host: host.as_deref(),
        path,
        query,
        if_none_match: if_none_match.as_deref(),
    };
    let request = match Visitor::parse(&visit) {
        Ok(request) => request,
        Err(decision) => return respond(decision, None, false, req, env, config).await,
    };
    let routes = KvNamespace::binding(env, "ROUTES")?;
    let mut facts = Facts::default();
    loop {
        match route(&request, &facts, &config.settings) {
            Decision::ReadHost(key) => facts.host = read(&routes, &key, HostRecord::decode).await?,
            Decision::ReadPath(key) => facts.path = read(&routes, &key, PathRecord::decode).await?,
            decision => {
                let hsts = hsts_max_age(&request, &facts);
                let validation = is_pass_through(&request.path);
                return respond(decision, hsts, validation, req, env, config).await;
            }
        }
    }
}

async fn read<T>(
    routes: &KvNamespace,
    key: &str,
    decode: fn(&[u8]) -> std::result::Result<T, portico_shared::RecordError>,
) -> Result<Lookup<T>> {
    let value = routes.get_record(key).await?;
    let lookup = Lookup::from_kv(value.as_deref().map(str::as_bytes), decode);
    if let Lookup::Unusable(err) = &lookup {
        console_warn!("ignoring routing record {key}: {err}");
    }
    Ok(lookup)
}

/// The headers every answer of the host carries: `X-Content-Type-Options`
/// always (the answers built here are HTML or empty), HSTS when its record
/// says so (a Connected custom domain with an active certificate, over HTTPS).
struct Hardening(Option<JsValue>);

impl Hardening {
    fn of(hsts_max_age_s: Option<u32>) -> Hardening {
        Hardening(hsts_max_age_s.map(reply::hsts))
    }

    fn add<'a>(&'a self, headers: &mut Vec<(&'static str, Value<'a>)>) {
        if let Some(hsts) = &self.0 {
            headers.push(("strict-transport-security", Value::Js(hsts)));
        }
    }
}

/// `validation`: the request is for a certificate validation path (see
/// [`signed_context`]).
async fn respond(
    decision: Decision,
    hsts_max_age_s: Option<u32>,
    validation: bool,
    req: &Request,
    env: &Env,
    config: &Config,
) -> Result<Response> {
    let hardening = Hardening::of(hsts_max_age_s);
    match decision {
        Decision::Page {
            status,
            content_key,
            etag,
            body,
        } => {
            let mut headers = vec![
                ("content-type", Fixed(HTML_CONTENT_TYPE)),
                ("etag", Text(&etag)),
                ("cache-control", Fixed(PAGE_CACHE_CONTROL)),
                ("x-content-type-options", Fixed(NOSNIFF)),
            ];
            hardening.add(&mut headers);
            if !body {
                return reply(status, &headers, Body::Empty);
            }
            match content::get(&content_key, env).await? {
                Some(html) => reply(status, &headers, Body::Buffer(&html)),
                None => {
                    // Content is published before the records naming it; a
                    // miss means the store is behind, not that the page is gone.
                    console_error!("content {content_key} is missing");
                    problem_for(Problem::Unavailable, config, &hardening)
                }
            }
        }
        Decision::NotModified { etag } => {
            let mut headers = vec![
                ("etag", Text(&etag)),
                ("cache-control", Fixed(PAGE_CACHE_CONTROL)),
            ];
            hardening.add(&mut headers);
            reply(304, &headers, Body::Empty)
        }
        Decision::Redirect { status, location } => {
            let mut headers = vec![
                ("location", Text(&location)),
                ("cache-control", Fixed(redirect_cache_control(status))),
            ];
            hardening.add(&mut headers);
            reply(status, &headers, Body::Empty)
        }
        Decision::Proxy {
            path_and_query,
            forwarded_host,
            forwarded_proto,
            status,
            via,
        } => {
            let Some(signed) = signed_context(&forwarded_host, via, validation, config) else {
                return problem_for(Problem::Unavailable, config, &hardening);
            };
            let forward = Forward {
                path_and_query: &path_and_query,
                forwarded_host: &forwarded_host,
                forwarded_proto,
                status,
                signed,
            };
            match proxy::forward(req, &config.origin, forward).await {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(Failure::Timeout)) => {
                    console_error!(
                        "origin {}{path_and_query} did not answer within {} ms",
                        config.origin.base,
                        config.origin.timeout_ms
                    );
                    problem_for(Problem::OriginTimeout, config, &hardening)
                }
                Ok(Err(Failure::Unreachable(reason))) => {
                    console_error!(
                        "origin {}{path_and_query} did not answer: {reason}",
                        config.origin.base
                    );
                    problem_for(Problem::OriginUnreachable, config, &hardening)
                }
                Err(err) => {
                    console_error!(
                        "proxying to {}{path_and_query} failed: {err}",
                        config.origin.base
                    );
                    problem_for(Problem::OriginUnreachable, config, &hardening)
                }
            }
        }
        Decision::Problem(found) => problem_for(found, config, &hardening),
        // `serve` loops on reads; a read reaching here is a bug, not a visitor's fault.
        Decision::ReadHost(_) | Decision::ReadPath(_) => problem(Problem::Unavailable, config),
    }
}

const NOSNIFF: &str = "nosniff";

/// The signed context for a proxied request: `Some(Some(headers))` with the
/// key; without one, `Some(None)` (forwarded unsigned) only for certificate
/// validation (which belongs to no account and must work before anything else
/// is set up), else `None`: the caller answers 503 rather than let the
/// platform serve an account's product to a request it cannot check.
fn signed_context(
    host: &str,
    via: Via,
    validation: bool,
    config: &Config,
) -> Option<Option<(String, String)>> {
    let Some(key) = &config.signing_key else {
        return validation.then_some(None);
    };
    let context = OriginContext {
        // Whole seconds of the runtime's clock (frozen between I/O in workerd).
        timestamp_s: (js_sys::Date::now() / 1000.0) as u64,
        host: host.to_string(),
        account: via.account,
        mount: via.mount,
    };
    Some(Some(context.sign(key)))
}

/// The platform's page for `found`, before any host record was read.
fn problem(found: Problem, config: &Config) -> Result<Response> {
    problem_for(found, config, &Hardening(None))
}

/// The platform's page for `found`, for a host whose record may ask for HSTS.
fn problem_for(found: Problem, config: &Config, hardening: &Hardening) -> Result<Response> {
    let retry_after = found.retry_after().map(|seconds| seconds.to_string());
    let mut headers = vec![
        ("content-type", Fixed(HTML_CONTENT_TYPE)),
        ("cache-control", Fixed(NO_STORE)),
        ("x-content-type-options", Fixed(NOSNIFF)),
    ];
    hardening.add(&mut headers);
    if let Some(allow) = found.allow() {
        headers.push(("allow", Fixed(allow)));
    }
    if let Some(seconds) = &retry_after {
        headers.push(("retry-after", Text(seconds)));
    }
    let page = problem_page(found, &config.platform_name);
    reply(found.status(), &headers, Body::Bytes(page.as_bytes()))
}
