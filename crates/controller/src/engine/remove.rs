//! Remove (the Service is being deleted) and release (it stopped being a LoadBalancer
//! Service of the caller's class): the load balancer goes, then what kks-lb wrote on the
//! Service.

use k8s_openapi::api::core::v1::Service;
use kks_lb_adapter::{Observation, Ownership, observe_for_delete};
use kks_lb_annotations::lenient;
use kks_lb_octavia_model::Topology;
use kks_lb_planner::{
    DeleteIntent, cluster_tag, floating_ip_description, lb_name, plan_delete, service_tag,
};
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use super::{Engine, Error, Outcome, Provisioning, StatusUpdate};
use crate::events::{Note, Reason};
use crate::status::MembersKey;

/// What removing a Service's load balancer found.
#[derive(Debug)]
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
    /// Ours, deleted (with the Events saying so).
    Deleted(Box<Outcome>),
}

impl Engine {
    /// Deletes an observed load balancer of ours: releases (or, with `keep-floatingip`, only
    /// detaches) its floating IP, then one cascade delete. 404s count as gone. Returns the
    /// `DeletingLoadBalancer` and `DeletedLoadBalancer` Events.
    pub(super) async fn delete_observed(
        &self,
        svc: &Service,
        observed: Topology,
    ) -> Result<Outcome, Error> {
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
            (Some(a), false) => {
                format!("deleting load balancer {id}; floating IP {a} is released")
            }
            (None, _) => format!("deleting load balancer {id}"),
        };
        let execution = self
            .executor
            .execute_timed(&name, &plan, Some(&observed))
            .await;
        self.record_steps(&plan, &execution);
        execution.result.map_err(|source| Error::Execute {
            action: "delete",
            lb: name.clone(),
            source,
        })?;
        tracing::info!(lb = %name, lb_id = %id, "load balancer deleted");
        Ok(Outcome {
            events: vec![
                Note::new(Reason::DeletingLoadBalancer, message),
                Note::new(
                    Reason::DeletedLoadBalancer,
                    format!("deleted load balancer {id}"),
                ),
            ],
            provisioning: Provisioning::Gone,
            ..Outcome::default()
        })
    }

    /// Finds the Service's load balancer (by `load-balancer-id`, else by name) and deletes
    /// it when it is ours. A `load-balancer-id` naming someone else's load balancer leaves
    /// that one alone, and our own one of the Service's name is still looked for.
    async fn find_and_delete(&self, svc: &Service) -> Result<Removal, Error> {
        let config = &self.config;
        let namespace = svc.namespace().unwrap_or_else(|| "default".to_owned());
        let name = lb_name(&config.cluster.cluster_name, &namespace, &svc.name_any());
        let client = self.executor.client();
        let caps = self
            .caps
            .get(client, &config.cluster.provider)
            .await
            .map_err(Error::Capabilities)?;
        let id = lenient::load_balancer_id(svc);
        let mut owner = Ownership {
            name: name.clone(),
            cluster_tag: cluster_tag(&config.cluster.cluster_id),
            service_tag: svc.metadata.uid.as_deref().map(service_tag),
            id,
            adopt_untagged: config.adopt_untagged,
            tags_supported: caps.tags(),
        };
        let observe_err = |source| Error::Observe {
            lb: name.clone(),
            source,
        };
        // Only the load balancer and its floating IP are read: the delete cascades. For an
        // external Service with no address bound, an unbound one of ours is looked for too.
        let fip_description = (!lenient::internal(svc, config.defaults.internal_lb)).then(|| {
            floating_ip_description(
                &config.cluster,
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
            Observation::Owned(t) => Ok(Removal::Deleted(Box::new(
                self.delete_observed(svc, *t).await?,
            ))),
            Observation::Missing { .. } => Ok(not_ours.unwrap_or(Removal::Nothing)),
            Observation::Foreign { id, reason, .. } => {
                Ok(not_ours.unwrap_or(Removal::NotOurs { id, reason }))
            }
        }
    }

    /// The outcome of a removal: its Events, plus a `ForeignLoadBalancer` Event when the
    /// Service named a load balancer that is not ours.
    async fn removal(&self, svc: &Service) -> Result<Outcome, Error> {
        self.uncache(&ObjectRef::from_obj(svc));
        Ok(match self.find_and_delete(svc).await? {
            Removal::Deleted(out) => *out,
            Removal::Nothing => Outcome {
                provisioning: Provisioning::Gone,
                ..Outcome::default()
            },
            Removal::NotOurs { id, reason } => Outcome {
                events: vec![Note::new(
                    Reason::ForeignLoadBalancer,
                    format!(
                        "load balancer {id} is not managed by this cluster ({reason}); it is \
                         left untouched"
                    ),
                )],
                provisioning: Provisioning::Gone,
                ..Outcome::default()
            },
        })
    }

    /// The Service is being deleted: its load balancer and the floating IP we own go (404 =
    /// gone; a Service that never had one is fine). The outcome's `forget` is set: the
    /// caller may then remove its finalizer. On failure the outcome's `error` is set and the
    /// Service must stay (held by a finalizer) until a retry succeeds.
    pub async fn remove(&self, svc: &Service) -> Outcome {
        match self.removal(svc).await {
            Ok(out) => Outcome {
                forget: true,
                requeue: None,
                members: MembersKey::NONE,
                ..out
            },
            Err(err) => Outcome::failed(err, false, MembersKey::NONE),
        }
    }

    /// The Service stopped being a LoadBalancer Service of the caller's class: its load
    /// balancer goes as in [`Engine::remove`], and the outcome's status is
    /// [`StatusUpdate::Release`] (clear the ingress, the condition, the
    /// `load-balancer-id`/`-address` annotations and the finalizer), so that changing back
    /// to LoadBalancer simply creates a new one.
    pub async fn release(&self, svc: &Service) -> Outcome {
        let mut out = self.remove(svc).await;
        if !out.is_err() {
            out.status = StatusUpdate::Release;
            tracing::info!("released: no longer a LoadBalancer Service of this controller");
        }
        out
    }
}
