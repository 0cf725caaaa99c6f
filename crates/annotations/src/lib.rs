//! Service → [`LbSpec`]: the annotations and spec fields of a Kubernetes Service of type
//! LoadBalancer, parsed and validated.
//!
//! Role in the pipeline: the first step. [`parse`] takes a `k8s_openapi` `Service` and the
//! cloud-config [`Defaults`] and returns either an [`LbSpec`] with [`Warning`]s, or every
//! [`AnnotationError`] of the Service at once. Each error names the key, the value and the rule.
//! The keys are documented constants in [`keys`], and [`keys::TABLE`] exposes the
//! (key, type, default, rule) table as data (the generated `docs/annotations.md` comes from it).
//!
//! This crate is pure: no async, no I/O, no clocks.

pub mod spec;

pub use spec::{
    Defaults, IpFamily, LbMethod, LbSpec, MonitorSpec, NodeSelector, PortProtocol, PortSpec,
    ProxyProtocol, Timeouts,
};
