//! [`adapt`]: what the cloud can take of a desired topology. Unsupported fields are dropped or
//! replaced with a warning; what cannot be replaced without changing the Service's meaning
//! (an `lb-method` the provider refuses) is an error.

use std::borrow::Cow;

use kks_lb_octavia_model::{MonitorType, Protocol, Topology};

use super::{PlanError, PlanWarning, WarningReason};
use crate::config::Capabilities;

/// Adapts a desired topology to what the cloud supports: fields and protocols it cannot take
/// are dropped or replaced, each with a warning; an `lb-method` the provider cannot do is an
/// error. The topology is what [`super::plan`] aims for.
pub fn adapt(desired: &Topology, caps: &Capabilities) -> (Topology, Vec<PlanWarning>) {
    let (t, warnings, _) = adapt_cow(desired, caps);
    (t.into_owned(), warnings)
}

/// Whether the cloud can serve at least one port of `desired`: `false` when adapting drops
/// every listener (e.g. only SCTP ports on Octavia < 2.23). Such a Service gets no load
/// balancer and no floating IP.
pub fn servable(desired: &Topology, caps: &Capabilities) -> bool {
    !adapt_cow(desired, caps).0.loadbalancer.listeners.is_empty()
}

/// The errors [`adapt`] finds: what the cloud cannot do for this topology at all.
pub fn adapt_errors(desired: &Topology, caps: &Capabilities) -> Vec<PlanError> {
    adapt_cow(desired, caps).2
}

/// [`adapt`] without copying the (possibly large) member lists when nothing needs to change.
/// Adapting never touches members, so a copy without them tells whether anything changes.
pub(super) fn adapt_cow<'a>(
    desired: &'a Topology,
    caps: &Capabilities,
) -> (Cow<'a, Topology>, Vec<PlanWarning>, Vec<PlanError>) {
    let mut skeleton = desired.clone_without_members();
    let before = skeleton.clone();
    let (warnings, errors) = adapt_in_place(&mut skeleton, caps);
    if skeleton == before && desired.is_normalized() {
        return (Cow::Borrowed(desired), warnings, errors);
    }
    let mut full = desired.clone();
    adapt_in_place(&mut full, caps);
    full.normalize();
    (Cow::Owned(full), warnings, errors)
}

fn adapt_in_place(d: &mut Topology, caps: &Capabilities) -> (Vec<PlanWarning>, Vec<PlanError>) {
    let mut warnings = Vec::new();
    let mut errors: Vec<PlanError> = Vec::new();
    let mut warn = |reason, message: String| {
        let w = PlanWarning { reason, message };
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    };
    let v = caps.api_version;
    let lb = &mut d.loadbalancer;
    if !caps.tags() && !lb.tags.is_empty() {
        // Without tags, ownership is proven by the owner marker leading the description.
        let marks: Vec<&String> = lb
            .tags
            .iter()
            .filter(|t| crate::owner::Tag::parse(t).is_some())
            .collect();
        if !marks.is_empty() {
            let marker = marks
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            lb.description = crate::desired::cut(format!("{marker} {}", lb.description));
        }
        lb.tags.clear();
        warn(
            WarningReason::FeatureUnsupported,
            format!(
                "tags need Octavia API >= 2.5 (cloud has {v}); the load balancer is untagged and its owner is marked at the start of its description"
            ),
        );
    }
    if !caps.flavors()
        && let Some(f) = lb.flavor_id.take()
    {
        warn(
            WarningReason::FeatureUnsupported,
            format!(
                "flavor-id {f:?} ignored: needs Octavia API >= 2.6 and a provider other than ovn (cloud has {v}, provider {})",
                caps.provider
            ),
        );
    }
    if !caps.availability_zones()
        && let Some(az) = lb.availability_zone.take()
    {
        warn(
            WarningReason::FeatureUnsupported,
            format!(
                "availability-zone {az:?} ignored: needs Octavia API >= 2.14 and a provider other than ovn (cloud has {v}, provider {})",
                caps.provider
            ),
        );
    }
    let mut kept = Vec::with_capacity(lb.listeners.len());
    for mut l in std::mem::take(&mut lb.listeners) {
        if l.protocol == Protocol::Sctp && !caps.sctp() {
            warn(
                WarningReason::FeatureUnsupported,
                format!(
                    "port SCTP/{} skipped: SCTP needs Octavia API >= 2.23 (cloud has {v})",
                    l.protocol_port
                ),
            );
            continue;
        }
        if !caps.listener_timeouts() {
            let defaults = (Some(50_000), Some(5_000), Some(50_000), Some(0));
            let set = (
                l.timeout_client_data,
                l.timeout_member_connect,
                l.timeout_member_data,
                l.timeout_tcp_inspect,
            );
            if set != defaults && set != (None, None, None, None) {
                warn(
                    WarningReason::FeatureUnsupported,
                    format!(
                        "listener timeouts ignored: they need Octavia API >= 2.1 and a provider other than ovn (cloud has {v}, provider {})",
                        caps.provider
                    ),
                );
            }
            l.timeout_client_data = None;
            l.timeout_member_connect = None;
            l.timeout_member_data = None;
            l.timeout_tcp_inspect = None;
        }
        if !caps.allowed_cidrs()
            && let Some(cidrs) = l.allowed_cidrs.take()
        {
            warn(
                WarningReason::SourceRangesIgnored,
                format!(
                    "loadBalancerSourceRanges {} not applied: allowed_cidrs needs Octavia API >= 2.12 and a provider other than ovn (cloud has {v}, provider {}); the load balancer accepts every source",
                    cidrs.join(","),
                    caps.provider
                ),
            );
        }
        if !caps.http() && l.protocol == Protocol::Http {
            warn(
                WarningReason::FeatureUnsupported,
                format!(
                    "x-forwarded-for on port {} ignored: provider {} has no HTTP listeners; plain TCP is used",
                    l.protocol_port, caps.provider
                ),
            );
            l.protocol = Protocol::Tcp;
            l.insert_headers.clear();
            if let Some(p) = &mut l.default_pool {
                p.protocol = Protocol::Tcp;
            }
        }
        let port = l.protocol_port;
        if let Some(p) = &mut l.default_pool {
            if !caps.http() && matches!(p.protocol, Protocol::Proxy | Protocol::ProxyV2) {
                warn(
                    WarningReason::FeatureUnsupported,
                    format!(
                        "proxy-protocol on port {port} ignored: provider {} does not support PROXY pools",
                        caps.provider
                    ),
                );
                p.protocol = Protocol::Tcp;
            }
            if !caps.algorithm(p.lb_algorithm) {
                let e = PlanError {
                    key: kks_lb_annotations::keys::LB_METHOD.to_owned(),
                    value: p.lb_algorithm.to_string(),
                    rule: format!(
                        "provider {} supports {} only",
                        caps.provider,
                        caps.algorithms()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                };
                if !errors.contains(&e) {
                    errors.push(e);
                }
            }
            if let Some(hm) = &mut p.healthmonitor
                && !caps.http()
                && matches!(hm.kind, MonitorType::Http | MonitorType::Https)
            {
                warn(
                    WarningReason::FeatureUnsupported,
                    format!(
                        "HTTP health monitor on port {port} replaced by a connect check: provider {} has no HTTP monitors",
                        caps.provider
                    ),
                );
                hm.kind = if p.protocol == Protocol::Udp {
                    MonitorType::UdpConnect
                } else {
                    MonitorType::Tcp
                };
                hm.http_method = None;
                hm.url_path = None;
                hm.expected_codes = None;
            }
        }
        kept.push(l);
    }
    lb.listeners = kept;
    (warnings, errors)
}
