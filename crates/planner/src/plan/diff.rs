//! The diff of a desired and an observed topology: update steps for what matches, delete and
//! create steps for what does not, in an order a real Octavia accepts.

use std::collections::BTreeMap;

use kks_lb_octavia_model::{
    FloatingIp, HealthMonitor, Listener, ListenerKey, LoadBalancer, Member, Pool, Topology,
};
use serde::Serialize;
use serde_json::Value;

use super::steps::{Change, Changes, ObjKey, ObjRef, Step};
use super::{PlanWarning, WarningReason};
use crate::config::Capabilities;
use crate::owner::{CLUSTER_TAG_PREFIX, Marks, SERVICE_TAG_PREFIX};

/// Whether a floating IP belongs to the load balancer's Service: its tags or its owner
/// marker name a cluster whose tag the load balancer carries, and no Service other than
/// the load balancer's.
pub(crate) fn fip_is_ours(lb: &LoadBalancer, fip: &FloatingIp) -> bool {
    let marks = Marks::effective(&fip.tags, &fip.description);
    let has = |t: String| lb.tags.contains(&t);
    marks
        .clusters
        .iter()
        .any(|c| has(format!("{CLUSTER_TAG_PREFIX}{c}")))
        && marks
            .services
            .iter()
            .all(|s| has(format!("{SERVICE_TAG_PREFIX}{s}")))
}

/// Whether `have` (bound by address) was this Service's under a previous UID: its marks name
/// the cluster `want` names, and its description the same `namespace/name`.
fn kept_by_predecessor(want: &FloatingIp, have: &FloatingIp) -> bool {
    let theirs = Marks::effective(&have.tags, &have.description);
    let ours = Marks::of(&want.tags, &want.description);
    !theirs.clusters.is_empty()
        && theirs.clusters.iter().all(|c| ours.clusters.contains(c))
        && crate::standing::service_ref(&have.description)
            .is_some_and(|r| crate::standing::service_ref(&want.description) == Some(r))
}

/// Releases a floating IP we own, or only detaches it when `keep` (the Service's
/// `keep-floatingip`) is set or the address is not ours. A detached address that is not
/// released needs nothing.
pub(super) fn release_floating_ip(
    o: &Topology,
    fip: &FloatingIp,
    keep: bool,
    steps: &mut Vec<Step>,
) {
    let r = ObjRef::new(ObjKey::Floatingip, fip.id.as_ref());
    if !keep && fip_is_ours(&o.loadbalancer, fip) {
        steps.push(Step::DeleteFloatingip { floatingip: r });
    } else if fip.port_id.is_some() || fip.id.is_none() {
        steps.push(Step::DisassociateFloatingip { floatingip: r });
    }
}

/// A new floating IP for the VIP: the `POST` carrying the owner marker, then its tags.
fn create_floating_ip(want: &FloatingIp, port: ObjRef, steps: &mut Vec<Step>) {
    steps.push(Step::CreateFloatingip {
        floatingip: FloatingIp {
            tags: Vec::new(),
            ..want.clone()
        },
        port,
    });
    if !want.tags.is_empty() {
        steps.push(Step::TagFloatingip {
            floatingip: ObjRef::new(ObjKey::Floatingip, None),
            tags: want.tags.clone(),
        });
    }
}

pub(super) fn create_all(d: &Topology, keep_address: Option<&FloatingIp>, steps: &mut Vec<Step>) {
    steps.push(Step::CreateLoadbalancer {
        loadbalancer: d.loadbalancer.clone(),
    });
    let port = ObjRef::new(ObjKey::VipPort, None);
    match (&d.floatingip, keep_address) {
        (Some(fip), _) if fip.floating_ip_address.is_some() => {
            steps.push(Step::AssociateFloatingip {
                floatingip: fip.clone(),
                port,
            });
        }
        (Some(_), Some(old)) => {
            let mut fip = old.clone();
            fip.port_id = None;
            steps.push(Step::AssociateFloatingip {
                floatingip: fip,
                port,
            });
        }
        (Some(fip), None) => create_floating_ip(fip, port, steps),
        (None, _) => {}
    }
}

fn same_provider(a: &str, b: &str) -> bool {
    // `octavia` is Octavia's historical alias of `amphora`.
    let canon = |p: &str| {
        if p.eq_ignore_ascii_case("octavia") {
            "amphora".to_owned()
        } else {
            p.to_ascii_lowercase()
        }
    };
    canon(a) == canon(b)
}

pub(super) fn needs_replacement(d: &LoadBalancer, o: &LoadBalancer) -> bool {
    let differs = |want: &Option<String>, have: &Option<String>| {
        want.as_ref()
            .is_some_and(|w| have.as_ref().is_some_and(|h| w != h))
    };
    differs(&d.vip_subnet_id, &o.vip_subnet_id)
        || (d.vip_subnet_id.is_none() && differs(&d.vip_network_id, &o.vip_network_id))
        || match (&d.provider, &o.provider) {
            (Some(w), Some(h)) => !same_provider(w, h),
            _ => false,
        }
}

pub(super) fn replace(d: &Topology, o: &Topology, steps: &mut Vec<Step>) {
    let mut kept = None;
    if let Some(fip) = &o.floatingip {
        // Keep the public address across the replacement when the Service still wants one.
        if d.floatingip.is_some() && fip.floating_ip_address.is_some() {
            if fip.port_id.is_some() {
                steps.push(Step::DisassociateFloatingip {
                    floatingip: ObjRef::new(ObjKey::Floatingip, fip.id.as_ref()),
                });
            }
            kept = Some(fip);
        } else {
            release_floating_ip(o, fip, d.keep_floatingip, steps);
        }
    }
    steps.push(Step::DeleteLoadbalancer {
        loadbalancer: ObjRef::new(ObjKey::Loadbalancer, o.loadbalancer.id.as_ref()),
        cascade: true,
    });
    create_all(d, kept, steps);
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn change<T: Serialize + PartialEq>(changes: &mut Changes, field: &str, from: &T, to: &T) {
    if from != to {
        changes.insert(
            field.to_owned(),
            Change {
                from: to_value(from),
                to: to_value(to),
            },
        );
    }
}

/// Like [`change`], for a field whose desired `None` means "not managed".
fn change_managed<T: Serialize + PartialEq>(
    changes: &mut Changes,
    field: &str,
    from: &Option<T>,
    to: &Option<T>,
) {
    if to.is_some() {
        change(changes, field, from, to);
    }
}

pub(super) fn update_loadbalancer(
    d: &LoadBalancer,
    o: &LoadBalancer,
    caps: &Capabilities,
    steps: &mut Vec<Step>,
    warnings: &mut Vec<PlanWarning>,
) {
    let lb_ref = ObjRef::new(ObjKey::Loadbalancer, o.id.as_ref());
    let mut changes = Changes::new();
    change(&mut changes, "name", &o.name, &d.name);
    change(&mut changes, "description", &o.description, &d.description);
    if caps.tags() {
        change(&mut changes, "tags", &o.tags, &d.tags);
    }
    if !changes.is_empty() {
        steps.push(Step::UpdateLoadbalancer {
            loadbalancer: lb_ref.clone(),
            changes,
        });
    }
    for (field, want, have) in [
        ("flavor_id", &d.flavor_id, &o.flavor_id),
        (
            "availability_zone",
            &d.availability_zone,
            &o.availability_zone,
        ),
        ("vip_address", &d.vip_address, &o.vip_address),
    ] {
        if let Some(w) = want
            && have.as_ref() != Some(w)
        {
            let have = have.as_deref().unwrap_or("none");
            warnings.push(PlanWarning {
                reason: WarningReason::ReplaceRequired,
                message: format!("{field} is {have} on the live load balancer and {w} is wanted; it is set only at creation, so recreate the Service (or its load balancer) to apply it"),
            });
        }
    }

    let desired: BTreeMap<ListenerKey, &Listener> =
        d.listeners.iter().map(|l| (l.key(), l)).collect();
    let observed: BTreeMap<ListenerKey, &Listener> =
        o.listeners.iter().map(|l| (l.key(), l)).collect();

    // Pools no listener names (an interrupted listener create left them): deleted with
    // their members and monitor before anything is created.
    for p in &o.detached_pools {
        if let Some(id) = &p.id {
            steps.push(Step::DeletePool {
                pool: ObjRef::new(ObjKey::DetachedPool(id.clone()), Some(id)),
            });
        }
    }
    // Listeners that go away, child first, before anything is created.
    for (k, ol) in &observed {
        if desired.contains_key(k) {
            continue;
        }
        if let Some(p) = &ol.default_pool {
            steps.push(Step::DeletePool {
                pool: ObjRef::new(ObjKey::Pool(*k), p.id.as_ref()),
            });
        }
        steps.push(Step::DeleteListener {
            listener: ObjRef::new(ObjKey::Listener(*k), ol.id.as_ref()),
        });
    }
    for (k, dl) in &desired {
        match observed.get(k) {
            Some(ol) => update_listener(*k, dl, ol, steps),
            None => create_listener(&lb_ref, dl, steps),
        }
    }
}

fn update_listener(k: ListenerKey, d: &Listener, o: &Listener, steps: &mut Vec<Step>) {
    let l_ref = ObjRef::new(ObjKey::Listener(k), o.id.as_ref());
    let mut c = Changes::new();
    change(&mut c, "name", &o.name, &d.name);
    change(
        &mut c,
        "connection_limit",
        &o.connection_limit,
        &d.connection_limit,
    );
    change_managed(
        &mut c,
        "timeout_client_data",
        &o.timeout_client_data,
        &d.timeout_client_data,
    );
    change_managed(
        &mut c,
        "timeout_member_connect",
        &o.timeout_member_connect,
        &d.timeout_member_connect,
    );
    change_managed(
        &mut c,
        "timeout_member_data",
        &o.timeout_member_data,
        &d.timeout_member_data,
    );
    change_managed(
        &mut c,
        "timeout_tcp_inspect",
        &o.timeout_tcp_inspect,
        &d.timeout_tcp_inspect,
    );
    let empty_as_none = |c: &Option<Vec<String>>| c.clone().filter(|v| !v.is_empty());
    change(
        &mut c,
        "allowed_cidrs",
        &empty_as_none(&o.allowed_cidrs),
        &empty_as_none(&d.allowed_cidrs),
    );
    change(
        &mut c,
        "insert_headers",
        &o.insert_headers,
        &d.insert_headers,
    );
    change(&mut c, "tags", &o.tags, &d.tags);
    if !c.is_empty() {
        steps.push(Step::UpdateListener {
            listener: l_ref.clone(),
            changes: c,
        });
    }
    let p_ref = |p: Option<&Pool>| ObjRef::new(ObjKey::Pool(k), p.and_then(|p| p.id.as_ref()));
    match (&d.default_pool, &o.default_pool) {
        (Some(dp), Some(op)) if dp.protocol != op.protocol => {
            steps.push(Step::DeletePool {
                pool: p_ref(Some(op)),
            });
            create_pool(l_ref, k, dp, steps);
        }
        (Some(dp), Some(op)) => update_pool(k, dp, op, steps),
        (Some(dp), None) => create_pool(l_ref, k, dp, steps),
        (None, Some(op)) => steps.push(Step::DeletePool {
            pool: p_ref(Some(op)),
        }),
        (None, None) => {}
    }
}

fn update_pool(k: ListenerKey, d: &Pool, o: &Pool, steps: &mut Vec<Step>) {
    let p_ref = ObjRef::new(ObjKey::Pool(k), o.id.as_ref());
    let mut c = Changes::new();
    change(&mut c, "name", &o.name, &d.name);
    change(&mut c, "lb_algorithm", &o.lb_algorithm, &d.lb_algorithm);
    change(
        &mut c,
        "session_persistence",
        &o.session_persistence,
        &d.session_persistence,
    );
    change(&mut c, "tags", &o.tags, &d.tags);
    if !c.is_empty() {
        steps.push(Step::UpdatePool {
            pool: p_ref.clone(),
            changes: c,
        });
    }
    let m_ref = |m: &HealthMonitor| ObjRef::new(ObjKey::Healthmonitor(k), m.id.as_ref());
    match (&d.healthmonitor, &o.healthmonitor) {
        (Some(dm), Some(om)) if dm.kind != om.kind => {
            steps.push(Step::DeleteHealthmonitor {
                healthmonitor: m_ref(om),
            });
            steps.push(Step::CreateHealthmonitor {
                pool: p_ref.clone(),
                healthmonitor: dm.clone(),
            });
        }
        (Some(dm), Some(om)) => {
            let mut c = Changes::new();
            change(&mut c, "name", &om.name, &dm.name);
            change(&mut c, "delay", &om.delay, &dm.delay);
            change(&mut c, "timeout", &om.timeout, &dm.timeout);
            change(&mut c, "max_retries", &om.max_retries, &dm.max_retries);
            change(
                &mut c,
                "max_retries_down",
                &om.max_retries_down,
                &dm.max_retries_down,
            );
            change(&mut c, "http_method", &om.http_method, &dm.http_method);
            change(&mut c, "url_path", &om.url_path, &dm.url_path);
            change(
                &mut c,
                "expected_codes",
                &om.expected_codes,
                &dm.expected_codes,
            );
            change(&mut c, "tags", &om.tags, &dm.tags);
            if !c.is_empty() {
                steps.push(Step::UpdateHealthmonitor {
                    healthmonitor: m_ref(om),
                    changes: c,
                });
            }
        }
        (Some(dm), None) => {
            steps.push(Step::CreateHealthmonitor {
                pool: p_ref.clone(),
                healthmonitor: dm.clone(),
            });
        }
        (None, Some(om)) => steps.push(Step::DeleteHealthmonitor {
            healthmonitor: m_ref(om),
        }),
        (None, None) => {}
    }
    if !same_members(&d.members, &o.members) {
        steps.push(Step::ReplaceMembers {
            pool: p_ref,
            members: d.members.clone(),
        });
    }
}

/// Compares member sets by identity and the fields kks-lb manages, ignoring ids, statuses and
/// order. Linear in the number of members for sorted inputs.
fn same_members(d: &[Member], o: &[Member]) -> bool {
    type Managed<'a> = (&'a str, u16, &'a str, Option<&'a str>, u16, Option<u16>);
    fn managed(m: &Member) -> Managed<'_> {
        (
            m.address.as_str(),
            m.protocol_port,
            m.name.as_str(),
            m.subnet_id.as_deref(),
            m.weight,
            m.monitor_port,
        )
    }
    if d.len() != o.len() {
        return false;
    }
    let sorted = |ms: &[Member]| ms.windows(2).all(|w| Member::cmp_key(&w[0], &w[1]).is_le());
    if sorted(d) && sorted(o) {
        return d.iter().zip(o).all(|(a, b)| managed(a) == managed(b));
    }
    let mut a: Vec<_> = d.iter().map(managed).collect();
    let mut b: Vec<_> = o.iter().map(managed).collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// A pool and its children, one call each: the pool on `parent` (the load balancer, or the
/// listener it becomes the default pool of), its members in one batch, its monitor.
fn create_pool(parent: ObjRef, k: ListenerKey, p: &Pool, steps: &mut Vec<Step>) {
    steps.push(Step::CreatePool {
        parent,
        key: k,
        pool: Pool {
            members: Vec::new(),
            healthmonitor: None,
            ..p.clone()
        },
    });
    let planned = || ObjRef::new(ObjKey::Pool(k), None);
    if !p.members.is_empty() {
        steps.push(Step::ReplaceMembers {
            pool: planned(),
            members: p.members.clone(),
        });
    }
    if let Some(hm) = &p.healthmonitor {
        steps.push(Step::CreateHealthmonitor {
            pool: planned(),
            healthmonitor: hm.clone(),
        });
    }
}

/// A listener on a live load balancer: Octavia 19 answers 500 to a listener `POST` with a
/// nested default pool, so its pool, members and monitor go first, on the load balancer,
/// and the listener names the pool; it never exists without its pool.
fn create_listener(lb: &ObjRef, l: &Listener, steps: &mut Vec<Step>) {
    let k = l.key();
    if let Some(p) = &l.default_pool {
        create_pool(lb.clone(), k, p, steps);
    }
    steps.push(Step::CreateListener {
        loadbalancer: lb.clone(),
        listener: Listener {
            default_pool: None,
            ..l.clone()
        },
        default_pool: l
            .default_pool
            .as_ref()
            .map(|_| ObjRef::new(ObjKey::Pool(k), None)),
    });
}

/// The floating IP: bind the wanted address (a new one, the Service's `loadBalancerIP`, or a
/// detached one of ours), release or detach one no longer wanted, and repair the tags of
/// one we own (a create interrupted between its `POST` and its tags leaves it marked only).
pub(super) fn floating_ip(d: &Topology, o: &Topology, steps: &mut Vec<Step>) {
    let port = ObjRef::new(ObjKey::VipPort, o.loadbalancer.vip_port_id.as_ref());
    match (&d.floatingip, &o.floatingip) {
        (Some(want), None) => {
            if want.floating_ip_address.is_some() {
                steps.push(Step::AssociateFloatingip {
                    floatingip: want.clone(),
                    port,
                });
            } else {
                create_floating_ip(want, port, steps);
            }
        }
        (None, Some(have)) => release_floating_ip(o, have, d.keep_floatingip, steps),
        (Some(want), Some(have)) => {
            if let Some(addr) = &want.floating_ip_address
                && have.floating_ip_address.as_ref() != Some(addr)
            {
                release_floating_ip(o, have, d.keep_floatingip, steps);
                steps.push(Step::AssociateFloatingip {
                    floatingip: want.clone(),
                    port,
                });
                return;
            }
            if have.port_id.is_none() && have.id.is_some() {
                // Ours, left detached (a replacement interrupted after the detach): bind it
                // again, so the Service keeps its public address.
                steps.push(Step::AssociateFloatingip {
                    floatingip: have.clone(),
                    port,
                });
            }
            let mut tags = have.tags.clone();
            tags.sort();
            // Ours: created by us, or a `loadBalancerIP` address kept by the deleted Service of
            // the same namespace and name (its marks name this cluster and that name), which
            // this Service took back: retagged so it is this Service's from now on.
            let ours = if want.floating_ip_address.is_none() {
                fip_is_ours(&o.loadbalancer, have)
            } else {
                kept_by_predecessor(want, have)
            };
            if !want.tags.is_empty() && tags != want.tags && ours {
                steps.push(Step::TagFloatingip {
                    floatingip: ObjRef::new(ObjKey::Floatingip, have.id.as_ref()),
                    tags: want.tags.clone(),
                });
            }
        }
        (None, None) => {}
    }
}
