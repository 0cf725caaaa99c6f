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
//! [`values`] holds the typed values (`FromStr` + `Display`) each annotation parses into,
//! [`spec`] the [`LbSpec`] they make up, [`error`] the errors and warnings, and [`lenient`] the
//! readings a removal needs from a Service that no longer parses.
//!
//! This crate is pure: no async, no I/O, no clocks.
//!
//! # Example
//!
//! A Service's annotations parse into typed values; a value that breaks a rule is reported with
//! the key, the value and the rule, together with every other error of the Service.
//!
//! ```
//! use k8s_openapi::api::core::v1::Service;
//! use kks_lb_annotations::{Defaults, LbMethod, keys, parse};
//!
//! let service = |annotations: serde_json::Value| -> Service {
//!     serde_json::from_value(serde_json::json!({
//!         "apiVersion": "v1",
//!         "kind": "Service",
//!         "metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
//!         "spec": {
//!             "type": "LoadBalancer",
//!             "ports": [{"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080}],
//!         },
//!     }))
//!     .expect("a Service")
//! };
//!
//! let good = service(serde_json::json!({
//!     "loadbalancer.openstack.org/lb-method": "LEAST_CONNECTIONS",
//!     "loadbalancer.openstack.org/timeout-client-data": "90000",
//! }));
//! let parsed = parse(&good, &Defaults::default()).expect("valid");
//! assert_eq!(parsed.spec.lb_method, LbMethod::LeastConnections);
//! assert_eq!(parsed.spec.timeouts.client_data, 90_000);
//! assert_eq!(parsed.spec.ports[0].port, 80);
//!
//! let bad = service(serde_json::json!({
//!     "loadbalancer.openstack.org/lb-method": "least_connections",
//! }));
//! let errors = parse(&bad, &Defaults::default()).expect_err("invalid");
//! assert_eq!(errors[0].key, keys::LB_METHOD);
//! assert_eq!(errors[0].value, "least_connections");
//! assert!(errors[0].rule.starts_with("must be one of"), "{}", errors[0].rule);
//! println!("{}", errors[0]); // loadbalancer.openstack.org/lb-method=least_connections: must be one of ...
//! ```

#![deny(missing_docs)]

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
