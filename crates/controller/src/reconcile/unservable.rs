//! A Service none of whose ports the cloud can serve (e.g. only SCTP on Octavia < 2.23):
//! no load balancer and no floating IP, a `NoServablePorts` Event, the condition False with
//! that reason, and a status without ingress.

use k8s_openapi::api::core::v1::Service;
use kks_lb_octavia_model::Topology;
use kks_lb_planner::{Capabilities, adapt};
use kube::runtime::reflector::ObjectRef;

use super::{Context, Done, Result, jittered};
use crate::events::{Note, Reason};
use crate::status::{IngressUpdate, MembersKey, Readiness};

/// Reports the Service as unservable; a load balancer of ours it still has (its ports
/// changed to ones the cloud cannot serve) is deleted like on Service deletion (its floating
/// IP released, or detached with `keep-floatingip`).
///
/// # Errors
/// A failed delete or status write.
pub(super) async fn no_servable_ports(
    ctx: &Context,
    svc: &Service,
    observed: Option<Topology>,
    warnings: &[Note],
    want: &Topology,
    caps: &Capabilities,
    members: MembersKey,
) -> Result<Done> {
    let (_, dropped) = adapt(want, caps);
    let why: Vec<&str> = dropped.iter().map(|w| w.message.as_str()).collect();
    let message = format!(
        "no port of the Service can be served by this cloud ({}): no load balancer and no \
         floating IP are created",
        why.join("; ")
    );
    let mut notes = vec![Note::new(Reason::NoServablePorts, message.clone())];
    notes.extend(warnings.iter().cloned());
    let oref = ObjectRef::from_obj(svc);
    let existing = observed.filter(|o| o.loadbalancer.id.is_some());
    ctx.events
        .publish_warnings(svc, &notes, existing.is_some())
        .await;
    if let Some(o) = existing {
        ctx.uncache(&oref);
        super::remove::delete_observed(ctx, svc, o).await?;
        ctx.set_lb_status(&oref, None);
    }
    let readiness = Readiness::pending(Reason::NoServablePorts.as_str(), message);
    ctx.set_status(svc, &IngressUpdate::Clear, &readiness)
        .await?;
    tracing::info!("no servable port: no load balancer");
    Ok(Done {
        requeue: Some(jittered(ctx.settings.resync)),
        members,
        forget: false,
    })
}
