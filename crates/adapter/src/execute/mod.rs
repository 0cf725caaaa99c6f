//! [`Executor`]: runs a planner `Plan` against OpenStack.
//!
//! This file holds the API ([`Executor`], [`ExecuteConfig`], [`Outcome`], [`StepTiming`],
//! [`Execution`]) and the plan loop (per-load-balancer lock, waits between mutations, step
//! timings). The rest:
//! - `steps`: the step match, each `Step` turned into its OpenStack call and the ids it records;
//! - `call`: every call with retries, and the per-service, update and delete helpers;
//! - `wait`: waiting for a load balancer to leave PENDING_* (shared poller or own polling);
//! - `ids`: id resolution, seeded from the observed topology and from create responses;
//! - `lookup`: creates whose outcome is unknown, looked up before they are sent again;
//! - `claim`: claims on existing floating IPs with Neutron's revision check.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kks_lb_octavia_model::Topology;
use kks_lb_planner::{ObjKey, Plan, Step};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

mod call;
mod claim;
mod ids;
mod lookup;
mod steps;
mod wait;

use crate::client::OpenStackClient;
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::pacing::Backoff;
use crate::poller::{LbState, Poller, WaitRecorder};

/// How the executor paces itself.
#[derive(Debug, Clone)]
pub struct ExecuteConfig {
    /// Backoff between polls for ACTIVE and between retries (SPEC.md §8: 1 s, cap 5 s).
    pub backoff: Backoff,
    /// The longest wait for one load balancer to leave PENDING_* (default 10 min).
    pub wait_limit: Duration,
    /// Attempts per call for retryable errors (default 6).
    pub max_attempts: u32,
}

impl Default for ExecuteConfig {
    fn default() -> Self {
        ExecuteConfig {
            backoff: Backoff::default(),
            wait_limit: Duration::from_secs(600),
            max_attempts: 6,
        }
    }
}

/// What an executed plan left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The load balancer id (`None` after a delete).
    pub loadbalancer_id: Option<String>,
    /// The VIP address.
    pub vip_address: Option<String>,
    /// The VIP port.
    pub vip_port_id: Option<String>,
    /// The floating IP address bound to the VIP, if any.
    pub floating_ip: Option<String>,
    /// Steps executed.
    pub steps_done: usize,
    /// The cloud id of every object the plan knew or created, by key: with the desired
    /// topology, what the cloud now holds (see `kks_lb_planner::settled`).
    pub ids: BTreeMap<ObjKey, String>,
    /// The load balancer as the wait after the plan's last mutation saw it (`None` when the
    /// plan changed nothing or deleted it): the drift check's reference.
    pub state: Option<LbState>,
}

/// How long one step of a plan took, as [`Executor::execute_timed`] reports it.
///
/// A step's time runs from the moment it may start (the load balancer is ACTIVE again after
/// the earlier steps) until its mutation has taken effect: its call, with retries and the
/// look-up of an unknown outcome, and for a mutation of the load balancer the wait for ACTIVE
/// that follows it (made before the next such step, or at the end of the plan). The times of a
/// plan's steps add up to the plan's time, less the waits for the lock of another plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTiming {
    /// 1-based step number in the plan.
    pub step: usize,
    /// The step's op ([`Step::op`]).
    pub op: &'static str,
    /// How long it took.
    pub duration: Duration,
}

/// What [`Executor::execute_timed`] reports: the time of every step that ran, and the outcome.
#[derive(Debug)]
pub struct Execution {
    /// One entry per step that ran, in order: every step of a plan that succeeded; up to and
    /// including the failed step of one that failed (a step whose wait for ACTIVE before it
    /// failed did not run; that wait counts to the step that caused it).
    pub steps: Vec<StepTiming>,
    /// The outcome, as [`Executor::execute`] returns it.
    pub result: Result<Outcome>,
}

/// Runs plans: steps in order, symbolic references resolved from observed ids and from the
/// responses of earlier steps, a wait for ACTIVE between mutations of one load balancer,
/// retries of retryable errors, and at most one executing plan per load balancer.
#[derive(Debug)]
pub struct Executor {
    client: OpenStackClient,
    cfg: ExecuteConfig,
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    poller: Poller,
}

struct Run<'a> {
    ex: &'a Executor,
    ids: BTreeMap<ObjKey, String>,
    vip_address: Option<String>,
    floating_ip: Option<String>,
    /// The load balancer may be PENDING_*: wait before the next mutation.
    busy: bool,
    deleted: bool,
    /// The observed load balancer carries the poller's tag ([`Poller::would_list`]).
    listed: bool,
    /// What the last wait saw, cleared by every later mutation.
    state: Option<LbState>,
}

impl Executor {
    /// An executor over a client.
    ///
    /// Waits for ACTIVE share one [`Poller`] listing every load balancer of the project;
    /// [`Executor::with_poll_tag`] narrows it to the cluster's.
    pub fn new(client: OpenStackClient, cfg: ExecuteConfig) -> Self {
        let poller = Poller::new(client.clone(), cfg.backoff.clone(), None);
        Executor {
            client,
            cfg,
            locks: Mutex::new(HashMap::new()),
            poller,
        }
    }

    /// The shared poller lists only load balancers tagged `tag` (the cluster tag).
    #[must_use]
    pub fn with_poll_tag(mut self, tag: impl Into<String>) -> Self {
        self.poller = Poller::new(
            self.client.clone(),
            self.cfg.backoff.clone(),
            Some(tag.into()),
        );
        self
    }

    /// Reports the waits (how many load balancers wait, how long each wait took).
    pub fn set_wait_recorder(&self, recorder: Arc<dyn WaitRecorder>) {
        self.poller.set_recorder(recorder);
    }

    /// The shared poller.
    pub fn poller(&self) -> &Poller {
        &self.poller
    }

    /// The client.
    pub fn client(&self) -> &OpenStackClient {
        &self.client
    }

    /// Executes `plan`, made against `observed`, for the load balancer named `lb_name`.
    ///
    /// # Guarantees
    /// - Steps run in order, each once; a step's references are resolved from `observed`'s
    ///   ids and from the responses of earlier steps.
    /// - Between two mutations of the load balancer the executor waits for ACTIVE, polling
    ///   with capped exponential backoff and jitter on tokio time, up to the wait limit.
    /// - Retryable errors (5xx, 409, 429, timeouts) are retried with backoff. A create whose
    ///   outcome is unknown (5xx, timeout, dropped connection) is never sent blindly again:
    ///   what it may have made is looked up first (by name, parent or port, and owner).
    /// - A load balancer that goes to ERROR while being created is deleted, so the next
    ///   reconcile creates it anew; ERROR after an update stops the plan.
    /// - One plan at a time per `lb_name`: a second call waits for the first.
    /// - Cancellable: dropping the future stops after the call in flight; the next
    ///   observe + plan + execute continues from what exists.
    ///
    /// # Errors
    /// [`Error::Step`] naming the failed step and carrying the OpenStack status and request
    /// id, [`Error::LoadBalancerFailed`], [`Error::WaitTimeout`].
    pub async fn execute(
        &self,
        lb_name: &str,
        plan: &Plan,
        observed: Option<&Topology>,
    ) -> Result<Outcome> {
        self.execute_timed(lb_name, plan, observed).await.result
    }

    /// Like [`Executor::execute`], and reports how long each step took ([`StepTiming`]), on
    /// success and on failure.
    pub async fn execute_timed(
        &self,
        lb_name: &str,
        plan: &Plan,
        observed: Option<&Topology>,
    ) -> Execution {
        let mut steps = Vec::with_capacity(plan.steps.len());
        let result = self.run_plan(lb_name, plan, observed, &mut steps).await;
        Execution { steps, result }
    }

    async fn run_plan(
        &self,
        lb_name: &str,
        plan: &Plan,
        observed: Option<&Topology>,
        timings: &mut Vec<StepTiming>,
    ) -> Result<Outcome> {
        let lock = {
            let mut locks = self.locks.lock().await;
            locks.entry(lb_name.to_owned()).or_default().clone()
        };
        let _guard = lock.lock().await;
        let mut run = Run {
            ex: self,
            ids: BTreeMap::new(),
            vip_address: None,
            floating_ip: None,
            busy: false,
            deleted: false,
            listed: false,
            state: None,
        };
        if let Some(o) = observed {
            run.seed(o);
        }
        // The timing of the step whose mutation the next wait for ACTIVE waits out.
        let mut pending: Option<usize> = None;
        for (i, step) in plan.steps.iter().enumerate() {
            let n = i + 1;
            if step.locks_loadbalancer()
                && run.busy
                && !matches!(step, Step::CreateLoadbalancer { .. })
            {
                let started = Instant::now();
                let ready = run.wait_active(n, step.op(), false).await;
                charge_wait(timings, &mut pending, started);
                ready?;
            }
            let started = Instant::now();
            // Boxed: a plan that waits for ACTIVE holds no room for a call's future.
            let done = Box::pin(run.mutate(n, step)).await;
            timings.push(StepTiming {
                step: n,
                op: step.op(),
                duration: started.elapsed(),
            });
            done?;
            if step.locks_loadbalancer() && run.busy {
                pending = Some(timings.len() - 1);
            }
        }
        if run.busy && !run.deleted {
            let started = Instant::now();
            let ready = run.wait_active(plan.steps.len(), "wait", false).await;
            charge_wait(timings, &mut pending, started);
            ready?;
        }
        Ok(Outcome {
            loadbalancer_id: run.ids.get(&ObjKey::Loadbalancer).cloned(),
            vip_address: run.vip_address,
            vip_port_id: run.ids.get(&ObjKey::VipPort).cloned(),
            floating_ip: run.floating_ip,
            steps_done: plan.steps.len(),
            ids: run.ids,
            state: run.state,
        })
    }
}

fn str_at<'v>(v: &'v Value, ptr: &str) -> Option<&'v str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// Adds the time since `started` (a wait for ACTIVE) to the step that caused the wait.
fn charge_wait(timings: &mut [StepTiming], pending: &mut Option<usize>, started: Instant) {
    if let Some(t) = pending.take().and_then(|i| timings.get_mut(i)) {
        t.duration += started.elapsed();
    }
}
