//! Ensure: parse → desired → observe → plan → execute, and the status, annotations and
//! Events that follow.

use k8s_openapi::api::core::v1::{Node, Service};
use kks_lb_adapter::{Execution, LbState, Observation, Ownership, observe_stamped_with};
use kks_lb_annotations::{AnnotationError, LbSpec, parse_report};
use kks_lb_octavia_model::Topology;
use kks_lb_planner::{
    Capabilities, Plan, Recovery, adapt, cluster_tag, desired, eligible_nodes, lb_name, plan,
    recovery, servable, service_tag, settled,
};
use kube::runtime::reflector::ObjectRef;
use tokio::time::Instant;

use super::{
    Engine, Error, LbAnnotations, MembersHealth, Outcome, Provisioning, Warnings, jittered,
};
use crate::events::{Note, Reason};
use crate::status::{self, IngressUpdate, MembersKey, Readiness};

/// What [`Engine::prepare`] found: either the pass is over, or a plan is ready to run.
// Made once per pass and consumed at once: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Prepared<'a> {
    /// Nothing to execute: the Service is invalid, names a load balancer that is not ours,
    /// cannot be served, or the cloud failed; the outcome says so.
    Done(Outcome),
    /// A plan (possibly empty) is ready: [`Run::announce`], then [`Run::execute`].
    Run(Run<'a>),
}

/// A plan ready to run for one Service.
pub struct Run<'a> {
    engine: &'a Engine,
    oref: ObjectRef<Service>,
    spec: LbSpec,
    name: String,
    want: Topology,
    caps: Capabilities,
    plan: Plan,
    observed: Option<Topology>,
    members: MembersKey,
    read_at: Instant,
    stamp: Option<LbState>,
    /// Warnings and notes decided before the plan runs, not yet handed out.
    before: Option<Outcome>,
}

impl std::fmt::Debug for Run<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("lb", &self.name)
            .field("steps", &self.plan.steps.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Everything of [`Engine::ensure`] up to the plan.
    ///
    /// # Guarantees
    /// - An invalid Service makes no cloud call: every error becomes an `InvalidAnnotation`
    ///   Event and the condition turns False; the last good load balancer keeps serving.
    /// - A `load-balancer-id` naming a load balancer we do not own: a `ForeignLoadBalancer`
    ///   Event, the condition turns False, nothing in the cloud is touched.
    /// - No port the cloud can serve: no load balancer and no floating IP (one of ours is
    ///   deleted), a `NoServablePorts` Event and condition, no ingress.
    /// - Otherwise a plan is ready (empty when the cloud already matches); running it sets
    ///   `load-balancer-id`/`-address` and the status.
    /// - Warnings are handed out when the plan changes the cloud, and otherwise marked for
    ///   publication only if they changed.
    /// - Running the plan also reports the members' health (`LoadBalancerMembersHealthy`):
    ///   no OpenStack call while the load balancer is `ONLINE` (see [`crate::health`]).
    ///
    /// Cloud failures come back as a [`Prepared::Done`] outcome with its `error` set.
    pub async fn prepare<'a>(&'a self, svc: &Service, nodes: &[Node]) -> Prepared<'a> {
        let report = parse_report(svc, &self.config.defaults);
        let warnings: Vec<Note> = report
            .warnings
            .iter()
            .map(|w| Note::new(w.reason.into(), format!("{}: {}", w.key, w.message)))
            .collect();
        let parsed = match report.into_result() {
            Ok(parsed) => parsed,
            Err(errors) => return Prepared::Done(invalid(&errors, warnings)),
        };
        let spec = parsed.spec;
        let members = MembersKey::of(&eligible_nodes(&spec, nodes));
        match self.plan_for(svc, spec, nodes, warnings, members).await {
            Ok(prepared) => prepared,
            Err(err) => {
                self.uncache(&ObjectRef::from_obj(svc));
                Prepared::Done(Outcome::failed(err, true, members))
            }
        }
    }

    async fn plan_for<'a>(
        &'a self,
        svc: &Service,
        spec: LbSpec,
        nodes: &[Node],
        mut warnings: Vec<Note>,
        members: MembersKey,
    ) -> Result<Prepared<'a>, Error> {
        let config = &self.config;
        let name = lb_name(&config.cluster.cluster_name, &spec.namespace, &spec.name);
        let client = self.executor.client();
        let caps = self
            .caps
            .get(client, &config.cluster.provider)
            .await
            .map_err(Error::Capabilities)?;
        let want = desired(&spec, nodes, &config.cluster);
        let owner = Ownership {
            name: name.clone(),
            cluster_tag: cluster_tag(&config.cluster.cluster_id),
            service_tag: spec.uid.as_deref().map(service_tag),
            id: spec.load_balancer_id.clone(),
            adopt_untagged: config.adopt_untagged,
            tags_supported: caps.tags(),
        };
        let oref = ObjectRef::from_obj(svc);
        // The last observation, while it is fresh and names the same load balancer; else one
        // read of the cloud. It is dropped before the plan runs: only a plan that runs to its
        // end (or the next read) fills it again.
        let cached = self.cached(&oref).filter(|t| {
            spec.load_balancer_id
                .as_ref()
                .is_none_or(|id| t.loadbalancer.id.as_ref() == Some(id))
        });
        let (observed, stale_id, read_at, stamp) = match cached {
            Some(t) => {
                let (read_at, stamp) = self.take_cached(&oref).unwrap_or((Instant::now(), None));
                (Some(t), None, read_at, stamp)
            }
            None => {
                self.uncache(&oref);
                let fip_description = want
                    .floatingip
                    .as_ref()
                    .filter(|f| f.floating_ip_address.is_none())
                    .map(|f| f.description.as_str());
                // The term's first inventory answers once per load balancer, and proves
                // which names have none (see `Engine::set_inventory`).
                let (observation, stamp, read_at) =
                    match self.seeded(&owner, fip_description, &want) {
                        Some((t, stamp, at)) => (Observation::Owned(Box::new(t)), Some(stamp), at),
                        None => {
                            let read_at = Instant::now();
                            let (o, stamp) = observe_stamped_with(
                                client,
                                &owner,
                                fip_description,
                                self.lookup(&name),
                            )
                            .await
                            .map_err(|source| Error::Observe {
                                lb: name.clone(),
                                source,
                            })?;
                            (o, stamp, read_at)
                        }
                    };
                match observation {
                    Observation::Owned(t) => (Some(*t), None, read_at, stamp),
                    Observation::Missing { stale_id } => (None, stale_id, read_at, None),
                    Observation::Foreign {
                        id,
                        name: found,
                        reason,
                    } => {
                        return Ok(Prepared::Done(foreign(
                            &id, &found, &reason, warnings, members, config,
                        )));
                    }
                }
            }
        };
        if !servable(&want, &caps) {
            return Ok(Prepared::Done(
                self.no_servable_ports(svc, observed, warnings, &want, &caps, members)
                    .await,
            ));
        }
        let plan = plan(&want, observed.as_ref(), &caps);
        warnings.extend(
            plan.warnings
                .iter()
                .map(|w| Note::new(w.reason.into(), w.message.clone())),
        );
        if !plan.errors.is_empty() {
            let errors: Vec<AnnotationError> = plan
                .errors
                .iter()
                .map(|e| AnnotationError::new(&e.key, &e.value, &e.rule))
                .collect();
            return Ok(Prepared::Done(invalid(&errors, warnings)));
        }
        let changes = !plan.is_empty();
        let mut before = Outcome {
            warnings: Some(Warnings {
                notes: warnings,
                force: changes,
            }),
            members,
            ..Outcome::default()
        };
        if let Some(o) = observed.as_ref() {
            let decision = recovery(o, spec.load_balancer_id.is_some(), &plan);
            if decision != Recovery::Healthy {
                before.provisioning = Provisioning::Is("ERROR".to_owned());
                if let Some(failed) = self.errored(svc, o, decision, members).await {
                    self.uncache(&oref);
                    return Ok(Prepared::Done(before.then(failed)));
                }
            }
        }
        if let Some(id) = &stale_id {
            before.events.push(Note::new(
                Reason::EnsuringLoadBalancer,
                format!(
                    "load-balancer-id {id} no longer exists in the cloud; creating a new load \
                     balancer"
                ),
            ));
        }
        // The plan carries every member it writes, and what follows the plan needs only the
        // observation's ids and statuses: a reconcile that waits does not hold the members
        // twice (100 per Service at 50 nodes × 2 ports).
        let observed = observed.map(without_members);
        Ok(Prepared::Run(Run {
            engine: self,
            oref,
            spec,
            name,
            want,
            caps,
            plan,
            observed,
            members,
            read_at,
            stamp,
            before: Some(before),
        }))
    }

    /// A load balancer in provisioning status ERROR, with the planner's [`Recovery`]: one
    /// that never became ready is deleted so the next pass creates it anew; a live one is
    /// repaired by the plan's steps (`None`), else reported and retried from a fresh
    /// observation.
    async fn errored(
        &self,
        svc: &Service,
        observed: &Topology,
        decision: Recovery,
        members: MembersKey,
    ) -> Option<Outcome> {
        let lb = observed.loadbalancer.name.clone();
        let id = observed.loadbalancer.id.clone().unwrap_or_default();
        match decision {
            Recovery::Healthy | Recovery::Repair => None,
            Recovery::Replace => {
                let deleted = match self.delete_observed(svc, observed.clone()).await {
                    Ok(deleted) => deleted,
                    Err(err) => return Some(Outcome::failed(err, true, members)),
                };
                let err = Error::Errored {
                    lb,
                    id,
                    replaced: true,
                };
                Some(deleted.then(Outcome::failed(err, true, members)))
            }
            Recovery::Report => {
                let err = Error::Errored {
                    lb,
                    id,
                    replaced: false,
                };
                Some(Outcome::failed(err, true, members))
            }
        }
    }
}

impl Run<'_> {
    /// The plan that will run.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// What to show before the plan runs (call it once; later calls return nothing new):
    /// the warnings, an `EnsuringLoadBalancer` Event when the plan has steps, and for a new
    /// load balancer a False condition saying it is being created (creation takes minutes
    /// on a real cloud).
    pub fn announce(&mut self) -> Outcome {
        let mut out = self.before.take().unwrap_or_default();
        out.members = self.members;
        if self.plan.is_empty() {
            return out;
        }
        let message = match self
            .observed
            .as_ref()
            .and_then(|o| o.loadbalancer.id.as_deref())
        {
            None => format!("creating load balancer {}", self.name),
            Some(id) => format!(
                "updating load balancer {id}: {} step(s): {}",
                self.plan.steps.len(),
                ops(&self.plan)
            ),
        };
        out.events
            .push(Note::new(Reason::EnsuringLoadBalancer, message.clone()));
        if self.observed.is_none() {
            out.status = super::StatusUpdate::Set {
                ingress: IngressUpdate::Keep,
                readiness: Readiness::pending(Reason::EnsuringLoadBalancer.as_str(), message),
            };
        }
        out
    }

    /// Runs the plan and returns the status, annotations and Events that follow (with
    /// whatever [`Run::announce`] did not hand out yet in front).
    pub async fn execute(mut self) -> Outcome {
        let before = self.before.take().unwrap_or_default();
        let engine = self.engine;
        let after = match self.run().await {
            Ok(out) => out,
            Err(err) => {
                engine.uncache(&self.oref);
                Box::pin(engine.failed(err, self.members, &self.name)).await
            }
        };
        before.then(after)
    }

    async fn run(&self) -> Result<Outcome, Error> {
        let engine = self.engine;
        let plan = &self.plan;
        let name = &self.name;
        let changes = !plan.is_empty();
        let creating = self.observed.is_none();
        if plan
            .steps
            .iter()
            .any(|s| matches!(s, kks_lb_planner::Step::CreateLoadbalancer { .. }))
        {
            engine.creating(name);
        }
        let execution = engine
            .executor
            .execute_timed(name, plan, self.observed.as_ref())
            .await;
        engine.record_steps(plan, &execution);
        let outcome = execution.result.map_err(|source| Error::Execute {
            action: if creating { "create" } else { "update" },
            lb: name.clone(),
            source,
        })?;
        let (adapted, _) = adapt(&self.want, &self.caps);
        let operating = crate::health::last_operating(
            outcome.state.as_ref().filter(|_| changes),
            self.stamp.as_ref(),
            self.observed.as_ref(),
        );
        // An address bound from outside the plan's own creates (the Service's loadBalancerIP,
        // a kept one taken back) is read again next time: its tags and marks are the cloud's.
        let bound_existing = plan
            .steps
            .iter()
            .any(|s| matches!(s, kks_lb_planner::Step::AssociateFloatingip { .. }));
        if bound_existing {
            engine.uncache(&self.oref);
        } else if let Some(now) = settled(
            &adapted,
            &outcome.ids,
            outcome.vip_address.as_deref(),
            outcome.floating_ip.as_deref(),
        ) {
            // The state the plan's last wait saw; an empty plan keeps the one observed.
            let stamp = if changes {
                outcome.state.clone()
            } else {
                self.stamp.clone()
            };
            engine.cache(self.oref.clone(), now, self.read_at, stamp);
        }
        let id = outcome
            .loadbalancer_id
            .clone()
            .ok_or_else(|| Error::MissingId { lb: name.clone() })?;

        let address = status::address(&self.spec, &outcome);
        let (ingress, readiness) = match status::ingress(&self.spec, &outcome) {
            Some(ing) => (
                IngressUpdate::Set(vec![ing]),
                Readiness::ready(
                    Reason::EnsuredLoadBalancer.as_str(),
                    format!(
                        "load balancer {id} serves at {}",
                        address.as_deref().unwrap_or("its VIP")
                    ),
                ),
            ),
            None => (
                IngressUpdate::Keep,
                Readiness::pending(
                    Reason::EnsuringLoadBalancer.as_str(),
                    format!("load balancer {id} has no address yet"),
                ),
            ),
        };
        let mut out = Outcome::status(ingress, readiness);
        let client = engine.executor.client();
        out.health = Box::pin(crate::health::check(
            client,
            &id,
            operating.as_deref(),
            &adapted,
        ))
        .await
        .map(|health| MembersHealth {
            condition: health.condition(self.spec.external_traffic_policy_local),
            health,
        });
        out.annotations = Some(LbAnnotations {
            load_balancer_id: id.clone(),
            address: address.clone(),
        });
        out.provisioning = Provisioning::Is("ACTIVE".to_owned());
        out.requeue = Some(jittered(engine.config.resync));
        out.members = self.members;
        if changes {
            let at = address.as_deref().unwrap_or("no address yet");
            out.events.push(if creating {
                Note::new(
                    Reason::EnsuredLoadBalancer,
                    format!("created load balancer {id} at {at}"),
                )
            } else {
                Note::new(
                    Reason::UpdatedLoadBalancer,
                    format!(
                        "updated load balancer {id} at {at}: {} step(s): {}",
                        outcome.steps_done,
                        ops(plan)
                    ),
                )
            });
        }
        tracing::debug!(
            lb = %name,
            lb_id = %id,
            service = %self.oref,
            steps = plan.steps.len(),
            "load balancer ensured"
        );
        Ok(out)
    }
}

/// An invalid Service: Events and a False condition, nothing else.
fn invalid(errors: &[AnnotationError], warnings: Vec<Note>) -> Outcome {
    let mut notes: Vec<Note> = errors
        .iter()
        .map(|e| Note::new(Reason::InvalidAnnotation, e.summary()))
        .collect();
    notes.extend(warnings);
    let message = format!(
        "{} invalid: {}; the cloud is left as it was",
        if errors.len() == 1 {
            "1 annotation or field is".to_owned()
        } else {
            format!("{} annotations or fields are", errors.len())
        },
        errors
            .iter()
            .map(AnnotationError::summary)
            .collect::<Vec<_>>()
            .join("; ")
    );
    tracing::info!(
        errors = errors.len(),
        "invalid Service: nothing changes in the cloud"
    );
    Outcome {
        warnings: Some(Warnings {
            notes,
            force: false,
        }),
        requeue: None,
        members: MembersKey::NONE,
        ..Outcome::status(
            IngressUpdate::Keep,
            Readiness::pending(Reason::InvalidAnnotation.as_str(), message),
        )
    }
}

/// A `load-balancer-id` naming a load balancer we do not own: refuse, touch nothing.
fn foreign(
    id: &str,
    name: &str,
    reason: &str,
    warnings: Vec<Note>,
    members: MembersKey,
    config: &super::EngineConfig,
) -> Outcome {
    let message = format!(
        "load balancer {id} ({name}) is not managed by this cluster: {reason}; it is left \
         untouched. Remove the load-balancer-id annotation to get a load balancer of your own"
    );
    let mut notes = vec![Note::new(Reason::ForeignLoadBalancer, message.clone())];
    notes.extend(warnings);
    tracing::warn!(lb_id = %id, reason, "refusing a load balancer we do not own");
    Outcome {
        warnings: Some(Warnings {
            notes,
            force: false,
        }),
        requeue: Some(jittered(config.resync)),
        members,
        ..Outcome::status(
            IngressUpdate::Keep,
            Readiness::pending(Reason::ForeignLoadBalancer.as_str(), message),
        )
    }
}

pub(super) fn ops(plan: &Plan) -> String {
    let mut ops: Vec<&str> = plan.steps.iter().map(kks_lb_planner::Step::op).collect();
    ops.dedup();
    ops.join(", ")
}

impl Engine {
    /// A failed ensure (see [`Outcome::failed`]). A create that met a full cluster subnet is
    /// reported as `SubnetExhausted` instead, with the subnet, its CIDR and usage (one read of
    /// the usage, which also refreshes the `kks_lb_subnet_addresses` gauge); identical retries
    /// aggregate, changed numbers make a new Event.
    pub(super) async fn failed(&self, err: Error, members: MembersKey, lb: &str) -> Outcome {
        if !crate::capacity::is_subnet_exhausted(&err) {
            return Outcome::failed(err, true, members);
        }
        let usage =
            crate::capacity::read(self.executor.client(), &self.config.cluster, &self.metrics)
                .await;
        let network = err
            .cloud()
            .and_then(kks_lb_adapter::Error::exhausted_network);
        let series =
            crate::capacity::exhausted_message(lb, usage.as_ref().map_err(String::as_str), network);
        let message = match err.cloud().and_then(kks_lb_adapter::Error::request_id) {
            Some(id) => format!("{series} (OpenStack request id {id})"),
            None => series.clone(),
        };
        Outcome::reported(err, true, members, Reason::SubnetExhausted, message, series)
    }

    /// Counts the plan's steps in the step metrics, each timed with its own duration as the
    /// executor measured it; a failed step is `error`, later ones `skipped` (counted, not
    /// timed).
    pub(super) fn record_steps(&self, plan: &Plan, execution: &Execution) {
        if plan.steps.is_empty() {
            return;
        }
        let failed_at = execution.result.as_ref().err().map(|e| match e {
            kks_lb_adapter::Error::Step { step, .. }
            | kks_lb_adapter::Error::LoadBalancerFailed { step, .. }
            | kks_lb_adapter::Error::UnresolvedReference { step, .. } => *step,
            _ => plan.steps.len(),
        });
        for (i, step) in plan.steps.iter().enumerate() {
            let n = i + 1;
            let outcome = match failed_at {
                None => "ok",
                Some(f) if n < f => "ok",
                Some(f) if n == f => "error",
                Some(_) => "skipped",
            };
            let seconds = execution
                .steps
                .iter()
                .find(|t| t.step == n)
                .map(|t| t.duration.as_secs_f64());
            self.metrics.step(step.op(), outcome, seconds);
        }
    }
}

/// `t` without its pools' members.
fn without_members(mut t: Topology) -> Topology {
    for l in &mut t.loadbalancer.listeners {
        if let Some(p) = &mut l.default_pool {
            p.members = Vec::new();
        }
    }
    for p in &mut t.loadbalancer.detached_pools {
        p.members = Vec::new();
    }
    t
}
