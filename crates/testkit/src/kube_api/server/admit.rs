//! Admission of writes: server-side field validation, built-in validation as a dry run of
//! the write, then the validating webhooks; their warnings become `Warning` headers.

use std::sync::Arc;

use axum::response::Response;
use http::Method;
use serde_json::Value;

use super::dispatch::{dispatch, patch_kind};
use super::request::Req;
use super::route::{Route, parse_route};
use super::{Shared, json_response, lock};
use crate::kube_api::admission;
use crate::kube_api::error::ApiError;
use crate::kube_api::openapi;
use crate::kube_api::resources::{self, ResourceType};
use crate::kube_api::store::PatchKind;

/// Server-side field validation of a create, update or patch body against the kind's schema:
/// `fieldValidation=Strict` refuses unknown fields, `Ignore` accepts them, `Warn` (the
/// default) accepts them with a warning each. JSON patches are not checked.
pub(super) fn field_validation(
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
pub(super) fn warning_header(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("299 - \"{escaped}\"")
}

/// Dispatches a request; a create or update first passes built-in validation (a dry run of
/// the write) and then the validating webhooks ([`admission`]). Returns the response (or
/// the error) and the webhooks' warnings.
pub(super) async fn admitted(
    shared: &Arc<Shared>,
    path: &str,
    req: &Req<'_>,
) -> (Result<Response, ApiError>, Vec<String>) {
    match admitted_inner(shared, path, req).await {
        Ok((response, warnings)) => (Ok(response), warnings),
        Err((err, warnings)) => (Err(err), warnings),
    }
}

pub(super) type Failed = (ApiError, Vec<String>);

pub(super) fn no_warnings(e: ApiError) -> Failed {
    (e, Vec::new())
}

pub(super) async fn admitted_inner(
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
