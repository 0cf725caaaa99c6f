//! Unit tests of the strategies: Service defaults, allocation, validation.

use super::super::resources::info_for;
use std::collections::BTreeSet;

use super::*;

fn alloc() -> Allocator {
    Allocator {
        used_ports: BTreeSet::new(),
        used_ips: BTreeSet::new(),
        next_port: NODE_PORT_MIN,
        next_ip: 10,
    }
}

fn svc(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

fn services() -> &'static ResourceInfo {
    info_for(ResourceType::SERVICES).unwrap()
}

#[test]
fn load_balancer_service_gets_defaults_and_node_ports() {
    let mut a = alloc();
    let mut s = svc(
        json!({"type": "LoadBalancer", "externalTrafficPolicy": "Local", "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]}),
    );
    let causes = prepare_create(services(), &mut s, false, &mut a);
    assert!(causes.is_empty(), "{causes:?}");
    let spec = &s["spec"];
    assert_eq!(spec["clusterIP"], "10.96.0.10");
    assert_eq!(spec["clusterIPs"], json!(["10.96.0.10"]));
    assert_eq!(spec["ports"][0]["protocol"], "TCP");
    assert_eq!(spec["ports"][0]["targetPort"], 80);
    assert_eq!(spec["ports"][0]["nodePort"], 30000);
    assert_eq!(spec["ports"][1]["nodePort"], 30001);
    assert_eq!(spec["healthCheckNodePort"], 30002);
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["allocateLoadBalancerNodePorts"], true);
    assert_eq!(s["status"], json!({"loadBalancer": {}}));
}

#[test]
fn switching_to_cluster_ip_releases_node_ports_and_keeps_cluster_ip() {
    let mut a = alloc();
    let mut old = svc(json!({"type": "LoadBalancer", "ports": [{"port": 80}]}));
    assert!(prepare_create(services(), &mut old, false, &mut a).is_empty());
    let mut new = svc(json!({"type": "ClusterIP", "ports": [{"port": 80, "nodePort": 30000}]}));
    let causes = prepare_update(services(), &old, &mut new, &mut a);
    assert!(causes.is_empty(), "{causes:?}");
    assert!(new["spec"]["ports"][0].get("nodePort").is_none());
    assert!(new["spec"].get("externalTrafficPolicy").is_none());
    assert_eq!(new["spec"]["clusterIP"], old["spec"]["clusterIP"]);
}

#[test]
fn update_keeps_allocated_node_ports_when_omitted() {
    let mut a = alloc();
    let mut old = svc(json!({"type": "NodePort", "ports": [{"port": 80}]}));
    assert!(prepare_create(services(), &mut old, false, &mut a).is_empty());
    let mut new = svc(json!({"type": "NodePort", "ports": [{"port": 80}]}));
    let mut a2 = alloc();
    assert!(prepare_update(services(), &old, &mut new, &mut a2).is_empty());
    assert_eq!(
        new["spec"]["ports"][0]["nodePort"],
        old["spec"]["ports"][0]["nodePort"]
    );
}

#[test]
fn invalid_services_name_the_field_and_rule() {
    let mut a = alloc();
    a.used_ports.insert(30080);
    let mut s =
        svc(json!({"type": "NodePort", "ports": [{"port": 0}, {"port": 81, "nodePort": 30080}]}));
    let causes = prepare_create(services(), &mut s, false, &mut a);
    let text = causes.join("\n");
    assert!(
        text.contains("spec.ports[0].port: Invalid value: 0"),
        "{text}"
    );
    assert!(
        text.contains("spec.ports[0].name: Required value"),
        "{text}"
    );
    assert!(
        text.contains("30080: provided port is already allocated"),
        "{text}"
    );
    let mut bad_ip = svc(json!({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}));
    a.used_ips.insert("10.96.0.10".into());
    let causes = prepare_create(services(), &mut bad_ip, false, &mut a);
    assert!(causes.join("").contains("provided IP is already allocated"));
}

#[test]
fn changing_cluster_ip_is_refused() {
    let mut a = alloc();
    let mut old = svc(json!({"ports": [{"port": 80}]}));
    assert!(prepare_create(services(), &mut old, false, &mut a).is_empty());
    let mut new = svc(json!({"clusterIP": "10.96.9.9", "ports": [{"port": 80}]}));
    let causes = prepare_update(services(), &old, &mut new, &mut a);
    assert!(causes.join("").contains("may not change once set"));
}
