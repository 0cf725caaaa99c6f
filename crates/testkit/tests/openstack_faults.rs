//! Fault injection (seeded error rates, bursts, dropped connections, latency) and accounting
//! (counters by endpoint template, call log, leak report).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "openstack_support/mod.rs"]
mod support;

use std::time::Duration;

use kks_lb_testkit::openstack::{Call, FaultRule, ProvisioningDelays, Service};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Client, cloud_with, simple_lb_body};

/// The statuses of 40 GETs of the LB list with a 50% 503 rate under `seed`.
async fn statuses_with_seed(seed: u64) -> Vec<u16> {
    let cloud = cloud_with(|c| c.seed = seed).await;
    let c = Client::login(&cloud).await;
    cloud.add_fault(
        FaultRule::endpoint(Method::GET, "/v2/lbaas/loadbalancers").error_rate(0.5, 503),
    );
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(
            c.get(&Client::lbaas("/loadbalancers"))
                .await
                .status
                .as_u16(),
        );
    }
    out
}

#[tokio::test(start_paused = true)]
async fn error_rates_are_deterministic_for_a_seed() {
    let a = statuses_with_seed(42).await;
    let b = statuses_with_seed(42).await;
    assert_eq!(a, b, "same seed, same faults");
    assert!(
        a.contains(&503) && a.contains(&200),
        "a 50% rate over 40 calls shows both: {a:?}"
    );
    assert!(a.iter().all(|s| *s == 200 || *s == 503));
    let other = statuses_with_seed(43).await;
    assert_ne!(a, other, "another seed draws another sequence");
}

#[tokio::test(start_paused = true)]
async fn injected_errors_use_each_services_body_shape() {
    let cloud = cloud_with(|_| {}).await;
    let c = Client::login(&cloud).await;
    cloud.add_fault(FaultRule::any().on(Service::Octavia).error_rate(1.0, 500));
    cloud.add_fault(FaultRule::any().on(Service::Neutron).error_rate(1.0, 503));
    let o = c.get(&Client::lbaas("/loadbalancers")).await;
    assert_eq!(o.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(o.body["faultcode"], "Server");
    let n = c.get(&Client::neutron("/floatingips")).await;
    assert_eq!(n.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(n.neutron_error().0, "HTTPServiceUnavailable");
    cloud.clear_faults();
    assert_eq!(
        c.get(&Client::lbaas("/loadbalancers")).await.status,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn a_conflict_burst_fails_exactly_the_next_n_matching_calls() {
    let cloud = cloud_with(|c| c.delays = ProvisioningDelays::ZERO).await;
    let c = Client::login(&cloud).await;
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    let id =
        cloud.add_fault(FaultRule::endpoint(Method::POST, "/v2/lbaas/loadbalancers").burst(2, 409));
    let mut got = Vec::new();
    for i in 0..3 {
        got.push(
            c.post(
                &Client::lbaas("/loadbalancers"),
                simple_lb_body(&format!("lb{i}"), &subnet),
            )
            .await
            .status
            .as_u16(),
        );
    }
    assert_eq!(got, vec![409, 409, 201]);
    assert_eq!(
        c.get(&Client::lbaas("/loadbalancers")).await.status,
        StatusCode::OK,
        "GETs untouched"
    );
    cloud.remove_fault(id);
    assert_eq!(
        cloud.call_count_with_status("POST", "/v2/lbaas/loadbalancers", 409),
        2
    );
    assert_eq!(
        cloud.snapshot().loadbalancers.len(),
        1,
        "refused creates change nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn dropped_connections_fail_the_request_and_count_as_status_0() {
    let cloud = cloud_with(|_| {}).await;
    let c = Client::login(&cloud).await;
    cloud.add_fault(FaultRule::endpoint(Method::GET, "/v2.0/floatingips").drop_rate(1.0));
    let err = c
        .try_send(Method::GET, &Client::neutron("/floatingips"), None)
        .await;
    assert!(err.is_err(), "the connection closes without a response");
    assert_eq!(
        cloud.call_count_with_status("GET", "/v2.0/floatingips", 0),
        1
    );
    assert_eq!(
        c.get(&Client::neutron("/ports")).await.status,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn latency_is_added_in_tokio_time() {
    let cloud = cloud_with(|_| {}).await;
    let c = Client::login(&cloud).await;
    cloud.add_fault(
        FaultRule::endpoint(Method::GET, "/v2/lbaas/providers").latency(Duration::from_secs(7)),
    );
    let start = tokio::time::Instant::now();
    assert_eq!(
        c.get(&Client::lbaas("/providers")).await.status,
        StatusCode::OK
    );
    assert!(start.elapsed() >= Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn calls_are_counted_by_method_template_and_status_in_order() {
    let cloud = cloud_with(|c| c.delays = ProvisioningDelays::ZERO).await;
    let c = Client::login(&cloud).await;
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    cloud.reset_calls();
    let id = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", &subnet),
        )
        .await
        .body["loadbalancer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.get(&Client::lbaas(&format!("/loadbalancers/{id}"))).await;
    c.get(&Client::lbaas(&format!("/loadbalancers/{id}"))).await;
    c.get(&Client::lbaas("/loadbalancers/does-not-exist")).await;
    c.put(
        &Client::lbaas(&format!("/loadbalancers/{id}")),
        json!({"loadbalancer": {"name": "x"}}),
    )
    .await;
    assert_eq!(cloud.call_count("GET", "/v2/lbaas/loadbalancers/{id}"), 3);
    assert_eq!(
        cloud.call_count_with_status("GET", "/v2/lbaas/loadbalancers/{id}", 404),
        1
    );
    assert_eq!(
        cloud.call_count_with_status("PUT", "/v2/lbaas/loadbalancers/{id}", 200),
        1
    );
    let log = cloud.call_log();
    assert_eq!(
        log.first(),
        Some(&Call {
            service: Service::Octavia,
            method: "POST".into(),
            path: "/v2/lbaas/loadbalancers".into(),
            status: 201
        })
    );
    assert_eq!(log.len(), 5);
    let calls = cloud.calls();
    assert_eq!(calls.values().sum::<u64>(), 5);
}

#[tokio::test(start_paused = true)]
async fn the_leak_report_flags_cluster_resources_of_services_that_are_gone() {
    let cloud = cloud_with(|c| c.delays = ProvisioningDelays::ZERO).await;
    let c = Client::login(&cloud).await;
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    let ext = cloud.fixture().external_network_id.clone();
    for (name, tags) in [
        ("live", json!(["kks-lb-cluster:c1", "kks-lb-service:live"])),
        (
            "orphan",
            json!(["kks-lb-cluster:c1", "kks-lb-service:gone"]),
        ),
        ("untagged-service", json!(["kks-lb-cluster:c1"])),
        (
            "other-cluster",
            json!(["kks-lb-cluster:c2", "kks-lb-service:gone"]),
        ),
    ] {
        let mut body = simple_lb_body(name, &subnet);
        body["loadbalancer"]["tags"] = tags.clone();
        assert_eq!(
            c.post(&Client::lbaas("/loadbalancers"), body).await.status,
            StatusCode::CREATED
        );
        // Neutron takes no tags in a floating IP POST: they are set with the tags API.
        let fip = c
            .post(
                &Client::neutron("/floatingips"),
                json!({"floatingip": {"floating_network_id": ext}}),
            )
            .await;
        assert_eq!(fip.status, StatusCode::CREATED, "{}", fip.raw);
        let fip_id = fip.body["floatingip"]["id"].as_str().unwrap();
        let put = c
            .put(
                &Client::neutron(&format!("/floatingips/{fip_id}/tags")),
                json!({ "tags": tags }),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.raw);
    }
    let report = cloud.leak_report("kks-lb-cluster:c1", ["kks-lb-service:live"]);
    let lbs: Vec<_> = report
        .loadbalancers
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(lbs, vec!["orphan", "untagged-service"]);
    assert_eq!(report.floating_ips.len(), 2);
    assert!(
        cloud
            .leak_report("kks-lb-cluster:c3", Vec::<String>::new())
            .is_empty()
    );
}
