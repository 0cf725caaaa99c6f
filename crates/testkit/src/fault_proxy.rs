//! A fault-injecting HTTP reverse proxy in front of one real (or emulated) OpenStack service.
//!
//! [`FaultProxy`] listens on `127.0.0.1` (a free port) and forwards every request — method,
//! path, query, headers, body — to one upstream base URL, and the upstream's answer back
//! unchanged. One-shot faults armed on it ([`OneShotFault`]) act exactly like the emulator's:
//! - **before commit**: the request is not forwarded; the client gets the status (in the
//!   service's error shape) or a closed connection;
//! - **commit then fail**: the request is forwarded, the proxy waits for the upstream's answer,
//!   then sends the status instead or closes the connection;
//! - **crash after commit**: the request is forwarded and its answer never sent; the connection
//!   is held until the fault is removed (then closed) or the proxy is dropped.
//!
//! [`ArmedFault::fired`] resolves the moment a fault acts; for the "after commit" kinds once the
//! upstream has answered and before anything is sent. [`CallCounter`]s count matching calls.
//!
//! The upstream's own address in an answer (the version documents' `links`, a `Location`
//! header, pagination links) is rewritten to the proxy's, as a reverse proxy does, so a client
//! that follows discovered endpoints keeps talking through the proxy. Nothing else is changed.
//!
//! Matching: the proxy serves one [`Service`] (given at start), so [`CallMatcher::service`]
//! compares with that; [`CallMatcher::method`] and [`CallMatcher::mutating`] (`POST`, `PUT`,
//! `PATCH`, `DELETE`) work as on the emulator; [`CallMatcher::path`], which the emulator
//! compares with a route template, is a **prefix** of the request path relative to the
//! upstream's base path here (e.g. `/v2/lbaas/loadbalancers` matches
//! `/v2/lbaas/loadbalancers/<id>`), since the proxy does not know the service's routes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kks_lb_testkit::fault_proxy::ProxyError> {
//! use kks_lb_testkit::fault_proxy::FaultProxy;
//! use kks_lb_testkit::openstack::{CallMatcher, OneShotFault, Reply, Service};
//! let octavia = FaultProxy::start("http://127.0.0.1:9876", Service::Octavia).await?;
//! // The second write from now reaches Octavia, then the client gets a 504.
//! let fault = octavia.arm_fault(OneShotFault::commit_then_fail(
//!     CallMatcher::mutating(),
//!     1,
//!     Reply::Status(504),
//! ));
//! println!("point the client at {}", octavia.url());
//! # Ok(()) }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::openstack::{
    Arm, ArmedFault, CallCounter, CallMatcher, FaultId, FaultKind, Fired, OneShotFault, Progress,
    Reply, Service, Shot, error_body, is_mutating, shoot,
};

/// Why a proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The upstream URL is not `http://host[:port][/path]`.
    #[error("upstream URL {url:?} is not valid: {reason}")]
    Upstream {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Binding `127.0.0.1:0` failed.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// The HTTP client could not be built.
    #[error("cannot build the upstream HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// A running proxy. Dropping it stops it and closes every connection it holds.
#[derive(Debug)]
pub struct FaultProxy {
    inner: Arc<Inner>,
    addr: SocketAddr,
    url: String,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Inner {
    service: Service,
    /// `scheme://host:port` of the upstream.
    origin: String,
    /// The upstream's base path without a trailing `/` (`""` for the root).
    base_path: String,
    /// `http://127.0.0.1:port` of the proxy, written where the answer names `origin`.
    own_origin: String,
    client: reqwest::Client,
    arms: Mutex<Arms>,
}

/// One-shot faults and counters in arming order, each with its path prefix.
#[derive(Debug, Default)]
struct Arms {
    arms: Vec<(Option<String>, Arm)>,
    next_id: u64,
}

impl Inner {
    fn arms(&self) -> MutexGuard<'_, Arms> {
        self.arms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn arm(
        &self,
        mut matcher: CallMatcher,
        fault: Option<(u64, FaultKind)>,
    ) -> (FaultId, watch::Receiver<Progress>) {
        let prefix = matcher.path.take();
        let mut arms = self.arms();
        arms.next_id += 1;
        let id = FaultId::from_raw(arms.next_id);
        let progress = watch::Sender::new(Progress::default());
        let rx = progress.subscribe();
        arms.arms.push((
            prefix,
            Arm {
                id,
                matcher,
                fault,
                progress,
            },
        ));
        (id, rx)
    }

    /// Counts the call in every arm it matches and returns the fault acting on it: the
    /// earliest armed whose `nth` it is (as the emulator does).
    fn observe(&self, method: &Method, path: &str) -> Option<Shot> {
        let mut arms = self.arms();
        let service = self.service;
        shoot(arms.arms.iter_mut().map(|(prefix, arm)| {
            let m = &arm.matcher;
            let matches = m.method.as_ref().is_none_or(|x| x == method)
                && m.service.is_none_or(|s| s == service)
                && prefix.as_deref().is_none_or(|p| path.starts_with(p))
                && (!m.mutating || is_mutating(method, service));
            (arm, matches)
        }))
    }
}

/// Splits `http://host:port/path/` into (`http://host:port`, `/path`).
fn split_upstream(url: &str) -> Result<(String, String), ProxyError> {
    let bad = |reason: &str| ProxyError::Upstream {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: axum::http::Uri = url.parse().map_err(|_| bad("not a URI"))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad("the scheme must be http"));
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if uri.query().is_some() {
        return Err(bad("a base URL has no query"));
    }
    let base = uri.path().trim_end_matches('/').to_owned();
    Ok((format!("http://{authority}"), base))
}

impl FaultProxy {
    /// Starts a proxy for `upstream` (`http://host:port[/base]`), the base URL of `service`.
    /// Requests to `{url()}/x` are forwarded to `{upstream}/x`.
    ///
    /// # Errors
    ///
    /// [`ProxyError`] when the URL is not a plain `http` base URL or `127.0.0.1:0` cannot be
    /// bound.
    pub async fn start(upstream: &str, service: Service) -> Result<FaultProxy, ProxyError> {
        let (origin, base_path) = split_upstream(upstream)?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(ProxyError::Client)?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(ProxyError::Bind)?;
        let addr = listener.local_addr().map_err(ProxyError::Bind)?;
        let inner = Arc::new(Inner {
            service,
            own_origin: format!("http://{addr}"),
            origin,
            base_path,
            client,
            arms: Mutex::new(Arms::default()),
        });
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, Arc::clone(&inner), rx));
        let url = format!("http://{addr}{}", inner.base_path);
        Ok(FaultProxy {
            inner,
            addr,
            url,
            shutdown,
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give the client instead of the upstream's (same base path).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The service it stands for.
    pub fn service(&self) -> Service {
        self.inner.service
    }

    /// Arms a one-shot fault on the `nth` call matching `fault.matcher` from now (see the
    /// module documentation for how a matcher's path is read here).
    pub fn arm_fault(&self, fault: OneShotFault) -> ArmedFault {
        let (id, progress) = self.inner.arm(fault.matcher, Some((fault.nth, fault.kind)));
        ArmedFault { id, progress }
    }

    /// Counts the calls matching `matcher` from now on without acting on them.
    pub fn count_calls(&self, matcher: CallMatcher) -> CallCounter {
        let (id, progress) = self.inner.arm(matcher, None);
        CallCounter { id, progress }
    }

    /// Removes a fault or counter; a connection its crash-after-commit fault holds is closed.
    /// Returns whether it was there.
    pub fn remove_fault(&self, id: FaultId) -> bool {
        let mut arms = self.inner.arms();
        let before = arms.arms.len();
        arms.arms.retain(|(_, a)| a.id != id);
        arms.arms.len() != before
    }

    /// Removes every fault and counter.
    pub fn clear_faults(&self) {
        self.inner.arms().arms.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.task.abort();
    }
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct Dropped;

/// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the client library sets itself.
fn forwardable(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

fn copy_headers(from: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (k, v) in from {
        if forwardable(k) {
            out.append(k.clone(), v.clone());
        }
    }
    out
}

/// An answer from the upstream, or why there is none.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: bytes::Bytes,
}

async fn forward(
    inner: &Inner,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: bytes::Bytes,
) -> Answer {
    let url = format!("{}{path_and_query}", inner.origin);
    let sent = inner
        .client
        .request(method, &url)
        .headers(copy_headers(headers))
        .body(body)
        .send()
        .await;
    let failed = |e: reqwest::Error| Answer {
        status: StatusCode::BAD_GATEWAY,
        headers: HeaderMap::new(),
        body: bytes::Bytes::from(format!("fault proxy: upstream {url}: {e}")),
    };
    match sent {
        Ok(r) => {
            let status = r.status();
            let mut headers = copy_headers(r.headers());
            if let Some(v) = headers.get_mut(axum::http::header::LOCATION)
                && let Ok(s) = v.to_str()
                && let Ok(new) = s.replace(&inner.origin, &inner.own_origin).parse()
            {
                *v = new;
            }
            match r.bytes().await {
                Ok(body) => Answer {
                    status,
                    headers,
                    body: rewrite(body, &inner.origin, &inner.own_origin),
                },
                Err(e) => failed(e),
            }
        }
        Err(e) => failed(e),
    }
}

/// `body` with every `from` replaced by `to` (only when it is text and names `from`).
fn rewrite(body: bytes::Bytes, from: &str, to: &str) -> bytes::Bytes {
    match std::str::from_utf8(&body) {
        Ok(text) if text.contains(from) => bytes::Bytes::from(text.replace(from, to)),
        _ => body,
    }
}

fn injected(service: Service, reply_status: u16) -> Response {
    let status = StatusCode::from_u16(reply_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    error_body(
        service,
        status,
        &format!("Injected fault (HTTP {})", status.as_u16()),
    )
}

async fn handle(inner: Arc<Inner>, req: hyper::Request<Incoming>) -> Result<Response, Dropped> {
    let (parts, body) = req.into_parts();
    let method = parts.method;
    let path = parts.uri.path().to_owned();
    let uri = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let relative = path
        .strip_prefix(inner.base_path.as_str())
        .filter(|r| r.is_empty() || r.starts_with('/'))
        .unwrap_or(path.as_str());
    let relative = if relative.is_empty() { "/" } else { relative }.to_owned();
    let shot = inner.observe(&method, &relative);
    let fired = |status: Option<u16>, body: String, index: u64| Fired {
        index,
        service: inner.service,
        method: method.as_str().to_owned(),
        path: relative.clone(),
        uri: uri.clone(),
        status,
        body,
    };
    if let Some(s) = &shot
        && let FaultKind::BeforeCommit(reply) = s.kind
    {
        s.report(&fired(None, String::new(), s.index));
        return match reply {
            Reply::Status(code) => Ok(injected(inner.service, code)),
            Reply::Drop => Err(Dropped),
        };
    }
    let body = axum::body::to_bytes(Body::new(body), usize::MAX)
        .await
        .unwrap_or_default();
    let answer = forward(&inner, method.clone(), &uri, &parts.headers, body).await;
    if let Some(shot) = shot {
        let seen = fired(
            Some(answer.status.as_u16()),
            String::from_utf8_lossy(&answer.body).into_owned(),
            shot.index,
        );
        shot.report(&seen);
        return match shot.kind {
            FaultKind::CommitThenFail(Reply::Status(code)) => Ok(injected(inner.service, code)),
            FaultKind::CommitThenFail(Reply::Drop) | FaultKind::BeforeCommit(_) => Err(Dropped),
            FaultKind::CrashAfterCommit => {
                shot.held().await;
                Err(Dropped)
            }
        };
    }
    let mut resp = Response::new(Body::from(answer.body));
    *resp.status_mut() = answer.status;
    *resp.headers_mut() = answer.headers;
    Ok(resp)
}

#[derive(Clone)]
struct Conn {
    inner: Arc<Inner>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Conn {
    type Response = Response;
    type Error = Dropped;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Dropped>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        Box::pin(handle(Arc::clone(&self.inner), req))
    }
}

/// Accepts connections until `shutdown` changes; connections die with the loop.
async fn serve(listener: TcpListener, inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
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
                let svc = Conn { inner: Arc::clone(&inner) };
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
    use axum::http::header;

    #[test]
    fn upstream_urls_split_into_origin_and_base_path() {
        assert_eq!(
            split_upstream("http://127.0.0.1:9876").unwrap(),
            ("http://127.0.0.1:9876".to_owned(), String::new())
        );
        assert_eq!(
            split_upstream("http://127.0.0.1:5000/load-balancer/").unwrap(),
            (
                "http://127.0.0.1:5000".to_owned(),
                "/load-balancer".to_owned()
            )
        );
        let e = split_upstream("https://127.0.0.1").unwrap_err().to_string();
        assert!(e.contains("https://127.0.0.1") && e.contains("http"), "{e}");
    }

    #[test]
    fn the_upstreams_address_in_an_answer_becomes_the_proxys() {
        let body = bytes::Bytes::from(r#"{"href": "http://127.0.0.1:9876/v2"}"#);
        let out = rewrite(body, "http://127.0.0.1:9876", "http://127.0.0.1:4000");
        assert_eq!(&out[..], br#"{"href": "http://127.0.0.1:4000/v2"}"#);
        let other = bytes::Bytes::from_static(b"\xff\xfe");
        assert_eq!(rewrite(other.clone(), "a", "b"), other);
    }

    #[test]
    fn hop_by_hop_headers_are_not_forwarded() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "close".parse().unwrap());
        h.insert(header::HOST, "x".parse().unwrap());
        h.insert("x-project-id", "p".parse().unwrap());
        let out = copy_headers(&h);
        assert_eq!(out.len(), 1);
        assert_eq!(out["x-project-id"], "p");
    }
}
