//! Service → [`LbSpec`]: [`parse`] and [`parse_report`].
//!
//! Where things live: this module holds the entry points and their results ([`Parsed`],
//! [`Report`]); the rest is one parse context (`Cx`) whose methods are spread by concern:
//!
//! - `cx`: the context itself (annotations, collected errors and warnings), typed lookups
//!   and the integer helpers;
//! - `service`: the whole Service, key by key, into an [`LbSpec`];
//! - `ports`: `spec.ports` and the source ranges;
//! - `monitor`: the health monitor;
//! - `checks`: warnings for managed, unsupported and unknown keys, and the X-Forwarded-For /
//!   PROXY rules.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use serde::Serialize;

use crate::error::{AnnotationError, Warning};
use crate::spec::{Defaults, LbSpec};
use cx::Cx;

mod checks;
mod cx;
mod monitor;
mod ports;
mod service;

/// A valid Service: its [`LbSpec`] and the [`Warning`]s to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// The parsed Service.
    pub spec: LbSpec,
    /// Warnings (unknown keys, ignored platform-managed keys, ...), in a stable order.
    pub warnings: Vec<Warning>,
}

/// Everything [`parse_report`] found in a Service: the spec when valid, and every error and
/// warning (an invalid Service has warnings too, e.g. a misspelt key that explains an error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The parsed Service; `Some` exactly when `errors` is empty.
    pub spec: Option<LbSpec>,
    /// Every broken rule, in a stable order (metadata, spec fields, annotations in
    /// [`keys::TABLE`] order, then rules across keys).
    ///
    /// [`keys::TABLE`]: crate::keys::TABLE
    pub errors: Vec<AnnotationError>,
    /// Every warning, in a stable order.
    pub warnings: Vec<Warning>,
}

impl Report {
    /// `Ok(Parsed)` when valid, else every error (the warnings are dropped).
    pub fn into_result(self) -> Result<Parsed, Vec<AnnotationError>> {
        match self.spec {
            Some(spec) if self.errors.is_empty() => Ok(Parsed {
                spec,
                warnings: self.warnings,
            }),
            _ => Err(self.errors),
        }
    }
}

/// Parses a Service of type LoadBalancer into an [`LbSpec`], or reports every error at once.
///
/// Reads the annotations of [`keys::TABLE`] and the spec fields `type`, `loadBalancerClass`,
/// `ports`, `loadBalancerSourceRanges` (or the legacy annotation [`keys::SOURCE_RANGES`] when
/// the field is empty), `externalTrafficPolicy`, `healthCheckNodePort`, `sessionAffinity`,
/// `loadBalancerIP`, `ipFamilies` and `allocateLoadBalancerNodePorts`. Absent annotations take
/// their value from `defaults` (the cloud configuration) or the table's default.
///
/// # Errors
/// Every [`AnnotationError`] of the Service: a value that does not parse, a rule across keys
/// (timeout ≥ delay, X-Forwarded-For with PROXY, either on a UDP/SCTP port), a `spec.type`
/// other than LoadBalancer, no ports, duplicate ports, bad CIDRs. Never only the first.
///
/// Pure and total: it never panics, whatever the input.
///
/// [`keys::TABLE`]: crate::keys::TABLE
/// [`keys::SOURCE_RANGES`]: crate::keys::SOURCE_RANGES
pub fn parse(svc: &Service, defaults: &Defaults) -> Result<Parsed, Vec<AnnotationError>> {
    parse_report(svc, defaults).into_result()
}

/// Like [`parse`], but keeps the warnings of an invalid Service too.
pub fn parse_report(svc: &Service, defaults: &Defaults) -> Report {
    let empty = BTreeMap::new();
    let mut cx = Cx {
        ann: svc.metadata.annotations.as_ref().unwrap_or(&empty),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let spec = cx.service(svc, defaults);
    Report {
        spec: if cx.errors.is_empty() {
            Some(spec)
        } else {
            None
        },
        errors: cx.errors,
        warnings: cx.warnings,
    }
}
