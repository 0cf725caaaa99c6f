//! The `LoadBalancerReady` condition kks-lb wants, and the ingress.

use k8s_openapi::api::core::v1::LoadBalancerIngress;
use kks_lb_adapter::Outcome;
use kks_lb_annotations::{LbSpec, ProxyProtocol};

use super::{MAX_MESSAGE, cut};

/// The `LoadBalancerReady` condition kks-lb wants on a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// `True` when the load balancer serves what the Service asks for.
    pub ready: bool,
    /// PascalCase reason from the Event reasons of SPEC §6.
    pub reason: &'static str,
    /// For humans; cut to 1 KiB.
    pub message: String,
}

impl Readiness {
    /// A `True` condition.
    pub fn ready(reason: &'static str, message: impl Into<String>) -> Self {
        Readiness {
            ready: true,
            reason,
            message: cut(message.into(), MAX_MESSAGE),
        }
    }

    /// A `False` condition.
    pub fn pending(reason: &'static str, message: impl Into<String>) -> Self {
        Readiness {
            ready: false,
            reason,
            message: cut(message.into(), MAX_MESSAGE),
        }
    }

    pub(super) fn status(&self) -> &'static str {
        if self.ready { "True" } else { "False" }
    }
}

/// The address a Service is reached at: the floating IP for an external Service, the VIP for
/// an internal one; `None` while it is not known.
pub fn address(spec: &LbSpec, outcome: &Outcome) -> Option<String> {
    if spec.internal {
        outcome.vip_address.clone()
    } else {
        outcome.floating_ip.clone()
    }
}

/// The `status.loadBalancer.ingress` entry: `hostname` when the hostname annotation is set,
/// else the [`address`] with `ipMode: Proxy` for PROXY protocol (so in-cluster clients go
/// through the load balancer) or `VIP` otherwise. `None` while the address is unknown.
pub fn ingress(spec: &LbSpec, outcome: &Outcome) -> Option<LoadBalancerIngress> {
    let ip = address(spec, outcome)?;
    Some(match &spec.hostname {
        Some(hostname) => LoadBalancerIngress {
            hostname: Some(hostname.clone()),
            ..LoadBalancerIngress::default()
        },
        None => LoadBalancerIngress {
            ip: Some(ip),
            ip_mode: Some(
                match spec.proxy_protocol {
                    ProxyProtocol::V1 | ProxyProtocol::V2 => "Proxy",
                    ProxyProtocol::Off => "VIP",
                }
                .to_owned(),
            ),
            ..LoadBalancerIngress::default()
        },
    })
}

/// What to do with `status.loadBalancer.ingress`.
#[derive(Debug, Clone, PartialEq)]
pub enum IngressUpdate {
    /// Leave it as it is (the last good load balancer keeps serving).
    Keep,
    /// Set it to exactly these entries.
    Set(Vec<LoadBalancerIngress>),
    /// Remove it (`status.loadBalancer: {}`).
    Clear,
}
