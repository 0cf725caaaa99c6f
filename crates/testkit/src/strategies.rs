//! proptest strategies for Services' parsed specs, nodes, cluster configuration, cloud
//! capabilities and observed topologies.

use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::Node;
use kks_lb_annotations::{
    IpFamily, LbMethod, LbSpec, MonitorSpec, NodeSelector, PortProtocol, PortSpec, ProxyProtocol,
    Timeouts,
};
use kks_lb_octavia_model::Topology;
use kks_lb_planner::{ApiVersion, Capabilities, ClusterConfig, desired};
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;

use crate::fixtures::{NodeBuilder, cluster_config};
use crate::model::Cloud;

fn arb_port() -> impl Strategy<Value = (PortProtocol, u16)> {
    prop_oneof![
        4 => prop::sample::select(vec![80u16, 443, 8080, 9000]).prop_map(|p| (PortProtocol::Tcp, p)),
        2 => prop::sample::select(vec![53u16, 443, 5000]).prop_map(|p| (PortProtocol::Udp, p)),
        1 => Just((PortProtocol::Sctp, 9999u16)),
    ]
}

fn arb_ports() -> impl Strategy<Value = Vec<PortSpec>> {
    btree_set(arb_port(), 1..4).prop_flat_map(|set| {
        let n = set.len();
        (
            Just(set),
            vec(prop::option::weighted(0.95, 30000u16..32768), n),
        )
            .prop_map(|(set, node_ports)| {
                set.into_iter()
                    .zip(node_ports)
                    .map(|((protocol, port), node_port)| PortSpec {
                        name: None,
                        protocol,
                        port,
                        node_port,
                    })
                    .collect()
            })
    })
}

fn arb_monitor() -> impl Strategy<Value = MonitorSpec> {
    (2u32..30, 1u8..=10, 1u8..=10).prop_flat_map(|(delay, up, down)| {
        (1..delay).prop_map(move |timeout| MonitorSpec {
            delay,
            timeout,
            max_retries: up,
            max_retries_down: down,
        })
    })
}

fn arb_method() -> impl Strategy<Value = LbMethod> {
    prop::sample::select(vec![
        LbMethod::RoundRobin,
        LbMethod::LeastConnections,
        LbMethod::SourceIp,
        LbMethod::SourceIpPort,
    ])
}

fn arb_cidrs() -> impl Strategy<Value = Vec<IpNet>> {
    let pool: Vec<IpNet> = [
        "10.0.0.0/8",
        "192.168.0.0/16",
        "203.0.113.0/24",
        "0.0.0.0/0",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect();
    prop::sample::subsequence(pool, 0..3)
}

/// A valid [`LbSpec`] for `namespace/name`: any ports, options and limits the annotations
/// accept.
pub fn arb_lb_spec() -> impl Strategy<Value = LbSpec> {
    (
        (
            arb_ports(),
            any::<bool>(),
            prop::option::of(arb_monitor()),
            arb_method(),
        ),
        (
            prop_oneof![Just(-1i64), 1i64..100_000],
            (0u32..100_000, 0u32..100_000, 0u32..100_000, 0u32..10_000),
            prop::sample::select(vec![
                ProxyProtocol::Off,
                ProxyProtocol::V1,
                ProxyProtocol::V2,
            ]),
            any::<bool>(),
        ),
        (
            arb_cidrs(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(Just("zone")),
        ),
    )
        .prop_map(
            |(
                (ports, internal, health_monitor, lb_method),
                (connection_limit, (cd, mc, md, ti), proxy, xff),
                (source_ranges, affinity, local, keep, selector),
            )| {
                // X-Forwarded-For and PROXY exclude each other.
                let proxy_protocol = if xff { ProxyProtocol::Off } else { proxy };
                let mut node_selector = NodeSelector::default();
                if let Some(zone) = selector {
                    node_selector.0.insert(zone.to_owned(), None);
                }
                LbSpec {
                    namespace: "team-a".to_owned(),
                    name: "web".to_owned(),
                    uid: Some("4a1b2c3d-0000-4000-8000-000000000001".to_owned()),
                    internal,
                    ports,
                    connection_limit,
                    timeouts: Timeouts {
                        client_data: cd,
                        member_connect: mc,
                        member_data: md,
                        tcp_inspect: ti,
                    },
                    lb_method,
                    health_monitor: if local {
                        Some(health_monitor.unwrap_or_default())
                    } else {
                        health_monitor
                    },
                    x_forwarded_for: xff,
                    proxy_protocol,
                    hostname: None,
                    node_selector,
                    keep_floating_ip: keep,
                    flavor_id: None,
                    availability_zone: None,
                    source_ranges,
                    session_affinity_client_ip: affinity,
                    external_traffic_policy_local: local,
                    health_check_node_port: local.then_some(31000),
                    load_balancer_ip: None::<IpAddr>,
                    ip_family: IpFamily::IPv4,
                    load_balancer_class: None,
                    load_balancer_id: None,
                }
            },
        )
}

/// Up to `max` nodes with distinct names and addresses, some labelled `zone`, some excluded.
pub fn arb_nodes(max: usize) -> impl Strategy<Value = Vec<Node>> {
    btree_set(1u16..500, 0..=max).prop_flat_map(|ids| {
        let n = ids.len();
        (
            Just(ids),
            vec((any::<bool>(), prop::bool::weighted(0.1)), n),
        )
            .prop_map(|(ids, flags)| {
                ids.into_iter()
                    .zip(flags)
                    .map(|(id, (zone, excluded))| {
                        let mut b = NodeBuilder::new(
                            &format!("node-{id:03}"),
                            &format!("10.1.{}.{}", id / 200, 10 + id % 200),
                        );
                        if zone {
                            b = b.label("zone", "a");
                        }
                        if excluded {
                            b = b.label(kks_lb_planner::desired::EXCLUDE_LABEL, "");
                        }
                        b.build()
                    })
                    .collect()
            })
    })
}

/// A cluster configuration; the VIP subnet is one of two, so that some pairs differ.
pub fn arb_cluster_config() -> impl Strategy<Value = ClusterConfig> {
    prop::sample::select(vec!["subnet-a", "subnet-b"]).prop_map(|subnet| ClusterConfig {
        subnet_id: Some(subnet.to_owned()),
        ..cluster_config()
    })
}

/// Cloud capabilities: any Octavia 2.0–2.30, amphora or ovn.
pub fn arb_capabilities() -> impl Strategy<Value = Capabilities> {
    (0u32..=30, prop::sample::select(vec!["amphora", "ovn"])).prop_map(|(minor, provider)| {
        Capabilities {
            api_version: ApiVersion::v2(minor),
            provider: provider.to_owned(),
        }
    })
}

/// The full capabilities of a current Octavia with the amphora provider.
pub fn full_capabilities() -> Capabilities {
    Capabilities::default()
}

/// A desired topology from an arbitrary Service, nodes and configuration.
pub fn arb_desired() -> impl Strategy<Value = Topology> {
    (arb_lb_spec(), arb_nodes(8), arb_cluster_config())
        .prop_map(|(spec, nodes, cfg)| desired(&spec, &nodes, &cfg))
}

/// An observed topology, as the cloud would report it (ids and statuses set), that shares
/// the Service's identity with `arb_desired` but may differ in anything else; `None` when the
/// load balancer does not exist.
pub fn arb_observed() -> impl Strategy<Value = Option<Topology>> {
    prop::option::weighted(0.85, arb_desired().prop_map(|t| observed_form(&t)))
}

/// `t` as the cloud would report it after creating it: every object with an id and ACTIVE.
pub fn observed_form(t: &Topology) -> Topology {
    let cloud = Cloud::new(Some(t));
    cloud.topology.unwrap_or_else(|| t.clone())
}
