//! Cleanup (the Service is being deleted) and release (it stopped being a LoadBalancer
//! Service of our class): the load balancer goes, then what kks-lb wrote on the Service.

use k8s_openapi::api::core::v1::Service;
use kks_lb_adapter::{Observation, Ownership, observe_for_delete};
use kks_lb_annotations::lenient;
use kks_lb_octavia_model::Topology;
use kks_lb_planner::{
    DeleteIntent, cluster_tag, floating_ip_description, lb_name, plan_delete, service_tag,
};
use kube::ResourceExt;

use super::{Context, Done, Error, Result};
use crate::events::{Note, Reason};
use crate::status::{MembersKey, release_metadata_patch, release_status_patch};

/// What removing a Service's load balancer found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Removal {
    /// There was none.
    Nothing,
    /// The `load-balancer-id` names a load balancer we do not own; it was left alone.
    NotOurs {
        /// Its id.
        id: String,
        /// Why it is not ours.
        reason: String,
    },
    /// Ours, deleted.
    Deleted,
}

/// Deletes an observed load balancer of ours: releases (or, with `keep-floatingip`, only
/// detaches) its floating IP, then one cascade delete. 404s count as gone.
pub(super) async fn delete_observed(
    ctx: &Context,
    svc: &Service,
    observed: Topology,
) -> Result<()> {
    let intent = DeleteIntent {
        keep_floatingip: lenient::keep_floating_ip(svc),
    };
    let name = observed.loadbalancer.name.clone();
    let id = observed.loadbalancer.id.clone().unwrap_or_default();
    let fip = observed
        .floatingip
        .as_ref()
        .and_then(|f| f.floating_ip_address.clone());
    let plan = plan_delete(&observed, intent);
    let message = match (&fip, intent.keep_floatingip) {
        (Some(a), true) => format!("deleting load balancer {id}; floating IP {a} is kept"),
        (Some(a), false) => format!("deleting load balancer {id}; floating IP {a} is released"),
        (None, _) => format!("deleting load balancer {id}"),
    };
    ctx.events
        .publish(svc, &Note::new(Reason::DeletingLoadBalancer, message))
        .await;
    let execution = ctx
        .executor
        .execute_timed(&name, &plan, Some(&observed))
        .await;
    super::ensure::record_steps(ctx, &plan, &execution);
    execution.result.map_err(|source| Error::Execute {
        action: "delete",
        lb: name.clone(),
        source,
    })?;
    ctx.events
        .publish(
            svc,
            &Note::new(
                Reason::DeletedLoadBalancer,
                format!("deleted load balancer {id}"),
            ),
        )
        .await;
    tracing::info!(lb = %name, lb_id = %id, "load balancer deleted");
    Ok(())
}

/// Finds the Service's load balancer (by `load-balancer-id`, else by name) and deletes it
/// when it is ours. A `load-balancer-id` naming someone else's load balancer leaves that one
/// alone, and our own one of the Service's name is still looked for.
async fn remove(ctx: &Context, svc: &Service) -> Result<Removal> {
    let settings = &ctx.settings;
    let namespace = svc.namespace().unwrap_or_else(|| "default".to_owned());
    let name = lb_name(&settings.cluster.cluster_name, &namespace, &svc.name_any());
    let client = ctx.executor.client();
    let caps = ctx
        .caps
        .get(client, &settings.cluster.provider)
        .await
        .map_err(Error::Capabilities)?;
    let id = lenient::load_balancer_id(svc);
    let mut owner = Ownership {
        name: name.clone(),
        cluster_tag: cluster_tag(&settings.cluster.cluster_id),
        service_tag: svc.metadata.uid.as_deref().map(service_tag),
        id,
        adopt_untagged: settings.adopt_untagged,
        tags_supported: caps.tags(),
    };
    let observe_err = |source| Error::Observe {
        lb: name.clone(),
        source,
    };
    // Only the load balancer and its floating IP are read: the delete cascades. For an
    // external Service with no address bound, an unbound one of ours is looked for too.
    let fip_description = (!lenient::internal(svc, settings.defaults.internal_lb)).then(|| {
        floating_ip_description(
            &settings.cluster,
            &namespace,
            &svc.name_any(),
            svc.metadata.uid.as_deref(),
        )
    });
    let observe = |owner: Ownership| {
        let fip_description = fip_description.clone();
        async move { observe_for_delete(client, &owner, fip_description.as_deref()).await }
    };
    let mut found = observe(owner.clone()).await.map_err(observe_err)?;
    let mut not_ours = None;
    if let Observation::Foreign { id, reason, .. } = &found
        && owner.id.is_some()
    {
        not_ours = Some(Removal::NotOurs {
            id: id.clone(),
            reason: reason.clone(),
        });
        owner.id = None;
        found = observe(owner.clone()).await.map_err(observe_err)?;
    }
    match found {
        Observation::Owned(t) => {
            delete_observed(ctx, svc, *t).await?;
            Ok(Removal::Deleted)
        }
        Observation::Missing { .. } => Ok(not_ours.unwrap_or(Removal::Nothing)),
        Observation::Foreign { id, reason, .. } => {
            Ok(not_ours.unwrap_or(Removal::NotOurs { id, reason }))
        }
    }
}

async fn tell_not_ours(ctx: &Context, svc: &Service, removal: &Removal) {
    if let Removal::NotOurs { id, reason } = removal {
        let note = format!(
            "load balancer {id} is not managed by this cluster ({reason}); it is left untouched"
        );
        ctx.events
            .publish(svc, &Note::new(Reason::ForeignLoadBalancer, note))
            .await;
    }
}

/// Cleanup of a Service being deleted: its load balancer goes; the finalizer helper then
/// removes the finalizer.
///
/// # Guarantees
/// Returns only after the load balancer and the floating IP we own are gone (404 = gone);
/// tolerates Apply never having run.
///
/// # Errors
/// Cloud failures; the Service then stays (held by the finalizer) until a retry succeeds.
pub(super) async fn cleanup(ctx: &Context, svc: &Service) -> Result<Done> {
    let removal = remove(ctx, svc).await?;
    tell_not_ours(ctx, svc, &removal).await;
    Ok(Done {
        requeue: None,
        members: MembersKey::NONE,
        forget: true,
    })
}

/// Release of a Service that is no longer a LoadBalancer Service of our class: its load
/// balancer goes, then `status.loadBalancer` and the `LoadBalancerReady` condition, then the
/// `load-balancer-id`/`-address` annotations and our finalizer (one write guarded by the
/// resourceVersion), so that changing back to LoadBalancer simply creates a new one.
///
/// # Errors
/// Cloud failures and failed writes; every step is repeated safely on retry.
pub(super) async fn release(ctx: &Context, svc: &Service) -> Result<Done> {
    let removal = remove(ctx, svc).await?;
    tell_not_ours(ctx, svc, &removal).await;
    let current = match release_status_patch(svc) {
        Some(patch) => ctx.patch_status(svc, &patch).await?,
        None => svc.clone(),
    };
    if let Some(patch) = release_metadata_patch(&current) {
        ctx.patch_metadata(&current, "metadata", &patch).await?;
    }
    tracing::info!("released: no longer a LoadBalancer Service of this controller");
    Ok(Done {
        requeue: None,
        members: MembersKey::NONE,
        forget: true,
    })
}
