//! Wiring: configuration → clients → (leader election) → kube-runtime `Controller` on
//! Services, with node changes fanned out to every Service, metrics and health probes.
//!
//! - [`run`] is the binary's entry point: reads `cloud.conf`, builds the Kubernetes and
//!   OpenStack clients, resolves the cluster id, then calls [`run_with`].
//! - [`run_with`] takes ready clients and resolved [`Settings`]; the embedded demo and the
//!   end-to-end tests call it with emulator clients.
//!
//! While leading, one `Controller` reconciles Services ([`crate::reconcile`]) with at most
//! `concurrency` reconciles working at a time (never two for one Service; a reconcile that
//! waits for its load balancer to leave `PENDING_*` does not count, and up to 256 are in
//! flight, working or waiting). A node cache (a reflector
//! on Nodes) feeds `desired`; whenever a node changes in a way that can change members (added,
//! removed, labels, addresses, taints), every Service is scheduled, coalesced by the runtime's
//! scheduler. The trigger comes from the same stream that updates the node cache, after the
//! update, so a reconcile never reads an older node list than the change that woke it.

use std::collections::HashMap;
use std::future::ready;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use kks_lb_adapter::{Executor, OpenStackClient};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{self, Controller};
use kube::runtime::reflector;
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Client, ResourceExt};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::cloud_config::{self, CloudConfig};
use crate::config::{self, ConfigError, ControllerArgs, Settings};
use crate::http::{self, Health};
use crate::leader::{LeaderElector, LeaderError};
use crate::metrics::Metrics;
use crate::reconcile::{Context, NodeCache, NodeSignals, error_policy, reconcile};
use crate::status::node_digest;

/// Why the controller could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(#[source] ConfigError),
    /// The kubeconfig cannot be loaded.
    #[error("cannot load the Kubernetes client configuration: {0}")]
    KubeConfig(String),
    /// The Kubernetes client cannot be built.
    #[error("cannot build the Kubernetes client: {0}")]
    KubeClient(#[source] kube::Error),
    /// The cluster id (the kube-system namespace's UID) cannot be read.
    #[error("cannot read the kube-system namespace for the cluster id (or pass --cluster-id): {0}")]
    ClusterId(#[source] kube::Error),
    /// The kube-system namespace has no UID.
    #[error("the kube-system namespace has no UID; pass --cluster-id")]
    NoClusterId,
    /// The OpenStack session cannot be opened.
    #[error("cannot connect to OpenStack: {0}")]
    OpenStack(#[source] kks_lb_adapter::Error),
    /// Leader election failed permanently (e.g. no RBAC on Leases).
    #[error("leader election: {0}")]
    Leader(#[source] LeaderError),
    /// The metrics endpoint cannot be served.
    #[error("cannot serve metrics: {0}")]
    Metrics(#[source] std::io::Error),
    /// The validating webhook cannot be served.
    #[error("cannot serve the webhook: {0}")]
    Webhook(#[source] crate::webhook::server::WebhookError),
}

impl RunError {
    /// A static PascalCase name for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            RunError::Config(e) => e.reason(),
            RunError::KubeConfig(_) => "KubeConfigInvalid",
            RunError::KubeClient(_) => "KubeClientFailed",
            RunError::ClusterId(_) | RunError::NoClusterId => "ClusterIdUnavailable",
            RunError::OpenStack(e) => e.reason(),
            RunError::Leader(e) => e.reason(),
            RunError::Metrics(_) => "MetricsUnavailable",
            RunError::Webhook(_) => "WebhookUnavailable",
        }
    }
}

/// Runs the controller from its flags until `shutdown` fires.
///
/// Reads `--cloud-config` (warnings for unknown keys are logged), builds the Kubernetes
/// client (`--kubeconfig`, else in-cluster or `$KUBECONFIG`), resolves the cluster id
/// (`--cluster-id`, else the UID of the `kube-system` namespace), opens the OpenStack
/// session, then [`run_with`]. With `[LoadBalancer] enabled = false` it reconciles nothing
/// and waits for `shutdown`.
///
/// # Errors
/// [`RunError`] naming what could not be set up; once running, only a permanent
/// leader-election failure ends it early.
pub async fn run(args: ControllerArgs, shutdown: CancellationToken) -> Result<(), RunError> {
    let env = |k: &str| std::env::var(k).ok();
    let cloud = match &args.cloud_config {
        Some(path) => {
            let text = tokio::fs::read_to_string(path).await.map_err(|source| {
                RunError::Config(ConfigError::ReadCloudConfig {
                    path: path.clone(),
                    source,
                })
            })?;
            let file = path.display().to_string();
            let cc = cloud_config::parse(&text, &file)
                .map_err(|e| RunError::Config(ConfigError::CloudConfig(e)))?;
            for w in &cc.warnings {
                tracing::warn!(warning = %w, "cloud.conf");
            }
            Some((cc, file))
        }
        None => None,
    };
    let cloud_ref: Option<(&CloudConfig, &str)> = cloud.as_ref().map(|(c, f)| (c, f.as_str()));
    if cloud_ref.is_some_and(|(c, _)| !c.load_balancer.enabled) {
        tracing::warn!("[LoadBalancer] enabled = false: not reconciling any Service");
        shutdown.cancelled().await;
        return Ok(());
    }
    let kube = kube_client(&args).await?;
    let cluster_id = match &args.cluster_id {
        Some(id) => id.clone(),
        None => kube_system_uid(&kube).await?,
    };
    let identity = config::identity(&args, env);
    let settings =
        Settings::from_args(&args, cloud_ref, &cluster_id, &identity).map_err(RunError::Config)?;
    let session = config::session_config(cloud_ref, &args, env).map_err(RunError::Config)?;
    let cloud = OpenStackClient::connect(&session)
        .await
        .map_err(RunError::OpenStack)?;
    tracing::info!(
        cluster_name = %settings.cluster.cluster_name,
        cluster_id = %settings.cluster.cluster_id,
        identity = %settings.identity,
        "starting"
    );
    run_with(kube, cloud, settings, shutdown).await
}

/// A Kubernetes client from `--kubeconfig`, else the in-cluster or default configuration.
pub async fn kube_client(args: &ControllerArgs) -> Result<Client, RunError> {
    let cfg = match &args.kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| RunError::KubeConfig(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| RunError::KubeConfig(format!("{}: {e}", path.display())))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| RunError::KubeConfig(e.to_string()))?,
    };
    Client::try_from(cfg).map_err(RunError::KubeClient)
}

/// The UID of the `kube-system` Namespace: the cluster id when none is configured.
pub async fn kube_system_uid(kube: &Client) -> Result<String, RunError> {
    let ns = Api::<Namespace>::all(kube.clone())
        .get("kube-system")
        .await
        .map_err(RunError::ClusterId)?;
    ns.metadata
        .uid
        .filter(|u| !u.is_empty())
        .ok_or(RunError::NoClusterId)
}

/// Runs the controller with ready clients until `shutdown` fires.
///
/// Registers the metrics (and serves them with `/healthz` and `/readyz` when
/// `settings.metrics_addr` is set), attaches the OpenStack call metrics to `cloud`, then
/// reconciles: directly, or with `settings.leader_election` only while holding the Lease.
///
/// # Guarantees
/// - Only the leader reconciles. On losing the Lease, reconciles stop at once (in-flight
///   plans are dropped after the call in flight; the next leader continues from what
///   exists) and the replica competes again.
/// - On `shutdown`, no new reconcile starts; in-flight ones get `settings.shutdown_grace`
///   to finish; then the Lease is released so a follower takes over without waiting for
///   expiry.
///
/// # Errors
/// [`RunError::Metrics`] when the endpoint cannot be bound, [`RunError::Leader`] for a
/// permanent leader-election failure.
pub async fn run_with(
    kube: Client,
    cloud: OpenStackClient,
    settings: Settings,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    metrics.set_call_rate_limit(cloud.rate_limit());
    let cloud = cloud.with_recorder(metrics.call_recorder());
    let health = Health::default();
    let serving = shutdown.child_token();
    let server = match settings.metrics_addr {
        Some(addr) => {
            let (_, server) = http::bind(addr, Arc::new(registry), health.clone(), serving.clone())
                .await
                .map_err(RunError::Metrics)?;
            Some(tokio::spawn(server))
        }
        None => None,
    };
    // The webhook answers on every replica, leader or not.
    if let Some((addr, cert_dir)) = &settings.webhook {
        let config = crate::webhook::server::WebhookConfig {
            addr: *addr,
            cert_dir: cert_dir.clone(),
            reload_every: std::time::Duration::from_secs(10),
            policy: crate::webhook::Policy {
                load_balancer_class: settings.load_balancer_class.clone(),
                defaults: settings.defaults.clone(),
            },
        };
        let (_, webhook) = crate::webhook::server::bind(config, serving.clone())
            .await
            .map_err(RunError::Webhook)?;
        tokio::spawn(webhook);
    }
    match kks_lb_adapter::discover(&cloud, &settings.cluster.provider).await {
        Ok(caps) => tracing::info!(
            api_version = %caps.api_version,
            provider = %caps.provider,
            tags = caps.tags(),
            allowed_cidrs = caps.allowed_cidrs(),
            "OpenStack capabilities"
        ),
        Err(e) => tracing::warn!(
            error = &e as &dyn std::error::Error,
            "cannot discover OpenStack capabilities yet; reconciles will retry"
        ),
    }
    health.set_ready(true);
    let term = Term {
        kube: &kube,
        cloud: &cloud,
        settings: &settings,
        metrics: &metrics,
    };
    let result = match &settings.leader_election {
        None => {
            health.set_leader(true);
            metrics.set_leader(true);
            term.lead(shutdown.clone()).await;
            Ok(())
        }
        Some(lease) => {
            let elector = LeaderElector::new(kube.clone(), lease.clone());
            elect_and_lead(&elector, &term, &health, &shutdown).await
        }
    };
    health.set_leader(false);
    metrics.set_leader(false);
    health.set_ready(false);
    serving.cancel();
    if let Some(server) = server {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(
                error = &e as &dyn std::error::Error,
                "metrics server failed"
            ),
            Err(e) => tracing::warn!(
                error = &e as &dyn std::error::Error,
                "metrics server task failed"
            ),
        }
    }
    tracing::info!("stopped");
    result
}

async fn elect_and_lead(
    elector: &LeaderElector,
    term: &Term<'_>,
    health: &Health,
    shutdown: &CancellationToken,
) -> Result<(), RunError> {
    loop {
        let leadership = match elector.acquire(shutdown).await {
            Ok(l) => l,
            Err(_) if shutdown.is_cancelled() => return Ok(()),
            Err(e) => return Err(RunError::Leader(e)),
        };
        tracing::info!(identity = %leadership.identity(), "leading: reconciling Services");
        health.set_leader(true);
        term.metrics.set_leader(true);
        let stop = shutdown.child_token();
        tokio::select! {
            () = term.lead(stop.clone()) => {}
            () = leadership.lost() => {
                tracing::warn!("lost leadership: stopped reconciling");
            }
        }
        stop.cancel();
        health.set_leader(false);
        term.metrics.set_leader(false);
        if shutdown.is_cancelled() {
            if let Err(e) = leadership.release().await {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "cannot release the Lease; it will expire"
                );
            }
            return Ok(());
        }
        // Lost: stop renewing (drop) and compete again.
        drop(leadership);
    }
}

/// One leadership term's inputs.
struct Term<'a> {
    kube: &'a Client,
    cloud: &'a OpenStackClient,
    settings: &'a Settings,
    metrics: &'a Metrics,
}

impl Term<'_> {
    /// Reconciles until `stop` fires (then gives in-flight reconciles the shutdown grace).
    async fn lead(&self, stop: CancellationToken) {
        let (store, writer) = reflector::store::<Node>();
        let (nodes, signals) = NodeCache::new(store);
        let node_changes = node_triggers(
            watcher::watcher(
                Api::<Node>::all(self.kube.clone()),
                watcher::Config::default(),
            )
            .default_backoff()
            .modify(trim_node)
            .reflect(writer),
            signals,
        );
        let tag = kks_lb_planner::cluster_tag(&self.settings.cluster.cluster_id);
        let executor = Executor::new(self.cloud.clone(), self.settings.execute.clone())
            .with_poll_tag(tag.clone());
        executor.set_wait_recorder(self.metrics.wait_recorder());
        let ctx = Arc::new(Context::new(
            self.kube.clone(),
            executor,
            nodes,
            self.settings.clone(),
            self.metrics.clone(),
        ));
        // Before any reconcile, while this process is the only writer: the cluster's
        // observations from list calls, and the names that prove a Service has none yet.
        let taken = tokio::time::Instant::now();
        match kks_lb_adapter::rebuild(self.cloud, &tag).await {
            Ok(rebuilt) => {
                tracing::info!(
                    load_balancers = rebuilt.trees(),
                    "observations rebuilt from list calls"
                );
                ctx.engine().set_inventory(rebuilt, taken);
            }
            Err(e) => tracing::warn!(
                error = &e as &dyn std::error::Error,
                "cannot list the cloud's load balancers; every Service reads its own"
            ),
        }
        let (drifted, drift_triggers) = futures::channel::mpsc::unbounded::<()>();
        let sweeper = tokio::spawn(drift_checks(
            Arc::clone(&ctx),
            tag,
            taken,
            self.settings.resync,
            drifted,
            stop.clone(),
        ));
        let graceful = stop.clone();
        // The Services as kube-runtime's `Controller::new` watches them, trimmed of what no
        // reconcile reads before they are stored (see `trim_service`).
        let (services, service_writer) = reflector::store::<Service>();
        let service_changes = watcher::watcher(
            Api::<Service>::all(self.kube.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .modify(trim_service)
        .reflect(service_writer)
        .applied_objects();
        let controller = Controller::for_stream(service_changes, services)
            // `--concurrency` bounds the reconciles that work (the context's work slots); those
            // that wait for the cloud hold only their plan, and up to `IN_FLIGHT` run at once.
            .with_config(
                controller::Config::default().concurrency(in_flight(self.settings.concurrency)),
            )
            .reconcile_all_on(futures::stream::select(node_changes, drift_triggers))
            .graceful_shutdown_on(async move { graceful.cancelled().await })
            .run(reconcile, error_policy, ctx)
            .for_each(|result| {
                match result {
                    Ok((obj, _)) => tracing::trace!(service = %obj, "reconciled"),
                    Err(controller::Error::ReconcilerFailed(_, obj)) => {
                        tracing::debug!(service = %obj, "reconcile failed; retrying after backoff");
                    }
                    Err(controller::Error::ObjectNotFound(obj)) => {
                        tracing::debug!(service = %obj, "Service gone before its reconcile");
                    }
                    Err(e) => tracing::warn!(error = &e as &dyn std::error::Error, "controller"),
                }
                ready(())
            });
        // Orphan collection runs beside the reconciles, on the leader only.
        let collector = crate::orphans::Collector::new(
            self.kube.clone(),
            self.cloud.clone(),
            self.settings.cluster.clone(),
            self.settings.orphan_grace,
            self.metrics.clone(),
        );
        let collecting =
            tokio::spawn(collector.run(self.settings.orphan_sweep_every, stop.child_token()));
        // The cluster subnet's usage gauge, once per resync interval.
        let gauging = tokio::spawn(crate::capacity::gauge_loop(
            self.cloud.clone(),
            self.settings.cluster.clone(),
            self.metrics.clone(),
            self.settings.resync,
            stop.child_token(),
        ));
        let grace = self.settings.shutdown_grace;
        tokio::pin!(controller);
        tokio::select! {
            () = &mut controller => {}
            () = async {
                stop.cancelled().await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(?grace, "in-flight reconciles did not finish within the grace period; stopping them");
            }
        }
        collecting.abort();
        gauging.abort();
        sweeper.abort();
        // The next leader reports the Services; a follower reports none.
        self.metrics.set_services(0, 0);
        self.metrics.clear_members();
    }
}

/// Drops what no reconcile reads from a stored Service: `metadata.managedFields` (server-side
/// apply's bookkeeping, several KiB per Service once a few managers wrote it). The Service
/// store holds every Service of the cluster, so this is most of its memory.
fn trim_service(svc: &mut Service) {
    svc.managed_fields_mut().clear();
}

/// Drops what no reconcile reads from a stored Node: `metadata.managedFields` and
/// `status.images` (the node's image list, often tens of KiB).
fn trim_node(node: &mut Node) {
    node.managed_fields_mut().clear();
    if let Some(status) = node.status.as_mut() {
        status.images = None;
    }
}

/// Reconciles in flight at once, working or waiting for the cloud: enough that one tick of the
/// shared poller answers many load balancers (a node add across 1,000 load balancers needs
/// about 150 waiting together to keep 20 calls a second busy with a tick every 150 calls),
/// few enough that their plans stay small in memory (~50 KiB each at 50 nodes × 2 ports).
const IN_FLIGHT: u16 = 256;

/// kube-runtime's concurrency for `--concurrency` work slots: [`IN_FLIGHT`], or the slots if
/// there are more.
fn in_flight(concurrency: u16) -> u16 {
    concurrency.max(IN_FLIGHT)
}

/// The list-based drift check ([`Engine::sweep`](crate::engine::Engine::sweep)): one sweep every 85–95 % of the
/// resync interval (so a cached observation is confirmed before a Service's resync trusts
/// it), the first counted from `since` (when the start-up inventory was listed: its
/// observations count as read then, however long the rebuild took), until `stop`. A sweep
/// that found changes schedules every Service; those whose observation was kept return at
/// once, the changed ones re-read their tree.
async fn drift_checks(
    ctx: Arc<Context>,
    tag: String,
    since: tokio::time::Instant,
    resync: std::time::Duration,
    drifted: futures::channel::mpsc::UnboundedSender<()>,
    stop: CancellationToken,
) {
    use rand::Rng;
    let mut last = since;
    loop {
        let due = last + resync.mul_f64(rand::rng().random_range(0.85..=0.95));
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep_until(due) => {}
        }
        last = tokio::time::Instant::now();
        match ctx.sweep(&tag).await {
            Ok(sweep) => {
                tracing::debug!(
                    skipped = sweep.skipped,
                    changed = sweep.changed,
                    adopted = sweep.adopted,
                    "drift check"
                );
                if sweep.changed > 0 && drifted.unbounded_send(()).is_err() {
                    return;
                }
            }
            Err(e) => tracing::warn!(
                error = &e as &dyn std::error::Error,
                "drift check: cannot list the load balancers; their trees are re-read at the next resync"
            ),
        }
    }
}

/// Turns the node reflector's events (already applied to the store) into "reconcile every
/// Service" triggers, only for changes that can change members ([`node_digest`]): a node
/// added or removed, its labels, addresses or taints, its deletion. Raises
/// [`NodeSignals::changed`] before each trigger (the reconcile's node snapshot is rebuilt
/// from it) and [`NodeSignals::listed`] after every complete list. A re-list triggers once if
/// anything differs.
fn node_triggers<S>(events: S, signals: NodeSignals) -> impl Stream<Item = ()> + Send + 'static
where
    S: Stream<Item = Result<WatchEvent<Node>, watcher::Error>> + Send + 'static,
{
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut relist: Option<HashMap<String, u64>> = None;
    events.filter_map(move |event| {
        let fire = match event {
            Ok(WatchEvent::Apply(n)) => {
                let digest = node_digest(&n);
                seen.insert(n.name_any(), digest) != Some(digest)
            }
            Ok(WatchEvent::Delete(n)) => {
                seen.remove(&n.name_any());
                true
            }
            Ok(WatchEvent::Init) => {
                relist = Some(HashMap::new());
                false
            }
            Ok(WatchEvent::InitApply(n)) => {
                relist
                    .get_or_insert_with(HashMap::new)
                    .insert(n.name_any(), node_digest(&n));
                false
            }
            Ok(WatchEvent::InitDone) => {
                let listed = relist.take().unwrap_or_default();
                let changed = listed != seen;
                seen = listed;
                signals.listed();
                changed
            }
            Err(e) => {
                tracing::warn!(error = &e as &dyn std::error::Error, "node watch");
                false
            }
        };
        if fire {
            signals.changed();
        }
        ready(fire.then_some(()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, ip: &str, label: Option<&str>) -> Node {
        let mut n: Node = serde_json::from_value(json!({
            "metadata": {"name": name},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}
        }))
        .unwrap();
        if let Some(l) = label {
            n.metadata.labels = Some([("pool".to_owned(), l.to_owned())].into());
        }
        n
    }

    async fn triggers(events: Vec<WatchEvent<Node>>) -> (usize, NodeCache) {
        let (store, _writer) = reflector::store::<Node>();
        let (cache, signals) = NodeCache::new(store);
        let stream = node_triggers(futures::stream::iter(events.into_iter().map(Ok)), signals);
        let n = stream.count().await;
        (n, cache)
    }

    #[tokio::test]
    async fn node_heartbeats_do_not_fan_out_but_membership_changes_do() {
        let a = node("a", "10.0.0.1", None);
        let (n, cache) = triggers(vec![
            WatchEvent::Init,
            WatchEvent::InitApply(a.clone()),
            WatchEvent::InitDone,
            WatchEvent::Apply(a.clone()),
            WatchEvent::Apply(node("a", "10.0.0.1", Some("web"))),
            WatchEvent::Apply(node("b", "10.0.0.2", None)),
            WatchEvent::Delete(a.clone()),
        ])
        .await;
        assert_eq!(n, 4, "initial list, label, new node, deletion");
        assert_eq!(cache.epoch(), 4);
        assert!(cache.is_listed());
    }

    #[tokio::test]
    async fn a_relist_with_the_same_nodes_triggers_nothing() {
        let a = node("a", "10.0.0.1", None);
        let (n, _) = triggers(vec![
            WatchEvent::Init,
            WatchEvent::InitApply(a.clone()),
            WatchEvent::InitDone,
            WatchEvent::Init,
            WatchEvent::InitApply(a.clone()),
            WatchEvent::InitDone,
            WatchEvent::Init,
            WatchEvent::InitDone,
        ])
        .await;
        assert_eq!(n, 2, "first list, then the relist that lost node a");
    }

    #[tokio::test]
    async fn the_cache_is_not_listed_before_the_first_complete_list() {
        let a = node("a", "10.0.0.1", None);
        let (_, cache) = triggers(vec![WatchEvent::Init, WatchEvent::InitApply(a)]).await;
        assert!(!cache.is_listed());
    }

    #[test]
    fn stored_services_and_nodes_keep_what_reconciles_read_and_drop_the_rest() {
        use crate::status::TriggerKey;
        let managed = json!([{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1",
                              "fieldsV1": {"f:spec": {"f:ports": {}}}}]);
        let mut svc: Service = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u-1",
                         "annotations": {"loadbalancer.openstack.org/connection-limit": "10"},
                         "finalizers": ["service.kubernetes.io/load-balancer-cleanup"],
                         "managedFields": managed},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 30080}]}
        }))
        .unwrap();
        let before = svc.clone();
        trim_service(&mut svc);
        assert_eq!(svc.metadata.managed_fields, Some(vec![]));
        assert_eq!(svc.spec, before.spec);
        assert_eq!(svc.metadata.annotations, before.metadata.annotations);
        assert_eq!(svc.metadata.finalizers, before.metadata.finalizers);
        assert_eq!(TriggerKey::of(&svc), TriggerKey::of(&before));

        let mut n: Node = serde_json::from_value(json!({
            "metadata": {"name": "a", "labels": {"pool": "x"}, "managedFields": managed},
            "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                       "images": [{"names": ["registry/app:1"], "sizeBytes": 1000}]}
        }))
        .unwrap();
        let digest = node_digest(&n);
        trim_node(&mut n);
        assert_eq!(n.metadata.managed_fields, Some(vec![]));
        assert_eq!(n.status.as_ref().and_then(|s| s.images.as_ref()), None);
        assert_eq!(node_digest(&n), digest, "what decides membership is kept");
    }
}
