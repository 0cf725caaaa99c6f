//! A small model of server-side apply: `metadata.managedFields` in `FieldsV1` form,
//! ownership transfer on updates, conflicts between managers, and removal of fields a
//! manager stops applying.
//!
//! Field paths use the `FieldsV1` element syntax: `f:<field>`, `k:<json key object>` for
//! items of keyed lists, `v:<json value>` for set items. Which lists are keyed or sets
//! comes from [`super::merge::list_kind`]; other lists are atomic leaves.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::merge::{ListKind, apply_merge, list_kind};

/// One field path (sequence of `FieldsV1` elements).
pub(crate) type FieldPath = Vec<String>;
/// A set of owned fields.
pub(crate) type FieldSet = BTreeSet<FieldPath>;

/// Which part of an object a write may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The main resource: everything except `status` (for kinds with a status subresource).
    Main,
    /// The `/status` subresource: only `status`.
    Status,
    /// Everything (emulator controls).
    Whole,
}

impl Scope {
    fn subresource(self) -> Option<&'static str> {
        match self {
            Self::Status => Some("status"),
            Self::Main | Self::Whole => None,
        }
    }
}

/// Metadata fields that belong to users (and so to field managers).
const OWNED_META: [&str; 4] = ["labels", "annotations", "finalizers", "ownerReferences"];

/// Restricts an object to the part `scope` may write (for kinds with status).
pub(crate) fn scoped(obj: &Value, scope: Scope, has_status: bool) -> Value {
    let Some(map) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let keep = match key.as_str() {
            "apiVersion" | "kind" => false,
            "metadata" => scope != Scope::Status,
            "status" => scope != Scope::Main || !has_status,
            _ => scope != Scope::Status || !has_status,
        };
        if !keep {
            continue;
        }
        if key == "metadata" {
            let meta: Map<String, Value> = value
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| OWNED_META.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            if !meta.is_empty() {
                out.insert(key.clone(), Value::Object(meta));
            }
        } else {
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// The leaf fields set in `obj` (already scoped).
pub(crate) fn field_set(obj: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    if let Some(map) = obj.as_object() {
        for (key, value) in map {
            let mut schema = vec![key.clone()];
            let mut prefix = vec![format!("f:{key}")];
            collect(value, &mut schema, &mut prefix, &mut out);
        }
    }
    out
}

fn collect(value: &Value, schema: &mut Vec<String>, prefix: &mut FieldPath, out: &mut FieldSet) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                schema.push(key.clone());
                prefix.push(format!("f:{key}"));
                collect(child, schema, prefix, out);
                prefix.pop();
                schema.pop();
            }
        }
        Value::Array(items) => match list_kind(schema) {
            ListKind::Set => {
                for item in items {
                    let mut p = prefix.clone();
                    p.push(format!("v:{item}"));
                    out.insert(p);
                }
            }
            ListKind::Map(key) if items.iter().all(|i| i.get(key).is_some()) => {
                for item in items {
                    let Some(k) = item.get(key) else { continue };
                    prefix.push(format!("k:{}", json!({ key: k })));
                    out.insert(prefix.clone());
                    if let Some(fields) = item.as_object() {
                        for (fk, fv) in fields {
                            schema.push(fk.clone());
                            prefix.push(format!("f:{fk}"));
                            collect(fv, schema, prefix, out);
                            prefix.pop();
                            schema.pop();
                        }
                    }
                    prefix.pop();
                }
            }
            _ => {
                out.insert(prefix.clone());
            }
        },
        _ => {
            out.insert(prefix.clone());
        }
    }
}

fn item_matches(item: &Value, elem: &str) -> bool {
    if let Some(js) = elem.strip_prefix("k:") {
        serde_json::from_str::<Map<String, Value>>(js)
            .is_ok_and(|key| key.iter().all(|(k, v)| item.get(k) == Some(v)))
    } else if let Some(js) = elem.strip_prefix("v:") {
        serde_json::from_str::<Value>(js).is_ok_and(|v| *item == v)
    } else {
        false
    }
}

/// The value at a field path.
pub(crate) fn get_at<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = value;
    for elem in path {
        cur = match elem.strip_prefix("f:") {
            Some(field) => cur.get(field)?,
            None => cur.as_array()?.iter().find(|i| item_matches(i, elem))?,
        };
    }
    Some(cur)
}

fn get_at_mut<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = value;
    for elem in path {
        cur = match elem.strip_prefix("f:") {
            Some(field) => cur.get_mut(field)?,
            None => cur
                .as_array_mut()?
                .iter_mut()
                .find(|i| item_matches(i, elem))?,
        };
    }
    Some(cur)
}

/// Removes the field at a path, if present.
pub(crate) fn remove_at(value: &mut Value, path: &[String]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let Some(parent) = get_at_mut(value, parent) else {
        return;
    };
    match last.strip_prefix("f:") {
        Some(field) => {
            if let Some(map) = parent.as_object_mut() {
                map.remove(field);
            }
        }
        None => {
            if let Some(items) = parent.as_array_mut() {
                items.retain(|i| !item_matches(i, last));
            }
        }
    }
}

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub manager: String,
    pub operation: String,
    pub subresource: Option<String>,
    pub api_version: String,
    pub time: String,
    pub fields: FieldSet,
}

impl Entry {
    fn same_owner(&self, manager: &str, operation: &str, scope: Scope) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == scope.subresource()
    }
}

/// Reads `metadata.managedFields`.
pub(crate) fn read_entries(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj["metadata"]["managedFields"].as_array() else {
        return Vec::new();
    };
    list.iter()
        .map(|e| {
            let mut fields = FieldSet::new();
            if let Some(tree) = e["fieldsV1"].as_object() {
                decode(tree, &mut Vec::new(), &mut fields);
            }
            Entry {
                manager: e["manager"].as_str().unwrap_or_default().to_string(),
                operation: e["operation"].as_str().unwrap_or("Update").to_string(),
                subresource: e["subresource"].as_str().map(str::to_string),
                api_version: e["apiVersion"].as_str().unwrap_or_default().to_string(),
                time: e["time"].as_str().unwrap_or_default().to_string(),
                fields,
            }
        })
        .collect()
}

fn decode(tree: &Map<String, Value>, prefix: &mut FieldPath, out: &mut FieldSet) {
    for (key, child) in tree {
        if key == "." {
            out.insert(prefix.clone());
            continue;
        }
        prefix.push(key.clone());
        match child.as_object() {
            Some(map) if !map.is_empty() => decode(map, prefix, out),
            _ => {
                out.insert(prefix.clone());
            }
        }
        prefix.pop();
    }
}

fn encode(fields: &FieldSet) -> Value {
    let mut root = Value::Object(Map::new());
    for path in fields {
        let mut cur = &mut root;
        for elem in path {
            let Some(map) = cur.as_object_mut() else {
                break;
            };
            cur = map
                .entry(elem.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    for path in fields {
        if let Some(map) = get_tree_mut(&mut root, path).and_then(Value::as_object_mut)
            && map.keys().any(|k| k != ".")
        {
            map.insert(".".into(), Value::Object(Map::new()));
        }
    }
    root
}

fn get_tree_mut<'a>(root: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = root;
    for elem in path {
        cur = cur.get_mut(elem.as_str())?;
    }
    Some(cur)
}

/// Writes entries (dropping empty ones) into `metadata.managedFields`.
pub(crate) fn write_entries(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": encode(&e.fields),
            });
            if let (Some(sub), Some(map)) = (&e.subresource, v.as_object_mut()) {
                map.insert("subresource".into(), sub.clone().into());
            }
            v
        })
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Who wrote and what time it is, for `managedFields`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Writer<'a> {
    pub manager: &'a str,
    pub scope: Scope,
    pub has_status: bool,
    pub api_version: &'a str,
    pub now: &'a str,
}

fn upsert(entries: &mut Vec<Entry>, w: &Writer<'_>, operation: &str, fields: FieldSet) {
    match entries
        .iter_mut()
        .find(|e| e.same_owner(w.manager, operation, w.scope))
    {
        Some(entry) => {
            if entry.fields != fields {
                entry.fields = fields;
                entry.time = w.now.to_string();
            }
        }
        None => entries.push(Entry {
            manager: w.manager.to_string(),
            operation: operation.to_string(),
            subresource: w.scope.subresource().map(str::to_string),
            api_version: w.api_version.to_string(),
            time: w.now.to_string(),
            fields,
        }),
    }
}

/// Records a non-apply write (create, update, patch): the writer takes ownership of every
/// field it changed, other managers lose those fields.
pub(crate) fn track_update(old: Option<&Value>, new: &mut Value, w: &Writer<'_>) {
    let mut entries = old.map(read_entries).unwrap_or_default();
    let empty = Value::Object(Map::new());
    let old_obj = old.unwrap_or(&empty);
    let old_scoped = scoped(old_obj, w.scope, w.has_status);
    let new_scoped = scoped(new, w.scope, w.has_status);
    let old_set = field_set(&old_scoped);
    let new_set = field_set(&new_scoped);
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| {
            let before = get_at(&old_scoped, p);
            if p.last().is_some_and(|l| l.starts_with("k:")) {
                before.is_none()
            } else {
                before != get_at(&new_scoped, p)
            }
        })
        .cloned()
        .collect();
    let removed: FieldSet = old_set.difference(&new_set).cloned().collect();
    let mut mine = entries
        .iter()
        .find(|e| e.same_owner(w.manager, "Update", w.scope))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for entry in &mut entries {
        if !entry.same_owner(w.manager, "Update", w.scope) {
            entry
                .fields
                .retain(|p| !changed.contains(p) && !removed.contains(p));
        }
    }
    mine.extend(changed);
    mine.retain(|p| !removed.contains(p));
    upsert(&mut entries, w, "Update", mine);
    entries.retain(|e| !e.fields.is_empty());
    write_entries(new, &entries);
}

/// A field another manager owns with a different value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Conflict {
    pub manager: String,
    pub path: String,
}

/// Server-side apply of `applied` onto `current`; returns the merged object with
/// `managedFields` updated, or the conflicts if `force` is false.
pub(crate) fn apply(
    current: &Value,
    applied: &Value,
    force: bool,
    w: &Writer<'_>,
) -> Result<Value, Vec<Conflict>> {
    let mut entries = read_entries(current);
    let applied_scoped = scoped(applied, w.scope, w.has_status);
    let current_scoped = scoped(current, w.scope, w.has_status);
    let new_set = field_set(&applied_scoped);

    let mut conflicts = Vec::new();
    for path in &new_set {
        if path.last().is_some_and(|l| l.starts_with("k:")) {
            continue;
        }
        for entry in &mut entries {
            if entry.manager == w.manager || !entry.fields.contains(path) {
                continue;
            }
            if get_at(&current_scoped, path) != get_at(&applied_scoped, path) {
                if force {
                    entry.fields.remove(path);
                } else {
                    conflicts.push(Conflict {
                        manager: entry.manager.clone(),
                        path: dotted(path),
                    });
                }
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }

    let old_set = entries
        .iter()
        .find(|e| e.same_owner(w.manager, "Apply", w.scope))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let mut obj = current.clone();
    for path in old_set.difference(&new_set) {
        let owned_elsewhere = entries.iter().any(|e| {
            !e.same_owner(w.manager, "Apply", w.scope)
                && e.fields.iter().any(|q| q.starts_with(path))
        });
        if !owned_elsewhere {
            remove_at(&mut obj, path);
        }
    }
    apply_merge(&mut obj, &applied_scoped, &mut Vec::new());
    upsert(&mut entries, w, "Apply", new_set);
    entries.retain(|e| !e.fields.is_empty());
    write_entries(&mut obj, &entries);
    Ok(obj)
}

/// `.spec.ports[port=80].nodePort`-style rendering of a path, for conflict messages.
fn dotted(path: &[String]) -> String {
    let mut out = String::new();
    for elem in path {
        if let Some(f) = elem.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = elem.strip_prefix("k:") {
            out.push('[');
            out.push_str(k);
            out.push(']');
        } else if let Some(v) = elem.strip_prefix("v:") {
            out.push('[');
            out.push_str(v);
            out.push(']');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2025-01-01T00:00:00Z";

    fn writer(manager: &str, scope: Scope) -> Writer<'_> {
        Writer {
            manager,
            scope,
            has_status: true,
            api_version: "v1",
            now: NOW,
        }
    }

    #[test]
    fn field_sets_round_trip_through_fields_v1() {
        let obj = json!({
            "metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
            "spec": {"ports": [{"port": 80, "name": "http"}], "type": "LoadBalancer"},
        });
        let set = field_set(&scoped(&obj, Scope::Main, true));
        assert!(set.contains(&vec![
            "f:metadata".into(),
            "f:finalizers".into(),
            "v:\"x\"".into()
        ]));
        assert!(set.contains(&vec![
            "f:spec".into(),
            "f:ports".into(),
            "k:{\"port\":80}".into()
        ]));
        let entry = Entry {
            manager: "m".into(),
            operation: "Apply".into(),
            subresource: None,
            api_version: "v1".into(),
            time: NOW.into(),
            fields: set.clone(),
        };
        let mut holder = json!({"metadata": {}});
        write_entries(&mut holder, &[entry]);
        assert_eq!(read_entries(&holder)[0].fields, set);
    }

    #[test]
    fn apply_removes_fields_the_manager_no_longer_applies() {
        let base = json!({"metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}});
        let first = apply(
            &base,
            &json!({"metadata": {"annotations": {"a": "1", "b": "2"}}}),
            false,
            &writer("ctl", Scope::Main),
        )
        .unwrap();
        assert_eq!(
            first["metadata"]["annotations"],
            json!({"a": "1", "b": "2"})
        );
        let second = apply(
            &first,
            &json!({"metadata": {"annotations": {"a": "1"}}}),
            false,
            &writer("ctl", Scope::Main),
        )
        .unwrap();
        assert_eq!(second["metadata"]["annotations"], json!({"a": "1"}));
        assert_eq!(second["spec"]["type"], "ClusterIP");
    }

    #[test]
    fn apply_conflicts_with_another_managers_field_unless_forced() {
        let mut obj = json!({"metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}});
        let old = obj.clone();
        obj["spec"]["type"] = json!("LoadBalancer");
        track_update(Some(&old), &mut obj, &writer("kubectl", Scope::Main));
        let applied = json!({"spec": {"type": "NodePort"}});
        let conflicts = apply(&obj, &applied, false, &writer("ctl", Scope::Main)).unwrap_err();
        assert_eq!(conflicts[0].manager, "kubectl");
        assert_eq!(conflicts[0].path, ".spec.type");
        let forced = apply(&obj, &applied, true, &writer("ctl", Scope::Main)).unwrap();
        assert_eq!(forced["spec"]["type"], "NodePort");
        let owners: Vec<String> = read_entries(&forced)
            .into_iter()
            .map(|e| e.manager)
            .collect();
        assert_eq!(owners, vec!["ctl".to_string()]);
    }

    #[test]
    fn status_apply_only_touches_status() {
        let obj = json!({"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        let applied = json!({
            "spec": {"type": "ClusterIP"},
            "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
        });
        let out = apply(&obj, &applied, true, &writer("ctl", Scope::Status)).unwrap();
        assert_eq!(out["spec"]["type"], "LoadBalancer");
        assert_eq!(out["status"]["loadBalancer"]["ingress"][0]["ip"], "1.2.3.4");
        assert_eq!(out["metadata"]["managedFields"][0]["subresource"], "status");
    }
}
