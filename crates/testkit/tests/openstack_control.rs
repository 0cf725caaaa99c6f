//! The emulator's HTTP control API under `/_emulator/` (docs/emulator.md): faults, one-shot
//! faults and counters, accounting, the leak report and delays, driven only through HTTP.
//!
//! These tests run on real time: the long-poll `fired` endpoint has a timeout, which a paused
//! clock would advance while the server waits for socket I/O.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "openstack_support/mod.rs"]
mod support;

use std::time::Duration;

use kks_lb_testkit::openstack::{OpenStackEmulator, ProvisioningDelays};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Client, Reply, cloud_with, simple_lb_body};

async fn setup() -> (OpenStackEmulator, Client, Client, String) {
    let cloud = cloud_with(|c| c.delays = ProvisioningDelays::ZERO).await;
    let c = Client::login(&cloud).await;
    // The control API needs no token.
    let ctl = Client::anonymous(&cloud);
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    (cloud, c, ctl, subnet)
}

async fn add(ctl: &Client, body: Value) -> Reply {
    ctl.post("/_emulator/faults", body).await
}

async fn create_lb(c: &Client, name: &str, subnet: &str) -> Reply {
    c.post(
        &Client::lbaas("/loadbalancers"),
        simple_lb_body(name, subnet),
    )
    .await
}

#[tokio::test]
async fn rules_one_shot_faults_and_counters_are_added_listed_and_removed() {
    let (cloud, c, ctl, subnet) = setup().await;
    let rule = add(
        &ctl,
        json!({"type": "rule", "method": "post", "path": "/v2/lbaas/loadbalancers",
               "burst": 1, "burst_status": 409}),
    )
    .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.raw);
    assert_eq!(rule.body["type"], "rule");
    assert_eq!(rule.body["method"], "POST");
    let shot = add(
        &ctl,
        json!({"type": "one_shot", "service": "octavia", "mutating": true, "nth": 1,
               "kind": "commit_then_fail", "reply": {"status": 504}}),
    )
    .await;
    assert_eq!(shot.status, StatusCode::CREATED, "{}", shot.raw);
    assert_eq!(shot.body["fired"], Value::Null);
    let counter = add(&ctl, json!({"type": "counter", "mutating": true})).await;
    assert_eq!(counter.status, StatusCode::CREATED, "{}", counter.raw);
    let ids: Vec<u64> = [&rule, &shot, &counter]
        .iter()
        .map(|r| r.body["id"].as_u64().unwrap())
        .collect();

    let listed = ctl.get("/_emulator/faults").await;
    let types: Vec<(u64, &str)> = listed.body["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_u64().unwrap(), f["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        types,
        vec![(ids[0], "rule"), (ids[1], "one_shot"), (ids[2], "counter")]
    );

    // Call 0: the burst (the one-shot counts it). Call 1: committed, then 504.
    assert_eq!(
        create_lb(&c, "a", &subnet).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        create_lb(&c, "b", &subnet).await.status,
        StatusCode::GATEWAY_TIMEOUT
    );
    let names: Vec<String> = cloud
        .snapshot()
        .loadbalancers
        .iter()
        .map(|t| t.loadbalancer.name.clone())
        .collect();
    assert_eq!(names, vec!["b"]);
    let got = ctl.get(&format!("/_emulator/faults/{}", ids[1])).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["seen"], 2);
    assert_eq!(got.body["kind"], "commit_then_fail");
    assert_eq!(got.body["reply"], json!({"status": 504}));
    let fired = &got.body["fired"];
    assert_eq!(fired["index"], 1);
    assert_eq!(fired["service"], "octavia");
    assert_eq!(fired["method"], "POST");
    assert_eq!(fired["path"], "/v2/lbaas/loadbalancers");
    assert_eq!(fired["status"], 201);
    assert_eq!(fired["committed"], true);
    let body: Value = serde_json::from_str(fired["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["loadbalancer"]["name"], "b");
    let counted = ctl.get(&format!("/_emulator/faults/{}", ids[2])).await;
    assert_eq!(counted.body["seen"], 2);

    let del = ctl.delete(&format!("/_emulator/faults/{}", ids[0])).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let again = ctl.delete(&format!("/_emulator/faults/{}", ids[0])).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.body["error"].as_str().unwrap().contains("no fault"));
    assert_eq!(
        ctl.delete("/_emulator/faults").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(ctl.get("/_emulator/faults").await.body["faults"], json!([]));
}

#[tokio::test]
async fn bad_fault_bodies_are_400_naming_the_field() {
    let (_cloud, _c, ctl, _) = setup().await;
    let cases = [
        (
            json!({"type": "one_shot", "nth": 0, "kind": "commit_then_fail"}),
            "reply",
        ),
        (
            json!({"type": "one_shot", "nth": 0, "kind": "before_commit", "reply": {"status": 200}}),
            "reply.status",
        ),
        (
            json!({"type": "one_shot", "nth": 0, "kind": "crash_after_commit", "reply": "drop"}),
            "reply",
        ),
        (
            json!({"type": "one_shot", "nth": 0, "kind": "later", "reply": "drop"}),
            "kind: \"later\"",
        ),
        (json!({"type": "counter", "service": "glance"}), "glance"),
        (json!({"type": "counter", "method": "GE T"}), "method"),
        (json!({"type": "rule", "error_rate": 2.0}), "error_rate"),
        (json!({"type": "rule", "nth": 3}), "nth"),
        (json!({"type": "surprise"}), "surprise"),
    ];
    for (body, needle) in cases {
        let r = add(&ctl, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.raw);
        let msg = r.body["error"].as_str().unwrap();
        assert!(msg.contains(needle), "{body}: {msg:?} names {needle:?}");
    }
    assert_eq!(ctl.get("/_emulator/faults").await.body["faults"], json!([]));
    let bad_id = ctl.get("/_emulator/faults/abc").await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    assert!(bad_id.body["error"].as_str().unwrap().contains("abc"));
    let unknown = ctl.get("/_emulator/nothing-here").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body["error"].is_string());
}

#[tokio::test]
async fn a_crash_after_commit_is_awaited_over_http_and_released_by_removal() {
    let (cloud, c, ctl, _) = setup().await;
    let ext = cloud.fixture().external_network_id.clone();
    let shot = add(
        &ctl,
        json!({"type": "one_shot", "method": "POST", "service": "neutron",
               "path": "/v2.0/floatingips", "nth": 0, "kind": "crash_after_commit"}),
    )
    .await;
    assert_eq!(shot.status, StatusCode::CREATED, "{}", shot.raw);
    assert!(shot.body.get("reply").is_none());
    let id = shot.body["id"].as_u64().unwrap();
    let client = tokio::spawn(async move {
        c.try_send(
            Method::POST,
            &Client::neutron("/floatingips"),
            Some(json!({"floatingip": {"floating_network_id": ext, "description": "held"}})),
        )
        .await
    });
    let fired = ctl
        .get(&format!("/_emulator/faults/{id}/fired?timeout_ms=10000"))
        .await;
    assert_eq!(fired.status, StatusCode::OK, "{}", fired.raw);
    assert_eq!(fired.body["fired"]["committed"], true);
    assert_eq!(fired.body["fired"]["status"], 201);
    let fips = cloud.snapshot().floating_ips;
    assert_eq!(fips.len(), 1, "committed");
    assert_eq!(fips[0].description, "held");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!client.is_finished(), "no answer while the fault holds it");
    let calls = ctl
        .get("/_emulator/calls?method=POST&path=/v2.0/floatingips")
        .await;
    assert_eq!(calls.body["log"][0]["status"], 0, "counted as unanswered");
    assert_eq!(
        ctl.delete(&format!("/_emulator/faults/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let r = tokio::time::timeout(Duration::from_secs(10), client)
        .await
        .expect("released")
        .unwrap();
    assert!(r.is_err(), "closed without an answer: {r:?}");
}

#[tokio::test]
async fn waiting_for_a_fault_that_does_not_fire_times_out_and_counters_never_fire() {
    let (_cloud, _c, ctl, _) = setup().await;
    let shot = add(
        &ctl,
        json!({"type": "one_shot", "nth": 5, "kind": "before_commit", "reply": "drop"}),
    )
    .await;
    let id = shot.body["id"].as_u64().unwrap();
    let r = ctl
        .get(&format!("/_emulator/faults/{id}/fired?timeout_ms=50"))
        .await;
    assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT);
    assert!(r.body["error"].as_str().unwrap().contains("50 ms"));
    let counter = add(&ctl, json!({"type": "counter"})).await;
    let cid = counter.body["id"].as_u64().unwrap();
    let r = ctl.get(&format!("/_emulator/faults/{cid}/fired")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"].as_str().unwrap().contains("counter"));
    let r = ctl.get("/_emulator/faults/999/fired").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn calls_are_read_filtered_and_reset_and_control_calls_are_not_counted() {
    let (_cloud, c, ctl, subnet) = setup().await;
    ctl.delete("/_emulator/calls").await;
    create_lb(&c, "a", &subnet).await;
    c.get(&Client::lbaas("/loadbalancers")).await;
    c.get(&Client::neutron("/floatingips")).await;
    let all = ctl.get("/_emulator/calls").await;
    assert_eq!(all.body["total"], 3, "{}", all.raw);
    let log: Vec<(String, String)> = all.body["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["method"].as_str().unwrap().to_owned(),
                c["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        log,
        vec![
            ("POST".to_owned(), "/v2/lbaas/loadbalancers".to_owned()),
            ("GET".to_owned(), "/v2/lbaas/loadbalancers".to_owned()),
            ("GET".to_owned(), "/v2.0/floatingips".to_owned()),
        ]
    );
    let octavia = ctl.get("/_emulator/calls?service=octavia").await;
    assert_eq!(octavia.body["total"], 2);
    let counts = octavia.body["counts"].as_array().unwrap();
    assert_eq!(counts.len(), 2);
    assert!(
        counts
            .iter()
            .all(|c| c["service"] == "octavia" && c["count"] == 1)
    );
    let created = ctl
        .get("/_emulator/calls?method=POST&status=201&status=202")
        .await;
    assert_eq!(created.body["total"], 1);
    assert_eq!(
        ctl.get("/_emulator/calls?service=glance").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        ctl.delete("/_emulator/calls").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(ctl.get("/_emulator/calls").await.body["total"], 0);
}

#[tokio::test]
async fn the_leak_report_takes_the_cluster_tag_and_live_service_tags() {
    let (cloud, c, ctl, subnet) = setup().await;
    for (name, svc) in [("a", "u1"), ("b", "u2")] {
        let r = c
            .post(
                &Client::lbaas("/loadbalancers"),
                json!({"loadbalancer": {"name": name, "vip_subnet_id": subnet,
                    "tags": ["kks-lb-cluster:c1", format!("kks-lb-service:{svc}")]}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let ext = cloud.fixture().external_network_id.clone();
    let fip = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext}}),
        )
        .await;
    let fip_id = fip.body["floatingip"]["id"].as_str().unwrap().to_owned();
    c.put(
        &Client::neutron(&format!("/floatingips/{fip_id}/tags")),
        json!({"tags": ["kks-lb-cluster:c1"]}),
    )
    .await;
    let both = ctl
        .get("/_emulator/leaks?cluster_tag=kks-lb-cluster:c1&service_tag=kks-lb-service:u1&service_tag=kks-lb-service:u2")
        .await;
    assert_eq!(both.status, StatusCode::OK, "{}", both.raw);
    assert_eq!(both.body["empty"], false, "the untagged floating IP leaks");
    assert_eq!(both.body["loadbalancers"], json!([]));
    assert_eq!(both.body["floating_ips"][0]["id"], fip_id.as_str());
    let one = ctl
        .get("/_emulator/leaks?cluster_tag=kks-lb-cluster%3Ac1&service_tag=kks-lb-service:u1")
        .await;
    let leaked: Vec<&str> = one.body["loadbalancers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(leaked, vec!["b"]);
    assert_eq!(
        one.body["loadbalancers"][0]["tags"],
        json!(["kks-lb-cluster:c1", "kks-lb-service:u2"])
    );
    let comma = ctl
        .get("/_emulator/leaks?cluster_tag=kks-lb-cluster:c1&service_tag=kks-lb-service:u1,kks-lb-service:u2")
        .await;
    assert_eq!(comma.body["loadbalancers"], json!([]));
    let other = ctl
        .get("/_emulator/leaks?cluster_tag=kks-lb-cluster:c2")
        .await;
    assert_eq!(other.body["empty"], true);
    let missing = ctl.get("/_emulator/leaks").await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(
        missing.body["error"]
            .as_str()
            .unwrap()
            .contains("cluster_tag")
    );
}

#[tokio::test]
async fn delays_and_load_balancer_faults_are_set_over_http() {
    let (cloud, c, ctl, subnet) = setup().await;
    let d = ctl
        .put("/_emulator/delays", json!({"create_ms": 3_600_000}))
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.raw);
    assert_eq!(
        d.body,
        json!({"create_ms": 3_600_000, "update_ms": 0, "delete_ms": 0})
    );
    assert_eq!(ctl.get("/_emulator/delays").await.body, d.body);
    let slow = create_lb(&c, "slow", &subnet).await;
    let slow_id = slow.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    ctl.put("/_emulator/delays", json!({"create_ms": 0})).await;
    let fast = create_lb(&c, "fast", &subnet).await;
    let fast_id = fast.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    let status = |id: &str| {
        cloud
            .provisioning_status(id)
            .map(|s| s.to_string())
            .unwrap()
    };
    assert_eq!(status(&slow_id), "PENDING_CREATE");
    assert_eq!(status(&fast_id), "ACTIVE");
    assert_eq!(
        ctl.put("/_emulator/delays", json!({"create": 1}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    let f = ctl
        .put(
            "/_emulator/faults/load-balancers",
            json!({"fail_next_creates": 1, "stick": [fast_id]}),
        )
        .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.raw);
    assert_eq!(f.body["fail_next_creates"], 1);
    assert_eq!(f.body["stuck"], json!([fast_id]));
    let failed = create_lb(&c, "failed", &subnet).await;
    let failed_id = failed.body["loadbalancer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(status(&failed_id), "ERROR");
    let after = ctl.get("/_emulator/faults/load-balancers").await;
    assert_eq!(after.body["fail_next_creates"], 0, "consumed");
    let cleared = ctl
        .put(
            "/_emulator/faults/load-balancers",
            json!({"unstick": [fast_id]}),
        )
        .await;
    assert_eq!(cleared.body["stuck"], json!([]));
}

#[tokio::test]
async fn member_health_is_set_over_http_and_bad_values_are_refused_by_name() {
    let (cloud, c, ctl, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            support::full_lb_body("health", &subnet),
        )
        .await;
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    let set = ctl
        .put(
            "/_emulator/member-health",
            json!({"192.0.2.10": "OFFLINE", "192.0.2.99": "ERROR"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.raw);
    assert_eq!(
        set.body,
        json!({"member_health": {"192.0.2.10": "OFFLINE", "192.0.2.99": "ERROR"}})
    );
    let lb = c.get(&Client::lbaas(&format!("/loadbalancers/{id}"))).await;
    assert_eq!(lb.body["loadbalancer"]["operating_status"], "DEGRADED");

    let bad = ctl
        .put(
            "/_emulator/member-health",
            json!({"192.0.2.10": null, "192.0.2.11": "NO_MONITOR"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.raw.contains("192.0.2.11") && bad.raw.contains("NO_MONITOR"),
        "{}",
        bad.raw
    );
    assert_eq!(
        ctl.get("/_emulator/member-health").await.body["member_health"]["192.0.2.10"],
        "OFFLINE",
        "nothing changed"
    );

    let clear = ctl
        .put(
            "/_emulator/member-health",
            json!({"192.0.2.10": null, "192.0.2.99": null}),
        )
        .await;
    assert_eq!(clear.body, json!({"member_health": {}}));
    let lb = c.get(&Client::lbaas(&format!("/loadbalancers/{id}"))).await;
    assert_eq!(lb.body["loadbalancer"]["operating_status"], "ONLINE");
    drop(cloud);
}
