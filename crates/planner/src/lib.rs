//! Desired Octavia topology for a Service, and the ordered plan that reaches it.
//!
//! Role in the pipeline: the heart of kks-lb, between parsing and I/O.
//!
//! ```text
//! LbSpec + Nodes + ClusterConfig --desired()--> Topology (desired)
//! Topology (desired) + Topology (observed) + Capabilities --plan()--> Plan (ordered Steps)
//! ```
//!
//! - [`desired`] computes names, tags, eligible nodes, members, monitors and the floating-IP
//!   intent of one Service.
//! - [`plan`] diffs the desired topology against the observed one (matching listeners by
//!   (protocol, port) and members by (address, port)) and returns a [`Plan`]: ordered
//!   [`Step`]s, each exactly one OpenStack mutation, with symbolic [`ObjRef`]s for objects the
//!   plan itself creates, plus [`PlanWarning`]s for fields the cloud cannot take.
//! - [`plan_delete`] removes a load balancer and releases (or keeps) its floating IP.
//!
//! This crate is pure: no async, no I/O, no clocks, no randomness. Equal inputs give equal
//! plans, byte for byte.

pub mod config;
pub mod desired;
pub mod owner;
pub mod plan;
pub mod standing;

pub use config::{ApiVersion, Capabilities, ClusterConfig, cluster_tag, service_tag};
pub use desired::{EligibleNode, desired, eligible_nodes, floating_ip_description, lb_name};
pub use owner::{KEEP_TAG, Ownership, Tag, ownership_of};
pub use plan::{
    Change, Changes, DeleteIntent, ObjKey, ObjRef, Plan, PlanError, PlanWarning, Recovery, Step,
    WarningReason, adapt, adapt_errors, floating_ip_is_ours, plan, plan_delete, recovery, servable,
    settled,
};
pub use standing::{Live, Standing, floating_ip_standing, lb_standing, may_claim};
