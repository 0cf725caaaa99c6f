//! End to end: member health on the Service. Members that fail their health check turn
//! `LoadBalancerMembersHealthy` False with the node names and publish one `MembersDown`
//! Warning per change (not per resync); recovery turns it True with one `MembersRecovered`.
//! A healthy load balancer costs no status-tree read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use std::time::Duration;

use e2e_support::*;
use k8s_openapi::api::core::v1::Service;
use kks_lb_annotations::keys;
use kks_lb_controller::status::MEMBERS_CONDITION_TYPE;
use kks_lb_testkit::openstack::MemberHealth;

const STATUS_TREE: &str = "/v2/lbaas/loadbalancers/{id}/status";
const RESYNC: Duration = Duration::from_millis(500);

/// The `LoadBalancerMembersHealthy` condition as (status, reason, message).
fn members(svc: &Service) -> Option<(String, String, String)> {
    svc.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == MEMBERS_CONDITION_TYPE)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

async fn wait_members(env: &Env, name: &str, what: &str, f: impl Fn(&str, &str, &str) -> bool) {
    env.wait_service("shop", name, what, |s| {
        s.and_then(members)
            .is_some_and(|(st, r, m)| f(st.as_str(), r.as_str(), m.as_str()))
    })
    .await;
}

/// The Events of a Service with `reason`, as (note, series count).
fn events_with(env: &Env, name: &str, reason: &str) -> Vec<(String, Option<i32>)> {
    env.kube
        .events_for("shop", name)
        .unwrap()
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| (e.note.unwrap_or_default(), e.series.map(|s| s.count)))
        .collect()
}

async fn start(env: &Env) -> Running {
    let mut settings = env.settings();
    settings.resync = RESYNC;
    env.controller_with(settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_going_offline_and_back_are_reported_once_each_on_the_service() {
    let env = Env::start().await;
    let ctl = start(&env).await;
    env.create(&with_annotation(
        service("shop", "web"),
        keys::ENABLE_HEALTH_MONITOR,
        "true",
    ));
    env.wait_ready("shop", "web").await;
    wait_members(&env, "web", "healthy", |s, r, m| {
        s == "True" && r == "MembersHealthy" && m == "all 3 members ONLINE"
    })
    .await;

    // Healthy steady state: the drift check lists, nothing reads a status tree.
    tokio::time::sleep(RESYNC * 2).await;
    env.cloud.reset_calls();
    tokio::time::sleep(RESYNC * 4).await;
    assert!(
        env.cloud.call_count("GET", "/v2/lbaas/loadbalancers") >= 2,
        "the drift check ran: {:?}",
        env.cloud.call_log()
    );
    assert_eq!(
        env.cloud.call_count("GET", STATUS_TREE),
        0,
        "a healthy load balancer costs no status-tree read: {:?}",
        env.cloud.call_log()
    );

    // node-3's health check fails: the load balancer turns DEGRADED, the drift check sees it.
    env.cloud
        .set_member_health("10.0.0.13", Some(MemberHealth::Offline));
    wait_members(&env, "web", "node-3 down", |s, r, m| {
        s == "False" && r == "MembersDown" && m.starts_with("1 of 3 members OFFLINE: node-3;")
    })
    .await;
    env.wait_event(
        "shop",
        "web",
        "MembersDown",
        "1 of 3 members OFFLINE: node-3",
    )
    .await;
    let svc = env.get("shop", "web").unwrap();
    assert!(is_ready(&svc), "the load balancer still serves: {svc:?}");
    // Several resyncs later: still one Event, never repeated.
    env.cloud.reset_calls();
    tokio::time::sleep(RESYNC * 4).await;
    assert_eq!(
        events_with(&env, "web", "MembersDown").len(),
        1,
        "{:?}",
        env.events("shop", "web")
    );
    assert_eq!(events_with(&env, "web", "MembersDown")[0].1, None);
    assert!(
        env.cloud.call_count("GET", STATUS_TREE) >= 1,
        "a degraded load balancer is read again at resync"
    );
    assert_eq!(
        env.cloud_writes(),
        vec![],
        "health changes nothing in the cloud"
    );

    // node-2 goes down too (the load balancer stays DEGRADED): the next resync sees it.
    env.cloud
        .set_member_health("10.0.0.12", Some(MemberHealth::Error));
    wait_members(&env, "web", "node-2 and node-3 down", |s, _, m| {
        s == "False" && m.starts_with("2 of 3 members down: node-2 (ERROR), node-3 (OFFLINE);")
    })
    .await;
    env.wait_event("shop", "web", "MembersDown", "node-2 (ERROR)")
        .await;

    // Both recover: True again and one MembersRecovered.
    env.cloud.set_member_health("10.0.0.12", None);
    env.cloud.set_member_health("10.0.0.13", None);
    wait_members(&env, "web", "recovered", |s, r, m| {
        s == "True" && r == "MembersHealthy" && m == "all 3 members ONLINE"
    })
    .await;
    env.wait_event(
        "shop",
        "web",
        "MembersRecovered",
        "all 3 members ONLINE again",
    )
    .await;
    tokio::time::sleep(RESYNC * 3).await;
    let recovered = events_with(&env, "web", "MembersRecovered");
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert!(
        recovered[0].0.contains("(before: 2 of 3 members down"),
        "{recovered:?}"
    );
    assert_eq!(events_with(&env, "web", "MembersDown").len(), 2);
    env.cloud.reset_calls();
    tokio::time::sleep(RESYNC * 3).await;
    assert_eq!(env.cloud.call_count("GET", STATUS_TREE), 0, "healthy again");
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_external_traffic_policy_local_down_members_are_called_expected() {
    let env = Env::start().await;
    let ctl = start(&env).await;
    let mut svc = service("shop", "local");
    svc.spec.as_mut().unwrap().external_traffic_policy = Some("Local".into());
    env.create(&svc);
    env.wait_ready("shop", "local").await;
    env.cloud
        .set_member_health("10.0.0.11", Some(MemberHealth::Offline));
    env.cloud
        .set_member_health("10.0.0.12", Some(MemberHealth::Offline));
    wait_members(&env, "local", "two nodes without endpoints", |s, r, m| {
        s == "False"
            && r == "MembersDown"
            && m.starts_with("2 of 3 members OFFLINE: node-1, node-2; with externalTrafficPolicy: Local this is expected on nodes without a ready endpoint")
    })
    .await;
    env.wait_event(
        "shop",
        "local",
        "MembersDown",
        "expected on nodes without a ready endpoint",
    )
    .await;
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_health_monitor_member_health_is_unknown_and_never_read() {
    let env = Env::start().await;
    let ctl = start(&env).await;
    env.create(&service("shop", "plain"));
    env.wait_ready("shop", "plain").await;
    wait_members(&env, "plain", "unknown", |s, r, m| {
        s == "Unknown" && r == "NoHealthMonitor" && m.contains("enable-health-monitor")
    })
    .await;
    // Without a monitor Octavia reports NO_MONITOR whatever the node does, and the load
    // balancer stays ONLINE: nothing to read, nothing to publish.
    env.cloud
        .set_member_health("10.0.0.11", Some(MemberHealth::Offline));
    env.cloud.reset_calls();
    tokio::time::sleep(RESYNC * 4).await;
    assert_eq!(env.cloud.call_count("GET", STATUS_TREE), 0);
    let svc = env.get("shop", "plain").unwrap();
    assert_eq!(members(&svc).unwrap().0, "Unknown");
    assert!(events_with(&env, "plain", "MembersDown").is_empty());
    ctl.stop().await;
}
