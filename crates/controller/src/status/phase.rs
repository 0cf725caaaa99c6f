//! Which [`Phase`] a Service is in, from its type, class, deletion and finalizer.

use k8s_openapi::api::core::v1::Service;

use super::FINALIZER;

/// Whether kks-lb handles a Service (SPEC §1): `type: LoadBalancer` and `loadBalancerClass`
/// unset or equal to the configured class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// A LoadBalancer Service of our class.
    Handled,
    /// Another type, or another controller's class.
    NotHandled,
}

/// Whether the Service is being deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// No `deletionTimestamp`.
    Live,
    /// `deletionTimestamp` set; finalizers hold the object.
    Deleting,
}

/// Whether the Service carries [`FINALIZER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalizerState {
    /// Our finalizer is on the Service.
    Present,
    /// It is not.
    Absent,
}

/// The facts the phase is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceFacts {
    /// Type and class.
    pub selection: Selection,
    /// Deletion timestamp.
    pub lifecycle: Lifecycle,
    /// Our finalizer.
    pub finalizer: FinalizerState,
}

/// What the reconcile does with a Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not ours and nothing of ours on it: nothing to do.
    Ignore,
    /// Ours and live: make sure the finalizer is on, then bring the load balancer, status and
    /// annotations to what the Service asks for.
    Ensure,
    /// No longer ours (type changed from LoadBalancer, or class changed) but still carrying
    /// our finalizer: delete the load balancer, clear `status.loadBalancer`, remove the
    /// `load-balancer-id`/`-address` annotations and the finalizer.
    Release,
    /// Being deleted with our finalizer: delete the load balancer, then drop the finalizer.
    Cleanup,
    /// Being deleted without our finalizer: our part is done.
    Gone,
}

impl ServiceFacts {
    /// Reads the facts from a Service; `class` is the controller's `--load-balancer-class`.
    pub fn of(svc: &Service, class: Option<&str>) -> Self {
        let spec = svc.spec.as_ref();
        let is_lb = spec.and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
        let svc_class = spec
            .and_then(|s| s.load_balancer_class.as_deref())
            .filter(|c| !c.is_empty());
        let class_ours = match svc_class {
            None => true,
            Some(c) => class == Some(c),
        };
        ServiceFacts {
            selection: if is_lb && class_ours {
                Selection::Handled
            } else {
                Selection::NotHandled
            },
            lifecycle: if svc.metadata.deletion_timestamp.is_some() {
                Lifecycle::Deleting
            } else {
                Lifecycle::Live
            },
            finalizer: if has_finalizer(svc) {
                FinalizerState::Present
            } else {
                FinalizerState::Absent
            },
        }
    }

    /// The phase. Exhaustive over every combination of the facts.
    pub fn phase(self) -> Phase {
        use FinalizerState::{Absent, Present};
        use Lifecycle::{Deleting, Live};
        use Selection::{Handled, NotHandled};
        match (self.selection, self.lifecycle, self.finalizer) {
            (Handled, Live, Present | Absent) => Phase::Ensure,
            (NotHandled, Live, Present) => Phase::Release,
            (NotHandled, Live, Absent) => Phase::Ignore,
            (Handled | NotHandled, Deleting, Present) => Phase::Cleanup,
            (Handled | NotHandled, Deleting, Absent) => Phase::Gone,
        }
    }
}

/// Whether the Service carries [`FINALIZER`].
pub fn has_finalizer(svc: &Service) -> bool {
    svc.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == FINALIZER)
}
