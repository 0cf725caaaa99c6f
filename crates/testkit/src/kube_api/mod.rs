//! Kubernetes API emulator.
//!
//! An HTTP server on 127.0.0.1 speaking enough of the Kubernetes API for the real kube-rs
//! client, watchers, reflectors, `Controller`, finalizer helper, event `Recorder` and a
//! Lease-based leader election to run unmodified:
//!
//! - resources: core/v1 Services (+`/status`), Nodes (+`/status`), Namespaces (+`/status`),
//!   Events; events.k8s.io/v1 Events (same storage as core Events); coordination.k8s.io/v1
//!   Leases; discovery.k8s.io/v1 EndpointSlices; discovery documents and `/version`;
//! - list with label/field selectors, `limit`/`continue` paging and resourceVersion
//!   semantics; watch (ADDED/MODIFIED/DELETED/BOOKMARK, resume from a resourceVersion,
//!   `410 Expired` once history is compacted, `sendInitialEvents` streaming lists,
//!   `timeoutSeconds`); `PartialObjectMetadata` responses for metadata-only clients;
//! - writes with optimistic concurrency, `generateName`, generation bumps on spec changes,
//!   no-op detection, status kept apart from the main resource, finalizer-aware deletion;
//!   JSON merge, strategic merge, JSON patch (failed `test` → 422) and server-side apply
//!   with `managedFields`, conflicts and `force`;
//! - Service defaulting and ClusterIP/NodePort/health-check-NodePort allocation;
//! - errors as `Status` objects (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`,
//!   `Expired`, ...).
//!
//! Tests drive it through [`KubeEmulator`]: seed Nodes and Services, inject [`Fault`]s,
//! drop watch connections, compact history, read the [`AuditEntry`] log. The binary
//! `kks-lb-kube-emulator` serves one from the command line.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use kks_lb_testkit::kube_api::KubeEmulator;
//! let emu = KubeEmulator::start().await?;
//! emu.add_node("node-1", "10.0.0.11")?;
//! let url = emu.url(); // kube::Config::new(url.parse()?) -> kube::Client
//! # let _ = url; Ok(()) }
//! ```

mod admission;
mod error;
mod faults;
mod handle;
mod managed;
mod merge;
mod openapi;
mod protobuf;
mod resources;
mod selector;
mod server;
mod store;
mod strategy;
mod table;
mod watch;

pub use error::{ApiError, EmulatorError};
pub use faults::{AuditEntry, Fault, FaultAction};
pub use handle::{EmulatorConfig, KubeEmulator};
pub use resources::ResourceType;
