//! The HTTP server: routing, the gate every request passes (settle the state machine, fault
//! injection, authentication, accounting) and a hyper accept loop that can close a connection
//! without answering.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use kks_lb_octavia_model::api::keystone::{KeystoneError, KeystoneErrorBody};
use kks_lb_octavia_model::api::neutron::NeutronErrorBody;
use kks_lb_octavia_model::api::octavia::Fault;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::config::AuthMode;
use super::error::{ApiError, ApiResult};
use super::faults::{Service, Verdict};
use super::oneshot::{FaultKind, Fired, Reply};
use super::state::{Shared, State, Urls};
use super::{control, keystone, neutron, octavia};

/// Who is calling, as the services see it after authentication.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The scoped project (token) or `X-Project-Id` (noauth).
    pub(crate) project_id: Option<String>,
    /// Sees every project (noauth callers are admin).
    pub(crate) admin: bool,
    /// Running without Keystone.
    pub(crate) noauth: bool,
}

impl Ctx {
    pub(crate) fn may_see(&self, project: &str) -> bool {
        self.admin || self.project_id.as_deref() == Some(project)
    }
}

/// Marks a response whose connection must be closed without sending it.
#[derive(Debug, Clone, Copy)]
struct DropConnection;

/// A JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    (status, Json(body)).into_response()
}

/// Runs `f` on the settled state, alone (a mutation), and turns its error into the
/// service's error response.
pub(crate) fn with_state(
    sh: &Shared,
    f: impl FnOnce(&mut State, &Urls) -> ApiResult<Response>,
) -> Response {
    sh.write(|st| f(st, &sh.urls))
        .unwrap_or_else(IntoResponse::into_response)
}

/// Runs `f` on the settled state, concurrently with other reads (a list or a show), and turns
/// its error into the service's error response.
pub(crate) fn read_state(
    sh: &Shared,
    f: impl FnOnce(&State, &Urls) -> ApiResult<Response>,
) -> Response {
    sh.read(|st| f(st, &sh.urls))
        .unwrap_or_else(IntoResponse::into_response)
}

/// The service a path belongs to and its service-relative template (`/v2.0/lbaas` is folded
/// into `/v2/lbaas`, its documented alias).
pub(crate) fn classify(path: &str) -> (Service, String) {
    let rel = |p: &str| {
        if p.is_empty() {
            "/".to_owned()
        } else {
            p.to_owned()
        }
    };
    if let Some(rest) = path.strip_prefix("/load-balancer") {
        let rest = rest
            .strip_prefix("/v2.0/")
            .map(|r| format!("/v2/{r}"))
            .unwrap_or_else(|| rest.to_owned());
        (Service::Octavia, rel(&rest))
    } else if let Some(rest) = path.strip_prefix("/network") {
        (Service::Neutron, rel(rest))
    } else {
        (Service::Keystone, rel(path))
    }
}

/// The whole application.
pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(keystone::routes())
        .merge(octavia::routes())
        .merge(neutron::routes())
        .fallback(not_found)
        .layer(from_fn_with_state(shared.clone(), gate))
        // The control API is outside the gate: no faults, no authentication, not counted.
        .merge(control::routes())
        .with_state(shared)
}

async fn not_found(req: Request) -> Response {
    let (service, _) = classify(req.uri().path());
    error_body(
        service,
        StatusCode::NOT_FOUND,
        "The resource could not be found.",
    )
}

/// An error body in the service's shape, for injected faults and routing errors.
pub(crate) fn error_body(service: Service, status: StatusCode, msg: &str) -> Response {
    match service {
        Service::Octavia => json(status, &Fault::new(status.as_u16(), msg)),
        Service::Neutron => {
            let kind = match status.as_u16() {
                404 => "HTTPNotFound",
                409 => "HTTPConflict",
                500 => "HTTPInternalServerError",
                503 => "HTTPServiceUnavailable",
                _ => "HTTPError",
            };
            json(status, &NeutronErrorBody::new(kind, msg))
        }
        Service::Keystone => json(
            status,
            &KeystoneErrorBody {
                error: KeystoneError {
                    code: status.as_u16(),
                    message: msg.to_owned(),
                    title: status.canonical_reason().unwrap_or("Error").to_owned(),
                },
            },
        ),
    }
}

fn is_version_root(service: Service, template: &str) -> bool {
    service != Service::Keystone && template == "/"
}

/// Authentication as keystonemiddleware does it in front of Octavia and Neutron: a valid,
/// unexpired `X-Auth-Token`, or in noauth mode the `X-Project-Id` header.
fn authenticate(
    st: &State,
    urls: &Urls,
    service: Service,
    template: &str,
    headers: &HeaderMap,
) -> ApiResult<Ctx> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if st.cfg.auth == AuthMode::NoAuth {
        return Ok(Ctx {
            project_id: header("x-project-id").or_else(|| header("x-tenant-id")),
            admin: true,
            noauth: true,
        });
    }
    if service == Service::Keystone || is_version_root(service, template) {
        return Ok(Ctx {
            project_id: None,
            admin: false,
            noauth: false,
        });
    }
    let now = st.now();
    let token = header("x-auth-token")
        .and_then(|t| st.tokens.get(&t))
        .filter(|t| t.expires_at > now)
        .ok_or_else(|| ApiError::Unauthorized {
            auth_url: urls.auth.clone(),
        })?;
    Ok(Ctx {
        project_id: Some(token.project_id.clone()),
        admin: st.cfg.admin_role,
        noauth: false,
    })
}

/// Every request: decide faults, authenticate, run (the handler settles the state), count.
///
/// A one-shot fault acting on the request decides alone: before commit it answers instead of
/// the handler; after commit the handler runs (its state change is done once it returns, all
/// handlers mutate the state synchronously under the state's write lock), the fault reports the real answer
/// and then replaces it, drops the connection, or holds it.
async fn gate(AxState(sh): AxState<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let (service, template) = classify(&path);
    let (verdict, latency, request_id, shot) = {
        let mut gate = sh.gate();
        let (verdict, latency) = gate.faults.decide(&method, service, &template);
        let shot = gate.faults.observe(&method, service, &template);
        (verdict, latency, gate.request_id(), shot)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fired = |status: Option<u16>, body: String, index: u64| Fired {
        index,
        service,
        method: method.as_str().to_owned(),
        path: template.clone(),
        uri: uri.clone(),
        status,
        body,
    };
    let verdict = match &shot {
        Some(s) => {
            if let FaultKind::BeforeCommit(reply) = s.kind {
                s.report(&fired(None, String::new(), s.index));
                match reply {
                    Reply::Status(code) => Verdict::Fail(code),
                    Reply::Drop => Verdict::Drop,
                }
            } else {
                Verdict::Pass
            }
        }
        None => verdict,
    };
    let mut resp = match verdict {
        Verdict::Drop => {
            record(&sh, service, &method, &template, 0);
            return dropped();
        }
        Verdict::Fail(status) => injected(service, status),
        Verdict::Pass => {
            let auth = sh.read(|st| authenticate(st, &sh.urls, service, &template, req.headers()));
            match auth {
                Ok(ctx) => {
                    req.extensions_mut().insert(ctx);
                    next.run(req).await
                }
                Err(e) => e.into_response(),
            }
        }
    };
    if let Some(shot) = shot.filter(|s| s.kind.commits()) {
        // The handler has returned: the request took effect. Report, then fail.
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        match shot.kind {
            FaultKind::CommitThenFail(Reply::Status(code)) => {
                shot.report(&fired(Some(status), body, shot.index));
                resp = injected(service, code);
            }
            FaultKind::CommitThenFail(Reply::Drop) | FaultKind::BeforeCommit(_) => {
                record(&sh, service, &method, &template, 0);
                shot.report(&fired(Some(status), body, shot.index));
                return dropped();
            }
            FaultKind::CrashAfterCommit => {
                record(&sh, service, &method, &template, 0);
                shot.report(&fired(Some(status), body, shot.index));
                shot.held().await;
                return dropped();
            }
        }
    }
    if service != Service::Keystone
        && let Ok(v) = HeaderValue::from_str(&request_id)
    {
        resp.headers_mut().insert("x-openstack-request-id", v);
    }
    record(&sh, service, &method, &template, resp.status().as_u16());
    resp
}

/// A response that makes the connection close without an answer.
fn dropped() -> Response {
    let mut resp = Response::new(Body::empty());
    resp.extensions_mut().insert(DropConnection);
    resp
}

/// An injected error in the service's body shape.
fn injected(service: Service, status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    error_body(
        service,
        status,
        &format!("Injected fault (HTTP {})", status.as_u16()),
    )
}

fn record(sh: &Shared, service: Service, method: &Method, template: &str, status: u16) {
    sh.gate()
        .accounting
        .record(service, method.as_str(), template, status);
}

/// The connection-level service: runs the router and turns a [`DropConnection`] response
/// into an error, on which hyper closes the connection without writing anything.
#[derive(Clone)]
struct Conn {
    app: Router,
}

/// The error that makes hyper drop a connection.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct Dropped;

impl hyper::service::Service<hyper::Request<Incoming>> for Conn {
    type Response = Response;
    type Error = Dropped;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Dropped>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let app = self.app.clone();
        Box::pin(async move {
            let resp: Result<Response, Infallible> = app.oneshot(req.map(Body::new)).await;
            match resp {
                Ok(r) if r.extensions().get::<DropConnection>().is_some() => Err(Dropped),
                Ok(r) => Ok(r),
                Err(never) => match never {},
            }
        })
    }
}

/// Accepts connections until `shutdown` changes or its sender is dropped; connections die with
/// the loop. No timers are armed (no header-read timeout), so paused tokio time is not
/// advanced by idle connections.
pub(crate) async fn serve(listener: TcpListener, app: Router, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let svc = Conn { app: app.clone() };
                conns.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_service_relative_and_fold_the_v2_0_alias() {
        assert_eq!(
            classify("/load-balancer/v2.0/lbaas/loadbalancers/{id}"),
            (Service::Octavia, "/v2/lbaas/loadbalancers/{id}".to_owned())
        );
        assert_eq!(
            classify("/load-balancer"),
            (Service::Octavia, "/".to_owned())
        );
        assert_eq!(
            classify("/load-balancer/"),
            (Service::Octavia, "/".to_owned())
        );
        assert_eq!(
            classify("/network/v2.0/floatingips"),
            (Service::Neutron, "/v2.0/floatingips".to_owned())
        );
        assert_eq!(
            classify("/v3/auth/tokens"),
            (Service::Keystone, "/v3/auth/tokens".to_owned())
        );
    }
}
