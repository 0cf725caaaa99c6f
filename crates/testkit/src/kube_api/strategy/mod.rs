//! Per-kind behaviour on create and update: defaulting, allocation and validation,
//! following the API server's registry strategies for the fields kks-lb relies on.
//!
//! Where things live:
//!
//! - this module: [`prepare_create`] and [`prepare_update`], which dispatch by kind, and the
//!   checks of the small kinds (events.k8s.io Events, EndpointSlices);
//! - `allocator`: the cluster-wide NodePort and ClusterIP allocations a Service write respects;
//! - `meta`: validation of the metadata common to all kinds (names, labels, annotations);
//! - `service`: Service defaulting, allocation and validation, with the API server's field
//!   paths and messages.

use serde_json::{Map, Value, json};

use super::resources::{ResourceInfo, ResourceType};

mod allocator;
mod meta;
mod service;

pub(crate) use allocator::{Allocator, NODE_PORT_MAX, NODE_PORT_MIN};
use meta::{Causes, validate_meta};
use service::prepare_service;

/// Prepares a new object of `info`'s kind (defaults, allocation, status reset).
pub(crate) fn prepare_create(
    info: &ResourceInfo,
    obj: &mut Value,
    keep_status: bool,
    alloc: &mut Allocator,
) -> Causes {
    let mut causes = Causes::new();
    validate_meta(info, obj, &mut causes);
    match info.ty {
        ResourceType::SERVICES => {
            prepare_service(None, obj, alloc, &mut causes);
            if !keep_status {
                set(obj, "status", json!({ "loadBalancer": {} }));
            }
        }
        ResourceType::NAMESPACES => {
            let name = obj["metadata"]["name"].clone();
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                let labels = meta
                    .entry("labels")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(labels) = labels.as_object_mut() {
                    labels.insert("kubernetes.io/metadata.name".into(), name);
                }
            }
            if !keep_status {
                set(obj, "status", json!({ "phase": "Active" }));
            }
        }
        ResourceType::EVENTS_V1 => validate_event_v1(obj, &mut causes),
        ResourceType::ENDPOINT_SLICES => validate_endpoint_slice(obj, &mut causes),
        _ => {}
    }
    causes
}

/// Prepares an update of an existing object (`new` already carries the old status or
/// spec as the subresource requires).
pub(crate) fn prepare_update(
    info: &ResourceInfo,
    old: &Value,
    new: &mut Value,
    alloc: &mut Allocator,
) -> Causes {
    let mut causes = Causes::new();
    validate_meta(info, new, &mut causes);
    match info.ty {
        ResourceType::SERVICES => prepare_service(Some(old), new, alloc, &mut causes),
        ResourceType::EVENTS_V1 => validate_event_v1(new, &mut causes),
        ResourceType::ENDPOINT_SLICES => validate_endpoint_slice(new, &mut causes),
        _ => {}
    }
    causes
}

fn set(obj: &mut Value, key: &str, value: Value) {
    if let Some(map) = obj.as_object_mut() {
        map.insert(key.into(), value);
    }
}

fn validate_event_v1(ev: &Value, causes: &mut Causes) {
    for field in [
        "reportingController",
        "reportingInstance",
        "action",
        "reason",
    ] {
        if ev[field].as_str().is_none_or(str::is_empty) {
            causes.push(format!("{field}: Required value"));
        }
    }
    for field in ["action", "reason"] {
        if ev[field].as_str().is_some_and(|s| s.len() > 128) {
            causes.push(format!("{field}: Too long: may not be more than 128 bytes"));
        }
    }
    if ev["eventTime"].is_null() {
        causes.push("eventTime: Required value".into());
    }
    match ev["type"].as_str() {
        Some("Normal" | "Warning") => {}
        other => causes.push(format!(
            "type: Unsupported value: {:?}: supported values: \"Normal\", \"Warning\"",
            other.unwrap_or_default()
        )),
    }
    if ev["note"].as_str().is_some_and(|n| n.len() > 1024) {
        causes.push("note: Too long: may not be more than 1024 bytes".into());
    }
}

fn validate_endpoint_slice(slice: &Value, causes: &mut Causes) {
    match slice["addressType"].as_str() {
        Some("IPv4" | "IPv6" | "FQDN") => {}
        None => causes.push("addressType: Required value".into()),
        Some(other) => causes.push(format!(
            "addressType: Unsupported value: \"{other}\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""
        )),
    }
}

#[cfg(test)]
mod tests;
