//! Helpers shared by the annotations integration tests: a Service builder and a proptest
//! strategy for valid [`LbSpec`]s.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::Service;
use kks_lb_annotations::{
    Defaults, IpFamily, LbMethod, LbSpec, MonitorSpec, NodeSelector, PortProtocol, PortSpec,
    ProxyProtocol, Timeouts,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::option;
use proptest::prelude::*;

/// A valid LoadBalancer Service `default/web` with one TCP port 80 (nodePort 30080) and the
/// given annotations.
pub fn service(annotations: &[(&str, &str)]) -> Service {
    let mut svc: Service = serde_yaml_ng::from_str(
        "apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: LoadBalancer
  ports: [{name: http, protocol: TCP, port: 80, nodePort: 30080}]
",
    )
    .unwrap();
    svc.metadata.annotations = Some(
        annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    svc
}

/// A Service from YAML text.
pub fn from_yaml(text: &str) -> Service {
    serde_yaml_ng::from_str(text).unwrap()
}

/// `loadbalancer.openstack.org/<short>`.
pub fn key(short: &str) -> String {
    format!("loadbalancer.openstack.org/{short}")
}

fn dns_label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
}

fn hostname() -> impl Strategy<Value = String> {
    vec(dns_label(), 1..4).prop_map(|labels| labels.join("."))
}

fn label_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]([A-Za-z0-9._-]{0,8}[A-Za-z0-9])?"
}

fn label_key() -> impl Strategy<Value = String> {
    (option::of(hostname()), label_name()).prop_map(|(prefix, name)| match prefix {
        Some(p) => format!("{p}/{name}"),
        None => name,
    })
}

fn node_selector() -> impl Strategy<Value = NodeSelector> {
    btree_map(
        label_key(),
        option::of(prop_oneof![Just(String::new()), label_name()]),
        0..4,
    )
    .prop_map(NodeSelector)
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

fn cidr() -> impl Strategy<Value = IpNet> {
    ip().prop_flat_map(|ip| {
        let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
        (0..=max).prop_map(move |len| IpNet::new(ip, len).unwrap())
    })
}

fn openstack_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]([A-Za-z0-9 ._-]{0,20}[A-Za-z0-9])?"
}

fn uuid() -> impl Strategy<Value = String> {
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
}

fn protocol(tcp_only: bool) -> BoxedStrategy<PortProtocol> {
    if tcp_only {
        Just(PortProtocol::Tcp).boxed()
    } else {
        prop_oneof![
            Just(PortProtocol::Tcp),
            Just(PortProtocol::Udp),
            Just(PortProtocol::Sctp)
        ]
        .boxed()
    }
}

fn ports(tcp_only: bool) -> impl Strategy<Value = Vec<PortSpec>> {
    btree_set((protocol(tcp_only), 1..=u16::MAX), 1..5).prop_flat_map(|keys| {
        let n = keys.len();
        (
            Just(keys),
            vec(option::of("[a-z]([a-z0-9-]{0,8}[a-z0-9])?"), n),
            vec(option::of(1..=u16::MAX), n),
        )
            .prop_map(|(keys, names, node_ports)| {
                keys.into_iter()
                    .zip(names)
                    .zip(node_ports)
                    .map(|(((protocol, port), name), node_port)| PortSpec {
                        name,
                        protocol,
                        port,
                        node_port,
                    })
                    .collect()
            })
    })
}

fn monitor() -> impl Strategy<Value = MonitorSpec> {
    (2..=i32::MAX as u32, 1..=10u8, 1..=10u8).prop_flat_map(|(delay, r, rd)| {
        (1..delay).prop_map(move |timeout| MonitorSpec {
            delay,
            timeout,
            max_retries: r,
            max_retries_down: rd,
        })
    })
}

fn lb_method() -> impl Strategy<Value = LbMethod> {
    prop_oneof![
        Just(LbMethod::RoundRobin),
        Just(LbMethod::LeastConnections),
        Just(LbMethod::SourceIp),
        Just(LbMethod::SourceIpPort),
    ]
}

/// (x_forwarded_for, proxy_protocol): never both on.
fn client_address() -> impl Strategy<Value = (bool, ProxyProtocol)> {
    prop_oneof![
        Just((false, ProxyProtocol::Off)),
        Just((true, ProxyProtocol::Off)),
        Just((false, ProxyProtocol::V1)),
        Just((false, ProxyProtocol::V2)),
    ]
}

/// Any [`LbSpec`] that satisfies every rule of SPEC.md §4 (so `parse` accepts its rendering).
pub fn valid_spec() -> impl Strategy<Value = LbSpec> {
    let timeout = 0..=86_400_000u32;
    let head = (
        dns_label(),
        dns_label(),
        option::of("[a-f0-9-]{36}"),
        any::<bool>(),
        -1..=i64::from(i32::MAX),
        (timeout.clone(), timeout.clone(), timeout.clone(), timeout),
        lb_method(),
        option::of(monitor()),
        client_address(),
        option::of(hostname()),
        node_selector(),
        any::<bool>(),
    );
    let tail = (
        option::of(openstack_name()),
        option::of(openstack_name()),
        vec(cidr(), 0..4),
        any::<bool>(),
        any::<bool>(),
        option::of(1..=u16::MAX),
        option::of(ip()),
        prop_oneof![Just(IpFamily::IPv4), Just(IpFamily::IPv6)],
        option::of("[a-z]([a-z0-9./-]{0,20}[a-z0-9])?"),
        option::of(uuid()),
    );
    (head, tail).prop_flat_map(|(head, tail)| {
        let tcp_only = head.8 != (false, ProxyProtocol::Off);
        (Just(head), Just(tail), ports(tcp_only)).prop_map(|(h, t, ports)| {
            let (namespace, name, uid, internal, connection_limit, (cd, mc, md, ti)) =
                (h.0, h.1, h.2, h.3, h.4, h.5);
            let local = t.4;
            LbSpec {
                namespace,
                name,
                uid,
                internal,
                ports,
                connection_limit,
                timeouts: Timeouts {
                    client_data: cd,
                    member_connect: mc,
                    member_data: md,
                    tcp_inspect: ti,
                },
                lb_method: h.6,
                health_monitor: h.7,
                x_forwarded_for: h.8.0,
                proxy_protocol: h.8.1,
                hostname: h.9,
                node_selector: h.10,
                keep_floating_ip: h.11,
                flavor_id: t.0,
                availability_zone: t.1,
                source_ranges: t.2,
                session_affinity_client_ip: t.3,
                external_traffic_policy_local: local,
                health_check_node_port: if local { t.5 } else { None },
                load_balancer_ip: t.6,
                ip_family: t.7,
                load_balancer_class: t.8,
                load_balancer_id: t.9,
            }
        })
    })
}

/// Arbitrary cloud-config defaults (valid ones: timeout < delay).
pub fn defaults() -> impl Strategy<Value = Defaults> {
    (
        any::<bool>(),
        lb_method(),
        any::<bool>(),
        monitor(),
        node_selector(),
        option::of(openstack_name()),
        option::of(openstack_name()),
    )
        .prop_map(
            |(internal_lb, lb_method, create_monitor, monitor, node_selector, f, az)| Defaults {
                internal_lb,
                lb_method,
                create_monitor,
                monitor,
                node_selector,
                flavor_id: f,
                availability_zone: az,
            },
        )
}

/// Annotation maps mixing known keys with arbitrary and near-valid values, and arbitrary keys.
pub fn annotation_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    let known: Vec<String> = kks_lb_annotations::keys::TABLE
        .iter()
        .map(|k| k.key.to_owned())
        .collect();
    let key = prop_oneof![
        4 => proptest::sample::select(known),
        1 => "loadbalancer\\.openstack\\.org/[a-z-]{0,25}",
        1 => ".*",
    ];
    let value = prop_oneof![
        "-?[0-9]{1,12}",
        "(true|false|TRUE|v1|v2|yes)",
        "(ROUND_ROBIN|SOURCE_IP|round_robin)",
        "[a-z0-9=,./ -]{0,30}",
        ".*",
    ];
    btree_map(key, value, 0..12)
}
