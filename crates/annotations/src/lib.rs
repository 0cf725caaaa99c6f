//! Service → [`LbSpec`]: the annotations and spec fields of a Kubernetes Service of type
//! LoadBalancer, parsed and validated.
//!
//! Role in the pipeline: the first step. [`parse`] takes a `k8s_openapi` `Service` and the
//! cloud-config [`Defaults`] and returns either an [`LbSpec`] with [`Warning`]s, or every
//! [`AnnotationError`] of the Service at once. Each error names the key, the value and the rule.
//! [`parse_report`] keeps the warnings of invalid Services too (for `kks-lb validate`), and
//! [`render`] is the inverse: an [`LbSpec`] back to a Service that parses to it.
//!
//! The keys are documented constants in [`keys`], and [`keys::TABLE`] exposes the
//! (key, type, default, rule) table as data (the generated `docs/annotations.md` comes from it).
//! [`values`] holds the typed values (`FromStr` + `Display`) each annotation parses into.
//!
//! This crate is pure: no async, no I/O, no clocks.

pub mod error;
pub mod keys;
pub mod lenient;
mod parse;
mod render;
pub mod spec;
pub mod values;

pub use error::{AnnotationError, Warning, WarningReason};
pub use parse::{Parsed, Report, parse, parse_report};
pub use render::render;
pub use spec::{
    Defaults, IpFamily, LbMethod, LbSpec, MonitorSpec, NodeSelector, PortProtocol, PortSpec,
    ProxyProtocol, Timeouts,
};
