//! End to end: create, delete, type changes, internal/external switches and stale ids, with
//! the real controller between the Kubernetes and OpenStack emulators.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use e2e_support::*;
use k8s_openapi::api::core::v1::{Node, Service};
use kks_lb_annotations::{Defaults, keys, parse};
use kks_lb_planner::{Capabilities, desired, plan};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_service_gets_a_floating_ip_status_annotations_and_events() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    env.create(&service("shop", "web"));
    let svc = env.wait_ready("shop", "web").await;

    let lb = env
        .lb("shop", "web")
        .expect("a load balancer named after the Service");
    let fip = lb.floatingip.as_ref().expect("a floating IP on the VIP");
    let address = fip.floating_ip_address.clone().unwrap();
    assert_eq!(ingress_ip(&svc).as_deref(), Some(address.as_str()));
    assert_eq!(
        annotation(&svc, keys::LOAD_BALANCER_ID),
        lb.loadbalancer.id.as_deref()
    );
    assert_eq!(
        annotation(&svc, keys::LOAD_BALANCER_ADDRESS),
        Some(address.as_str())
    );
    assert!(has_finalizer(&svc));
    let (status, reason, _) = condition(&svc).unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "EnsuredLoadBalancer")
    );
    let uid = svc.metadata.uid.clone().unwrap();
    assert!(
        lb.loadbalancer
            .tags
            .contains(&format!("kks-lb-service:{uid}"))
    );
    assert!(
        lb.loadbalancer
            .tags
            .contains(&format!("kks-lb-cluster:{}", env.cluster.cluster_id))
    );
    assert_eq!(
        member_addresses(&lb),
        ["10.0.0.11", "10.0.0.12", "10.0.0.13"],
        "every node is a member"
    );
    env.wait_event("shop", "web", "EnsuringLoadBalancer", "creating")
        .await;
    env.wait_event("shop", "web", "EnsuredLoadBalancer", &address)
        .await;
    assert_eq!(env.cloud.snapshot().loadbalancers.len(), 1);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_service_reports_its_vip_and_gets_no_floating_ip() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    env.create(&with_annotation(
        service("backend", "orders"),
        keys::INTERNAL,
        "true",
    ));
    let svc = env.wait_ready("backend", "orders").await;
    let lb = env.lb("backend", "orders").unwrap();
    assert!(lb.floatingip.is_none());
    assert_eq!(ingress_ip(&svc), lb.loadbalancer.vip_address);
    assert!(env.cloud.snapshot().floating_ips.is_empty());
    ctl.stop().await;
}

fn example(path: &str) -> Service {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_service_converges_to_exactly_its_planned_topology() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the examples are there");
    let mut created = Vec::new();
    for f in &files {
        let svc = env.create(&example(f.to_str().unwrap()));
        created.push((
            svc.metadata.namespace.clone().unwrap(),
            svc.metadata.name.clone().unwrap(),
        ));
    }
    let nodes: Vec<Node> = env.kube.list(None).unwrap();
    for (ns, name) in &created {
        let svc = env.wait_ready(ns, name).await;
        let spec = parse(&svc, &Defaults::default()).unwrap().spec;
        let want = desired(&spec, &nodes, &env.cluster);
        let live = env.lb(ns, name).unwrap();
        let remaining = plan(&want, Some(&live), &Capabilities::default());
        assert!(
            remaining.is_empty(),
            "{ns}/{name}: the live load balancer differs from the desired one: {:#?}",
            remaining.steps
        );
        let want_ip = if spec.internal {
            live.loadbalancer.vip_address.clone()
        } else {
            live.floatingip
                .as_ref()
                .unwrap()
                .floating_ip_address
                .clone()
        };
        assert_eq!(ingress_ip(&svc), want_ip, "{ns}/{name}");
    }
    assert_eq!(env.cloud.snapshot().loadbalancers.len(), created.len());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_service_leaves_no_load_balancer_and_no_floating_ip() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    env.create(&service("shop", "web"));
    env.create(&service("shop", "other"));
    env.wait_ready("shop", "web").await;
    env.wait_ready("shop", "other").await;
    assert_eq!(env.cloud.snapshot().floating_ips.len(), 2);

    env.delete("shop", "web").await;
    env.wait_service("shop", "web", "the Service is gone", |s| s.is_none())
        .await;
    let snap = env.cloud.snapshot();
    assert!(env.lb("shop", "web").is_none(), "its load balancer is gone");
    assert_eq!(snap.floating_ips.len(), 1, "its floating IP is released");
    assert!(env.lb("shop", "other").is_some(), "the other one stays");
    assert!(env.leaks().is_empty(), "{:?}", env.leaks());
    env.wait_event("shop", "web", "DeletedLoadBalancer", "deleted")
        .await;
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancer_to_node_port_and_back_creates_a_new_load_balancer() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    env.create(&service("shop", "web"));
    let first = env.wait_ready("shop", "web").await;
    let first_id = annotation(&first, keys::LOAD_BALANCER_ID)
        .unwrap()
        .to_owned();

    env.edit("shop", "web", |s| {
        s.spec.as_mut().unwrap().type_ = Some("NodePort".into());
    });
    let released = env
        .wait_service("shop", "web", "released", |s| {
            s.is_some_and(|s| !has_finalizer(s))
        })
        .await
        .unwrap();
    assert_eq!(annotation(&released, keys::LOAD_BALANCER_ID), None);
    assert_eq!(annotation(&released, keys::LOAD_BALANCER_ADDRESS), None);
    assert_eq!(ingress_ip(&released), None, "status.loadBalancer cleared");
    assert_eq!(condition(&released), None);
    let snap = env.cloud.snapshot();
    assert!(snap.loadbalancers.is_empty());
    assert!(snap.floating_ips.is_empty(), "the floating IP is released");

    env.edit("shop", "web", |s| {
        s.spec.as_mut().unwrap().type_ = Some("LoadBalancer".into());
    });
    let second = env.wait_ready("shop", "web").await;
    let second_id = annotation(&second, keys::LOAD_BALANCER_ID).unwrap();
    assert_ne!(second_id, first_id, "a new load balancer");
    assert_eq!(env.cloud.snapshot().loadbalancers.len(), 1);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_load_balancer_id_gets_a_new_load_balancer_and_the_annotation_rewritten() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    let stale = "0b0b0b0b-1111-4222-8333-444444444444";
    env.create(&with_annotation(
        service("shop", "web"),
        keys::LOAD_BALANCER_ID,
        stale,
    ));
    let svc = env
        .wait_service("shop", "web", "ready with a new id", |s| {
            s.is_some_and(|s| is_ready(s) && annotation(s, keys::LOAD_BALANCER_ID) != Some(stale))
        })
        .await
        .unwrap();
    let lb = env.lb("shop", "web").unwrap();
    assert_eq!(
        annotation(&svc, keys::LOAD_BALANCER_ID),
        lb.loadbalancer.id.as_deref()
    );
    env.wait_event("shop", "web", "EnsuringLoadBalancer", stale)
        .await;
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_external_and_internal_creates_releases_or_keeps_the_floating_ip() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    env.create(&service("shop", "web"));
    env.wait_ready("shop", "web").await;
    assert_eq!(env.cloud.snapshot().floating_ips.len(), 1);

    // External → internal: the floating IP is released and the VIP is reported.
    env.annotate("shop", "web", keys::INTERNAL, Some("true"));
    let lb_vip = env.lb("shop", "web").unwrap().loadbalancer.vip_address;
    env.wait_service("shop", "web", "ingress is the VIP", |s| {
        s.is_some_and(|s| ingress_ip(s) == lb_vip)
    })
    .await;
    env.wait_cloud("floating IP released", |s| s.floating_ips.is_empty())
        .await;

    // Internal → external: a floating IP again.
    env.annotate("shop", "web", keys::INTERNAL, None);
    let snap = env
        .wait_cloud("a floating IP again", |s| s.floating_ips.len() == 1)
        .await;
    let fip = snap.floating_ips[0].floating_ip_address.clone();
    env.wait_service("shop", "web", "ingress is the floating IP", |s| {
        s.is_some_and(|s| ingress_ip(s).as_deref() == Some(fip.as_str()))
    })
    .await;

    // With keep-floatingip, switching to internal detaches but keeps the address.
    env.annotate("shop", "web", keys::KEEP_FLOATING_IP, Some("true"));
    env.annotate("shop", "web", keys::INTERNAL, Some("true"));
    let snap = env
        .wait_cloud("floating IP detached", |s| {
            s.floating_ips.len() == 1 && s.floating_ips[0].port_id.is_none()
        })
        .await;
    assert_eq!(
        snap.floating_ips[0].floating_ip_address, fip,
        "the same address is kept"
    );
    env.wait_service("shop", "web", "ingress is the VIP", |s| {
        s.is_some_and(|s| ingress_ip(s) == lb_vip)
    })
    .await;

    // Deleting with keep-floatingip leaves the detached address, releases nothing else.
    env.delete("shop", "web").await;
    env.wait_service("shop", "web", "gone", |s| s.is_none())
        .await;
    let snap = env.cloud.snapshot();
    assert!(snap.loadbalancers.is_empty());
    assert_eq!(snap.floating_ips.len(), 1, "the kept address survives");
    ctl.stop().await;
}

/// `--concurrency` bounds the reconciles that work, not those that wait for the cloud: with
/// one slot, three Services' load balancers are provisioned at the same time (each reconcile
/// gives its slot back while it waits for ACTIVE), where holding the slot would provision
/// them one after another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_waiting_for_active_gives_its_slot_to_the_next_service() {
    use kks_lb_octavia_model::ProvisioningStatus;
    use kks_lb_testkit::openstack::{EmulatorConfig, ProvisioningDelays};
    use std::time::Duration;

    let env = Env::start_with(EmulatorConfig {
        delays: ProvisioningDelays {
            create: Duration::from_secs(3),
            ..fast_delays()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let mut settings = env.settings();
    settings.concurrency = 1;
    let ctl = env.controller_with(settings).await;
    let names = ["a", "b", "c"];
    for name in names {
        env.create(&service("shop", name));
    }
    env.wait_cloud("three load balancers provisioning at once", |snap| {
        snap.loadbalancers
            .iter()
            .filter(|t| {
                t.loadbalancer.provisioning_status == Some(ProvisioningStatus::PendingCreate)
            })
            .count()
            == names.len()
    })
    .await;
    for name in names {
        env.wait_ready("shop", name).await;
    }
    assert_eq!(env.cloud.snapshot().loadbalancers.len(), names.len());
    ctl.stop().await;
}
