//! Pure decisions about one Service: which [`Phase`] it is in, what its `status.loadBalancer`,
//! `LoadBalancerReady` condition and controller-written annotations should be, and whether a
//! trigger changed anything the reconcile reads ([`TriggerKey`]).
//!
//! Nothing here does I/O; the reconcile in [`crate::reconcile`] and the applier in
//! [`crate::apply`] turn these values into API calls. Every function is total and
//! deterministic (the clock is an argument).
//!
//! Where things live:
//! - `phase`: [`ServiceFacts`] → [`Phase`] (ensure, release, cleanup, ...), [`has_finalizer`];
//! - `readiness`: the [`Readiness`] condition, the ingress ([`address`], [`ingress`],
//!   [`IngressUpdate`]);
//! - `members`: the [`MembersCondition`] (`LoadBalancerMembersHealthy`);
//! - `patches`: the status and metadata patches that bring a Service there, and what our own
//!   writes leave ([`annotated`]);
//! - `triggers`: [`TriggerKey`], [`MembersKey`], [`node_digest`]: what a trigger changed.

mod members;
mod patches;
mod phase;
mod readiness;
#[cfg(test)]
mod tests;
mod triggers;

pub use members::{ConditionStatus, MembersCondition, members_condition, with_members_condition};
pub use patches::{
    annotated, annotations_patch, release_metadata_patch, release_status_patch, status_patch,
};
pub use phase::{FinalizerState, Lifecycle, Phase, Selection, ServiceFacts, has_finalizer};
pub use readiness::{IngressUpdate, Readiness, address, ingress};
pub use triggers::{MembersKey, TriggerKey, node_digest};

/// The finalizer that holds a Service until its load balancer is gone: the upstream service
/// controller's name, so Services created under OCCM migrate without a gap.
pub const FINALIZER: &str = "service.kubernetes.io/load-balancer-cleanup";

/// The condition type kks-lb maintains in `status.conditions`.
pub const CONDITION_TYPE: &str = "LoadBalancerReady";

/// The condition type that says whether the load balancer's members pass their health checks
/// (see [`crate::health`]).
pub const MEMBERS_CONDITION_TYPE: &str = "LoadBalancerMembersHealthy";

/// Longest condition message written (the API allows 32 KiB; keep `kubectl` readable).
const MAX_MESSAGE: usize = 1024;

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}
