//! The HTTP front end: one axum fallback handler that parses Kubernetes API paths,
//! applies injected faults, dispatches to the store and records the audit log.

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
use http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT, WARNING};
use http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};
use tokio::sync::watch as watch_channel;

use super::admission;
use super::error::ApiError;
use super::faults::{AuditEntry, Faults};
use super::managed::Scope;
use super::openapi;
use super::protobuf;
use super::resources::{self, ResourceInfo, ResourceType};
use super::selector::{FieldSelector, Filter, LabelSelector};
use super::store::{DeleteOpts, DeleteOutcome, ListOpts, PatchKind, Store, WriteCtx};
use super::table;
use super::watch::{self, WatchControl, WatchRequest, partial_metadata};

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

/// One request's inputs.
struct Req<'a> {
    method: &'a Method,
    params: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
    /// The dry run of an admission check: never persisted, always the full object.
    trial: bool,
}

impl Req<'_> {
    fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.param(key), Some("true" | "1"))
    }

    fn meta_only(&self) -> bool {
        !self.trial
            && self
                .headers
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("as=PartialObjectMetadata"))
    }

    /// `kubectl get` asks for a Table.
    fn table(&self) -> bool {
        !self.trial
            && self
                .headers
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(table::wanted)
    }

    fn dry_run(&self) -> bool {
        self.trial || self.param("dryRun") == Some("All")
    }

    fn manager(&self) -> String {
        if let Some(m) = self.param("fieldManager").filter(|m| !m.is_empty()) {
            return m.to_string();
        }
        self.headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .filter(|m| !m.is_empty())
            .unwrap_or("unknown")
            .to_string()
    }

    fn json_body(&self) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Err(ApiError::bad_request("the request body is empty"));
        }
        let protobuf = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with(protobuf::CONTENT_TYPE));
        if protobuf {
            return protobuf::decode(self.body);
        }
        serde_json::from_slice(self.body).map_err(|e| {
            ApiError::bad_request(format!("couldn't decode the request body as JSON: {e}"))
        })
    }

    fn filter(&self, ns: Option<&str>) -> Result<Filter, ApiError> {
        Ok(Filter {
            namespace: ns.map(str::to_string),
            labels: LabelSelector::parse(self.param("labelSelector").unwrap_or_default())
                .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?,
            fields: FieldSelector::parse(self.param("fieldSelector").unwrap_or_default())
                .map_err(|e| ApiError::bad_request(format!("invalid field selector: {e}")))?,
        })
    }
}

/// A parsed request path.
enum Route {
    Doc(Value),
    Text(&'static str),
    Collection {
        info: &'static ResourceInfo,
        ns: Option<String>,
    },
    Item {
        info: &'static ResourceInfo,
        ns: Option<String>,
        name: String,
        status: bool,
    },
}

fn parse_route(path: &str, server_address: &str) -> Result<Route, ApiError> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let not_found = ApiError::unknown_path;
    match segs.as_slice() {
        ["version"] => Ok(Route::Doc(resources::version())),
        ["healthz" | "readyz" | "livez"] => Ok(Route::Text("ok")),
        ["openapi", "v3"] => Ok(Route::Doc(openapi::index())),
        ["openapi", "v3", rest @ ..] => openapi::document(&rest.join("/"))
            .map(Route::Doc)
            .ok_or_else(not_found),
        ["api"] => Ok(Route::Doc(resources::core_versions(server_address))),
        ["api", version] => resources::resource_list("", version)
            .map(Route::Doc)
            .ok_or_else(not_found),
        ["api", version, rest @ ..] => resource_route("", version, rest),
        ["apis"] => Ok(Route::Doc(resources::group_list())),
        ["apis", group] => resources::group(group)
            .map(Route::Doc)
            .ok_or_else(not_found),
        ["apis", group, version] => resources::resource_list(group, version)
            .map(Route::Doc)
            .ok_or_else(not_found),
        ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
        _ => Err(not_found()),
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Result<Route, ApiError> {
    let not_found = ApiError::unknown_path;
    if let ["namespaces", ns, plural, tail @ ..] = rest
        && let Some(info) = resources::lookup(group, version, plural).filter(|i| i.namespaced)
    {
        return scoped_route(info, Some((*ns).to_string()), tail);
    }
    let [plural, tail @ ..] = rest else {
        return Err(not_found());
    };
    let info = resources::lookup(group, version, plural).ok_or_else(not_found)?;
    if info.namespaced && !tail.is_empty() {
        return Err(not_found());
    }
    scoped_route(info, None, tail)
}

fn scoped_route(
    info: &'static ResourceInfo,
    ns: Option<String>,
    tail: &[&str],
) -> Result<Route, ApiError> {
    match tail {
        [] => Ok(Route::Collection { info, ns }),
        [name] => Ok(Route::Item {
            info,
            ns,
            name: (*name).to_string(),
            status: false,
        }),
        [name, "status"] if info.status => Ok(Route::Item {
            info,
            ns,
            name: (*name).to_string(),
            status: true,
        }),
        _ => Err(ApiError::unknown_path()),
    }
}

/// Server-side field validation of a create, update or patch body against the kind's schema:
/// `fieldValidation=Strict` refuses unknown fields, `Ignore` accepts them, `Warn` (the
/// default) accepts them with a warning each. JSON patches are not checked.
fn field_validation(
    shared: &Arc<Shared>,
    path: &str,
    req: &Req<'_>,
) -> Result<Vec<String>, ApiError> {
    let mode = req.param("fieldValidation").unwrap_or("Warn");
    if mode == "Ignore"
        || req.body.is_empty()
        || !matches!(*req.method, Method::POST | Method::PUT | Method::PATCH)
    {
        return Ok(Vec::new());
    }
    if !matches!(mode, "Strict" | "Warn") {
        return Err(ApiError::bad_request(format!(
            "fieldValidation parameter unsupported: {mode}"
        )));
    }
    let info = match parse_route(path, &shared.server_address) {
        Ok(Route::Collection { info, .. } | Route::Item { info, .. }) => info,
        _ => return Ok(Vec::new()),
    };
    if *req.method == Method::PATCH && matches!(patch_kind(req), Ok(PatchKind::Json) | Err(_)) {
        return Ok(Vec::new());
    }
    let Some(body) = serde_json::from_slice::<Value>(req.body)
        .ok()
        .or_else(|| serde_yaml_ng::from_slice::<Value>(req.body).ok())
    else {
        return Ok(Vec::new());
    };
    let unknown: Vec<String> = openapi::unknown_fields(info.ty, &body)
        .into_iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    if mode == "Strict" {
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            unknown.join(", "),
            kind = info.kind,
            version = info.ty.version,
        )));
    }
    Ok(unknown)
}

/// `299 - "text"`, as the API server sends warnings.
fn warning_header(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("299 - \"{escaped}\"")
}

/// Dispatches a request; a create or update first passes built-in validation (a dry run of
/// the write) and then the validating webhooks ([`admission`]). Returns the response (or
/// the error) and the webhooks' warnings.
async fn admitted(
    shared: &Arc<Shared>,
    path: &str,
    req: &Req<'_>,
) -> (Result<Response, ApiError>, Vec<String>) {
    match admitted_inner(shared, path, req).await {
        Ok((response, warnings)) => (Ok(response), warnings),
        Err((err, warnings)) => (Err(err), warnings),
    }
}

type Failed = (ApiError, Vec<String>);

fn no_warnings(e: ApiError) -> Failed {
    (e, Vec::new())
}

async fn admitted_inner(
    shared: &Arc<Shared>,
    path: &str,
    req: &Req<'_>,
) -> Result<(Response, Vec<String>), Failed> {
    let writes = matches!(*req.method, Method::POST | Method::PUT | Method::PATCH);
    let hooks = if writes {
        let configs = resources::info_for(ResourceType::VALIDATING_WEBHOOKS)
            .map(|info| lock(&shared.store).all(info))
            .unwrap_or_default();
        admission::hooks(configs)
    } else {
        Vec::new()
    };
    if hooks.is_empty() {
        return dispatch(shared, path, req)
            .map(|r| (r, Vec::new()))
            .map_err(no_warnings);
    }
    let (info, ns, name, subresource) =
        match parse_route(path, &shared.server_address).map_err(no_warnings)? {
            Route::Collection { info, ns } if *req.method == Method::POST => (info, ns, None, None),
            Route::Item {
                info,
                ns,
                name,
                status,
            } if *req.method != Method::POST => (info, ns, Some(name), status.then_some("status")),
            _ => {
                return dispatch(shared, path, req)
                    .map(|r| (r, Vec::new()))
                    .map_err(no_warnings);
            }
        };
    let old = name
        .as_deref()
        .and_then(|n| lock(&shared.store).get(info, ns.as_deref(), n).ok());
    let trial = Req {
        trial: true,
        ..*req
    };
    let tried = dispatch(shared, path, &trial).map_err(no_warnings)?;
    let code = tried.status();
    let body = axum::body::to_bytes(tried.into_body(), usize::MAX)
        .await
        .map_err(|e| no_warnings(ApiError::internal(format!("reading the dry run: {e}"))))?;
    let object: Value = serde_json::from_slice(&body)
        .map_err(|e| no_warnings(ApiError::internal(format!("reading the dry run: {e}"))))?;
    let namespace_labels = ns.as_deref().and_then(|n| {
        let info = resources::info_for(ResourceType::NAMESPACES)?;
        lock(&shared.store)
            .get(info, None, n)
            .ok()
            .map(|o| o["metadata"]["labels"].clone())
    });
    let manager = req.manager();
    let attrs = admission::Attributes {
        info,
        namespace: ns.as_deref(),
        subresource,
        operation: if old.is_some() { "UPDATE" } else { "CREATE" },
        object: &object,
        old_object: old.as_ref(),
        dry_run: req.dry_run(),
        field_manager: &manager,
        field_validation: req.param("fieldValidation"),
        namespace_labels: namespace_labels.as_ref(),
    };
    let routes = lock(&shared.webhook_routes).clone();
    let (warnings, verdict) = admission::admit(&hooks, &attrs, &routes).await;
    if let Err(e) = verdict {
        return Err((e, warnings));
    }
    let response = if req.dry_run() {
        Ok(json_response(code, &object))
    } else {
        dispatch(shared, path, req)
    };
    match response {
        Ok(r) => Ok((r, warnings)),
        Err(e) => Err((e, warnings)),
    }
}

fn dispatch(shared: &Arc<Shared>, path: &str, req: &Req<'_>) -> Result<Response, ApiError> {
    match parse_route(path, &shared.server_address)? {
        Route::Doc(doc) if req.method == Method::GET => Ok(json_response(StatusCode::OK, &doc)),
        Route::Text(text) if req.method == Method::GET => Ok(text.into_response()),
        Route::Doc(_) | Route::Text(_) => Err(ApiError::method_not_allowed(req.method.as_str())),
        Route::Collection { info, ns } => collection(shared, info, ns.as_deref(), req),
        Route::Item {
            info,
            ns,
            name,
            status,
        } => item(shared, info, ns.as_deref(), &name, status, req),
    }
}

fn collection(
    shared: &Arc<Shared>,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    req: &Req<'_>,
) -> Result<Response, ApiError> {
    let manager = req.manager();
    let ctx = WriteCtx {
        scope: Scope::Main,
        manager: &manager,
        dry_run: req.dry_run(),
    };
    match *req.method {
        Method::GET if req.flag("watch") => start_watch(shared, info, ns, req),
        Method::GET => {
            let opts = ListOpts {
                filter: req.filter(ns)?,
                limit: req.param("limit").and_then(|l| l.parse().ok()),
                continue_token: req
                    .param("continue")
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
                resource_version: req.param("resourceVersion").map(str::to_string),
                version_match: req.param("resourceVersionMatch").map(str::to_string),
            };
            let page = lock(&shared.store).list(info, &opts)?;
            let mut metadata = json!({ "resourceVersion": page.resource_version.to_string() });
            if let Some(m) = metadata.as_object_mut() {
                if let Some(token) = page.continue_token {
                    m.insert("continue".into(), token.into());
                }
                if let Some(remaining) = page.remaining {
                    m.insert("remainingItemCount".into(), remaining.into());
                }
            }
            let list = if req.table() {
                table::table(
                    info,
                    &page.items,
                    Some(page.resource_version.to_string()),
                    req.param("includeObject"),
                    true,
                )
            } else if req.meta_only() {
                let items: Vec<Value> = page.items.iter().map(partial_metadata).collect();
                json!({
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": metadata,
                    "items": items,
                })
            } else {
                json!({
                    "kind": format!("{}List", info.kind),
                    "apiVersion": info.api_version(),
                    "metadata": metadata,
                    "items": page.items,
                })
            };
            Ok(json_response(StatusCode::OK, &list))
        }
        Method::POST => {
            let body = req.json_body()?;
            let created = lock(&shared.store).create(info, ns, body, &ctx)?;
            Ok(json_response(StatusCode::CREATED, &created))
        }
        Method::DELETE => {
            let filter = req.filter(ns)?;
            let items = lock(&shared.store).delete_collection(info, &filter, req.dry_run());
            let rv = lock(&shared.store).resource_version();
            Ok(json_response(
                StatusCode::OK,
                &json!({
                    "kind": format!("{}List", info.kind),
                    "apiVersion": info.api_version(),
                    "metadata": { "resourceVersion": rv.to_string() },
                    "items": items,
                }),
            ))
        }
        _ => Err(ApiError::method_not_allowed(req.method.as_str())),
    }
}

fn start_watch(
    shared: &Arc<Shared>,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    req: &Req<'_>,
) -> Result<Response, ApiError> {
    let send_initial_events = req.flag("sendInitialEvents");
    let bookmarks = req.flag("allowWatchBookmarks");
    if send_initial_events && req.param("resourceVersionMatch") != Some("NotOlderThan") {
        return Err(ApiError::from_code(
            422,
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    if send_initial_events && !bookmarks {
        return Err(ApiError::from_code(
            422,
            "allowWatchBookmarks: Forbidden: sendInitialEvents requires allowWatchBookmarks=true",
        ));
    }
    let watch_req = WatchRequest {
        info,
        filter: req.filter(ns)?,
        bookmarks,
        send_initial_events,
        timeout: req
            .param("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|t| *t > 0)
            .map(Duration::from_secs),
        meta_only: req.meta_only(),
        table: req
            .table()
            .then(|| req.param("includeObject").unwrap_or("Metadata").to_string()),
        columns_sent: std::sync::atomic::AtomicBool::new(false),
    };
    let start = lock(&shared.store).watch(info, req.param("resourceVersion"), send_initial_events);
    let body = match start {
        Ok(start) => watch::stream(
            watch_req,
            start,
            WatchControl {
                kill: shared.kill.subscribe(),
                bookmark_interval: shared.bookmark_interval,
                active: Arc::clone(&shared.active_watches),
            },
        ),
        // Like the API server: a 200 stream carrying one ERROR event.
        Err(err) if err.code == 410 => watch::error_body(&err.to_status()),
        Err(err) => return Err(err),
    };
    Ok((StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response())
}

fn patch_kind(req: &Req<'_>) -> Result<PatchKind, ApiError> {
    let content_type = req
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let base = content_type.split(';').next().unwrap_or_default().trim();
    match base {
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/apply-patch+yaml" => Ok(PatchKind::Apply {
            force: req.flag("force"),
        }),
        other => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({other}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
            ),
        )),
    }
}

fn item(
    shared: &Arc<Shared>,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    status: bool,
    req: &Req<'_>,
) -> Result<Response, ApiError> {
    let manager = req.manager();
    let ctx = WriteCtx {
        scope: if status { Scope::Status } else { Scope::Main },
        manager: &manager,
        dry_run: req.dry_run(),
    };
    let render = |obj: Value| {
        if req.meta_only() {
            partial_metadata(&obj)
        } else {
            obj
        }
    };
    match *req.method {
        Method::GET if req.table() => {
            let obj = lock(&shared.store).get(info, ns, name)?;
            let t = table::table(info, &[obj], None, req.param("includeObject"), true);
            Ok(json_response(StatusCode::OK, &t))
        }
        Method::GET => {
            let obj = lock(&shared.store).get(info, ns, name)?;
            Ok(json_response(StatusCode::OK, &render(obj)))
        }
        Method::PUT => {
            let body = req.json_body()?;
            let obj = lock(&shared.store).replace(info, ns, name, body, &ctx)?;
            Ok(json_response(StatusCode::OK, &render(obj)))
        }
        Method::PATCH => {
            let kind = patch_kind(req)?;
            let body = match kind {
                PatchKind::Apply { .. } => {
                    if req.param("fieldManager").is_none_or(str::is_empty) {
                        return Err(ApiError::bad_request(
                            "PATCH requests of type apply must have a fieldManager",
                        ));
                    }
                    serde_json::from_slice(req.body).or_else(|_| {
                        serde_yaml_ng::from_slice::<Value>(req.body)
                            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
                    })?
                }
                _ => req.json_body()?,
            };
            let (obj, created) = lock(&shared.store).patch(info, ns, name, kind, &body, &ctx)?;
            let code = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json_response(code, &render(obj)))
        }
        Method::DELETE if !status => {
            let options: Value = if req.body.is_empty() {
                Value::Null
            } else {
                req.json_body()?
            };
            let dry_run = req.dry_run()
                || options["dryRun"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|v| v == "All"));
            let opts = DeleteOpts {
                uid: options["preconditions"]["uid"].as_str().map(str::to_string),
                resource_version: options["preconditions"]["resourceVersion"]
                    .as_str()
                    .map(str::to_string),
                dry_run,
            };
            match lock(&shared.store).delete(info, ns, name, &opts)? {
                DeleteOutcome::Pending(obj) => Ok(json_response(StatusCode::OK, &render(obj))),
                DeleteOutcome::Deleted(obj) => {
                    let mut details = json!({
                        "name": name,
                        "kind": info.ty.plural,
                        "uid": obj["metadata"]["uid"],
                    });
                    if !info.ty.group.is_empty()
                        && let Some(d) = details.as_object_mut()
                    {
                        d.insert("group".into(), info.ty.group.into());
                    }
                    Ok(json_response(
                        StatusCode::OK,
                        &json!({
                            "kind": "Status",
                            "apiVersion": "v1",
                            "metadata": {},
                            "status": "Success",
                            "details": details,
                        }),
                    ))
                }
            }
        }
        _ => Err(ApiError::method_not_allowed(req.method.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> Result<Route, ApiError> {
        parse_route(path, "127.0.0.1:1")
    }

    #[test]
    fn paths_resolve_to_collections_items_and_subresources() {
        assert!(matches!(
            route("/api/v1/namespaces/default/services"),
            Ok(Route::Collection { info, ns: Some(ns) }) if info.kind == "Service" && ns == "default"
        ));
        assert!(matches!(
            route("/api/v1/services"),
            Ok(Route::Collection { info, ns: None }) if info.kind == "Service"
        ));
        assert!(matches!(
            route("/api/v1/namespaces/default/services/web/status"),
            Ok(Route::Item { status: true, ref name, .. }) if name == "web"
        ));
        assert!(matches!(
            route("/api/v1/namespaces/kube-system"),
            Ok(Route::Item { info, ref name, .. }) if info.kind == "Namespace" && name == "kube-system"
        ));
        assert!(matches!(
            route("/api/v1/namespaces/kube-system/status"),
            Ok(Route::Item { info, status: true, .. }) if info.kind == "Namespace"
        ));
        assert!(matches!(
            route("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kks-lb"),
            Ok(Route::Item { info, .. }) if info.kind == "Lease"
        ));
        assert!(
            matches!(route("/api/v1/nodes/n1"), Ok(Route::Item { info, .. }) if info.kind == "Node")
        );
        assert!(route("/api/v1/namespaces/default/leases").is_err());
        assert!(route("/api/v1/services/web").is_err());
        assert!(route("/api/v1/namespaces/default/events/e/status").is_err());
        assert!(route("/apis/apps/v1/deployments").is_err());
    }
}
