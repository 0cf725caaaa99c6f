//! [`KubeEmulator`]: start the server and drive it from tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::events::v1::Event;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch as watch_channel};

use super::error::{ApiError, EmulatorError};
use super::faults::{AuditEntry, Fault, Faults};
use super::managed::Scope;
use super::resources::{ResourceInfo, ResourceType, info_for};
use super::server::{self, Shared, lock};
use super::store::{DeleteOpts, Store, WriteCtx, now_time};

/// Field manager recorded for writes made through the handle.
const MANAGER: &str = "kks-lb-kube-emulator";

/// Emulator settings; [`EmulatorConfig::default`] suits tests.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Address to listen on (default `127.0.0.1:0`, a free port).
    pub listen: SocketAddr,
    /// How many change events are kept for watch resumption; a watch from an older
    /// resourceVersion gets `410 Expired` (default 10 000).
    pub history_limit: usize,
    /// How often watches that allow bookmarks get a BOOKMARK (default 1 s).
    pub bookmark_interval: Duration,
    /// UID of the `kube-system` Namespace (random if `None`).
    pub kube_system_uid: Option<String>,
    /// Create the `default/kubernetes` ClusterIP Service, as a real cluster has (default true).
    pub kubernetes_service: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(1),
            kube_system_uid: None,
            kubernetes_service: true,
        }
    }
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    kube_system_uid: String,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
}

impl Inner {
    fn stop(&self) {
        self.shared.kill.send_modify(|g| *g += 1);
        if let Some(tx) = lock(&self.shutdown).take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running Kubernetes API emulator and the controls tests use on it.
///
/// Cloning shares the same server; the server stops when the last clone is dropped
/// (or on [`KubeEmulator::shutdown`]).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use kks_lb_testkit::kube_api::{Fault, KubeEmulator};
/// let emu = KubeEmulator::start().await?;
/// emu.add_node("node-1", "10.0.0.11")?;
/// // In a test: kube::Client::try_from(kube::Config::new(emu.url().parse()?))?
/// emu.inject(Fault::error("PATCH", "/status", 409).times(1));
/// emu.drop_watches();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct KubeEmulator {
    inner: Arc<Inner>,
}

fn info_of(ty: ResourceType) -> Result<&'static ResourceInfo, EmulatorError> {
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
fn namespace_for(info: &ResourceInfo, given: Option<&str>, obj: Option<&Value>) -> Option<String> {
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

const WHOLE: WriteCtx<'static> = WriteCtx {
    scope: Scope::Whole,
    manager: MANAGER,
    dry_run: false,
};

impl KubeEmulator {
    /// Starts an emulator on a free port of 127.0.0.1.
    pub async fn start() -> Result<Self, EmulatorError> {
        Self::start_with(EmulatorConfig::default()).await
    }

    /// Starts an emulator with `config`.
    pub async fn start_with(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let kube_system_uid = config
            .kube_system_uid
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut store = Store::new(config.history_limit);
        store.bootstrap(&kube_system_uid, config.kubernetes_service)?;
        let (kill, _) = watch_channel::channel(0u64);
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            faults: Mutex::new(Faults::default()),
            audit: Mutex::new(Vec::new()),
            kill,
            active_watches: Arc::new(AtomicUsize::new(0)),
            bookmark_interval: config.bookmark_interval,
            server_address: addr.to_string(),
            webhook_routes: Mutex::new(HashMap::new()),
        });
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let app = server::router(Arc::clone(&shared));
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = shutdown_rx.await;
                })
                .await;
            if let Err(err) = served {
                tracing::warn!(%err, "kube emulator server stopped");
            }
        });
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                addr,
                kube_system_uid,
                shutdown: Mutex::new(Some(shutdown_tx)),
            }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Makes the webhook Service `namespace/name` (a `clientConfig.service` of a
    /// `ValidatingWebhookConfiguration`) reachable at `addr`: the emulator calls
    /// `https://NAME.NAMESPACE.svc/PATH` resolved to `addr`, verifying the certificate for that
    /// name with the `caBundle`.
    pub fn route_webhook_service(&self, namespace: &str, name: &str, addr: SocketAddr) {
        lock(&self.shared().webhook_routes).insert(format!("{namespace}/{name}"), addr);
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`; `kube::Config::new(url.parse()?)` works with it.
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// A kubeconfig (context `kks-lb-emulator`, namespace `default`) pointing at this server.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: kks-lb-emulator\n  cluster:\n    server: {url}\n\
             users:\n\
             - name: kks-lb-emulator\n  user: {{}}\n\
             contexts:\n\
             - name: kks-lb-emulator\n  context:\n    cluster: kks-lb-emulator\n    user: kks-lb-emulator\n    namespace: default\n\
             current-context: kks-lb-emulator\n",
            url = self.url()
        )
    }

    /// Writes [`Self::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), EmulatorError> {
        std::fs::write(path, self.kubeconfig_yaml())?;
        Ok(())
    }

    /// UID of the `kube-system` Namespace.
    pub fn kube_system_uid(&self) -> &str {
        &self.inner.kube_system_uid
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        lock(&self.shared().store).resource_version()
    }

    /// Stops serving and drops every open watch.
    pub fn shutdown(&self) {
        self.inner.stop();
    }

    // ---- generic objects -------------------------------------------------------------

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
        let opts = super::store::ListOpts {
            filter: super::selector::Filter {
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

    // ---- nodes, services, events -----------------------------------------------------

    /// Adds a Ready Node with an `InternalIP` address, a hostname label and an OpenStack
    /// `providerID`.
    pub fn add_node(&self, name: &str, internal_ip: &str) -> Result<Node, EmulatorError> {
        let now = now_time();
        let node = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            },
            "spec": { "providerID": format!("openstack:///{}", uuid::Uuid::new_v4()) },
            "status": {
                "addresses": [
                    { "type": "InternalIP", "address": internal_ip },
                    { "type": "Hostname", "address": name },
                ],
                "conditions": [{
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }],
            },
        });
        let out = self.create_value(ResourceType::NODES, None, node)?;
        Ok(serde_json::from_value(out)?)
    }

    /// Removes a Node; returns whether it existed.
    pub fn remove_node(&self, name: &str) -> Result<bool, EmulatorError> {
        self.delete_value(ResourceType::NODES, None, name)
    }

    /// Sets (`Some`) or removes (`None`) a label on a Node.
    pub fn label_node(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<Node, EmulatorError> {
        let out = self.edit_value(ResourceType::NODES, None, name, |node| {
            let Some(meta) = node.get_mut("metadata").and_then(Value::as_object_mut) else {
                return;
            };
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(labels) = labels.as_object_mut() {
                match value {
                    Some(v) => {
                        labels.insert(key.to_string(), v.into());
                    }
                    None => {
                        labels.remove(key);
                    }
                }
            }
        })?;
        Ok(serde_json::from_value(out)?)
    }

    /// Sets a Node's `Ready` condition.
    pub fn set_node_ready(&self, name: &str, ready: bool) -> Result<Node, EmulatorError> {
        let now = now_time();
        let out = self.edit_value(ResourceType::NODES, None, name, |node| {
            let cond = json!({
                "type": "Ready",
                "status": if ready { "True" } else { "False" },
                "reason": if ready { "KubeletReady" } else { "KubeletNotReady" },
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            });
            let Some(status) = node.get_mut("status").and_then(Value::as_object_mut) else {
                return;
            };
            let conditions = status.entry("conditions").or_insert_with(|| json!([]));
            if let Some(list) = conditions.as_array_mut() {
                list.retain(|c| c["type"] != "Ready");
                list.push(cond);
            }
        })?;
        Ok(serde_json::from_value(out)?)
    }

    /// Creates a Service (status kept as given; defaults and NodePorts allocated).
    pub fn create_service(&self, svc: &Service) -> Result<Service, EmulatorError> {
        self.create(svc)
    }

    /// Gets a Service.
    pub fn get_service(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Service>, EmulatorError> {
        self.get(Some(namespace), name)
    }

    /// Edits a Service in place (spec, metadata and status).
    pub fn edit_service(
        &self,
        namespace: &str,
        name: &str,
        edit: impl FnOnce(&mut Service),
    ) -> Result<Service, EmulatorError> {
        self.edit(Some(namespace), name, edit)
    }

    /// events.k8s.io/v1 Events (which include core/v1 Events), in one namespace or all.
    pub fn events(&self, namespace: Option<&str>) -> Result<Vec<Event>, EmulatorError> {
        self.list(namespace)
    }

    /// Events whose `regarding` object has this name, in one namespace.
    pub fn events_for(&self, namespace: &str, name: &str) -> Result<Vec<Event>, EmulatorError> {
        Ok(self
            .events(Some(namespace))?
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect())
    }

    // ---- faults, watches, audit --------------------------------------------------------

    /// Adds a fault rule (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared().faults).add(fault);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.shared().faults).clear();
    }

    /// Aborts every open watch connection (clients see the connection break and re-watch
    /// from their last resourceVersion).
    pub fn drop_watches(&self) {
        self.shared().kill.send_modify(|g| *g += 1);
    }

    /// Number of watch streams currently open.
    pub fn active_watches(&self) -> usize {
        self.shared().active_watches.load(Ordering::SeqCst)
    }

    /// Forgets the event history: later watches from any earlier resourceVersion get
    /// `410 Expired` and must re-list.
    pub fn compact_history(&self) {
        lock(&self.shared().store).compact();
    }

    /// Every request served so far, oldest first.
    pub fn audit_log(&self) -> Vec<AuditEntry> {
        lock(&self.shared().audit).clone()
    }

    /// Clears the audit log.
    pub fn clear_audit_log(&self) {
        lock(&self.shared().audit).clear();
    }

    /// Number of logged requests with this method (`*` for any) whose `path?query`
    /// contains `path_contains`.
    pub fn count_requests(&self, method: &str, path_contains: &str) -> usize {
        lock(&self.shared().audit)
            .iter()
            .filter(|e| method == "*" || e.method.eq_ignore_ascii_case(method))
            .filter(|e| {
                let target = if e.query.is_empty() {
                    e.path.clone()
                } else {
                    format!("{}?{}", e.path, e.query)
                };
                target.contains(path_contains)
            })
            .count()
    }
}
