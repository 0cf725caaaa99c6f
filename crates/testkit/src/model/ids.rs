//! Deterministic ids for what a plan creates, and finding objects by key or reference.

use kks_lb_octavia_model::{HealthMonitor, Listener, Member, Pool, ProvisioningStatus, Topology};
use kks_lb_planner::{ObjKey, ObjRef};

use super::step::missing;
use super::{Cloud, ModelError};

impl Cloud {
    pub(super) fn id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("{kind}-{}", self.next_id)
    }

    /// Gives every object without an id a fresh one and marks everything ACTIVE.
    pub(super) fn assign_ids(&mut self, t: &mut Topology) {
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

    pub(super) fn assign_listener_ids(&mut self, l: &mut Listener) {
        if l.id.is_none() {
            l.id = Some(self.id("listener"));
        }
        l.provisioning_status = Some(ProvisioningStatus::Active);
        if let Some(p) = &mut l.default_pool {
            self.assign_pool_ids(p);
        }
    }

    pub(super) fn assign_pool_ids(&mut self, p: &mut Pool) {
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

    pub(super) fn assign_member_id(&mut self, m: &mut Member) {
        if m.id.is_none() {
            m.id = Some(self.id("member"));
        }
        m.provisioning_status = Some(ProvisioningStatus::Active);
    }

    pub(super) fn assign_monitor_id(&mut self, hm: &mut HealthMonitor) {
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
    pub(super) fn pool(&self, key: &ObjKey) -> Option<&Pool> {
        let k = key.listener_key()?;
        let lb = &self.topology.as_ref()?.loadbalancer;
        lb.listeners
            .iter()
            .find(|l| l.key() == k)
            .and_then(|l| l.default_pool.as_ref())
            .or_else(|| self.pending.get(&k))
    }

    pub(super) fn pool_mut(&mut self, key: &ObjKey) -> Option<&mut Pool> {
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

    pub(super) fn resolve(
        &self,
        step: usize,
        op: &'static str,
        r: &ObjRef,
    ) -> Result<String, ModelError> {
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

    pub(super) fn listener_mut(&mut self, key: &ObjKey) -> Option<&mut Listener> {
        let k = key.listener_key()?;
        let t = self.topology.as_mut()?;
        t.loadbalancer.listeners.iter_mut().find(|l| l.key() == k)
    }
}
