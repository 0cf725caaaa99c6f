//! [`Plan`]: the ordered OpenStack mutations that turn an observed topology into the desired
//! one, and [`plan`] / [`plan_delete`] that compute them.
//!
//! - [`steps`]: [`Step`], one OpenStack call each, with typed references ([`ObjKey`]).
//! - `adapt` ([`adapt()`], [`adapt_errors`], [`servable`]): what the cloud's capabilities allow of a
//!   desired topology.
//! - `diff`: the steps between a desired and an observed topology.

mod adapt;
mod diff;
pub mod steps;

use std::borrow::Cow;

use kks_lb_octavia_model::Topology;
use serde::{Deserialize, Serialize};

pub use self::adapt::{adapt, adapt_errors, servable};
pub use self::steps::{BadObjKey, Change, Changes, ObjKey, ObjRef, Step};
use crate::config::Capabilities;

/// Why a plan warns; the stable reasons double as Kubernetes Event reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WarningReason {
    /// A field or protocol the cloud does not support was left out.
    FeatureUnsupported,
    /// `loadBalancerSourceRanges` cannot be applied (Octavia < 2.12 or provider `ovn`).
    SourceRangesIgnored,
    /// A create-only field differs; only replacing the load balancer would apply it.
    ReplaceRequired,
}

impl WarningReason {
    /// PascalCase reason, as used in Events.
    pub const fn as_str(self) -> &'static str {
        match self {
            WarningReason::FeatureUnsupported => "FeatureUnsupported",
            WarningReason::SourceRangesIgnored => "SourceRangesIgnored",
            WarningReason::ReplaceRequired => "ReplaceRequired",
        }
    }
}

/// Something the user should hear about a plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlanWarning {
    /// Stable reason.
    pub reason: WarningReason,
    /// What happened and what to do, naming the field and value.
    pub message: String,
}

/// An ordered list of steps, each exactly one OpenStack mutation, plus warnings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Plan {
    /// Steps, to be executed in order.
    pub steps: Vec<Step>,
    /// Warnings (capability-dropped fields, create-only changes).
    pub warnings: Vec<PlanWarning>,
    /// What the cloud cannot do at all; when there are any, `steps` is empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<PlanError>,
}

impl Plan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Something the cloud cannot do for a Service at all; nothing is planned while one stands.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlanError {
    /// The annotation (or `cloud.conf` key) whose value the cloud refuses.
    pub key: String,
    /// The value.
    pub value: String,
    /// What the cloud accepts.
    pub rule: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}: {}", self.key, self.value, self.rule)
    }
}

/// What a delete should leave behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteIntent {
    /// Keep the floating IP allocated (the Service's `keep-floatingip`): it is only detached.
    pub keep_floatingip: bool,
}

/// Computes the shortest correct ordered list of mutations that turns `observed` into
/// `desired` on a cloud with `caps`.
///
/// # Guarantees
/// - Every step is exactly one OpenStack call ([`Step::call`]).
/// - `plan(d, Some(d'), caps)` is empty when `d'` equals [`adapt`]`(d, caps)` up to ids and
///   statuses; equal inputs give equal plans (everything is ordered by identity keys).
/// - A missing load balancer (`observed == None`) is one fully-populated create step (plus,
///   for an external Service, the floating IP `POST` carrying the owner marker and its tags).
/// - Every step refers only to objects that exist or that an earlier step creates.
/// - Pools no listener names (`detached_pools`) are deleted first; deletes go child first
///   (pool before listener); every listener that goes away is deleted before any listener is
///   created, so a protocol change on a port never leaves two listeners on one port.
/// - A listener on a live load balancer is created after its pool, members and monitor,
///   naming the pool: it never exists without it.
/// - Member changes of a pool are one [`Step::ReplaceMembers`].
/// - Immutable changes (listener protocol, pool protocol, monitor type, VIP subnet or
///   network, provider) are delete + create; a pool is recreated right after its deletion.
///   A replaced load balancer keeps its floating IP.
/// - Create-only fields (flavor, availability zone, VIP address) that differ are not changed;
///   a [`WarningReason::ReplaceRequired`] warning says so.
/// - Fields the cloud does not support are never sent; see [`adapt`]. What it cannot do at
///   all is a [`PlanError`], and the plan then has no steps.
///
/// # Assumptions
/// `observed` is the topology found for this Service (ownership already verified by the
/// caller); its child lists may come in any order.
pub fn plan(desired: &Topology, observed: Option<&Topology>, caps: &Capabilities) -> Plan {
    let (d, mut warnings, errors) = adapt::adapt_cow(desired, caps);
    let mut steps = Vec::new();
    if !errors.is_empty() {
        warnings.sort();
        return Plan {
            steps,
            warnings,
            errors,
        };
    }
    match observed {
        None => diff::create_all(&d, None, &mut steps),
        Some(o) => {
            let o: Cow<'_, Topology> = if o.is_normalized() {
                Cow::Borrowed(o)
            } else {
                let mut o = o.clone();
                o.normalize();
                Cow::Owned(o)
            };
            if diff::needs_replacement(&d.loadbalancer, &o.loadbalancer) {
                diff::replace(&d, &o, &mut steps);
            } else {
                diff::update_loadbalancer(
                    &d.loadbalancer,
                    &o.loadbalancer,
                    caps,
                    &mut steps,
                    &mut warnings,
                );
                diff::floating_ip(&d, &o, &mut steps);
            }
        }
    }
    warnings.sort();
    Plan {
        steps,
        warnings,
        errors,
    }
}

/// The steps that remove a load balancer: the floating IP is released when it is ours and
/// `intent` does not keep it (else only detached), then one cascade delete.
pub fn plan_delete(observed: &Topology, intent: DeleteIntent) -> Plan {
    let mut steps = Vec::new();
    if let Some(fip) = &observed.floatingip {
        diff::release_floating_ip(observed, fip, intent.keep_floatingip, &mut steps);
    }
    steps.push(Step::DeleteLoadbalancer {
        loadbalancer: ObjRef::new(ObjKey::Loadbalancer, observed.loadbalancer.id.as_ref()),
        cascade: true,
    });
    Plan {
        steps,
        warnings: Vec::new(),
        errors: Vec::new(),
    }
}

/// Whether a floating IP belongs to the Service of `lb` (by its tags or its owner marker).
pub fn floating_ip_is_ours(
    lb: &kks_lb_octavia_model::LoadBalancer,
    fip: &kks_lb_octavia_model::FloatingIp,
) -> bool {
    diff::fip_is_ours(lb, fip)
}

/// What the cloud holds once a plan towards `adapted` (the desired topology after
/// [`adapt`]) has run to the end: that topology with the ids the executor knows (`ids`, by
/// key), the VIP address and floating IP address it reported, and every object `ACTIVE`.
/// The next plan for the Service can start from it without reading the cloud again.
///
/// A floating IP the Service named (`loadBalancerIP`) is not ours: it is recorded without
/// tags or marker, so nothing planned from this topology releases it. `None` when the ids
/// do not name every object: then the cloud must be read again.
pub fn settled(
    adapted: &Topology,
    ids: &std::collections::BTreeMap<ObjKey, String>,
    vip_address: Option<&str>,
    floating_ip: Option<&str>,
) -> Option<Topology> {
    use kks_lb_octavia_model::ProvisioningStatus::Active;
    let mut t = adapted.clone();
    let id = |k: &ObjKey| ids.get(k).cloned();
    let lb = &mut t.loadbalancer;
    lb.id = id(&ObjKey::Loadbalancer);
    lb.vip_port_id = id(&ObjKey::VipPort);
    if lb.vip_address.is_none() {
        lb.vip_address = vip_address.map(str::to_owned);
    }
    lb.provisioning_status = Some(Active);
    lb.detached_pools.clear();
    for l in &mut lb.listeners {
        let k = l.key();
        l.id = id(&ObjKey::Listener(k));
        l.provisioning_status = Some(Active);
        if let Some(p) = &mut l.default_pool {
            p.id = id(&ObjKey::Pool(k));
            p.provisioning_status = Some(Active);
            if let Some(hm) = &mut p.healthmonitor {
                hm.id = id(&ObjKey::Healthmonitor(k));
                hm.provisioning_status = Some(Active);
            }
        }
    }
    let port = lb.vip_port_id.clone();
    if let Some(f) = &mut t.floatingip {
        if f.floating_ip_address.is_some() {
            f.tags.clear();
            f.description.clear();
        } else {
            f.floating_ip_address = floating_ip.map(str::to_owned);
        }
        f.id = id(&ObjKey::Floatingip);
        f.port_id = port;
    }
    let lb = &t.loadbalancer;
    let complete = lb.id.is_some()
        && lb.vip_port_id.is_some()
        && lb.listeners.iter().all(|l| {
            l.id.is_some()
                && l.default_pool.as_ref().is_none_or(|p| {
                    p.id.is_some() && p.healthmonitor.as_ref().is_none_or(|hm| hm.id.is_some())
                })
        })
        && t.floatingip.as_ref().is_none_or(|f| f.id.is_some());
    complete.then_some(t)
}

/// What to do about a load balancer in provisioning status `ERROR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Nothing to recover: it is not in `ERROR`.
    Healthy,
    /// It never served (a create failed): delete it ([`plan_delete`]); the next plan creates
    /// it anew.
    Replace,
    /// It served before and the plan changes it: the plan's steps are the repair.
    Repair,
    /// It served before and nothing would change: report it and look again later.
    Report,
}

/// Decides how to recover `observed` (SPEC.md §8: a load balancer that ends in `ERROR` on
/// create is deleted and created again; a live one is repaired by its plan, else reported).
/// `ever_ready`: the Service already recorded this load balancer (its `load-balancer-id`).
pub fn recovery(observed: &Topology, ever_ready: bool, plan: &Plan) -> Recovery {
    use kks_lb_octavia_model::ProvisioningStatus;
    if observed.loadbalancer.provisioning_status != Some(ProvisioningStatus::Error) {
        Recovery::Healthy
    } else if !ever_ready {
        Recovery::Replace
    } else if !plan.is_empty() {
        Recovery::Repair
    } else {
        Recovery::Report
    }
}
