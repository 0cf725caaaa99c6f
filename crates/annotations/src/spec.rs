//! [`LbSpec`]: everything kks-lb needs to know about one Service, parsed and validated.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// A Service port protocol (`spec.ports[].protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PortProtocol {
    /// TCP (the Kubernetes default).
    #[serde(rename = "TCP")]
    Tcp,
    /// UDP.
    #[serde(rename = "UDP")]
    Udp,
    /// SCTP.
    #[serde(rename = "SCTP")]
    Sctp,
}

impl fmt::Display for PortProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortProtocol::Tcp => "TCP",
            PortProtocol::Udp => "UDP",
            PortProtocol::Sctp => "SCTP",
        })
    }
}

/// Pool balancing algorithm (`lb-method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LbMethod {
    /// `ROUND_ROBIN`.
    #[serde(rename = "ROUND_ROBIN")]
    RoundRobin,
    /// `LEAST_CONNECTIONS`.
    #[serde(rename = "LEAST_CONNECTIONS")]
    LeastConnections,
    /// `SOURCE_IP`.
    #[serde(rename = "SOURCE_IP")]
    SourceIp,
    /// `SOURCE_IP_PORT`.
    #[serde(rename = "SOURCE_IP_PORT")]
    SourceIpPort,
}

/// PROXY protocol towards members (`proxy-protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ProxyProtocol {
    /// No PROXY header.
    #[default]
    #[serde(rename = "false")]
    Off,
    /// PROXY v1 (pool protocol `PROXY`).
    #[serde(rename = "v1")]
    V1,
    /// PROXY v2 (pool protocol `PROXYV2`).
    #[serde(rename = "v2")]
    V2,
}

/// A member filter on node labels (`node-selector`): every entry must match; a `None` value
/// means the label must exist with any value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeSelector(pub BTreeMap<String, Option<String>>);

impl NodeSelector {
    /// Whether a node with these labels is selected. The empty selector selects every node.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|(k, want)| match (labels.get(k), want) {
            (Some(have), Some(want)) => have == want,
            (Some(_), None) => true,
            (None, _) => false,
        })
    }

    /// Whether the selector has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for NodeSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (k, v) in &self.0 {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match v {
                Some(v) => write!(f, "{k}={v}")?,
                None => f.write_str(k)?,
            }
        }
        Ok(())
    }
}
/// One Service port the load balancer listens on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// The port's name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Protocol.
    pub protocol: PortProtocol,
    /// The port the load balancer listens on (`port`).
    pub port: u16,
    /// The node port members are reached at; `None` when node ports are not allocated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<u16>,
}

/// Listener timeouts in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// `timeout-client-data`.
    pub client_data: u32,
    /// `timeout-member-connect`.
    pub member_connect: u32,
    /// `timeout-member-data`.
    pub member_data: u32,
    /// `timeout-tcp-inspect`.
    pub tcp_inspect: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            client_data: 50_000,
            member_connect: 5_000,
            member_data: 50_000,
            tcp_inspect: 0,
        }
    }
}

/// Health monitor parameters (the monitor type follows from the port and policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorSpec {
    /// Seconds between probes (>= 1).
    pub delay: u32,
    /// Seconds a probe may take (>= 1, < delay).
    pub timeout: u32,
    /// Successes to mark a member up (1–10).
    pub max_retries: u8,
    /// Failures to mark a member down (1–10).
    pub max_retries_down: u8,
}

impl Default for MonitorSpec {
    fn default() -> Self {
        MonitorSpec {
            delay: 10,
            timeout: 5,
            max_retries: 3,
            max_retries_down: 3,
        }
    }
}

/// The Service's primary IP family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum IpFamily {
    /// IPv4.
    #[default]
    IPv4,
    /// IPv6.
    IPv6,
}

/// Defaults from the cloud configuration (`cloud.conf` `[LoadBalancer]`), used where a Service
/// says nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Defaults {
    /// `internal-lb`.
    pub internal_lb: bool,
    /// `lb-method`.
    pub lb_method: LbMethod,
    /// `create-monitor`.
    pub create_monitor: bool,
    /// `monitor-delay`, `monitor-timeout`, `monitor-max-retries`, `monitor-max-retries-down`.
    pub monitor: MonitorSpec,
    /// `node-selector`.
    pub node_selector: NodeSelector,
    /// `flavor-id`.
    pub flavor_id: Option<String>,
    /// `availability-zone`.
    pub availability_zone: Option<String>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            internal_lb: false,
            lb_method: LbMethod::RoundRobin,
            create_monitor: false,
            monitor: MonitorSpec::default(),
            node_selector: NodeSelector::default(),
            flavor_id: None,
            availability_zone: None,
        }
    }
}

/// Everything kks-lb needs to know about one Service, parsed and validated.
///
/// Built only by [`crate::parse`]; every field already satisfies the rules of SPEC.md §4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbSpec {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Service UID, if the manifest has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// No floating IP (`openstack-internal-load-balancer`).
    pub internal: bool,
    /// Ports, sorted by (protocol, port), unique.
    pub ports: Vec<PortSpec>,
    /// `connection-limit` (-1 = unlimited).
    pub connection_limit: i64,
    /// Listener timeouts; `None` fields were not given and take Octavia's defaults.
    pub timeouts: Timeouts,
    /// Balancing algorithm.
    pub lb_method: LbMethod,
    /// Health monitor parameters; `None` = no monitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_monitor: Option<MonitorSpec>,
    /// Listener and pool HTTP with `X-Forwarded-For` inserted.
    pub x_forwarded_for: bool,
    /// PROXY protocol towards members.
    pub proxy_protocol: ProxyProtocol,
    /// Hostname reported in the ingress status instead of the IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Member filter.
    pub node_selector: NodeSelector,
    /// Detach instead of releasing the floating IP on delete or switch to internal.
    pub keep_floating_ip: bool,
    /// Octavia flavor (create-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor_id: Option<String>,
    /// Availability zone (create-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// Allowed client CIDRs; empty = all.
    pub source_ranges: Vec<IpNet>,
    /// `sessionAffinity: ClientIP`.
    pub session_affinity_client_ip: bool,
    /// `externalTrafficPolicy: Local`.
    pub external_traffic_policy_local: bool,
    /// `spec.healthCheckNodePort` (set with `externalTrafficPolicy: Local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_node_port: Option<u16>,
    /// `spec.loadBalancerIP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_ip: Option<IpAddr>,
    /// Primary IP family (`spec.ipFamilies[0]`).
    pub ip_family: IpFamily,
    /// `spec.loadBalancerClass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_class: Option<String>,
    /// `load-balancer-id` as written on the Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_id: Option<String>,
}
