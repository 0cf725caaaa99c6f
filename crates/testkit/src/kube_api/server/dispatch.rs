//! The verbs: list, watch, deletecollection and create on collections; get, replace,
//! patch and delete on items, against the store.

use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::request::Req;
use super::route::{Route, parse_route};
use super::{Shared, json_response, lock};
use crate::kube_api::error::ApiError;
use crate::kube_api::managed::Scope;
use crate::kube_api::resources::ResourceInfo;
use crate::kube_api::store::{DeleteOpts, DeleteOutcome, ListOpts, PatchKind, WriteCtx};
use crate::kube_api::table;
use crate::kube_api::watch::{self, WatchControl, WatchRequest, partial_metadata};

pub(super) fn dispatch(
    shared: &Arc<Shared>,
    path: &str,
    req: &Req<'_>,
) -> Result<Response, ApiError> {
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

pub(super) fn collection(
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

pub(super) fn start_watch(
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

pub(super) fn patch_kind(req: &Req<'_>) -> Result<PatchKind, ApiError> {
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

pub(super) fn item(
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
