//! Octavia emulation: validation errors with Octavia's fault texts, version gating, the OVN
//! provider's restrictions, quotas, discovery and list filters.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "openstack_support/mod.rs"]
mod support;

use kks_lb_octavia_model::api::octavia::{ApiVersion, VersionList};
use kks_lb_testkit::openstack::{FlavorSpec, ProvisioningDelays, QuotaLimits};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Client, cloud_with, full_lb_body, simple_lb_body};

async fn client_for(
    version: (u32, u32),
) -> (kks_lb_testkit::openstack::OpenStackEmulator, Client, String) {
    let cloud = cloud_with(|c| {
        c.max_api_version = ApiVersion::new(version.0, version.1);
        c.delays = ProvisioningDelays::ZERO;
        c.flavors = vec![FlavorSpec {
            id: "f-amp".into(),
            name: "small".into(),
            provider: "amphora".into(),
        }];
    })
    .await;
    let c = Client::login(&cloud).await;
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    (cloud, c, subnet)
}

fn lb_with_listener(subnet: &str, listener: Value) -> Value {
    json!({"loadbalancer": {"name": "lb", "vip_subnet_id": subnet, "listeners": [listener]}})
}

#[tokio::test(start_paused = true)]
async fn pools_inside_a_fully_populated_create_must_be_named() {
    let (_cloud, c, subnet) = client_for((2, 30)).await;
    let body = lb_with_listener(
        &subnet,
        json!({"protocol": "TCP", "protocol_port": 80, "default_pool": {"protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}}),
    );
    let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Real-octavia README quirk 5.
    assert_eq!(
        r.fault(),
        "Validation failure: Pools must be named when creating a fully populated loadbalancer."
    );
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_protocol_and_port_is_a_409_and_tcp_udp_may_share_a_port() {
    let (_cloud, c, subnet) = client_for((2, 30)).await;
    let body = json!({"loadbalancer": {"name": "lb", "vip_subnet_id": subnet, "listeners": [
        {"protocol": "TCP", "protocol_port": 53}, {"protocol": "UDP", "protocol_port": 53},
        {"protocol": "TCP", "protocol_port": 53}]}});
    let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.fault(),
        "Another Listener on this Load Balancer is already using protocol TCP and protocol_port 53"
    );
    // HTTP is TCP underneath: the message names the listener already on the port.
    let body = json!({"loadbalancer": {"name": "lb", "vip_subnet_id": subnet, "listeners": [
        {"protocol": "HTTP", "protocol_port": 80}, {"protocol": "TCP", "protocol_port": 80}]}});
    let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.fault(),
        "Another Listener on this Load Balancer is already using protocol HTTP and protocol_port 80"
    );
    let body = json!({"loadbalancer": {"name": "lb", "vip_subnet_id": subnet, "listeners": [
        {"protocol": "TCP", "protocol_port": 53}, {"protocol": "UDP", "protocol_port": 53}]}});
    let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    let id = r.body["loadbalancer"]["id"].as_str().unwrap();
    let dup = c
        .post(
            &Client::lbaas("/listeners"),
            json!({"listener": {"loadbalancer_id": id, "protocol": "UDP", "protocol_port": 53}}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(
        dup.fault(),
        "Another Listener on this Load Balancer is already using protocol UDP and protocol_port 53"
    );
    for protocol in ["HTTP", "HTTPS", "PROMETHEUS"] {
        let r = c
            .post(
                &Client::lbaas("/listeners"),
                json!({"listener": {"loadbalancer_id": id, "protocol": protocol, "protocol_port": 53}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{protocol}: {}", r.raw);
        assert_eq!(
            r.fault(),
            "Another Listener on this Load Balancer is already using protocol TCP and protocol_port 53",
            "{protocol}"
        );
    }
    let listeners = c
        .get(&Client::lbaas(&format!("/listeners?loadbalancer_id={id}")))
        .await;
    assert_eq!(listeners.body["listeners"].as_array().unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_monitor_timeout_above_its_delay_is_refused() {
    let (_cloud, c, subnet) = client_for((2, 30)).await;
    let body = lb_with_listener(
        &subnet,
        json!({"protocol": "TCP", "protocol_port": 80, "default_pool": {"name": "p", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
            "healthmonitor": {"type": "TCP", "delay": 3, "timeout": 5, "max_retries": 3}}}),
    );
    let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.fault()
            .starts_with("Validation failure: The health monitor timeout (5)"),
        "{}",
        r.fault()
    );
}

#[tokio::test(start_paused = true)]
async fn allowed_cidrs_below_2_12_is_an_unknown_attribute() {
    let (_cloud, c, subnet) = client_for((2, 11)).await;
    let body = lb_with_listener(
        &subnet,
        json!({"protocol": "TCP", "protocol_port": 80, "allowed_cidrs": ["10.0.0.0/8"]}),
    );
    let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.fault()
            .ends_with("Unknown attribute for argument listeners: allowed_cidrs"),
        "{}",
        r.fault()
    );
    let ok = c
        .post(
            &Client::lbaas("/loadbalancers"),
            lb_with_listener(&subnet, json!({"protocol": "TCP", "protocol_port": 80})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let versions: VersionList =
        serde_json::from_value(c.get("/load-balancer/").await.body).unwrap();
    assert_eq!(versions.max_version(), Some(ApiVersion::new(2, 11)));
}

#[tokio::test(start_paused = true)]
async fn tags_below_2_5_and_sctp_below_2_23_are_refused() {
    let (_cloud, c, subnet) = client_for((2, 4)).await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            json!({"loadbalancer": {"name": "lb", "vip_subnet_id": subnet, "tags": ["a"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.fault()
            .ends_with("Unknown attribute for argument loadbalancer: tags")
    );

    let (cloud, c, subnet) = client_for((2, 22)).await;
    let sctp = lb_with_listener(&subnet, json!({"protocol": "SCTP", "protocol_port": 9000}));
    let r = c.post(&Client::lbaas("/loadbalancers"), sctp.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.fault()
            .starts_with("Invalid input for field/attribute protocol. Value: 'SCTP'."),
        "{}",
        r.fault()
    );
    cloud.set_max_api_version(ApiVersion::new(2, 23));
    assert_eq!(
        c.post(&Client::lbaas("/loadbalancers"), sctp).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test(start_paused = true)]
async fn the_ovn_provider_refuses_l7_algorithms_cidrs_and_timeouts_with_501() {
    let (_cloud, c, subnet) = client_for((2, 30)).await;
    let ovn = |listener: Value| json!({"loadbalancer": {"name": "lb", "vip_subnet_id": subnet, "provider": "ovn", "listeners": [listener]}});
    let rr = ovn(json!({"protocol": "TCP", "protocol_port": 80,
        "default_pool": {"name": "p", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}}));
    let r = c.post(&Client::lbaas("/loadbalancers"), rr).await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(
        r.fault(),
        "Provider 'ovn' does not support a requested option: OVN provider does not support ROUND_ROBIN algorithm"
    );
    assert_eq!(r.body["faultcode"], "Server");
    let cidrs =
        ovn(json!({"protocol": "TCP", "protocol_port": 80, "allowed_cidrs": ["10.0.0.0/8"]}));
    let r = c.post(&Client::lbaas("/loadbalancers"), cidrs).await;
    assert!(
        r.fault()
            .ends_with("OVN provider does not support allowed_cidrs option")
    );
    let timeout = ovn(json!({"protocol": "TCP", "protocol_port": 80, "timeout_client_data": 1000}));
    let r = c.post(&Client::lbaas("/loadbalancers"), timeout).await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    let http = ovn(json!({"protocol": "HTTP", "protocol_port": 80}));
    assert!(
        c.post(&Client::lbaas("/loadbalancers"), http)
            .await
            .fault()
            .ends_with("OVN provider does not support HTTP protocol")
    );
    for algorithm in ["SOURCE_IP_PORT", "SOURCE_IP"] {
        let ok = ovn(json!({"protocol": "TCP", "protocol_port": 80,
            "default_pool": {"name": "p", "protocol": "TCP", "lb_algorithm": algorithm}}));
        assert_eq!(
            c.post(&Client::lbaas("/loadbalancers"), ok).await.status,
            StatusCode::CREATED,
            "{algorithm}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn flavors_and_providers_are_checked() {
    let (_cloud, c, subnet) = client_for((2, 30)).await;
    let mk = |extra: Value| {
        let mut b = simple_lb_body("lb", &subnet);
        for (k, v) in extra.as_object().unwrap() {
            b["loadbalancer"][k] = v.clone();
        }
        b
    };
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            mk(json!({"flavor_id": "nope"})),
        )
        .await;
    assert_eq!(r.fault(), "Validation failure: Invalid flavor_id.");
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            mk(json!({"flavor_id": "f-amp", "provider": "ovn"})),
        )
        .await;
    assert_eq!(
        r.fault(),
        "Flavor 'f-amp' is not compatible with provider 'ovn'"
    );
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            mk(json!({"provider": "f5"})),
        )
        .await;
    assert_eq!(r.fault(), "Provider 'f5' is not enabled.");
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            mk(json!({"flavor_id": "f-amp"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["loadbalancer"]["provider"], "amphora");
    let providers = c.get(&Client::lbaas("/providers")).await;
    let names: Vec<_> = providers.body["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["amphora", "ovn"]);
}

#[tokio::test(start_paused = true)]
async fn listener_and_pool_protocols_must_be_compatible() {
    let (_cloud, c, subnet) = client_for((2, 30)).await;
    let body = lb_with_listener(
        &subnet,
        json!({"protocol": "TCP", "protocol_port": 80, "default_pool": {"name": "p", "protocol": "UDP", "lb_algorithm": "ROUND_ROBIN"}}),
    );
    let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.fault(),
        "Validation failure: The pool protocol 'UDP' is invalid while the listener protocol is 'TCP'."
    );
    let proxy = lb_with_listener(
        &subnet,
        json!({"protocol": "TCP", "protocol_port": 80, "default_pool": {"name": "p", "protocol": "PROXYV2", "lb_algorithm": "ROUND_ROBIN"}}),
    );
    assert_eq!(
        c.post(&Client::lbaas("/loadbalancers"), proxy).await.status,
        StatusCode::CREATED
    );
    let xff_on_tcp = lb_with_listener(
        &subnet,
        json!({"protocol": "TCP", "protocol_port": 81, "insert_headers": {"X-Forwarded-For": "true"}}),
    );
    let r = c.post(&Client::lbaas("/loadbalancers"), xff_on_tcp).await;
    assert_eq!(
        r.fault(),
        "insert-headers is not a valid option for a TCP protocol listener."
    );
}

#[tokio::test(start_paused = true)]
async fn an_unknown_vip_subnet_or_a_missing_vip_is_a_400() {
    let (_cloud, c, _subnet) = client_for((2, 30)).await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", "11111111-2222-3333-4444-555555555555"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.fault(),
        "Subnet 11111111-2222-3333-4444-555555555555 not found."
    );
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            json!({"loadbalancer": {"name": "lb"}}),
        )
        .await;
    assert_eq!(
        r.fault(),
        "Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id."
    );
}

#[tokio::test(start_paused = true)]
async fn vip_network_id_picks_its_subnet_and_vip_address_is_honoured() {
    let (cloud, c, subnet) = client_for((2, 30)).await;
    let net = cloud.fixture().cluster_network_id.clone();
    let r = c
        .post(&Client::lbaas("/loadbalancers"), json!({"loadbalancer": {"name": "lb", "vip_network_id": net, "vip_address": "10.0.0.77"}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    assert_eq!(r.body["loadbalancer"]["vip_subnet_id"], subnet.as_str());
    assert_eq!(r.body["loadbalancer"]["vip_address"], "10.0.0.77");
    let again = c
        .post(&Client::lbaas("/loadbalancers"), json!({"loadbalancer": {"name": "lb2", "vip_subnet_id": subnet, "vip_address": "10.0.0.77"}}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.fault(),
        format!("IP address 10.0.0.77 already allocated in subnet {subnet}")
    );
}

#[tokio::test(start_paused = true)]
async fn exceeding_the_lb_or_listener_quota_is_a_403() {
    let (cloud, c, subnet) = client_for((2, 30)).await;
    let project = cloud.fixture().project_id.clone();
    cloud.set_quota(
        &project,
        QuotaLimits {
            load_balancer: 1,
            listener: 2,
            ..QuotaLimits::default()
        },
    );
    let quota = c.get(&Client::lbaas(&format!("/quotas/{project}"))).await;
    assert_eq!(quota.body["quota"]["load_balancer"], 1);
    assert_eq!(quota.body["quota"]["loadbalancer"], 1);
    assert_eq!(quota.body["quota"]["listener"], 2);
    let three = json!({"loadbalancer": {"name": "lb", "vip_subnet_id": subnet, "listeners": [
        {"protocol": "TCP", "protocol_port": 1}, {"protocol": "TCP", "protocol_port": 2}, {"protocol": "TCP", "protocol_port": 3}]}});
    let r = c.post(&Client::lbaas("/loadbalancers"), three).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.fault(), "Quota has been met for resources: Listener");
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("one", &subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("two", &subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.fault(), "Quota has been met for resources: Load Balancer");
}

#[tokio::test(start_paused = true)]
async fn lists_filter_by_name_id_tags_and_parent_and_paginate() {
    let (_cloud, c, subnet) = client_for((2, 30)).await;
    let mut ids = Vec::new();
    for (name, tags) in [
        ("a", json!(["x", "y"])),
        ("b", json!(["y"])),
        ("c", json!([])),
    ] {
        let mut body = simple_lb_body(name, &subnet);
        body["loadbalancer"]["tags"] = tags;
        ids.push(
            c.post(&Client::lbaas("/loadbalancers"), body).await.body["loadbalancer"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let names = |r: &support::Reply| -> Vec<String> {
        r.body["loadbalancers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&c.get(&Client::lbaas("/loadbalancers?name=b")).await),
        vec!["b"]
    );
    assert_eq!(
        names(&c.get(&Client::lbaas("/loadbalancers?tags=x,y")).await),
        vec!["a"]
    );
    assert_eq!(
        names(&c.get(&Client::lbaas("/loadbalancers?tags-any=y")).await),
        vec!["a", "b"]
    );
    assert_eq!(
        names(&c.get(&Client::lbaas("/loadbalancers?not-tags-any=y")).await),
        vec!["c"]
    );
    let by_id = format!("/loadbalancers?id={}&id={}", ids[0], ids[2]);
    assert_eq!(names(&c.get(&Client::lbaas(&by_id)).await), vec!["a", "c"]);
    let page = c.get(&Client::lbaas("/loadbalancers?limit=2")).await;
    assert_eq!(names(&page), vec!["a", "b"]);
    let next = page.body["loadbalancers_links"][0]["href"]
        .as_str()
        .unwrap();
    assert!(next.ends_with(&format!("limit=2&marker={}", ids[1])));
    let rest = c
        .get(&Client::lbaas(&format!(
            "/loadbalancers?limit=2&marker={}",
            ids[1]
        )))
        .await;
    assert_eq!(names(&rest), vec!["c"]);

    let full = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("full", &subnet),
        )
        .await;
    let full_id = full.body["loadbalancer"]["id"].as_str().unwrap();
    let listeners = c
        .get(&Client::lbaas(&format!(
            "/listeners?loadbalancer_id={full_id}"
        )))
        .await;
    assert_eq!(listeners.body["listeners"].as_array().unwrap().len(), 2);
    let none = c
        .get(&Client::lbaas(&format!(
            "/pools?loadbalancer_id={}",
            ids[0]
        )))
        .await;
    assert!(none.body["pools"].as_array().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn put_bodies_refuse_immutable_fields() {
    let (_cloud, c, subnet) = client_for((2, 30)).await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("lb", &subnet),
        )
        .await;
    let listener = r.body["loadbalancer"]["listeners"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let put = c
        .put(
            &Client::lbaas(&format!("/listeners/{listener}")),
            json!({"listener": {"protocol_port": 81}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::BAD_REQUEST);
    assert!(
        put.fault()
            .ends_with("Unknown attribute for argument listener: protocol_port")
    );
}

/// The 500 Octavia 19 answers to nested children in a single-object create.
fn sa_instance_state_fault() -> Value {
    json!({"faultcode": "Server",
           "faultstring": "'dict' object has no attribute '_sa_instance_state'",
           "debuginfo": null})
}

/// An ACTIVE load balancer without children; returns its id.
async fn bare_lb(c: &Client, subnet: &str) -> String {
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    r.body["loadbalancer"]["id"].as_str().unwrap().to_owned()
}

async fn count(c: &Client, collection: &str, lb_id: &str) -> usize {
    c.get(&Client::lbaas(&format!(
        "/{collection}?loadbalancer_id={lb_id}"
    )))
    .await
    .body[collection]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test(start_paused = true)]
async fn a_listener_post_with_a_nested_default_pool_is_a_500_and_creates_nothing() {
    let (cloud, c, subnet) = client_for((2, 30)).await;
    let id = bare_lb(&c, &subnet).await;
    for pool in [
        json!({"name": "p1", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
               "members": [{"address": "10.0.0.5", "protocol_port": 30053}],
               "healthmonitor": {"type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3}}),
        json!({"name": "p2", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}),
        json!({}),
    ] {
        let r = c
            .post(
                &Client::lbaas("/listeners"),
                json!({"listener": {"loadbalancer_id": id, "protocol": "TCP", "protocol_port": 1001,
                    "default_pool": pool}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.raw);
        assert_eq!(r.body, sa_instance_state_fault());
    }
    assert_eq!(count(&c, "listeners", &id).await, 0);
    assert_eq!(count(&c, "pools", &id).await, 0);
    assert_eq!(
        cloud.provisioning_status(&id),
        Some(kks_lb_octavia_model::ProvisioningStatus::Active),
        "the refused create leaves the load balancer alone"
    );

    // An unknown attribute inside the nested pool is still the schema's 400.
    let r = c
        .post(
            &Client::lbaas("/listeners"),
            json!({"listener": {"loadbalancer_id": id, "protocol": "TCP", "protocol_port": 1001,
                "default_pool": {"bogus": 1}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.raw);

    // `null` is no pool at all.
    let r = c
        .post(
            &Client::lbaas("/listeners"),
            json!({"listener": {"loadbalancer_id": id, "protocol": "TCP", "protocol_port": 1001,
                "default_pool": null}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    assert!(r.body["listener"]["default_pool_id"].is_null());
    // A taken port is refused before the nested pool is looked at.
    let r = c
        .post(
            &Client::lbaas("/listeners"),
            json!({"listener": {"loadbalancer_id": id, "protocol": "HTTP", "protocol_port": 1001,
                "default_pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.raw);
}

#[tokio::test(start_paused = true)]
async fn a_listener_post_with_the_default_pool_id_of_an_unattached_pool_is_a_201() {
    let (_cloud, c, subnet) = client_for((2, 30)).await;
    let id = bare_lb(&c, &subnet).await;
    let p = c
        .post(
            &Client::lbaas("/pools"),
            json!({"pool": {"loadbalancer_id": id, "name": "p4", "protocol": "TCP",
                "lb_algorithm": "ROUND_ROBIN"}}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
    assert_eq!(p.body["pool"]["listeners"], json!([]));
    let pool_id = p.body["pool"]["id"].as_str().unwrap().to_owned();
    let l = c
        .post(
            &Client::lbaas("/listeners"),
            json!({"listener": {"loadbalancer_id": id, "name": "l4", "protocol": "TCP",
                "protocol_port": 1004, "default_pool_id": pool_id}}),
        )
        .await;
    assert_eq!(l.status, StatusCode::CREATED, "{}", l.raw);
    assert_eq!(l.body["listener"]["default_pool_id"], pool_id.as_str());
    let listener_id = l.body["listener"]["id"].as_str().unwrap();
    let pool = c.get(&Client::lbaas(&format!("/pools/{pool_id}"))).await;
    assert_eq!(pool.body["pool"]["listeners"], json!([{"id": listener_id}]));
}

#[tokio::test(start_paused = true)]
async fn a_pool_post_with_nested_members_or_monitor_is_a_500_and_creates_nothing() {
    let (cloud, c, subnet) = client_for((2, 30)).await;
    let id = bare_lb(&c, &subnet).await;
    let l = c
        .post(
            &Client::lbaas("/listeners"),
            json!({"listener": {"loadbalancer_id": id, "protocol": "TCP", "protocol_port": 1003}}),
        )
        .await;
    let listener_id = l.body["listener"]["id"].as_str().unwrap().to_owned();
    let member = json!([{"address": "10.0.0.5", "protocol_port": 30053}]);
    let monitor = json!({"type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3});
    for (members, healthmonitor) in [
        (member.clone(), monitor.clone()),
        (member.clone(), Value::Null),
        (json!([]), monitor.clone()),
    ] {
        let r = c
            .post(
                &Client::lbaas("/pools"),
                json!({"pool": {"listener_id": listener_id, "protocol": "TCP",
                    "lb_algorithm": "ROUND_ROBIN", "members": members,
                    "healthmonitor": healthmonitor}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.raw);
        assert_eq!(r.body, sa_instance_state_fault());
    }
    assert_eq!(count(&c, "pools", &id).await, 0);
    assert_eq!(
        cloud.provisioning_status(&id),
        Some(kks_lb_octavia_model::ProvisioningStatus::Active)
    );
    let listener = c
        .get(&Client::lbaas(&format!("/listeners/{listener_id}")))
        .await;
    assert!(listener.body["listener"]["default_pool_id"].is_null());

    // Nested attributes are still checked by the schema first.
    let r = c
        .post(
            &Client::lbaas("/pools"),
            json!({"pool": {"listener_id": listener_id, "protocol": "TCP",
                "lb_algorithm": "ROUND_ROBIN",
                "members": [{"address": "10.0.0.5", "protocol_port": 1, "bogus": 1}]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.raw);

    // An empty member list and a null monitor are no children: 201.
    let r = c
        .post(
            &Client::lbaas("/pools"),
            json!({"pool": {"listener_id": listener_id, "protocol": "TCP",
                "lb_algorithm": "ROUND_ROBIN", "members": [], "healthmonitor": null}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    assert_eq!(r.body["pool"]["members"], json!([]));
    assert!(r.body["pool"]["healthmonitor_id"].is_null());
}

#[tokio::test(start_paused = true)]
async fn healthmonitors_filter_by_pool_id() {
    let (_cloud, c, subnet) = client_for((2, 30)).await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("full", &subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    let pools = r.body["loadbalancer"]["pools"].as_array().unwrap().clone();
    let tcp = pools.iter().find(|p| p["name"] == "pool_TCP_80").unwrap();
    let udp = pools.iter().find(|p| p["name"] == "pool_UDP_53").unwrap();
    let tcp_pool = tcp["id"].as_str().unwrap();
    let tcp_hm = tcp["healthmonitor"]["id"].as_str().unwrap();
    let monitor = c
        .post(
            &Client::lbaas("/healthmonitors"),
            json!({"healthmonitor": {"pool_id": udp["id"], "type": "UDP-CONNECT", "delay": 5,
                "timeout": 3, "max_retries": 3}}),
        )
        .await;
    assert_eq!(monitor.status, StatusCode::CREATED, "{}", monitor.raw);
    let ids = |r: &support::Reply| -> Vec<String> {
        r.body["healthmonitors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&c.get(&Client::lbaas("/healthmonitors")).await).len(),
        2
    );
    assert_eq!(
        ids(&c
            .get(&Client::lbaas(&format!(
                "/healthmonitors?pool_id={tcp_pool}"
            )))
            .await),
        vec![tcp_hm.to_owned()]
    );
    assert!(
        ids(&c
            .get(&Client::lbaas(
                "/healthmonitors?pool_id=00000000-0000-4000-8000-000000000000"
            ))
            .await)
        .is_empty()
    );
}
