//! Generic objects, as JSON or as typed `k8s_openapi` values: create, get, list, edit,
//! delete, and waiting for a condition.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{KubeEmulator, MANAGER};
use crate::kube_api::error::{ApiError, EmulatorError};
use crate::kube_api::managed::Scope;
use crate::kube_api::resources::{ResourceInfo, ResourceType, info_for};
use crate::kube_api::server::lock;
use crate::kube_api::store::{DeleteOpts, WriteCtx};

pub(super) fn info_of(ty: ResourceType) -> Result<&'static ResourceInfo, EmulatorError> {
    info_for(ty).ok_or_else(|| {
        EmulatorError::Api(ApiError::new(
            404,
            "NotFound",
            format!("the emulator does not serve {}", ty.plural),
        ))
    })
}

/// The namespace to use for `info`: `None` for cluster-scoped kinds, else the given one,
/// the object's, or `default`.
pub(super) fn namespace_for(
    info: &ResourceInfo,
    given: Option<&str>,
    obj: Option<&Value>,
) -> Option<String> {
    if !info.namespaced {
        return None;
    }
    given
        .map(str::to_string)
        .or_else(|| {
            obj.and_then(|o| o["metadata"]["namespace"].as_str())
                .map(str::to_string)
        })
        .or_else(|| Some("default".to_string()))
}

pub(super) const WHOLE: WriteCtx<'static> = WriteCtx {
    scope: Scope::Whole,
    manager: MANAGER,
    dry_run: false,
};

impl KubeEmulator {
    /// Creates an object as JSON. `apiVersion`/`kind` are filled in when missing; the
    /// namespace defaults to the object's or `default`. Status is kept as given.
    pub fn create_value(
        &self,
        ty: ResourceType,
        namespace: Option<&str>,
        mut obj: Value,
    ) -> Result<Value, EmulatorError> {
        let info = info_of(ty)?;
        if let Some(map) = obj.as_object_mut() {
            map.entry("apiVersion")
                .or_insert_with(|| info.api_version().into());
            map.entry("kind").or_insert_with(|| info.kind.into());
        }
        let ns = namespace_for(info, namespace, Some(&obj));
        Ok(lock(&self.shared().store).create(info, ns.as_deref(), obj, &WHOLE)?)
    }

    /// Gets an object as JSON, `None` if absent.
    pub fn get_value(
        &self,
        ty: ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, EmulatorError> {
        let info = info_of(ty)?;
        let ns = namespace_for(info, namespace, None);
        match lock(&self.shared().store).get(info, ns.as_deref(), name) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code == 404 => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Lists objects as JSON; `namespace: None` lists all namespaces.
    pub fn list_values(
        &self,
        ty: ResourceType,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, EmulatorError> {
        let info = info_of(ty)?;
        let opts = crate::kube_api::store::ListOpts {
            filter: crate::kube_api::selector::Filter {
                namespace: namespace.filter(|_| info.namespaced).map(str::to_string),
                ..Default::default()
            },
            ..Default::default()
        };
        Ok(lock(&self.shared().store).list(info, &opts)?.items)
    }

    /// Edits an object in place (spec, metadata and status alike), with the same
    /// defaulting, validation and watch events as an API write. Removing the last
    /// finalizer of an object being deleted deletes it. The closure runs under the
    /// store lock, so it must not call back into the emulator.
    pub fn edit_value(
        &self,
        ty: ResourceType,
        namespace: Option<&str>,
        name: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Result<Value, EmulatorError> {
        let info = info_of(ty)?;
        let ns = namespace_for(info, namespace, None);
        let mut store = lock(&self.shared().store);
        let mut obj = store.get(info, ns.as_deref(), name)?;
        edit(&mut obj);
        Ok(store.replace(info, ns.as_deref(), name, obj, &WHOLE)?)
    }

    /// Deletes an object as `DELETE` would (finalizers hold it with a deletionTimestamp).
    /// Returns whether it existed.
    pub fn delete_value(
        &self,
        ty: ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<bool, EmulatorError> {
        let info = info_of(ty)?;
        let ns = namespace_for(info, namespace, None);
        match lock(&self.shared().store).delete(info, ns.as_deref(), name, &DeleteOpts::default()) {
            Ok(_) => Ok(true),
            Err(e) if e.code == 404 => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    // ---- typed objects ---------------------------------------------------------------

    /// Creates a typed object (namespace from its metadata, else `default`).
    pub fn create<K>(&self, obj: &K) -> Result<K, EmulatorError>
    where
        K: k8s_openapi::Resource + Serialize + DeserializeOwned,
    {
        let value = serde_json::to_value(obj)?;
        let out = self.create_value(ResourceType::of::<K>(), None, value)?;
        Ok(serde_json::from_value(out)?)
    }

    /// Gets a typed object; `namespace` is ignored for cluster-scoped kinds.
    pub fn get<K>(&self, namespace: Option<&str>, name: &str) -> Result<Option<K>, EmulatorError>
    where
        K: k8s_openapi::Resource + DeserializeOwned,
    {
        self.get_value(ResourceType::of::<K>(), namespace, name)?
            .map(serde_json::from_value)
            .transpose()
            .map_err(Into::into)
    }

    /// Lists typed objects; `namespace: None` lists all namespaces.
    pub fn list<K>(&self, namespace: Option<&str>) -> Result<Vec<K>, EmulatorError>
    where
        K: k8s_openapi::Resource + DeserializeOwned,
    {
        self.list_values(ResourceType::of::<K>(), namespace)?
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(Into::into))
            .collect()
    }

    /// Edits a typed object in place (see [`Self::edit_value`]; the closure must not call
    /// back into the emulator).
    pub fn edit<K>(
        &self,
        namespace: Option<&str>,
        name: &str,
        edit: impl FnOnce(&mut K),
    ) -> Result<K, EmulatorError>
    where
        K: k8s_openapi::Resource + Serialize + DeserializeOwned,
    {
        let mut failure = None;
        let out = self.edit_value(ResourceType::of::<K>(), namespace, name, |value| {
            match serde_json::from_value::<K>(value.clone()) {
                Ok(mut typed) => {
                    edit(&mut typed);
                    match serde_json::to_value(&typed) {
                        Ok(v) => *value = v,
                        Err(e) => failure = Some(e),
                    }
                }
                Err(e) => failure = Some(e),
            }
        });
        if let Some(err) = failure {
            return Err(err.into());
        }
        Ok(serde_json::from_value(out?)?)
    }

    /// Deletes a typed object (see [`Self::delete_value`]).
    pub fn delete<K>(&self, namespace: Option<&str>, name: &str) -> Result<bool, EmulatorError>
    where
        K: k8s_openapi::Resource,
    {
        self.delete_value(ResourceType::of::<K>(), namespace, name)
    }

    /// Waits until `done` holds for the object (`None` while absent), checking on every
    /// change; returns the object at that point, or [`EmulatorError::Timeout`].
    pub async fn wait_for<K>(
        &self,
        namespace: Option<&str>,
        name: &str,
        timeout: Duration,
        mut done: impl FnMut(Option<&K>) -> bool,
    ) -> Result<Option<K>, EmulatorError>
    where
        K: k8s_openapi::Resource + DeserializeOwned,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let info = info_of(ResourceType::of::<K>())?;
        let ns = namespace_for(info, namespace, None);
        loop {
            let (current, mut rx) = {
                let store = lock(&self.shared().store);
                (store.get(info, ns.as_deref(), name).ok(), store.subscribe())
            };
            let typed: Option<K> = current.map(serde_json::from_value).transpose()?;
            if done(typed.as_ref()) {
                return Ok(typed);
            }
            if tokio::time::timeout_at(deadline, rx.recv()).await.is_err() {
                return Err(EmulatorError::Timeout(format!(
                    "{} {}/{name} did not reach the expected state within {timeout:?}",
                    info.kind,
                    ns.unwrap_or_default()
                )));
            }
        }
    }
}
