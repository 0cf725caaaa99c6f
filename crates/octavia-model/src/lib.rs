//! Octavia v2 and Neutron floating-IP types for kks-lb.
//!
//! Role in the pipeline: the vocabulary every other crate speaks. [`Topology`] is one load
//! balancer as a tree (LB → listeners → default pool → members + health monitor, plus the
//! floating IP); the planner produces a desired one, the adapter observes one, and the planner
//! diffs the two. The [`api`] module holds the wire types of the Octavia and Neutron APIs
//! (responses, create and update bodies, the `/status` tree, error bodies) with Octavia's own
//! field names. [`bodies`] builds the request bodies from a [`Topology`]'s objects, and
//! [`enums`] holds Octavia's closed vocabularies (protocols, algorithms, statuses).
//!
//! This crate is pure: no async, no I/O, no clocks.

#![deny(missing_docs)]

pub mod api;
pub mod bodies;
pub mod enums;
pub mod topology;

pub use enums::{
    LbAlgorithm, MonitorType, OperatingStatus, Protocol, ProvisioningStatus,
    SessionPersistenceType, UnknownValue,
};
pub use topology::{
    FloatingIp, HealthMonitor, Listener, ListenerKey, LoadBalancer, Member, MemberKey, Pool,
    SessionPersistence, Topology,
};
