//! OpenAPI v3 documents for the served kinds, and server-side field validation from them.
//!
//! - `GET /openapi/v3`: the index, one entry per served group-version
//!   (`api/v1`, `apis/coordination.k8s.io/v1`, ...).
//! - `GET /openapi/v3/<gv>`: an OpenAPI 3.0 document with the kinds' schemas (from
//!   k8s-openapi's, named like the API server's, `io.k8s.api.core.v1.Service`, with
//!   `x-kubernetes-group-version-kind`) and the paths of their operations. The `PATCH`
//!   operations declare the `fieldValidation` query parameter, which makes kubectl validate on
//!   the server (`fieldValidation=Strict`) instead of downloading schemas for client-side
//!   validation; `kubectl explain` reads the schemas.
//! - `/openapi/v2` is not served (`404`): kubectl 1.27 and newer (`apply`, `apply --validate`,
//!   `explain`) read v3 and ask for v2 only when `/openapi/v3` is missing, and then only in
//!   protobuf (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`), so a JSON
//!   v2 document would not be read.
//!
//! [`unknown_fields`] finds the fields of a request body that the kind's schema does not
//! know, for `fieldValidation=Strict` (refused) and `Warn` (the default: warnings).

use std::sync::OnceLock;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Namespace, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::events::v1::Event;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::resources::{RESOURCES, ResourceInfo, ResourceType};

/// Every served kind's schema name, and the schemas of all of them and their parts.
struct Schemas {
    names: Vec<(ResourceType, String)>,
    definitions: Map<String, Value>,
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut generator = SchemaSettings::openapi3().into_generator();
        let mut names = Vec::new();
        let mut add = |ty: ResourceType, schema: schemars::Schema| {
            let name = schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.rsplit('/').next())
                .unwrap_or_default()
                .to_string();
            names.push((ty, name));
        };
        add(ResourceType::SERVICES, generator.subschema_for::<Service>());
        add(ResourceType::NODES, generator.subschema_for::<Node>());
        add(
            ResourceType::NAMESPACES,
            generator.subschema_for::<Namespace>(),
        );
        add(
            ResourceType::CORE_EVENTS,
            generator.subschema_for::<CoreEvent>(),
        );
        add(ResourceType::EVENTS_V1, generator.subschema_for::<Event>());
        add(ResourceType::LEASES, generator.subschema_for::<Lease>());
        add(
            ResourceType::ENDPOINT_SLICES,
            generator.subschema_for::<EndpointSlice>(),
        );
        add(
            ResourceType::VALIDATING_WEBHOOKS,
            generator.subschema_for::<ValidatingWebhookConfiguration>(),
        );
        let mut definitions = generator.take_definitions(true);
        for (schema, property, extensions) in PATCH_EXTENSIONS {
            if let Some(p) = definitions
                .get_mut(*schema)
                .and_then(|s| s.get_mut("properties"))
                .and_then(|p| p.get_mut(*property))
                .and_then(Value::as_object_mut)
            {
                for (k, v) in extensions() {
                    p.insert(k, v);
                }
            }
        }
        for (ty, name) in &names {
            let Some(info) = RESOURCES.iter().find(|r| r.ty == *ty) else {
                continue;
            };
            if let Some(schema) = definitions.get_mut(name).and_then(Value::as_object_mut) {
                schema.insert("x-kubernetes-group-version-kind".into(), json!([gvk(info)]));
            }
        }
        Schemas { names, definitions }
    })
}

type Extensions = fn() -> Map<String, Value>;

fn merge_by(key: &'static str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("x-kubernetes-patch-merge-key".into(), key.into());
    m.insert("x-kubernetes-patch-strategy".into(), "merge".into());
    m
}

/// The strategic-merge-patch metadata of the API server's schemas for the lists kubectl
/// patches here (k8s-openapi's schemas do not carry it), so that `kubectl apply` merges list
/// items by key instead of replacing the lists.
const PATCH_EXTENSIONS: &[(&str, &str, Extensions)] = &[
    ("io.k8s.api.core.v1.ServiceSpec", "ports", || {
        let mut m = merge_by("port");
        m.insert("x-kubernetes-list-type".into(), "map".into());
        m.insert(
            "x-kubernetes-list-map-keys".into(),
            json!(["port", "protocol"]),
        );
        m
    }),
    ("io.k8s.api.core.v1.ServiceStatus", "conditions", || {
        merge_by("type")
    }),
    ("io.k8s.api.core.v1.NodeStatus", "addresses", || {
        merge_by("type")
    }),
    ("io.k8s.api.core.v1.NodeStatus", "conditions", || {
        merge_by("type")
    }),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ownerReferences",
        || merge_by("uid"),
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
        || {
            let mut m = Map::new();
            m.insert("x-kubernetes-patch-strategy".into(), "merge".into());
            m.insert("x-kubernetes-list-type".into(), "set".into());
            m
        },
    ),
];

fn gvk(info: &ResourceInfo) -> Value {
    json!({ "group": info.ty.group, "version": info.ty.version, "kind": info.kind })
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The index served at `/openapi/v3`.
pub(crate) fn index() -> Value {
    let mut paths = Map::new();
    for r in RESOURCES {
        let gv = gv_path(r.ty.group, r.ty.version);
        paths.insert(
            gv.clone(),
            json!({ "serverRelativeURL": format!("/openapi/v3/{gv}?hash=kks-lb-emulator-1") }),
        );
    }
    json!({ "paths": paths })
}

fn schema_name(ty: ResourceType) -> Option<&'static str> {
    schemas()
        .names
        .iter()
        .find(|(t, _)| *t == ty)
        .map(|(_, n)| n.as_str())
}

/// The document of one group-version (`api/v1`, `apis/coordination.k8s.io/v1`).
pub(crate) fn document(gv: &str) -> Option<Value> {
    let served: Vec<&ResourceInfo> = RESOURCES
        .iter()
        .filter(|r| gv_path(r.ty.group, r.ty.version) == gv)
        .collect();
    if served.is_empty() {
        return None;
    }
    let all = &schemas().definitions;
    let mut needed = Map::new();
    let mut paths = Map::new();
    for info in &served {
        let Some(name) = schema_name(info.ty) else {
            continue;
        };
        collect(name, all, &mut needed);
        let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
        let body = json!({ "content": { "application/json": { "schema": reference.clone() } } });
        let ok = json!({ "200": { "description": "OK", "content": { "application/json": { "schema": reference } } } });
        let op = |action: &str, params: Value| {
            json!({
                "operationId": format!("{action}{}", info.kind),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk(info),
                "parameters": params,
                "responses": ok.clone(),
            })
        };
        let write_params = json!([
            query(
                "dryRun",
                "When present, indicates that modifications should not be persisted."
            ),
            query(
                "fieldManager",
                "A name associated with the actor or entity that is making these changes."
            ),
            query(
                "fieldValidation",
                "How the server handles unknown or duplicate fields: Ignore, Warn (the default) or Strict."
            ),
        ]);
        let mut patch_params = write_params.clone();
        if let Some(p) = patch_params.as_array_mut() {
            p.push(query(
                "force",
                "Force is going to \"force\" Apply requests.",
            ));
        }
        let mut post = op("post", write_params.clone());
        let mut put = op("put", write_params);
        for o in [&mut post, &mut put] {
            if let Some(m) = o.as_object_mut() {
                m.insert("requestBody".into(), body.clone());
            }
        }
        let mut patch = op("patch", patch_params);
        if let Some(m) = patch.as_object_mut() {
            m.insert(
                "requestBody".into(),
                json!({ "content": {
                    "application/apply-patch+yaml": { "schema": { "type": "object" } },
                    "application/json-patch+json": { "schema": { "type": "object" } },
                    "application/merge-patch+json": { "schema": { "type": "object" } },
                    "application/strategic-merge-patch+json": { "schema": { "type": "object" } },
                } }),
            );
        }
        let prefix = format!("/{gv}");
        let (collection, item) = if info.namespaced {
            (
                format!("{prefix}/namespaces/{{namespace}}/{}", info.ty.plural),
                format!(
                    "{prefix}/namespaces/{{namespace}}/{}/{{name}}",
                    info.ty.plural
                ),
            )
        } else {
            (
                format!("{prefix}/{}", info.ty.plural),
                format!("{prefix}/{}/{{name}}", info.ty.plural),
            )
        };
        paths.insert(
            collection,
            json!({ "get": op("list", json!([])), "post": post }),
        );
        paths.insert(
            item,
            json!({
                "get": op("get", json!([])),
                "put": put,
                "patch": patch,
                "delete": op("delete", json!([query("dryRun", "When present, indicates that modifications should not be persisted.")])),
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": "v1.33.0" },
        "paths": paths,
        "components": { "schemas": needed },
    }))
}

fn query(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "description": description, "schema": { "type": "string", "uniqueItems": true } })
}

/// Copies `name` and every schema it refers to into `out`.
fn collect(name: &str, all: &Map<String, Value>, out: &mut Map<String, Value>) {
    if out.contains_key(name) {
        return;
    }
    let Some(schema) = all.get(name) else {
        return;
    };
    out.insert(name.to_string(), schema.clone());
    let mut refs = Vec::new();
    find_refs(schema, &mut refs);
    for r in refs {
        collect(&r, all, out);
    }
}

fn find_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str)
                && let Some(name) = r.strip_prefix("#/components/schemas/")
            {
                out.push(name.to_string());
            }
            m.values().for_each(|x| find_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| find_refs(x, out)),
        _ => {}
    }
}

/// The fields of `body` (a whole object, or a merge or strategic-merge patch of one) that the
/// schema of `ty` does not know, as `spec.ports[0].portz`. Patch directives (`$patch`,
/// `$setElementOrder/...`) are not fields.
pub(crate) fn unknown_fields(ty: ResourceType, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(name) = schema_name(ty) {
        let defs = &schemas().definitions;
        if let Some(schema) = defs.get(name) {
            walk(schema, body, "", defs, &mut out);
        }
    }
    out
}

fn resolve<'a>(mut schema: &'a Value, defs: &'a Map<String, Value>) -> &'a Value {
    for _ in 0..8 {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            match r
                .strip_prefix("#/components/schemas/")
                .and_then(|n| defs.get(n))
            {
                Some(s) => schema = s,
                None => return schema,
            }
        } else if let Some([only]) = schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            schema = only;
        } else {
            return schema;
        }
    }
    schema
}

fn walk(
    schema: &Value,
    value: &Value,
    path: &str,
    defs: &Map<String, Value>,
    out: &mut Vec<String>,
) {
    let schema = resolve(schema, defs);
    match value {
        Value::Object(fields) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, v) in fields {
                    if key.starts_with('$') {
                        continue;
                    }
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match props.get(key) {
                        Some(s) => walk(s, v, &here, defs, out),
                        None => out.push(here),
                    }
                }
            } else if let Some(each) = schema.get("additionalProperties").filter(|a| a.is_object())
            {
                for (key, v) in fields {
                    walk(each, v, &format!("{path}.{key}"), defs, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    walk(item, v, &format!("{path}[{i}]"), defs, out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_document_has_the_service_schema_and_the_field_validation_parameter() {
        let doc = document("api/v1").unwrap();
        let svc = &doc["components"]["schemas"]["io.k8s.api.core.v1.Service"];
        assert_eq!(
            svc["x-kubernetes-group-version-kind"],
            json!([{"group": "", "version": "v1", "kind": "Service"}])
        );
        assert!(doc["components"]["schemas"]["io.k8s.api.core.v1.ServicePort"].is_object());
        let ports =
            &doc["components"]["schemas"]["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"];
        assert_eq!(ports["x-kubernetes-patch-merge-key"], "port");
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/services/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Service");
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        assert!(index()["paths"]["apis/coordination.k8s.io/v1"].is_object());
        assert!(document("apis/apps/v1").is_none());
    }

    #[test]
    fn unknown_fields_are_named_by_path() {
        let body = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "x", "labels": {"a": "b"}, "annotationz": {}},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": "http", "portz": 1}],
                     "$setElementOrder/ports": [{"port": 80}]},
        });
        assert_eq!(
            unknown_fields(ResourceType::SERVICES, &body),
            ["metadata.annotationz", "spec.ports[0].portz"]
        );
    }
}
