//! [`desired`]: the Octavia topology a Service should have.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use kks_lb_annotations::{IpFamily, LbMethod, LbSpec, PortProtocol, PortSpec, ProxyProtocol};
use kks_lb_octavia_model::{
    FloatingIp, HealthMonitor, LbAlgorithm, Listener, LoadBalancer, Member, MonitorType, Pool,
    Protocol, SessionPersistence, SessionPersistenceType, Topology,
};

use crate::config::{ClusterConfig, cluster_tag, service_tag};

/// Octavia's limit on names and descriptions.
const MAX_NAME: usize = 255;

/// Node label that excludes a node from load balancers (upstream service controller).
pub const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";
/// Taint the cluster autoscaler puts on nodes it is about to remove.
pub const TO_BE_DELETED_TAINT: &str = "ToBeDeletedByClusterAutoscaler";

/// The load balancer name of a Service: `kube_service_<cluster>_<namespace>_<name>`, OCCM's
/// scheme, cut to 255 characters.
pub fn lb_name(cluster_name: &str, namespace: &str, name: &str) -> String {
    cut(format!("kube_service_{cluster_name}_{namespace}_{name}"))
}

pub(crate) fn cut(mut s: String) -> String {
    if s.len() > MAX_NAME {
        let mut end = MAX_NAME;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// A node that may receive traffic, with the address members use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibleNode {
    /// Node name (the member name).
    pub name: String,
    /// The node's address of the Service's IP family.
    pub address: String,
}

/// The nodes that receive traffic for a Service, sorted by name: not being deleted, not
/// excluded by label or autoscaler taint, matching the node selector, with an address of the
/// Service's primary IP family (InternalIP first, then ExternalIP). Readiness is left to the
/// health monitor (KEP-3458).
pub fn eligible_nodes(spec: &LbSpec, nodes: &[Node]) -> Vec<EligibleNode> {
    let empty = BTreeMap::new();
    let mut out: Vec<EligibleNode> = nodes
        .iter()
        .filter(|n| n.metadata.deletion_timestamp.is_none())
        .filter(|n| {
            let labels = n.metadata.labels.as_ref().unwrap_or(&empty);
            !labels.contains_key(EXCLUDE_LABEL) && spec.node_selector.matches(labels)
        })
        .filter(|n| {
            let taints = n.spec.as_ref().and_then(|s| s.taints.as_ref());
            !taints.is_some_and(|ts| ts.iter().any(|t| t.key == TO_BE_DELETED_TAINT))
        })
        .filter_map(|n| {
            let name = n.metadata.name.clone()?;
            let address = node_address(n, spec.ip_family)?;
            Some(EligibleNode { name, address })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn node_address(node: &Node, family: IpFamily) -> Option<String> {
    let addresses = node.status.as_ref()?.addresses.as_ref()?;
    let of_family = |kind: &str| {
        addresses
            .iter()
            .filter(|a| a.type_ == kind)
            .filter_map(|a| a.address.parse::<std::net::IpAddr>().ok())
            .find(|ip| match family {
                IpFamily::IPv4 => ip.is_ipv4(),
                IpFamily::IPv6 => ip.is_ipv6(),
            })
    };
    of_family("InternalIP")
        .or_else(|| of_family("ExternalIP"))
        .map(|ip| ip.to_string())
}

/// The topology a Service should have: one load balancer named after the Service, one listener
/// per port with its pool, the eligible nodes as members, a health monitor per pool when asked
/// for, and a floating IP unless the Service is internal.
///
/// The result is normalized (children sorted by identity key) and contains every field the
/// Service determines; fields the cloud cannot take are dropped later by [`crate::plan()`], which
/// knows the cloud's capabilities.
pub fn desired(spec: &LbSpec, nodes: &[Node], cfg: &ClusterConfig) -> Topology {
    let name = lb_name(&cfg.cluster_name, &spec.namespace, &spec.name);
    let service_ref = format!("{}/{}", spec.namespace, spec.name);
    let mut tags = vec![name.clone(), cluster_tag(&cfg.cluster_id)];
    if let Some(uid) = &spec.uid {
        tags.push(service_tag(uid));
    }
    let members_of = eligible_nodes(spec, nodes);
    let listeners = spec
        .ports
        .iter()
        .map(|p| listener(spec, p, &name, &members_of, cfg))
        .collect();
    let floatingip = (!spec.internal).then(|| FloatingIp {
        id: None,
        floating_ip_address: spec.load_balancer_ip.map(|ip| ip.to_string()),
        floating_network_id: cfg.floating_network_id.clone(),
        port_id: None,
        description: floating_ip_description(cfg, &spec.namespace, &spec.name, spec.uid.as_deref()),
        tags: floating_ip_tags(&tags[1..], spec.keep_floating_ip),
    });
    let mut topology = Topology {
        loadbalancer: LoadBalancer {
            id: None,
            name: name.clone(),
            description: cut(format!(
                "Kubernetes Service {service_ref} in cluster {}",
                cfg.cluster_name
            )),
            vip_subnet_id: cfg.subnet_id.clone(),
            vip_network_id: if cfg.subnet_id.is_some() {
                None
            } else {
                cfg.network_id.clone()
            },
            vip_address: if spec.internal {
                spec.load_balancer_ip.map(|ip| ip.to_string())
            } else {
                None
            },
            vip_port_id: None,
            provider: Some(cfg.provider.clone()),
            flavor_id: spec.flavor_id.clone(),
            availability_zone: spec.availability_zone.clone(),
            tags,
            listeners,
            detached_pools: Vec::new(),
            provisioning_status: None,
            operating_status: None,
        },
        floatingip,
        keep_floatingip: spec.keep_floating_ip,
    };
    topology.normalize();
    topology
}

/// The tags of a Service's floating IP: its ownership tags, plus [`KEEP_TAG`] while the
/// Service keeps the address (`keep-floatingip`), sorted.
///
/// [`KEEP_TAG`]: crate::owner::KEEP_TAG
fn floating_ip_tags(ownership: &[String], keep: bool) -> Vec<String> {
    let mut tags = ownership.to_vec();
    if keep {
        tags.push(crate::owner::KEEP_TAG.to_owned());
    }
    tags.sort();
    tags
}

/// The `description` of a Service's floating IP. The owner marker leads it: Neutron takes no
/// tags in a floating IP `POST`, and the address must be ours from the call that allocates
/// it (an interrupted create is found again by it).
pub fn floating_ip_description(
    cfg: &ClusterConfig,
    namespace: &str,
    name: &str,
    uid: Option<&str>,
) -> String {
    let service = uid.map(service_tag);
    cut(format!(
        "{} Floating IP for Kubernetes Service {namespace}/{name} in cluster {}",
        crate::owner::marker(&cluster_tag(&cfg.cluster_id), service.as_deref()),
        cfg.cluster_name
    ))
}

/// The short name of an object for a port: `<kind>_<PROTOCOL>_<port>_<lbname>`, so reordering
/// `spec.ports` renames nothing.
fn object_name(kind: &str, port: &PortSpec, lb: &str) -> String {
    cut(format!("{kind}_{}_{}_{lb}", port.protocol, port.port))
}

fn listener(
    spec: &LbSpec,
    port: &PortSpec,
    lb: &str,
    nodes: &[EligibleNode],
    cfg: &ClusterConfig,
) -> Listener {
    let tcp = port.protocol == PortProtocol::Tcp;
    let xff = spec.x_forwarded_for && tcp;
    let (listener_protocol, pool_protocol) = match (port.protocol, xff, spec.proxy_protocol) {
        (PortProtocol::Tcp, true, _) => (Protocol::Http, Protocol::Http),
        (PortProtocol::Tcp, false, ProxyProtocol::V1) => (Protocol::Tcp, Protocol::Proxy),
        (PortProtocol::Tcp, false, ProxyProtocol::V2) => (Protocol::Tcp, Protocol::ProxyV2),
        (PortProtocol::Tcp, false, ProxyProtocol::Off) => (Protocol::Tcp, Protocol::Tcp),
        (PortProtocol::Udp, _, _) => (Protocol::Udp, Protocol::Udp),
        (PortProtocol::Sctp, _, _) => (Protocol::Sctp, Protocol::Sctp),
    };
    let mut insert_headers = BTreeMap::new();
    if xff {
        insert_headers.insert("X-Forwarded-For".to_owned(), "true".to_owned());
    }
    let monitor_port = if spec.external_traffic_policy_local {
        spec.health_check_node_port
    } else {
        None
    };
    let members = match port.node_port {
        Some(node_port) => nodes
            .iter()
            .map(|n| Member {
                id: None,
                name: n.name.clone(),
                address: n.address.clone(),
                protocol_port: node_port,
                subnet_id: cfg.member_subnet_id.clone(),
                weight: 1,
                monitor_port,
                provisioning_status: None,
                operating_status: None,
            })
            .collect(),
        None => Vec::new(),
    };
    let healthmonitor = spec.health_monitor.map(|m| {
        let (kind, http) = if spec.external_traffic_policy_local {
            (MonitorType::Http, Some(("GET", "/healthz", "200")))
        } else if xff {
            (MonitorType::Http, Some(("GET", "/", "200")))
        } else {
            let kind = match port.protocol {
                PortProtocol::Tcp => MonitorType::Tcp,
                PortProtocol::Udp => MonitorType::UdpConnect,
                PortProtocol::Sctp => MonitorType::Sctp,
            };
            (kind, None)
        };
        HealthMonitor {
            id: None,
            name: object_name("monitor", port, lb),
            kind,
            delay: m.delay,
            timeout: m.timeout,
            max_retries: m.max_retries,
            max_retries_down: m.max_retries_down,
            http_method: http.map(|h| h.0.to_owned()),
            url_path: http.map(|h| h.1.to_owned()),
            expected_codes: http.map(|h| h.2.to_owned()),
            tags: Vec::new(),
            provisioning_status: None,
            operating_status: None,
        }
    });
    let mut allowed: Vec<String> = spec.source_ranges.iter().map(|c| c.to_string()).collect();
    allowed.sort();
    allowed.dedup();
    Listener {
        id: None,
        name: object_name("listener", port, lb),
        protocol: listener_protocol,
        protocol_port: port.port,
        connection_limit: spec.connection_limit,
        timeout_client_data: Some(spec.timeouts.client_data),
        timeout_member_connect: Some(spec.timeouts.member_connect),
        timeout_member_data: Some(spec.timeouts.member_data),
        timeout_tcp_inspect: Some(spec.timeouts.tcp_inspect),
        allowed_cidrs: if allowed.is_empty() {
            None
        } else {
            Some(allowed)
        },
        insert_headers,
        tags: Vec::new(),
        default_pool: Some(Pool {
            id: None,
            name: object_name("pool", port, lb),
            protocol: pool_protocol,
            lb_algorithm: algorithm(spec.lb_method),
            session_persistence: spec
                .session_affinity_client_ip
                .then_some(SessionPersistence {
                    kind: SessionPersistenceType::SourceIp,
                    cookie_name: None,
                }),
            tags: Vec::new(),
            members,
            healthmonitor,
            provisioning_status: None,
            operating_status: None,
        }),
        provisioning_status: None,
        operating_status: None,
    }
}

fn algorithm(m: LbMethod) -> LbAlgorithm {
    match m {
        LbMethod::RoundRobin => LbAlgorithm::RoundRobin,
        LbMethod::LeastConnections => LbAlgorithm::LeastConnections,
        LbMethod::SourceIp => LbAlgorithm::SourceIp,
        LbMethod::SourceIpPort => LbAlgorithm::SourceIpPort,
    }
}
