//! Request bodies in `application/vnd.kubernetes.protobuf`, which kubectl's typed commands
//! send (`kubectl create namespace`, `kubectl create service clusterip|nodeport|loadbalancer`).
//!
//! The envelope (`k8s\0` + `runtime.Unknown` with `typeMeta` and `raw`) is decoded, and the
//! kinds the emulator serves that a client can write this way, Namespaces, Services and Nodes,
//! are turned into the JSON a JSON client would have sent, following the field numbers of
//! `k8s.io/api/core/v1/generated.proto`: empty strings and zero numbers of fields that JSON
//! omits when empty are left out, fields the emulator does not know are ignored, and the
//! result takes the normal path (defaulting, validation, webhooks). Status is not decoded (a
//! create or update never sets it). Other kinds are answered with
//! `415 Unsupported Media Type` naming the kind, like a server that does not speak protobuf for
//! it; `kubectl apply -f`, `kubectl create -f` and every patch send JSON and are unaffected.
//!
//! Where things live: this module holds [`decode`] (the envelope and the dispatch by kind);
//! `wire` reads the protobuf wire format (varints, fields, a builder of JSON objects from
//! fields); `kinds` decodes `ObjectMeta`, Namespaces, Services and Nodes by their field
//! numbers.

use serde_json::{Value, json};

use super::error::ApiError;

/// The content type kubectl uses for built-in kinds.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

mod kinds;
mod wire;

use kinds::{namespace_spec, node_spec, object_meta, service_spec};
use wire::{MAGIC, fields, fields_or_empty, last_bytes, non_empty, text};

fn unsupported(what: &str) -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format ({CONTENT_TYPE} for {what}) - accepted media types include: application/json, application/yaml (the emulator decodes protobuf for Namespaces, Services and Nodes only; use kubectl apply -f or create -f)"
        ),
    )
}

/// The JSON object of a protobuf request body.
///
/// # Errors
/// `415` for a kind other than a Namespace, Service or Node, `400` for bytes that are not a
/// protobuf envelope or object.
pub(crate) fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let bad = || ApiError::bad_request("couldn't decode the protobuf request body");
    let inner = body.strip_prefix(MAGIC).ok_or_else(bad)?;
    let unknown = fields(inner).ok_or_else(bad)?;
    let type_meta = fields_or_empty(last_bytes(&unknown, 1).unwrap_or_default());
    let api_version = last_bytes(&type_meta, 1).map(text).unwrap_or_default();
    let kind = last_bytes(&type_meta, 2).map(text).unwrap_or_default();
    let raw = last_bytes(&unknown, 2).unwrap_or_default();
    let spec: fn(&[u8]) -> Value = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") => namespace_spec,
        ("v1", "Service") => service_spec,
        ("v1", "Node") => node_spec,
        _ => return Err(unsupported(&format!("{api_version} {kind}"))),
    };
    // Namespace, Service and Node all carry metadata (1), spec (2) and status (3).
    let f = fields(raw).ok_or_else(bad)?;
    let metadata = last_bytes(&f, 1).map(object_meta).unwrap_or(json!({}));
    let mut object = json!({ "apiVersion": api_version, "kind": kind, "metadata": metadata });
    // A JSON client always sends a Service's spec (a struct, never omitted), even empty.
    let spec = last_bytes(&f, 2).map(spec).unwrap_or(json!({}));
    if (kind == "Service" || non_empty(&spec))
        && let Some(o) = object.as_object_mut()
    {
        o.insert("spec".into(), spec);
    }
    Ok(object)
}

#[cfg(test)]
mod tests;
