//! [`subnet_usage`]: how many addresses of the cluster subnet are taken and how many exist,
//! and [`subnet_ports`]: the ports holding them.
//!
//! Every load balancer takes one address of the cluster subnet for its VIP (Octavia's
//! amphorae may take more). The numbers come from Neutron's network IP availability API
//! (`GET /v2.0/network-ip-availabilities/{network_id}`), which the default policy allows to
//! admins and the service role only; for anyone else Neutron answers 404 (the policy hook
//! hides the resource) and the addresses are counted from the ports the caller can see on
//! the subnet, which misses the ports of other projects on a shared subnet.
//!
//! Nothing here runs per Service at steady state: the controller reads it when a create failed
//! on a full subnet, and for its gauge once per resync interval through a [`UsageWatch`] (one
//! call per read); `kks-lb capacity` reads it on demand.

use std::net::Ipv4Addr;
use std::time::Duration;

use kks_lb_octavia_model::api::neutron::{
    AllocationPool, NetworkIpAvailability, NetworkIpAvailabilityRoot, Port, PortList, Subnet,
    SubnetList, SubnetRoot,
};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::client::OpenStackClient;
use crate::error::{Error, Result, Service};

/// Which subnet: the configured `subnet-id`, or the first IPv4 subnet of `network-id` (the
/// one Octavia picks for a VIP given only a network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubnetRef {
    /// A subnet id.
    Subnet(String),
    /// A network id.
    Network(String),
}

/// Where the numbers of a [`SubnetUsage`] come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsageSource {
    /// Neutron's network IP availability API (every project's ports counted).
    NetworkIpAvailability,
    /// The ports this project can see on the subnet (the availability API was refused).
    Ports,
}

impl UsageSource {
    /// `network-ip-availability` or `ports`.
    pub const fn as_str(self) -> &'static str {
        match self {
            UsageSource::NetworkIpAvailability => "network-ip-availability",
            UsageSource::Ports => "ports",
        }
    }
}

/// The address usage of one subnet's allocation pools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubnetUsage {
    /// Subnet id.
    pub subnet_id: String,
    /// Subnet name.
    pub subnet_name: String,
    /// Its network.
    pub network_id: String,
    /// CIDR.
    pub cidr: String,
    /// Addresses of the allocation pools.
    pub total: u64,
    /// Addresses allocated in the allocation pools.
    pub used: u64,
    /// Where `used` comes from.
    pub source: UsageSource,
}

impl SubnetUsage {
    /// Addresses still free in the allocation pools.
    pub fn free(&self) -> u64 {
        self.total.saturating_sub(self.used)
    }
}

/// Reads the subnet and its usage: two calls when the availability API answers (the subnet,
/// the network's availability), three when it is refused (plus the subnet's ports).
///
/// # Errors
/// The subnet (or a subnet of the network) cannot be read, or the fallback list fails.
pub async fn subnet_usage(client: &OpenStackClient, subnet: &SubnetRef) -> Result<SubnetUsage> {
    UsageWatch::new(subnet.clone()).read(client).await
}

/// Reads one subnet's usage again and again, one call per read once it knows the subnet: the
/// subnet itself is read at the first read and again after [`UsageWatch::SUBNET_MAX_AGE`] (its
/// allocation pools rarely change), and once the availability API was refused, later reads
/// count the subnet's ports without asking it again.
#[derive(Debug, Clone)]
pub struct UsageWatch {
    subnet: SubnetRef,
    known: Option<(Subnet, Instant)>,
    refused: bool,
}

impl UsageWatch {
    /// How long the subnet's own record (name, CIDR, allocation pools) is reused.
    pub const SUBNET_MAX_AGE: Duration = Duration::from_secs(3600);

    /// A watch on `subnet` that has read nothing yet.
    pub fn new(subnet: SubnetRef) -> Self {
        UsageWatch {
            subnet,
            known: None,
            refused: false,
        }
    }

    /// The subnet's usage now: the network's IP availability, or the ports this project can
    /// see on the subnet when the availability API is refused (401, 403 or 404), plus the
    /// subnet when it is not known or too old.
    ///
    /// # Errors
    /// A call failed; the next read tries again from the subnet.
    pub async fn read(&mut self, client: &OpenStackClient) -> Result<SubnetUsage> {
        let result = self.read_once(client).await;
        if result.is_err() {
            self.known = None;
        }
        result
    }

    async fn read_once(&mut self, client: &OpenStackClient) -> Result<SubnetUsage> {
        let subnet = match &self.known {
            Some((s, at)) if at.elapsed() < Self::SUBNET_MAX_AGE => s.clone(),
            _ => {
                let s = read_subnet(client, &self.subnet).await?;
                self.known = Some((s.clone(), Instant::now()));
                s
            }
        };
        if !self.refused {
            match availability(client, &subnet).await {
                Ok(Some(usage)) => return Ok(usage),
                Ok(None) => {}
                Err(e) if matches!(e.status(), Some(401 | 403 | 404)) => {
                    tracing::debug!(
                        error = &e as &dyn std::error::Error,
                        "network IP availability refused; counting the subnet's ports"
                    );
                    self.refused = true;
                }
                Err(e) => return Err(e),
            }
        }
        let ports = subnet_ports(client, &subnet.id).await?;
        let used = pool_addresses_in_use(&ports, &subnet.id, &subnet.allocation_pools);
        Ok(SubnetUsage {
            total: pool_sizes(&subnet.allocation_pools),
            used,
            source: UsageSource::Ports,
            subnet_id: subnet.id,
            subnet_name: subnet.name,
            network_id: subnet.network_id,
            cidr: subnet.cidr,
        })
    }
}

/// The subnet's usage from its network's IP availability; `None` when the answer does not
/// list the subnet.
async fn availability(client: &OpenStackClient, subnet: &Subnet) -> Result<Option<SubnetUsage>> {
    let a = get::<NetworkIpAvailabilityRoot<NetworkIpAvailability>>(
        client,
        &["network-ip-availabilities", subnet.network_id.as_str()],
        &[],
        "network IP availability",
    )
    .await?;
    let Some(s) = a
        .network_ip_availability
        .subnet_ip_availability
        .iter()
        .find(|s| s.subnet_id == subnet.id)
    else {
        return Ok(None);
    };
    // `used_ips` counts the whole subnet (a router's gateway port too); the pool counts, where
    // Neutron reports them, match `total_ips`.
    let (used, total) = match &s.ip_availability_details {
        Some(d) => (
            d.used_ips_in_allocation_pool,
            d.total_ips_in_allocation_pool,
        ),
        None => (s.used_ips.min(s.total_ips), s.total_ips),
    };
    Ok(Some(SubnetUsage {
        subnet_id: subnet.id.clone(),
        subnet_name: subnet.name.clone(),
        network_id: subnet.network_id.clone(),
        cidr: subnet.cidr.clone(),
        total,
        used,
        source: UsageSource::NetworkIpAvailability,
    }))
}

/// The subnet itself: `GET /v2.0/subnets/{id}`, or for a network the first IPv4 subnet of
/// `GET /v2.0/subnets?network_id=`.
///
/// # Errors
/// The call fails, or the network has no subnet.
pub async fn read_subnet(client: &OpenStackClient, subnet: &SubnetRef) -> Result<Subnet> {
    match subnet {
        SubnetRef::Subnet(id) => {
            Ok(
                get::<SubnetRoot<Subnet>>(client, &["subnets", id.as_str()], &[], "subnet")
                    .await?
                    .subnet,
            )
        }
        SubnetRef::Network(id) => {
            let list: SubnetList = get(
                client,
                &["subnets"],
                &[("network_id", id.clone())],
                "subnets",
            )
            .await?;
            let first = list.subnets.first().cloned();
            list.subnets
                .into_iter()
                .find(|s| s.ip_version == 4)
                .or(first)
                .ok_or_else(|| Error::Decode {
                    what: format!("subnets of network {id}"),
                    message: "the network has no subnet".to_owned(),
                })
        }
    }
}

/// The ports with an address on the subnet this project can see:
/// `GET /v2.0/ports?fixed_ips=subnet_id=<id>`.
///
/// # Errors
/// The call fails.
pub async fn subnet_ports(client: &OpenStackClient, subnet_id: &str) -> Result<Vec<Port>> {
    let list: PortList = get(
        client,
        &["ports"],
        &[("fixed_ips", format!("subnet_id={subnet_id}"))],
        "ports",
    )
    .await?;
    Ok(list.ports)
}

async fn get<T: DeserializeOwned>(
    client: &OpenStackClient,
    path: &[&str],
    query: &[(&str, String)],
    what: &str,
) -> Result<T> {
    let reply = client
        .call(Service::Neutron, Method::GET, path, query, None)
        .await?;
    serde_json::from_value(reply.body).map_err(|e| Error::Decode {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

fn pool_range(p: &AllocationPool) -> Option<(u32, u32)> {
    let start: Ipv4Addr = p.start.parse().ok()?;
    let end: Ipv4Addr = p.end.parse().ok()?;
    let (s, e) = (u32::from(start), u32::from(end));
    (s <= e).then_some((s, e))
}

/// The number of IPv4 addresses in the allocation pools (IPv6 pools count 0).
pub fn pool_sizes(pools: &[AllocationPool]) -> u64 {
    pools
        .iter()
        .filter_map(pool_range)
        .map(|(s, e)| u64::from(e - s) + 1)
        .sum()
}

/// The distinct addresses of `ports` on `subnet_id` that lie in the allocation pools.
pub fn pool_addresses_in_use(ports: &[Port], subnet_id: &str, pools: &[AllocationPool]) -> u64 {
    let ranges: Vec<(u32, u32)> = pools.iter().filter_map(pool_range).collect();
    let mut seen: Vec<u32> = ports
        .iter()
        .flat_map(|p| p.fixed_ips.iter())
        .filter(|f| f.subnet_id == subnet_id)
        .filter_map(|f| f.ip_address.parse::<Ipv4Addr>().ok())
        .map(u32::from)
        .filter(|a| ranges.iter().any(|(s, e)| a >= s && a <= e))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use kks_lb_octavia_model::api::neutron::FixedIp;

    fn pool(start: &str, end: &str) -> AllocationPool {
        AllocationPool {
            start: start.into(),
            end: end.into(),
        }
    }

    fn port(ips: &[(&str, &str)]) -> Port {
        Port {
            id: "p".into(),
            name: String::new(),
            network_id: "n".into(),
            tenant_id: None,
            project_id: "x".into(),
            mac_address: "fa:16:3e:00:00:01".into(),
            admin_state_up: true,
            status: "DOWN".into(),
            device_id: String::new(),
            device_owner: String::new(),
            fixed_ips: ips
                .iter()
                .map(|(s, a)| FixedIp {
                    subnet_id: (*s).into(),
                    ip_address: (*a).into(),
                })
                .collect(),
            description: String::new(),
            security_groups: Vec::new(),
            tags: Vec::new(),
            created_at: None,
            updated_at: None,
            revision_number: None,
        }
    }

    #[test]
    fn pools_of_a_slash_29_and_a_split_pool_count_their_addresses() {
        assert_eq!(pool_sizes(&[pool("10.99.0.2", "10.99.0.6")]), 5);
        assert_eq!(
            pool_sizes(&[pool("10.0.0.2", "10.0.0.9"), pool("10.0.0.20", "10.0.0.20")]),
            9
        );
        assert_eq!(pool_sizes(&[pool("fd00::2", "fd00::ff")]), 0);
        assert_eq!(pool_sizes(&[pool("10.0.0.9", "10.0.0.2")]), 0);
    }

    #[test]
    fn ports_count_their_pool_addresses_on_the_subnet_once() {
        let pools = [pool("10.99.0.2", "10.99.0.6")];
        let ports = [
            port(&[("s", "10.99.0.2")]),
            port(&[("s", "10.99.0.1")]), // the gateway: outside the pool
            port(&[("s", "10.99.0.3"), ("other", "10.1.0.3")]),
            port(&[("s", "10.99.0.3")]), // the same address twice (allowed address pairs)
        ];
        assert_eq!(pool_addresses_in_use(&ports, "s", &pools), 2);
    }
}
