//! [`observe`]: find a Service's load balancer, verify that it is ours, and read its whole tree
//! with one filtered list call per kind.

use std::collections::BTreeMap;

use kks_lb_octavia_model::api::neutron::FloatingIpList;
use kks_lb_octavia_model::api::octavia::{
    HealthMonitorResponse, ListenerList, ListenerResponse, LoadBalancerList, LoadBalancerResponse,
    LoadBalancerRoot, MemberList, PoolList, PoolResponse,
};
use kks_lb_octavia_model::{
    FloatingIp, HealthMonitor, Listener, LoadBalancer, Member, Pool, SessionPersistence, Topology,
};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{OpenStackClient, Reply};
use crate::error::{Error, Result, Service};
use crate::poller::LbState;

pub use kks_lb_planner::owner::{Ownership, ownership_of};

/// What [`observe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// No load balancer; `stale_id` is set when the `load-balancer-id` annotation named one
    /// that no longer exists.
    Missing {
        /// The id that answered 404.
        stale_id: Option<String>,
    },
    /// Our load balancer, with its whole tree and floating IP.
    Owned(Box<Topology>),
    /// A load balancer we must not touch.
    Foreign {
        /// Its id.
        id: String,
        /// Its name.
        name: String,
        /// Why it is not ours.
        reason: String,
    },
}

fn decode<T: DeserializeOwned>(what: &str, reply: Reply) -> Result<T> {
    serde_json::from_value(reply.body).map_err(|e| Error::Decode {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

/// Finds the Service's load balancer (by the `load-balancer-id` annotation, else by name),
/// checks ownership before reading anything else, then reads listeners and pools with one
/// `?loadbalancer_id=` list call each, members with one call per pool, each health monitor,
/// and the floating IP bound to the VIP port.
///
/// # Errors
/// API and decode errors. A foreign load balancer is not an error but
/// [`Observation::Foreign`].
pub async fn observe(client: &OpenStackClient, owner: &Ownership) -> Result<Observation> {
    observe_at(client, owner, Depth::Full, None, Lookup::ByName)
        .await
        .map(|(o, _)| o)
}

/// Like [`observe`] for a Service that wants a floating IP whose `description` (led by the
/// owner marker) is `fip_description`: when none is bound to the VIP port, one of ours that
/// is not bound (a replacement interrupted after its detach) is looked for by it, so it is
/// bound again instead of leaking.
///
/// # Errors
/// As [`observe`].
pub async fn observe_with(
    client: &OpenStackClient,
    owner: &Ownership,
    fip_description: Option<&str>,
) -> Result<Observation> {
    observe_at(client, owner, Depth::Full, fip_description, Lookup::ByName)
        .await
        .map(|(o, _)| o)
}

/// Like [`observe_with`], and also the load balancer's state as the read saw it (its
/// `updated_at` and statuses), for the drift check.
///
/// # Errors
/// As [`observe`].
pub async fn observe_stamped(
    client: &OpenStackClient,
    owner: &Ownership,
    fip_description: Option<&str>,
) -> Result<(Observation, Option<LbState>)> {
    observe_at(client, owner, Depth::Full, fip_description, Lookup::ByName).await
}

/// How [`observe_stamped_with`] may find a load balancer that no id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lookup {
    /// By name (`GET /v2/lbaas/loadbalancers?name=`): always safe.
    #[default]
    ByName,
    /// The caller knows that no load balancer of this name exists: a list of every load
    /// balancer of the project, taken while no one else could create one, showed none, and
    /// none was created since. The lookup by name is skipped (`Missing`).
    KnownAbsent,
}

/// Like [`observe_stamped`], with the caller's knowledge of the name ([`Lookup`]).
///
/// # Errors
/// As [`observe`].
pub async fn observe_stamped_with(
    client: &OpenStackClient,
    owner: &Ownership,
    fip_description: Option<&str>,
    lookup: Lookup,
) -> Result<(Observation, Option<LbState>)> {
    observe_at(client, owner, Depth::Full, fip_description, lookup).await
}

/// Like [`observe`], but reads only the load balancer and its floating IP: all a delete
/// needs (two reads instead of four plus one per pool).
///
/// # Errors
/// As [`observe`].
pub async fn observe_for_delete(
    client: &OpenStackClient,
    owner: &Ownership,
    fip_description: Option<&str>,
) -> Result<Observation> {
    observe_at(
        client,
        owner,
        Depth::Shallow,
        fip_description,
        Lookup::ByName,
    )
    .await
    .map(|(o, _)| o)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    Full,
    Shallow,
}

async fn observe_at(
    client: &OpenStackClient,
    owner: &Ownership,
    depth: Depth,
    fip_description: Option<&str>,
    lookup: Lookup,
) -> Result<(Observation, Option<LbState>)> {
    let mut stale_id = None;
    let lb: Option<LoadBalancerResponse> = match &owner.id {
        Some(id) => {
            match client
                .call(
                    Service::Octavia,
                    Method::GET,
                    &["lbaas", "loadbalancers", id],
                    &[],
                    None,
                )
                .await
            {
                Ok(reply) => Some(
                    decode::<LoadBalancerRoot<LoadBalancerResponse>>("load balancer", reply)?
                        .loadbalancer,
                ),
                Err(e) if e.is_not_found() => {
                    stale_id = Some(id.clone());
                    None
                }
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    let lb = match lb {
        Some(lb) => Some(lb),
        None if lookup == Lookup::KnownAbsent => None,
        None => {
            let reply = client
                .call(
                    Service::Octavia,
                    Method::GET,
                    &["lbaas", "loadbalancers"],
                    &[("name", owner.name.clone())],
                    None,
                )
                .await?;
            let list: LoadBalancerList = decode("load balancer list", reply)?;
            let candidates: Vec<_> = list
                .loadbalancers
                .into_iter()
                .filter(|lb| lb.name == owner.name)
                .filter(|lb| {
                    lb.provisioning_status != kks_lb_octavia_model::ProvisioningStatus::Deleted
                })
                .collect();
            // Prefer one that is ours; report a foreign one only when nothing else matches.
            match candidates
                .iter()
                .position(|lb| ownership_of(owner, &lb.name, &lb.tags, &lb.description).is_ok())
            {
                Some(i) => candidates.into_iter().nth(i),
                None => match candidates.into_iter().next() {
                    Some(lb) => {
                        let reason = ownership_of(owner, &lb.name, &lb.tags, &lb.description)
                            .err()
                            .unwrap_or_default();
                        return Ok((
                            Observation::Foreign {
                                id: lb.id,
                                name: lb.name,
                                reason,
                            },
                            None,
                        ));
                    }
                    None => None,
                },
            }
        }
    };
    let Some(lb) = lb else {
        return Ok((Observation::Missing { stale_id }, None));
    };
    if let Err(reason) = ownership_of(owner, &lb.name, &lb.tags, &lb.description) {
        return Ok((
            Observation::Foreign {
                id: lb.id,
                name: lb.name,
                reason,
            },
            None,
        ));
    }
    let state = LbState::of(&lb);
    read_tree(client, lb, depth, fip_description)
        .await
        .map(|t| (Observation::Owned(Box::new(t)), Some(state)))
}

async fn read_tree(
    client: &OpenStackClient,
    lb: LoadBalancerResponse,
    depth: Depth,
    fip_description: Option<&str>,
) -> Result<Topology> {
    if depth == Depth::Shallow {
        let floatingip =
            read_floating_ip(client, lb.vip_port_id.as_deref(), fip_description).await?;
        return Ok(topology_of(lb, Vec::new(), Vec::new(), floatingip));
    }
    let by_lb = [("loadbalancer_id", lb.id.clone())];
    let listeners: ListenerList = decode(
        "listener list",
        client
            .call(
                Service::Octavia,
                Method::GET,
                &["lbaas", "listeners"],
                &by_lb,
                None,
            )
            .await?,
    )?;
    let pools: PoolList = decode(
        "pool list",
        client
            .call(
                Service::Octavia,
                Method::GET,
                &["lbaas", "pools"],
                &by_lb,
                None,
            )
            .await?,
    )?;
    let mut monitors: BTreeMap<String, HealthMonitorResponse> = BTreeMap::new();
    let mut members: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    // Pools no listener names (an interrupted listener create) are reported, not read further.
    for pool in pools.pools.iter().filter(|p| {
        listeners
            .listeners
            .iter()
            .any(|l| l.default_pool_id.as_ref() == Some(&p.id))
    }) {
        if let Some(hm_id) = &pool.links.healthmonitor_id {
            match client
                .call(
                    Service::Octavia,
                    Method::GET,
                    &["lbaas", "healthmonitors", hm_id],
                    &[],
                    None,
                )
                .await
            {
                Ok(reply) => {
                    let body = reply
                        .body
                        .get("healthmonitor")
                        .cloned()
                        .unwrap_or(Value::Null);
                    let hm: HealthMonitorResponse =
                        serde_json::from_value(body).map_err(|e| Error::Decode {
                            what: "health monitor".into(),
                            message: e.to_string(),
                        })?;
                    monitors.insert(hm_id.clone(), hm);
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        let list: MemberList = decode(
            "member list",
            client
                .call(
                    Service::Octavia,
                    Method::GET,
                    &["lbaas", "pools", &pool.id, "members"],
                    &[],
                    None,
                )
                .await?,
        )?;
        let ms: Vec<Member> = list
            .members
            .into_iter()
            .map(|m| Member {
                id: Some(m.id),
                name: m.name,
                address: m.address,
                protocol_port: m.protocol_port,
                subnet_id: m.subnet_id,
                weight: m.weight,
                monitor_port: m.monitor_port,
                provisioning_status: Some(m.provisioning_status),
                operating_status: Some(m.operating_status),
            })
            .collect();
        members.insert(pool.id.clone(), ms);
    }
    let floatingip = read_floating_ip(client, lb.vip_port_id.as_deref(), fip_description).await?;
    Ok(assemble(
        lb,
        listeners.listeners,
        pools.pools,
        &monitors,
        members,
        floatingip,
    ))
}

/// A load balancer's tree from what was read of it: its listeners and pools, the monitors
/// by id and the members by pool id (of the pools a listener names; the others are
/// reported as detached, without children), and its floating IP.
pub(crate) fn assemble(
    lb: LoadBalancerResponse,
    listeners: Vec<ListenerResponse>,
    pools: Vec<PoolResponse>,
    monitors: &BTreeMap<String, HealthMonitorResponse>,
    mut members: BTreeMap<String, Vec<Member>>,
    floatingip: Option<FloatingIp>,
) -> Topology {
    let mut pools: BTreeMap<String, PoolResponse> =
        pools.into_iter().map(|p| (p.id.clone(), p)).collect();
    // Pools no listener names (an interrupted listener create): reported, not read further;
    // the planner deletes them with their children.
    let detached: Vec<Pool> = pools
        .extract_if(.., |id, _| {
            !listeners
                .iter()
                .any(|l| l.default_pool_id.as_ref() == Some(id))
        })
        .map(|(_, p)| Pool {
            id: Some(p.id),
            name: p.name,
            protocol: p.protocol,
            lb_algorithm: p.lb_algorithm,
            session_persistence: None,
            tags: sorted(p.tags),
            members: Vec::new(),
            healthmonitor: None,
            provisioning_status: Some(p.provisioning_status),
            operating_status: Some(p.operating_status),
        })
        .collect();
    for ms in members.values_mut() {
        ms.sort_by(Member::cmp_key);
    }
    let mut out_listeners: Vec<Listener> = listeners
        .into_iter()
        .map(|l| {
            let default_pool = l
                .default_pool_id
                .as_ref()
                .and_then(|pid| pools.get(pid))
                .map(|p| Pool {
                    id: Some(p.id.clone()),
                    name: p.name.clone(),
                    protocol: p.protocol,
                    lb_algorithm: p.lb_algorithm,
                    session_persistence: p.session_persistence.as_ref().map(|s| {
                        SessionPersistence {
                            kind: s.kind,
                            cookie_name: s.cookie_name.clone(),
                        }
                    }),
                    tags: sorted(p.tags.clone()),
                    members: members.remove(&p.id).unwrap_or_default(),
                    healthmonitor: p
                        .links
                        .healthmonitor_id
                        .as_ref()
                        .and_then(|h| monitors.get(h))
                        .map(|hm| HealthMonitor {
                            id: Some(hm.id.clone()),
                            name: hm.name.clone(),
                            kind: hm.kind,
                            delay: hm.delay,
                            timeout: hm.timeout,
                            max_retries: hm.max_retries,
                            max_retries_down: hm.max_retries_down,
                            http_method: hm.http_method.clone(),
                            url_path: hm.url_path.clone(),
                            expected_codes: hm.expected_codes.clone(),
                            tags: sorted(hm.tags.clone()),
                            provisioning_status: Some(hm.provisioning_status),
                            operating_status: Some(hm.operating_status),
                        }),
                    provisioning_status: Some(p.provisioning_status),
                    operating_status: Some(p.operating_status),
                });
            Listener {
                id: Some(l.id),
                name: l.name,
                protocol: l.protocol,
                protocol_port: l.protocol_port,
                connection_limit: l.connection_limit,
                timeout_client_data: l.timeout_client_data,
                timeout_member_connect: l.timeout_member_connect,
                timeout_member_data: l.timeout_member_data,
                timeout_tcp_inspect: l.timeout_tcp_inspect,
                allowed_cidrs: l.allowed_cidrs.filter(|c| !c.is_empty()).map(sorted),
                insert_headers: l.insert_headers,
                tags: sorted(l.tags),
                default_pool,
                provisioning_status: Some(l.provisioning_status),
                operating_status: Some(l.operating_status),
            }
        })
        .collect();
    out_listeners.sort_by_key(Listener::key);
    topology_of(lb, out_listeners, detached, floatingip)
}

/// The floating IP bound to the VIP port, if any; else, with `description`, an unbound one
/// of ours with that description (led by the owner marker).
async fn read_floating_ip(
    client: &OpenStackClient,
    vip_port: Option<&str>,
    description: Option<&str>,
) -> Result<Option<FloatingIp>> {
    let Some(port) = vip_port else {
        return Ok(None);
    };
    let mut found = list_floating_ips(client, "port_id", port).await?;
    if found.is_none()
        && let Some(d) = description
    {
        found = list_floating_ips(client, "description", d)
            .await?
            .filter(|f| f.port_id.is_none());
    }
    Ok(found)
}

async fn list_floating_ips(
    client: &OpenStackClient,
    filter: &str,
    value: &str,
) -> Result<Option<FloatingIp>> {
    let reply = client
        .call(
            Service::Neutron,
            Method::GET,
            &["floatingips"],
            &[(filter, value.to_owned())],
            None,
        )
        .await?;
    let list: FloatingIpList = decode("floating IP list", reply)?;
    Ok(list.floatingips.into_iter().next().map(floating_ip_of))
}

/// A listed floating IP as a topology's.
pub(crate) fn floating_ip_of(f: kks_lb_octavia_model::api::neutron::FloatingIp) -> FloatingIp {
    FloatingIp {
        id: Some(f.id),
        floating_ip_address: Some(f.floating_ip_address),
        floating_network_id: Some(f.floating_network_id),
        port_id: f.port_id,
        description: f.description,
        tags: sorted(f.tags),
    }
}

fn topology_of(
    lb: LoadBalancerResponse,
    listeners: Vec<Listener>,
    detached_pools: Vec<Pool>,
    floatingip: Option<FloatingIp>,
) -> Topology {
    let mut t = Topology {
        loadbalancer: LoadBalancer {
            id: Some(lb.id),
            name: lb.name,
            description: lb.description,
            vip_subnet_id: lb.vip_subnet_id,
            vip_network_id: lb.vip_network_id,
            vip_address: lb.vip_address,
            vip_port_id: lb.vip_port_id,
            provider: lb.provider,
            flavor_id: lb.flavor_id,
            availability_zone: lb.availability_zone,
            tags: sorted(lb.tags),
            listeners,
            detached_pools,
            provisioning_status: Some(lb.provisioning_status),
            operating_status: Some(lb.operating_status),
        },
        floatingip,
        keep_floatingip: false,
    };
    t.normalize();
    t
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
