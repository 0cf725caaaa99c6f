//! Test doubles for kks-lb.
//!
//! - [`openstack`]: an OpenStack emulator (Keystone v3, Octavia v2, Neutron) served over HTTP
//!   on `127.0.0.1`, with Octavia's state machine, fault injection and call accounting.
//! - [`kube_api`]: a Kubernetes API emulator that the real kube-rs client, watchers and
//!   controller run against unmodified.
//! - [`model`]: a pure model of Octavia that applies a planner `Plan` to a `Topology`.
//! - [`strategies`]: proptest strategies for Services, annotations, nodes and topologies.
//! - [`fault_proxy`]: an HTTP reverse proxy with the emulator's one-shot faults, in front of
//!   a real Octavia or Neutron.
//! - [`fixtures`]: builders for Services, Nodes and cluster configuration.

#![deny(missing_docs)]

pub mod fault_proxy;
pub mod fixtures;
pub mod kube_api;
pub mod model;
pub mod openstack;
pub mod strategies;
