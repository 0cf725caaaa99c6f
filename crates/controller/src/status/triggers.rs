//! What a trigger changed: digests of a Service and of the members it gets.

use std::hash::{DefaultHasher, Hash, Hasher};

use k8s_openapi::api::core::v1::{Node, Service};
use kks_lb_planner::EligibleNode;

use kks_lb_annotations::keys;

use super::has_finalizer;

/// A digest of everything a Service contributes to a reconcile, besides the cloud and the
/// nodes: identity, `generation` (every spec change), deletion, our finalizer and the
/// annotations (including `load-balancer-id`, which selects the load balancer).
///
/// Status and the informational `load-balancer-address` annotation are left out: they are
/// outputs. So the controller's own writes (status, annotations set to what the reconcile
/// recorded) do not count as a change, while every user edit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TriggerKey(u64);

impl TriggerKey {
    /// The key of a Service.
    pub fn of(svc: &Service) -> Self {
        let mut h = DefaultHasher::new();
        let m = &svc.metadata;
        m.uid.hash(&mut h);
        m.generation.hash(&mut h);
        m.deletion_timestamp.is_some().hash(&mut h);
        has_finalizer(svc).hash(&mut h);
        for (k, v) in m.annotations.iter().flatten() {
            if k != keys::LOAD_BALANCER_ADDRESS {
                k.hash(&mut h);
                v.hash(&mut h);
            }
        }
        TriggerKey(h.finish())
    }
}

/// A digest of the members a Service gets: the eligible nodes' names and addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembersKey(u64);

impl MembersKey {
    /// The key of a set of eligible nodes (already sorted by the planner).
    pub fn of(nodes: &[EligibleNode]) -> Self {
        let mut h = DefaultHasher::new();
        for n in nodes {
            n.name.hash(&mut h);
            n.address.hash(&mut h);
        }
        MembersKey(h.finish())
    }

    /// The key used when members do not matter (an invalid Service makes no cloud call).
    pub const NONE: MembersKey = MembersKey(0);
}

impl Default for MembersKey {
    fn default() -> Self {
        MembersKey::NONE
    }
}

/// A digest of what about a Node can change load-balancer members: existence, labels,
/// addresses, taints and deletion. Status heartbeats are left out.
pub fn node_digest(node: &Node) -> u64 {
    let mut h = DefaultHasher::new();
    node.metadata.labels.hash(&mut h);
    node.metadata.deletion_timestamp.is_some().hash(&mut h);
    if let Some(addresses) = node.status.as_ref().and_then(|s| s.addresses.as_ref()) {
        for a in addresses {
            a.type_.hash(&mut h);
            a.address.hash(&mut h);
        }
    }
    if let Some(taints) = node.spec.as_ref().and_then(|s| s.taints.as_ref()) {
        for t in taints {
            t.key.hash(&mut h);
            t.effect.hash(&mut h);
        }
    }
    h.finish()
}
