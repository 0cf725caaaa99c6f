//! The engine: one Service (and the cluster's nodes) in, an [`Outcome`] out.
//!
//! The engine runs parse → desired → observe → plan → execute for a Service and returns what
//! Kubernetes should show for it: the status, the annotations, the Events and when to run
//! again. It writes nothing to Kubernetes; the caller applies the [`Outcome`] (the kks-lb
//! controller does it in [`crate::reconcile`] through [`crate::apply::Applier`]). Cloud access
//! goes through the [`Executor`] (and its [`OpenStackClient`](kks_lb_adapter::OpenStackClient)
//! session) the caller constructs, so an embedding controller may share one session.
//!
//! - [`Engine::ensure`] brings a Service's load balancer to what the Service asks for;
//!   [`Engine::prepare`] and [`Run`] split it in two for callers that show progress before a
//!   long create.
//! - [`Engine::remove`] deletes it (the Service is being deleted);
//!   [`Engine::release`] also clears what kks-lb wrote on a Service that stopped being a
//!   LoadBalancer Service of the caller's class.
//! - [`Engine::sweep`] is the list-based drift check (one list per resync interval).
//! - [`Engine::set_inventory`] seeds the observations from list calls when a controller
//!   starts (or gains leadership), so a restart costs one status tree per load balancer.
//!
//! The engine keeps one piece of state per Service: the last observation of its load
//! balancer, trusted for one resync interval, so an unchanged Service costs no cloud call.
//! Call [`Engine::forget`] when a Service is no longer yours.
//!
//! # Example
//! The engine against the OpenStack emulator of `kks-lb-testkit`: no Kubernetes is needed,
//! since the engine writes nothing there.
//! ```
//! use kks_lb_adapter::{Auth, ExecuteConfig, Executor, OpenStackClient, SessionConfig};
//! use kks_lb_controller::engine::{Engine, EngineConfig, StatusUpdate};
//! use kks_lb_controller::status::IngressUpdate;
//! use kks_lb_planner::ClusterConfig;
//! use kks_lb_testkit::fixtures::{ServiceBuilder, nodes};
//! use kks_lb_testkit::openstack::{EmulatorConfig, OpenStackEmulator};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cloud = OpenStackEmulator::start(EmulatorConfig::default()).await?;
//! let f = cloud.fixture();
//! let session = SessionConfig::new(Auth::ApplicationCredential {
//!     auth_url: cloud.auth_url().to_owned(),
//!     id: f.application_credential_id.clone(),
//!     secret: f.application_credential_secret.clone(),
//! });
//! let cluster = ClusterConfig {
//!     cluster_name: "prod".into(),
//!     cluster_id: "prod-uid".into(),
//!     subnet_id: Some(f.cluster_subnet_id.clone()),
//!     floating_network_id: Some(f.external_network_id.clone()),
//!     ..ClusterConfig::default()
//! };
//! let engine = Engine::new(
//!     Executor::new(OpenStackClient::connect(&session).await?, ExecuteConfig::default()),
//!     EngineConfig::new(cluster),
//! );
//!
//! let svc = ServiceBuilder::new("web", "shop").port("TCP", 80, 30080).build();
//! let outcome = engine.ensure(&svc, &nodes(3)).await;
//! assert!(outcome.error.is_none());
//! // A new load balancer: announced, then created.
//! let reasons: Vec<&str> = outcome.events.iter().map(|e| e.reason.as_str()).collect();
//! assert_eq!(reasons, ["EnsuringLoadBalancer", "EnsuredLoadBalancer"]);
//! // The Service gets its floating IP as ingress and the load balancer's id.
//! let StatusUpdate::Set { ingress: IngressUpdate::Set(ingress), readiness } = &outcome.status
//! else {
//!     panic!("no ingress: {outcome:?}");
//! };
//! assert!(readiness.ready);
//! let address = ingress[0].ip.clone().unwrap_or_default();
//! assert_eq!(outcome.annotations.unwrap().address.as_deref(), Some(address.as_str()));
//!
//! // Nothing changed: the next pass makes no cloud call and publishes nothing new.
//! cloud.reset_calls();
//! let again = engine.ensure(&svc, &nodes(3)).await;
//! assert!(again.events.is_empty());
//! assert!(cloud.call_log().is_empty());
//! # Ok(())
//! # }
//! ```

mod drift;
mod ensure;
mod inventory;
mod outcome;
mod remove;
mod unservable;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Service};
use kks_lb_adapter::{CapabilitiesCache, Executor, LbState};
use kks_lb_annotations::Defaults;
use kks_lb_octavia_model::Topology;
use kks_lb_planner::ClusterConfig;
use kube::runtime::reflector::ObjectRef;
use tokio::time::Instant;

use crate::config::Settings;
use crate::lock;
use crate::metrics::Metrics;

pub use drift::Sweep;
pub use ensure::{Prepared, Run};
pub use outcome::{LbAnnotations, MembersHealth, Outcome, Provisioning, StatusUpdate, Warnings};

/// A failed pass of the engine.
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
        /// It was deleted so the next pass creates it anew.
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

impl Error {
    /// A static PascalCase name for metrics and logs: the OpenStack error class for cloud
    /// failures (`Conflict`, `ServerError`, `WaitTimeout`, ...), else what went wrong.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Capabilities(e)
            | Error::Observe { source: e, .. }
            | Error::Execute { source: e, .. } => e.reason(),
            Error::Errored { .. } => "LoadBalancerError",
            Error::MissingId { .. } => "MissingLoadBalancerId",
        }
    }

    /// Whether retrying soon may succeed (cloud 5xx/409/429/timeouts, a load balancer in
    /// ERROR).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Capabilities(e)
            | Error::Observe { source: e, .. }
            | Error::Execute { source: e, .. } => e.is_retryable(),
            Error::Errored { .. } => true,
            Error::MissingId { .. } => false,
        }
    }

    /// The OpenStack error, for failed calls.
    pub fn cloud(&self) -> Option<&kks_lb_adapter::Error> {
        match self {
            Error::Capabilities(e)
            | Error::Observe { source: e, .. }
            | Error::Execute { source: e, .. } => Some(e),
            Error::Errored { .. } | Error::MissingId { .. } => None,
        }
    }

    /// Whether the user should hear about it as a `LoadBalancerError` Event: the cloud
    /// failed or the load balancer is broken.
    pub fn is_load_balancer_error(&self) -> bool {
        self.cloud().is_some() || matches!(self, Error::Errored { .. })
    }
}

/// What the engine needs to know about the cluster and its defaults.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Cluster name and id, VIP subnet, floating network, provider.
    pub cluster: ClusterConfig,
    /// Defaults for Services that say nothing (cloud.conf `[LoadBalancer]`).
    pub defaults: Defaults,
    /// Adopt untagged load balancers of the expected name (clouds without tags, migrations).
    pub adopt_untagged: bool,
    /// How long an observation is trusted, and the requeue of a settled Service (jittered
    /// by ±10 %): the drift check interval.
    pub resync: Duration,
}

impl EngineConfig {
    /// The production defaults for `cluster`: built-in Service defaults, no adoption of
    /// untagged load balancers, a 10 min resync.
    pub fn new(cluster: ClusterConfig) -> Self {
        EngineConfig {
            cluster,
            defaults: Defaults::default(),
            adopt_untagged: false,
            resync: Duration::from_secs(600),
        }
    }
}

impl From<&Settings> for EngineConfig {
    fn from(s: &Settings) -> Self {
        EngineConfig {
            cluster: s.cluster.clone(),
            defaults: s.defaults.clone(),
            adopt_untagged: s.adopt_untagged,
            resync: s.resync,
        }
    }
}

/// The last observation of a Service's load balancer: read from the cloud, or settled from
/// a plan that ran to its end. Trusted until `resync` has passed since the cloud was last
/// read; dropped before any plan runs and on every failure, so only a completed plan or a
/// fresh read fills it.
#[derive(Debug, Clone)]
struct Observed {
    topology: Topology,
    read_at: Instant,
    /// The load balancer as the read, the plan's last wait or the drift check's list last
    /// showed it (see [`drift`]).
    stamp: Option<LbState>,
}

/// Turns Services into load balancers; see the [module docs](self).
pub struct Engine {
    executor: Executor,
    caps: CapabilitiesCache,
    config: EngineConfig,
    metrics: Metrics,
    observed: Mutex<HashMap<ObjectRef<Service>, Observed>>,
    /// The term's first inventory (see [`Engine::set_inventory`]).
    inventory: Mutex<Option<inventory::Inventory>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `executor` (which holds the OpenStack session), with metrics of its
    /// own (unregistered; see [`Engine::with_metrics`]).
    pub fn new(executor: Executor, config: EngineConfig) -> Self {
        let mut registry = prometheus_client::registry::Registry::default();
        Engine {
            executor,
            caps: CapabilitiesCache::default(),
            config,
            metrics: Metrics::register(&mut registry),
            observed: Mutex::new(HashMap::new()),
            inventory: Mutex::new(None),
        }
    }

    /// Records plan steps and drift checks in `metrics`
    /// (`kks_lb_plan_steps`, `kks_lb_step_duration_seconds`, `kks_lb_drift_checks`).
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The executor, and through it the OpenStack client.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Brings the Service's load balancer to what the Service asks for, given the cluster's
    /// `nodes`, and returns what to write. See [`Engine::prepare`] for the guarantees.
    pub async fn ensure(&self, svc: &Service, nodes: &[Node]) -> Outcome {
        match self.prepare(svc, nodes).await {
            Prepared::Done(outcome) => outcome,
            Prepared::Run(mut run) => {
                let first = run.announce();
                first.then(run.execute().await)
            }
        }
    }

    /// Forgets everything the engine keeps for a Service (it is gone or no longer yours).
    pub fn forget(&self, oref: &ObjectRef<Service>) {
        self.uncache(oref);
    }

    /// Drops the Service's cached observation: its next pass reads the cloud. Call it when a
    /// pass failed after the engine returned (e.g. the status could not be written).
    pub fn drop_observation(&self, oref: &ObjectRef<Service>) {
        self.uncache(oref);
    }

    /// The cached observation of a Service's load balancer, while it is younger than the
    /// drift-check interval.
    fn cached(&self, oref: &ObjectRef<Service>) -> Option<Topology> {
        let observed = lock(&self.observed);
        let o = observed.get(oref)?;
        (o.read_at.elapsed() < self.config.resync).then(|| o.topology.clone())
    }

    /// Caches an observation; `read_at` is when the cloud was last read for it, `stamp` the
    /// load balancer's state as last seen.
    fn cache(
        &self,
        oref: ObjectRef<Service>,
        topology: Topology,
        read_at: Instant,
        stamp: Option<LbState>,
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
    fn take_cached(&self, oref: &ObjectRef<Service>) -> Option<(Instant, Option<LbState>)> {
        lock(&self.observed)
            .remove(oref)
            .map(|o| (o.read_at, o.stamp))
    }

    /// Forgets the cached observation (before a plan runs, after any failure).
    fn uncache(&self, oref: &ObjectRef<Service>) -> Option<Instant> {
        lock(&self.observed).remove(oref).map(|o| o.read_at)
    }
}

/// `d` scaled by a random factor in [0.9, 1.1], so resyncs of many Services spread out.
pub fn jittered(d: Duration) -> Duration {
    use rand::Rng;
    d.mul_f64(rand::rng().random_range(0.9..=1.1))
}
