//! The HTTP front end: one axum fallback handler that parses Kubernetes API paths,
//! applies injected faults, dispatches to the store and records the audit log.
//!
//! Where things live:
//!
//! - this module: the [`Shared`] state, the router, the top-level handler (faults, audit
//!   log, `Warning` headers) and the response helpers;
//! - [`request`]: one request's inputs and the query parameters and headers read from it;
//! - [`route`]: parsing a request path into a discovery document, a collection or an item;
//! - [`admit`]: server-side field validation, built-in validation as a dry run, and the
//!   validating admission webhooks, before a write is committed;
//! - [`dispatch`]: the verbs on collections and items (list, watch, create, get, replace,
//!   patch, delete) against the store.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::HeaderValue;
use http::header::{CONTENT_TYPE, WARNING};
use http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::Value;
use tokio::sync::watch as watch_channel;

use super::error::ApiError;
use super::faults::{AuditEntry, Faults};
use super::store::Store;

mod admit;
mod dispatch;
mod request;
mod route;

use admit::{admitted, field_validation, warning_header};
use request::Req;

/// State shared by the HTTP handler and the Rust handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub faults: Mutex<Faults>,
    pub audit: Mutex<Vec<AuditEntry>>,
    /// Bumped to drop every open watch.
    pub kill: watch_channel::Sender<u64>,
    pub active_watches: Arc<AtomicUsize>,
    pub bookmark_interval: Duration,
    /// `host:port` the server listens on.
    pub server_address: String,
    /// Where webhook Services (`namespace/name`) are reached.
    pub webhook_routes: Mutex<HashMap<String, SocketAddr>>,
}

/// Locks a std mutex, ignoring poisoning (a panicked test must not wedge the emulator).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The emulator's router.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    (code, [(CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn status_response(err: &ApiError) -> Response {
    let code = StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &err.to_status())
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let target = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    let (delay, error) = lock(&shared.faults).take(method.as_str(), &target);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let (response, injected) = match error {
        Some(code) => (
            status_response(&ApiError::from_code(
                code,
                format!("injected fault: {code} for {method} {target}"),
            )),
            true,
        ),
        None => {
            let params: HashMap<String, String> = Query::try_from_uri(&uri)
                .map(|Query(q)| q)
                .unwrap_or_default();
            let req = Req {
                method: &method,
                params: &params,
                headers: &headers,
                body: &body,
                trial: false,
            };
            let (result, warnings) = match field_validation(&shared, &path, &req) {
                Ok(mut warnings) => {
                    let (result, more) = admitted(&shared, &path, &req).await;
                    warnings.extend(more);
                    (result, warnings)
                }
                Err(e) => (Err(e), Vec::new()),
            };
            let mut response = result.unwrap_or_else(|e| status_response(&e));
            for w in warnings {
                if let Ok(v) = HeaderValue::from_str(&warning_header(&w)) {
                    response.headers_mut().append(WARNING, v);
                }
            }
            (response, false)
        }
    };
    lock(&shared.audit).push(AuditEntry {
        method: method.to_string(),
        path,
        query,
        status: response.status().as_u16(),
        injected,
    });
    response
}
