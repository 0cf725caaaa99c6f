//! `kks-lb capacity`: the platform guide's IP planning question for the real cluster subnet.
//! Every load balancer, internal or external, takes one address of the cluster subnet, next to
//! the nodes; external ones also take a floating IP.
//!
//! It reads the subnet and its usage (Neutron's network IP availability where the
//! credentials allow it, else the ports this project can see on the subnet), the ports on the
//! subnet, this cluster's load balancers and floating IPs (by the cluster tag) and, with a
//! cluster, its nodes' addresses; then splits the used addresses into nodes, this cluster's
//! internal and external load balancers, and other, and says how many more load balancers fit.
//!
//! Exit codes: 0 at least `--warn-free` addresses are free, 1 fewer, 2 something could not be
//! read.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use k8s_openapi::api::core::v1::Node;
use kks_lb_adapter::OpenStackClient;
use kks_lb_adapter::capacity::{SubnetRef, SubnetUsage, read_subnet, subnet_ports, subnet_usage};
use kks_lb_adapter::inventory::{self, CloudObject, Kind, Scope};
use kks_lb_octavia_model::api::neutron::{AllocationPool, Port};
use kks_lb_planner::cluster_tag;
use kks_lb_planner::owner::Marks;
use kube::api::{Api, ListParams};
use serde::Serialize;

use super::{Output, exit};

/// `kks-lb capacity` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// OCCM `cloud.conf`: `[Global]` credentials and `[LoadBalancer]` `subnet-id` /
    /// `network-id`; without it `OS_CLOUD` (clouds.yaml) or the `OS_*` variables are used.
    #[arg(long, env = "KKS_LB_CLOUD_CONFIG", value_name = "PATH")]
    pub cloud_config: Option<PathBuf>,
    /// Kubeconfig of the cluster: its nodes' addresses and the default cluster id. Without it
    /// (and with `--cluster-id`) the nodes are the subnet's `compute:*` ports.
    #[arg(long, env = "KKS_LB_KUBECONFIG", value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Cluster id, as given to the controller [default: the UID of the kube-system namespace,
    /// read with the kubeconfig].
    #[arg(long, env = "KKS_LB_CLUSTER_ID")]
    pub cluster_id: Option<String>,
    /// The cluster subnet [default: `subnet-id` of cloud.conf].
    #[arg(long, value_name = "ID")]
    pub subnet_id: Option<String>,
    /// The cluster network, when no subnet is given [default: `network-id` of cloud.conf].
    #[arg(long, value_name = "ID")]
    pub network_id: Option<String>,
    /// Exit 1 when fewer addresses than this are free.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub warn_free: u64,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Output,
}

/// The subnet (the JSON interface).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubnetInfo {
    /// Subnet id.
    pub id: String,
    /// Subnet name.
    pub name: String,
    /// Its network.
    pub network_id: String,
    /// CIDR.
    pub cidr: String,
}

/// Who uses the subnet's addresses (the JSON interface).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct UsedBy {
    /// The cluster's nodes.
    pub nodes: u64,
    /// This cluster's internal load balancers (their VIPs).
    pub load_balancers_internal: u64,
    /// This cluster's external load balancers (their VIPs; the floating IP is elsewhere).
    pub load_balancers_external: u64,
    /// Everything else: DHCP and router ports, other clusters, amphorae, other projects.
    pub other: u64,
}

/// The whole report (the JSON interface).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The cluster subnet.
    pub subnet: SubnetInfo,
    /// `network-ip-availability` or `ports` (the availability API was refused: other
    /// projects' ports are not counted).
    pub source: &'static str,
    /// Addresses of the allocation pools.
    pub total: u64,
    /// Addresses in use.
    pub used: u64,
    /// By whom.
    pub used_by: UsedBy,
    /// Addresses free.
    pub free: u64,
    /// How many more load balancers fit (one address each).
    pub load_balancers_that_fit: u64,
    /// Floating IPs of this cluster (one per external load balancer, plus kept ones).
    pub floating_ips: u64,
    /// The cluster id whose objects were counted.
    pub cluster_id: String,
    /// `--warn-free`.
    pub warn_free: u64,
    /// Whether at least `warn_free` addresses are free (exit code 0).
    pub ok: bool,
}

/// What the report is computed from.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The subnet's usage.
    pub usage: &'a SubnetUsage,
    /// Its allocation pools.
    pub pools: &'a [AllocationPool],
    /// The ports on the subnet the caller can see.
    pub ports: &'a [Port],
    /// This cluster's load balancers and floating IPs.
    pub objects: &'a [CloudObject],
    /// The nodes' addresses, when the cluster was read.
    pub node_addresses: Option<&'a [Ipv4Addr]>,
    /// The cluster id.
    pub cluster_id: &'a str,
    /// `--warn-free`.
    pub warn_free: u64,
}

fn in_pools(a: Ipv4Addr, pools: &[AllocationPool]) -> bool {
    pools.iter().any(|p| {
        matches!((p.start.parse::<Ipv4Addr>(), p.end.parse::<Ipv4Addr>()),
            (Ok(s), Ok(e)) if s <= a && a <= e)
    })
}

/// The report: a pure function of what was read.
pub fn report(i: &Inputs<'_>) -> Report {
    let mine = |o: &&CloudObject| {
        Marks::effective(&o.tags, &o.description)
            .clusters
            .iter()
            .any(|c| c == i.cluster_id)
    };
    let lb_ports: BTreeSet<&str> = i
        .objects
        .iter()
        .filter(|o| o.kind == Kind::LoadBalancer)
        .filter(mine)
        .filter_map(|o| o.port_id.as_deref())
        .collect();
    let fips: Vec<&CloudObject> = i
        .objects
        .iter()
        .filter(|o| o.kind == Kind::FloatingIp)
        .filter(mine)
        .collect();
    let with_fip: BTreeSet<&str> = fips.iter().filter_map(|f| f.port_id.as_deref()).collect();
    let cidr: Option<Ipv4Net> = i.usage.cidr.parse().ok();
    let nodes_in_subnet: Option<BTreeSet<Ipv4Addr>> = i.node_addresses.map(|a| {
        a.iter()
            .copied()
            .filter(|a| cidr.is_some_and(|c| c.contains(a)))
            .collect()
    });
    let mut by = UsedBy::default();
    let mut seen = BTreeSet::new();
    for p in i.ports {
        for f in p
            .fixed_ips
            .iter()
            .filter(|f| f.subnet_id == i.usage.subnet_id)
        {
            let Ok(a) = f.ip_address.parse::<Ipv4Addr>() else {
                continue;
            };
            if !in_pools(a, i.pools) || !seen.insert(a) {
                continue;
            }
            if lb_ports.contains(p.id.as_str()) {
                if with_fip.contains(p.id.as_str()) {
                    by.load_balancers_external += 1;
                } else {
                    by.load_balancers_internal += 1;
                }
            } else if nodes_in_subnet.is_none() && p.device_owner.starts_with("compute:") {
                by.nodes += 1;
            }
        }
    }
    if let Some(nodes) = &nodes_in_subnet {
        by.nodes = nodes.iter().filter(|a| in_pools(**a, i.pools)).count() as u64;
    }
    let named = by.nodes + by.load_balancers_internal + by.load_balancers_external;
    by.other = i.usage.used.saturating_sub(named);
    let used = i.usage.used.max(named);
    let free = i.usage.total.saturating_sub(used);
    Report {
        subnet: SubnetInfo {
            id: i.usage.subnet_id.clone(),
            name: i.usage.subnet_name.clone(),
            network_id: i.usage.network_id.clone(),
            cidr: i.usage.cidr.clone(),
        },
        source: i.usage.source.as_str(),
        total: i.usage.total,
        used,
        used_by: by,
        free,
        load_balancers_that_fit: free,
        floating_ips: fips.len() as u64,
        cluster_id: i.cluster_id.to_owned(),
        warn_free: i.warn_free,
        ok: free >= i.warn_free,
    }
}

/// The text report.
pub fn render(r: &Report) -> String {
    let name = if r.subnet.name.is_empty() {
        r.subnet.id.clone()
    } else {
        format!("{} ({})", r.subnet.name, r.subnet.id)
    };
    let b = &r.used_by;
    let mut out = format!(
        "cluster subnet {name} {}\n\
         \x20 addresses (allocation pools)   {}\n\
         \x20 used by nodes                  {}\n\
         \x20 used by load balancers         {} (internal {}, external {})\n\
         \x20 used by others                 {}\n\
         \x20 free                           {}\n\
         \x20 load balancers that still fit  {} (one address each)\n\
         floating IPs of this cluster     {}\n\
         (used addresses counted from {}; cluster {})\n",
        r.subnet.cidr,
        r.total,
        b.nodes,
        b.load_balancers_internal + b.load_balancers_external,
        b.load_balancers_internal,
        b.load_balancers_external,
        b.other,
        r.free,
        r.load_balancers_that_fit,
        r.floating_ips,
        r.source,
        r.cluster_id,
    );
    if !r.ok {
        out.push_str(&format!(
            "warning: {} free address(es), fewer than --warn-free {}: plan a larger cluster subnet \
             or remove unused load balancers\n",
            r.free, r.warn_free
        ));
    }
    out
}

/// Runs `kks-lb capacity`; returns the exit code.
pub fn run(args: &Args, out: &mut dyn Write) -> u8 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kks-lb capacity: cannot start the runtime: {e}");
            return exit::INPUT;
        }
    };
    match rt.block_on(capacity(args, out)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kks-lb capacity: {e}");
            exit::INPUT
        }
    }
}

/// Reads the cloud (and the cluster, when given or needed for the cluster id) and reports.
///
/// # Errors
/// What could not be read (configuration, credentials, the cloud, the cluster).
pub async fn capacity(args: &Args, out: &mut dyn Write) -> Result<u8, String> {
    let conn = super::connect::open(args.cloud_config.as_ref(), args.kubeconfig.as_ref())?;
    let kube = if args.kubeconfig.is_some() || args.cluster_id.is_none() {
        Some(
            kks_lb_controller::run::kube_client(&conn.ctl)
                .await
                .map_err(|e| {
                    format!("{e} (give --kubeconfig, or --cluster-id to count without the cluster)")
                })?,
        )
    } else {
        None
    };
    let cluster_id = match (&args.cluster_id, &kube) {
        (Some(id), _) => id.clone(),
        (None, Some(k)) => kks_lb_controller::run::kube_system_uid(k)
            .await
            .map_err(|e| e.to_string())?,
        (None, None) => return Err("--cluster-id is needed without a cluster".to_owned()),
    };
    let lb = conn.cloud.cluster_config("", &cluster_id);
    let subnet = match (
        &args.subnet_id,
        &args.network_id,
        &lb.subnet_id,
        &lb.network_id,
    ) {
        (Some(s), _, _, _) => SubnetRef::Subnet(s.clone()),
        (None, Some(n), _, _) => SubnetRef::Network(n.clone()),
        (None, None, Some(s), _) => SubnetRef::Subnet(s.clone()),
        (None, None, None, Some(n)) => SubnetRef::Network(n.clone()),
        (None, None, None, None) => {
            return Err(
                "no cluster subnet: give --subnet-id (or --network-id), or subnet-id in cloud.conf [LoadBalancer]"
                    .to_owned(),
            );
        }
    };
    let cloud = OpenStackClient::connect(&conn.session)
        .await
        .map_err(|e| format!("cannot reach OpenStack: {e}"))?;
    let usage = subnet_usage(&cloud, &subnet)
        .await
        .map_err(|e| format!("cannot read the cluster subnet: {e}"))?;
    let sub = read_subnet(&cloud, &SubnetRef::Subnet(usage.subnet_id.clone()))
        .await
        .map_err(|e| format!("cannot read the cluster subnet: {e}"))?;
    let ports = subnet_ports(&cloud, &usage.subnet_id)
        .await
        .map_err(|e| format!("cannot list the subnet's ports: {e}"))?;
    let caps = kks_lb_adapter::discover(&cloud, &lb.provider)
        .await
        .map_err(|e| format!("cannot discover OpenStack capabilities: {e}"))?;
    let objects = inventory::inventory(
        &cloud,
        &cluster_tag(&cluster_id),
        caps.tags(),
        Scope::Tagged,
    )
    .await
    .map_err(|e| format!("cannot list the cluster's load balancers: {e}"))?;
    let node_addresses = match &kube {
        Some(k) => Some(
            Api::<Node>::all(k.clone())
                .list(&ListParams::default())
                .await
                .map_err(|e| format!("cannot list nodes: {e}"))?
                .items
                .iter()
                .flat_map(|n| n.status.iter().flat_map(|s| s.addresses.iter().flatten()))
                .filter_map(|a| a.address.parse::<Ipv4Addr>().ok())
                .collect::<Vec<_>>(),
        ),
        None => None,
    };
    let r = report(&Inputs {
        usage: &usage,
        pools: &sub.allocation_pools,
        ports: &ports,
        objects: &objects,
        node_addresses: node_addresses.as_deref(),
        cluster_id: &cluster_id,
        warn_free: args.warn_free,
    });
    let written = match args.output {
        Output::Json => serde_json::to_string_pretty(&r)
            .map_err(|e| e.to_string())
            .and_then(|s| writeln!(out, "{s}").map_err(|e| e.to_string())),
        Output::Text => write!(out, "{}", render(&r)).map_err(|e| e.to_string()),
    };
    written?;
    Ok(if r.ok { exit::OK } else { exit::INVALID })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kks_lb_adapter::UsageSource;
    use kks_lb_octavia_model::api::neutron::FixedIp;

    fn port(id: &str, ip: &str, owner: &str) -> Port {
        Port {
            id: id.into(),
            name: String::new(),
            network_id: "n".into(),
            tenant_id: None,
            project_id: "p".into(),
            mac_address: "fa:16:3e:00:00:01".into(),
            admin_state_up: true,
            status: "DOWN".into(),
            device_id: String::new(),
            device_owner: owner.into(),
            fixed_ips: vec![FixedIp {
                subnet_id: "s".into(),
                ip_address: ip.into(),
            }],
            description: String::new(),
            security_groups: Vec::new(),
            tags: Vec::new(),
            created_at: None,
            updated_at: None,
            revision_number: None,
        }
    }

    fn object(kind: Kind, cluster: &str, port: &str) -> CloudObject {
        CloudObject {
            kind,
            id: format!("{port}-obj"),
            name: String::new(),
            tags: vec![format!("kks-lb-cluster:{cluster}")],
            description: String::new(),
            status: "ACTIVE".into(),
            port_id: Some(port.into()),
        }
    }

    fn usage(used: u64) -> SubnetUsage {
        SubnetUsage {
            subnet_id: "s".into(),
            subnet_name: "cluster".into(),
            network_id: "n".into(),
            cidr: "10.0.1.0/24".into(),
            total: 253,
            used,
            source: UsageSource::NetworkIpAvailability,
        }
    }

    /// The guide's example: 10 nodes + 5 external + 3 internal = 18, plus a DHCP port and a
    /// load balancer of another cluster.
    #[test]
    fn the_guides_example_splits_into_nodes_internal_external_and_other() {
        let mut ports: Vec<Port> = (0..10)
            .map(|i| {
                port(
                    &format!("node{i}"),
                    &format!("10.0.1.{}", 10 + i),
                    "compute:nova",
                )
            })
            .collect();
        let mut objects = Vec::new();
        for i in 0..8 {
            let id = format!("vip{i}");
            ports.push(port(&id, &format!("10.0.1.{}", 100 + i), "Octavia"));
            objects.push(object(Kind::LoadBalancer, "c1", &id));
            if i < 5 {
                objects.push(object(Kind::FloatingIp, "c1", &id));
            }
        }
        ports.push(port("dhcp", "10.0.1.2", "network:dhcp"));
        ports.push(port("theirs", "10.0.1.200", "Octavia"));
        objects.push(object(Kind::LoadBalancer, "c2", "theirs"));
        let pools = [AllocationPool {
            start: "10.0.1.2".into(),
            end: "10.0.1.254".into(),
        }];
        let u = usage(20);
        let nodes: Vec<Ipv4Addr> = (0..10).map(|i| Ipv4Addr::new(10, 0, 1, 10 + i)).collect();
        let mut inputs = Inputs {
            usage: &u,
            pools: &pools,
            ports: &ports,
            objects: &objects,
            node_addresses: Some(&nodes),
            cluster_id: "c1",
            warn_free: 10,
        };
        let r = report(&inputs);
        assert_eq!(
            r.used_by,
            UsedBy {
                nodes: 10,
                load_balancers_internal: 3,
                load_balancers_external: 5,
                other: 2,
            }
        );
        assert_eq!((r.used, r.free, r.load_balancers_that_fit), (20, 233, 233));
        assert_eq!(r.floating_ips, 5);
        assert!(r.ok);
        // Without the cluster, the nodes are the compute ports.
        inputs.node_addresses = None;
        assert_eq!(report(&inputs).used_by.nodes, 10);
        let text = render(&r);
        assert!(
            text.contains("used by load balancers         8 (internal 3, external 5)"),
            "{text}"
        );
        assert!(!text.contains("warning"), "{text}");
        inputs.warn_free = 300;
        let low = report(&inputs);
        assert!(!low.ok);
        assert!(render(&low).contains("fewer than --warn-free 300"));
    }
}
