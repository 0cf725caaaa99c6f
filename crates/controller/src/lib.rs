//! The kks-lb controller: every Kubernetes Service of type LoadBalancer gets an OpenStack
//! Octavia load balancer, and its status, annotations and Events are kept true.
//!
//! Role in the pipeline: the top. It wires the pure crates (`kks-lb-annotations`,
//! `kks-lb-planner`) and the cloud I/O of `kks-lb-adapter` to kube-runtime, and is both the
//! library behind the in-cluster `kks-lb-controller` binary and the one other controllers embed.
//! Its dependencies hold no test code; the `kks-lb` command line (validate, plan, demo...) is
//! the `kks-lb` crate, which calls this library.
//!
//! - [`run`]: the wiring, configuration → clients → leader election → kube-runtime
//!   `Controller` on Services; [`run::run`] is the binary's entry point, [`run::run_with`]
//!   starts the controller with clients the caller built.
//! - [`engine`]: one Service and the nodes in, an [`engine::Outcome`] out (parse → observe →
//!   plan → execute; status, annotations, Events and requeue as data, nothing written to
//!   Kubernetes), with cached observations and the list-based drift check. The door for
//!   embedding controllers (docs/embedding.md).
//! - [`apply`]: writes an outcome to the Service (Events, annotations, status).
//! - [`reconcile`]: the kube-runtime wrapper around the engine: phase, finalizer, trigger
//!   filter, backoff, gauges.
//! - [`health`]: the members' health (`LoadBalancerMembersHealthy`, `MembersDown`), from the
//!   load balancer's operating status and, only when it is not `ONLINE`, its status tree.
//! - [`capacity`]: the cluster subnet's usage (`SubnetExhausted`, `kks_lb_subnet_addresses`).
//! - [`status`]: pure decisions about one Service: its phase, `status.loadBalancer`, the
//!   `LoadBalancerReady` condition and the annotations the controller writes.
//! - [`config`]: command-line flags with `KKS_LB_*` fallbacks, and what the adapter, the planner
//!   and the reconcile need from them; [`cloud_config`]: OCCM's `cloud.conf` format.
//! - [`events`]: Events on Services with their stable reasons, aggregated.
//! - [`orphans`]: collection of load balancers and floating IPs whose Service is gone.
//! - [`leader`]: leader election on a `coordination.k8s.io/v1` Lease.
//! - [`metrics`] and [`http`]: Prometheus metrics, `/metrics`, `/healthz` and `/readyz`.
//! - [`webhook`]: the validating admission webhook, the verdict of `kks-lb validate` at
//!   `kubectl apply` time.
//! - [`build_info`]: the version and source revision of this build.

#![deny(missing_docs)]

pub mod apply;
pub mod build_info;
pub mod capacity;
pub mod cloud_config;
pub mod config;
pub mod engine;
pub mod events;
pub mod health;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod orphans;
pub mod reconcile;
pub mod run;
pub mod status;
pub mod webhook;

/// Locks `m`, also when a thread panicked while holding it: the state behind every lock of
/// this crate (caches, counters, Event bookkeeping) stays usable after a half-done update.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
