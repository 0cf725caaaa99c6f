//! Builders for the objects tests need: Services, Nodes, LbSpecs and cluster configuration.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Node, NodeAddress, NodeSpec, NodeStatus, Service, ServicePort, ServiceSpec, Taint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kks_lb_annotations::{
    IpFamily, LbMethod, LbSpec, MonitorSpec, NodeSelector, PortProtocol, PortSpec, ProxyProtocol,
    Timeouts,
};
use kks_lb_planner::ClusterConfig;

/// A cluster configuration with a VIP subnet, a member subnet and a floating network.
pub fn cluster_config() -> ClusterConfig {
    ClusterConfig {
        cluster_name: "kks".to_owned(),
        cluster_id: "0d6f3c1e-6b1a-4c59-9a0b-6b0f1e2d3c4b".to_owned(),
        subnet_id: Some("5b5cbd5a-0e6d-4c4f-8f7a-2a1f0c3b9d01".to_owned()),
        network_id: None,
        member_subnet_id: None,
        floating_network_id: Some("7c1f3a9e-2d4b-4e8f-9a6c-1b2d3e4f5a60".to_owned()),
        provider: "amphora".to_owned(),
    }
}

/// A minimal valid [`LbSpec`]: external, one TCP port 80 on node port 30080, defaults elsewhere.
pub fn lb_spec(namespace: &str, name: &str) -> LbSpec {
    LbSpec {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        uid: Some(format!("uid-{namespace}-{name}")),
        internal: false,
        ports: vec![PortSpec {
            name: Some("http".to_owned()),
            protocol: PortProtocol::Tcp,
            port: 80,
            node_port: Some(30080),
        }],
        connection_limit: -1,
        timeouts: Timeouts::default(),
        lb_method: LbMethod::RoundRobin,
        health_monitor: Some(MonitorSpec::default()),
        x_forwarded_for: false,
        proxy_protocol: ProxyProtocol::Off,
        hostname: None,
        node_selector: NodeSelector::default(),
        keep_floating_ip: false,
        flavor_id: None,
        availability_zone: None,
        source_ranges: Vec::new(),
        session_affinity_client_ip: false,
        external_traffic_policy_local: false,
        health_check_node_port: None,
        load_balancer_ip: None,
        ip_family: IpFamily::IPv4,
        load_balancer_class: None,
        load_balancer_id: None,
    }
}

/// Builds a Node.
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    node: Node,
}

impl NodeBuilder {
    /// A Node with one InternalIP.
    pub fn new(name: &str, internal_ip: &str) -> Self {
        let node = Node {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                labels: Some(BTreeMap::new()),
                ..ObjectMeta::default()
            },
            spec: Some(NodeSpec::default()),
            status: Some(NodeStatus {
                addresses: Some(vec![NodeAddress {
                    type_: "InternalIP".to_owned(),
                    address: internal_ip.to_owned(),
                }]),
                ..NodeStatus::default()
            }),
        };
        NodeBuilder { node }
    }

    /// Adds a label.
    #[must_use]
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.node
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_owned(), value.to_owned());
        self
    }

    /// Adds an address of a type (`InternalIP`, `ExternalIP`, `Hostname`).
    #[must_use]
    pub fn address(mut self, kind: &str, address: &str) -> Self {
        if let Some(status) = &mut self.node.status {
            status
                .addresses
                .get_or_insert_with(Vec::new)
                .push(NodeAddress {
                    type_: kind.to_owned(),
                    address: address.to_owned(),
                });
        }
        self
    }

    /// Adds a NoSchedule taint with a key.
    #[must_use]
    pub fn taint(mut self, key: &str) -> Self {
        if let Some(spec) = &mut self.node.spec {
            spec.taints.get_or_insert_with(Vec::new).push(Taint {
                key: key.to_owned(),
                effect: "NoSchedule".to_owned(),
                ..Taint::default()
            });
        }
        self
    }

    /// Marks the Node as being deleted.
    #[must_use]
    pub fn deleting(mut self) -> Self {
        self.node.metadata.deletion_timestamp =
            Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        self
    }

    /// The Node.
    pub fn build(self) -> Node {
        self.node
    }
}

/// `n` ready worker nodes `node-1..n` with distinct addresses `10.0.0.11`, `10.0.0.12`, ...
pub fn nodes(n: usize) -> Vec<Node> {
    (1..=n)
        .map(|i| {
            let address = format!("10.{}.{}.{}", i / 60_000, (i / 200) % 250, 10 + i % 200);
            NodeBuilder::new(&format!("node-{i}"), &address).build()
        })
        .collect()
}

/// Builds a Service.
#[derive(Debug, Clone)]
pub struct ServiceBuilder {
    svc: Service,
}

impl ServiceBuilder {
    /// An external LoadBalancer Service without ports.
    pub fn new(namespace: &str, name: &str) -> Self {
        let svc = Service {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.to_owned()),
                uid: Some(format!("uid-{namespace}-{name}")),
                annotations: Some(BTreeMap::new()),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("LoadBalancer".to_owned()),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        ServiceBuilder { svc }
    }

    /// Adds a port with a node port.
    #[must_use]
    pub fn port(mut self, protocol: &str, port: i32, node_port: i32) -> Self {
        if let Some(spec) = &mut self.svc.spec {
            spec.ports.get_or_insert_with(Vec::new).push(ServicePort {
                protocol: Some(protocol.to_owned()),
                port,
                node_port: Some(node_port),
                ..ServicePort::default()
            });
        }
        self
    }

    /// Sets an annotation.
    #[must_use]
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.svc
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_owned(), value.to_owned());
        self
    }

    /// Makes the Service internal.
    #[must_use]
    pub fn internal(self) -> Self {
        self.annotation(
            "service.beta.kubernetes.io/openstack-internal-load-balancer",
            "true",
        )
    }

    /// Sets `spec.type`.
    #[must_use]
    pub fn type_(mut self, t: &str) -> Self {
        if let Some(spec) = &mut self.svc.spec {
            spec.type_ = Some(t.to_owned());
        }
        self
    }

    /// Edits the spec.
    #[must_use]
    pub fn spec(mut self, f: impl FnOnce(&mut ServiceSpec)) -> Self {
        if let Some(spec) = &mut self.svc.spec {
            f(spec);
        }
        self
    }

    /// Marks the Service as being deleted.
    #[must_use]
    pub fn deleting(mut self) -> Self {
        self.svc.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        self
    }

    /// The Service.
    pub fn build(self) -> Service {
        self.svc
    }
}
