//! [`KubeEmulator`]: start the server and drive it from tests.
//!
//! Where things live: this module starts and stops the server and holds its address and
//! kubeconfig; the controls tests use are grouped by concern:
//!
//! - `objects`: generic objects, as JSON or as typed `k8s_openapi` values (create, get,
//!   list, edit, delete, wait for a condition);
//! - `cluster`: Nodes, Services and Events, the kinds kks-lb tests seed and read most;
//! - `control`: faults, dropped watches, history compaction and the audit log.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch as watch_channel};

use super::error::EmulatorError;
use super::faults::Faults;
use super::server::{self, Shared, lock};
use super::store::Store;

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

mod cluster;
mod control;
mod objects;

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
}
