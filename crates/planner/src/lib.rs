//! Desired Octavia topology for a Service, and the ordered plan that reaches it.
//!
//! Role in the pipeline: the heart of kks-lb, between parsing and I/O.
//!
//! ```text
//! LbSpec + Nodes + ClusterConfig --desired()--> Topology (desired)
//! Topology (desired) + Topology (observed) + Capabilities --plan()--> Plan (ordered Steps)
//! ```
//!
//! - [`desired()`] computes names, tags, eligible nodes, members, monitors and the floating-IP
//!   intent of one Service.
//! - [`plan()`] diffs the desired topology against the observed one (matching listeners by
//!   (protocol, port) and members by (address, port)) and returns a [`Plan`]: ordered
//!   [`Step`]s, each exactly one OpenStack mutation, with symbolic [`ObjRef`]s for objects the
//!   plan itself creates, plus [`PlanWarning`]s for fields the cloud cannot take.
//! - [`plan_delete`] removes a load balancer and releases (or keeps) its floating IP.
//! - [`config`]: the planner's other inputs, [`ClusterConfig`] and the cloud's [`Capabilities`].
//! - [`owner`]: which cloud objects belong to which Service, from tags, markers and names.
//! - [`standing`]: cloud objects judged against the live Services (orphan, adopted, foreign...).
//!
//! This crate is pure: no async, no I/O, no clocks, no randomness. Equal inputs give equal
//! plans, byte for byte.
//!
//! # Example
//!
//! From a Service to the plan that creates its load balancer, and the empty plan once the
//! cloud has it:
//!
//! ```
//! use k8s_openapi::api::core::v1::{Node, Service};
//! use kks_lb_annotations::{Defaults, parse};
//! use kks_lb_planner::{Capabilities, ClusterConfig, desired, plan};
//!
//! let service: Service = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "v1",
//!     "kind": "Service",
//!     "metadata": {
//!         "name": "web",
//!         "namespace": "shop",
//!         "annotations": {"loadbalancer.openstack.org/enable-health-monitor": "true"},
//!     },
//!     "spec": {
//!         "type": "LoadBalancer",
//!         "ports": [{"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080}],
//!     },
//! }))?;
//! let node = |name: &str, ip: &str| -> serde_json::Result<Node> {
//!     serde_json::from_value(serde_json::json!({
//!         "metadata": {"name": name},
//!         "status": {"addresses": [{"type": "InternalIP", "address": ip}]},
//!     }))
//! };
//! let nodes = [node("node-1", "10.0.0.11")?, node("node-2", "10.0.0.12")?];
//! let cluster = ClusterConfig {
//!     cluster_name: "prod".to_owned(),
//!     subnet_id: Some("cluster-subnet".to_owned()),
//!     floating_network_id: Some("public".to_owned()),
//!     ..ClusterConfig::default()
//! };
//!
//! let spec = parse(&service, &Defaults::default()).map_err(|errors| format!("{errors:?}"))?.spec;
//! let want = desired(&spec, &nodes, &cluster);
//! assert_eq!(want.loadbalancer.name, "kube_service_prod_shop_web");
//! assert_eq!(want.loadbalancer.listeners[0].default_pool.as_ref().map(|p| p.members.len()), Some(2));
//!
//! let caps = Capabilities::default();
//! let steps = plan(&want, None, &caps).steps;
//! let ops: Vec<&str> = steps.iter().map(|s| s.op()).collect();
//! println!("{ops:?}");
//! // One POST for the whole tree, then the floating IP (Neutron takes its tags in a second call).
//! assert_eq!(ops, ["create_loadbalancer", "create_floatingip", "tag_floatingip"]);
//!
//! // Observed as desired: nothing to do.
//! assert!(plan(&want, Some(&want), &caps).is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

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
