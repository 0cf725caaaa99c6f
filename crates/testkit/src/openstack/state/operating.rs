//! Operating statuses: the health manager's roll-up from member health through pools and
//! listeners to the load balancer, and the member health a test sets.

use std::collections::BTreeMap;

use kks_lb_octavia_model::{OperatingStatus, ProvisioningStatus};

use super::State;

impl State {
    /// Operating statuses of an ACTIVE tree, as Octavia's health manager reports them:
    /// members `NO_MONITOR` when their pool has no monitor, else what the monitor sees
    /// ([`State::member_health`], `ONLINE` by default; `OFFLINE` when disabled). Pools,
    /// listeners and the load balancer roll up: `ONLINE` when every monitored member is up
    /// (or none is monitored), `DEGRADED` when some are down (`OFFLINE` or `ERROR`), `ERROR`
    /// when all are. Disabled objects are `OFFLINE`.
    pub(crate) fn refresh_operating(&mut self, lb_id: &str) {
        let (listeners, pools, _, _) = self.children(lb_id);
        let mut pool_status: BTreeMap<String, OperatingStatus> = BTreeMap::new();
        for id in pools {
            let Some(p) = self.pools.get(&id) else {
                continue;
            };
            let (up, has_hm, members, hm) = (
                p.admin_state_up,
                p.hm_id.is_some(),
                p.members.clone(),
                p.hm_id.clone(),
            );
            let (mut monitored, mut down) = (0usize, 0usize);
            for m in members {
                if let Some(m) = self.members.get_mut(&m) {
                    m.oper = match (m.admin_state_up, has_hm) {
                        (false, _) => OperatingStatus::Offline,
                        (true, false) => OperatingStatus::NoMonitor,
                        (true, true) => self
                            .member_health
                            .get(&m.address)
                            .copied()
                            .unwrap_or(OperatingStatus::Online),
                    };
                    if m.admin_state_up && has_hm {
                        monitored += 1;
                        if matches!(m.oper, OperatingStatus::Offline | OperatingStatus::Error) {
                            down += 1;
                        }
                    }
                }
            }
            let status = if !up {
                OperatingStatus::Offline
            } else {
                rollup(monitored, down)
            };
            if let Some(p) = self.pools.get_mut(&id) {
                p.oper = status;
            }
            pool_status.insert(id, status);
            if let Some(h) = hm.and_then(|h| self.hms.get_mut(&h)) {
                h.oper = online(h.admin_state_up);
            }
        }
        let (mut serving, mut failing) = (0usize, 0usize);
        let mut degraded = 0usize;
        for id in listeners {
            let Some(l) = self.listeners.get_mut(&id) else {
                continue;
            };
            l.oper = if l.admin_state_up {
                match l.default_pool_id.as_ref().and_then(|p| pool_status.get(p)) {
                    Some(OperatingStatus::Error) => OperatingStatus::Error,
                    Some(OperatingStatus::Degraded) => OperatingStatus::Degraded,
                    _ => OperatingStatus::Online,
                }
            } else {
                OperatingStatus::Offline
            };
            if l.admin_state_up {
                serving += 1;
                match l.oper {
                    OperatingStatus::Error => failing += 1,
                    OperatingStatus::Degraded => degraded += 1,
                    _ => {}
                }
            }
        }
        if let Some(lb) = self.lbs.get_mut(lb_id) {
            lb.oper = match (lb.admin_state_up, rollup(serving, failing)) {
                (false, _) => OperatingStatus::Offline,
                (true, OperatingStatus::Online) if degraded > 0 => OperatingStatus::Degraded,
                (true, status) => status,
            };
        }
    }

    /// Sets what the health monitors report for `address` (`None`: up again) and rolls the
    /// operating statuses of every settled load balancer up anew. Provisioning status and
    /// `updated_at` do not move: only the health manager writes operating statuses.
    pub(crate) fn set_member_health(&mut self, address: &str, status: Option<OperatingStatus>) {
        match status {
            Some(s) => self.member_health.insert(address.to_owned(), s),
            None => self.member_health.remove(address),
        };
        let settled: Vec<String> = self
            .lbs
            .values()
            .filter(|lb| {
                matches!(
                    lb.prov,
                    ProvisioningStatus::Active | ProvisioningStatus::PendingUpdate
                )
            })
            .map(|lb| lb.id.clone())
            .collect();
        for id in settled {
            self.refresh_operating(&id);
        }
    }
}

fn online(up: bool) -> OperatingStatus {
    if up {
        OperatingStatus::Online
    } else {
        OperatingStatus::Offline
    }
}

/// The operating status of a parent of `total` health-checked children of which `down` are
/// down: `ONLINE` with none down (or none checked), `ERROR` with all down, else `DEGRADED`.
fn rollup(total: usize, down: usize) -> OperatingStatus {
    if down == 0 {
        OperatingStatus::Online
    } else if down >= total {
        OperatingStatus::Error
    } else {
        OperatingStatus::Degraded
    }
}
