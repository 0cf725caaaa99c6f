//! The cluster subnet's address usage against the emulator, from the network IP availability
//! API (admin) or the subnet's ports (a project member), and a create on a full subnet: one
//! POST, recognised as `SubnetExhausted`, never re-sent within the plan.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Harness, fast_delays};
use k8s_openapi::api::core::v1::Service;
use kks_lb_adapter::capacity::{SubnetRef, UsageSource, UsageWatch, subnet_ports, subnet_usage};
use kks_lb_annotations::{Defaults, LbSpec, parse};
use kks_lb_testkit::fixtures::nodes;
use kks_lb_testkit::openstack::EmulatorConfig;

fn spec(name: &str) -> LbSpec {
    let svc: Service = serde_yaml_ng::from_str(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: shop, uid: uid-{name}}}\n\
         spec:\n  type: LoadBalancer\n  ports:\n  - {{name: http, port: 80, nodePort: 30080}}\n"
    ))
    .unwrap();
    parse(&svc, &Defaults::default()).unwrap().spec
}

async fn slash_29(admin_role: bool) -> Harness {
    Harness::start_with(EmulatorConfig {
        delays: fast_delays(),
        cluster_cidr: "10.0.0.0/29".into(),
        admin_role,
        ..EmulatorConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reads_usage_from_network_ip_availability_in_two_calls() {
    let h = slash_29(true).await;
    for name in ["a", "b"] {
        h.reconcile(&spec(name), &nodes(2)).await.unwrap();
    }
    let subnet = h.cloud.fixture().cluster_subnet_id.clone();
    h.cloud.reset_calls();
    let usage = subnet_usage(h.executor.client(), &SubnetRef::Subnet(subnet.clone()))
        .await
        .unwrap();
    assert_eq!(usage.source, UsageSource::NetworkIpAvailability);
    assert_eq!(usage.cidr, "10.0.0.0/29");
    assert_eq!((usage.used, usage.total, usage.free()), (2, 5, 3));
    let calls: Vec<String> = h
        .cloud
        .call_log()
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert_eq!(
        calls,
        vec![
            "GET /v2.0/subnets/{id}",
            "GET /v2.0/network-ip-availabilities/{id}"
        ]
    );
    // By network: the network's (only) IPv4 subnet.
    let network = h.cloud.fixture().cluster_network_id.clone();
    let by_net = subnet_usage(h.executor.client(), &SubnetRef::Network(network))
        .await
        .unwrap();
    assert_eq!(by_net.subnet_id, subnet);
    assert_eq!(by_net.used, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_member_counts_the_subnet_ports_instead() {
    let h = slash_29(false).await;
    for name in ["a", "b", "c"] {
        h.reconcile(&spec(name), &nodes(2)).await.unwrap();
    }
    let subnet = h.cloud.fixture().cluster_subnet_id.clone();
    let usage = subnet_usage(h.executor.client(), &SubnetRef::Subnet(subnet.clone()))
        .await
        .unwrap();
    assert_eq!(usage.source, UsageSource::Ports);
    assert_eq!((usage.used, usage.total), (3, 5));
    let ports = subnet_ports(h.executor.client(), &subnet).await.unwrap();
    assert_eq!(ports.len(), 3);
    assert!(ports.iter().all(|p| p.device_owner == "Octavia"));
}

fn calls(h: &Harness) -> Vec<String> {
    h.cloud
        .call_log()
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}

/// The gauge's watch: after its first read, one Neutron call per read, and the count still
/// follows the load balancers created since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usage_watch_reads_with_one_call_after_the_first() {
    for (admin, source, again) in [
        (
            true,
            UsageSource::NetworkIpAvailability,
            "GET /v2.0/network-ip-availabilities/{id}",
        ),
        (false, UsageSource::Ports, "GET /v2.0/ports"),
    ] {
        let h = slash_29(admin).await;
        h.reconcile(&spec("a"), &nodes(2)).await.unwrap();
        let subnet = h.cloud.fixture().cluster_subnet_id.clone();
        let mut watch = UsageWatch::new(SubnetRef::Subnet(subnet));
        h.cloud.reset_calls();
        let first = watch.read(h.executor.client()).await.unwrap();
        assert_eq!((first.source, first.used, first.total), (source, 1, 5));
        assert_eq!(
            calls(&h).first().map(String::as_str),
            Some("GET /v2.0/subnets/{id}")
        );
        h.reconcile(&spec("b"), &nodes(2)).await.unwrap();
        h.cloud.reset_calls();
        let second = watch.read(h.executor.client()).await.unwrap();
        assert_eq!(
            (second.source, second.used, second.cidr.as_str()),
            (source, 2, "10.0.0.0/29")
        );
        assert_eq!(calls(&h), vec![again], "admin: {admin}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_on_a_full_subnet_is_sent_once_and_named_subnet_exhausted() {
    let h = slash_29(false).await;
    for name in ["a", "b", "c", "d", "e"] {
        h.reconcile(&spec(name), &nodes(2)).await.unwrap();
    }
    h.cloud.reset_calls();
    let err = h.reconcile(&spec("f"), &nodes(2)).await.unwrap_err();
    assert!(err.is_subnet_exhausted(), "{err}");
    assert_eq!(err.reason(), "SubnetExhausted");
    assert_eq!(
        err.exhausted_network(),
        Some(h.cloud.fixture().cluster_network_id.as_str())
    );
    assert_eq!(
        h.cloud.call_count("POST", "/v2/lbaas/loadbalancers"),
        1,
        "not re-sent within the plan: {:?}",
        h.cloud.call_log()
    );
    assert!(
        h.cloud.snapshot().floating_ips.len() == 5,
        "no floating IP for the refused one"
    );
}
