//! [`Plan`] and [`Step`]: the ordered OpenStack mutations that turn an observed topology into the
//! desired one, and [`plan`] / [`plan_delete`] that compute them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use kks_lb_octavia_model::{
    FloatingIp, HealthMonitor, LbAlgorithm, Listener, ListenerKey, LoadBalancer, Member,
    MonitorType, Pool, Protocol, Topology,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Capabilities;

/// A reference from a step to an Octavia or Neutron object.
///
/// `key` names the object symbolically and stably within one load balancer (`loadbalancer`,
/// `vip_port`, `listener/TCP/80`, `pool/TCP/80`, `healthmonitor/TCP/80`, `floatingip`). `id` is
/// the cloud id when the object already exists; `None` means an earlier step of the same plan
/// creates it and the executor resolves the id from that step's response.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjRef {
    /// Symbolic key.
    #[serde(rename = "ref")]
    pub key: String,
    /// Cloud id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ObjRef {
    fn new(key: String, id: Option<&String>) -> Self {
        ObjRef {
            key,
            id: id.cloned(),
        }
    }
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{} ({id})", self.key),
            None => f.write_str(&self.key),
        }
    }
}

/// The symbolic key of the load balancer.
pub const LB_KEY: &str = "loadbalancer";
/// The symbolic key of the VIP port.
pub const VIP_PORT_KEY: &str = "vip_port";
/// The symbolic key of the floating IP.
pub const FIP_KEY: &str = "floatingip";

/// The symbolic key of a listener.
pub fn listener_key(k: ListenerKey) -> String {
    format!("listener/{}/{}", k.protocol, k.protocol_port)
}
/// The symbolic key of a listener's default pool.
pub fn pool_key(k: ListenerKey) -> String {
    format!("pool/{}/{}", k.protocol, k.protocol_port)
}
/// The symbolic key of the health monitor of a listener's default pool.
pub fn monitor_key(k: ListenerKey) -> String {
    format!("healthmonitor/{}/{}", k.protocol, k.protocol_port)
}

/// One changed field: Octavia's field name maps to the old and new JSON values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The observed value.
    pub from: Value,
    /// The desired value.
    pub to: Value,
}

/// The fields an update step changes, by Octavia field name, sorted.
pub type Changes = BTreeMap<String, Change>;

/// Exactly one OpenStack mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Step {
    /// `POST /v2/lbaas/loadbalancers`, fully populated; creates the LB, its VIP port and every
    /// listener, pool, member and monitor inside it.
    CreateLoadbalancer {
        /// The whole tree.
        loadbalancer: LoadBalancer,
    },
    /// `PUT /v2/lbaas/loadbalancers/{id}`.
    UpdateLoadbalancer {
        /// The load balancer.
        loadbalancer: ObjRef,
        /// Changed fields.
        changes: Changes,
    },
    /// `DELETE /v2/lbaas/loadbalancers/{id}[?cascade=true]`.
    DeleteLoadbalancer {
        /// The load balancer.
        loadbalancer: ObjRef,
        /// Delete every child with it.
        cascade: bool,
    },
    /// A listener with its default pool, members and monitor. The executor creates the pool
    /// first, then the listener naming it (Octavia refuses nested children here).
    CreateListener {
        /// Parent load balancer.
        loadbalancer: ObjRef,
        /// The listener and its default pool.
        listener: Listener,
    },
    /// `PUT /v2/lbaas/listeners/{id}`.
    UpdateListener {
        /// The listener.
        listener: ObjRef,
        /// Changed fields.
        changes: Changes,
    },
    /// `DELETE /v2/lbaas/listeners/{id}`.
    DeleteListener {
        /// The listener.
        listener: ObjRef,
    },
    /// `POST /v2/lbaas/pools` as the listener's default pool, then its members and monitor.
    CreatePool {
        /// The listener the pool is the default pool of.
        listener: ObjRef,
        /// The pool.
        pool: Pool,
    },
    /// `PUT /v2/lbaas/pools/{id}`.
    UpdatePool {
        /// The pool.
        pool: ObjRef,
        /// Changed fields.
        changes: Changes,
    },
    /// `DELETE /v2/lbaas/pools/{id}`; Octavia deletes the pool's members and monitor with it.
    DeletePool {
        /// The pool.
        pool: ObjRef,
    },
    /// `PUT /v2/lbaas/pools/{id}/members`: one batch call that replaces the member set.
    ReplaceMembers {
        /// The pool.
        pool: ObjRef,
        /// The complete new member set.
        members: Vec<Member>,
    },
    /// `POST /v2/lbaas/healthmonitors`.
    CreateHealthmonitor {
        /// The pool.
        pool: ObjRef,
        /// The monitor.
        healthmonitor: HealthMonitor,
    },
    /// `PUT /v2/lbaas/healthmonitors/{id}`.
    UpdateHealthmonitor {
        /// The monitor.
        healthmonitor: ObjRef,
        /// Changed fields.
        changes: Changes,
    },
    /// `DELETE /v2/lbaas/healthmonitors/{id}`.
    DeleteHealthmonitor {
        /// The monitor.
        healthmonitor: ObjRef,
    },
    /// `POST /v2.0/floatingips` bound to the VIP port in the same call.
    CreateFloatingip {
        /// The VIP port.
        port: ObjRef,
        /// Network, description, tags.
        floatingip: FloatingIp,
    },
    /// `PUT /v2.0/floatingips/{id}` with `port_id`: bind an existing, unattached address of the
    /// project (the Service's `loadBalancerIP`); the executor looks it up by address and refuses
    /// one that is bound elsewhere.
    AssociateFloatingip {
        /// The address to bind.
        floatingip: FloatingIp,
        /// The VIP port.
        port: ObjRef,
    },
    /// `PUT /v2.0/floatingips/{id}` with `port_id: null`: keep the address, unbind it.
    DisassociateFloatingip {
        /// The floating IP.
        floatingip: ObjRef,
    },
    /// `DELETE /v2.0/floatingips/{id}`: release the address.
    DeleteFloatingip {
        /// The floating IP.
        floatingip: ObjRef,
    },
}

impl Step {
    /// The step's name as serialized in `op`.
    pub fn op(&self) -> &'static str {
        match self {
            Step::CreateLoadbalancer { .. } => "create_loadbalancer",
            Step::UpdateLoadbalancer { .. } => "update_loadbalancer",
            Step::DeleteLoadbalancer { .. } => "delete_loadbalancer",
            Step::CreateListener { .. } => "create_listener",
            Step::UpdateListener { .. } => "update_listener",
            Step::DeleteListener { .. } => "delete_listener",
            Step::CreatePool { .. } => "create_pool",
            Step::UpdatePool { .. } => "update_pool",
            Step::DeletePool { .. } => "delete_pool",
            Step::ReplaceMembers { .. } => "replace_members",
            Step::CreateHealthmonitor { .. } => "create_healthmonitor",
            Step::UpdateHealthmonitor { .. } => "update_healthmonitor",
            Step::DeleteHealthmonitor { .. } => "delete_healthmonitor",
            Step::CreateFloatingip { .. } => "create_floatingip",
            Step::AssociateFloatingip { .. } => "associate_floatingip",
            Step::DisassociateFloatingip { .. } => "disassociate_floatingip",
            Step::DeleteFloatingip { .. } => "delete_floatingip",
        }
    }

    /// Whether the step mutates the Octavia load balancer (which then is locked in
    /// `PENDING_*` until it is `ACTIVE` again), as opposed to a Neutron floating IP.
    pub fn locks_loadbalancer(&self) -> bool {
        !matches!(
            self,
            Step::CreateFloatingip { .. }
                | Step::AssociateFloatingip { .. }
                | Step::DisassociateFloatingip { .. }
                | Step::DeleteFloatingip { .. }
        )
    }

    /// The objects this step refers to and that must exist when it runs.
    pub fn references(&self) -> Vec<&ObjRef> {
        match self {
            Step::CreateLoadbalancer { .. } => vec![],
            Step::UpdateLoadbalancer { loadbalancer, .. }
            | Step::DeleteLoadbalancer { loadbalancer, .. }
            | Step::CreateListener { loadbalancer, .. } => vec![loadbalancer],
            Step::UpdateListener { listener, .. }
            | Step::DeleteListener { listener }
            | Step::CreatePool { listener, .. } => vec![listener],
            Step::UpdatePool { pool, .. }
            | Step::DeletePool { pool }
            | Step::ReplaceMembers { pool, .. }
            | Step::CreateHealthmonitor { pool, .. } => vec![pool],
            Step::UpdateHealthmonitor { healthmonitor, .. }
            | Step::DeleteHealthmonitor { healthmonitor } => vec![healthmonitor],
            Step::CreateFloatingip { port, .. } | Step::AssociateFloatingip { port, .. } => {
                vec![port]
            }
            Step::DisassociateFloatingip { floatingip } | Step::DeleteFloatingip { floatingip } => {
                vec![floatingip]
            }
        }
    }

    /// The symbolic keys of the objects this step creates.
    pub fn creates(&self) -> Vec<String> {
        match self {
            Step::CreateLoadbalancer { loadbalancer } => {
                let mut keys = vec![LB_KEY.to_owned(), VIP_PORT_KEY.to_owned()];
                for l in &loadbalancer.listeners {
                    keys.extend(listener_tree_keys(l));
                }
                keys
            }
            Step::CreateListener { listener, .. } => listener_tree_keys(listener),
            Step::CreatePool { listener, pool } => {
                let k = key_of_listener_ref(listener);
                let mut keys = vec![format!("pool/{k}")];
                if pool.healthmonitor.is_some() {
                    keys.push(format!("healthmonitor/{k}"));
                }
                keys
            }
            Step::CreateHealthmonitor { pool, .. } => {
                vec![format!("healthmonitor/{}", suffix(&pool.key))]
            }
            Step::CreateFloatingip { .. } | Step::AssociateFloatingip { .. } => {
                vec![FIP_KEY.to_owned()]
            }
            _ => vec![],
        }
    }

    /// The symbolic keys of the objects this step removes (children included).
    pub fn removes(&self) -> Vec<String> {
        match self {
            Step::DeleteLoadbalancer { .. } => vec![LB_KEY.to_owned()],
            Step::DeleteListener { listener } => vec![listener.key.clone()],
            Step::DeletePool { pool } => {
                vec![
                    pool.key.clone(),
                    format!("healthmonitor/{}", suffix(&pool.key)),
                ]
            }
            Step::DeleteHealthmonitor { healthmonitor } => vec![healthmonitor.key.clone()],
            Step::DisassociateFloatingip { floatingip } | Step::DeleteFloatingip { floatingip } => {
                vec![floatingip.key.clone()]
            }
            _ => vec![],
        }
    }
}

fn suffix(key: &str) -> &str {
    key.split_once('/').map_or(key, |(_, rest)| rest)
}

fn key_of_listener_ref(r: &ObjRef) -> &str {
    suffix(&r.key)
}

fn listener_tree_keys(l: &Listener) -> Vec<String> {
    let k = l.key();
    let mut keys = vec![listener_key(k)];
    if let Some(p) = &l.default_pool {
        keys.push(pool_key(k));
        if p.healthmonitor.is_some() {
            keys.push(monitor_key(k));
        }
    }
    keys
}

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
}

impl Plan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Adapts a desired topology to what the cloud supports: fields and protocols it cannot take
/// are dropped or replaced, each with a warning. The result is what [`plan`] aims for.
pub fn adapt(desired: &Topology, caps: &Capabilities) -> (Topology, Vec<PlanWarning>) {
    let (t, warnings) = adapt_cow(desired, caps);
    (t.into_owned(), warnings)
}

/// [`adapt`] without copying the (possibly large) member lists when nothing needs to change.
/// Adapting never touches members, so a copy without them tells whether anything changes.
fn adapt_cow<'a>(
    desired: &'a Topology,
    caps: &Capabilities,
) -> (Cow<'a, Topology>, Vec<PlanWarning>) {
    let mut skeleton = desired.clone_without_members();
    let before = skeleton.clone();
    let warnings = adapt_in_place(&mut skeleton, caps);
    if skeleton == before && desired.is_normalized() {
        return (Cow::Borrowed(desired), warnings);
    }
    let mut full = desired.clone();
    adapt_in_place(&mut full, caps);
    full.normalize();
    (Cow::Owned(full), warnings)
}

fn adapt_in_place(d: &mut Topology, caps: &Capabilities) -> Vec<PlanWarning> {
    let mut warnings = Vec::new();
    let mut warn = |reason, message: String| {
        let w = PlanWarning { reason, message };
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    };
    let v = caps.api_version;
    let lb = &mut d.loadbalancer;
    if !caps.tags() && !lb.tags.is_empty() {
        lb.tags.clear();
        warn(
            WarningReason::FeatureUnsupported,
            format!(
                "tags need Octavia API >= 2.5 (cloud has {v}); the load balancer is untagged and found by name"
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
                warn(
                    WarningReason::FeatureUnsupported,
                    format!(
                        "lb-method {} is not supported by provider {}; SOURCE_IP_PORT is used",
                        p.lb_algorithm, caps.provider
                    ),
                );
                p.lb_algorithm = LbAlgorithm::SourceIpPort;
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
    warnings
}

/// Computes the shortest correct ordered list of mutations that turns `observed` into
/// `desired` on a cloud with `caps`.
///
/// # Guarantees
/// - `plan(d, Some(d'), caps)` is empty when `d'` equals [`adapt`]`(d, caps)` up to ids and
///   statuses; equal inputs give equal plans (everything is ordered by identity keys).
/// - A missing load balancer (`observed == None`) is one fully-populated create step (plus the
///   floating IP for an external Service).
/// - Every step refers only to objects that exist or that an earlier step creates.
/// - Deletes go child first (pool before listener); every listener that goes away is deleted
///   before any listener is created, so a protocol change on a port never leaves two
///   listeners on one port.
/// - Member changes of a pool are one [`Step::ReplaceMembers`].
/// - Immutable changes (listener protocol, pool protocol, monitor type, VIP subnet or
///   network, provider) are delete + create; a pool is recreated right after its deletion.
///   A replaced load balancer keeps its floating IP.
/// - Create-only fields (flavor, availability zone, VIP address) that differ are not changed;
///   a [`WarningReason::ReplaceRequired`] warning says so.
/// - Fields the cloud does not support are never sent; see [`adapt`].
///
/// # Assumptions
/// `observed` is the topology found for this Service (ownership already verified by the
/// caller); its child lists may come in any order.
pub fn plan(desired: &Topology, observed: Option<&Topology>, caps: &Capabilities) -> Plan {
    let (d, mut warnings) = adapt_cow(desired, caps);
    let mut steps = Vec::new();
    match observed {
        None => create_all(&d, None, &mut steps),
        Some(o) => {
            let o: Cow<'_, Topology> = if o.is_normalized() {
                Cow::Borrowed(o)
            } else {
                let mut o = o.clone();
                o.normalize();
                Cow::Owned(o)
            };
            if needs_replacement(&d.loadbalancer, &o.loadbalancer) {
                replace(&d, &o, &mut steps);
            } else {
                update_loadbalancer(
                    &d.loadbalancer,
                    &o.loadbalancer,
                    caps,
                    &mut steps,
                    &mut warnings,
                );
                floating_ip(&d, &o, &mut steps);
            }
        }
    }
    warnings.sort();
    Plan { steps, warnings }
}

/// The steps that remove a load balancer: the floating IP is released (or only detached when
/// `keep_floatingip` is set or the address is not ours), then one cascade delete.
pub fn plan_delete(observed: &Topology) -> Plan {
    let mut steps = Vec::new();
    if let Some(fip) = &observed.floatingip {
        steps.push(release_floating_ip(observed, fip, observed.keep_floatingip));
    }
    steps.push(Step::DeleteLoadbalancer {
        loadbalancer: ObjRef::new(LB_KEY.to_owned(), observed.loadbalancer.id.as_ref()),
        cascade: true,
    });
    Plan {
        steps,
        warnings: Vec::new(),
    }
}

fn is_ours(lb: &LoadBalancer, fip: &FloatingIp) -> bool {
    fip.tags
        .iter()
        .any(|t| t.starts_with("kks-lb-cluster:") && lb.tags.contains(t))
}

/// Releases a floating IP we own, or only detaches it when `keep` (the Service's
/// `keep-floatingip`) is set or the address is not ours.
fn release_floating_ip(o: &Topology, fip: &FloatingIp, keep: bool) -> Step {
    let r = ObjRef::new(FIP_KEY.to_owned(), fip.id.as_ref());
    if keep || !is_ours(&o.loadbalancer, fip) {
        Step::DisassociateFloatingip { floatingip: r }
    } else {
        Step::DeleteFloatingip { floatingip: r }
    }
}

fn create_all(d: &Topology, keep_address: Option<&FloatingIp>, steps: &mut Vec<Step>) {
    steps.push(Step::CreateLoadbalancer {
        loadbalancer: d.loadbalancer.clone(),
    });
    let port = ObjRef {
        key: VIP_PORT_KEY.to_owned(),
        id: None,
    };
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
        (Some(fip), None) => steps.push(Step::CreateFloatingip {
            floatingip: fip.clone(),
            port,
        }),
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

fn needs_replacement(d: &LoadBalancer, o: &LoadBalancer) -> bool {
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

fn replace(d: &Topology, o: &Topology, steps: &mut Vec<Step>) {
    let mut kept = None;
    if let Some(fip) = &o.floatingip {
        // Keep the public address across the replacement when the Service still wants one.
        if d.floatingip.is_some() && fip.floating_ip_address.is_some() {
            steps.push(Step::DisassociateFloatingip {
                floatingip: ObjRef::new(FIP_KEY.to_owned(), fip.id.as_ref()),
            });
            kept = Some(fip);
        } else {
            steps.push(release_floating_ip(o, fip, d.keep_floatingip));
        }
    }
    steps.push(Step::DeleteLoadbalancer {
        loadbalancer: ObjRef::new(LB_KEY.to_owned(), o.loadbalancer.id.as_ref()),
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

fn update_loadbalancer(
    d: &LoadBalancer,
    o: &LoadBalancer,
    caps: &Capabilities,
    steps: &mut Vec<Step>,
    warnings: &mut Vec<PlanWarning>,
) {
    let lb_ref = ObjRef::new(LB_KEY.to_owned(), o.id.as_ref());
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

    // Listeners that go away, child first, before anything is created.
    for (k, ol) in &observed {
        if desired.contains_key(k) {
            continue;
        }
        if let Some(p) = &ol.default_pool {
            steps.push(Step::DeletePool {
                pool: ObjRef::new(pool_key(*k), p.id.as_ref()),
            });
        }
        steps.push(Step::DeleteListener {
            listener: ObjRef::new(listener_key(*k), ol.id.as_ref()),
        });
    }
    for (k, dl) in &desired {
        match observed.get(k) {
            Some(ol) => update_listener(*k, dl, ol, steps),
            None => steps.push(Step::CreateListener {
                loadbalancer: lb_ref.clone(),
                listener: (*dl).clone(),
            }),
        }
    }
}

fn update_listener(k: ListenerKey, d: &Listener, o: &Listener, steps: &mut Vec<Step>) {
    let l_ref = ObjRef::new(listener_key(k), o.id.as_ref());
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
    let p_ref = |p: Option<&Pool>| ObjRef::new(pool_key(k), p.and_then(|p| p.id.as_ref()));
    match (&d.default_pool, &o.default_pool) {
        (Some(dp), Some(op)) if dp.protocol != op.protocol => {
            steps.push(Step::DeletePool {
                pool: p_ref(Some(op)),
            });
            steps.push(Step::CreatePool {
                listener: l_ref,
                pool: dp.clone(),
            });
        }
        (Some(dp), Some(op)) => update_pool(k, dp, op, steps),
        (Some(dp), None) => steps.push(Step::CreatePool {
            listener: l_ref,
            pool: dp.clone(),
        }),
        (None, Some(op)) => steps.push(Step::DeletePool {
            pool: p_ref(Some(op)),
        }),
        (None, None) => {}
    }
}

fn update_pool(k: ListenerKey, d: &Pool, o: &Pool, steps: &mut Vec<Step>) {
    let p_ref = ObjRef::new(pool_key(k), o.id.as_ref());
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
    let m_ref = |m: &HealthMonitor| ObjRef::new(monitor_key(k), m.id.as_ref());
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

fn floating_ip(d: &Topology, o: &Topology, steps: &mut Vec<Step>) {
    let port = ObjRef::new(VIP_PORT_KEY.to_owned(), o.loadbalancer.vip_port_id.as_ref());
    match (&d.floatingip, &o.floatingip) {
        (Some(want), None) => {
            if want.floating_ip_address.is_some() {
                steps.push(Step::AssociateFloatingip {
                    floatingip: want.clone(),
                    port,
                });
            } else {
                steps.push(Step::CreateFloatingip {
                    floatingip: want.clone(),
                    port,
                });
            }
        }
        (None, Some(have)) => steps.push(release_floating_ip(o, have, d.keep_floatingip)),
        (Some(want), Some(have)) => {
            if let Some(addr) = &want.floating_ip_address
                && have.floating_ip_address.as_ref() != Some(addr)
            {
                steps.push(release_floating_ip(o, have, d.keep_floatingip));
                steps.push(Step::AssociateFloatingip {
                    floatingip: want.clone(),
                    port,
                });
            }
        }
        (None, None) => {}
    }
}
