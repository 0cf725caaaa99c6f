//! Apply for a Service kks-lb handles: parse → desired → observe → plan → execute → status,
//! annotations and Events.

use std::time::Instant as StdInstant;

use k8s_openapi::api::core::v1::Service;
use kks_lb_adapter::{Observation, Outcome, Ownership, observe_stamped_with};
use kks_lb_annotations::{AnnotationError, parse_report};
use kks_lb_octavia_model::Topology;
use kks_lb_planner::{
    Plan, Recovery, adapt, cluster_tag, desired, eligible_nodes, lb_name, plan, recovery, servable,
    service_tag, settled,
};
use kube::runtime::reflector::ObjectRef;
use tokio::time::Instant;

use super::{Context, Done, Error, Pass, Result, jittered};
use crate::events::{Note, Reason};
use crate::status::{self, IngressUpdate, MembersKey, Readiness, annotations_patch};

/// Brings one Service's load balancer, status, annotations and Events to what it asks for.
///
/// # Guarantees
/// - An invalid Service makes no cloud call: every error becomes an `InvalidAnnotation`
///   Event and the condition turns False; the last good load balancer keeps serving.
/// - A `load-balancer-id` naming a load balancer we do not own: a `ForeignLoadBalancer`
///   Event, the condition turns False, nothing in the cloud is touched.
/// - No port the cloud can serve: no load balancer and no floating IP (one of ours is
///   deleted), a `NoServablePorts` Event and condition, no ingress.
/// - Otherwise the plan runs (nothing when the cloud already matches), then
///   `load-balancer-id`/`-address` and the status are written only where they differ.
/// - Warnings are published when they change or when the plan changed the cloud.
///
/// # Errors
/// Cloud failures ([`Error::Capabilities`], [`Error::Observe`], [`Error::Execute`]) and
/// failed writes to the Service.
pub(super) async fn ensure(ctx: &Context, svc: &Service, pass: &Pass) -> Result<Done> {
    let report = parse_report(svc, &ctx.settings.defaults);
    let mut warnings: Vec<Note> = report
        .warnings
        .iter()
        .map(|w| Note::new(w.reason.into(), format!("{}: {}", w.key, w.message)))
        .collect();
    let parsed = match report.into_result() {
        Ok(parsed) => parsed,
        Err(errors) => return invalid(ctx, svc, &errors, &warnings).await,
    };
    let spec = parsed.spec;
    let settings = &ctx.settings;
    let nodes = ctx.nodes().await?;
    let members = MembersKey::of(&eligible_nodes(&spec, &nodes));
    let name = lb_name(&settings.cluster.cluster_name, &spec.namespace, &spec.name);

    let client = ctx.executor.client();
    let caps = ctx
        .caps
        .get(client, &settings.cluster.provider)
        .await
        .map_err(Error::Capabilities)?;
    let want = desired(&spec, &nodes, &settings.cluster);
    let owner = Ownership {
        name: name.clone(),
        cluster_tag: cluster_tag(&settings.cluster.cluster_id),
        service_tag: spec.uid.as_deref().map(service_tag),
        id: spec.load_balancer_id.clone(),
        adopt_untagged: settings.adopt_untagged,
        tags_supported: caps.tags(),
    };
    let oref = ObjectRef::from_obj(svc);
    // The last observation, while it is fresh and names the same load balancer; else one
    // read of the cloud. It is dropped before the plan runs: only a plan that runs to its
    // end (or the next read) fills it again.
    let cached = ctx.cached(&oref).filter(|t| {
        spec.load_balancer_id
            .as_ref()
            .is_none_or(|id| t.loadbalancer.id.as_ref() == Some(id))
    });
    let (observed, stale_id, read_at, stamp) = match cached {
        Some(t) => {
            let (read_at, stamp) = ctx.take_cached(&oref).unwrap_or((Instant::now(), None));
            (Some(t), None, read_at, stamp)
        }
        None => {
            ctx.uncache(&oref);
            let fip_description = want
                .floatingip
                .as_ref()
                .filter(|f| f.floating_ip_address.is_none())
                .map(|f| f.description.as_str());
            // The term's first inventory answers once per load balancer, and proves which
            // names have none (see `Context::set_inventory`).
            let (observation, stamp, read_at) = match ctx.seeded(&owner, fip_description, &want) {
                Some((t, stamp, at)) => (Observation::Owned(Box::new(t)), Some(stamp), at),
                None => {
                    let read_at = Instant::now();
                    let (o, stamp) =
                        observe_stamped_with(client, &owner, fip_description, ctx.lookup(&name))
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
                    return foreign(ctx, svc, &id, &found, &reason, &warnings, members).await;
                }
            }
        }
    };
    if !servable(&want, &caps) {
        return super::unservable::no_servable_ports(
            ctx, svc, observed, &warnings, &want, &caps, members,
        )
        .await;
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
        return invalid(ctx, svc, &errors, &warnings).await;
    }
    let changes = !plan.is_empty();
    ctx.events.publish_warnings(svc, &warnings, changes).await;
    if let Some(o) = observed.as_ref() {
        let decision = recovery(o, spec.load_balancer_id.is_some(), &plan);
        if decision != Recovery::Healthy {
            errored(ctx, svc, o, decision).await?;
        }
    }
    if let Some(id) = &stale_id {
        let note = format!(
            "load-balancer-id {id} no longer exists in the cloud; creating a new load balancer"
        );
        ctx.events
            .publish(svc, &Note::new(Reason::EnsuringLoadBalancer, note))
            .await;
    }

    let creating = observed.is_none();
    if changes {
        announce(ctx, svc, &name, &plan, observed.as_ref()).await?;
    }
    if plan
        .steps
        .iter()
        .any(|s| matches!(s, kks_lb_planner::Step::CreateLoadbalancer { .. }))
    {
        ctx.creating(&name);
    }
    let started = StdInstant::now();
    let result = ctx.executor.execute(&name, &plan, observed.as_ref()).await;
    record_steps(ctx, &plan, result.as_ref().err(), started);
    let outcome = result.map_err(|source| Error::Execute {
        action: if creating { "create" } else { "update" },
        lb: name.clone(),
        source,
    })?;
    let (adapted, _) = adapt(&want, &caps);
    // An address bound from outside the plan's own creates (the Service's loadBalancerIP, a
    // kept one taken back) is read again next time: its tags and marks are the cloud's.
    let bound_existing = plan
        .steps
        .iter()
        .any(|s| matches!(s, kks_lb_planner::Step::AssociateFloatingip { .. }));
    if bound_existing {
        ctx.uncache(&oref);
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
            stamp
        };
        ctx.cache(oref.clone(), now, read_at, stamp);
    }
    let id = outcome
        .loadbalancer_id
        .clone()
        .ok_or_else(|| Error::MissingId { lb: name.clone() })?;
    ctx.set_lb_status(&oref, Some("ACTIVE".to_owned()));

    // Annotations first, so the status write is the last change of this pass.
    let address = status::address(&spec, &outcome);
    let current = match annotations_patch(svc, &id, address.as_deref()) {
        Some(patch) => {
            pass.wrote(&status::annotated(svc, &id, address.as_deref()));
            ctx.patch_metadata(svc, "annotations", &patch).await?
        }
        None => svc.clone(),
    };
    let (ingress, readiness) = match status::ingress(&spec, &outcome) {
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
    ctx.set_status(&current, &ingress, &readiness).await?;
    if changes {
        finished(ctx, svc, creating, &id, &plan, &outcome, address.as_deref()).await;
    }
    tracing::debug!(lb = %name, lb_id = %id, steps = plan.steps.len(), "load balancer ensured");
    Ok(Done {
        requeue: Some(jittered(settings.resync)),
        members,
        forget: false,
    })
}

/// A load balancer in provisioning status ERROR, with the planner's [`Recovery`]: one that
/// never became ready is deleted so the next reconcile creates it anew; a live one is
/// repaired by the plan's steps, else reported and retried from a fresh observation.
async fn errored(
    ctx: &Context,
    svc: &Service,
    observed: &Topology,
    decision: Recovery,
) -> Result<()> {
    let lb = observed.loadbalancer.name.clone();
    let id = observed.loadbalancer.id.clone().unwrap_or_default();
    ctx.set_lb_status(
        &kube::runtime::reflector::ObjectRef::from_obj(svc),
        Some("ERROR".to_owned()),
    );
    match decision {
        Recovery::Healthy | Recovery::Repair => Ok(()),
        Recovery::Replace => {
            super::remove::delete_observed(ctx, svc, observed.clone()).await?;
            Err(Error::Errored {
                lb,
                id,
                replaced: true,
            })
        }
        Recovery::Report => Err(Error::Errored {
            lb,
            id,
            replaced: false,
        }),
    }
}

/// An invalid Service: Events and a False condition, nothing else.
async fn invalid(
    ctx: &Context,
    svc: &Service,
    errors: &[AnnotationError],
    warnings: &[Note],
) -> Result<Done> {
    let mut notes: Vec<Note> = errors
        .iter()
        .map(|e| Note::new(Reason::InvalidAnnotation, e.summary()))
        .collect();
    notes.extend(warnings.iter().cloned());
    ctx.events.publish_warnings(svc, &notes, false).await;
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
    let readiness = Readiness::pending(Reason::InvalidAnnotation.as_str(), message);
    ctx.set_status(svc, &IngressUpdate::Keep, &readiness)
        .await?;
    tracing::info!(
        errors = errors.len(),
        "invalid Service: nothing changes in the cloud"
    );
    Ok(Done {
        requeue: None,
        members: MembersKey::NONE,
        forget: false,
    })
}

/// A `load-balancer-id` naming a load balancer we do not own: refuse, touch nothing.
async fn foreign(
    ctx: &Context,
    svc: &Service,
    id: &str,
    name: &str,
    reason: &str,
    warnings: &[Note],
    members: MembersKey,
) -> Result<Done> {
    let message = format!(
        "load balancer {id} ({name}) is not managed by this cluster: {reason}; it is left \
         untouched. Remove the load-balancer-id annotation to get a load balancer of your own"
    );
    let mut notes = vec![Note::new(Reason::ForeignLoadBalancer, message.clone())];
    notes.extend(warnings.iter().cloned());
    ctx.events.publish_warnings(svc, &notes, false).await;
    let readiness = Readiness::pending(Reason::ForeignLoadBalancer.as_str(), message);
    ctx.set_status(svc, &IngressUpdate::Keep, &readiness)
        .await?;
    tracing::warn!(lb_id = %id, reason, "refusing a load balancer we do not own");
    Ok(Done {
        requeue: Some(jittered(ctx.settings.resync)),
        members,
        forget: false,
    })
}

fn ops(plan: &Plan) -> String {
    let mut ops: Vec<&str> = plan.steps.iter().map(kks_lb_planner::Step::op).collect();
    ops.dedup();
    ops.join(", ")
}

/// Before a plan with steps runs: an `EnsuringLoadBalancer` Event, and for a new load
/// balancer a False condition saying so (creation takes minutes on a real cloud).
async fn announce(
    ctx: &Context,
    svc: &Service,
    name: &str,
    plan: &Plan,
    observed: Option<&Topology>,
) -> Result<()> {
    let message = match observed.and_then(|o| o.loadbalancer.id.as_deref()) {
        None => format!("creating load balancer {name}"),
        Some(id) => format!(
            "updating load balancer {id}: {} step(s): {}",
            plan.steps.len(),
            ops(plan)
        ),
    };
    ctx.events
        .publish(
            svc,
            &Note::new(Reason::EnsuringLoadBalancer, message.clone()),
        )
        .await;
    if observed.is_none() {
        let readiness = Readiness::pending(Reason::EnsuringLoadBalancer.as_str(), message);
        ctx.set_status(svc, &IngressUpdate::Keep, &readiness)
            .await?;
    }
    Ok(())
}

/// After a plan with steps succeeded: `EnsuredLoadBalancer` or `UpdatedLoadBalancer`.
async fn finished(
    ctx: &Context,
    svc: &Service,
    created: bool,
    id: &str,
    plan: &Plan,
    outcome: &Outcome,
    address: Option<&str>,
) {
    let at = address.unwrap_or("no address yet");
    let note = if created {
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
    };
    ctx.events.publish(svc, &note).await;
}

/// Counts the plan's steps in the step metrics. The executor runs a plan as a whole, so each
/// step is observed with the plan's average time; a failed step is `error`, later ones
/// `skipped`.
pub(super) fn record_steps(
    ctx: &Context,
    plan: &Plan,
    err: Option<&kks_lb_adapter::Error>,
    started: StdInstant,
) {
    if plan.steps.is_empty() {
        return;
    }
    let failed_at = err.map(|e| match e {
        kks_lb_adapter::Error::Step { step, .. }
        | kks_lb_adapter::Error::LoadBalancerFailed { step, .. }
        | kks_lb_adapter::Error::UnresolvedReference { step, .. } => *step,
        _ => plan.steps.len(),
    });
    let steps = u32::try_from(plan.steps.len()).unwrap_or(u32::MAX);
    let each = started.elapsed().as_secs_f64() / f64::from(steps);
    for (i, step) in plan.steps.iter().enumerate() {
        let n = i + 1;
        let outcome = match failed_at {
            None => "ok",
            Some(f) if n < f => "ok",
            Some(f) if n == f => "error",
            Some(_) => "skipped",
        };
        ctx.metrics.step(step.op(), outcome, each);
    }
}
