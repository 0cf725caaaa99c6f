//! OpenStack I/O for kks-lb: discover what the cloud supports, observe a Service's load
//! balancer, and execute plans.
//!
//! Role in the pipeline: the only crate below the controller that talks to a cloud.
//!
//! - [`client::OpenStackClient`]: one osauth session (one token, one catalog, one connection
//!   pool) shared by Octavia and Neutron calls, with a per-call timeout, a global token bucket
//!   and re-authentication.
//! - [`capabilities`]: Octavia's maximum API version and providers, as planner data.
//! - [`mod@observe`]: finds a Service's load balancer by id or name, verifies ownership tags before
//!   anything else, and reads the whole tree with one filtered list call per kind.
//! - [`execute`]: runs a planner `Plan` step by step, waiting for ACTIVE between mutations of
//!   one load balancer, retrying what is retryable, one plan at a time per load balancer.
//! - [`poller`]: one list call per tick answers every wait for ACTIVE.
//! - [`health`]: every member's operating status from one status-tree read.
//! - [`capacity`]: the cluster subnet's address usage (network IP availability, or the
//!   subnet's ports), read only when a subnet is full and for the gauge.
//! - [`mod@inventory`]: every load balancer and floating IP of a cluster, for orphan collection and
//!   `kks-lb audit`.
//! - [`pacing`]: backoff with jitter and the token bucket, on tokio's clock.
//! - [`error`]: what can go wrong talking to OpenStack, classified for retries and Events.
//! - [`accounting`]: the call-count scenarios of `docs/benchmarks.md`.

#![deny(missing_docs)]

pub mod accounting;
pub mod capabilities;
pub mod capacity;
pub mod client;
pub mod error;
pub mod execute;
pub mod health;
pub mod inventory;
pub mod observe;
pub mod pacing;
pub mod poller;
pub mod slots;

pub use capabilities::{CapabilitiesCache, discover};
pub use capacity::{SubnetRef, SubnetUsage, UsageSource, UsageWatch, subnet_usage};
pub use client::{Auth, CallRecorder, OpenStackClient, ProjectRef, SessionConfig};
pub use error::{Error, Result, Service};
pub use execute::{ExecuteConfig, Execution, Executor, Outcome, StepTiming};
pub use health::{MemberState, MemberStatuses, member_statuses};
pub use inventory::{CloudObject, Kind, Rebuilt, Scope, inventory, rebuild};
pub use observe::{
    Lookup, Observation, Ownership, observe, observe_for_delete, observe_stamped,
    observe_stamped_with, observe_with,
};
pub use pacing::{Backoff, TokenBucket};
pub use poller::{Cadence, LbState, Pace, Poller, WaitRecorder, list_loadbalancers};
pub use slots::WorkSlots;
