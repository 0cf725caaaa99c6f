//! [`Executor`]: runs a planner `Plan` against OpenStack.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kks_lb_octavia_model::api::neutron::CreateFloatingIp;
use kks_lb_octavia_model::api::octavia::{
    CreateHealthMonitor, CreateListener, CreateLoadBalancer, CreateMember, CreatePool,
    MembersBatchUpdate,
};
use kks_lb_octavia_model::bodies::create_floating_ip;
use kks_lb_octavia_model::{ListenerKey, Protocol, ProvisioningStatus, Topology};
use kks_lb_planner::{Changes, ObjKey, ObjRef, Plan, Step};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

mod claim;
mod lookup;

use self::lookup::Find;
use crate::client::{OpenStackClient, Reply};
use crate::error::{Error, Result, Service};
use crate::pacing::Backoff;
use crate::poller::{LbState, Poller, Sighting, WaitRecorder, status_of};

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
            let done = run.mutate(n, step).await;
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

    /// Calls with retries of retryable errors. `lb` is waited for on 409 (locked).
    #[allow(clippy::too_many_arguments)]
    async fn call(
        &self,
        service: Service,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotent: bool,
        lb: Option<&str>,
    ) -> Result<Reply> {
        let mut attempt = 0;
        loop {
            match self
                .client
                .call(service, method.clone(), path, query, body)
                .await
            {
                Ok(r) => return Ok(r),
                Err(e) => {
                    // A create is sent again here only when the cloud said it did nothing
                    // (409 locked, 429); after a 5xx, a timeout or a dropped connection its
                    // outcome is unknown and the caller looks it up first.
                    let refused = matches!(e.status(), Some(409 | 429));
                    // A full subnet is not freed within a few seconds: the reconcile retries
                    // it on its own backoff instead of sending the create again here.
                    let retry = e.is_retryable()
                        && !e.is_subnet_exhausted()
                        && (idempotent || refused)
                        && attempt + 1 < self.cfg.max_attempts;
                    if !retry {
                        return Err(e);
                    }
                    tracing::debug!(error = &e as &dyn std::error::Error, attempt, "retrying");
                    match (e.status(), lb) {
                        (Some(409), Some(id)) => {
                            self.wait_for(id, Instant::now()).await.map(|_| ())?;
                        }
                        _ => tokio::time::sleep(self.cfg.backoff.delay(attempt)).await,
                    }
                    attempt += 1;
                }
            }
        }
    }

    /// Waits until the load balancer leaves PENDING_*; returns the final status, or `None`
    /// when it is gone; [`Error::WaitTimeout`] after the wait limit. The shared [`Poller`]
    /// answers (one list call per tick for every waiter); when it cannot, this load
    /// balancer is polled on its own.
    async fn wait_for(&self, id: &str, started: Instant) -> Result<Option<LbState>> {
        let result = match self.poller.join(id) {
            Some(mut waiter) => {
                let mut last: Option<LbState> = None;
                loop {
                    let left = self.cfg.wait_limit.saturating_sub(started.elapsed());
                    let Ok(seen) = tokio::time::timeout(left, waiter.next()).await else {
                        break Err(self.wait_timeout(id, last.as_ref(), started));
                    };
                    let state = match seen {
                        Sighting::Gone => break Ok(None),
                        Sighting::None => last.take(),
                        Sighting::Status(s) => s,
                        Sighting::PollYourself => match self.read_status(id).await {
                            Ok(Some(s)) => s,
                            Ok(None) => break Ok(None),
                            Err(e) => break Err(e),
                        },
                    };
                    match state {
                        Some(s) if !s.provisioning.is_pending() => break Ok(Some(s)),
                        other => last = other,
                    }
                    if started.elapsed() >= self.cfg.wait_limit {
                        break Err(self.wait_timeout(id, last.as_ref(), started));
                    }
                }
            }
            None => self.poll_alone(id, started).await,
        };
        if let Some(r) = self.poller.recorder() {
            r.waited(started.elapsed());
        }
        result
    }

    fn wait_timeout(&self, id: &str, status: Option<&LbState>, started: Instant) -> Error {
        Error::WaitTimeout {
            lb_id: id.to_owned(),
            status: status.map_or_else(|| "unknown".to_owned(), |s| s.provisioning.to_string()),
            waited: started.elapsed(),
        }
    }

    /// One `GET` of the load balancer: `Ok(None)` when it is gone, `Ok(Some(None))` when the
    /// status could not be read (a retryable error).
    async fn read_status(&self, id: &str) -> Result<Option<Option<LbState>>> {
        match self
            .client
            .call(
                Service::Octavia,
                Method::GET,
                &["lbaas", "loadbalancers", id],
                &[],
                None,
            )
            .await
        {
            Ok(r) => Ok(Some(status_of(&r.body))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) if e.is_retryable() => Ok(Some(None)),
            Err(e) => Err(e),
        }
    }

    /// Polls one load balancer on its own (clouds whose list refuses the tag filter).
    async fn poll_alone(&self, id: &str, started: Instant) -> Result<Option<LbState>> {
        let mut n = 0;
        loop {
            let Some(status) = self.read_status(id).await? else {
                return Ok(None);
            };
            match status {
                Some(s) if !s.provisioning.is_pending() => return Ok(Some(s)),
                _ => {}
            }
            if started.elapsed() >= self.cfg.wait_limit {
                return Err(self.wait_timeout(id, status.as_ref(), started));
            }
            tokio::time::sleep(self.cfg.backoff.delay(n)).await;
            n += 1;
        }
    }
}

fn changes_body(changes: &Changes) -> Value {
    Value::Object(
        changes
            .iter()
            .map(|(k, c)| (k.clone(), c.to.clone()))
            .collect(),
    )
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Decode {
        what: "request body".into(),
        message: e.to_string(),
    })
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

impl Run<'_> {
    fn seed(&mut self, o: &Topology) {
        let lb = &o.loadbalancer;
        if let Some(id) = &lb.id {
            self.ids.insert(ObjKey::Loadbalancer, id.clone());
        }
        if let Some(p) = &lb.vip_port_id {
            self.ids.insert(ObjKey::VipPort, p.clone());
        }
        self.vip_address.clone_from(&lb.vip_address);
        self.busy = lb
            .provisioning_status
            .is_none_or(ProvisioningStatus::is_pending);
        for l in &lb.listeners {
            let k = l.key();
            if let Some(id) = &l.id {
                self.ids.insert(ObjKey::Listener(k), id.clone());
            }
            if let Some(p) = &l.default_pool {
                if let Some(id) = &p.id {
                    self.ids.insert(ObjKey::Pool(k), id.clone());
                }
                if let Some(id) = p.healthmonitor.as_ref().and_then(|h| h.id.as_ref()) {
                    self.ids.insert(ObjKey::Healthmonitor(k), id.clone());
                }
            }
        }
        for p in &lb.detached_pools {
            if let Some(id) = &p.id {
                self.ids
                    .insert(ObjKey::DetachedPool(id.clone()), id.clone());
            }
        }
        if let Some(f) = &o.floatingip {
            if let Some(id) = &f.id {
                self.ids.insert(ObjKey::Floatingip, id.clone());
            }
            self.floating_ip.clone_from(&f.floating_ip_address);
        }
    }

    fn resolve(&self, n: usize, op: &'static str, r: &ObjRef) -> Result<String> {
        r.id.clone()
            .or_else(|| self.ids.get(&r.key).cloned())
            .ok_or_else(|| Error::UnresolvedReference {
                step: n,
                op,
                key: r.key.to_string(),
            })
    }

    fn lb_id(&self) -> Option<String> {
        self.ids.get(&ObjKey::Loadbalancer).cloned()
    }

    async fn wait_active(&mut self, n: usize, op: &'static str, created: bool) -> Result<()> {
        let Some(id) = self.lb_id() else {
            return Ok(());
        };
        let seen = self.ex.wait_for(&id, Instant::now()).await?;
        let status = seen.as_ref().map(|s| s.provisioning);
        self.state = seen;
        match status {
            Some(ProvisioningStatus::Error) => {
                if created {
                    // SPEC.md §8: an LB that ends in ERROR on create is deleted and recreated on
                    // the next reconcile.
                    let _ = self
                        .ex
                        .call(
                            Service::Octavia,
                            Method::DELETE,
                            &["lbaas", "loadbalancers", &id],
                            &[("cascade", "true".into())],
                            None,
                            true,
                            None,
                        )
                        .await;
                }
                Err(Error::LoadBalancerFailed {
                    lb_id: id,
                    step: n,
                    op,
                })
            }
            _ => Ok(()),
        }
    }

    async fn octavia(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Reply> {
        let lb = self.lb_id();
        self.ex
            .call(
                Service::Octavia,
                method,
                path,
                &[],
                body,
                idempotent,
                lb.as_deref(),
            )
            .await
    }

    async fn neutron(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Reply> {
        self.ex
            .call(
                Service::Neutron,
                method,
                path,
                query,
                body,
                idempotent,
                None,
            )
            .await
    }

    async fn delete(
        &self,
        service: Service,
        path: &[&str],
        query: &[(&str, String)],
    ) -> Result<()> {
        let lb = self.lb_id();
        match self
            .ex
            .call(
                service,
                Method::DELETE,
                path,
                query,
                None,
                true,
                lb.as_deref(),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The project sent with every create in noauth mode.
    fn project(&self) -> Option<String> {
        self.ex.client.noauth_project().map(str::to_owned)
    }

    /// Records the ids of a listener (and its default pool) from a create response.
    fn record_listener(&mut self, l: &Value) {
        let (Some(id), Some(protocol), Some(port)) = (
            str_at(l, "/id"),
            str_at(l, "/protocol").and_then(|p| p.parse::<Protocol>().ok()),
            l.get("protocol_port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok()),
        ) else {
            return;
        };
        let k = ListenerKey {
            protocol,
            protocol_port: port,
        };
        self.ids.insert(ObjKey::Listener(k), id.to_owned());
        if let Some(pool) = str_at(l, "/default_pool_id") {
            self.ids.insert(ObjKey::Pool(k), pool.to_owned());
        }
    }

    /// `PUT /v2/lbaas/<collection>/{id}` with the changed fields.
    async fn update(
        &self,
        n: usize,
        op: &'static str,
        r: &ObjRef,
        kind: &str,
        collection: &str,
        changes: &Changes,
    ) -> Result<()> {
        let id = self.resolve(n, op, r)?;
        let body = json!({ kind: changes_body(changes) });
        self.octavia(Method::PUT, &["lbaas", collection, &id], Some(&body), true)
            .await?;
        Ok(())
    }

    /// `DELETE /v2/lbaas/<collection>/{id}` (404 = already gone); forgets the id.
    async fn remove(
        &mut self,
        n: usize,
        op: &'static str,
        r: &ObjRef,
        collection: &str,
    ) -> Result<()> {
        let id = self.resolve(n, op, r)?;
        self.delete(Service::Octavia, &["lbaas", collection, &id], &[])
            .await?;
        self.ids.remove(&r.key);
        Ok(())
    }

    /// Step `n`: its call, the flags it leaves, and for a create of the load balancer the wait
    /// for ACTIVE. Errors name the step.
    async fn mutate(&mut self, n: usize, step: &Step) -> Result<()> {
        self.step(n, step).await.map_err(|e| match e {
            Error::Step { .. }
            | Error::LoadBalancerFailed { .. }
            | Error::UnresolvedReference { .. } => e,
            other => Error::Step {
                step: n,
                op: step.op(),
                source: Box::new(other),
            },
        })?;
        if step.locks_loadbalancer() && !self.deleted {
            self.busy = true;
            self.state = None;
        }
        if let Step::CreateLoadbalancer { .. } = step {
            // Only a freshly created load balancer is deleted when it ends in ERROR.
            self.wait_active(n, step.op(), true).await?;
            self.busy = false;
        }
        Ok(())
    }

    #[allow(clippy::too_many_lines)]
    async fn step(&mut self, n: usize, step: &Step) -> Result<()> {
        let op = step.op();
        let span = tracing::info_span!("step", n, op, lb = self.lb_id().unwrap_or_default());
        let _enter = span.enter();
        match step {
            Step::CreateLoadbalancer { loadbalancer } => {
                let body = json!({ "loadbalancer": to_json(&CreateLoadBalancer {
                    project_id: self.project(),
                    ..CreateLoadBalancer::from(loadbalancer)
                })? });
                let find = Find::Loadbalancer {
                    name: &loadbalancer.name,
                    tags: &loadbalancer.tags,
                };
                let r = self
                    .create(Service::Octavia, &["lbaas", "loadbalancers"], &body, find)
                    .await?;
                let lb = r.body.get("loadbalancer").cloned().unwrap_or(Value::Null);
                let id = str_at(&lb, "/id").ok_or_else(|| Error::Decode {
                    what: "load balancer create".into(),
                    message: "no id in the response".into(),
                })?;
                self.ids.insert(ObjKey::Loadbalancer, id.to_owned());
                if let Some(p) = str_at(&lb, "/vip_port_id") {
                    self.ids.insert(ObjKey::VipPort, p.to_owned());
                }
                self.vip_address = str_at(&lb, "/vip_address").map(str::to_owned);
                for l in lb
                    .get("listeners")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    self.record_listener(l);
                }
                // Monitors come inside the pools (`healthmonitor` on Octavia 19,
                // `healthmonitor_id` elsewhere).
                for p in lb
                    .get("pools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let hm =
                        str_at(p, "/healthmonitor_id").or_else(|| str_at(p, "/healthmonitor/id"));
                    let key = str_at(p, "/id").and_then(|id| {
                        self.ids
                            .iter()
                            .find(|(k, v)| matches!(k, ObjKey::Pool(_)) && v.as_str() == id)
                            .and_then(|(k, _)| k.listener_key())
                    });
                    if let (Some(hm), Some(k)) = (hm, key) {
                        self.ids.insert(ObjKey::Healthmonitor(k), hm.to_owned());
                    }
                }
                self.deleted = false;
            }
            Step::UpdateLoadbalancer {
                loadbalancer,
                changes,
            } => {
                self.update(
                    n,
                    op,
                    loadbalancer,
                    "loadbalancer",
                    "loadbalancers",
                    changes,
                )
                .await?;
            }
            Step::DeleteLoadbalancer {
                loadbalancer,
                cascade,
            } => {
                let id = self.resolve(n, op, loadbalancer)?;
                let query = if *cascade {
                    vec![("cascade", "true".to_owned())]
                } else {
                    vec![]
                };
                self.delete(Service::Octavia, &["lbaas", "loadbalancers", &id], &query)
                    .await?;
                // Wait until it is gone, so nothing it held outlives the plan.
                self.ex.wait_for(&id, Instant::now()).await?;
                self.ids.clear();
                self.vip_address = None;
                self.deleted = true;
                self.busy = false;
            }
            Step::CreateListener {
                loadbalancer,
                listener,
                default_pool,
            } => {
                let lb = self.resolve(n, op, loadbalancer)?;
                let default_pool_id = match default_pool {
                    Some(p) => Some(self.resolve(n, op, p)?),
                    None => None,
                };
                let body = to_json(&CreateListener {
                    loadbalancer_id: Some(lb.clone()),
                    default_pool_id,
                    default_pool: None,
                    project_id: self.project(),
                    ..CreateListener::from(listener)
                })?;
                let find = Find::Listener {
                    lb: &lb,
                    key: listener.key(),
                };
                let l = self
                    .create_child("listener", "listeners", body, find)
                    .await?;
                self.record_listener(&l);
            }
            Step::UpdateListener { listener, changes } => {
                self.update(n, op, listener, "listener", "listeners", changes)
                    .await?;
            }
            Step::DeleteListener { listener } => {
                self.remove(n, op, listener, "listeners").await?;
            }
            Step::CreatePool { parent, key, pool } => {
                let parent_id = self.resolve(n, op, parent)?;
                let lb = self.lb_id().unwrap_or_default();
                let (loadbalancer_id, listener_id) = match parent.key {
                    ObjKey::Loadbalancer => (Some(parent_id), None),
                    _ => (None, Some(parent_id)),
                };
                let body = to_json(&CreatePool {
                    loadbalancer_id,
                    listener_id,
                    members: None,
                    healthmonitor: None,
                    project_id: self.project(),
                    ..CreatePool::from(pool)
                })?;
                let find = Find::Pool {
                    lb: &lb,
                    name: &pool.name,
                };
                let p = self.create_child("pool", "pools", body, find).await?;
                let id = str_at(&p, "/id").ok_or_else(|| Error::Decode {
                    what: "pool create".into(),
                    message: "no id".into(),
                })?;
                self.ids.insert(ObjKey::Pool(*key), id.to_owned());
            }
            Step::UpdatePool { pool, changes } => {
                self.update(n, op, pool, "pool", "pools", changes).await?;
            }
            Step::DeletePool { pool } => {
                self.remove(n, op, pool, "pools").await?;
                if let Some(k) = pool.key.listener_key() {
                    self.ids.remove(&ObjKey::Healthmonitor(k));
                }
            }
            Step::ReplaceMembers { pool, members } => {
                let id = self.resolve(n, op, pool)?;
                let body = to_json(&MembersBatchUpdate {
                    members: members.iter().map(CreateMember::from).collect(),
                })?;
                self.octavia(
                    Method::PUT,
                    &["lbaas", "pools", &id, "members"],
                    Some(&body),
                    true,
                )
                .await?;
            }
            Step::CreateHealthmonitor {
                pool,
                healthmonitor,
            } => {
                let p = self.resolve(n, op, pool)?;
                let body = to_json(&CreateHealthMonitor {
                    pool_id: Some(p.clone()),
                    project_id: self.project(),
                    ..CreateHealthMonitor::from(healthmonitor)
                })?;
                let hm = self
                    .create_child(
                        "healthmonitor",
                        "healthmonitors",
                        body,
                        Find::Monitor { pool: &p },
                    )
                    .await?;
                if let (Some(id), Some(k)) = (str_at(&hm, "/id"), pool.key.listener_key()) {
                    self.ids.insert(ObjKey::Healthmonitor(k), id.to_owned());
                }
            }
            Step::UpdateHealthmonitor {
                healthmonitor,
                changes,
            } => {
                self.update(
                    n,
                    op,
                    healthmonitor,
                    "healthmonitor",
                    "healthmonitors",
                    changes,
                )
                .await?;
            }
            Step::DeleteHealthmonitor { healthmonitor } => {
                self.remove(n, op, healthmonitor, "healthmonitors").await?;
            }
            Step::CreateFloatingip { port, floatingip } => {
                let port = self.resolve(n, op, port)?;
                let network = floatingip.floating_network_id.clone().ok_or_else(|| {
                    Error::Config(
                        "no floating-network-id configured for external load balancers".into(),
                    )
                })?;
                let body = json!({ "floatingip": to_json(&CreateFloatingIp {
                    project_id: self.project(),
                    ..create_floating_ip(floatingip, &network, &port)
                })? });
                let find = Find::Floatingip {
                    port: &port,
                    description: &floatingip.description,
                };
                let r = self
                    .create(Service::Neutron, &["floatingips"], &body, find)
                    .await?;
                let id = str_at(&r.body, "/floatingip/id")
                    .ok_or_else(|| Error::Decode {
                        what: "floating IP create".into(),
                        message: "no id".into(),
                    })?
                    .to_owned();
                self.ids.insert(ObjKey::Floatingip, id);
                self.floating_ip =
                    str_at(&r.body, "/floatingip/floating_ip_address").map(str::to_owned);
            }
            Step::TagFloatingip { floatingip, tags } => {
                let id = self.resolve(n, op, floatingip)?;
                let body = json!({ "tags": tags });
                self.neutron(
                    Method::PUT,
                    &["floatingips", &id, "tags"],
                    &[],
                    Some(&body),
                    true,
                )
                .await?;
            }
            Step::AssociateFloatingip { floatingip, port } => {
                let port = self.resolve(n, op, port)?;
                let (id, address) = match &floatingip.id {
                    Some(id) => (id.clone(), floatingip.floating_ip_address.clone()),
                    None => {
                        let address = floatingip.floating_ip_address.clone().ok_or_else(|| {
                            Error::Config("associate_floatingip needs an address or an id".into())
                        })?;
                        match self.free_address(&address, &port, floatingip).await? {
                            Some(free) => {
                                // Bind only the revision we checked: a concurrent claim that
                                // got there first makes Neutron answer 412.
                                self.claim_address(&address, &free, &port).await?;
                                self.ids.insert(ObjKey::Floatingip, free.id);
                                self.floating_ip = Some(address);
                                return Ok(());
                            }
                            None => {
                                // Bound to this VIP already.
                                self.floating_ip = Some(address);
                                return Ok(());
                            }
                        }
                    }
                };
                let body = json!({ "floatingip": { "port_id": port } });
                let r = self
                    .neutron(Method::PUT, &["floatingips", &id], &[], Some(&body), true)
                    .await?;
                self.ids.insert(ObjKey::Floatingip, id);
                self.floating_ip = address.or_else(|| {
                    str_at(&r.body, "/floatingip/floating_ip_address").map(str::to_owned)
                });
            }
            Step::DisassociateFloatingip { floatingip } => {
                let id = self.resolve(n, op, floatingip)?;
                let body = json!({ "floatingip": { "port_id": null } });
                match self
                    .neutron(Method::PUT, &["floatingips", &id], &[], Some(&body), true)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
                self.ids.remove(&ObjKey::Floatingip);
                self.floating_ip = None;
            }
            Step::DeleteFloatingip { floatingip } => {
                let id = self.resolve(n, op, floatingip)?;
                self.delete(Service::Neutron, &["floatingips", &id], &[])
                    .await?;
                self.ids.remove(&ObjKey::Floatingip);
                self.floating_ip = None;
            }
        }
        Ok(())
    }
}
