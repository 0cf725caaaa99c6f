//! The provisioning state machine: starting an operation, settling the due ones (complete or
//! fail), and removing pools and load balancers with their children and tag index entries.

use kks_lb_octavia_model::{OperatingStatus, ProvisioningStatus};
use tokio::time::Instant;

use super::{Op, Pending, State};

impl State {
    /// Whether a pending operation may be due (then [`State::settle`] has work to do).
    pub(crate) fn needs_settle(&self) -> bool {
        self.next_due.is_some_and(|due| due <= self.clock.now())
    }

    /// Completes every pending operation that is due and not held back by a fault. Costs one
    /// comparison unless one may be due; then one pass over the load balancers.
    pub(crate) fn settle(&mut self) {
        if !self.needs_settle() {
            return;
        }
        let now = self.clock.now();
        let due: Vec<String> = self
            .lbs
            .values()
            .filter(|lb| lb.pending.is_some_and(|p| p.ready_at <= now))
            .filter(|lb| !self.lb_faults.is_stuck(&lb.id))
            .map(|lb| lb.id.clone())
            .collect();
        for id in due {
            self.complete(&id, now);
        }
        self.recompute_due();
    }

    /// Recomputes when the next pending operation is due, leaving out the ones a fault
    /// holds. Call after changing [`State::lb_faults`].
    pub(crate) fn recompute_due(&mut self) {
        self.next_due = self
            .lbs
            .values()
            .filter(|lb| !self.lb_faults.is_stuck(&lb.id))
            .filter_map(|lb| lb.pending.map(|p| p.ready_at))
            .min();
    }

    /// Starts an operation on `lb_id`: the LB goes `PENDING_*` until the configured delay has
    /// passed. Creates and updates may be marked to fail by fault injection.
    pub(crate) fn begin(&mut self, lb_id: &str, op: Op) {
        let now = self.clock.now();
        let (delay, fail, status) = match op {
            Op::Create => (
                self.cfg.delays.create,
                self.lb_faults.take_create_failure(),
                ProvisioningStatus::PendingCreate,
            ),
            Op::Update => (
                self.cfg.delays.update,
                self.lb_faults.take_update_failure(),
                ProvisioningStatus::PendingUpdate,
            ),
            Op::Delete => (
                self.cfg.delays.delete,
                false,
                ProvisioningStatus::PendingDelete,
            ),
        };
        if let Some(lb) = self.lbs.get_mut(lb_id) {
            lb.prov = status;
            let ready_at = now + delay;
            lb.pending = Some(Pending { op, ready_at, fail });
            if op != Op::Create {
                lb.updated = Some(now);
            }
            if !self.lb_faults.is_stuck(lb_id) {
                self.next_due = Some(self.next_due.map_or(ready_at, |d| d.min(ready_at)));
            }
        }
    }

    /// The ids of every child of a load balancer: (listeners, pools, members, monitors).
    pub(crate) fn children(
        &self,
        lb_id: &str,
    ) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
        let Some(lb) = self.lbs.get(lb_id) else {
            return Default::default();
        };
        let mut members = Vec::new();
        let mut hms = Vec::new();
        for pid in &lb.pools {
            if let Some(p) = self.pools.get(pid) {
                members.extend(p.members.iter().cloned());
                hms.extend(p.hm_id.iter().cloned());
            }
        }
        (lb.listeners.clone(), lb.pools.clone(), members, hms)
    }

    fn complete(&mut self, lb_id: &str, now: Instant) {
        let Some(pending) = self.lbs.get_mut(lb_id).and_then(|lb| lb.pending.take()) else {
            return;
        };
        if pending.fail {
            self.fail_operation(lb_id, now);
            return;
        }
        if pending.op == Op::Delete {
            self.purge_lb(lb_id);
            return;
        }
        let (listeners, pools, members, hms) = self.children(lb_id);
        for id in members {
            let delete = self
                .members
                .get(&id)
                .is_some_and(|m| m.prov == ProvisioningStatus::PendingDelete);
            if delete {
                if let Some(m) = self.members.remove(&id)
                    && let Some(p) = self.pools.get_mut(&m.pool_id)
                {
                    p.members.retain(|x| *x != id);
                }
            } else if let Some(m) = self.members.get_mut(&id) {
                activate(&mut m.prov, &mut m.updated, now);
            }
        }
        for id in hms {
            let delete = self
                .hms
                .get(&id)
                .is_some_and(|h| h.prov == ProvisioningStatus::PendingDelete);
            if delete {
                if let Some(h) = self.hms.remove(&id)
                    && let Some(p) = self.pools.get_mut(&h.pool_id)
                {
                    p.hm_id = None;
                }
            } else if let Some(h) = self.hms.get_mut(&id) {
                activate(&mut h.prov, &mut h.updated, now);
            }
        }
        for id in pools {
            let delete = self
                .pools
                .get(&id)
                .is_some_and(|p| p.prov == ProvisioningStatus::PendingDelete);
            if delete {
                self.remove_pool(&id);
            } else if let Some(p) = self.pools.get_mut(&id) {
                activate(&mut p.prov, &mut p.updated, now);
            }
        }
        for id in listeners {
            let delete = self
                .listeners
                .get(&id)
                .is_some_and(|l| l.prov == ProvisioningStatus::PendingDelete);
            if delete {
                self.listeners.remove(&id);
                if let Some(lb) = self.lbs.get_mut(lb_id) {
                    lb.listeners.retain(|x| *x != id);
                }
            } else if let Some(l) = self.listeners.get_mut(&id) {
                activate(&mut l.prov, &mut l.updated, now);
            }
        }
        if let Some(lb) = self.lbs.get_mut(lb_id) {
            lb.prov = ProvisioningStatus::Active;
            lb.updated = Some(now);
        }
        self.refresh_operating(lb_id);
    }

    /// A failed create/update: the LB and every object that was pending go to ERROR
    /// (Octavia's flow reverts mark the load balancer ERROR).
    fn fail_operation(&mut self, lb_id: &str, now: Instant) {
        let (listeners, pools, members, hms) = self.children(lb_id);
        let mark = |prov: &mut ProvisioningStatus, updated: &mut Option<Instant>| {
            if prov.is_pending() {
                *prov = ProvisioningStatus::Error;
                *updated = Some(now);
            }
        };
        for id in &listeners {
            if let Some(x) = self.listeners.get_mut(id) {
                mark(&mut x.prov, &mut x.updated);
            }
        }
        for id in &pools {
            if let Some(x) = self.pools.get_mut(id) {
                mark(&mut x.prov, &mut x.updated);
            }
        }
        for id in &members {
            if let Some(x) = self.members.get_mut(id) {
                mark(&mut x.prov, &mut x.updated);
            }
        }
        for id in &hms {
            if let Some(x) = self.hms.get_mut(id) {
                mark(&mut x.prov, &mut x.updated);
            }
        }
        if let Some(lb) = self.lbs.get_mut(lb_id) {
            lb.prov = ProvisioningStatus::Error;
            lb.oper = OperatingStatus::Error;
            lb.updated = Some(now);
        }
    }

    /// Removes a pool with its members and monitor, detaching it from listeners.
    pub(crate) fn remove_pool(&mut self, pool_id: &str) {
        let Some(pool) = self.pools.remove(pool_id) else {
            return;
        };
        for m in &pool.members {
            self.members.remove(m);
        }
        if let Some(h) = &pool.hm_id {
            self.hms.remove(h);
        }
        for l in self.listeners.values_mut() {
            if l.default_pool_id.as_deref() == Some(pool_id) {
                l.default_pool_id = None;
            }
        }
        if let Some(lb) = self.lbs.get_mut(&pool.lb_id) {
            lb.pools.retain(|x| x != pool_id);
        }
    }

    /// Moves a load balancer in the tag index from its `old` tags to its `new` ones.
    pub(crate) fn reindex_lb_tags(&mut self, lb_id: &str, old: &[String], new: &[String]) {
        for t in old {
            if let Some(ids) = self.lb_tags.get_mut(t) {
                ids.remove(lb_id);
                if ids.is_empty() {
                    self.lb_tags.remove(t);
                }
            }
        }
        for t in new {
            self.lb_tags
                .entry(t.clone())
                .or_default()
                .insert(lb_id.to_owned());
        }
    }

    /// Removes a load balancer, all its children and (if Octavia created it) its VIP port.
    pub(crate) fn purge_lb(&mut self, lb_id: &str) {
        let (listeners, pools, _, _) = self.children(lb_id);
        for p in pools {
            self.remove_pool(&p);
        }
        for l in listeners {
            self.listeners.remove(&l);
        }
        if let Some(lb) = self.lbs.remove(lb_id) {
            self.reindex_lb_tags(lb_id, &lb.tags, &[]);
            if lb.owns_vip_port {
                self.delete_port(&lb.vip_port_id);
            } else if let Some(port) = self.ports.get_mut(&lb.vip_port_id) {
                port.device_id.clear();
                port.device_owner.clear();
            }
        }
    }
}

fn activate(prov: &mut ProvisioningStatus, updated: &mut Option<Instant>, now: Instant) {
    if prov.is_pending() {
        *prov = ProvisioningStatus::Active;
        *updated = Some(now);
    }
}
