//! The reconcile loop: one Service in, its load balancer, status, annotations and Events out.
//!
//! [`reconcile`] is what kube-runtime's `Controller` calls for a Service (see
//! [`crate::run`] for the wiring). It is thin: decide the [`Phase`] from pure data
//! ([`crate::status`]), then run the finalizer helper as the single top-level step, whose
//! `Apply` ensures the load balancer (parse → desired → observe → plan → execute → status,
//! annotations, Events) or releases a Service that stopped being a load balancer, and whose
//! `Cleanup` deletes the load balancer.
//!
//! # The finalizer flow
//!
//! The finalizer is [`FINALIZER`] (`service.kubernetes.io/load-balancer-cleanup`, the
//! upstream name, so Services created under OCCM migrate without a gap).
//!
//! ## Guarantees
//! - The finalizer is on the Service before the first cloud mutation: the helper adds it and
//!   returns; `Apply` only runs on a Service that carries it.
//! - It is removed only after the load balancer and the floating IP we own are gone
//!   (`Cleanup` on deletion; the release of a Service whose type changed away from
//!   LoadBalancer, which also clears `status.loadBalancer` and the
//!   `load-balancer-id`/`-address` annotations).
//! - An invalid Service makes no cloud call at all; a Service whose `load-balancer-id` names
//!   a load balancer we do not own never touches it.
//! - The controller does not react to its own writes: a trigger whose [`MembersKey`] equals
//!   that of the last completed reconcile and whose [`TriggerKey`] equals the key that
//!   reconcile started from or the key its own writes left (computed locally, never from the
//!   API's answer, which may carry a newer change), before its requeue is due, returns at once
//!   without any API or cloud call. Every other change (spec, annotations, deletion,
//!   finalizer, members) runs a full reconcile. (A user who removes our `load-balancer-id`
//!   annotation and changes nothing else gets it back at the next resync.)
//!
//! ## Assumptions
//! - Apply and Cleanup are idempotent and may be cancelled at any await (leadership lost,
//!   shutdown): the next run observes the cloud and continues from what exists. Cleanup
//!   tolerates Apply never having run (nothing found = done).
//! - No other controller uses our finalizer name on Services of our class.
//!
//! ## Errors
//! Every failure is an [`Error`] with a static [`Error::reason`] (metrics) and
//! [`Error::is_retryable`]; [`error_policy`] maps it to a backoff. Cloud failures are also
//! published as a `LoadBalancerError` Event with the OpenStack request id and status, and set
//! the `LoadBalancerReady` condition to False.

pub mod drift;
mod ensure;
mod remove;
mod unservable;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Service};
use kks_lb_adapter::{Backoff, CapabilitiesCache, Executor};
use kks_lb_annotations::parse;
use kks_lb_planner::eligible_nodes;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Error as FinalizerError, Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::Settings;
use crate::events::{Note, Publisher, Reason};
use crate::metrics::Metrics;
use crate::status::{
    FINALIZER, IngressUpdate, MembersKey, Phase, Readiness, ServiceFacts, TriggerKey, status_patch,
};

/// Field manager of every write.
const FIELD_MANAGER: &str = "kks-lb-controller";

/// A failed reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cloud's capabilities could not be discovered.
    #[error("cannot discover the cloud's capabilities: {0}")]
    Capabilities(#[source] kks_lb_adapter::Error),
    /// Finding or reading the load balancer failed.
    #[error("cannot observe load balancer {lb}: {source}")]
    Observe {
        /// Load balancer name.
        lb: String,
        /// The cause.
        #[source]
        source: kks_lb_adapter::Error,
    },
    /// A plan step failed.
    #[error("cannot {action} load balancer {lb}: {source}")]
    Execute {
        /// What the plan did: `create`, `update` or `delete`.
        action: &'static str,
        /// Load balancer name.
        lb: String,
        /// The cause (names the step, the OpenStack status and request id).
        #[source]
        source: kks_lb_adapter::Error,
    },
    /// A write to the Service failed.
    #[error("cannot patch the {what} of the Service: {source}")]
    Patch {
        /// `status`, `annotations` or `metadata`.
        what: &'static str,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// Adding the finalizer failed.
    #[error("cannot add the finalizer: {0}")]
    AddFinalizer(#[source] kube::Error),
    /// Removing the finalizer failed.
    #[error("cannot remove the finalizer: {0}")]
    RemoveFinalizer(#[source] kube::Error),
    /// The Service has no name (never from the API server).
    #[error("the Service has no name")]
    Unnamed,
    /// The node cache stopped (the controller is shutting down).
    #[error("the node cache is not available")]
    NodesUnavailable,
    /// The load balancer is in provisioning status ERROR and the plan has nothing to repair.
    #[error(
        "load balancer {lb} ({id}) is in provisioning status ERROR{}",
        errored_suffix(.replaced)
    )]
    Errored {
        /// Load balancer name.
        lb: String,
        /// Its id.
        id: String,
        /// It was deleted so the next reconcile creates it anew.
        replaced: bool,
    },
    /// The executor succeeded but reported no load balancer id.
    #[error("load balancer {lb}: the plan finished without a load balancer id")]
    MissingId {
        /// Load balancer name.
        lb: String,
    },
}

fn errored_suffix(replaced: &bool) -> &'static str {
    if *replaced {
        "; it never became ready and was deleted, a new one follows"
    } else {
        ""
    }
}

/// The reconcile's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn kube_retryable(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 409 || s.code == 429 || s.code >= 500,
        _ => true,
    }
}

impl Error {
    /// A static PascalCase name for metrics and logs: the OpenStack error class for cloud
    /// failures (`Conflict`, `ServerError`, `WaitTimeout`, ...), else the failed operation.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Capabilities(e)
            | Error::Observe { source: e, .. }
            | Error::Execute { source: e, .. } => e.reason(),
            Error::Patch { .. } => "PatchFailed",
            Error::AddFinalizer(_) => "AddFinalizerFailed",
            Error::RemoveFinalizer(_) => "RemoveFinalizerFailed",
            Error::Unnamed => "Unnamed",
            Error::NodesUnavailable => "NodesUnavailable",
            Error::Errored { .. } => "LoadBalancerError",
            Error::MissingId { .. } => "MissingLoadBalancerId",
        }
    }

    /// Whether retrying soon may succeed (cloud 5xx/409/429/timeouts, API conflicts).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Capabilities(e)
            | Error::Observe { source: e, .. }
            | Error::Execute { source: e, .. } => e.is_retryable(),
            Error::Patch { source, .. } => kube_retryable(source),
            // The helper's JSON patch tests the finalizer list it read; 422 means the cached
            // Service was stale, like a conflict.
            Error::AddFinalizer(source) | Error::RemoveFinalizer(source) => {
                kube_retryable(source) || matches!(source, kube::Error::Api(s) if s.code == 422)
            }
            Error::NodesUnavailable | Error::Errored { .. } => true,
            Error::Unnamed | Error::MissingId { .. } => false,
        }
    }

    /// The OpenStack error, for failed calls.
    pub fn cloud(&self) -> Option<&kks_lb_adapter::Error> {
        match self {
            Error::Capabilities(e)
            | Error::Observe { source: e, .. }
            | Error::Execute { source: e, .. } => Some(e),
            Error::Patch { .. }
            | Error::AddFinalizer(_)
            | Error::RemoveFinalizer(_)
            | Error::Unnamed
            | Error::NodesUnavailable
            | Error::Errored { .. }
            | Error::MissingId { .. } => None,
        }
    }

    /// Whether the user should hear about it as a `LoadBalancerError` Event: the cloud
    /// failed or the load balancer is broken (not our own API writes).
    pub fn is_load_balancer_error(&self) -> bool {
        self.cloud().is_some() || matches!(self, Error::Errored { .. })
    }

    fn from_finalizer(e: FinalizerError<Error>) -> Self {
        match e {
            FinalizerError::ApplyFailed(e) | FinalizerError::CleanupFailed(e) => e,
            FinalizerError::AddFinalizer(e) => Error::AddFinalizer(e),
            FinalizerError::RemoveFinalizer(e) => Error::RemoveFinalizer(e),
            FinalizerError::UnnamedObject | FinalizerError::InvalidFinalizer => Error::Unnamed,
        }
    }
}

/// The requeue after a failed reconcile: capped exponential backoff by consecutive failures
/// for retryable errors, a fixed slow retry for permanent ones (a person has to act).
pub fn retry_delay(
    retryable: bool,
    failures: u32,
    backoff: &Backoff,
    permanent: Duration,
) -> Duration {
    if retryable {
        backoff.delay(failures.saturating_sub(1))
    } else {
        permanent
    }
}

/// `d` scaled by a random factor in [0.9, 1.1], so resyncs of many Services spread out.
pub fn jittered(d: Duration) -> Duration {
    d.mul_f64(rand::rng().random_range(0.9..=1.1))
}

/// What the last reconcile of a Service saw and when it wants to run again.
#[derive(Debug, Clone, Copy)]
struct Memo {
    /// The Service as the reconcile read it, and as its own writes left it.
    keys: [TriggerKey; 2],
    members: MembersKey,
    /// `None`: only a change brings it back.
    due: Option<Instant>,
    failures: u32,
}

/// The outcome of one pass of Apply or Cleanup.
#[derive(Debug, Clone, Copy)]
struct Done {
    /// Requeue after this long; `None` waits for a change.
    requeue: Option<Duration>,
    /// The members the load balancer got.
    members: MembersKey,
    /// The Service is no longer ours to remember (deleted or released).
    forget: bool,
}

/// One reconcile pass: the trigger keys of the Service as the pass found it and as our own
/// writes leave it, so that the watch events of our writes, and stale cached copies of what
/// the pass already handled, are recognised.
#[derive(Debug)]
struct Pass {
    started: TriggerKey,
    after: Mutex<TriggerKey>,
}

impl Pass {
    fn new(svc: &Service) -> Self {
        let key = TriggerKey::of(svc);
        Pass {
            started: key,
            after: Mutex::new(key),
        }
    }

    /// Records the Service as our write leaves it: the object this pass read with our change
    /// applied locally. (Not the API's answer, which may carry someone else's newer change
    /// that this pass has not handled.)
    fn wrote(&self, svc: &Service) {
        *lock(&self.after) = TriggerKey::of(svc);
    }

    fn keys(&self) -> [TriggerKey; 2] {
        [self.started, *lock(&self.after)]
    }
}

/// A snapshot of the node cache, rebuilt when a node changes in a way that matters.
#[derive(Debug, Default)]
struct NodeSnapshot {
    epoch: u64,
    nodes: Arc<Vec<Node>>,
}

/// The node cache the reconcile reads: a reflector's store plus two signals from the stream
/// that feeds it ([`NodeSignals`]): listed (the first complete list is in) and changed.
///
/// kube-runtime's `Store::wait_until_ready` wakes only one of several concurrent waiters, so
/// readiness comes from our own `watch` channel instead.
#[derive(Debug, Clone)]
pub struct NodeCache {
    store: Store<Node>,
    epoch: Arc<AtomicU64>,
    listed: watch::Receiver<bool>,
}

/// The feeding side of a [`NodeCache`]; call it after the reflector applied each event.
#[derive(Debug)]
pub struct NodeSignals {
    epoch: Arc<AtomicU64>,
    listed: watch::Sender<bool>,
}

impl NodeCache {
    /// A cache over a reflector store, and the signals its feeding stream raises.
    pub fn new(store: Store<Node>) -> (NodeCache, NodeSignals) {
        let epoch = Arc::new(AtomicU64::new(0));
        let (tx, rx) = watch::channel(false);
        (
            NodeCache {
                store,
                epoch: Arc::clone(&epoch),
                listed: rx,
            },
            NodeSignals { epoch, listed: tx },
        )
    }
}

impl NodeCache {
    /// How many member-relevant node changes were signalled.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Whether a complete list of nodes is in.
    pub fn is_listed(&self) -> bool {
        *self.listed.borrow()
    }
}

impl NodeSignals {
    /// A complete list of nodes is in the store.
    pub fn listed(&self) {
        self.listed.send_replace(true);
    }

    /// Nodes changed in a way that can change members.
    pub fn changed(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Shared state of all reconciles of one leadership term.
pub struct Context {
    client: Client,
    executor: Executor,
    caps: CapabilitiesCache,
    nodes: NodeCache,
    node_snapshot: Mutex<Option<NodeSnapshot>>,
    settings: Settings,
    events: Publisher,
    metrics: Metrics,
    memo: Mutex<HashMap<ObjectRef<Service>, Memo>>,
    lb_status: Mutex<LbStatusCount>,
    observed: Mutex<HashMap<ObjectRef<Service>, Observed>>,
    /// Each Service's `LoadBalancerReady` as last written, for the `kks_lb_services` gauge.
    readiness: Mutex<HashMap<ObjectRef<Service>, bool>>,
    /// The term's first inventory (see [`Context::set_inventory`]).
    inventory: Mutex<Option<Inventory>>,
}

/// What the cloud held when this leadership term began, before any reconcile ran.
#[derive(Debug)]
struct Inventory {
    rebuilt: kks_lb_adapter::Rebuilt,
    taken: Instant,
    /// Load balancer names a create was sent for since.
    created: std::collections::HashSet<String>,
}

/// The last observation of a Service's load balancer: read from the cloud, or settled from
/// a plan that ran to its end. Trusted until `resync` has passed since the cloud was last
/// read; dropped before any plan runs and on every failure, so only a completed plan or a
/// fresh read fills it.
#[derive(Debug, Clone)]
struct Observed {
    topology: kks_lb_octavia_model::Topology,
    read_at: Instant,
    /// The load balancer as the read, the plan's last wait or the drift check's list last
    /// showed it (see [`drift`]).
    stamp: Option<kks_lb_adapter::LbState>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Load balancers by provisioning status, for the `kks_lb_load_balancers` gauge.
#[derive(Debug, Default)]
struct LbStatusCount {
    by_service: HashMap<ObjectRef<Service>, String>,
    seen: BTreeSet<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Context {
    /// The context for one leadership term, over the node cache `nodes` (see [`crate::run`]).
    pub fn new(
        client: Client,
        executor: Executor,
        nodes: NodeCache,
        settings: Settings,
        metrics: Metrics,
    ) -> Self {
        let events = Publisher::new(
            client.clone(),
            crate::config::CONTROLLER_NAME,
            &settings.identity,
        );
        Context {
            client,
            executor,
            caps: CapabilitiesCache::default(),
            nodes,
            node_snapshot: Mutex::new(None),
            settings,
            events,
            metrics,
            memo: Mutex::new(HashMap::new()),
            lb_status: Mutex::new(LbStatusCount::default()),
            observed: Mutex::new(HashMap::new()),
            readiness: Mutex::new(HashMap::new()),
            inventory: Mutex::new(None),
        }
    }

    /// Records the term's first inventory, listed after leadership was gained and before any
    /// reconcile ran, while this process is the only writer (`taken`: when it was sent).
    ///
    /// - Its trees are each Service's first observation (taken once, stamped with the load
    ///   balancer's state as listed, so the drift check keeps verifying it).
    /// - A name it did not list, and no create was sent for since, has no load balancer:
    ///   that Service's observe skips the lookup by name. Any create step marks the name
    ///   first, so the executor's lookup after an unknown outcome and every later observe
    ///   look it up again.
    pub fn set_inventory(&self, rebuilt: kks_lb_adapter::Rebuilt, taken: Instant) {
        *lock(&self.inventory) = Some(Inventory {
            rebuilt,
            taken,
            created: std::collections::HashSet::new(),
        });
    }

    /// How observe may find the load balancer named `name` (see [`Context::set_inventory`]).
    fn lookup(&self, name: &str) -> kks_lb_adapter::Lookup {
        match lock(&self.inventory).as_ref() {
            Some(i) if !i.rebuilt.has_name(name) && !i.created.contains(name) => {
                kks_lb_adapter::Lookup::KnownAbsent
            }
            _ => kks_lb_adapter::Lookup::ByName,
        }
    }

    /// The inventory's observation of a Service's load balancer, once: the tree, its state
    /// and when it was listed.
    fn seeded(
        &self,
        owner: &kks_lb_adapter::Ownership,
        fip_description: Option<&str>,
        desired: &kks_lb_octavia_model::Topology,
    ) -> Option<(
        kks_lb_octavia_model::Topology,
        kks_lb_adapter::LbState,
        Instant,
    )> {
        let mut inv = lock(&self.inventory);
        let i = inv.as_mut()?;
        let (t, state) = i.rebuilt.take(owner, fip_description, desired)?;
        Some((t, state, i.taken))
    }

    /// A create is about to be sent for `name`: from now on it is looked up by name.
    fn creating(&self, name: &str) {
        if let Some(i) = lock(&self.inventory).as_mut() {
            i.created.insert(name.to_owned());
        }
    }

    /// The cached observation of a Service's load balancer, while it is younger than the
    /// drift-check interval.
    fn cached(&self, oref: &ObjectRef<Service>) -> Option<kks_lb_octavia_model::Topology> {
        let observed = lock(&self.observed);
        let o = observed.get(oref)?;
        (o.read_at.elapsed() < self.settings.resync).then(|| o.topology.clone())
    }

    /// Caches an observation; `read_at` is when the cloud was last read for it, `stamp` the
    /// load balancer's state as last seen.
    fn cache(
        &self,
        oref: ObjectRef<Service>,
        topology: kks_lb_octavia_model::Topology,
        read_at: Instant,
        stamp: Option<kks_lb_adapter::LbState>,
    ) {
        lock(&self.observed).insert(
            oref,
            Observed {
                topology,
                read_at,
                stamp,
            },
        );
    }

    /// Takes the cached observation out: when it was read and the state it was stamped with.
    fn take_cached(
        &self,
        oref: &ObjectRef<Service>,
    ) -> Option<(Instant, Option<kks_lb_adapter::LbState>)> {
        lock(&self.observed)
            .remove(oref)
            .map(|o| (o.read_at, o.stamp))
    }

    /// The drift check found the load balancer changed: the next reconcile of the Service
    /// runs in full (its memo is due now).
    fn due_now(&self, oref: &ObjectRef<Service>) {
        if let Some(m) = lock(&self.memo).get_mut(oref) {
            m.due = Some(Instant::now());
        }
    }

    /// Forgets the cached observation (before a plan runs, after any failure).
    fn uncache(&self, oref: &ObjectRef<Service>) -> Option<Instant> {
        lock(&self.observed).remove(oref).map(|o| o.read_at)
    }

    /// The nodes, once the node cache has its first complete list.
    async fn nodes(&self) -> Result<Arc<Vec<Node>>> {
        self.nodes
            .listed
            .clone()
            .wait_for(|listed| *listed)
            .await
            .map_err(|_| Error::NodesUnavailable)?;
        // Read the epoch before the store: a snapshot is never older than its epoch.
        let epoch = self.nodes.epoch.load(Ordering::SeqCst);
        let mut snap = lock(&self.node_snapshot);
        if let Some(s) = snap.as_ref()
            && s.epoch == epoch
        {
            return Ok(Arc::clone(&s.nodes));
        }
        let nodes: Arc<Vec<Node>> = Arc::new(
            self.nodes
                .store
                .state()
                .iter()
                .map(|n| (**n).clone())
                .collect(),
        );
        *snap = Some(NodeSnapshot {
            epoch,
            nodes: Arc::clone(&nodes),
        });
        Ok(nodes)
    }

    /// The members key of a Service in the Ensure phase (`NONE` when it is invalid).
    async fn members_key(&self, svc: &Service) -> Result<MembersKey> {
        match parse(svc, &self.settings.defaults) {
            Ok(p) => Ok(MembersKey::of(&eligible_nodes(
                &p.spec,
                &self.nodes().await?,
            ))),
            Err(_) => Ok(MembersKey::NONE),
        }
    }

    /// Whether the last reconcile already covered this trigger; then how long until it is due.
    fn unchanged(
        &self,
        oref: &ObjectRef<Service>,
        key: TriggerKey,
        members: MembersKey,
    ) -> Option<Option<Duration>> {
        let memo = lock(&self.memo).get(oref).copied()?;
        if !memo.keys.contains(&key) || memo.members != members {
            return None;
        }
        let now = Instant::now();
        match memo.due {
            None => Some(None),
            Some(due) if now < due => Some(Some(due - now)),
            Some(_) => None,
        }
    }

    fn remember(&self, oref: ObjectRef<Service>, memo: Memo) {
        lock(&self.memo).insert(oref, memo);
    }

    fn forget(&self, oref: &ObjectRef<Service>) {
        lock(&self.memo).remove(oref);
        self.uncache(oref);
        self.events.forget(oref);
        self.set_lb_status(oref, None);
        self.set_readiness(oref, None);
    }

    /// Records a Service's readiness (`None`: no longer ours) and updates the gauge.
    fn set_readiness(&self, oref: &ObjectRef<Service>, ready: Option<bool>) {
        let mut all = lock(&self.readiness);
        let changed = match ready {
            Some(r) => all.insert(oref.clone(), r) != Some(r),
            None => all.remove(oref).is_some(),
        };
        if changed {
            let ready = all.values().filter(|r| **r).count();
            let not_ready = all.len() - ready;
            self.metrics.set_services(
                i64::try_from(ready).unwrap_or(i64::MAX),
                i64::try_from(not_ready).unwrap_or(i64::MAX),
            );
        }
    }

    fn failures(&self, oref: &ObjectRef<Service>) -> u32 {
        lock(&self.memo).get(oref).map_or(0, |m| m.failures)
    }

    /// Records the provisioning status of a Service's load balancer (`None`: it has none) and
    /// updates the gauge.
    fn set_lb_status(&self, oref: &ObjectRef<Service>, status: Option<String>) {
        let mut counts = lock(&self.lb_status);
        let changed = match status {
            Some(s) => counts.by_service.insert(oref.clone(), s.clone()).as_ref() != Some(&s),
            None => counts.by_service.remove(oref).is_some(),
        };
        if !changed {
            return;
        }
        let mut per: HashMap<String, i64> = HashMap::new();
        for s in counts.by_service.values() {
            *per.entry(s.clone()).or_default() += 1;
        }
        counts.seen.extend(per.keys().cloned());
        for s in &counts.seen {
            self.metrics
                .set_load_balancers(s, per.get(s.as_str()).copied().unwrap_or(0));
        }
    }

    fn api(&self, svc: &Service) -> Api<Service> {
        Api::namespaced(self.client.clone(), &svc.namespace().unwrap_or_default())
    }

    /// Patches `/status` with a strategic merge patch; returns the updated Service.
    async fn patch_status(&self, svc: &Service, patch: &serde_json::Value) -> Result<Service> {
        let name = svc.metadata.name.as_deref().ok_or(Error::Unnamed)?;
        self.api(svc)
            .patch_status(
                name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Strategic(patch),
            )
            .await
            .map_err(|source| Error::Patch {
                what: "status",
                source,
            })
    }

    /// Patches the Service's metadata with a merge patch; returns the updated Service.
    async fn patch_metadata(
        &self,
        svc: &Service,
        what: &'static str,
        patch: &serde_json::Value,
    ) -> Result<Service> {
        let name = svc.metadata.name.as_deref().ok_or(Error::Unnamed)?;
        self.api(svc)
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Merge(patch),
            )
            .await
            .map_err(|source| Error::Patch { what, source })
    }

    /// Sets the `LoadBalancerReady` condition (and the ingress) when they differ.
    async fn set_status(
        &self,
        svc: &Service,
        ingress: &IngressUpdate,
        readiness: &Readiness,
    ) -> Result<()> {
        self.set_readiness(&ObjectRef::from_obj(svc), Some(readiness.ready));
        if let Some(patch) =
            status_patch(svc, ingress, readiness, k8s_openapi::jiff::Timestamp::now())
        {
            self.patch_status(svc, &patch).await?;
        }
        Ok(())
    }

    /// Publishes a failed reconcile: a `LoadBalancerError` Event for cloud failures (with
    /// the OpenStack status and request id) and a False condition on a live Service.
    async fn report(&self, svc: &Service, phase: Phase, err: &Error) {
        if !err.is_load_balancer_error() {
            return;
        }
        // The adapter's message names the call, the OpenStack status and the request id.
        let message = err.to_string();
        // Retries of one failure differ only in the request id: one series.
        let series = match err.cloud() {
            Some(cloud) => format!("{} {:?}", cloud.reason(), cloud.status()),
            None => message.clone(),
        };
        self.events
            .publish(
                svc,
                &Note::in_series(Reason::LoadBalancerError, message.clone(), series),
            )
            .await;
        if phase == Phase::Ensure {
            let readiness = Readiness::pending(Reason::LoadBalancerError.as_str(), message);
            if let Err(e) = self.set_status(svc, &IngressUpdate::Keep, &readiness).await {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "cannot record the failure in the status"
                );
            }
        }
    }
}

/// Reconciles one Service. See the [module docs](self) for the finalizer flow.
///
/// # Errors
/// See [`Error`]; the caller ([`error_policy`]) decides when to retry.
pub async fn reconcile(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action> {
    let oref = ObjectRef::from_obj(&*svc);
    let phase = ServiceFacts::of(&svc, ctx.settings.load_balancer_class.as_deref()).phase();
    tracing::trace!(?phase, "reconcile");
    let members = match phase {
        Phase::Ignore | Phase::Gone => {
            ctx.forget(&oref);
            return Ok(Action::await_change());
        }
        Phase::Ensure => ctx.members_key(&svc).await?,
        Phase::Release | Phase::Cleanup => MembersKey::NONE,
    };
    if let Some(wait) = ctx.unchanged(&oref, TriggerKey::of(&svc), members) {
        tracing::trace!("nothing changed since the last reconcile");
        return Ok(wait.map_or_else(Action::await_change, Action::requeue));
    }

    let _timer = ctx.metrics.reconcile_timer();
    let api = ctx.api(&svc);
    let pass = Pass::new(&svc);
    let outcome: Mutex<Option<Done>> = Mutex::new(None);
    let result = finalizer(&api, FINALIZER, Arc::clone(&svc), |event| async {
        let done = match event {
            FinalizerEvent::Apply(s) => {
                match ServiceFacts::of(&s, ctx.settings.load_balancer_class.as_deref()).phase() {
                    Phase::Ensure => ensure::ensure(&ctx, &s, &pass).await?,
                    Phase::Release => remove::release(&ctx, &s).await?,
                    // The object changed under us; the next event decides.
                    Phase::Ignore | Phase::Cleanup | Phase::Gone => Done {
                        requeue: None,
                        members,
                        forget: false,
                    },
                }
            }
            FinalizerEvent::Cleanup(s) => remove::cleanup(&ctx, &s).await?,
        };
        *lock(&outcome) = Some(done);
        Ok(done
            .requeue
            .map_or_else(Action::await_change, Action::requeue))
    })
    .await
    .map_err(Error::from_finalizer);

    let done = lock(&outcome).take();
    match (result, done) {
        (Ok(action), Some(done)) => {
            if done.forget {
                ctx.forget(&oref);
            } else {
                ctx.remember(
                    oref,
                    Memo {
                        keys: pass.keys(),
                        members: done.members,
                        due: done.requeue.map(|d| Instant::now() + d),
                        failures: 0,
                    },
                );
            }
            Ok(action)
        }
        // The helper added the finalizer: the resulting event runs Apply.
        (Ok(action), None) => Ok(action),
        (Err(err), _) => {
            let failures = ctx.failures(&oref).saturating_add(1);
            let delay = retry_delay(
                err.is_retryable(),
                failures,
                &ctx.settings.retry,
                ctx.settings.permanent_retry,
            );
            tracing::warn!(
                error = &err as &dyn std::error::Error,
                reason = err.reason(),
                retryable = err.is_retryable(),
                retry_in = ?delay,
                "reconcile failed"
            );
            ctx.metrics.reconcile_error(err.reason());
            ctx.uncache(&oref);
            ctx.report(&svc, phase, &err).await;
            // The events of our own writes (the condition above) must not bypass the backoff.
            ctx.remember(
                oref,
                Memo {
                    keys: pass.keys(),
                    members,
                    due: Some(Instant::now() + delay),
                    failures,
                },
            );
            Err(err)
        }
    }
}

/// Maps a failed reconcile to its retry: the delay [`reconcile`] computed and recorded
/// (capped exponential backoff for retryable errors, a slow fixed retry for permanent ones).
pub fn error_policy(svc: Arc<Service>, err: &Error, ctx: Arc<Context>) -> Action {
    let oref = ObjectRef::from_obj(&*svc);
    let due = lock(&ctx.memo).get(&oref).and_then(|m| m.due);
    let now = Instant::now();
    match due {
        Some(due) if due > now => Action::requeue(due - now),
        Some(_) | None => Action::requeue(retry_delay(
            err.is_retryable(),
            1,
            &ctx.settings.retry,
            ctx.settings.permanent_retry,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(status: u16) -> kks_lb_adapter::Error {
        kks_lb_adapter::Error::Api {
            service: kks_lb_adapter::Service::Octavia,
            method: "POST".into(),
            path: "/v2/lbaas/loadbalancers".into(),
            status,
            message: "boom".into(),
            request_id: Some("req-9".into()),
        }
    }

    #[test]
    fn cloud_errors_classify_by_their_openstack_status() {
        let busy = Error::Execute {
            action: "update",
            lb: "lb".into(),
            source: api_error(409),
        };
        assert!(busy.is_retryable());
        assert_eq!(busy.reason(), "Conflict");
        let quota = Error::Execute {
            action: "create",
            lb: "lb".into(),
            source: api_error(403),
        };
        assert!(!quota.is_retryable());
        assert_eq!(quota.cloud().and_then(|e| e.request_id()), Some("req-9"));
        assert!(Error::NodesUnavailable.is_retryable());
        assert!(Error::NodesUnavailable.cloud().is_none());
    }

    #[test]
    fn retryable_failures_back_off_exponentially_and_permanent_ones_wait_long() {
        let b = Backoff {
            start: Duration::from_secs(1),
            factor: 2.0,
            cap: Duration::from_secs(60),
            jitter: 0.0,
        };
        let slow = Duration::from_secs(300);
        assert_eq!(retry_delay(true, 1, &b, slow), Duration::from_secs(1));
        assert_eq!(retry_delay(true, 3, &b, slow), Duration::from_secs(4));
        assert_eq!(retry_delay(true, 30, &b, slow), Duration::from_secs(60));
        assert_eq!(retry_delay(false, 1, &b, slow), slow);
    }

    #[test]
    fn resync_jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(600));
            assert!(
                d >= Duration::from_secs(540) && d <= Duration::from_secs(660),
                "{d:?}"
            );
        }
    }
}
