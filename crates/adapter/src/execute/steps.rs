//! The step match: each planner `Step` turned into its OpenStack call, with the ids it
//! records and the flags it leaves for the plan loop.

use kks_lb_octavia_model::api::neutron::CreateFloatingIp;
use kks_lb_octavia_model::api::octavia::{
    CreateHealthMonitor, CreateListener, CreateLoadBalancer, CreateMember, CreatePool,
    MembersBatchUpdate,
};
use kks_lb_octavia_model::bodies::create_floating_ip;
use kks_lb_planner::{ObjKey, Step};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::lookup::Find;
use super::{Run, str_at};
use crate::error::{Error, Result, Service};

impl Run<'_> {
    /// Step `n`: its call, the flags it leaves, and for a create of the load balancer the wait
    /// for ACTIVE. Errors name the step.
    pub(super) async fn mutate(&mut self, n: usize, step: &Step) -> Result<()> {
        self.step(n, step).await.map_err(|e| match e {
            Error::Step { .. }
            | Error::LoadBalancerFailed { .. }
            | Error::UnresolvedReference { .. } => e,
            other => Error::Step {
                step: n,
                op: step.op(),
                source: Box::new(other),
            },
        })?;
        if step.locks_loadbalancer() && !self.deleted {
            self.busy = true;
            self.state = None;
        }
        if let Step::CreateLoadbalancer { .. } = step {
            // Only a freshly created load balancer is deleted when it ends in ERROR.
            self.wait_active(n, step.op(), true).await?;
            self.busy = false;
        }
        Ok(())
    }

    #[allow(clippy::too_many_lines)]
    async fn step(&mut self, n: usize, step: &Step) -> Result<()> {
        let op = step.op();
        let span = tracing::info_span!("step", n, op, lb = self.lb_id().unwrap_or_default());
        let _enter = span.enter();
        match step {
            Step::CreateLoadbalancer { loadbalancer } => {
                let body = json!({ "loadbalancer": to_json(&CreateLoadBalancer {
                    project_id: self.project(),
                    ..CreateLoadBalancer::from(loadbalancer)
                })? });
                let find = Find::Loadbalancer {
                    name: &loadbalancer.name,
                    tags: &loadbalancer.tags,
                };
                let r = self
                    .create(Service::Octavia, &["lbaas", "loadbalancers"], &body, find)
                    .await?;
                let lb = r.body.get("loadbalancer").cloned().unwrap_or(Value::Null);
                let id = str_at(&lb, "/id").ok_or_else(|| Error::Decode {
                    what: "load balancer create".into(),
                    message: "no id in the response".into(),
                })?;
                self.ids.insert(ObjKey::Loadbalancer, id.to_owned());
                if let Some(p) = str_at(&lb, "/vip_port_id") {
                    self.ids.insert(ObjKey::VipPort, p.to_owned());
                }
                self.vip_address = str_at(&lb, "/vip_address").map(str::to_owned);
                for l in lb
                    .get("listeners")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    self.record_listener(l);
                }
                // Monitors come inside the pools (`healthmonitor` on Octavia 19,
                // `healthmonitor_id` elsewhere).
                for p in lb
                    .get("pools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let hm =
                        str_at(p, "/healthmonitor_id").or_else(|| str_at(p, "/healthmonitor/id"));
                    let key = str_at(p, "/id").and_then(|id| {
                        self.ids
                            .iter()
                            .find(|(k, v)| matches!(k, ObjKey::Pool(_)) && v.as_str() == id)
                            .and_then(|(k, _)| k.listener_key())
                    });
                    if let (Some(hm), Some(k)) = (hm, key) {
                        self.ids.insert(ObjKey::Healthmonitor(k), hm.to_owned());
                    }
                }
                self.deleted = false;
            }
            Step::UpdateLoadbalancer {
                loadbalancer,
                changes,
            } => {
                self.update(
                    n,
                    op,
                    loadbalancer,
                    "loadbalancer",
                    "loadbalancers",
                    changes,
                )
                .await?;
            }
            Step::DeleteLoadbalancer {
                loadbalancer,
                cascade,
            } => {
                let id = self.resolve(n, op, loadbalancer)?;
                let query = if *cascade {
                    vec![("cascade", "true".to_owned())]
                } else {
                    vec![]
                };
                self.delete(Service::Octavia, &["lbaas", "loadbalancers", &id], &query)
                    .await?;
                // Wait until it is gone, so nothing it held outlives the plan. Observed with
                // the poller's tag, it is gone once a list no longer shows it.
                self.ex.wait_for(&id, Instant::now(), self.listed).await?;
                self.ids.clear();
                self.vip_address = None;
                self.deleted = true;
                self.busy = false;
            }
            Step::CreateListener {
                loadbalancer,
                listener,
                default_pool,
            } => {
                let lb = self.resolve(n, op, loadbalancer)?;
                let default_pool_id = match default_pool {
                    Some(p) => Some(self.resolve(n, op, p)?),
                    None => None,
                };
                let body = to_json(&CreateListener {
                    loadbalancer_id: Some(lb.clone()),
                    default_pool_id,
                    default_pool: None,
                    project_id: self.project(),
                    ..CreateListener::from(listener)
                })?;
                let find = Find::Listener {
                    lb: &lb,
                    key: listener.key(),
                };
                let l = self
                    .create_child("listener", "listeners", body, find)
                    .await?;
                self.record_listener(&l);
            }
            Step::UpdateListener { listener, changes } => {
                self.update(n, op, listener, "listener", "listeners", changes)
                    .await?;
            }
            Step::DeleteListener { listener } => {
                self.remove(n, op, listener, "listeners").await?;
            }
            Step::CreatePool { parent, key, pool } => {
                let parent_id = self.resolve(n, op, parent)?;
                let lb = self.lb_id().unwrap_or_default();
                let (loadbalancer_id, listener_id) = match parent.key {
                    ObjKey::Loadbalancer => (Some(parent_id), None),
                    _ => (None, Some(parent_id)),
                };
                let body = to_json(&CreatePool {
                    loadbalancer_id,
                    listener_id,
                    members: None,
                    healthmonitor: None,
                    project_id: self.project(),
                    ..CreatePool::from(pool)
                })?;
                let find = Find::Pool {
                    lb: &lb,
                    name: &pool.name,
                };
                let p = self.create_child("pool", "pools", body, find).await?;
                let id = str_at(&p, "/id").ok_or_else(|| Error::Decode {
                    what: "pool create".into(),
                    message: "no id".into(),
                })?;
                self.ids.insert(ObjKey::Pool(*key), id.to_owned());
            }
            Step::UpdatePool { pool, changes } => {
                self.update(n, op, pool, "pool", "pools", changes).await?;
            }
            Step::DeletePool { pool } => {
                self.remove(n, op, pool, "pools").await?;
                if let Some(k) = pool.key.listener_key() {
                    self.ids.remove(&ObjKey::Healthmonitor(k));
                }
            }
            Step::ReplaceMembers { pool, members } => {
                let id = self.resolve(n, op, pool)?;
                let body = to_json(&MembersBatchUpdate {
                    members: members.iter().map(CreateMember::from).collect(),
                })?;
                self.octavia(
                    Method::PUT,
                    &["lbaas", "pools", &id, "members"],
                    Some(&body),
                    true,
                )
                .await?;
            }
            Step::CreateHealthmonitor {
                pool,
                healthmonitor,
            } => {
                let p = self.resolve(n, op, pool)?;
                let body = to_json(&CreateHealthMonitor {
                    pool_id: Some(p.clone()),
                    project_id: self.project(),
                    ..CreateHealthMonitor::from(healthmonitor)
                })?;
                let hm = self
                    .create_child(
                        "healthmonitor",
                        "healthmonitors",
                        body,
                        Find::Monitor { pool: &p },
                    )
                    .await?;
                if let (Some(id), Some(k)) = (str_at(&hm, "/id"), pool.key.listener_key()) {
                    self.ids.insert(ObjKey::Healthmonitor(k), id.to_owned());
                }
            }
            Step::UpdateHealthmonitor {
                healthmonitor,
                changes,
            } => {
                self.update(
                    n,
                    op,
                    healthmonitor,
                    "healthmonitor",
                    "healthmonitors",
                    changes,
                )
                .await?;
            }
            Step::DeleteHealthmonitor { healthmonitor } => {
                self.remove(n, op, healthmonitor, "healthmonitors").await?;
            }
            Step::CreateFloatingip { port, floatingip } => {
                let port = self.resolve(n, op, port)?;
                let network = floatingip.floating_network_id.clone().ok_or_else(|| {
                    Error::Config(
                        "no floating-network-id configured for external load balancers".into(),
                    )
                })?;
                let body = json!({ "floatingip": to_json(&CreateFloatingIp {
                    project_id: self.project(),
                    ..create_floating_ip(floatingip, &network, &port)
                })? });
                let find = Find::Floatingip {
                    port: &port,
                    description: &floatingip.description,
                };
                let r = self
                    .create(Service::Neutron, &["floatingips"], &body, find)
                    .await?;
                let id = str_at(&r.body, "/floatingip/id")
                    .ok_or_else(|| Error::Decode {
                        what: "floating IP create".into(),
                        message: "no id".into(),
                    })?
                    .to_owned();
                self.ids.insert(ObjKey::Floatingip, id);
                self.floating_ip =
                    str_at(&r.body, "/floatingip/floating_ip_address").map(str::to_owned);
            }
            Step::TagFloatingip { floatingip, tags } => {
                let id = self.resolve(n, op, floatingip)?;
                let body = json!({ "tags": tags });
                self.neutron(
                    Method::PUT,
                    &["floatingips", &id, "tags"],
                    &[],
                    Some(&body),
                    true,
                )
                .await?;
            }
            Step::AssociateFloatingip { floatingip, port } => {
                let port = self.resolve(n, op, port)?;
                let (id, address) = match &floatingip.id {
                    Some(id) => (id.clone(), floatingip.floating_ip_address.clone()),
                    None => {
                        let address = floatingip.floating_ip_address.clone().ok_or_else(|| {
                            Error::Config("associate_floatingip needs an address or an id".into())
                        })?;
                        match self.free_address(&address, &port, floatingip).await? {
                            Some(free) => {
                                // Bind only the revision we checked: a concurrent claim that
                                // got there first makes Neutron answer 412.
                                self.claim_address(&address, &free, &port).await?;
                                self.ids.insert(ObjKey::Floatingip, free.id);
                                self.floating_ip = Some(address);
                                return Ok(());
                            }
                            None => {
                                // Bound to this VIP already.
                                self.floating_ip = Some(address);
                                return Ok(());
                            }
                        }
                    }
                };
                let body = json!({ "floatingip": { "port_id": port } });
                let r = self
                    .neutron(Method::PUT, &["floatingips", &id], &[], Some(&body), true)
                    .await?;
                self.ids.insert(ObjKey::Floatingip, id);
                self.floating_ip = address.or_else(|| {
                    str_at(&r.body, "/floatingip/floating_ip_address").map(str::to_owned)
                });
            }
            Step::DisassociateFloatingip { floatingip } => {
                let id = self.resolve(n, op, floatingip)?;
                let body = json!({ "floatingip": { "port_id": null } });
                match self
                    .neutron(Method::PUT, &["floatingips", &id], &[], Some(&body), true)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
                self.ids.remove(&ObjKey::Floatingip);
                self.floating_ip = None;
            }
            Step::DeleteFloatingip { floatingip } => {
                let id = self.resolve(n, op, floatingip)?;
                self.delete(Service::Neutron, &["floatingips", &id], &[])
                    .await?;
                self.ids.remove(&ObjKey::Floatingip);
                self.floating_ip = None;
            }
        }
        Ok(())
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Decode {
        what: "request body".into(),
        message: e.to_string(),
    })
}
