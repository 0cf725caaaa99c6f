//! A pure model of Octavia and Neutron that applies a planner [`Plan`] to a [`Topology`].
//!
//! It checks what the real cloud would refuse (a reference to an object that does not exist,
//! a stale id, two listeners on one port, a second load balancer, deleting a load balancer that
//! has children without `cascade`) and assigns deterministic ids (`lb-1`, `listener-2`, ...) to
//! what the plan creates. The planner's property tests use it to prove that applying
//! `plan(d, o)` to `o` yields `d`.
//!
//! Where things live: this module holds [`Cloud`] (its state, [`Cloud::apply`] of a whole
//! plan) and [`ModelError`]; `ids` assigns deterministic ids and finds objects by key or
//! reference; `step` applies one step with the cloud's rules; `converge` holds
//! [`converged`], the comparison of a result with the desired topology.

use std::collections::BTreeMap;

use kks_lb_octavia_model::{FloatingIp, ListenerKey, Pool, Protocol, Topology};
use kks_lb_planner::Plan;

mod converge;
mod ids;
mod step;

pub use converge::converged;

/// Why the model refused a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A step refers to an object that does not exist at that point.
    #[error("step {step} ({op}) refers to {key}, which does not exist")]
    MissingObject {
        /// Step index.
        step: usize,
        /// Step op.
        op: &'static str,
        /// Symbolic key.
        key: String,
    },
    /// A step names an id that is not the id of the object with that key.
    #[error("step {step} ({op}) names {key} as {given}, but its id is {actual}")]
    StaleId {
        /// Step index.
        step: usize,
        /// Step op.
        op: &'static str,
        /// Symbolic key.
        key: String,
        /// The id in the step.
        given: String,
        /// The id in the model.
        actual: String,
    },
    /// Two listeners would share a port.
    #[error("step {step}: a listener already uses port {port} ({protocol})")]
    PortInUse {
        /// Step index.
        step: usize,
        /// Port.
        port: u16,
        /// Protocol of the new listener.
        protocol: Protocol,
    },
    /// A load balancer exists already.
    #[error("step {step}: the load balancer exists already")]
    AlreadyExists {
        /// Step index.
        step: usize,
    },
    /// Octavia refuses to delete a load balancer with children unless `cascade` is set.
    #[error("step {step}: cannot delete a load balancer that has children without cascade")]
    HasChildren {
        /// Step index.
        step: usize,
    },
    /// An update named a field the object does not have, or a value of the wrong type.
    #[error("step {step}: invalid update of {field}: {reason}")]
    BadUpdate {
        /// Step index.
        step: usize,
        /// Field.
        field: String,
        /// Why.
        reason: String,
    },
}

/// The state of one Service's cloud objects in the model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cloud {
    /// The load balancer tree, if one exists.
    pub topology: Option<Topology>,
    /// Floating IPs that were released (deleted) by plans, by address or id.
    pub released: Vec<FloatingIp>,
    /// Floating IPs that exist but are bound to nothing.
    pub detached: Vec<FloatingIp>,
    /// Pools created on the load balancer for listeners not created yet, by listener.
    pending: BTreeMap<ListenerKey, Pool>,
    next_id: u64,
}

impl Cloud {
    /// A cloud holding `observed` (ids are kept; missing ids are assigned).
    pub fn new(observed: Option<&Topology>) -> Self {
        let mut cloud = Cloud::default();
        if let Some(t) = observed {
            let mut t = t.clone();
            cloud.assign_ids(&mut t);
            cloud.topology = Some(t);
        }
        cloud
    }

    /// Applies every step of `plan` in order. A pool created on the load balancer that no
    /// listener names by the end is left in `detached_pools`, as the cloud would leave it.
    pub fn apply(&mut self, plan: &Plan) -> Result<(), ModelError> {
        for (i, step) in plan.steps.iter().enumerate() {
            self.apply_step(i, step)?;
        }
        self.settle();
        Ok(())
    }

    /// Moves pools created for listeners that were never created into `detached_pools`.
    pub fn settle(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        if let Some(t) = self.topology.as_mut() {
            t.loadbalancer.detached_pools.extend(pending.into_values());
            t.loadbalancer
                .detached_pools
                .sort_by(|a, b| a.id.cmp(&b.id));
        }
    }
}
