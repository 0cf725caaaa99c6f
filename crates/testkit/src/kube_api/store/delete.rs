//! Deletes: finalizer-aware deletion with preconditions and `dryRun`, collection deletes,
//! and the cascade that empties a deleted namespace.

use std::sync::Arc;

use serde_json::Value;

use super::meta::{finalizers, meta, now_time, set_meta};
use super::{DeleteOpts, DeleteOutcome, EventType, Key, Store};
use crate::kube_api::error::ApiError;
use crate::kube_api::resources::{ResourceInfo, ResourceType};
use crate::kube_api::selector::Filter;

impl Store {
    /// Deletes an object: marks it for deletion while finalizers remain, else removes it.
    pub fn delete(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<DeleteOutcome, ApiError> {
        let key = Self::key(info, ns, name);
        let Some(old_stored) = self.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(info, name));
        };
        let old = info.encode(&old_stored);
        if let Some(uid) = &opts.uid
            && meta(&old, "uid").as_ref() != Some(uid)
        {
            return Err(ApiError::conflict(
                info,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta(&old, "uid").unwrap_or_default()
                ),
            ));
        }
        if let Some(rv) = &opts.resource_version
            && meta(&old, "resourceVersion").as_ref() != Some(rv)
        {
            return Err(ApiError::conflict(
                info,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    meta(&old, "resourceVersion").unwrap_or_default()
                ),
            ));
        }
        if !finalizers(&old).is_empty() {
            if !old["metadata"]["deletionTimestamp"].is_null() || opts.dry_run {
                return Ok(DeleteOutcome::Pending(old));
            }
            let mut new = old.clone();
            set_meta(&mut new, "deletionTimestamp", Some(now_time().into()));
            set_meta(&mut new, "deletionGracePeriodSeconds", Some(0.into()));
            self.bump(&mut new);
            let stored = Arc::new(info.decode(new));
            let served = info.encode(&stored);
            self.objects.insert(key, Arc::clone(&stored));
            self.emit(EventType::Modified, stored, Some(old_stored), info.storage);
            return Ok(DeleteOutcome::Pending(served));
        }
        if opts.dry_run {
            return Ok(DeleteOutcome::Deleted(old));
        }
        let mut gone = old;
        self.bump(&mut gone);
        let stored = Arc::new(info.decode(gone));
        let served = info.encode(&stored);
        self.objects.remove(&key);
        self.emit(EventType::Deleted, stored, None, info.storage);
        if info.ty == ResourceType::NAMESPACES {
            self.delete_namespace_contents(name);
        }
        Ok(DeleteOutcome::Deleted(served))
    }

    fn delete_namespace_contents(&mut self, ns: &str) {
        let keys: Vec<Key> = self
            .objects
            .keys()
            .filter(|(_, kns, _)| kns == ns)
            .cloned()
            .collect();
        for (storage, kns, name) in keys {
            let Some(info) = crate::kube_api::resources::RESOURCES
                .iter()
                .find(|r| r.storage == storage)
            else {
                continue;
            };
            // Objects with finalizers stay, marked for deletion, like a stuck namespace.
            let _ = self.delete(info, Some(&kns), &name, &DeleteOpts::default());
        }
    }

    /// Deletes every selected object; returns the ones deleted or marked.
    pub fn delete_collection(
        &mut self,
        info: &ResourceInfo,
        filter: &Filter,
        dry_run: bool,
    ) -> Vec<Value> {
        let targets: Vec<(Option<String>, String)> = self
            .objects
            .iter()
            .filter(|((s, _, _), obj)| *s == info.storage && filter.matches(&info.encode(obj)))
            .map(|((_, ns, name), _)| ((!ns.is_empty()).then(|| ns.clone()), name.clone()))
            .collect();
        let opts = DeleteOpts {
            dry_run,
            ..DeleteOpts::default()
        };
        targets
            .into_iter()
            .filter_map(|(ns, name)| self.delete(info, ns.as_deref(), &name, &opts).ok())
            .map(|outcome| match outcome {
                DeleteOutcome::Pending(v) | DeleteOutcome::Deleted(v) => v,
            })
            .collect()
    }
}
