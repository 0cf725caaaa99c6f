//! Call accounting, state snapshots and the leak report.

use std::collections::{BTreeMap, BTreeSet};

use kks_lb_octavia_model::api::neutron::{FloatingIp, Network, Port, Subnet};
use kks_lb_octavia_model::topology;
use kks_lb_octavia_model::{ProvisioningStatus, Topology};

use super::faults::Service;
use super::state::{HmRec, LbRec, ListenerRec, MemberRec, PoolRec, State};

/// The tag prefix of kks-lb's per-Service ownership tag (`kks-lb-service:<service-uid>`,
/// SPEC.md §2).
pub const SERVICE_TAG_PREFIX: &str = "kks-lb-service:";

/// One call as counted: service, method, service-relative path template (e.g.
/// `/v2/lbaas/loadbalancers/{id}`) and the answered status (0 = connection dropped).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Call {
    /// The service.
    pub service: Service,
    /// HTTP method.
    pub method: String,
    /// Path template relative to the service.
    pub path: String,
    /// Status; 0 when the connection was dropped.
    pub status: u16,
}

/// Counters and the ordered log of calls.
#[derive(Debug, Default)]
pub(crate) struct Accounting {
    counts: BTreeMap<Call, u64>,
    log: Vec<Call>,
}

impl Accounting {
    pub(crate) fn record(&mut self, service: Service, method: &str, path: &str, status: u16) {
        let call = Call {
            service,
            method: method.to_owned(),
            path: path.to_owned(),
            status,
        };
        *self.counts.entry(call.clone()).or_default() += 1;
        self.log.push(call);
    }

    pub(crate) fn counts(&self) -> BTreeMap<Call, u64> {
        self.counts.clone()
    }

    pub(crate) fn log(&self) -> Vec<Call> {
        self.log.clone()
    }

    pub(crate) fn count(&self, method: &str, path: &str, status: Option<u16>) -> u64 {
        self.counts
            .iter()
            .filter(|(c, _)| c.method == method && c.path == path)
            .filter(|(c, _)| status.is_none_or(|s| c.status == s))
            .map(|(_, n)| n)
            .sum()
    }

    pub(crate) fn reset(&mut self) {
        self.counts.clear();
        self.log.clear();
    }
}

/// A pool not attached to any listener (not representable in a [`Topology`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedPool {
    /// Its load balancer.
    pub loadbalancer_id: String,
    /// The pool with members and monitor.
    pub pool: topology::Pool,
}

/// A subnet with its address usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetUsage {
    /// The subnet as Neutron shows it.
    pub subnet: Subnet,
    /// Addresses allocated (VIPs, ports, floating IPs).
    pub used: usize,
    /// Size of the allocation pool.
    pub total: usize,
}

/// Everything in the emulated cloud, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Every load balancer as a normalized [`Topology`] (ids and statuses filled, floating IP
    /// = the one bound to the VIP port), in creation order.
    pub loadbalancers: Vec<Topology>,
    /// Pools not used as any listener's default pool.
    pub detached_pools: Vec<DetachedPool>,
    /// Every floating IP.
    pub floating_ips: Vec<FloatingIp>,
    /// Every port.
    pub ports: Vec<Port>,
    /// Every subnet with usage.
    pub subnets: Vec<SubnetUsage>,
    /// Every network.
    pub networks: Vec<Network>,
}

impl Snapshot {
    /// The load balancer named `name`.
    pub fn loadbalancer(&self, name: &str) -> Option<&Topology> {
        self.loadbalancers
            .iter()
            .find(|t| t.loadbalancer.name == name)
    }

    /// The load balancer with id `id`.
    pub fn loadbalancer_by_id(&self, id: &str) -> Option<&Topology> {
        self.loadbalancers
            .iter()
            .find(|t| t.loadbalancer.id.as_deref() == Some(id))
    }

    /// The usage of subnet `id`.
    pub fn subnet(&self, id: &str) -> Option<&SubnetUsage> {
        self.subnets.iter().find(|s| s.subnet.id == id)
    }
}

/// A resource the leak report flags.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeakedResource {
    /// Id.
    pub id: String,
    /// LB name, or the floating IP address.
    pub name: String,
    /// Its tags.
    pub tags: Vec<String>,
}

/// Load balancers and floating IPs that carry a cluster tag but no live Service tag.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct LeakReport {
    /// Leaked load balancers.
    pub loadbalancers: Vec<LeakedResource>,
    /// Leaked floating IPs.
    pub floating_ips: Vec<LeakedResource>,
}

impl LeakReport {
    /// Nothing leaked.
    pub fn is_empty(&self) -> bool {
        self.loadbalancers.is_empty() && self.floating_ips.is_empty()
    }
}

fn leaked(tags: &[String], cluster_tag: &str, live: &BTreeSet<String>) -> bool {
    tags.iter().any(|t| t == cluster_tag)
        && !tags
            .iter()
            .any(|t| t.starts_with(SERVICE_TAG_PREFIX) && live.contains(t))
}

impl State {
    fn topo_member(m: &MemberRec) -> topology::Member {
        topology::Member {
            id: Some(m.id.clone()),
            name: m.name.clone(),
            address: m.address.clone(),
            protocol_port: m.protocol_port,
            subnet_id: m.subnet_id.clone(),
            weight: m.weight,
            monitor_port: m.monitor_port,
            provisioning_status: Some(m.prov),
            operating_status: Some(m.oper),
        }
    }

    fn topo_hm(h: &HmRec) -> topology::HealthMonitor {
        topology::HealthMonitor {
            id: Some(h.id.clone()),
            name: h.name.clone(),
            kind: h.kind,
            delay: h.delay,
            timeout: h.timeout,
            max_retries: h.max_retries,
            max_retries_down: h.max_retries_down,
            http_method: h.http_method.clone(),
            url_path: h.url_path.clone(),
            expected_codes: h.expected_codes.clone(),
            tags: h.tags.clone(),
            provisioning_status: Some(h.prov),
            operating_status: Some(h.oper),
        }
    }

    fn topo_pool(&self, p: &PoolRec) -> topology::Pool {
        topology::Pool {
            id: Some(p.id.clone()),
            name: p.name.clone(),
            protocol: p.protocol,
            lb_algorithm: p.lb_algorithm,
            session_persistence: p.session_persistence.as_ref().map(|sp| {
                topology::SessionPersistence {
                    kind: sp.kind,
                    cookie_name: sp.cookie_name.clone(),
                }
            }),
            tags: p.tags.clone(),
            members: p
                .members
                .iter()
                .filter_map(|id| self.members.get(id))
                .map(Self::topo_member)
                .collect(),
            healthmonitor: p
                .hm_id
                .as_ref()
                .and_then(|id| self.hms.get(id))
                .map(Self::topo_hm),
            provisioning_status: Some(p.prov),
            operating_status: Some(p.oper),
        }
    }

    fn topo_listener(&self, l: &ListenerRec) -> topology::Listener {
        topology::Listener {
            id: Some(l.id.clone()),
            name: l.name.clone(),
            protocol: l.protocol,
            protocol_port: l.protocol_port,
            connection_limit: l.connection_limit,
            timeout_client_data: Some(l.timeout_client_data),
            timeout_member_connect: Some(l.timeout_member_connect),
            timeout_member_data: Some(l.timeout_member_data),
            timeout_tcp_inspect: Some(l.timeout_tcp_inspect),
            allowed_cidrs: l.allowed_cidrs.clone(),
            insert_headers: l.insert_headers.clone(),
            tags: l.tags.clone(),
            default_pool: l
                .default_pool_id
                .as_ref()
                .and_then(|id| self.pools.get(id))
                .map(|p| self.topo_pool(p)),
            provisioning_status: Some(l.prov),
            operating_status: Some(l.oper),
        }
    }

    /// One load balancer as a normalized topology.
    pub(crate) fn topology(&self, lb: &LbRec) -> Topology {
        let floatingip = self
            .fips
            .values()
            .filter(|f| f.port_id.as_deref() == Some(lb.vip_port_id.as_str()))
            .min_by_key(|f| f.seq)
            .map(|f| topology::FloatingIp {
                id: Some(f.id.clone()),
                floating_ip_address: Some(f.address.to_string()),
                floating_network_id: Some(f.network_id.clone()),
                port_id: f.port_id.clone(),
                description: f.description.clone(),
                tags: f.tags.clone(),
            });
        let mut t = Topology {
            loadbalancer: topology::LoadBalancer {
                id: Some(lb.id.clone()),
                name: lb.name.clone(),
                description: lb.description.clone(),
                vip_subnet_id: Some(lb.vip_subnet_id.clone()),
                vip_network_id: Some(lb.vip_network_id.clone()),
                vip_address: Some(lb.vip_address.clone()),
                vip_port_id: Some(lb.vip_port_id.clone()),
                provider: Some(lb.provider.clone()),
                flavor_id: lb.flavor_id.clone(),
                availability_zone: lb.availability_zone.clone(),
                tags: lb.tags.clone(),
                listeners: lb
                    .listeners
                    .iter()
                    .filter_map(|id| self.listeners.get(id))
                    .map(|l| self.topo_listener(l))
                    .collect(),
                detached_pools: self
                    .pools
                    .values()
                    .filter(|p| p.lb_id == lb.id)
                    .filter(|p| {
                        !self
                            .listeners
                            .values()
                            .any(|l| l.default_pool_id.as_ref() == Some(&p.id))
                    })
                    .map(|p| self.topo_pool(p))
                    .collect(),
                provisioning_status: Some(lb.prov),
                operating_status: Some(lb.oper),
            },
            floatingip,
            keep_floatingip: false,
        };
        t.normalize();
        t
    }

    /// The whole cloud.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut lbs: Vec<&LbRec> = self.lbs.values().collect();
        lbs.sort_by_key(|lb| lb.seq);
        let mut pools: Vec<&PoolRec> = self.pools.values().collect();
        pools.sort_by_key(|p| p.seq);
        let detached_pools = pools
            .into_iter()
            .filter(|p| {
                !self
                    .listeners
                    .values()
                    .any(|l| l.default_pool_id.as_deref() == Some(p.id.as_str()))
            })
            .map(|p| DetachedPool {
                loadbalancer_id: p.lb_id.clone(),
                pool: self.topo_pool(p),
            })
            .collect();
        let mut fips: Vec<_> = self.fips.values().collect();
        fips.sort_by_key(|f| f.seq);
        let mut ports: Vec<_> = self.ports.values().collect();
        ports.sort_by_key(|p| p.seq);
        let mut subnets: Vec<_> = self.subnets.values().collect();
        subnets.sort_by_key(|s| s.seq);
        let mut networks: Vec<_> = self.networks.values().collect();
        networks.sort_by_key(|n| n.seq);
        Snapshot {
            loadbalancers: lbs.into_iter().map(|lb| self.topology(lb)).collect(),
            detached_pools,
            floating_ips: fips.into_iter().map(|f| self.render_fip(f)).collect(),
            ports: ports.into_iter().map(|p| self.render_port(p)).collect(),
            subnets: subnets
                .into_iter()
                .map(|s| SubnetUsage {
                    subnet: self.render_subnet(s),
                    used: s.pool.used(),
                    total: s.pool.total(),
                })
                .collect(),
            networks: networks
                .into_iter()
                .map(|n| self.render_network(n))
                .collect(),
        }
    }

    /// Load balancers (not being deleted) and floating IPs tagged `cluster_tag` whose
    /// `kks-lb-service:` tag is not among `live` (or that have none).
    pub(crate) fn leak_report(&self, cluster_tag: &str, live: &BTreeSet<String>) -> LeakReport {
        let mut lbs: Vec<&LbRec> = self
            .lbs
            .values()
            .filter(|lb| lb.prov != ProvisioningStatus::PendingDelete)
            .filter(|lb| leaked(&lb.tags, cluster_tag, live))
            .collect();
        lbs.sort_by_key(|lb| lb.seq);
        let mut fips: Vec<_> = self
            .fips
            .values()
            .filter(|f| leaked(&f.tags, cluster_tag, live))
            .collect();
        fips.sort_by_key(|f| f.seq);
        LeakReport {
            loadbalancers: lbs
                .into_iter()
                .map(|lb| LeakedResource {
                    id: lb.id.clone(),
                    name: lb.name.clone(),
                    tags: lb.tags.clone(),
                })
                .collect(),
            floating_ips: fips
                .into_iter()
                .map(|f| LeakedResource {
                    id: f.id.clone(),
                    name: f.address.to_string(),
                    tags: f.tags.clone(),
                })
                .collect(),
        }
    }
}
