//! Id resolution: the ids of a plan's objects, seeded from the observed topology, taken
//! from create responses, and looked up for a step's symbolic references.

use kks_lb_octavia_model::{ListenerKey, Protocol, ProvisioningStatus, Topology};
use kks_lb_planner::{ObjKey, ObjRef};
use serde_json::Value;

use super::{Run, str_at};
use crate::error::{Error, Result};

impl Run<'_> {
    pub(super) fn seed(&mut self, o: &Topology) {
        let lb = &o.loadbalancer;
        if let Some(id) = &lb.id {
            self.ids.insert(ObjKey::Loadbalancer, id.clone());
        }
        if let Some(p) = &lb.vip_port_id {
            self.ids.insert(ObjKey::VipPort, p.clone());
        }
        self.vip_address.clone_from(&lb.vip_address);
        self.listed = self.ex.poller.would_list(&lb.tags);
        self.busy = lb
            .provisioning_status
            .is_none_or(ProvisioningStatus::is_pending);
        for l in &lb.listeners {
            let k = l.key();
            if let Some(id) = &l.id {
                self.ids.insert(ObjKey::Listener(k), id.clone());
            }
            if let Some(p) = &l.default_pool {
                if let Some(id) = &p.id {
                    self.ids.insert(ObjKey::Pool(k), id.clone());
                }
                if let Some(id) = p.healthmonitor.as_ref().and_then(|h| h.id.as_ref()) {
                    self.ids.insert(ObjKey::Healthmonitor(k), id.clone());
                }
            }
        }
        for p in &lb.detached_pools {
            if let Some(id) = &p.id {
                self.ids
                    .insert(ObjKey::DetachedPool(id.clone()), id.clone());
            }
        }
        if let Some(f) = &o.floatingip {
            if let Some(id) = &f.id {
                self.ids.insert(ObjKey::Floatingip, id.clone());
            }
            self.floating_ip.clone_from(&f.floating_ip_address);
        }
    }

    pub(super) fn resolve(&self, n: usize, op: &'static str, r: &ObjRef) -> Result<String> {
        r.id.clone()
            .or_else(|| self.ids.get(&r.key).cloned())
            .ok_or_else(|| Error::UnresolvedReference {
                step: n,
                op,
                key: r.key.to_string(),
            })
    }

    pub(super) fn lb_id(&self) -> Option<String> {
        self.ids.get(&ObjKey::Loadbalancer).cloned()
    }

    /// Records the ids of a listener (and its default pool) from a create response.
    pub(super) fn record_listener(&mut self, l: &Value) {
        let (Some(id), Some(protocol), Some(port)) = (
            str_at(l, "/id"),
            str_at(l, "/protocol").and_then(|p| p.parse::<Protocol>().ok()),
            l.get("protocol_port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok()),
        ) else {
            return;
        };
        let k = ListenerKey {
            protocol,
            protocol_port: port,
        };
        self.ids.insert(ObjKey::Listener(k), id.to_owned());
        if let Some(pool) = str_at(l, "/default_pool_id") {
            self.ids.insert(ObjKey::Pool(k), pool.to_owned());
        }
    }
}
