//! Member health through the real adapter against the OpenStack emulator: the status tree
//! read, and that the list-based state of a load balancer shows when members go down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Harness;
use kks_lb_adapter::{LbState, list_loadbalancers, member_statuses};
use kks_lb_annotations::MonitorSpec;
use kks_lb_octavia_model::OperatingStatus;
use kks_lb_testkit::fixtures::{lb_spec, nodes};
use kks_lb_testkit::openstack::MemberHealth;

#[tokio::test]
async fn the_status_tree_gives_every_members_health_in_one_call() {
    let h = Harness::start().await;
    let mut spec = lb_spec("shop", "web");
    spec.health_monitor = Some(MonitorSpec::default());
    let out = h.converge(&spec, &nodes(3), 3).await;
    let id = out.loadbalancer_id.unwrap();
    let client = h.executor.client();
    let observed = h.observed(&spec).await.unwrap();
    let addresses: Vec<String> = observed.loadbalancer.listeners[0]
        .default_pool
        .as_ref()
        .unwrap()
        .members
        .iter()
        .map(|m| m.address.clone())
        .collect();
    assert_eq!(addresses.len(), 3);

    h.cloud.reset_calls();
    let healthy = member_statuses(client, &id).await.unwrap();
    assert_eq!(
        h.cloud
            .call_count("GET", "/v2/lbaas/loadbalancers/{id}/status"),
        1
    );
    assert_eq!(h.cloud.call_log().len(), 1, "one call, nothing else");
    assert_eq!(healthy.loadbalancer, OperatingStatus::Online);
    assert!(
        healthy
            .members
            .iter()
            .all(|m| m.monitored && m.operating == OperatingStatus::Online),
        "{healthy:?}"
    );

    h.cloud
        .set_member_health(&addresses[1], Some(MemberHealth::Offline));
    let listed = list_loadbalancers(client, None).await.unwrap();
    assert_eq!(
        LbState::of(&listed[0]).operating,
        "DEGRADED",
        "the drift check's list shows that members are down"
    );
    let degraded = member_statuses(client, &id).await.unwrap();
    assert_eq!(degraded.loadbalancer, OperatingStatus::Degraded);
    let down: Vec<(&str, OperatingStatus)> = degraded
        .members
        .iter()
        .filter(|m| m.operating != OperatingStatus::Online)
        .map(|m| (m.address.as_str(), m.operating))
        .collect();
    let ports = spec.ports.len();
    assert_eq!(
        down,
        vec![(addresses[1].as_str(), OperatingStatus::Offline); ports],
        "the node is down on every port"
    );

    let gone = member_statuses(client, "00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}

#[tokio::test]
async fn without_a_monitor_members_report_no_monitor_and_the_load_balancer_stays_online() {
    let h = Harness::start().await;
    let mut spec = lb_spec("shop", "web");
    spec.health_monitor = None;
    let out = h.converge(&spec, &nodes(2), 3).await;
    let id = out.loadbalancer_id.unwrap();
    let t = h.observed(&spec).await.unwrap();
    let address = t.loadbalancer.listeners[0]
        .default_pool
        .as_ref()
        .unwrap()
        .members[0]
        .address
        .clone();
    h.cloud
        .set_member_health(&address, Some(MemberHealth::Offline));
    let s = member_statuses(h.executor.client(), &id).await.unwrap();
    assert_eq!(s.loadbalancer, OperatingStatus::Online);
    assert!(
        s.members
            .iter()
            .all(|m| !m.monitored && m.operating == OperatingStatus::NoMonitor),
        "{s:?}"
    );
}
