//! A pure model of Octavia and Neutron that applies a planner [`Plan`] to a [`Topology`].
//!
//! It checks what the real cloud would refuse (a reference to an object that does not exist,
//! a stale id, two listeners on one port, a second load balancer, deleting a load balancer that
//! has children without `cascade`) and assigns deterministic ids (`lb-1`, `listener-2`, ...) to
//! what the plan creates. The planner's property tests use it to prove that applying
//! `plan(d, o)` to `o` yields `d`.

use std::collections::BTreeMap;

use kks_lb_octavia_model::{
    FloatingIp, HealthMonitor, Listener, ListenerKey, LoadBalancer, Member, Pool, Protocol,
    ProvisioningStatus, Topology,
};
use kks_lb_planner::{Changes, ObjKey, ObjRef, Plan, Step};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why the model refused a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A step refers to an object that does not exist at that point.
    #[error("step {step} ({op}) refers to {key}, which does not exist")]
    MissingObject {
        /// Step index.
        step: usize,
        /// Step op.
        op: &'static str,
        /// Symbolic key.
        key: String,
    },
    /// A step names an id that is not the id of the object with that key.
    #[error("step {step} ({op}) names {key} as {given}, but its id is {actual}")]
    StaleId {
        /// Step index.
        step: usize,
        /// Step op.
        op: &'static str,
        /// Symbolic key.
        key: String,
        /// The id in the step.
        given: String,
        /// The id in the model.
        actual: String,
    },
    /// Two listeners would share a port.
    #[error("step {step}: a listener already uses port {port} ({protocol})")]
    PortInUse {
        /// Step index.
        step: usize,
        /// Port.
        port: u16,
        /// Protocol of the new listener.
        protocol: Protocol,
    },
    /// A load balancer exists already.
    #[error("step {step}: the load balancer exists already")]
    AlreadyExists {
        /// Step index.
        step: usize,
    },
    /// Octavia refuses to delete a load balancer with children unless `cascade` is set.
    #[error("step {step}: cannot delete a load balancer that has children without cascade")]
    HasChildren {
        /// Step index.
        step: usize,
    },
    /// An update named a field the object does not have, or a value of the wrong type.
    #[error("step {step}: invalid update of {field}: {reason}")]
    BadUpdate {
        /// Step index.
        step: usize,
        /// Field.
        field: String,
        /// Why.
        reason: String,
    },
}

/// The state of one Service's cloud objects in the model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cloud {
    /// The load balancer tree, if one exists.
    pub topology: Option<Topology>,
    /// Floating IPs that were released (deleted) by plans, by address or id.
    pub released: Vec<FloatingIp>,
    /// Floating IPs that exist but are bound to nothing.
    pub detached: Vec<FloatingIp>,
    /// Pools created on the load balancer for listeners not created yet, by listener.
    pending: BTreeMap<ListenerKey, Pool>,
    next_id: u64,
}

impl Cloud {
    /// A cloud holding `observed` (ids are kept; missing ids are assigned).
    pub fn new(observed: Option<&Topology>) -> Self {
        let mut cloud = Cloud::default();
        if let Some(t) = observed {
            let mut t = t.clone();
            cloud.assign_ids(&mut t);
            cloud.topology = Some(t);
        }
        cloud
    }

    fn id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("{kind}-{}", self.next_id)
    }

    /// Gives every object without an id a fresh one and marks everything ACTIVE.
    fn assign_ids(&mut self, t: &mut Topology) {
        let lb = &mut t.loadbalancer;
        if lb.id.is_none() {
            lb.id = Some(self.id("lb"));
        }
        if lb.vip_port_id.is_none() {
            lb.vip_port_id = Some(self.id("port"));
        }
        lb.provisioning_status = Some(ProvisioningStatus::Active);
        let mut listeners = std::mem::take(&mut lb.listeners);
        for l in &mut listeners {
            self.assign_listener_ids(l);
        }
        t.loadbalancer.listeners = listeners;
        let port = t.loadbalancer.vip_port_id.clone();
        if let Some(f) = &mut t.floatingip {
            if f.id.is_none() {
                f.id = Some(self.id("fip"));
            }
            f.port_id = port;
        }
    }

    fn assign_listener_ids(&mut self, l: &mut Listener) {
        if l.id.is_none() {
            l.id = Some(self.id("listener"));
        }
        l.provisioning_status = Some(ProvisioningStatus::Active);
        if let Some(p) = &mut l.default_pool {
            self.assign_pool_ids(p);
        }
    }

    fn assign_pool_ids(&mut self, p: &mut Pool) {
        if p.id.is_none() {
            p.id = Some(self.id("pool"));
        }
        p.provisioning_status = Some(ProvisioningStatus::Active);
        for m in &mut p.members {
            self.assign_member_id(m);
        }
        if let Some(hm) = &mut p.healthmonitor {
            self.assign_monitor_id(hm);
        }
    }

    fn assign_member_id(&mut self, m: &mut Member) {
        if m.id.is_none() {
            m.id = Some(self.id("member"));
        }
        m.provisioning_status = Some(ProvisioningStatus::Active);
    }

    fn assign_monitor_id(&mut self, hm: &mut HealthMonitor) {
        if hm.id.is_none() {
            hm.id = Some(self.id("hm"));
        }
        hm.provisioning_status = Some(ProvisioningStatus::Active);
    }

    /// The current id of the object with a key.
    pub fn id_of(&self, key: &ObjKey) -> Option<String> {
        let t = self.topology.as_ref()?;
        let lb = &t.loadbalancer;
        match key {
            ObjKey::Loadbalancer => lb.id.clone(),
            ObjKey::VipPort => lb.vip_port_id.clone(),
            ObjKey::Floatingip => t.floatingip.as_ref().and_then(|f| f.id.clone()),
            ObjKey::DetachedPool(id) => lb
                .detached_pools
                .iter()
                .find(|p| p.id.as_ref() == Some(id))
                .and_then(|p| p.id.clone()),
            ObjKey::Listener(k) => lb.listeners.iter().find(|l| l.key() == *k)?.id.clone(),
            ObjKey::Pool(_) | ObjKey::Healthmonitor(_) => {
                let p = self.pool(key)?;
                match key {
                    ObjKey::Pool(_) => p.id.clone(),
                    _ => p.healthmonitor.as_ref()?.id.clone(),
                }
            }
        }
    }

    /// The pool a pool or monitor key names: a listener's default pool, or one created on
    /// the load balancer for a listener that does not exist yet.
    fn pool(&self, key: &ObjKey) -> Option<&Pool> {
        let k = key.listener_key()?;
        let lb = &self.topology.as_ref()?.loadbalancer;
        lb.listeners
            .iter()
            .find(|l| l.key() == k)
            .and_then(|l| l.default_pool.as_ref())
            .or_else(|| self.pending.get(&k))
    }

    fn pool_mut(&mut self, key: &ObjKey) -> Option<&mut Pool> {
        if let ObjKey::DetachedPool(id) = key {
            let lb = &mut self.topology.as_mut()?.loadbalancer;
            return lb
                .detached_pools
                .iter_mut()
                .find(|p| p.id.as_ref() == Some(id));
        }
        let k = key.listener_key()?;
        let lb = &mut self.topology.as_mut()?.loadbalancer;
        match lb.listeners.iter_mut().find(|l| l.key() == k) {
            Some(l) => l.default_pool.as_mut(),
            None => self.pending.get_mut(&k),
        }
    }

    fn resolve(&self, step: usize, op: &'static str, r: &ObjRef) -> Result<String, ModelError> {
        let actual = self
            .id_of(&r.key)
            .ok_or_else(|| missing(step, op, &r.key))?;
        match &r.id {
            Some(given) if *given != actual => Err(ModelError::StaleId {
                step,
                op,
                key: r.key.to_string(),
                given: given.clone(),
                actual,
            }),
            _ => Ok(actual),
        }
    }

    fn listener_mut(&mut self, key: &ObjKey) -> Option<&mut Listener> {
        let k = key.listener_key()?;
        let t = self.topology.as_mut()?;
        t.loadbalancer.listeners.iter_mut().find(|l| l.key() == k)
    }

    /// Applies every step of `plan` in order. A pool created on the load balancer that no
    /// listener names by the end is left in `detached_pools`, as the cloud would leave it.
    pub fn apply(&mut self, plan: &Plan) -> Result<(), ModelError> {
        for (i, step) in plan.steps.iter().enumerate() {
            self.apply_step(i, step)?;
        }
        self.settle();
        Ok(())
    }

    /// Moves pools created for listeners that were never created into `detached_pools`.
    pub fn settle(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        if let Some(t) = self.topology.as_mut() {
            t.loadbalancer.detached_pools.extend(pending.into_values());
            t.loadbalancer
                .detached_pools
                .sort_by(|a, b| a.id.cmp(&b.id));
        }
    }

    /// Applies one step.
    #[allow(clippy::too_many_lines)]
    pub fn apply_step(&mut self, i: usize, step: &Step) -> Result<(), ModelError> {
        let op = step.op();
        for r in step.references() {
            self.resolve(i, op, r)?;
        }
        match step {
            Step::CreateLoadbalancer { loadbalancer } => {
                if self.topology.is_some() {
                    return Err(ModelError::AlreadyExists { step: i });
                }
                check_ports(i, &loadbalancer.listeners)?;
                let mut t = Topology {
                    loadbalancer: loadbalancer.clone(),
                    floatingip: None,
                    keep_floatingip: false,
                };
                self.assign_ids(&mut t);
                self.topology = Some(t);
            }
            Step::UpdateLoadbalancer { changes, .. } => {
                let t = self
                    .topology
                    .as_mut()
                    .ok_or_else(|| missing(i, op, &ObjKey::Loadbalancer))?;
                t.loadbalancer = apply_changes(i, &t.loadbalancer, changes)?;
            }
            Step::DeleteLoadbalancer { cascade, .. } => {
                if let Some(t) = &self.topology {
                    if !cascade && !t.loadbalancer.listeners.is_empty() {
                        return Err(ModelError::HasChildren { step: i });
                    }
                    // Deleting the VIP port unbinds a floating IP still bound to it.
                    if let Some(f) = &t.floatingip {
                        let mut f = f.clone();
                        f.port_id = None;
                        self.detached.push(f);
                    }
                }
                self.topology = None;
                self.pending.clear();
            }
            Step::CreateListener {
                listener,
                default_pool,
                ..
            } => {
                let mut l = listener.clone();
                l.default_pool = match default_pool {
                    Some(r) => Some(
                        self.take_pool(&r.key)
                            .ok_or_else(|| missing(i, op, &r.key))?,
                    ),
                    None => None,
                };
                if l.id.is_none() {
                    l.id = Some(self.id("listener"));
                }
                l.provisioning_status = Some(ProvisioningStatus::Active);
                let t = self
                    .topology
                    .as_mut()
                    .ok_or_else(|| missing(i, op, &ObjKey::Loadbalancer))?;
                let mut all = t.loadbalancer.listeners.clone();
                all.push(l.clone());
                check_ports(i, &all)?;
                t.loadbalancer.listeners.push(l);
                t.loadbalancer.listeners.sort_by_key(Listener::key);
            }
            Step::UpdateListener { listener, changes } => {
                let l = self
                    .listener_mut(&listener.key)
                    .ok_or_else(|| missing(i, op, &listener.key))?;
                let pool = l.default_pool.take();
                let mut updated: Listener = apply_changes(i, l, changes)?;
                updated.default_pool = pool;
                *l = updated;
            }
            Step::DeleteListener { listener } => {
                let k = listener.key.listener_key();
                let t = self
                    .topology
                    .as_mut()
                    .ok_or_else(|| missing(i, op, &ObjKey::Loadbalancer))?;
                t.loadbalancer.listeners.retain(|l| Some(l.key()) != k);
            }
            Step::CreatePool { parent, key, pool } => {
                let mut p = pool.clone();
                self.assign_pool_ids(&mut p);
                match &parent.key {
                    ObjKey::Loadbalancer => {
                        if self.pending.insert(*key, p).is_some() {
                            return Err(ModelError::BadUpdate {
                                step: i,
                                field: "pool".into(),
                                reason: format!("a pool for {key} is already pending"),
                            });
                        }
                    }
                    other => {
                        let l = self
                            .listener_mut(other)
                            .ok_or_else(|| missing(i, op, other))?;
                        l.default_pool = Some(p);
                    }
                }
            }
            Step::UpdatePool { pool, changes } => {
                let p = self
                    .pool_mut(&pool.key)
                    .ok_or_else(|| missing(i, op, &pool.key))?;
                let members = std::mem::take(&mut p.members);
                let hm = p.healthmonitor.take();
                let mut updated: Pool = apply_changes(i, p, changes)?;
                updated.members = members;
                updated.healthmonitor = hm;
                *p = updated;
            }
            Step::DeletePool { pool } => {
                if let ObjKey::DetachedPool(id) = &pool.key {
                    let t = self
                        .topology
                        .as_mut()
                        .ok_or_else(|| missing(i, op, &pool.key))?;
                    t.loadbalancer
                        .detached_pools
                        .retain(|p| p.id.as_ref() != Some(id));
                } else {
                    self.take_pool(&pool.key)
                        .ok_or_else(|| missing(i, op, &pool.key))?;
                }
            }
            Step::ReplaceMembers { pool, members } => {
                let mut ms = members.clone();
                for m in &mut ms {
                    m.id = None;
                    self.assign_member_id(m);
                }
                let p = self
                    .pool_mut(&pool.key)
                    .ok_or_else(|| missing(i, op, &pool.key))?;
                p.members = ms;
                p.members.sort_by_key(Member::key);
            }
            Step::CreateHealthmonitor {
                pool,
                healthmonitor,
            } => {
                let mut hm = healthmonitor.clone();
                self.assign_monitor_id(&mut hm);
                let p = self
                    .pool_mut(&pool.key)
                    .ok_or_else(|| missing(i, op, &pool.key))?;
                p.healthmonitor = Some(hm);
            }
            Step::UpdateHealthmonitor {
                healthmonitor,
                changes,
            } => {
                let key = &healthmonitor.key;
                let p = self.pool_mut(key).ok_or_else(|| missing(i, op, key))?;
                let hm = p
                    .healthmonitor
                    .as_mut()
                    .ok_or_else(|| missing(i, op, key))?;
                *hm = apply_changes(i, hm, changes)?;
            }
            Step::DeleteHealthmonitor { healthmonitor } => {
                if let Some(p) = self.pool_mut(&healthmonitor.key) {
                    p.healthmonitor = None;
                }
            }
            Step::CreateFloatingip { floatingip, .. } => {
                let mut f = floatingip.clone();
                f.id = Some(self.id("fip"));
                self.bind(i, op, f)?;
            }
            Step::TagFloatingip { tags, .. } => {
                let t = self
                    .topology
                    .as_mut()
                    .ok_or_else(|| missing(i, op, &ObjKey::Floatingip))?;
                let f = t
                    .floatingip
                    .as_mut()
                    .ok_or_else(|| missing(i, op, &ObjKey::Floatingip))?;
                f.tags.clone_from(tags);
                f.tags.sort();
            }
            Step::AssociateFloatingip { floatingip, .. } => {
                let mut f = floatingip.clone();
                // Reuse a detached address of the same value or id, as the executor finds it.
                let found = self.detached.iter().position(|d| {
                    (d.id.is_some() && d.id == f.id)
                        || (d.floating_ip_address.is_some()
                            && d.floating_ip_address == f.floating_ip_address)
                });
                f.id = match found {
                    Some(pos) => self.detached.remove(pos).id,
                    None => f.id.or_else(|| Some(self.id("fip"))),
                };
                self.bind(i, op, f)?;
            }
            Step::DisassociateFloatingip { .. } => {
                let t = self
                    .topology
                    .as_mut()
                    .ok_or_else(|| missing(i, op, &ObjKey::Floatingip))?;
                if let Some(mut f) = t.floatingip.take() {
                    f.port_id = None;
                    self.detached.push(f);
                }
            }
            Step::DeleteFloatingip { .. } => {
                let t = self
                    .topology
                    .as_mut()
                    .ok_or_else(|| missing(i, op, &ObjKey::Floatingip))?;
                if let Some(f) = t.floatingip.take() {
                    self.released.push(f);
                }
            }
        }
        Ok(())
    }

    /// Removes and returns the pool a key names (a listener's default pool, a pending one or
    /// a detached one).
    fn take_pool(&mut self, key: &ObjKey) -> Option<Pool> {
        if let ObjKey::DetachedPool(id) = key {
            let lb = &mut self.topology.as_mut()?.loadbalancer;
            let pos = lb
                .detached_pools
                .iter()
                .position(|p| p.id.as_ref() == Some(id))?;
            return Some(lb.detached_pools.remove(pos));
        }
        let k = key.listener_key()?;
        if let Some(p) = self.pending.remove(&k) {
            return Some(p);
        }
        self.listener_mut(&ObjKey::Listener(k))?.default_pool.take()
    }

    fn bind(&mut self, i: usize, op: &'static str, mut f: FloatingIp) -> Result<(), ModelError> {
        let t = self
            .topology
            .as_mut()
            .ok_or_else(|| missing(i, op, &ObjKey::VipPort))?;
        f.port_id = t.loadbalancer.vip_port_id.clone();
        t.floatingip = Some(f);
        Ok(())
    }
}

fn missing(step: usize, op: &'static str, key: &ObjKey) -> ModelError {
    ModelError::MissingObject {
        step,
        op,
        key: key.to_string(),
    }
}

/// Octavia refuses two listeners on one port of one load balancer; UDP and SCTP listeners
/// have their own port spaces besides the TCP-based protocols.
fn check_ports(step: usize, listeners: &[Listener]) -> Result<(), ModelError> {
    let space = |p: Protocol| match p {
        Protocol::Udp => 1,
        Protocol::Sctp => 2,
        _ => 0,
    };
    let mut seen: BTreeMap<(u8, u16), ListenerKey> = BTreeMap::new();
    for l in listeners {
        if seen
            .insert((space(l.protocol), l.protocol_port), l.key())
            .is_some()
        {
            return Err(ModelError::PortInUse {
                step,
                port: l.protocol_port,
                protocol: l.protocol,
            });
        }
    }
    Ok(())
}

fn apply_changes<T: Serialize + DeserializeOwned>(
    step: usize,
    obj: &T,
    changes: &Changes,
) -> Result<T, ModelError> {
    let bad = |field: &str, reason: String| ModelError::BadUpdate {
        step,
        field: field.to_owned(),
        reason,
    };
    let mut v = serde_json::to_value(obj).map_err(|e| bad("*", e.to_string()))?;
    let map = v
        .as_object_mut()
        .ok_or_else(|| bad("*", "not an object".into()))?;
    for (field, c) in changes {
        map.insert(field.clone(), c.to.clone());
    }
    serde_json::from_value(v)
        .map_err(|e| bad(changes.keys().next().map_or("*", |k| k), e.to_string()))
}

/// Whether `actual` is what `desired` asks for: equal up to ids and statuses, where a floating
/// IP is compared by presence and by the address the Service requested (if any), and the
/// create-only fields (`flavor_id`, `availability_zone`, `vip_address`) are not compared.
pub fn converged(desired: &Topology, actual: Option<&Topology>) -> bool {
    let Some(actual) = actual else { return false };
    comparable(desired) == comparable(actual)
        && match (&desired.floatingip, &actual.floatingip) {
            (None, None) => true,
            (Some(d), Some(a)) => match &d.floating_ip_address {
                Some(_) => d.floating_ip_address == a.floating_ip_address,
                // One of ours carries the ownership tags (a marked one gets them repaired).
                None => {
                    let mut tags = a.tags.clone();
                    tags.sort();
                    !kks_lb_planner::floating_ip_is_ours(&actual.loadbalancer, a) || tags == d.tags
                }
            },
            _ => false,
        }
}

fn comparable(t: &Topology) -> Topology {
    let mut t = t.without_observed_fields();
    t.normalize();
    t.floatingip = None;
    t.keep_floatingip = false;
    let lb: &mut LoadBalancer = &mut t.loadbalancer;
    lb.flavor_id = None;
    lb.availability_zone = None;
    lb.vip_address = None;
    // The cloud reports the network of the VIP subnet too; only the subnet was asked for.
    if lb.vip_subnet_id.is_some() {
        lb.vip_network_id = None;
    }
    for l in &mut lb.listeners {
        if let Some(p) = &mut l.default_pool {
            for m in &mut p.members {
                m.id = None;
            }
        }
    }
    t
}
