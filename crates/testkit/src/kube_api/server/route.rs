//! Request paths: discovery documents, collections, items and subresources.

use serde_json::Value;

use crate::kube_api::error::ApiError;
use crate::kube_api::openapi;
use crate::kube_api::resources::{self, ResourceInfo};

/// A parsed request path.
pub(super) enum Route {
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

pub(super) fn parse_route(path: &str, server_address: &str) -> Result<Route, ApiError> {
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

pub(super) fn resource_route(group: &str, version: &str, rest: &[&str]) -> Result<Route, ApiError> {
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

pub(super) fn scoped_route(
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
