//! [`LbSpec`] → Service: the inverse of [`crate::parse`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::keys;
use crate::spec::LbSpec;
use crate::values::Flag;

/// Renders `spec` as a Service of type LoadBalancer: annotations plus spec fields.
///
/// Every setting is written explicitly (booleans as `true`/`false`, `""` for "none",
/// "no availability zone" and "all nodes"), so `parse(&render(s), d)` gives back `s` for every
/// valid `s` whatever the [`crate::Defaults`] `d`, except the flavor: platform-managed, it is
/// always `d`'s. Source ranges go to
/// `spec.loadBalancerSourceRanges`; `allocateLoadBalancerNodePorts` is `false` only when no
/// port has a node port.
pub fn render(spec: &LbSpec) -> Service {
    let mut a = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        a.insert(key.to_owned(), value);
    };
    put(keys::INTERNAL, Flag(spec.internal).to_string());
    put(keys::CONNECTION_LIMIT, spec.connection_limit.to_string());
    put(
        keys::TIMEOUT_CLIENT_DATA,
        spec.timeouts.client_data.to_string(),
    );
    put(
        keys::TIMEOUT_MEMBER_CONNECT,
        spec.timeouts.member_connect.to_string(),
    );
    put(
        keys::TIMEOUT_MEMBER_DATA,
        spec.timeouts.member_data.to_string(),
    );
    put(
        keys::TIMEOUT_TCP_INSPECT,
        spec.timeouts.tcp_inspect.to_string(),
    );
    put(keys::LB_METHOD, spec.lb_method.to_string());
    put(
        keys::ENABLE_HEALTH_MONITOR,
        Flag(spec.health_monitor.is_some()).to_string(),
    );
    if let Some(m) = &spec.health_monitor {
        put(keys::HEALTH_MONITOR_DELAY, m.delay.to_string());
        put(keys::HEALTH_MONITOR_TIMEOUT, m.timeout.to_string());
        put(keys::HEALTH_MONITOR_MAX_RETRIES, m.max_retries.to_string());
        put(
            keys::HEALTH_MONITOR_MAX_RETRIES_DOWN,
            m.max_retries_down.to_string(),
        );
    }
    put(
        keys::X_FORWARDED_FOR,
        Flag(spec.x_forwarded_for).to_string(),
    );
    put(keys::PROXY_PROTOCOL, spec.proxy_protocol.to_string());
    put(keys::HOSTNAME, spec.hostname.clone().unwrap_or_default());
    put(keys::NODE_SELECTOR, spec.node_selector.to_string());
    put(
        keys::KEEP_FLOATING_IP,
        Flag(spec.keep_floating_ip).to_string(),
    );
    put(
        keys::AVAILABILITY_ZONE,
        spec.availability_zone.clone().unwrap_or_default(),
    );
    if let Some(id) = &spec.load_balancer_id {
        put(keys::LOAD_BALANCER_ID, id.clone());
    }

    let ports = spec
        .ports
        .iter()
        .map(|p| ServicePort {
            name: p.name.clone(),
            protocol: Some(p.protocol.to_string()),
            port: p.port.into(),
            node_port: p.node_port.map(i32::from),
            ..ServicePort::default()
        })
        .collect();
    let no_node_ports = !spec.ports.is_empty() && spec.ports.iter().all(|p| p.node_port.is_none());
    Service {
        metadata: ObjectMeta {
            name: Some(spec.name.clone()),
            namespace: Some(spec.namespace.clone()),
            uid: spec.uid.clone(),
            annotations: Some(a),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".to_owned()),
            load_balancer_class: spec.load_balancer_class.clone(),
            ports: Some(ports),
            load_balancer_source_ranges: (!spec.source_ranges.is_empty())
                .then(|| spec.source_ranges.iter().map(ToString::to_string).collect()),
            external_traffic_policy: Some(
                if spec.external_traffic_policy_local {
                    "Local"
                } else {
                    "Cluster"
                }
                .to_owned(),
            ),
            health_check_node_port: spec.health_check_node_port.map(i32::from),
            session_affinity: Some(
                if spec.session_affinity_client_ip {
                    "ClientIP"
                } else {
                    "None"
                }
                .to_owned(),
            ),
            load_balancer_ip: spec.load_balancer_ip.map(|ip| ip.to_string()),
            ip_families: Some(vec![spec.ip_family.to_string()]),
            allocate_load_balancer_node_ports: no_node_ports.then_some(false),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}
