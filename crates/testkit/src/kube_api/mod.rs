//! Kubernetes API emulator.
//!
//! An HTTP server on 127.0.0.1 speaking enough of the Kubernetes API for the real kube-rs
//! client, watchers, reflectors, `Controller`, finalizer helper, event `Recorder` and a
//! Lease-based leader election to run unmodified:
//!
//! - resources: core/v1 Services (+`/status`), Nodes (+`/status`), Namespaces (+`/status`),
//!   Events; events.k8s.io/v1 Events (same storage as core Events); coordination.k8s.io/v1
//!   Leases; discovery.k8s.io/v1 EndpointSlices; admissionregistration.k8s.io/v1
//!   ValidatingWebhookConfigurations; discovery documents and `/version`;
//! - for kubectl: OpenAPI v3 documents (`kubectl explain`, server-side field validation with
//!   `fieldValidation=Strict|Warn|Ignore`), `Table` responses for `kubectl get` (also in
//!   watches), protobuf request bodies for Namespaces, Services and Nodes (`kubectl create
//!   namespace`, `kubectl create service ...`; other kinds get `415`);
//! - list with label/field selectors, `limit`/`continue` paging and resourceVersion
//!   semantics; watch (ADDED/MODIFIED/DELETED/BOOKMARK, resume from a resourceVersion,
//!   `410 Expired` once history is compacted, `sendInitialEvents` streaming lists,
//!   `timeoutSeconds`); `PartialObjectMetadata` responses for metadata-only clients;
//! - writes with optimistic concurrency, `generateName`, generation bumps on spec changes,
//!   no-op detection, status kept apart from the main resource, finalizer-aware deletion;
//!   JSON merge, strategic merge, JSON patch (failed `test` → 422) and server-side apply
//!   with `managedFields`, conflicts and `force`;
//! - Service defaulting and ClusterIP/NodePort/health-check-NodePort allocation, and a real
//!   API server's Service validation (ports, duplicate ports, source-range CIDRs, annotation
//!   size, `loadBalancerClass` immutability) with its field paths and messages;
//! - validating admission webhooks after the built-in validation, as a real API server calls
//!   them (`admission.k8s.io/v1` `AdmissionReview` over HTTPS with the `caBundle`, rules,
//!   selectors, `matchConditions`, `failurePolicy`, timeout; warnings as `Warning` headers);
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
