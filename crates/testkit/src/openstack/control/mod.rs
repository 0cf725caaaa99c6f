//! The control API under `/_emulator/` on the emulator's own listener: fault rules, one-shot
//! faults and counters, call accounting, the leak report and provisioning delays, as JSON, for
//! tools outside the Rust test process (`docs/emulator.md`).
//!
//! These routes are outside the request gate: they are never faulted, need no token and are
//! not counted.
//!
//! Map: this file holds the routes, the index, the error type and shared helpers; `faults`
//! the fault rules, one-shot faults and load-balancer faults; `calls` the call accounting and
//! leak report; `settings` the provisioning delays and member health.

mod calls;
mod faults;
mod settings;

use std::sync::Arc;

use axum::Router;
use axum::extract::State as AxState;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::de::DeserializeOwned;
use serde_json::json;

use self::calls::{calls, leaks, reset_calls};
use self::faults::{
    add_fault, clear_faults, get_fault, get_lb_faults, list_faults, remove_fault, set_lb_faults,
    wait_fired,
};
use self::settings::{get_delays, get_member_health, set_delays, set_member_health};
use super::faults::Service;
use super::server::json;
use super::state::{Gate, Shared, State};

type Sh = AxState<Arc<Shared>>;

/// The control routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator", get(index))
        .route("/_emulator/", get(index))
        .route(
            "/_emulator/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route(
            "/_emulator/faults/load-balancers",
            get(get_lb_faults).put(set_lb_faults),
        )
        .route(
            "/_emulator/faults/{id}",
            get(get_fault).delete(remove_fault),
        )
        .route("/_emulator/faults/{id}/fired", get(wait_fired))
        .route("/_emulator/calls", get(calls).delete(reset_calls))
        .route("/_emulator/leaks", get(leaks))
        .route("/_emulator/delays", put(set_delays).get(get_delays))
        .route(
            "/_emulator/member-health",
            put(set_member_health).get(get_member_health),
        )
        .route("/_emulator/{*rest}", axum::routing::any(unknown))
}

// ---------------------------------------------------------------------------------------------
// Errors and helpers
// ---------------------------------------------------------------------------------------------

/// A control API error: answered as `{"error": "..."}` with its status.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
struct ControlError {
    status: StatusCode,
    msg: String,
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        json(self.status, &json!({ "error": self.msg }))
    }
}

type Answer = Result<Response, ControlError>;

fn error(status: StatusCode, msg: impl Into<String>) -> ControlError {
    ControlError {
        status,
        msg: msg.into(),
    }
}

fn bad_request(msg: impl Into<String>) -> ControlError {
    error(StatusCode::BAD_REQUEST, msg)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

fn settled<T>(sh: &Shared, f: impl FnOnce(&mut State) -> T) -> T {
    sh.write(f)
}

fn gated<T>(sh: &Shared, f: impl FnOnce(&mut Gate) -> T) -> T {
    f(&mut sh.gate())
}

fn parse_method(m: Option<String>) -> Result<Option<Method>, ControlError> {
    m.map(|m| {
        Method::from_bytes(m.to_ascii_uppercase().as_bytes())
            .map_err(|_| bad_request(format!("method: {m:?} is not an HTTP method")))
    })
    .transpose()
}

fn parse_service(s: Option<String>) -> Result<Option<Service>, ControlError> {
    s.map(|s| {
        serde_json::from_value::<Service>(json!(s)).map_err(|_| {
            bad_request(format!(
                "service: {s:?} is not one of keystone, octavia, neutron"
            ))
        })
    })
    .transpose()
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

async fn index() -> Response {
    json(
        StatusCode::OK,
        &json!({"endpoints": [
            "GET|POST|DELETE /_emulator/faults",
            "GET|DELETE /_emulator/faults/{id}",
            "GET /_emulator/faults/{id}/fired?timeout_ms=",
            "GET|PUT /_emulator/faults/load-balancers",
            "GET|DELETE /_emulator/calls?service=&method=&path=&status=",
            "GET /_emulator/leaks?cluster_tag=&service_tag=",
            "GET|PUT /_emulator/delays",
            "GET|PUT /_emulator/member-health",
        ]}),
    )
}

async fn unknown(method: Method, uri: axum::http::Uri) -> ControlError {
    error(
        StatusCode::NOT_FOUND,
        format!("{method} {}: no such control endpoint", uri.path()),
    )
}
