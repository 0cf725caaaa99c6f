//! One-shot faults ("the k-th matching call from now"): fail before commit, commit then fail,
//! crash after commit, and the call counters a test uses to find every index.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "openstack_support/mod.rs"]
mod support;

use std::time::Duration;

use kks_lb_testkit::openstack::{
    CallMatcher, FaultRule, OneShotFault, OpenStackEmulator, ProvisioningDelays, Reply, Service,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Client, cloud_with, full_lb_body, simple_lb_body};

const LBS: &str = "/v2/lbaas/loadbalancers";
const FIPS: &str = "/v2.0/floatingips";

async fn setup() -> (OpenStackEmulator, Client, String) {
    let cloud = cloud_with(|c| c.delays = ProvisioningDelays::ZERO).await;
    let c = Client::login(&cloud).await;
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    (cloud, c, subnet)
}

fn lb_names(cloud: &OpenStackEmulator) -> Vec<String> {
    cloud
        .snapshot()
        .loadbalancers
        .iter()
        .map(|t| t.loadbalancer.name.clone())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn before_commit_refuses_only_the_nth_matching_call_and_changes_nothing() {
    let (cloud, c, subnet) = setup().await;
    let fault = cloud.arm_fault(OneShotFault::before_commit(
        CallMatcher::endpoint(Method::POST, LBS),
        1,
        Reply::Status(503),
    ));
    let mut statuses = Vec::new();
    for i in 0..3 {
        // A GET in between is not a matching call.
        c.get(&Client::lbaas("/loadbalancers")).await;
        let r = c
            .post(
                &Client::lbaas("/loadbalancers"),
                simple_lb_body(&format!("lb{i}"), &subnet),
            )
            .await;
        statuses.push(r.status.as_u16());
        if i == 1 {
            assert_eq!(r.body["faultcode"], "Server", "Octavia's error shape");
        }
    }
    assert_eq!(statuses, vec![201, 503, 201]);
    assert_eq!(
        lb_names(&cloud),
        vec!["lb0", "lb2"],
        "lb1 was never created"
    );
    assert_eq!(fault.seen(), 3);
    let fired = fault.fired_call().expect("fired");
    assert_eq!(fired.index, 1);
    assert_eq!(fired.service, Service::Octavia);
    assert_eq!((fired.method.as_str(), fired.path.as_str()), ("POST", LBS));
    assert_eq!(fired.uri, "/load-balancer/v2/lbaas/loadbalancers");
    assert_eq!(fired.status, None, "not served");
    assert!(!fired.committed());
    assert_eq!(cloud.call_count_with_status("POST", LBS, 503), 1);
}

#[tokio::test(start_paused = true)]
async fn before_commit_can_drop_the_connection_and_nothing_is_allocated() {
    let (cloud, c, _) = setup().await;
    let ext = cloud.fixture().external_network_id.clone();
    cloud.arm_fault(OneShotFault::before_commit(
        CallMatcher::mutating().on(Service::Neutron),
        0,
        Reply::Drop,
    ));
    let r = c
        .try_send(
            Method::POST,
            &Client::neutron("/floatingips"),
            Some(json!({"floatingip": {"floating_network_id": ext}})),
        )
        .await;
    assert!(r.is_err(), "no answer: {r:?}");
    assert!(cloud.snapshot().floating_ips.is_empty());
    let ext_subnet = cloud.fixture().external_subnet_id.clone();
    assert_eq!(cloud.snapshot().subnet(&ext_subnet).unwrap().used, 0);
    assert_eq!(cloud.call_count_with_status("POST", FIPS, 0), 1);
}

#[tokio::test(start_paused = true)]
async fn commit_then_fail_creates_the_object_and_answers_each_status() {
    let (cloud, c, subnet) = setup().await;
    for (i, status) in [500u16, 502, 503, 504].into_iter().enumerate() {
        let fault = cloud.arm_fault(OneShotFault::commit_then_fail(
            CallMatcher::mutating().on(Service::Octavia),
            0,
            Reply::Status(status),
        ));
        let name = format!("lb{i}");
        let r = c
            .post(
                &Client::lbaas("/loadbalancers"),
                simple_lb_body(&name, &subnet),
            )
            .await;
        assert_eq!(r.status.as_u16(), status);
        assert!(r.body["faultstring"].as_str().unwrap().contains("Injected"));
        let fired = fault.fired().await.expect("fired");
        assert_eq!(fired.status, Some(201), "the create was served");
        assert!(fired.committed());
        let created: Value = serde_json::from_str(&fired.body).unwrap();
        let id = created["loadbalancer"]["id"].as_str().unwrap();
        let snap = cloud.snapshot();
        let lb = snap.loadbalancer_by_id(id).expect("the LB exists");
        assert_eq!(lb.loadbalancer.name, name);
        assert_eq!(cloud.call_count_with_status("POST", LBS, status), 1);
    }
    assert_eq!(lb_names(&cloud).len(), 4);
}

#[tokio::test(start_paused = true)]
async fn commit_then_drop_creates_the_floating_ip_with_its_description() {
    let (cloud, c, _) = setup().await;
    let ext = cloud.fixture().external_network_id.clone();
    let fault = cloud.arm_fault(OneShotFault::commit_then_fail(
        CallMatcher::endpoint(Method::POST, FIPS),
        0,
        Reply::Drop,
    ));
    let r = c
        .try_send(
            Method::POST,
            &Client::neutron("/floatingips"),
            Some(json!({"floatingip": {"floating_network_id": ext, "description": "kks-lb svc"}})),
        )
        .await;
    assert!(r.is_err(), "the client sees no answer: {r:?}");
    let fired = fault.fired_call().expect("fired");
    assert_eq!(fired.status, Some(201));
    let fips = cloud.snapshot().floating_ips;
    assert_eq!(fips.len(), 1, "the floating IP exists");
    assert_eq!(fips[0].description, "kks-lb svc");
    assert_eq!(cloud.call_count_with_status("POST", FIPS, 0), 1);
}

#[tokio::test(start_paused = true)]
async fn crash_after_commit_resolves_after_the_change_and_never_answers() {
    let (cloud, c, subnet) = setup().await;
    let fault = cloud.arm_fault(OneShotFault::crash_after_commit(
        CallMatcher::endpoint(Method::POST, LBS),
        0,
    ));
    let client = tokio::spawn(async move {
        c.try_send(
            Method::POST,
            &Client::lbaas("/loadbalancers"),
            Some(simple_lb_body("crashed", &subnet)),
        )
        .await
    });
    let fired = fault.fired().await.expect("fired");
    assert!(fired.committed());
    assert_eq!(
        lb_names(&cloud),
        vec!["crashed"],
        "state changed when the handle resolved"
    );
    // Hours pass: the answer never comes.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(!client.is_finished(), "the client is still waiting");
    assert_eq!(cloud.call_count_with_status("POST", LBS, 0), 1);
    // Removing the fault closes the held connection.
    cloud.remove_fault(fault.id());
    let r = client.await.unwrap();
    assert!(r.is_err(), "closed without an answer: {r:?}");
    assert_eq!(cloud.call_count("POST", LBS), 1, "counted once");
}

#[tokio::test(start_paused = true)]
async fn a_crashed_client_can_be_aborted_at_the_commit() {
    let (cloud, c, _) = setup().await;
    let ext = cloud.fixture().external_network_id.clone();
    let fip = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext}}),
        )
        .await;
    let id = fip.body["floatingip"]["id"].as_str().unwrap().to_owned();
    let fault = cloud.arm_fault(OneShotFault::crash_after_commit(
        CallMatcher::endpoint(Method::PUT, "/v2.0/floatingips/{id}/tags").on(Service::Neutron),
        0,
    ));
    let path = Client::neutron(&format!("/floatingips/{id}/tags"));
    let client = tokio::spawn(async move {
        c.try_send(
            Method::PUT,
            &path,
            Some(json!({"tags": ["kks-lb-cluster:c1", "kks-lb-service:u1"]})),
        )
        .await
    });
    let fired = fault.fired().await.expect("fired");
    client.abort();
    assert!(client.await.unwrap_err().is_cancelled());
    assert_eq!(fired.status, Some(200));
    assert_eq!(
        cloud.snapshot().floating_ips[0].tags,
        vec!["kks-lb-cluster:c1", "kks-lb-service:u1"],
        "the tags were set"
    );
    assert!(
        cloud
            .leak_report("kks-lb-cluster:c1", ["kks-lb-service:u1"])
            .is_empty()
    );
}

/// One mutating call of the walk below: method, path (server-relative), body, and a check
/// that its effect is in the emulator after it was answered with a fault.
struct Step {
    method: Method,
    path: String,
    body: Option<Value>,
    template: &'static str,
}

fn step(method: Method, path: String, body: Option<Value>, template: &'static str) -> Step {
    Step {
        method,
        path,
        body,
        template,
    }
}

/// Every Octavia and Neutron mutating endpoint, answered 504 after it was applied: the next
/// step depends on the previous one's effect (ids come from the reply the fault replaced).
#[tokio::test(start_paused = true)]
async fn every_mutating_endpoint_commits_before_a_commit_then_fail_fault() {
    let (cloud, c, subnet) = setup().await;
    let ext = cloud.fixture().external_network_id.clone();
    let cluster_net = cloud.fixture().cluster_network_id.clone();
    // Runs a step under a commit-then-fail 504 and returns the answer it replaced.
    let run = |s: Step| {
        let cloud = &cloud;
        let c = &c;
        async move {
            let fault = cloud.arm_fault(OneShotFault::commit_then_fail(
                CallMatcher::mutating(),
                0,
                Reply::Status(504),
            ));
            let r = c.send(s.method.clone(), &s.path, s.body).await;
            assert_eq!(
                r.status,
                StatusCode::GATEWAY_TIMEOUT,
                "{} {}",
                s.method,
                s.path
            );
            let fired = fault.fired_call().expect("fired");
            assert_eq!(fired.path, s.template);
            assert!(
                fired.committed(),
                "{} {}: {:?} {}",
                s.method,
                s.path,
                fired.status,
                fired.body
            );
            cloud.remove_fault(fault.id());
            if fired.body.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&fired.body).unwrap()
            }
        }
    };
    let lbaas = |p: &str| Client::lbaas(p);
    let neutron = |p: &str| Client::neutron(p);

    let lb = run(step(
        Method::POST,
        lbaas("/loadbalancers"),
        Some(full_lb_body("walk", &subnet)),
        LBS,
    ))
    .await;
    let lb_id = lb["loadbalancer"]["id"].as_str().unwrap().to_owned();
    let vip_port = lb["loadbalancer"]["vip_port_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(cloud.snapshot().loadbalancer_by_id(&lb_id).is_some());

    let l = run(step(
        Method::POST,
        lbaas("/listeners"),
        Some(
            json!({"listener": {"loadbalancer_id": lb_id, "protocol": "TCP", "protocol_port": 443, "name": "l443"}}),
        ),
        "/v2/lbaas/listeners",
    ))
    .await;
    let listener_id = l["listener"]["id"].as_str().unwrap().to_owned();
    let p = run(step(
        Method::POST,
        lbaas("/pools"),
        Some(
            json!({"pool": {"listener_id": listener_id, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN", "name": "p443"}}),
        ),
        "/v2/lbaas/pools",
    ))
    .await;
    let pool_id = p["pool"]["id"].as_str().unwrap().to_owned();
    let m = run(step(
        Method::POST,
        lbaas(&format!("/pools/{pool_id}/members")),
        Some(json!({"member": {"address": "192.0.2.50", "protocol_port": 30443}})),
        "/v2/lbaas/pools/{id}/members",
    ))
    .await;
    let member_id = m["member"]["id"].as_str().unwrap().to_owned();
    run(step(
        Method::PUT,
        lbaas(&format!("/pools/{pool_id}/members/{member_id}")),
        Some(json!({"member": {"weight": 7}})),
        "/v2/lbaas/pools/{id}/members/{member_id}",
    ))
    .await;
    let topo = || cloud.snapshot().loadbalancer_by_id(&lb_id).unwrap().clone();
    let pool_members = |t: &kks_lb_octavia_model::Topology| {
        t.loadbalancer
            .listeners
            .iter()
            .find(|l| l.name == "l443")
            .and_then(|l| l.default_pool.clone())
            .map(|p| {
                p.members
                    .iter()
                    .map(|m| (m.address.clone(), m.weight))
                    .collect::<Vec<_>>()
            })
    };
    assert_eq!(
        pool_members(&topo()),
        Some(vec![("192.0.2.50".to_owned(), 7)])
    );
    run(step(
        Method::PUT,
        lbaas(&format!("/pools/{pool_id}/members")),
        Some(json!({"members": [
            {"address": "192.0.2.51", "protocol_port": 30443},
            {"address": "192.0.2.52", "protocol_port": 30443}]})),
        "/v2/lbaas/pools/{id}/members",
    ))
    .await;
    let mut members = pool_members(&topo()).unwrap();
    members.sort();
    assert_eq!(
        members,
        vec![("192.0.2.51".to_owned(), 1), ("192.0.2.52".to_owned(), 1)],
        "the batch update replaced the members"
    );
    let listed = c
        .get(&lbaas(&format!("/pools/{pool_id}/members")))
        .await
        .body;
    let first_member = listed["members"][0]["id"].as_str().unwrap().to_owned();
    run(step(
        Method::DELETE,
        lbaas(&format!("/pools/{pool_id}/members/{first_member}")),
        None,
        "/v2/lbaas/pools/{id}/members/{member_id}",
    ))
    .await;
    assert_eq!(pool_members(&topo()).unwrap().len(), 1);
    let hm = run(step(
        Method::POST,
        lbaas("/healthmonitors"),
        Some(
            json!({"healthmonitor": {"pool_id": pool_id, "type": "TCP", "delay": 10, "timeout": 5, "max_retries": 3}}),
        ),
        "/v2/lbaas/healthmonitors",
    ))
    .await;
    let hm_id = hm["healthmonitor"]["id"].as_str().unwrap().to_owned();
    run(step(
        Method::PUT,
        lbaas(&format!("/healthmonitors/{hm_id}")),
        Some(json!({"healthmonitor": {"delay": 20}})),
        "/v2/lbaas/healthmonitors/{id}",
    ))
    .await;
    let hm_of = |t: &kks_lb_octavia_model::Topology| {
        t.loadbalancer
            .listeners
            .iter()
            .find(|l| l.name == "l443")
            .and_then(|l| l.default_pool.clone())
            .and_then(|p| p.healthmonitor)
            .map(|h| h.delay)
    };
    assert_eq!(hm_of(&topo()), Some(20));
    run(step(
        Method::PUT,
        lbaas(&format!("/pools/{pool_id}")),
        Some(json!({"pool": {"lb_algorithm": "LEAST_CONNECTIONS"}})),
        "/v2/lbaas/pools/{id}",
    ))
    .await;
    run(step(
        Method::PUT,
        lbaas(&format!("/listeners/{listener_id}")),
        Some(json!({"listener": {"connection_limit": 100}})),
        "/v2/lbaas/listeners/{id}",
    ))
    .await;
    run(step(
        Method::PUT,
        lbaas(&format!("/loadbalancers/{lb_id}")),
        Some(json!({"loadbalancer": {"description": "edited"}})),
        "/v2/lbaas/loadbalancers/{id}",
    ))
    .await;
    let t = topo();
    assert_eq!(t.loadbalancer.description, "edited");
    let l443 = t
        .loadbalancer
        .listeners
        .iter()
        .find(|l| l.name == "l443")
        .unwrap();
    assert_eq!(l443.connection_limit, 100);
    assert_eq!(
        l443.default_pool.as_ref().unwrap().lb_algorithm.to_string(),
        "LEAST_CONNECTIONS"
    );

    // Neutron: floating IP create, associate, tags (all three forms), port create/delete.
    let fip = run(step(
        Method::POST,
        neutron("/floatingips"),
        Some(json!({"floatingip": {"floating_network_id": ext, "description": "walk"}})),
        FIPS,
    ))
    .await;
    let fip_id = fip["floatingip"]["id"].as_str().unwrap().to_owned();
    run(step(
        Method::PUT,
        neutron(&format!("/floatingips/{fip_id}")),
        Some(json!({"floatingip": {"port_id": vip_port}})),
        "/v2.0/floatingips/{id}",
    ))
    .await;
    assert_eq!(
        topo().floatingip.unwrap().id.as_deref(),
        Some(fip_id.as_str()),
        "associated with the VIP port"
    );
    run(step(
        Method::PUT,
        neutron(&format!("/floatingips/{fip_id}/tags")),
        Some(json!({"tags": ["kks-lb-cluster:c1"]})),
        "/v2.0/floatingips/{id}/tags",
    ))
    .await;
    run(step(
        Method::PUT,
        neutron(&format!("/floatingips/{fip_id}/tags/kks-lb-service:u1")),
        None,
        "/v2.0/floatingips/{id}/tags/{tag}",
    ))
    .await;
    assert_eq!(
        cloud.snapshot().floating_ips[0].tags,
        vec!["kks-lb-cluster:c1", "kks-lb-service:u1"]
    );
    run(step(
        Method::DELETE,
        neutron(&format!("/floatingips/{fip_id}/tags/kks-lb-cluster:c1")),
        None,
        "/v2.0/floatingips/{id}/tags/{tag}",
    ))
    .await;
    assert_eq!(
        cloud.snapshot().floating_ips[0].tags,
        vec!["kks-lb-service:u1"]
    );
    run(step(
        Method::DELETE,
        neutron(&format!("/floatingips/{fip_id}/tags")),
        None,
        "/v2.0/floatingips/{id}/tags",
    ))
    .await;
    assert!(cloud.snapshot().floating_ips[0].tags.is_empty());
    let port = run(step(
        Method::POST,
        neutron("/ports"),
        Some(json!({"port": {"network_id": cluster_net, "name": "spare"}})),
        "/v2.0/ports",
    ))
    .await;
    let port_id = port["port"]["id"].as_str().unwrap().to_owned();
    assert!(cloud.snapshot().ports.iter().any(|p| p.id == port_id));
    run(step(
        Method::DELETE,
        neutron(&format!("/ports/{port_id}")),
        None,
        "/v2.0/ports/{id}",
    ))
    .await;
    assert!(!cloud.snapshot().ports.iter().any(|p| p.id == port_id));
    run(step(
        Method::DELETE,
        neutron(&format!("/floatingips/{fip_id}")),
        None,
        "/v2.0/floatingips/{id}",
    ))
    .await;
    assert!(cloud.snapshot().floating_ips.is_empty());

    // Octavia deletes, children first, then the LB with cascade.
    run(step(
        Method::DELETE,
        lbaas(&format!("/healthmonitors/{hm_id}")),
        None,
        "/v2/lbaas/healthmonitors/{id}",
    ))
    .await;
    assert_eq!(hm_of(&topo()), None);
    run(step(
        Method::DELETE,
        lbaas(&format!("/listeners/{listener_id}")),
        None,
        "/v2/lbaas/listeners/{id}",
    ))
    .await;
    assert!(
        topo()
            .loadbalancer
            .listeners
            .iter()
            .all(|l| l.name != "l443")
    );
    run(step(
        Method::DELETE,
        lbaas(&format!("/pools/{pool_id}")),
        None,
        "/v2/lbaas/pools/{id}",
    ))
    .await;
    assert!(
        cloud
            .snapshot()
            .detached_pools
            .iter()
            .all(|p| p.pool.id.as_deref() != Some(pool_id.as_str()))
    );
    run(step(
        Method::DELETE,
        lbaas(&format!("/loadbalancers/{lb_id}?cascade=true")),
        None,
        "/v2/lbaas/loadbalancers/{id}",
    ))
    .await;
    assert!(
        cloud.snapshot().loadbalancers.is_empty(),
        "the cascade delete was applied"
    );
}

/// The operation used to check the counting: an LB, a floating IP bound to its VIP, tags.
/// Stops at the first failed call.
async fn operation(c: &Client, subnet: &str, ext: &str) {
    let lb = c
        .try_send(
            Method::POST,
            &Client::lbaas("/loadbalancers"),
            Some(simple_lb_body("svc", subnet)),
        )
        .await;
    let Ok(lb) = lb.map(|r| r.body) else { return };
    let Some(port) = lb["loadbalancer"]["vip_port_id"].as_str() else {
        return;
    };
    let _ = c
        .try_send(Method::GET, &Client::lbaas("/loadbalancers"), None)
        .await;
    let fip = c
        .try_send(
            Method::POST,
            &Client::neutron("/floatingips"),
            Some(json!({"floatingip": {"floating_network_id": ext, "port_id": port}})),
        )
        .await;
    let Ok(fip) = fip.map(|r| r.body) else { return };
    let Some(id) = fip["floatingip"]["id"].as_str() else {
        return;
    };
    let _ = c
        .try_send(
            Method::PUT,
            &Client::neutron(&format!("/floatingips/{id}/tags")),
            Some(json!({"tags": ["kks-lb-cluster:c1"]})),
        )
        .await;
}

#[tokio::test(start_paused = true)]
async fn counting_an_operation_then_faulting_each_index_hits_each_call_in_order() {
    // Fault-free run: count the mutating calls and remember their order.
    let (cloud, _, subnet) = setup().await;
    let ext = cloud.fixture().external_network_id.clone();
    let counter = cloud.count_calls(CallMatcher::mutating());
    // Logging in is a Keystone POST, never a mutating call.
    let c = Client::login(&cloud).await;
    cloud.reset_calls();
    operation(&c, &subnet, &ext).await;
    let n = counter.seen();
    let order: Vec<(String, String)> = cloud
        .call_log()
        .into_iter()
        .filter(|call| call.method != "GET")
        .map(|call| (call.method, call.path))
        .collect();
    assert_eq!(n, 3);
    assert_eq!(order.len(), 3);

    for k in 0..n {
        let (cloud, c, subnet) = setup().await;
        let fault = cloud.arm_fault(OneShotFault::before_commit(
            CallMatcher::mutating(),
            k,
            Reply::Status(503),
        ));
        operation(&c, &subnet, &ext).await;
        let fired = fault.fired_call().expect("index k < N fires");
        assert_eq!(fired.index, k);
        assert_eq!(
            (fired.method.clone(), fired.path.clone()),
            order[usize::try_from(k).unwrap()]
        );
        assert_eq!(
            fault.seen(),
            k + 1,
            "the operation stops at the refused call"
        );
    }
    // Past the end nothing fires.
    let (cloud, c, subnet) = setup().await;
    let fault = cloud.arm_fault(OneShotFault::before_commit(
        CallMatcher::mutating(),
        n,
        Reply::Status(503),
    ));
    operation(&c, &subnet, &ext).await;
    assert_eq!(fault.fired_call(), None);
    assert_eq!(fault.seen(), n);
}

#[tokio::test(start_paused = true)]
async fn a_one_shot_fault_takes_precedence_over_rules_and_clear_removes_it() {
    let (cloud, c, subnet) = setup().await;
    cloud.add_fault(FaultRule::endpoint(Method::POST, LBS).burst(5, 409));
    let fault = cloud.arm_fault(OneShotFault::commit_then_fail(
        CallMatcher::endpoint(Method::POST, LBS),
        0,
        Reply::Status(502),
    ));
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", &subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert_eq!(lb_names(&cloud), vec!["lb"]);
    let counter = cloud.count_calls(CallMatcher::any().on(Service::Octavia));
    cloud.clear_faults();
    assert_eq!(
        c.post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb2", &subnet)
        )
        .await
        .status,
        StatusCode::CREATED,
        "rules and one-shot faults are gone"
    );
    assert_eq!(counter.seen(), 0, "a removed counter stops counting");
    assert_eq!(fault.seen(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_fault_removed_before_its_turn_never_fires() {
    let (cloud, c, subnet) = setup().await;
    let fault = cloud.arm_fault(OneShotFault::crash_after_commit(CallMatcher::mutating(), 1));
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", &subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    cloud.remove_fault(fault.id());
    assert_eq!(fault.fired().await, None);
    assert_eq!(fault.seen(), 1);
    let again = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb2", &subnet),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "index 1 is not held");
    assert_eq!(fault.seen(), 1, "a removed fault stops counting");
}
