//! One plan step applied with the cloud's rules: references must exist, ports must be free,
//! a load balancer with children needs `cascade`.

use std::collections::BTreeMap;

use kks_lb_octavia_model::{
    FloatingIp, Listener, ListenerKey, Member, Pool, Protocol, ProvisioningStatus, Topology,
};
use kks_lb_planner::{Changes, ObjKey, Step};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Cloud, ModelError};

impl Cloud {
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

pub(super) fn missing(step: usize, op: &'static str, key: &ObjKey) -> ModelError {
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
