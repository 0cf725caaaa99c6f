//! [`Topology`]: one load balancer as a tree, the shape both the desired state and the observed
//! state take.
//!
//! The JSON form is Octavia's fully-populated create body (`loadbalancer` → `listeners` →
//! `default_pool` → `members` + `healthmonitor`) plus the Neutron `floatingip`, with Octavia's
//! own field names. Ids and statuses are optional: a desired topology has none, an observed one
//! has them. Child lists are kept sorted by their identity key ([`ListenerKey`], [`MemberKey`]) so
//! that equal topologies serialize to equal bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::enums::{
    LbAlgorithm, MonitorType, OperatingStatus, Protocol, ProvisioningStatus, SessionPersistenceType,
};

/// One load balancer and the floating IP bound to its VIP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    /// The load balancer with its listeners, pools, members and monitors.
    pub loadbalancer: LoadBalancer,
    /// The floating IP bound to the VIP port; `None` for an internal load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floatingip: Option<FloatingIp>,
    /// Whether a floating IP we no longer want is detached (true) or released (false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_floatingip: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An Octavia load balancer (`/v2/lbaas/loadbalancers`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LoadBalancer {
    /// Octavia id; `None` when not yet created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name; for kks-lb `kube_service_<cluster>_<namespace>_<service>`.
    pub name: String,
    /// Free text naming the Service and cluster.
    #[serde(default)]
    pub description: String,
    /// Subnet the VIP is allocated from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_subnet_id: Option<String>,
    /// Network the VIP is allocated from when no subnet is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_network_id: Option<String>,
    /// Requested or allocated VIP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_address: Option<String>,
    /// The Neutron port holding the VIP (observed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_port_id: Option<String>,
    /// Provider driver, e.g. `amphora` or `ovn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Flavor id (create-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor_id: Option<String>,
    /// Availability zone (create-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// Tags, sorted; carry ownership.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Listeners, sorted by (protocol, port).
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// Observed only: pools of this load balancer that no listener names as its default pool
    /// (left by an interrupted listener create), sorted by id. A desired topology has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detached_pools: Vec<Pool>,
    /// Observed provisioning status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<ProvisioningStatus>,
    /// Observed operating status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_status: Option<OperatingStatus>,
}

/// The identity of a listener within a load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListenerKey {
    /// Listener protocol.
    pub protocol: Protocol,
    /// Listener port.
    pub protocol_port: u16,
}

impl std::fmt::Display for ListenerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.protocol, self.protocol_port)
    }
}

/// An Octavia listener with its default pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// Octavia id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name, e.g. `listener_TCP_80_<lbname>`.
    #[serde(default)]
    pub name: String,
    /// Protocol (immutable).
    pub protocol: Protocol,
    /// Port (immutable).
    pub protocol_port: u16,
    /// Maximum connections; -1 is unlimited.
    #[serde(default = "unlimited")]
    pub connection_limit: i64,
    /// Client inactivity timeout, ms; `None` = not managed (unsupported by the cloud).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_client_data: Option<u32>,
    /// Backend connect timeout, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_member_connect: Option<u32>,
    /// Backend inactivity timeout, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_member_data: Option<u32>,
    /// Time to wait for more TCP content, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_tcp_inspect: Option<u32>,
    /// Source CIDRs allowed; `None` = all (Octavia answers `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_cidrs: Option<Vec<String>>,
    /// Headers inserted towards members, e.g. `{"X-Forwarded-For": "true"}`.
    #[serde(default)]
    pub insert_headers: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The default pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pool: Option<Pool>,
    /// Observed provisioning status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<ProvisioningStatus>,
    /// Observed operating status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_status: Option<OperatingStatus>,
}

fn unlimited() -> i64 {
    -1
}

impl Listener {
    /// The listener's identity within its load balancer.
    pub fn key(&self) -> ListenerKey {
        ListenerKey {
            protocol: self.protocol,
            protocol_port: self.protocol_port,
        }
    }
}

/// Pool session persistence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPersistence {
    /// Persistence type.
    #[serde(rename = "type")]
    pub kind: SessionPersistenceType,
    /// Cookie name for `APP_COOKIE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_name: Option<String>,
}

/// An Octavia pool with its members and health monitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    /// Octavia id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name, e.g. `pool_TCP_80_<lbname>`; required inside a fully-populated create.
    #[serde(default)]
    pub name: String,
    /// Protocol towards members (immutable).
    pub protocol: Protocol,
    /// Balancing algorithm.
    pub lb_algorithm: LbAlgorithm,
    /// Session persistence; `None` = none.
    #[serde(default)]
    pub session_persistence: Option<SessionPersistence>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Members, sorted by (address, port).
    #[serde(default)]
    pub members: Vec<Member>,
    /// Health monitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthmonitor: Option<HealthMonitor>,
    /// Observed provisioning status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<ProvisioningStatus>,
    /// Observed operating status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_status: Option<OperatingStatus>,
}

/// The identity of a member within a pool.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MemberKey {
    /// Member address.
    pub address: String,
    /// Member port.
    pub protocol_port: u16,
}

/// An Octavia pool member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Octavia id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name; kks-lb uses the node name.
    #[serde(default)]
    pub name: String,
    /// Member IP address.
    pub address: String,
    /// Member port (the Service's nodePort).
    pub protocol_port: u16,
    /// Subnet of the address, if configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    /// Weight; Octavia's default is 1.
    #[serde(default = "one")]
    pub weight: u16,
    /// Port the monitor probes instead of `protocol_port` (healthCheckNodePort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_port: Option<u16>,
    /// Observed provisioning status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<ProvisioningStatus>,
    /// Observed operating status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_status: Option<OperatingStatus>,
}

fn one() -> u16 {
    1
}

impl Member {
    /// The member's identity within its pool.
    pub fn key(&self) -> MemberKey {
        MemberKey {
            address: self.address.clone(),
            protocol_port: self.protocol_port,
        }
    }
    /// Orders members by identity, (address, port), without allocating.
    pub fn cmp_key(a: &Member, b: &Member) -> std::cmp::Ordering {
        (a.address.as_str(), a.protocol_port).cmp(&(b.address.as_str(), b.protocol_port))
    }
}

/// An Octavia health monitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthMonitor {
    /// Octavia id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name, e.g. `monitor_TCP_80_<lbname>`.
    #[serde(default)]
    pub name: String,
    /// Probe type.
    #[serde(rename = "type")]
    pub kind: MonitorType,
    /// Seconds between probes.
    pub delay: u32,
    /// Seconds a probe may take; less than `delay`.
    pub timeout: u32,
    /// Successes to mark a member up.
    pub max_retries: u8,
    /// Failures to mark a member down.
    pub max_retries_down: u8,
    /// HTTP method for HTTP(S) monitors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// URL path for HTTP(S) monitors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_path: Option<String>,
    /// Expected status codes for HTTP(S) monitors, e.g. `200`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_codes: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Observed provisioning status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<ProvisioningStatus>,
    /// Observed operating status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_status: Option<OperatingStatus>,
}

/// A Neutron floating IP bound (or to be bound) to the VIP port.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FloatingIp {
    /// Neutron id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The public address; desired only when the Service asks for a specific one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floating_ip_address: Option<String>,
    /// External network the address comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floating_network_id: Option<String>,
    /// Port the address is bound to (the VIP port); observed only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_id: Option<String>,
    /// Free text naming the Service and cluster.
    #[serde(default)]
    pub description: String,
    /// Tags, sorted; carry ownership. An address without our tags is never released.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Topology {
    /// Sorts every child list by its identity key and every tag list, so that equal topologies
    /// compare and serialize equal whatever order the cloud answered in.
    pub fn normalize(&mut self) {
        let lb = &mut self.loadbalancer;
        lb.tags.sort();
        lb.tags.dedup();
        lb.listeners.sort_by_key(Listener::key);
        lb.detached_pools.sort_by(|a, b| a.id.cmp(&b.id));
        for listener in &mut lb.listeners {
            listener.tags.sort();
            if let Some(cidrs) = &mut listener.allowed_cidrs {
                cidrs.sort();
                cidrs.dedup();
            }
            if let Some(pool) = &mut listener.default_pool {
                pool.tags.sort();
                pool.members.sort_by(Member::cmp_key);
                if let Some(hm) = &mut pool.healthmonitor {
                    hm.tags.sort();
                }
            }
        }
        if let Some(fip) = &mut self.floatingip {
            fip.tags.sort();
            fip.tags.dedup();
        }
    }

    /// Whether [`Topology::normalize`] would change nothing. Linear, allocation-free.
    pub fn is_normalized(&self) -> bool {
        fn sorted_unique<T: Ord>(v: &[T]) -> bool {
            v.windows(2).all(|w| w[0] < w[1])
        }
        fn sorted<T: Ord>(v: &[T]) -> bool {
            v.windows(2).all(|w| w[0] <= w[1])
        }
        let lb = &self.loadbalancer;
        sorted_unique(&lb.tags)
            && lb.detached_pools.windows(2).all(|w| w[0].id <= w[1].id)
            && lb.listeners.windows(2).all(|w| w[0].key() <= w[1].key())
            && lb.listeners.iter().all(|l| {
                sorted(&l.tags)
                    && l.allowed_cidrs.as_deref().is_none_or(sorted_unique)
                    && l.default_pool.as_ref().is_none_or(|p| {
                        sorted(&p.tags)
                            && p.members
                                .windows(2)
                                .all(|w| Member::cmp_key(&w[0], &w[1]).is_le())
                            && p.healthmonitor.as_ref().is_none_or(|hm| sorted(&hm.tags))
                    })
            })
            && self
                .floatingip
                .as_ref()
                .is_none_or(|f| sorted_unique(&f.tags))
    }

    /// A copy without pool members: cheap even for thousands of members.
    #[must_use]
    pub fn clone_without_members(&self) -> Topology {
        let lb = &self.loadbalancer;
        let listeners = lb
            .listeners
            .iter()
            .map(|l| Listener {
                default_pool: l.default_pool.as_ref().map(|p| Pool {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    protocol: p.protocol,
                    lb_algorithm: p.lb_algorithm,
                    session_persistence: p.session_persistence.clone(),
                    tags: p.tags.clone(),
                    members: Vec::new(),
                    healthmonitor: p.healthmonitor.clone(),
                    provisioning_status: p.provisioning_status,
                    operating_status: p.operating_status,
                }),
                id: l.id.clone(),
                name: l.name.clone(),
                allowed_cidrs: l.allowed_cidrs.clone(),
                insert_headers: l.insert_headers.clone(),
                tags: l.tags.clone(),
                ..*l
            })
            .collect();
        Topology {
            loadbalancer: LoadBalancer {
                listeners,
                id: lb.id.clone(),
                name: lb.name.clone(),
                description: lb.description.clone(),
                vip_subnet_id: lb.vip_subnet_id.clone(),
                vip_network_id: lb.vip_network_id.clone(),
                vip_address: lb.vip_address.clone(),
                vip_port_id: lb.vip_port_id.clone(),
                provider: lb.provider.clone(),
                flavor_id: lb.flavor_id.clone(),
                availability_zone: lb.availability_zone.clone(),
                tags: lb.tags.clone(),
                detached_pools: lb.detached_pools.clone(),
                provisioning_status: lb.provisioning_status,
                operating_status: lb.operating_status,
            },
            floatingip: self.floatingip.clone(),
            keep_floatingip: self.keep_floatingip,
        }
    }

    /// The number of members over all pools.
    pub fn member_count(&self) -> usize {
        self.loadbalancer
            .listeners
            .iter()
            .filter_map(|l| l.default_pool.as_ref())
            .map(|p| p.members.len())
            .sum()
    }

    /// A copy without ids and observed statuses: the form to compare with a desired topology.
    #[must_use]
    pub fn without_observed_fields(&self) -> Topology {
        let mut t = self.clone();
        let lb = &mut t.loadbalancer;
        lb.id = None;
        lb.vip_port_id = None;
        lb.provisioning_status = None;
        lb.operating_status = None;
        for l in &mut lb.listeners {
            l.id = None;
            l.provisioning_status = None;
            l.operating_status = None;
            if let Some(p) = &mut l.default_pool {
                p.id = None;
                p.provisioning_status = None;
                p.operating_status = None;
                for m in &mut p.members {
                    m.id = None;
                    m.provisioning_status = None;
                    m.operating_status = None;
                }
                if let Some(hm) = &mut p.healthmonitor {
                    hm.id = None;
                    hm.provisioning_status = None;
                    hm.operating_status = None;
                }
            }
        }
        if let Some(f) = &mut t.floatingip {
            f.id = None;
            f.port_id = None;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(protocol: Protocol, port: u16) -> Listener {
        Listener {
            id: None,
            name: format!("listener_{protocol}_{port}"),
            protocol,
            protocol_port: port,
            connection_limit: -1,
            timeout_client_data: Some(50000),
            timeout_member_connect: None,
            timeout_member_data: None,
            timeout_tcp_inspect: None,
            allowed_cidrs: None,
            insert_headers: BTreeMap::new(),
            tags: vec![],
            default_pool: Some(Pool {
                id: None,
                name: format!("pool_{protocol}_{port}"),
                protocol,
                lb_algorithm: LbAlgorithm::RoundRobin,
                session_persistence: None,
                tags: vec![],
                members: vec![
                    Member {
                        id: None,
                        name: "b".into(),
                        address: "10.0.0.2".into(),
                        protocol_port: 30000,
                        subnet_id: None,
                        weight: 1,
                        monitor_port: None,
                        provisioning_status: None,
                        operating_status: None,
                    },
                    Member {
                        id: None,
                        name: "a".into(),
                        address: "10.0.0.1".into(),
                        protocol_port: 30000,
                        subnet_id: None,
                        weight: 1,
                        monitor_port: None,
                        provisioning_status: None,
                        operating_status: None,
                    },
                ],
                healthmonitor: None,
                provisioning_status: None,
                operating_status: None,
            }),
            provisioning_status: None,
            operating_status: None,
        }
    }

    #[test]
    fn normalize_sorts_children_by_identity_key() {
        let mut t = Topology {
            loadbalancer: LoadBalancer {
                name: "lb".into(),
                tags: vec!["z".into(), "a".into(), "a".into()],
                listeners: vec![listener(Protocol::Udp, 53), listener(Protocol::Tcp, 443)],
                ..LoadBalancer::default()
            },
            floatingip: None,
            keep_floatingip: false,
        };
        assert!(!t.is_normalized());
        t.normalize();
        assert!(t.is_normalized());
        assert_eq!(t.loadbalancer.tags, vec!["a", "z"]);
        let keys: Vec<_> = t.loadbalancer.listeners.iter().map(Listener::key).collect();
        assert_eq!(keys[0].protocol, Protocol::Tcp);
        let members = &t.loadbalancer.listeners[0]
            .default_pool
            .as_ref()
            .unwrap()
            .members;
        assert_eq!(members[0].address, "10.0.0.1");
        assert_eq!(t.member_count(), 4);
    }

    #[test]
    fn json_uses_octavia_field_names_and_round_trips() {
        let t = Topology {
            loadbalancer: LoadBalancer {
                name: "lb".into(),
                listeners: vec![listener(Protocol::Tcp, 80)],
                ..LoadBalancer::default()
            },
            floatingip: Some(FloatingIp::default()),
            keep_floatingip: false,
        };
        let json = serde_json::to_value(&t).unwrap();
        let l = &json["loadbalancer"]["listeners"][0];
        assert_eq!(l["protocol_port"], 80);
        assert_eq!(l["timeout_client_data"], 50000);
        assert_eq!(l["default_pool"]["lb_algorithm"], "ROUND_ROBIN");
        assert!(json.get("keep_floatingip").is_none());
        let back: Topology = serde_json::from_value(json).unwrap();
        assert_eq!(back, t);
    }
}
