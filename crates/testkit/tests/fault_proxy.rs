//! The fault proxy in front of the OpenStack emulator: answers pass through unchanged, and the
//! one-shot faults act like the emulator's own (before commit, commit then fail, crash after
//! commit).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "openstack_support/mod.rs"]
mod support;

use std::time::Duration;

use kks_lb_testkit::fault_proxy::FaultProxy;
use kks_lb_testkit::openstack::{
    CallMatcher, OneShotFault, OpenStackEmulator, ProvisioningDelays, Reply, Service,
};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Client, cloud_with, simple_lb_body};

const LBS: &str = "/v2/lbaas/loadbalancers";

/// An emulator, a direct client and a client whose Octavia calls go through `proxy`.
struct Setup {
    cloud: OpenStackEmulator,
    proxy: FaultProxy,
    direct: Client,
    proxied: Client,
    subnet: String,
}

async fn setup(service: Service) -> Setup {
    let cloud = cloud_with(|c| c.delays = ProvisioningDelays::ZERO).await;
    let upstream = match service {
        Service::Neutron => cloud.neutron_url().to_owned(),
        _ => cloud.octavia_url().to_owned(),
    };
    let proxy = FaultProxy::start(&upstream, service).await.unwrap();
    let direct = Client::login(&cloud).await;
    let mut proxied = Client::anonymous(&cloud);
    proxied.token = direct.token.clone();
    proxied.base = format!("http://{}", proxy.addr());
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    Setup {
        cloud,
        proxy,
        direct,
        proxied,
        subnet,
    }
}

fn lb_names(cloud: &OpenStackEmulator) -> Vec<String> {
    cloud
        .snapshot()
        .loadbalancers
        .iter()
        .map(|t| t.loadbalancer.name.clone())
        .collect()
}

#[tokio::test]
async fn without_faults_requests_and_answers_pass_unchanged() {
    let s = setup(Service::Octavia).await;
    assert!(
        s.proxy.url().ends_with("/load-balancer"),
        "{}",
        s.proxy.url()
    );
    let created = s
        .proxied
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("a", &s.subnet),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    assert!(created.headers.contains_key("x-openstack-request-id"));
    s.direct
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("b", &s.subnet),
        )
        .await;
    let id = created.body["loadbalancer"]["id"].as_str().unwrap();

    // The same GET, with a query, directly and through the proxy.
    let path = Client::lbaas(&format!("/loadbalancers/{id}"));
    let direct = s.direct.get(&path).await;
    let proxied = s.proxied.get(&path).await;
    assert_eq!(proxied.status, direct.status);
    assert_eq!(proxied.body, direct.body);
    assert_eq!(
        proxied.headers["content-type"],
        direct.headers["content-type"]
    );
    let only_b = s.proxied.get(&Client::lbaas("/loadbalancers?name=b")).await;
    let names: Vec<_> = only_b.body["loadbalancers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b"], "the query reached the upstream");

    // Errors and empty bodies pass unchanged too.
    let missing = s.proxied.get(&Client::lbaas("/loadbalancers/nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.body,
        s.direct
            .get(&Client::lbaas("/loadbalancers/nope"))
            .await
            .body
    );
    let deleted = s.proxied.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.raw, "");
    assert_eq!(lb_names(&s.cloud), ["b"]);

    // The version document's links name the proxy, so discovered endpoints go through it.
    let direct = s.direct.get("/load-balancer/").await;
    assert!(direct.raw.contains(s.cloud.url()), "{}", direct.raw);
    let proxied = s.proxied.get("/load-balancer/").await;
    let own = format!("http://{}", s.proxy.addr());
    assert!(proxied.raw.contains(&own), "{}", proxied.raw);
    assert!(!proxied.raw.contains(s.cloud.url()), "{}", proxied.raw);
    assert_eq!(proxied.raw, direct.raw.replace(s.cloud.url(), &own));
}

#[tokio::test]
async fn before_commit_answers_without_forwarding_and_counts_only_writes() {
    let s = setup(Service::Octavia).await;
    let fault = s.proxy.arm_fault(OneShotFault::before_commit(
        CallMatcher::mutating(),
        1,
        Reply::Status(503),
    ));
    let mut statuses = Vec::new();
    for i in 0..3 {
        s.proxied.get(&Client::lbaas("/loadbalancers")).await;
        let r = s
            .proxied
            .post(
                &Client::lbaas("/loadbalancers"),
                simple_lb_body(&format!("lb{i}"), &s.subnet),
            )
            .await;
        if i == 1 {
            assert_eq!(r.body["faultcode"], "Server", "Octavia's error shape");
        }
        statuses.push(r.status.as_u16());
    }
    assert_eq!(statuses, [201, 503, 201]);
    assert_eq!(
        lb_names(&s.cloud),
        ["lb0", "lb2"],
        "lb1 never reached Octavia"
    );
    assert_eq!(fault.seen(), 3, "GETs are not counted");
    let fired = fault.fired_call().unwrap();
    assert_eq!(fired.index, 1);
    assert_eq!(fired.service, Service::Octavia);
    assert_eq!((fired.method.as_str(), fired.path.as_str()), ("POST", LBS));
    assert_eq!(fired.uri, "/load-balancer/v2/lbaas/loadbalancers");
    assert_eq!(fired.status, None);
    assert!(!fired.committed());
}

#[tokio::test]
async fn before_commit_can_drop_the_connection() {
    let s = setup(Service::Octavia).await;
    let fault = s.proxy.arm_fault(OneShotFault::before_commit(
        CallMatcher::mutating(),
        0,
        Reply::Drop,
    ));
    let r = s
        .proxied
        .try_send(
            Method::POST,
            &Client::lbaas("/loadbalancers"),
            Some(simple_lb_body("dropped", &s.subnet)),
        )
        .await;
    assert!(r.is_err(), "no answer: {r:?}");
    assert!(lb_names(&s.cloud).is_empty());
    assert_eq!(fault.fired().await.unwrap().status, None);
}

#[tokio::test]
async fn commit_then_fail_forwards_then_replaces_the_answer() {
    let s = setup(Service::Octavia).await;
    let fault = s.proxy.arm_fault(OneShotFault::commit_then_fail(
        CallMatcher::mutating(),
        0,
        Reply::Status(504),
    ));
    let r = s
        .proxied
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("committed", &s.subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(r.body["faultcode"], "Server");
    assert_eq!(lb_names(&s.cloud), ["committed"], "the create took effect");
    let fired = fault.fired().await.unwrap();
    assert_eq!(fired.status, Some(201));
    assert!(fired.committed());
    let body: serde_json::Value = serde_json::from_str(&fired.body).unwrap();
    assert_eq!(body["loadbalancer"]["name"], "committed", "the real answer");
}

#[tokio::test]
async fn commit_then_drop_closes_the_connection_after_the_change() {
    let s = setup(Service::Octavia).await;
    s.proxy.arm_fault(OneShotFault::commit_then_fail(
        CallMatcher::mutating(),
        0,
        Reply::Drop,
    ));
    let r = s
        .proxied
        .try_send(
            Method::POST,
            &Client::lbaas("/loadbalancers"),
            Some(simple_lb_body("committed", &s.subnet)),
        )
        .await;
    assert!(r.is_err(), "no answer: {r:?}");
    assert_eq!(lb_names(&s.cloud), ["committed"]);
}

#[tokio::test]
async fn crash_after_commit_resolves_after_the_change_and_holds_the_answer() {
    let s = setup(Service::Octavia).await;
    let fault = s
        .proxy
        .arm_fault(OneShotFault::crash_after_commit(CallMatcher::mutating(), 0));
    let c = s.proxied;
    let subnet = s.subnet.clone();
    let client = tokio::spawn(async move {
        c.try_send(
            Method::POST,
            &Client::lbaas("/loadbalancers"),
            Some(simple_lb_body("crashed", &subnet)),
        )
        .await
    });
    let fired = fault.fired().await.unwrap();
    assert!(fired.committed());
    assert_eq!(lb_names(&s.cloud), ["crashed"], "changed when it resolved");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!client.is_finished(), "the answer is held");
    assert!(s.proxy.remove_fault(fault.id()));
    let r = client.await.unwrap();
    assert!(r.is_err(), "closed without an answer: {r:?}");
}

#[tokio::test]
async fn a_path_prefix_and_method_narrow_the_calls_counted() {
    let s = setup(Service::Octavia).await;
    let lbs = s.proxy.count_calls(CallMatcher {
        path: Some(LBS.to_owned()),
        ..CallMatcher::mutating()
    });
    let listeners = s.proxy.count_calls(CallMatcher {
        path: Some("/v2/lbaas/listeners".to_owned()),
        ..CallMatcher::any()
    });
    let deletes = s
        .proxy
        .count_calls(CallMatcher::mutating().on(Service::Octavia));
    let neutron = s.proxy.count_calls(CallMatcher::any().on(Service::Neutron));
    let r = s
        .proxied
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("a", &s.subnet),
        )
        .await;
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    s.proxied
        .delete(&Client::lbaas(&format!("/loadbalancers/{id}")))
        .await;
    s.proxied.get(&Client::lbaas("/listeners")).await;
    assert_eq!(lbs.seen(), 2, "POST and DELETE under the prefix");
    assert_eq!(listeners.seen(), 1);
    assert_eq!(deletes.seen(), 2);
    assert_eq!(neutron.seen(), 0, "this proxy serves Octavia");
}

#[tokio::test]
async fn a_neutron_proxy_answers_in_neutrons_error_shape() {
    let s = setup(Service::Neutron).await;
    let fault = s.proxy.arm_fault(OneShotFault::commit_then_fail(
        CallMatcher::mutating().on(Service::Neutron),
        0,
        Reply::Status(500),
    ));
    let net = s.cloud.fixture().external_network_id.clone();
    let r = s
        .proxied
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": net}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.neutron_error().0, "HTTPInternalServerError");
    assert_eq!(s.cloud.snapshot().floating_ips.len(), 1, "allocated");
    let fired = fault.fired().await.unwrap();
    assert_eq!(fired.path, "/v2.0/floatingips");
    assert_eq!(fired.status, Some(201));
}
