//! `statebox serve`: streamable-HTTP MCP at `/mcp` (stateless), the JSON
//! API under `/api/`, the dashboard at `/`, and the probes.

use crate::access::{Change, ErrorKind, Failure};
use crate::dashboard;
use crate::mcp::Mcp;
use crate::service::Service;
use crate::tools;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use futures::StreamExt;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;
use serde_json::{Value, json};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub listen: SocketAddr,
    /// Bearer token required on `/mcp` and `/api/`.
    pub token: Option<String>,
    /// Host names (or host:port) accepted besides the loopback names.
    pub allowed_hosts: Vec<String>,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// How long in-flight requests get to finish after SIGTERM or SIGINT.
    pub grace: Duration,
}

/// How the server ended after a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every request and store call finished within the grace period.
    Drained,
    /// The grace period ran out with these still running.
    GraceElapsed { requests: usize, calls: usize },
    /// A second SIGTERM or SIGINT (its number) came during the drain.
    Interrupted { signal: i32 },
}

const LOOPBACK_HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "::1", "[::1]"];

#[derive(Clone)]
struct App {
    service: Service,
    token: Option<Arc<str>>,
    hosts: Arc<Vec<String>>,
    max_body: usize,
    /// Requests received and not yet answered (nor dropped).
    in_flight: Arc<AtomicUsize>,
}

/// Counts a request as in flight until its handler answers or is dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves until SIGINT or SIGTERM, then drains: no new connections, the
/// requests in flight and the store calls they started run to their end,
/// for at most the grace period; a second signal ends the drain at once.
pub async fn run(service: Service, options: HttpOptions) -> std::io::Result<Stopped> {
    // Watched from the start: once watched, a signal no longer ends the
    // process by default, so the second one must be watched too.
    let mut signals = Signals::new()?;
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    let address = listener.local_addr()?;
    if !address.ip().is_loopback() && options.allowed_hosts.is_empty() {
        tracing::warn!(
            "listening on {address} but only loopback Host names are accepted: add --allowed-host"
        );
    }
    let in_flight = Arc::new(AtomicUsize::new(0));
    let router = router(service.clone(), &options, in_flight.clone());
    tracing::info!(%address, "statebox serve: MCP at /mcp, API at /api/, dashboard at /");
    let draining = CancellationToken::new();
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(draining.clone().cancelled_owned())
        .into_future();
    tokio::pin!(server);
    let signal = tokio::select! {
        ended = &mut server => {
            ended?;
            unreachable!("axum serves until its shutdown signal");
        }
        signal = signals.next() => signal,
    };
    let grace = options.grace;
    let requests = || in_flight.load(Ordering::Relaxed);
    tracing::info!(
        signal,
        requests = requests(),
        calls = service.calls_running(),
        grace_s = grace.as_secs_f64(),
        "shutting down: no new connections; letting in-flight requests finish"
    );
    let started = Instant::now();
    // The accept loop stops and idle connections close; the service's own
    // token ends its tip watcher, the live pages' event streams and the
    // MCP listens, which would otherwise hold the drain open.
    draining.cancel();
    service.shutdown().cancel();
    let drain = async {
        server.await?;
        // A request whose client hung up is gone, but the store call it
        // started runs on: wait for that too.
        service.calls_finished().await;
        Ok::<_, std::io::Error>(())
    };
    tokio::select! {
        drained = tokio::time::timeout(grace, drain) => match drained {
            Ok(ended) => {
                ended?;
                tracing::info!(
                    duration_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "shut down: every in-flight request finished"
                );
                Ok(Stopped::Drained)
            }
            Err(_) => {
                let (requests, calls) = (requests(), service.calls_running());
                tracing::warn!(
                    requests,
                    calls,
                    "shutdown grace period of {grace:?} over with {requests} request(s) \
                     and {calls} store call(s) still in flight: exiting anyway"
                );
                Ok(Stopped::GraceElapsed { requests, calls })
            }
        },
        signal = signals.next() => {
            tracing::warn!(
                signal,
                requests = requests(),
                calls = service.calls_running(),
                "second signal during shutdown: exiting at once"
            );
            Ok(Stopped::Interrupted { signal })
        }
    }
}

/// SIGTERM (what a kubelet or systemd sends) and SIGINT (Ctrl-C).
struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next one's number.
    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.term.recv() => SignalKind::terminate().as_raw_value(),
            _ = self.int.recv() => SignalKind::interrupt().as_raw_value(),
        }
    }
}

fn router(service: Service, options: &HttpOptions, in_flight: Arc<AtomicUsize>) -> Router {
    let mut hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| h.to_string()).collect();
    hosts.extend(options.allowed_hosts.iter().cloned());
    let app = App {
        service: service.clone(),
        token: options.token.as_deref().map(Arc::from),
        hosts: Arc::new(hosts.clone()),
        max_body: options.max_body,
        in_flight,
    };
    let mcp = Mcp::new(service, false);
    let mcp_service = StreamableHttpService::new(
        move || Ok(mcp.clone()),
        Arc::new(NeverSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_allowed_hosts(hosts)
            // No cancellation token of ours: rmcp would answer a tool call
            // in flight at shutdown with an error while its write commits.
            // The MCP listens end on the service's token instead.
            .with_max_request_body_bytes(options.max_body),
    );
    let mut guarded = Router::new()
        .nest_service("/mcp", mcp_service)
        .route("/api/status", get(api_status))
        .route("/api/releases/{version}/log", get(api_log));
    guarded = if app.service.options().read_only {
        guarded.route("/api/releases/{version}", get(api_release))
    } else {
        guarded
            .route("/api/releases/{version}", get(api_release).put(api_init))
            .route(
                "/api/releases/{version}/tasks/{task}",
                put(api_change::<SetTaskBody>),
            )
            .route(
                "/api/releases/{version}/issues",
                post(api_change::<AddIssueBody>),
            )
            .route(
                "/api/releases/{version}/issues/resolve",
                post(api_change::<ResolveIssueBody>),
            )
            .route(
                "/api/releases/{version}/ingest",
                post(api_change::<IngestBody>),
            )
    };
    let guarded = guarded.layer(middleware::from_fn_with_state(app.clone(), require_token));
    let open = Router::new()
        .route("/", get(index))
        .route("/release/{version}", get(release_page))
        .route("/events", get(events));
    let probes = Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz));
    guarded
        .merge(open)
        .layer(middleware::from_fn_with_state(app.clone(), check_host))
        .merge(probes)
        .layer(middleware::from_fn_with_state(app.clone(), log_request))
        .with_state(app)
}

/// The host part of a `Host` header: `[::1]:8080` -> `[::1]`, `a:80` -> `a`.
fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => authority,
    }
}

/// DNS-rebinding protection for every page, as rmcp does for `/mcp`.
async fn check_host(State(app): State<App>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    let name = host_name(host);
    if app
        .hosts
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(host) || allowed.eq_ignore_ascii_case(name))
    {
        next.run(request).await
    } else {
        error(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("Host '{host}' is not allowed; start the server with --allowed-host {name}"),
        )
    }
}

async fn require_token(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(token) = &app.token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        next.run(request).await
    } else {
        let mut response = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid `Authorization: Bearer <token>` header is required",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            "Bearer".parse().expect("valid header"),
        );
        response
    }
}

/// JSON-RPC method, tool name and release of an MCP request body.
fn rpc_summary(body: &[u8]) -> (String, String, String) {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    (
        text(&value["method"]),
        text(&value["params"]["name"]),
        text(&value["params"]["arguments"]["release"]),
    )
}

/// One log line per request: method, path, JSON-RPC method and tool,
/// release, status, duration.
async fn log_request(State(app): State<App>, request: Request, next: Next) -> Response {
    let _in_flight = InFlight::new(&app.in_flight);
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (request, (rpc, tool, mut release)) = if method == Method::POST && path.starts_with("/mcp")
    {
        let (parts, body) = request.into_parts();
        match axum::body::to_bytes(body, app.max_body).await {
            Ok(bytes) => {
                let summary = rpc_summary(&bytes);
                (Request::from_parts(parts, Body::from(bytes)), summary)
            }
            Err(_) => {
                let response = error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "rejected",
                    &format!("request body over {} bytes", app.max_body),
                );
                tracing::info!(%method, %path, status = 413, "request");
                return response;
            }
        }
    } else {
        (request, Default::default())
    };
    if release.is_empty() {
        release = release_in_path(&path).unwrap_or_default().to_owned();
    }
    let response = next.run(request).await;
    tracing::info!(
        %method,
        %path,
        rpc = %rpc,
        tool = %tool,
        release = %release,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

fn release_in_path(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("/api/releases/")
        .or_else(|| path.strip_prefix("/release/"))?;
    rest.split('/').next()
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"kind": kind, "message": message}})),
    )
        .into_response()
}

fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Rejected => StatusCode::BAD_REQUEST,
        ErrorKind::RaceLost => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn failed(e: Failure) -> Response {
    error(status_of(e.kind), e.kind.as_str(), &e.message)
}

fn json_or_error(result: Result<Value, Failure>) -> Response {
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(e) => failed(e),
    }
}

async fn api_status(State(app): State<App>) -> Response {
    json_or_error(
        app.service
            .call(|a| tools::status(a).map(|s| json!({"releases": s.releases})))
            .await,
    )
}

async fn api_release(State(app): State<App>, Path(version): Path<String>) -> Response {
    json_or_error(
        app.service
            .call(move |a| match a.load(&version)? {
                Some(loaded) => Ok(loaded.json),
                None => Err(Failure::new(
                    ErrorKind::NotFound,
                    format!("release {version} has no state on {}", a.describe()),
                )),
            })
            .await,
    )
}

async fn api_log(State(app): State<App>, Path(version): Path<String>) -> Response {
    json_or_error(
        app.service
            .call(move |a| {
                let commits = a.history(&version)?;
                Ok(json!({"release": version, "commits": commits}))
            })
            .await,
    )
}

/// The header a client names a write with, so that its retry (after a
/// lost connection) returns the first result instead of writing again.
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on the answer to such a retry.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// Runs a write; the answer is what `statebox_*` write tools return.
async fn api_write(app: App, headers: HeaderMap, release: String, change: Change) -> Response {
    let key = match headers.get(IDEMPOTENCY_KEY).map(|v| v.to_str()) {
        None => None,
        Some(Ok(key)) => Some(key.to_owned()),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                ErrorKind::Rejected.as_str(),
                "the Idempotency-Key header is not plain text; use letters, digits and . _ : -",
            );
        }
    };
    let result = app
        .service
        .call(move |a| {
            let applied = a.apply(&release, &change, key.as_deref());
            tools::written(release, applied)
        })
        .await;
    match result {
        Ok(output) => {
            let repeated = output.repeated;
            let mut response = axum::Json(output).into_response();
            if repeated {
                response
                    .headers_mut()
                    .insert(IDEMPOTENT_REPLAYED, "true".parse().expect("valid header"));
            }
            response
        }
        Err(e) => failed(e),
    }
}

/// A write's JSON body, and the change it asks for.
trait WriteBody: serde::de::DeserializeOwned + Send + 'static {
    /// `task` is the path's task segment, where the route has one.
    fn change(self, task: Option<String>) -> Change;
}

#[derive(Deserialize)]
struct SetTaskBody {
    status: String,
    #[serde(default)]
    result: Option<String>,
}

impl WriteBody for SetTaskBody {
    fn change(self, task: Option<String>) -> Change {
        Change::SetTask {
            task: task.unwrap_or_default(),
            status: self.status,
            result: self.result,
        }
    }
}

#[derive(Deserialize)]
struct AddIssueBody {
    issue: String,
    #[serde(default)]
    blocker: bool,
    #[serde(default)]
    related_tasks: Vec<String>,
}

impl WriteBody for AddIssueBody {
    fn change(self, _: Option<String>) -> Change {
        Change::AddIssue {
            text: self.issue,
            blocker: self.blocker,
            related_tasks: self.related_tasks,
        }
    }
}

#[derive(Deserialize)]
struct ResolveIssueBody {
    issue: String,
    #[serde(default)]
    resolution: Option<String>,
}

impl WriteBody for ResolveIssueBody {
    fn change(self, _: Option<String>) -> Change {
        Change::ResolveIssue {
            query: self.issue,
            resolution: self.resolution,
        }
    }
}

#[derive(Deserialize)]
struct IngestBody {
    output: String,
    #[serde(default)]
    task: Option<String>,
}

impl WriteBody for IngestBody {
    fn change(self, _: Option<String>) -> Change {
        Change::Ingest {
            task: self.task,
            output: self.output,
        }
    }
}

#[derive(Deserialize)]
struct WritePath {
    version: String,
    task: Option<String>,
}

/// A write with a JSON body; a body that is not the JSON expected gets the
/// same error shape as every other refusal.
async fn api_change<B: WriteBody>(
    State(app): State<App>,
    Path(path): Path<WritePath>,
    headers: HeaderMap,
    parsed: Result<axum::Json<B>, JsonRejection>,
) -> Response {
    match parsed {
        Ok(axum::Json(body)) => {
            let change = body.change(path.task);
            api_write(app, headers, path.version, change).await
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            ErrorKind::Rejected.as_str(),
            &e.body_text(),
        ),
    }
}

async fn api_init(
    State(app): State<App>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    api_write(app, headers, version, Change::Init).await
}

async fn readyz(State(app): State<App>) -> Response {
    match app.service.call(|a| a.readiness()).await {
        Ok(()) => axum::Json(json!({"ready": true})).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"ready": false, "reason": reason})),
        )
            .into_response(),
    }
}

fn page(result: Result<String, Failure>) -> Response {
    let mut response = match result {
        Ok(html) => Html(html).into_response(),
        Err(e) => (status_of(e.kind), Html(dashboard::error_page(&e.message))).into_response(),
    };
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("valid header"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:"
            .parse()
            .expect("valid header"),
    );
    response
}

async fn index(State(app): State<App>) -> Response {
    let service = app.service.clone();
    page(
        app.service
            .call(move |a| dashboard::index(&service, a))
            .await,
    )
}

async fn release_page(State(app): State<App>, Path(version): Path<String>) -> Response {
    let service = app.service.clone();
    page(
        app.service
            .call(move |a| dashboard::release(&service, a, &version))
            .await,
    )
}

/// Server-sent events: one `tip` event each time the record branch moves.
async fn events(State(app): State<App>) -> impl IntoResponse {
    let stream = tokio_stream::wrappers::WatchStream::from_changes(app.service.tip())
        .map(|tip| {
            Ok::<_, std::convert::Infallible>(
                Event::default().event("tip").data(tip.unwrap_or_default()),
            )
        })
        .take_until(app.service.shutdown().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::default())
}
