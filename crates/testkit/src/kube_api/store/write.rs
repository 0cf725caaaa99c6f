//! Writes: create, replace (PUT) and patch (merge, strategic merge, JSON patch,
//! server-side apply), with optimistic concurrency, `generateName`, generation bumps on spec
//! changes, no-op detection, `managedFields` tracking and Service port/IP allocation.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::meta::{
    check_type_meta, finalizers, meta, meta_mut, now_time, random_suffix, set_meta, spec_changed,
};
use super::{EventType, Key, PatchKind, Store, WriteCtx};
use crate::kube_api::error::ApiError;
use crate::kube_api::managed::{self, Scope, Writer};
use crate::kube_api::merge;
use crate::kube_api::resources::{ResourceInfo, ResourceType};
use crate::kube_api::strategy::{self, Allocator};

pub(super) enum Managed {
    /// Track a non-apply write.
    Track,
    /// `managedFields` already computed (server-side apply).
    Done,
}

impl Store {
    /// Allocations used by Services other than `except` (only scanned for Service writes).
    fn allocator(&self, info: &ResourceInfo, except: Option<&Key>) -> Allocator {
        let mut used_ports = BTreeSet::new();
        let mut used_ips = BTreeSet::new();
        let start: Key = ("services", String::new(), String::new());
        let services = self
            .objects
            .range(start..)
            .take_while(|(key, _)| info.ty == ResourceType::SERVICES && key.0 == "services");
        for (key, svc) in services {
            if Some(key) == except {
                continue;
            }
            let spec = &svc["spec"];
            for port in spec["ports"].as_array().into_iter().flatten() {
                if let Some(np) = port["nodePort"].as_i64() {
                    used_ports.insert(np);
                }
            }
            if let Some(h) = spec["healthCheckNodePort"].as_i64() {
                used_ports.insert(h);
            }
            if let Some(ip) = spec["clusterIP"].as_str()
                && ip != "None"
                && !ip.is_empty()
            {
                used_ips.insert(ip.to_string());
            }
        }
        Allocator {
            used_ports,
            used_ips,
            next_port: self.next_port,
            next_ip: self.next_ip,
        }
    }

    fn commit_allocator(&mut self, alloc: &Allocator) {
        self.next_port = alloc.next_port;
        self.next_ip = alloc.next_ip;
    }

    fn namespace_state(&self, ns: &str) -> Option<bool> {
        self.objects
            .get(&("namespaces", String::new(), ns.to_string()))
            .map(|n| n["metadata"]["deletionTimestamp"].is_null())
    }

    /// Creates an object (served form). With `Scope::Whole` the given status is kept.
    pub fn create(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        obj: Value,
        ctx: &WriteCtx<'_>,
    ) -> Result<Value, ApiError> {
        check_type_meta(info, &obj)?;
        self.create_inner(info, ns, obj, ctx, Managed::Track)
    }

    fn create_inner(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        mut obj: Value,
        ctx: &WriteCtx<'_>,
        managed: Managed,
    ) -> Result<Value, ApiError> {
        if info.namespaced {
            let Some(ns) = ns else {
                return Err(ApiError::method_not_allowed("POST"));
            };
            if let Some(body_ns) = meta(&obj, "namespace")
                && !body_ns.is_empty()
                && body_ns != ns
            {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            match self.namespace_state(ns) {
                None => return Err(ApiError::namespace_not_found(ns)),
                Some(false) => {
                    return Err(ApiError::new(
                        403,
                        "Forbidden",
                        format!(
                            "{} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                            info.group_resource()
                        ),
                    ));
                }
                Some(true) => {}
            }
            set_meta(&mut obj, "namespace", Some(ns.into()));
        } else {
            set_meta(&mut obj, "namespace", None);
        }
        let mut name = meta(&obj, "name").unwrap_or_default();
        if name.is_empty() {
            let Some(prefix) = meta(&obj, "generateName").filter(|g| !g.is_empty()) else {
                return Err(ApiError::invalid(
                    info,
                    "",
                    &["metadata.name: Required value: name or generateName is required".into()],
                ));
            };
            loop {
                name = format!("{prefix}{}", random_suffix());
                if !self.objects.contains_key(&Self::key(info, ns, &name)) {
                    break;
                }
            }
            set_meta(&mut obj, "name", Some(name.clone().into()));
        }
        if meta(&obj, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
            return Err(ApiError::internal(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        let key = Self::key(info, ns, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(info, &name));
        }
        if let Some(m) = meta_mut(&mut obj) {
            m.insert("uid".into(), uuid::Uuid::new_v4().to_string().into());
            m.insert("creationTimestamp".into(), now_time().into());
            m.insert("generation".into(), 1.into());
            for k in [
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "selfLink",
            ] {
                m.remove(k);
            }
            if matches!(managed, Managed::Track) {
                m.remove("managedFields");
            }
        }
        // Ownership covers what the writer sent, not what the server allocated.
        let mut submitted = obj.clone();
        merge::normalize(&mut submitted);
        let mut alloc = self.allocator(info, None);
        let causes =
            strategy::prepare_create(info, &mut obj, ctx.scope == Scope::Whole, &mut alloc);
        if !causes.is_empty() {
            return Err(ApiError::invalid(info, &name, &causes));
        }
        merge::normalize(&mut obj);
        if matches!(managed, Managed::Track) {
            let api_version = info.api_version();
            let now = now_time();
            managed::track_update(
                None,
                &mut submitted,
                &Writer {
                    manager: ctx.manager,
                    scope: ctx.scope,
                    has_status: info.status,
                    api_version: &api_version,
                    now: &now,
                },
            );
            set_meta(
                &mut obj,
                "managedFields",
                submitted["metadata"].get("managedFields").cloned(),
            );
        }
        if ctx.dry_run {
            return Ok(obj);
        }
        self.commit_allocator(&alloc);
        self.bump(&mut obj);
        let stored = Arc::new(info.decode(obj));
        let served = info.encode(&stored);
        self.objects.insert(key, Arc::clone(&stored));
        self.emit(EventType::Added, stored, None, info.storage);
        Ok(served)
    }

    /// Replaces an object (PUT), honouring `metadata.resourceVersion` as a precondition.
    pub fn replace(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        body: Value,
        ctx: &WriteCtx<'_>,
    ) -> Result<Value, ApiError> {
        check_type_meta(info, &body)?;
        self.write_existing(info, ns, name, ctx, |_| Ok((body, Managed::Track)))
    }

    /// Patches an object; returns the result and whether it was created (apply only).
    pub fn patch(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        kind: PatchKind,
        body: &Value,
        ctx: &WriteCtx<'_>,
    ) -> Result<(Value, bool), ApiError> {
        let api_version = info.api_version();
        let now = now_time();
        let writer = Writer {
            manager: ctx.manager,
            scope: ctx.scope,
            has_status: info.status,
            api_version: &api_version,
            now: &now,
        };
        if let PatchKind::Apply { force } = kind {
            check_type_meta(info, body)?;
            if let Some(body_name) = meta(body, "name")
                && body_name != name
            {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                )));
            }
            if !self.objects.contains_key(&Self::key(info, ns, name)) {
                if ctx.scope == Scope::Status {
                    return Err(ApiError::not_found(info, name));
                }
                let skeleton = json!({
                    "apiVersion": api_version,
                    "kind": info.kind,
                    "metadata": { "name": name },
                });
                let obj = managed::apply(&skeleton, body, force, &writer)
                    .map_err(|c| conflict_error(info, name, &c))?;
                return self
                    .create_inner(info, ns, obj, ctx, Managed::Done)
                    .map(|v| (v, true));
            }
            let rv_pre = meta(body, "resourceVersion");
            return self
                .write_existing(info, ns, name, ctx, |old| {
                    if let Some(rv) = &rv_pre
                        && meta(old, "resourceVersion").as_ref() != Some(rv)
                    {
                        return Err(ApiError::modified(info, name));
                    }
                    managed::apply(old, body, force, &writer)
                        .map(|v| (v, Managed::Done))
                        .map_err(|c| conflict_error(info, name, &c))
                })
                .map(|v| (v, false));
        }
        self.write_existing(info, ns, name, ctx, |old| {
            let mut new = old.clone();
            match kind {
                PatchKind::Merge => {
                    if !body.is_object() {
                        return Err(ApiError::bad_request("merge patch must be a JSON object"));
                    }
                    merge::merge_patch(&mut new, body);
                }
                PatchKind::Strategic => merge::strategic_merge(&mut new, body)?,
                PatchKind::Json => merge::json_patch(&mut new, body)?,
                PatchKind::Apply { .. } => {}
            }
            Ok((new, Managed::Track))
        })
        .map(|v| (v, false))
    }

    fn write_existing(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        ctx: &WriteCtx<'_>,
        compute: impl FnOnce(&Value) -> Result<(Value, Managed), ApiError>,
    ) -> Result<Value, ApiError> {
        let key = Self::key(info, ns, name);
        let Some(old_stored) = self.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(info, name));
        };
        let old = info.encode(&old_stored);
        let (candidate, managed) = compute(&old)?;
        if !candidate.is_object() {
            return Err(ApiError::bad_request(
                "the patched object must be a JSON object",
            ));
        }
        let old_rv = meta(&old, "resourceVersion");
        if let Some(rv) = meta(&candidate, "resourceVersion")
            && !rv.is_empty()
            && Some(&rv) != old_rv.as_ref()
        {
            return Err(ApiError::modified(info, name));
        }
        if let Some(n) = meta(&candidate, "name")
            && n != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        if info.namespaced
            && let Some(n) = meta(&candidate, "namespace")
            && Some(n.as_str()) != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }

        let mut new = match ctx.scope {
            Scope::Main if info.status => {
                let mut n = candidate.clone();
                if let Some(map) = n.as_object_mut() {
                    match old.get("status") {
                        Some(s) => map.insert("status".into(), s.clone()),
                        None => map.remove("status"),
                    };
                }
                n
            }
            Scope::Status => {
                let mut n = old.clone();
                if let Some(map) = n.as_object_mut() {
                    match candidate.get("status") {
                        Some(s) => map.insert("status".into(), s.clone()),
                        None => map.remove("status"),
                    };
                }
                n
            }
            Scope::Main | Scope::Whole => candidate.clone(),
        };
        for field in [
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "name",
            "namespace",
            "resourceVersion",
        ] {
            set_meta(&mut new, field, old["metadata"].get(field).cloned());
        }
        let managed_fields = match managed {
            Managed::Track => old["metadata"].get("managedFields").cloned(),
            Managed::Done => candidate["metadata"].get("managedFields").cloned(),
        };
        set_meta(&mut new, "managedFields", managed_fields);
        if let Some(map) = new.as_object_mut() {
            map.insert("apiVersion".into(), old["apiVersion"].clone());
            map.insert("kind".into(), old["kind"].clone());
        }

        let deleting = !old["metadata"]["deletionTimestamp"].is_null();
        if deleting {
            let before = finalizers(&old);
            let added: Vec<String> = finalizers(&new)
                .into_iter()
                .filter(|f| !before.contains(f))
                .collect();
            if !added.is_empty() {
                return Err(ApiError::invalid(
                    info,
                    name,
                    &[format!(
                        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                    )],
                ));
            }
        }

        let mut alloc = self.allocator(info, Some(&key));
        let causes = strategy::prepare_update(info, &old, &mut new, &mut alloc);
        if !causes.is_empty() {
            return Err(ApiError::invalid(info, name, &causes));
        }
        merge::normalize(&mut new);
        if matches!(managed, Managed::Track) {
            let api_version = info.api_version();
            let now = now_time();
            managed::track_update(
                Some(&old),
                &mut new,
                &Writer {
                    manager: ctx.manager,
                    scope: ctx.scope,
                    has_status: info.status,
                    api_version: &api_version,
                    now: &now,
                },
            );
        }
        if spec_changed(&old, &new) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            set_meta(&mut new, "generation", Some(generation.into()));
        }
        if new == old || ctx.dry_run {
            return Ok(new);
        }
        self.commit_allocator(&alloc);
        self.bump(&mut new);
        let stored = Arc::new(info.decode(new));
        let served = info.encode(&stored);
        if deleting && finalizers(&stored).is_empty() {
            self.objects.remove(&key);
            self.emit(EventType::Deleted, stored, Some(old_stored), info.storage);
        } else {
            self.objects.insert(key, Arc::clone(&stored));
            self.emit(EventType::Modified, stored, Some(old_stored), info.storage);
        }
        Ok(served)
    }
}

fn conflict_error(info: &ResourceInfo, name: &str, conflicts: &[managed::Conflict]) -> ApiError {
    let list: Vec<String> = conflicts
        .iter()
        .map(|c| format!("conflict with \"{}\": {}", c.manager, c.path))
        .collect();
    let mut err = ApiError::conflict(info, name, "");
    err.message = format!(
        "Apply failed with {} conflict{}: {}",
        conflicts.len(),
        if conflicts.len() == 1 { "" } else { "s" },
        list.join(", ")
    );
    err
}
