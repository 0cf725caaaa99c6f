//! A Service none of whose ports the cloud can serve (e.g. only SCTP on Octavia < 2.23):
//! no load balancer and no floating IP, a `NoServablePorts` Event, the condition False with
//! that reason, and a status without ingress.

use k8s_openapi::api::core::v1::Service;
use kks_lb_octavia_model::Topology;
use kks_lb_planner::{Capabilities, adapt};
use kube::runtime::reflector::ObjectRef;

use super::{Engine, Outcome, Provisioning, Warnings, jittered};
use crate::events::{Note, Reason};
use crate::status::{IngressUpdate, MembersKey, Readiness};

impl Engine {
    /// Reports the Service as unservable; a load balancer of ours it still has (its ports
    /// changed to ones the cloud cannot serve) is deleted like on Service deletion (its
    /// floating IP released, or detached with `keep-floatingip`).
    pub(super) async fn no_servable_ports(
        &self,
        svc: &Service,
        observed: Option<Topology>,
        warnings: Vec<Note>,
        want: &Topology,
        caps: &Capabilities,
        members: MembersKey,
    ) -> Outcome {
        let (_, dropped) = adapt(want, caps);
        let why: Vec<&str> = dropped.iter().map(|w| w.message.as_str()).collect();
        let message = format!(
            "no port of the Service can be served by this cloud ({}): no load balancer and no \
             floating IP are created",
            why.join("; ")
        );
        let mut notes = vec![Note::new(Reason::NoServablePorts, message.clone())];
        notes.extend(warnings);
        let existing = observed.filter(|o| o.loadbalancer.id.is_some());
        let mut out = Outcome {
            warnings: Some(Warnings {
                notes,
                force: existing.is_some(),
            }),
            ..Outcome::default()
        };
        if let Some(o) = existing {
            self.uncache(&ObjectRef::from_obj(svc));
            match self.delete_observed(svc, o).await {
                Ok(deleted) => {
                    out = out.then(deleted);
                    out.provisioning = Provisioning::Gone;
                }
                Err(err) => return out.then(Outcome::failed(err, true, members)),
            }
        }
        tracing::info!("no servable port: no load balancer");
        out.then(Outcome {
            requeue: Some(jittered(self.config.resync)),
            members,
            ..Outcome::status(
                IngressUpdate::Clear,
                Readiness::pending(Reason::NoServablePorts.as_str(), message),
            )
        })
    }
}
