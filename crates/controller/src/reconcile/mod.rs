//! The reconcile loop: one Service in, its load balancer, status, annotations and Events out.
//!
//! [`reconcile`] is what kube-runtime's `Controller` calls for a Service (see
//! [`crate::run`] for the wiring). It is a thin wrapper around the [`Engine`]: decide the
//! [`Phase`] from pure data ([`crate::status`]), then run the finalizer helper as the single
//! top-level step, whose `Apply` asks the engine to ensure the load balancer (or to release
//! a Service that stopped being a load balancer) and whose `Cleanup` asks it to remove the
//! load balancer; each engine [`Outcome`] is written by an
//! [`Applier`].
//!
//! The finalizer step runs in one of the `--concurrency` [`WorkSlots`]: at most that many
//! reconciles read, plan or write at once, and a reconcile that waits for its load balancer to
//! leave `PENDING_*` gives its slot back (the shared poller answers every waiter with one list
//! per tick, so more waiters cost no more calls). The check that nothing changed runs outside
//! a slot: it makes no call.
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
//! the `LoadBalancerReady` condition to False (the engine's outcome says so); a create that
//! met a full cluster subnet is a `SubnetExhausted` Event and condition instead, naming the
//! subnet, its CIDR and usage.

mod error;
mod nodes;
mod triggers;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Node, Service};
use kks_lb_adapter::{Executor, WorkSlots};
use kks_lb_annotations::parse;
use kks_lb_planner::eligible_nodes;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};

use tokio::time::Instant;

use crate::apply::Applier;
use crate::config::Settings;
use crate::engine::{Engine, EngineConfig, Outcome, Prepared, Provisioning, Sweep};
use crate::events::Publisher;
use crate::lock;
use crate::metrics::Metrics;
use crate::status::{FINALIZER, MembersKey, Phase, ServiceFacts, TriggerKey};

pub use crate::engine::jittered;
pub use error::{Error, Result, retry_delay};
pub use nodes::{NodeCache, NodeSignals};
use triggers::{Done, Memo, Memos, Pass};

/// Field manager of every write.
const FIELD_MANAGER: &str = "kks-lb-controller";

/// Shared state of all reconciles of one leadership term.
pub struct Context {
    client: Client,
    engine: Engine,
    applier: Applier,
    nodes: NodeCache,
    settings: Settings,
    metrics: Metrics,
    memo: Memos,
    /// `--concurrency`: reconciles that work at once; a wait for the cloud gives its slot back.
    slots: WorkSlots,
    lb_status: Mutex<LbStatusCount>,
    /// Each Service's `LoadBalancerReady` as last written, for the `kks_lb_services` gauge.
    readiness: Mutex<HashMap<ObjectRef<Service>, bool>>,
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
        let slots = WorkSlots::new(usize::from(settings.concurrency));
        Context {
            slots,
            engine: Engine::new(executor, EngineConfig::from(&settings))
                .with_metrics(metrics.clone()),
            applier: Applier::new(client.clone(), events, FIELD_MANAGER),
            client,
            nodes,
            settings,
            metrics,
            memo: Memos::default(),
            lb_status: Mutex::new(LbStatusCount::default()),
            readiness: Mutex::new(HashMap::new()),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// One drift check ([`Engine::sweep`]); the Services whose load balancer changed are due
    /// at once.
    ///
    /// # Errors
    /// The list failed; nothing was changed.
    pub async fn sweep(&self, tag: &str) -> Result<Sweep, kks_lb_adapter::Error> {
        let (sweep, changed) = self.engine.sweep(tag).await?;
        for oref in &changed {
            self.memo.due_now(oref);
        }
        Ok(sweep)
    }

    /// The nodes, once the node cache has its first complete list.
    async fn nodes(&self) -> Result<Arc<Vec<Node>>> {
        self.nodes.current().await.ok_or(Error::NodesUnavailable)
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

    fn forget(&self, oref: &ObjectRef<Service>) {
        self.memo.remove(oref);
        self.engine.forget(oref);
        self.applier.events().forget(oref);
        self.set_lb_status(oref, None);
        self.set_readiness(oref, None);
        self.metrics.forget_members(&crate::health::service_label(
            oref.namespace.as_deref(),
            &oref.name,
        ));
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

    /// Apply for a Service that wants a load balancer: the engine prepares the plan; before
    /// a plan runs, its announcement (warnings, `EnsuringLoadBalancer`, for a new load
    /// balancer a False condition) is written, then the plan runs and its outcome is written.
    async fn ensure(&self, svc: &Service, pass: &Pass) -> Result<Done> {
        let nodes = self.nodes().await?;
        // The steps' futures are boxed: a reconcile that waits for the cloud then holds only
        // the future of the step it is in, not room for the largest of them.
        match Box::pin(self.engine.prepare(svc, &nodes)).await {
            Prepared::Done(outcome) => Box::pin(self.write(svc, pass, outcome)).await,
            Prepared::Run(mut run) => {
                if !run.plan().is_empty() {
                    Box::pin(self.write(svc, pass, run.announce())).await?;
                }
                let outcome = Box::pin(run.execute()).await;
                Box::pin(self.write(svc, pass, outcome)).await
            }
        }
    }

    /// Writes an engine outcome: the gauges, then the Service (see [`Applier::apply`]); an
    /// outcome with an error becomes this reconcile's error once its report is written.
    async fn write(&self, svc: &Service, pass: &Pass, outcome: Outcome) -> Result<Done> {
        let oref = ObjectRef::from_obj(svc);
        match &outcome.provisioning {
            Provisioning::Unchanged => {}
            Provisioning::Is(s) => self.set_lb_status(&oref, Some(s.clone())),
            Provisioning::Gone => self.set_lb_status(&oref, None),
        }
        if let Some(r) = outcome.readiness() {
            self.set_readiness(&oref, Some(r.ready));
        }
        if let Some(h) = &outcome.health {
            let label = crate::health::service_label(oref.namespace.as_deref(), &oref.name);
            self.metrics
                .set_members(&label, |state| h.health.count(state));
        }
        let applied = self.applier.apply(svc, &outcome).await;
        if let Some(err) = outcome.error {
            if let Err(e) = applied {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "cannot record the failure on the Service"
                );
            }
            return Err(Error::Engine(err));
        }
        if let Some(s) = applied?.annotated {
            pass.wrote(&s);
        }
        Ok(Done {
            requeue: outcome.requeue,
            members: outcome.members,
            forget: outcome.forget,
        })
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
    if let Some(wait) = ctx.memo.unchanged(&oref, TriggerKey::of(&svc), members) {
        tracing::trace!("nothing changed since the last reconcile");
        return Ok(wait.map_or_else(Action::await_change, Action::requeue));
    }

    let _timer = ctx.metrics.reconcile_timer();
    let api = ctx.api(&svc);
    let pass = Pass::new(&svc);
    let outcome: Mutex<Option<Done>> = Mutex::new(None);
    let work = finalizer(&api, FINALIZER, Arc::clone(&svc), |event| async {
        let done = match event {
            FinalizerEvent::Apply(s) => {
                match ServiceFacts::of(&s, ctx.settings.load_balancer_class.as_deref()).phase() {
                    Phase::Ensure => Box::pin(ctx.ensure(&s, &pass)).await?,
                    Phase::Release => {
                        let outcome = Box::pin(ctx.engine.release(&s)).await;
                        Box::pin(ctx.write(&s, &pass, outcome)).await?
                    }
                    // The object changed under us; the next event decides.
                    Phase::Ignore | Phase::Cleanup | Phase::Gone => Done {
                        requeue: None,
                        members,
                        forget: false,
                    },
                }
            }
            FinalizerEvent::Cleanup(s) => {
                let outcome = Box::pin(ctx.engine.remove(&s)).await;
                Box::pin(ctx.write(&s, &pass, outcome)).await?
            }
        };
        *lock(&outcome) = Some(done);
        Ok(done
            .requeue
            .map_or_else(Action::await_change, Action::requeue))
    });
    let result = ctx.slots.run(work).await.map_err(Error::from_finalizer);

    let done = lock(&outcome).take();
    match (result, done) {
        (Ok(action), Some(done)) => {
            if done.forget {
                ctx.forget(&oref);
            } else {
                ctx.memo.remember(
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
            let failures = ctx.memo.failures(&oref).saturating_add(1);
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
            ctx.engine.drop_observation(&oref);
            // The events of our own writes (the condition above) must not bypass the backoff.
            ctx.memo.remember(
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
    let due = ctx.memo.due(&oref);
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
