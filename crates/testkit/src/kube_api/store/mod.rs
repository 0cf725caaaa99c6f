//! The object store: generic JSON objects keyed by (storage, namespace, name), one global
//! resourceVersion, a bounded event history for watch resumption, and a broadcast channel
//! that fans events out to open watches.
//!
//! All methods are synchronous and run under the emulator's store mutex; the broadcast
//! send happens under the same lock, so a watch that snapshots and subscribes while
//! holding it misses nothing and sees nothing twice.
//!
//! Where things live:
//!
//! - this module: the request/result types ([`Record`], [`ListOpts`], [`WatchStart`], ...),
//!   the [`Store`] itself, the resourceVersion counter, the event history and its
//!   broadcast fan-out, and the bootstrap of a fresh cluster;
//! - [`meta`]: helpers on an object's `metadata` and type meta, and the time/name helpers;
//! - [`read`]: `get`, `list` (selectors, paging, resourceVersion semantics) and `watch`
//!   (initial objects, history replay, `410 Expired`);
//! - [`write`]: create, replace and patch (all four patch flavours, server-side apply),
//!   generation and no-op detection, Service port/IP allocation;
//! - [`delete`]: finalizer-aware deletion, collection deletes and namespace cascades.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::error::ApiError;
use super::managed::Scope;
use super::resources::{ResourceInfo, ResourceType, info_for};
use super::selector::Filter;
use super::strategy::NODE_PORT_MIN;

mod delete;
mod meta;
mod read;
mod write;

pub(crate) use meta::now_time;
use meta::set_meta;

/// (storage bucket, namespace or "", name).
pub(crate) type Key = (&'static str, String, String);

/// Watch event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One committed change, in stored form.
#[derive(Debug)]
pub(crate) struct Record {
    pub storage: &'static str,
    pub event: EventType,
    pub object: Arc<Value>,
    /// The object before a modification (for selector transitions).
    pub prev: Option<Arc<Value>>,
    pub rv: u64,
}

/// Who is writing, to what part of the object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteCtx<'a> {
    pub scope: Scope,
    pub manager: &'a str,
    pub dry_run: bool,
}

/// Patch flavours, by content type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatchKind {
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json`
    Strategic,
    /// `application/json-patch+json`
    Json,
    /// `application/apply-patch+yaml`
    Apply { force: bool },
}

/// Options of a list request.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListOpts {
    pub filter: Filter,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub version_match: Option<String>,
}

/// One page of a list, in served form.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub items: Vec<Value>,
    pub resource_version: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

/// `DeleteOptions.preconditions` and `dryRun`.
#[derive(Clone, Debug, Default)]
pub(crate) struct DeleteOpts {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
}

/// Result of a delete.
#[derive(Debug)]
pub(crate) enum DeleteOutcome {
    /// Finalizers remain: the object now carries a deletionTimestamp.
    Pending(Value),
    /// The object is gone.
    Deleted(Value),
}

/// What a new watch starts from.
#[derive(Debug)]
pub(crate) struct WatchStart {
    /// Objects to send as synthetic ADDED events (stored form).
    pub initial: Vec<Arc<Value>>,
    /// History to replay (resume from a resourceVersion).
    pub replay: Vec<Arc<Record>>,
    /// Live events after `resource_version`.
    pub rx: broadcast::Receiver<Arc<Record>>,
    /// The store's resourceVersion at subscription.
    pub resource_version: u64,
}

/// The emulator's objects.
#[derive(Debug)]
pub(crate) struct Store {
    objects: BTreeMap<Key, Arc<Value>>,
    rv: u64,
    history: VecDeque<Arc<Record>>,
    history_limit: usize,
    compacted: u64,
    tx: broadcast::Sender<Arc<Record>>,
    next_port: u16,
    next_ip: u32,
}

impl Store {
    /// An empty store keeping at most `history_limit` events for watch resumption.
    pub fn new(history_limit: usize) -> Self {
        let (tx, _) = broadcast::channel(4096);
        Self {
            objects: BTreeMap::new(),
            rv: 0,
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted: 0,
            tx,
            next_port: NODE_PORT_MIN,
            next_ip: 10,
        }
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A live subscription to every committed change.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Record>> {
        self.tx.subscribe()
    }

    /// Forget all history: watches from any older resourceVersion get 410 Expired.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.rv;
    }

    fn key(info: &ResourceInfo, ns: Option<&str>, name: &str) -> Key {
        let ns = if info.namespaced {
            ns.unwrap_or_default().to_string()
        } else {
            String::new()
        };
        (info.storage, ns, name.to_string())
    }

    fn emit(
        &mut self,
        event: EventType,
        object: Arc<Value>,
        prev: Option<Arc<Value>>,
        storage: &'static str,
    ) {
        let record = Arc::new(Record {
            storage,
            event,
            object,
            prev,
            rv: self.rv,
        });
        self.history.push_back(Arc::clone(&record));
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        // No receivers is fine.
        let _ = self.tx.send(record);
    }

    fn bump(&mut self, obj: &mut Value) {
        self.rv += 1;
        set_meta(obj, "resourceVersion", Some(self.rv.to_string().into()));
    }

    /// Every stored object of one storage bucket, in key order.
    fn bucket(&self, storage: &'static str) -> impl Iterator<Item = (&Key, &Arc<Value>)> {
        let start: Key = (storage, String::new(), String::new());
        self.objects
            .range(start..)
            .take_while(move |(key, _)| key.0 == storage)
    }

    /// Seeds the namespaces and the `kubernetes` Service of a fresh cluster.
    pub fn bootstrap(
        &mut self,
        kube_system_uid: &str,
        kubernetes_service: bool,
    ) -> Result<(), ApiError> {
        let ctx = WriteCtx {
            scope: Scope::Whole,
            manager: "kube-apiserver",
            dry_run: false,
        };
        let namespaces = info_for(ResourceType::NAMESPACES)
            .ok_or_else(|| ApiError::internal("namespaces not served"))?;
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": { "name": ns },
                "spec": { "finalizers": ["kubernetes"] },
                "status": { "phase": "Active" },
            });
            self.create(namespaces, None, obj, &ctx)?;
        }
        // kube-system's UID is a well-known cluster identity; make it the configured one.
        let key: Key = ("namespaces", String::new(), "kube-system".into());
        if let Some(obj) = self.objects.get(&key) {
            let mut obj = (**obj).clone();
            set_meta(&mut obj, "uid", Some(kube_system_uid.into()));
            self.objects.insert(key, Arc::new(obj));
        }
        if kubernetes_service {
            let services = info_for(ResourceType::SERVICES)
                .ok_or_else(|| ApiError::internal("services not served"))?;
            let svc = json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {
                    "name": "kubernetes",
                    "labels": { "component": "apiserver", "provider": "kubernetes" },
                },
                "spec": {
                    "type": "ClusterIP",
                    "clusterIP": "10.96.0.1",
                    "ports": [{ "name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443 }],
                },
            });
            self.create(services, Some("default"), svc, &ctx)?;
        }
        self.compact();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
