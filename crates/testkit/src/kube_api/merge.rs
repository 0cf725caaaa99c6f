//! Patch semantics: JSON merge patch (RFC 7386), strategic merge patch, JSON patch
//! (RFC 6902, with the API server's `test`-against-null leniency), and object normalisation.

use serde_json::{Map, Value};

use super::error::ApiError;

/// How a list field merges, for strategic merge patch and server-side apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// Replaced as a whole.
    Atomic,
    /// A set of scalars, merged by value (e.g. `metadata.finalizers`).
    Set,
    /// A list of objects merged by a key field (e.g. `status.conditions` by `type`).
    Map(&'static str),
}

/// The merge behaviour of the list at `path` (field names from the object root).
///
/// Covers the fields kks-lb touches; anything else is atomic, as in the API server
/// for lists without a patch strategy.
pub(crate) fn list_kind(path: &[String]) -> ListKind {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["metadata", "finalizers"] => ListKind::Set,
        ["metadata", "ownerReferences"] => ListKind::Map("uid"),
        ["spec", "ports"] => ListKind::Map("port"),
        ["status", "conditions" | "addresses"] => ListKind::Map("type"),
        _ => ListKind::Atomic,
    }
}

/// Applies an RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Applies a strategic merge patch.
pub(crate) fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "strategic merge patch must be a JSON object",
        ));
    }
    let mut path = Vec::new();
    smp_value(target, patch, &mut path);
    Ok(())
}

fn is_directive(key: &str) -> bool {
    key.starts_with('$')
}

/// Strips patch directives and nulls from a value being inserted wholesale.
fn clean(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !is_directive(k) && !v.is_null())
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .map(clean)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn smp_value(target: &mut Value, patch: &Value, path: &mut Vec<String>) {
    let Some(pmap) = patch.as_object() else {
        *target = clean(patch);
        return;
    };
    if pmap.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = clean(patch);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(tmap) = target.as_object_mut() else {
        return;
    };
    for (key, pv) in pmap {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(remove)) = (tmap.get_mut(field), pv.as_array()) {
                list.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if is_directive(key) {
            continue;
        }
        if pv.is_null() {
            tmap.remove(key);
            continue;
        }
        path.push(key.clone());
        match pv {
            Value::Object(obj) => {
                if obj.get("$patch").and_then(Value::as_str) == Some("delete") {
                    tmap.remove(key);
                } else {
                    let slot = tmap.entry(key.clone()).or_insert(Value::Null);
                    smp_value(slot, pv, path);
                }
            }
            Value::Array(items) => {
                let merged = smp_list(tmap.get(key), items, path);
                tmap.insert(key.clone(), merged);
            }
            scalar => {
                tmap.insert(key.clone(), scalar.clone());
            }
        }
        path.pop();
    }
    if let Some(Value::Array(retain)) = pmap.get("$retainKeys") {
        tmap.retain(|k, _| retain.iter().any(|r| r.as_str() == Some(k)));
    }
}

fn smp_list(current: Option<&Value>, patch: &[Value], path: &mut Vec<String>) -> Value {
    let replace = patch
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    let current: Vec<Value> = match current {
        Some(Value::Array(items)) if !replace => items.clone(),
        _ => Vec::new(),
    };
    match list_kind(path) {
        ListKind::Atomic => clean(&Value::Array(patch.to_vec())),
        ListKind::Set => {
            let mut out = current;
            for item in patch.iter().filter(|i| i.get("$patch").is_none()) {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Value::Array(out)
        }
        ListKind::Map(key) => {
            let mut out = current;
            for item in patch {
                if item.get("$patch").and_then(Value::as_str) == Some("replace") {
                    continue;
                }
                let Some(k) = item.get(key) else {
                    out.push(clean(item));
                    continue;
                };
                let pos = out.iter().position(|o| o.get(key) == Some(k));
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (pos, delete) {
                    (Some(i), true) => {
                        out.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => {
                        if let Some(slot) = out.get_mut(i) {
                            smp_value(slot, item, path);
                        }
                    }
                    (None, false) => out.push(clean(item)),
                }
            }
            Value::Array(out)
        }
    }
}

/// Merges a server-side-apply configuration into `target`: objects merge recursively,
/// keyed lists merge by key, sets union, everything else is replaced.
pub(crate) fn apply_merge(target: &mut Value, applied: &Value, path: &mut Vec<String>) {
    let Some(amap) = applied.as_object() else {
        *target = applied.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(tmap) = target.as_object_mut() else {
        return;
    };
    for (key, av) in amap {
        if av.is_null() {
            continue;
        }
        path.push(key.clone());
        match av {
            Value::Object(_) => {
                let slot = tmap.entry(key.clone()).or_insert(Value::Null);
                apply_merge(slot, av, path);
            }
            Value::Array(items) => {
                let merged = match (list_kind(path), tmap.get(key)) {
                    (ListKind::Set, Some(Value::Array(cur))) => {
                        let mut out = cur.clone();
                        for item in items {
                            if !out.contains(item) {
                                out.push(item.clone());
                            }
                        }
                        Value::Array(out)
                    }
                    (ListKind::Map(k), Some(Value::Array(cur))) => {
                        let mut out = cur.clone();
                        for item in items {
                            match item
                                .get(k)
                                .and_then(|kv| out.iter().position(|o| o.get(k) == Some(kv)))
                            {
                                Some(i) => {
                                    if let Some(slot) = out.get_mut(i) {
                                        apply_merge(slot, item, path);
                                    }
                                }
                                None => out.push(item.clone()),
                            }
                        }
                        Value::Array(out)
                    }
                    _ => av.clone(),
                };
                tmap.insert(key.clone(), merged);
            }
            scalar => {
                tmap.insert(key.clone(), scalar.clone());
            }
        }
        path.pop();
    }
}

/// Applies an RFC 6902 JSON patch the way the API server does: a failed `test` or a bad
/// path is `422 Invalid`, and `test` with a `null` value passes when the path is absent.
pub(crate) fn json_patch(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let unprocessable = |msg: String| ApiError::from_code(422, msg);
    for op in &ops.0 {
        if let json_patch::PatchOperation::Test(test) = op
            && test.value.is_null()
        {
            let path = test.path.as_str();
            match target.pointer(path) {
                None | Some(Value::Null) => {
                    let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
                    if target.pointer(parent).is_none() {
                        return Err(unprocessable(format!(
                            "test operation does not apply: is missing path: {path}"
                        )));
                    }
                }
                Some(_) => {
                    return Err(unprocessable(format!(
                        "testing value {path} failed: test failed"
                    )));
                }
            }
            continue;
        }
        json_patch::patch(target, std::slice::from_ref(op)).map_err(|e| {
            unprocessable(format!(
                "the server rejected our request due to an error in our request: {e}"
            ))
        })?;
    }
    Ok(())
}

/// Drops `null`s everywhere and empty metadata collections, as the API server's
/// round trip through typed structs does.
pub(crate) fn normalize(obj: &mut Value) {
    strip_nulls(obj);
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "labels",
            "annotations",
            "finalizers",
            "ownerReferences",
            "managedFields",
        ] {
            let empty = match meta.get(key) {
                Some(Value::Object(m)) => m.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if empty {
                meta.remove(key);
            }
        }
    }
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_merges_conditions_by_type_and_unions_finalizers() {
        let mut obj = json!({
            "metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
            "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Other", "status": "True"}]},
        });
        strategic_merge(
            &mut obj,
            &json!({
                "metadata": {"finalizers": ["b", "a"], "labels": {"y": null, "z": "3"}},
                "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "New", "status": "True"}]},
            }),
        )
        .unwrap();
        assert_eq!(obj["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(obj["metadata"]["labels"], json!({"x": "1", "z": "3"}));
        assert_eq!(
            obj["status"]["conditions"],
            json!([
                {"type": "Ready", "status": "True"},
                {"type": "Other", "status": "True"},
                {"type": "New", "status": "True"}
            ])
        );
    }

    #[test]
    fn strategic_merge_honours_delete_and_replace_directives() {
        let mut obj = json!({
            "metadata": {"finalizers": ["a", "b"]},
            "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "1.1.1.1"}]}},
        });
        strategic_merge(
            &mut obj,
            &json!({
                "$setElementOrder/finalizers": ["a"],
                "metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]},
                "spec": {"ports": [{"port": 80, "$patch": "delete"}, {"port": 443, "name": "tls"}]},
                "status": {"loadBalancer": {"ingress": [{"ip": "2.2.2.2"}]}},
            }),
        )
        .unwrap();
        assert_eq!(obj["metadata"]["finalizers"], json!(["a"]));
        assert_eq!(obj["spec"]["ports"], json!([{"port": 443, "name": "tls"}]));
        assert_eq!(
            obj["status"]["loadBalancer"]["ingress"],
            json!([{"ip": "2.2.2.2"}])
        );
        strategic_merge(
            &mut obj,
            &json!({"spec": {"ports": [{"$patch": "replace"}, {"port": 8080}]}}),
        )
        .unwrap();
        assert_eq!(obj["spec"]["ports"], json!([{"port": 8080}]));
    }

    #[test]
    fn json_patch_test_against_null_passes_only_when_absent() {
        let mut obj = json!({"metadata": {"name": "x"}});
        let add = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["f"]},
        ]);
        json_patch(&mut obj, &add).unwrap();
        assert_eq!(obj["metadata"]["finalizers"], json!(["f"]));
        let err = json_patch(&mut obj, &add).unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(err.reason, "Invalid");
        let wrong = json!([{"op": "test", "path": "/metadata/finalizers/0", "value": "g"}]);
        assert_eq!(json_patch(&mut obj, &wrong).unwrap_err().code, 422);
    }

    #[test]
    fn normalize_drops_nulls_and_empty_metadata_collections() {
        let mut obj = json!({"metadata": {"name": "x", "labels": {}, "finalizers": [], "annotations": {"a": null}}, "spec": {"x": null}});
        normalize(&mut obj);
        assert_eq!(obj, json!({"metadata": {"name": "x"}, "spec": {}}));
    }
}
