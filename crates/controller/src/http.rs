//! The operations endpoint: Prometheus metrics and health probes over HTTP/1.
//!
//! - `GET /metrics`: the registry in the OpenMetrics text format
//!   ([`OPENMETRICS_CONTENT_TYPE`]).
//! - `GET /healthz`: `200 ok` while the process serves at all (liveness).
//! - `GET /readyz`: `200` once [`Health::set_ready`] was called with `true`, else `503`.
//!   A follower replica is ready too (it is healthy and waiting for the Lease); the body
//!   reports leadership as `leader: true|false`.
//! - Anything else: `404`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use kks_lb_controller::{http, metrics::Metrics};
//! use prometheus_client::registry::Registry;
//! use tokio_util::sync::CancellationToken;
//!
//! let mut registry = Registry::default();
//! let metrics = Metrics::register(&mut registry);
//! let health = http::Health::default();
//! let shutdown = CancellationToken::new();
//! let (addr, server) = http::bind(
//!     "0.0.0.0:8080".parse().expect("address"),
//!     Arc::new(registry),
//!     health.clone(),
//!     shutdown.clone(),
//! )
//! .await?;
//! tokio::spawn(server);
//! health.set_ready(true);
//! # let _ = (addr, metrics); Ok(()) }
//! ```

use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// `Content-Type` of `/metrics`.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Readiness and leadership, shared between the controller and the HTTP handlers.
///
/// Cloning shares the same flags. Both start `false`.
#[derive(Clone, Debug, Default)]
pub struct Health {
    ready: Arc<AtomicBool>,
    leader: Arc<AtomicBool>,
}

impl Health {
    /// Marks the replica ready (caches synced, able to lead or follow) or not.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Records whether this replica currently leads.
    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::SeqCst);
    }

    /// Whether the replica is ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Whether the replica leads.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct AppState {
    registry: Arc<Registry>,
    health: Health,
}

/// The routes, for embedding or for tests that call the service directly.
pub fn router(registry: Arc<Registry>, health: Health) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .with_state(AppState { registry, health })
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], body).into_response(),
        Err(err) => {
            tracing::error!(
                error = &err as &dyn std::error::Error,
                "encoding metrics failed"
            );
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding metrics failed\n",
            )
                .into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let leader = state.health.is_leader();
    if state.health.is_ready() {
        (StatusCode::OK, format!("ok\nleader: {leader}\n"))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready\nleader: {leader}\n"),
        )
    }
}

async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found\n")
}

/// Binds `addr` and returns the bound address (useful with port 0) and the server future,
/// which serves until `shutdown` fires and then finishes open requests.
///
/// # Errors
/// Binding fails (address in use, permission); the future fails on an accept-loop I/O error.
pub async fn bind(
    addr: SocketAddr,
    registry: Arc<Registry>,
    health: Health,
    shutdown: CancellationToken,
) -> io::Result<(
    SocketAddr,
    impl Future<Output = io::Result<()>> + Send + 'static,
)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(registry, health);
    tracing::info!(address = %bound, "serving metrics and health probes");
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .into_future();
    Ok((bound, server))
}

/// Serves the operations endpoint on `addr` until `shutdown` fires.
///
/// # Errors
/// See [`bind`].
pub async fn serve(
    addr: SocketAddr,
    registry: Arc<Registry>,
    health: Health,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let (_, server) = bind(addr, registry, health, shutdown).await?;
    server.await
}
