//! End to end: nothing orphaned, nothing stolen. Orphan collection after a stripped
//! finalizer, adoption by a Service recreated under the same name, racing claims on one
//! address under a slow Neutron, and an address kept by another Service.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use std::time::Duration;

use e2e_support::{Env, ingress_ip, service, with_annotation};
use kks_lb_annotations::keys;
use kks_lb_octavia_model::api::octavia::ApiVersion;
use kks_lb_planner::{KEEP_TAG, lb_name, service_tag};
use kks_lb_testkit::openstack::{EmulatorConfig, FaultRule, Service as OsService};
use reqwest::Method;
use serde_json::json;

use e2e_support::CLUSTER;

/// Settings with orphan collection every 100 ms and a short grace.
fn collecting(env: &Env, grace: Duration) -> kks_lb_controller::config::Settings {
    let mut s = env.settings();
    s.orphan_grace = grace;
    s.orphan_sweep_every = Duration::from_millis(100);
    s
}

/// Deletes a Service the way a user "fixes" one stuck in Terminating: its finalizer
/// stripped, while no controller reacts (so nothing is cleaned up in the cloud).
async fn strip_and_delete(env: &Env, ns: &str, name: &str) {
    env.edit(ns, name, |s| s.metadata.finalizers = None);
    env.delete(ns, name).await;
    assert!(
        env.get(ns, name).is_none(),
        "gone at once without finalizer"
    );
}

async fn allocate_address(env: &Env) -> String {
    let os = env.openstack().await;
    let body = json!({"floatingip": {
        "floating_network_id": env.cloud.fixture().external_network_id,
        "description": "the user's address",
    }});
    let r = os
        .call(
            kks_lb_adapter::Service::Neutron,
            Method::POST,
            &["floatingips"],
            &[],
            Some(&body),
        )
        .await
        .unwrap();
    r.body["floatingip"]["floating_ip_address"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_deleted_with_its_finalizer_stripped_leaves_nothing_in_the_cloud() {
    let env = Env::start().await;
    let running = env.controller().await;
    env.create(&service("shop", "web"));
    env.wait_ready("shop", "web").await;
    running.stop().await;
    strip_and_delete(&env, "shop", "web").await;
    let snap = env.cloud.snapshot();
    assert_eq!(snap.loadbalancers.len(), 1, "left behind");
    assert_eq!(snap.floating_ips.len(), 1, "left behind");
    assert!(!env.leaks().is_empty());

    // Collection disabled: nothing is touched.
    let disabled = env.controller_with(collecting(&env, Duration::ZERO)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.cloud.snapshot().loadbalancers.len(), 1);
    disabled.stop().await;
    // Within the grace period: seen as orphans, not deleted yet.
    let waiting = env
        .controller_with(collecting(&env, Duration::from_secs(60)))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let snap = env.cloud.snapshot();
    assert_eq!((snap.loadbalancers.len(), snap.floating_ips.len()), (1, 1));
    waiting.stop().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut settings = collecting(&env, Duration::from_millis(300));
    settings.metrics_addr = Some(format!("127.0.0.1:{port}").parse().unwrap());
    let running = env.controller_with(settings).await;
    env.wait_cloud("orphans collected", |s| {
        s.loadbalancers.is_empty() && s.floating_ips.is_empty()
    })
    .await;
    assert!(env.leaks().is_empty());
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "kks_lb_orphans_deleted_total{kind=\"loadbalancer\"} 1",
        "kks_lb_orphans_deleted_total{kind=\"floatingip\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}\n{metrics}");
    }
    running.stop().await;
}

/// A floating IP whose tagging call never ran carries only the owner marker in its
/// description; when its Service is gone it is collected all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_floating_ip_marked_but_never_tagged_is_collected_with_its_load_balancer() {
    let env = Env::start().await;
    let running = env.controller().await;
    env.create(&service("shop", "web"));
    env.wait_ready("shop", "web").await;
    running.stop().await;
    let fip = env.cloud.snapshot().floating_ips[0].clone();
    assert!(
        fip.description.starts_with("kks-lb-cluster:"),
        "{}",
        fip.description
    );
    let os = env.openstack().await;
    os.call(
        kks_lb_adapter::Service::Neutron,
        Method::PUT,
        &["floatingips", &fip.id, "tags"],
        &[],
        Some(&json!({"tags": []})),
    )
    .await
    .unwrap();
    assert!(env.cloud.snapshot().floating_ips[0].tags.is_empty());
    strip_and_delete(&env, "shop", "web").await;

    let running = env
        .controller_with(collecting(&env, Duration::from_millis(200)))
        .await;
    env.wait_cloud("orphans collected", |s| {
        s.loadbalancers.is_empty() && s.floating_ips.is_empty()
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_recreated_under_the_same_name_adopts_its_predecessor_s_load_balancer() {
    let env = Env::start().await;
    let running = env.controller().await;
    env.create(&service("shop", "web"));
    let first = env.wait_ready("shop", "web").await;
    let old = env.lb("shop", "web").unwrap();
    let address = ingress_ip(&first).unwrap();
    running.stop().await;
    strip_and_delete(&env, "shop", "web").await;

    let again = env.create(&service("shop", "web"));
    let uid = again.metadata.uid.clone().unwrap();
    assert_ne!(Some(&uid), first.metadata.uid.as_ref());
    let running = env
        .controller_with(collecting(&env, Duration::from_millis(200)))
        .await;
    let ready = env.wait_ready("shop", "web").await;
    assert_eq!(
        ingress_ip(&ready),
        Some(address.clone()),
        "same public address"
    );
    let adopted = env
        .wait_cloud("retagged for the new Service", |s| {
            s.loadbalancer(&lb_name(CLUSTER, "shop", "web"))
                .is_some_and(|t| t.loadbalancer.tags.contains(&service_tag(&uid)))
        })
        .await;
    let lb = adopted
        .loadbalancer(&lb_name(CLUSTER, "shop", "web"))
        .unwrap();
    assert_eq!(
        lb.loadbalancer.id, old.loadbalancer.id,
        "the same load balancer"
    );
    assert_eq!(lb.loadbalancer.vip_address, old.loadbalancer.vip_address);
    assert!(
        !env.has_event("shop", "web", "ForeignLoadBalancer", ""),
        "{:?}",
        env.events("shop", "web")
    );
    // Several sweeps later nothing was collected and nothing leaks.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let snap = env.cloud.snapshot();
    assert_eq!(snap.loadbalancers.len(), 1);
    assert_eq!(snap.floating_ips.len(), 1);
    assert!(env.leaks().is_empty(), "{:?}", env.leaks());

    env.delete("shop", "web").await;
    env.wait_cloud("all gone", |s| {
        s.loadbalancers.is_empty() && s.floating_ips.is_empty()
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_racing_for_one_address_under_a_slow_neutron_one_wins() {
    let env = Env::start().await;
    let address = allocate_address(&env).await;
    // Slow Neutron: every floating IP update takes a while, so both claims read the
    // address free before either binds it.
    env.cloud.add_fault(
        FaultRule::endpoint(Method::PUT, "/v2.0/floatingips/{id}")
            .on(OsService::Neutron)
            .latency(Duration::from_millis(1500)),
    );
    let running = env.controller().await;
    for ns in ["a", "b"] {
        let mut svc = service(ns, "web");
        svc.spec.as_mut().unwrap().load_balancer_ip = Some(address.clone());
        env.create(&svc);
    }
    let (winner, loser) = env
        .eventually("one Service holds the address", || async {
            let a = env.get("a", "web").and_then(|s| ingress_ip(&s));
            let b = env.get("b", "web").and_then(|s| ingress_ip(&s));
            match (a, b) {
                (Some(_), None) => Some(("a", "b")),
                (None, Some(_)) => Some(("b", "a")),
                (Some(_), Some(_)) => panic!("both report {address}"),
                (None, None) => None,
            }
        })
        .await;
    env.wait_event(loser, "web", "LoadBalancerError", &address)
        .await;
    // The address stays bound to the winner's VIP.
    let snap = env.cloud.snapshot();
    let fip = snap
        .floating_ips
        .iter()
        .find(|f| f.floating_ip_address == address)
        .unwrap();
    let win_lb = snap.loadbalancer(&lb_name(CLUSTER, winner, "web")).unwrap();
    assert_eq!(fip.port_id, win_lb.loadbalancer.vip_port_id);
    let lose = env.get(loser, "web").unwrap();
    assert_eq!(ingress_ip(&lose), None);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_kept_by_a_service_is_never_taken_by_another() {
    let env = Env::start().await;
    let mut settings = collecting(&env, Duration::from_millis(200));
    // Drift checks every second: the retagging of a taken-back address follows the bind.
    settings.resync = Duration::from_secs(1);
    let running = env.controller_with(settings).await;
    env.create(&with_annotation(
        service("a", "web"),
        keys::KEEP_FLOATING_IP,
        "true",
    ));
    let a = env.wait_ready("a", "web").await;
    let address = ingress_ip(&a).unwrap();
    env.wait_cloud("the kept address is tagged", |s| {
        s.floating_ips
            .iter()
            .any(|f| f.tags.iter().any(|t| t == KEEP_TAG))
    })
    .await;
    env.delete("a", "web").await;
    env.wait_cloud("a's load balancer gone", |s| s.loadbalancers.is_empty())
        .await;

    let mut b = service("b", "web");
    b.spec.as_mut().unwrap().load_balancer_ip = Some(address.clone());
    env.create(&b);
    env.wait_event(
        "b",
        "web",
        "LoadBalancerError",
        "reserved to another Service",
    )
    .await;
    let b = env.get("b", "web").unwrap();
    assert_eq!(ingress_ip(&b), None);
    env.delete("b", "web").await;
    env.wait_cloud("b's load balancer gone", |s| s.loadbalancers.is_empty())
        .await;
    // Sweeps ran; the kept address is still there, unbound, still a's.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let snap = env.cloud.snapshot();
    let fip = snap
        .floating_ips
        .iter()
        .find(|f| f.floating_ip_address == address)
        .expect("the kept address is never released by another Service or collected");
    assert_eq!(fip.port_id, None);
    assert!(fip.tags.iter().any(|t| t == KEEP_TAG));

    // a/web created again takes its kept address back.
    let mut again = with_annotation(service("a", "web"), keys::KEEP_FLOATING_IP, "true");
    again.spec.as_mut().unwrap().load_balancer_ip = Some(address.clone());
    let again = env.create(&again);
    let back = env.wait_ready("a", "web").await;
    assert_eq!(ingress_ip(&back), Some(address.clone()));
    // Retagged: the address is the new a/web's (still kept).
    let uid = again.metadata.uid.unwrap();
    env.wait_cloud("retagged for the new a/web", |s| {
        s.floating_ips.iter().any(|f| {
            f.floating_ip_address == address
                && f.tags.contains(&service_tag(&uid))
                && f.tags.iter().any(|t| t == KEEP_TAG)
        })
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_octavia_2_4_ownership_is_the_description_marker_and_an_unmarked_lb_is_left_alone() {
    let env = Env::start_with(EmulatorConfig {
        delays: e2e_support::fast_delays(),
        max_api_version: ApiVersion::new(2, 4),
        ..EmulatorConfig::default()
    })
    .await;
    // A load balancer of the Service's name that kks-lb did not create (OCCM's, say).
    let occm = env.plant_lb(&lb_name(CLUSTER, "shop", "web"), &[]).await;
    let running = env
        .controller_with(collecting(&env, Duration::from_millis(200)))
        .await;
    env.create(&service("shop", "web"));
    env.wait_event("shop", "web", "ForeignLoadBalancer", "--adopt-untagged")
        .await;
    let new = env.create(&service("shop", "new"));
    env.wait_ready("shop", "new").await;
    let lb = env.lb("shop", "new").unwrap();
    assert!(lb.loadbalancer.tags.is_empty());
    let marker = format!(
        "kks-lb-cluster:{} kks-lb-service:{} ",
        env.kube.kube_system_uid(),
        new.metadata.uid.as_deref().unwrap()
    );
    assert!(
        lb.loadbalancer.description.starts_with(&marker),
        "{:?}",
        lb.loadbalancer.description
    );
    // Sweeps ran; the unmarked load balancer is untouched: no listener, no floating IP.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let snap = env.cloud.snapshot();
    let untouched = snap
        .loadbalancers
        .iter()
        .find(|t| t.loadbalancer.id.as_deref() == Some(occm.as_str()))
        .unwrap();
    assert!(untouched.loadbalancer.listeners.is_empty());
    assert!(untouched.floatingip.is_none());
    assert_eq!(untouched.loadbalancer.description, "created by hand");
    assert_eq!(snap.floating_ips.len(), 1, "only shop/new's");

    // A Service deleted with its finalizer stripped is collected by its marker.
    running.stop().await;
    strip_and_delete(&env, "shop", "new").await;
    let mut adopting = collecting(&env, Duration::from_millis(200));
    adopting.adopt_untagged = true;
    let running = env.controller_with(adopting).await;
    env.wait_cloud("shop/new collected", |s| {
        s.loadbalancer(&lb_name(CLUSTER, "shop", "new")).is_none()
    })
    .await;
    // With --adopt-untagged, shop/web takes the unmarked one over and marks it.
    env.wait_ready("shop", "web").await;
    let adopted = env.lb("shop", "web").unwrap();
    assert_eq!(adopted.loadbalancer.id.as_deref(), Some(occm.as_str()));
    assert!(
        adopted
            .loadbalancer
            .description
            .starts_with("kks-lb-cluster:")
    );
    env.delete("shop", "web").await;
    env.wait_cloud("nothing left", |s| {
        s.loadbalancers.is_empty() && s.floating_ips.is_empty()
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_with_only_sctp_ports_on_octavia_2_22_gets_no_load_balancer() {
    use k8s_openapi::api::core::v1::ServicePort;
    let env = Env::start_with(EmulatorConfig {
        delays: e2e_support::fast_delays(),
        max_api_version: ApiVersion::new(2, 22),
        ..EmulatorConfig::default()
    })
    .await;
    let running = env.controller().await;
    let sctp = ServicePort {
        name: Some("sig".into()),
        protocol: Some("SCTP".into()),
        port: 9999,
        ..ServicePort::default()
    };
    let mut svc = service("tel", "sig");
    svc.spec.as_mut().unwrap().ports = Some(vec![sctp.clone()]);
    env.create(&svc);
    env.wait_service("tel", "sig", "NoServablePorts", |s| {
        s.is_some_and(|s| e2e_support::pending_because(s, "NoServablePorts"))
    })
    .await;
    env.wait_event("tel", "sig", "NoServablePorts", "SCTP")
        .await;
    let snap = env.cloud.snapshot();
    assert!(snap.loadbalancers.is_empty() && snap.floating_ips.is_empty());
    assert_eq!(ingress_ip(&env.get("tel", "sig").unwrap()), None);

    // A TCP port makes it servable; dropping it again removes the load balancer.
    env.edit("tel", "sig", |s| {
        s.spec
            .as_mut()
            .unwrap()
            .ports
            .as_mut()
            .unwrap()
            .push(ServicePort {
                name: Some("http".into()),
                protocol: Some("TCP".into()),
                port: 80,
                ..ServicePort::default()
            });
    });
    env.wait_ready("tel", "sig").await;
    assert_eq!(
        env.lb("tel", "sig").unwrap().loadbalancer.listeners.len(),
        1
    );
    env.edit("tel", "sig", |s| {
        s.spec.as_mut().unwrap().ports = Some(vec![sctp.clone()]);
    });
    env.wait_service("tel", "sig", "NoServablePorts again", |s| {
        s.is_some_and(|s| {
            e2e_support::pending_because(s, "NoServablePorts") && ingress_ip(s).is_none()
        })
    })
    .await;
    env.wait_cloud("nothing left", |s| {
        s.loadbalancers.is_empty() && s.floating_ips.is_empty()
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_annotation_value_is_shortened_in_events_and_the_condition_never_the_rule() {
    let env = Env::start().await;
    let running = env.controller().await;
    let huge = "x".repeat(200 * 1024);
    env.create(&with_annotation(
        service("shop", "web"),
        keys::HOSTNAME,
        &huge,
    ));
    env.wait_event("shop", "web", "InvalidAnnotation", "… (204800 bytes): ")
        .await;
    let (_, note) = env
        .events("shop", "web")
        .into_iter()
        .find(|(r, _)| r == "InvalidAnnotation")
        .unwrap();
    assert!(note.starts_with(keys::HOSTNAME), "{note}");
    let rule = note.split("bytes): ").nth(1).unwrap();
    assert!(!rule.is_empty() && note.len() < 1024, "{note}");
    let svc = env
        .wait_service("shop", "web", "condition", |s| {
            s.is_some_and(|s| e2e_support::pending_because(s, "InvalidAnnotation"))
        })
        .await
        .unwrap();
    let (_, _, message) = e2e_support::condition(&svc).unwrap();
    assert!(message.contains(rule), "{message}");
    assert!(env.cloud.snapshot().loadbalancers.is_empty());
    running.stop().await;
}
