//! Create, update and delete flows against the OpenStack emulator, through the real adapter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Harness;
use kks_lb_testkit::fixtures::{lb_spec, nodes};

#[tokio::test]
async fn an_external_service_is_created_observed_equal_and_deleted_without_leaks() {
    let h = Harness::start().await;
    let spec = lb_spec("shop", "web");
    let out = h.converge(&spec, &nodes(3), 3).await;
    assert!(out.loadbalancer_id.is_some());
    let observed = h.observed(&spec).await.unwrap();
    let fip = observed
        .floatingip
        .as_ref()
        .expect("a floating IP is bound to the VIP");
    assert_eq!(fip.port_id, observed.loadbalancer.vip_port_id);
    assert_eq!(observed.member_count(), 3);
    h.delete(&spec).await.unwrap();
    assert!(h.observed(&spec).await.is_none());
    let snap = h.cloud.snapshot();
    assert!(snap.loadbalancers.is_empty(), "{:?}", snap.loadbalancers);
    assert!(snap.floating_ips.is_empty(), "{:?}", snap.floating_ips);
}
