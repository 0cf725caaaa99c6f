//! A new controller (or a new leader) with load balancers already in the cloud rebuilds its
//! observations from list calls plus one status tree per load balancer, changes nothing, and
//! plans the next change from them; a Service that never had a load balancer is created
//! without a lookup by name, and a create whose answer was lost is found, never repeated.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use std::time::Duration;

use e2e_support::*;
use http::Method;
use kks_lb_testkit::openstack::{CallMatcher, OneShotFault, Reply, Service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_controller_rebuilds_observations_from_lists_and_one_status_tree_each() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    let names = ["a", "b", "c"];
    env.create(&service("shop", names[0]));
    env.create(&with_annotation(
        service("shop", names[1]),
        "service.beta.kubernetes.io/openstack-internal-load-balancer",
        "true",
    ));
    env.create(&service("shop", names[2]));
    for name in names {
        env.wait_ready("shop", name).await;
    }
    ctl.stop().await;

    env.cloud.reset_calls();
    let ctl = env.controller().await;
    // Every Service is reconciled again (the new controller has no memory of them): its
    // status is confirmed from the rebuilt observation.
    env.eventually("the three status trees are read", || async {
        (env.cloud
            .call_count("GET", "/v2/lbaas/loadbalancers/{id}/status")
            == 3)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for tree in [
        "/v2/lbaas/loadbalancers/{id}",
        "/v2/lbaas/pools/{id}/members",
        "/v2/lbaas/healthmonitors/{id}",
    ] {
        assert_eq!(
            env.cloud.call_count("GET", tree),
            0,
            "no tree is read one object at a time: {tree}"
        );
    }
    assert_eq!(env.cloud.call_count("GET", "/v2/lbaas/listeners"), 1);
    assert_eq!(env.cloud.call_count("GET", "/v2/lbaas/pools"), 1);
    // One for the rebuild, one for the orphan collector's first sweep.
    assert!(env.cloud.call_count("GET", "/v2.0/floatingips") <= 2);
    assert_eq!(env.cloud_writes(), vec![], "nothing changes");

    // The next change is planned from the rebuilt observations: one batch PUT per pool.
    env.cloud.reset_calls();
    env.kube.add_node("node-4", "10.0.0.14").unwrap();
    env.wait_cloud("every pool has the new node", |snap| {
        snap.loadbalancers.len() == 3
            && snap.loadbalancers.iter().all(|t| {
                t.loadbalancer.listeners.iter().all(|l| {
                    l.default_pool
                        .as_ref()
                        .is_some_and(|p| p.members.iter().any(|m| m.address == "10.0.0.14"))
                })
            })
    })
    .await;
    assert_eq!(
        env.cloud.call_count("PUT", "/v2/lbaas/pools/{id}/members"),
        3
    );
    assert_eq!(
        env.cloud.call_count("GET", "/v2/lbaas/pools/{id}/members"),
        0
    );
    assert!(env.leaks().is_empty());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_is_found_not_sent_again() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    // Let the term's inventory be taken: the name below is then known to have no load
    // balancer, and its first observe skips the lookup by name.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let lost = env.cloud.arm_fault(OneShotFault::commit_then_fail(
        CallMatcher::endpoint(Method::POST, "/v2/lbaas/loadbalancers").on(Service::Octavia),
        0,
        Reply::Status(504),
    ));
    env.create(&service("shop", "web"));
    lost.fired().await;
    env.wait_ready("shop", "web").await;
    let snap = env.cloud.snapshot();
    assert_eq!(snap.loadbalancers.len(), 1, "exactly one load balancer");
    assert_eq!(
        env.cloud.call_count("POST", "/v2/lbaas/loadbalancers"),
        1,
        "the create is looked up, not sent again"
    );
    assert!(env.leaks().is_empty());
    ctl.stop().await;
}
