//! A stand-in for the platform application behind origin mounts: a real
//! HTTP server on 127.0.0.1 with one small product of each kind the edge
//! must proxy, each reached by a customer's domain through `wrangler dev`:
//!
//! | path | product |
//! | --- | --- |
//! | `/members/login` (GET form, POST) | membership login: a session cookie (with a `Domain` naming the platform, as platforms do), 303 to the lesson by an absolute URL of the platform |
//! | `/members/lesson/1` | members only: the lesson with a session of this account, else 303 to the login |
//! | `/checkout` (GET form, POST) | checkout: 303 to `/checkout/thanks?order=N`, absolute |
//! | `/checkout/thanks` | thank-you page, with `Refresh` and `Content-Location` naming the platform |
//! | `/video/intro.mp4` | a generated video file served by tower-http's `ServeFile` (ranges, 206) |
//! | `/calendar` | the query string parsed, as a calendar reads `?month=…&tz=…` |
//! | `/helpdesk/chat` | WebSocket: a greeting naming the domain, then `echo: <text>` |
//! | `/whoami` | the verified context and the forwarding headers, as JSON |
//! | `/upload` (POST) | counts the streamed request body's bytes |
//! | `/slow` | answers after 30 s (the edge's timeout test) |
//!
//! Every request must carry the edge's signed context
//! (`portico_shared::origin_context::verify`): unsigned, forged, altered or
//! stale requests get 401 `{ "error": { "code", "message" } }`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use futures_util::StreamExt;
use portico_shared::origin_context::{
    verify, ContextError, OriginContext, SigningKey, CONTEXT_HEADER, DEFAULT_MAX_AGE_S,
    SIGNATURE_HEADER,
};
use serde::Deserialize;
use serde_json::json;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::services::ServeFile;

use crate::{Error, Result};

/// The secret the tests share between the edge and this platform.
pub const TEST_SIGNING_SECRET: &str = "portico-test-origin-signing-secret-0123456789";
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "portico_session";
/// The one member password.
pub const MEMBER_PASSWORD: &str = "open sesame";

/// The generated video's byte at `offset` (tests compare ranges with it).
pub fn video_byte(offset: u64) -> u8 {
    (offset % 251) as u8
}

pub struct Platform {
    base_url: String,
    server: JoinHandle<()>,
    video_len: u64,
    _dir: TempDir,
}

struct AppState {
    key: SigningKey,
    /// `http://127.0.0.1:<port>`: the absolute URLs a platform answers with.
    base_url: String,
    sessions: Mutex<HashMap<String, Session>>,
    next: AtomicU64,
}

/// A member's login, good only on the account and domain it was made on.
#[derive(Clone)]
struct Session {
    account: Option<String>,
    host: String,
    member: String,
}

impl Platform {
    /// On a free loopback port, with a video of `video_len` bytes.
    pub async fn start(secret: &str, video_len: u64) -> Result<Platform> {
        Platform::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), secret, video_len).await
    }

    pub async fn start_on(addr: SocketAddr, secret: &str, video_len: u64) -> Result<Platform> {
        let key = SigningKey::new(secret.as_bytes()).map_err(|err| Error::msg(err.to_string()))?;
        let dir = tempfile::Builder::new()
            .prefix("portico-platform-")
            .tempdir()?;
        let video = dir.path().join("intro.mp4");
        write_video(&video, video_len)?;
        let listener = TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(AppState {
            key,
            base_url: base_url.clone(),
            sessions: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        });
        let app = router(state, video);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Platform {
            base_url,
            server,
            video_len,
            _dir: dir,
        })
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn video_len(&self) -> u64 {
        self.video_len
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn write_video(path: &PathBuf, len: u64) -> Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let block: Vec<u8> = (0..251 * 64).map(video_byte).collect();
    let mut written = 0;
    while written < len {
        let n = (len - written).min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        written += n as u64;
    }
    file.flush()?;
    Ok(())
}

fn router(state: Arc<AppState>, video: PathBuf) -> Router {
    Router::new()
        .route("/members/login", get(login_form).post(login))
        .route("/members/lesson/1", get(lesson))
        .route("/checkout", get(checkout_form).post(checkout))
        .route("/checkout/thanks", get(thanks))
        .route_service(
            "/video/intro.mp4",
            ServeFile::new_with_mime(video, &"video/mp4".parse().expect("a MIME type")),
        )
        .route("/calendar", get(calendar))
        .route("/helpdesk/chat", get(chat))
        .route("/whoami", get(whoami))
        .route("/upload", post(upload))
        .route("/slow", get(slow))
        .layer(middleware::from_fn_with_state(state.clone(), signed_only))
        .with_state(state)
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// Refuses any request without a valid, fresh signed context; hands the
/// context to the handlers.
async fn signed_only(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let now_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match verify(
        text(CONTEXT_HEADER),
        text(SIGNATURE_HEADER),
        &state.key,
        now_s,
        DEFAULT_MAX_AGE_S,
    ) {
        Ok(context) => {
            request.extensions_mut().insert(context);
            next.run(request).await
        }
        Err(err) => {
            let code = match err {
                ContextError::Missing => "unsigned_request",
                ContextError::BadSignature => "forged_request",
                ContextError::Expired { .. } | ContextError::FromTheFuture { .. } => {
                    "stale_request"
                }
                ContextError::Malformed | ContextError::ShortSecret(_) => "malformed_context",
            };
            error(StatusCode::UNAUTHORIZED, code, err.to_string())
        }
    }
}

async fn login_form() -> Html<&'static str> {
    Html(
        "<!doctype html><title>Members</title><form method=post action=/members/login>\
         <input name=email><input name=password type=password><button>Log in</button></form>",
    )
}

#[derive(Deserialize)]
struct Login {
    email: String,
    password: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<OriginContext>,
    Form(login): Form<Login>,
) -> Response {
    if login.password != MEMBER_PASSWORD {
        return (
            StatusCode::UNAUTHORIZED,
            Html("<!doctype html><p>Wrong email or password.</p>"),
        )
            .into_response();
    }
    let token = format!(
        "s{}-{}",
        state.next.fetch_add(1, Ordering::Relaxed),
        now_nanos()
    );
    state.sessions.lock().expect("sessions").insert(
        token.clone(),
        Session {
            account: context.account.clone(),
            host: context.host.clone(),
            member: login.email,
        },
    );
    // As a platform on its own domain would set it: the edge scopes it to the
    // customer's domain.
    let platform_host = state
        .base_url
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Domain={platform_host}; Path=/members; HttpOnly; SameSite=Lax"
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (
                header::LOCATION,
                format!("{}/members/lesson/1", state.base_url),
            ),
        ],
    )
        .into_response()
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

async fn lesson(
    State(state): State<Arc<AppState>>,
    Extension(context): Extension<OriginContext>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string());
    let session = token.and_then(|token| {
        state
            .sessions
            .lock()
            .expect("sessions")
            .get(&token)
            .cloned()
    });
    // A session is good only on the account and domain it was made on.
    match session {
        Some(session) if session.account == context.account && session.host == context.host => Html(format!(
            "<!doctype html><title>Lesson 1</title><h1>Lesson 1: Knots</h1><p>Welcome back, {}, on {}.</p>",
            session.member, session.host
        ))
        .into_response(),
        _ => (StatusCode::SEE_OTHER, [(header::LOCATION, "/members/login")]).into_response(),
    }
}

async fn checkout_form() -> Html<&'static str> {
    Html(
        "<!doctype html><title>Checkout</title><form method=post action=/checkout>\
         <input name=item><input name=quantity><button>Pay</button></form>",
    )
}

#[derive(Deserialize)]
struct Order {
    item: String,
    quantity: u32,
}

async fn checkout(State(state): State<Arc<AppState>>, Form(order): Form<Order>) -> Response {
    if order.item.is_empty() || order.quantity == 0 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_order",
            "an order names an item and a quantity of at least 1".into(),
        );
    }
    let number = state.next.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            format!("{}/checkout/thanks?order={number}", state.base_url),
        )],
    )
        .into_response()
}

#[derive(Deserialize)]
struct Thanks {
    order: u64,
}

async fn thanks(State(state): State<Arc<AppState>>, Query(thanks): Query<Thanks>) -> Response {
    (
        [
            (
                header::REFRESH,
                format!("10; url={}/checkout", state.base_url),
            ),
            (
                header::CONTENT_LOCATION,
                format!("{}/checkout/thanks?order={}", state.base_url, thanks.order),
            ),
            (header::CACHE_CONTROL, "private".to_string()),
        ],
        Html(format!(
            "<!doctype html><title>Thank you</title><h1>Thank you for order {}</h1>",
            thanks.order
        )),
    )
        .into_response()
}

async fn calendar(request: Request) -> Response {
    let raw = request.uri().query().unwrap_or_default().to_string();
    let parsed: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let month = parsed
        .iter()
        .find(|(name, _)| name == "month")
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| "2026-12".into());
    Json(json!({
        "raw_query": raw,
        "query": parsed,
        "slots": [format!("{month}-07T09:00"), format!("{month}-07T10:30")],
    }))
    .into_response()
}

async fn chat(ws: WebSocketUpgrade, Extension(context): Extension<OriginContext>) -> Response {
    ws.on_upgrade(move |socket| help_desk(socket, context.host))
}

async fn help_desk(mut socket: WebSocket, host: String) {
    if socket
        .send(Message::Text(
            format!("hello from the help desk of {host}").into(),
        ))
        .await
        .is_err()
    {
        return;
    }
    while let Some(Ok(message)) = socket.recv().await {
        let reply = match message {
            Message::Text(text) => Message::Text(format!("echo: {}", text.as_str()).into()),
            Message::Close(_) => break,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

async fn whoami(Extension(context): Extension<OriginContext>, request: Request) -> Response {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    Json(json!({
        "host": context.host,
        "account": context.account,
        "mount": context.mount,
        "timestamp_s": context.timestamp_s,
        "path_and_query": request.uri().path_and_query().map(|p| p.as_str()),
        "x_forwarded_host": header("x-forwarded-host"),
        "x_forwarded_proto": header("x-forwarded-proto"),
        "host_header": header("host"),
        "x_portico_extra": header("x-portico-extra"),
        "forwarded": header("forwarded"),
        "x_forwarded_for": header("x-forwarded-for"),
    }))
    .into_response()
}

async fn upload(body: Body) -> Response {
    let mut stream = body.into_data_stream();
    let mut bytes = 0u64;
    let mut chunks = 0u64;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                bytes += chunk.len() as u64;
                chunks += 1;
            }
            Err(err) => return error(StatusCode::BAD_REQUEST, "broken_body", err.to_string()),
        }
    }
    Json(json!({ "bytes": bytes, "chunks": chunks })).into_response()
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "too late"
}
