//! Request bodies from a [`Topology`]'s objects: the `api` create types the emulator parses,
//! built from the tree the planner plans with, so the adapter sends exactly what the plan
//! shows. Ids and statuses are never sent; empty tag lists are left out (Octavia below 2.5
//! refuses the field).
//!
//! [`Topology`]: crate::Topology

use crate::api::neutron::CreateFloatingIp;
use crate::api::octavia::{
    CreateHealthMonitor, CreateListener, CreateLoadBalancer, CreateMember, CreatePool,
    SessionPersistence as ApiSessionPersistence,
};
use crate::topology::{FloatingIp, HealthMonitor, Listener, LoadBalancer, Member, Pool};

fn tags(t: &[String]) -> Option<Vec<String>> {
    (!t.is_empty()).then(|| t.to_vec())
}

fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl From<&Member> for CreateMember {
    fn from(m: &Member) -> Self {
        CreateMember {
            name: text(&m.name),
            weight: Some(m.weight),
            subnet_id: m.subnet_id.clone(),
            monitor_port: m.monitor_port,
            ..CreateMember::new(m.address.clone(), m.protocol_port)
        }
    }
}

impl From<&HealthMonitor> for CreateHealthMonitor {
    fn from(hm: &HealthMonitor) -> Self {
        CreateHealthMonitor {
            name: text(&hm.name),
            kind: hm.kind,
            delay: hm.delay,
            timeout: hm.timeout,
            max_retries: hm.max_retries,
            max_retries_down: Some(hm.max_retries_down),
            http_method: hm.http_method.clone(),
            url_path: hm.url_path.clone(),
            expected_codes: hm.expected_codes.clone(),
            admin_state_up: None,
            pool_id: None,
            tags: tags(&hm.tags),
            http_version: None,
            domain_name: None,
            project_id: None,
        }
    }
}

impl From<&Pool> for CreatePool {
    /// The pool with its members and monitor inline (the fully-populated form); a standalone
    /// pool create clears both.
    fn from(p: &Pool) -> Self {
        CreatePool {
            name: text(&p.name),
            protocol: Some(p.protocol),
            lb_algorithm: Some(p.lb_algorithm),
            session_persistence: p
                .session_persistence
                .as_ref()
                .map(|s| ApiSessionPersistence {
                    kind: s.kind,
                    cookie_name: s.cookie_name.clone(),
                    persistence_timeout: None,
                    persistence_granularity: None,
                }),
            tags: tags(&p.tags),
            members: (!p.members.is_empty())
                .then(|| p.members.iter().map(CreateMember::from).collect()),
            healthmonitor: p.healthmonitor.as_ref().map(CreateHealthMonitor::from),
            ..CreatePool::default()
        }
    }
}

impl From<&Listener> for CreateListener {
    /// The listener with its default pool inline (the fully-populated form); a standalone
    /// listener create names its pool by `default_pool_id` instead.
    fn from(l: &Listener) -> Self {
        CreateListener {
            name: text(&l.name),
            connection_limit: Some(l.connection_limit),
            default_pool: l.default_pool.as_ref().map(CreatePool::from),
            insert_headers: (!l.insert_headers.is_empty()).then(|| l.insert_headers.clone()),
            timeout_client_data: l.timeout_client_data,
            timeout_member_connect: l.timeout_member_connect,
            timeout_member_data: l.timeout_member_data,
            timeout_tcp_inspect: l.timeout_tcp_inspect,
            allowed_cidrs: l.allowed_cidrs.clone(),
            tags: tags(&l.tags),
            ..CreateListener::new(l.protocol, l.protocol_port)
        }
    }
}

impl From<&LoadBalancer> for CreateLoadBalancer {
    /// The fully-populated create: the load balancer with every listener, pool, member and
    /// monitor, and its ownership tags.
    fn from(lb: &LoadBalancer) -> Self {
        CreateLoadBalancer {
            name: Some(lb.name.clone()),
            description: text(&lb.description),
            vip_subnet_id: lb.vip_subnet_id.clone(),
            vip_network_id: lb.vip_network_id.clone(),
            vip_address: lb.vip_address.clone(),
            provider: lb.provider.clone(),
            flavor_id: lb.flavor_id.clone(),
            availability_zone: lb.availability_zone.clone(),
            tags: tags(&lb.tags),
            listeners: (!lb.listeners.is_empty())
                .then(|| lb.listeners.iter().map(CreateListener::from).collect()),
            ..CreateLoadBalancer::default()
        }
    }
}

/// The `POST /v2.0/floatingips` body of a floating IP on `network`, bound to `port`, with its
/// description (the owner marker); Neutron 29 takes no tags here.
pub fn create_floating_ip(fip: &FloatingIp, network: &str, port: &str) -> CreateFloatingIp {
    CreateFloatingIp {
        floating_network_id: network.to_owned(),
        port_id: Some(port.to_owned()),
        description: text(&fip.description),
        ..CreateFloatingIp::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LbAlgorithm, MonitorType, Protocol};
    use serde_json::json;

    fn listener() -> Listener {
        Listener {
            id: Some("l-1".into()),
            name: "listener_TCP_80".into(),
            protocol: Protocol::Tcp,
            protocol_port: 80,
            connection_limit: -1,
            timeout_client_data: Some(50_000),
            timeout_member_connect: None,
            timeout_member_data: None,
            timeout_tcp_inspect: None,
            allowed_cidrs: None,
            insert_headers: Default::default(),
            tags: vec![],
            default_pool: Some(Pool {
                id: Some("p-1".into()),
                name: "pool_TCP_80".into(),
                protocol: Protocol::Tcp,
                lb_algorithm: LbAlgorithm::RoundRobin,
                session_persistence: None,
                tags: vec![],
                members: vec![Member {
                    id: Some("m-1".into()),
                    name: "node-1".into(),
                    address: "10.0.0.1".into(),
                    protocol_port: 30080,
                    subnet_id: None,
                    weight: 1,
                    monitor_port: None,
                    provisioning_status: None,
                    operating_status: None,
                }],
                healthmonitor: Some(HealthMonitor {
                    id: Some("hm-1".into()),
                    name: "monitor_TCP_80".into(),
                    kind: MonitorType::Tcp,
                    delay: 10,
                    timeout: 5,
                    max_retries: 3,
                    max_retries_down: 3,
                    http_method: None,
                    url_path: None,
                    expected_codes: None,
                    tags: vec![],
                    provisioning_status: None,
                    operating_status: None,
                }),
                provisioning_status: None,
                operating_status: None,
            }),
            provisioning_status: None,
            operating_status: None,
        }
    }

    #[test]
    fn bodies_carry_no_ids_statuses_nulls_or_empty_tags_at_any_depth() {
        let body = serde_json::to_value(CreateListener::from(&listener())).unwrap();
        assert_eq!(
            body,
            json!({
                "name": "listener_TCP_80", "protocol": "TCP", "protocol_port": 80,
                "connection_limit": -1, "timeout_client_data": 50000,
                "default_pool": {
                    "name": "pool_TCP_80", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
                    "members": [{"name": "node-1", "address": "10.0.0.1", "protocol_port": 30080, "weight": 1}],
                    "healthmonitor": {"name": "monitor_TCP_80", "type": "TCP", "delay": 10, "timeout": 5, "max_retries": 3, "max_retries_down": 3}
                }
            })
        );
    }

    #[test]
    fn a_floating_ip_create_binds_the_port_and_carries_the_marker_not_tags() {
        let fip = FloatingIp {
            description: "kks-lb-cluster:c1 kks-lb-service:u1 Floating IP".into(),
            tags: vec!["kks-lb-cluster:c1".into()],
            ..FloatingIp::default()
        };
        let body = serde_json::to_value(create_floating_ip(&fip, "net-1", "port-1")).unwrap();
        assert_eq!(
            body,
            json!({"floating_network_id": "net-1", "port_id": "port-1", "description": "kks-lb-cluster:c1 kks-lb-service:u1 Floating IP"})
        );
    }
}
