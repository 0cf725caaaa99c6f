//! Create, update and delete flows against the OpenStack emulator, through the real adapter:
//! every example Service, every annotation of SPEC.md §4, floating-IP switches.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Harness, parse_file};
use kks_lb_annotations::{
    LbMethod, LbSpec, MonitorSpec, NodeSelector, PortProtocol, PortSpec, ProxyProtocol,
};
use kks_lb_octavia_model::{LbAlgorithm, MonitorType, Protocol, SessionPersistenceType};
use kks_lb_planner::{adapt, desired};
use kks_lb_testkit::fixtures::{NodeBuilder, lb_spec, nodes};
use kks_lb_testkit::model::converged;

/// After converging, what the cloud holds is what the Service asks for.
async fn assert_live(h: &Harness, spec: &LbSpec, ns: &[k8s_openapi::api::core::v1::Node]) {
    let d = adapt(&desired(spec, ns, &h.cluster), &h.caps).0;
    let live = h.observed(spec).await;
    if !converged(&d, live.as_ref()) {
        let want = serde_json::to_string_pretty(&d.without_observed_fields()).unwrap();
        let have =
            serde_json::to_string_pretty(&live.as_ref().map(|t| t.without_observed_fields()))
                .unwrap();
        let diff: Vec<_> = want
            .lines()
            .zip(have.lines())
            .filter(|(a, b)| a != b)
            .take(10)
            .collect();
        panic!("live topology differs: {diff:#?}\nwanted {want}\nlive {have}");
    }
}

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
    assert!(
        fip.tags.contains(&"kks-lb-cluster:cluster-1".to_owned()),
        "{fip:?}"
    );
    assert_eq!(observed.member_count(), 3);
    h.delete(&spec).await.unwrap();
    assert!(h.observed(&spec).await.is_none());
    let snap = h.cloud.snapshot();
    assert!(snap.loadbalancers.is_empty(), "{:?}", snap.loadbalancers);
    assert!(snap.floating_ips.is_empty(), "{:?}", snap.floating_ips);
}

#[tokio::test]
async fn every_example_service_is_created_converges_and_is_deleted() {
    let h = Harness::start().await;
    let mut files: Vec<_> = std::fs::read_dir("../../examples")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    let ns = nodes(3);
    let mut specs = Vec::new();
    for f in &files {
        for spec in parse_file(f.to_str().unwrap()) {
            let (p, out) = h.reconcile(&spec, &ns).await.unwrap();
            assert!(!p.is_empty());
            assert!(out.vip_address.is_some(), "{}: no VIP", f.display());
            assert_eq!(out.floating_ip.is_some(), !spec.internal, "{}", f.display());
            assert_live(&h, &spec, &ns).await;
            specs.push(spec);
        }
    }
    assert_eq!(h.cloud.snapshot().loadbalancers.len(), specs.len());
    for spec in &specs {
        h.delete(spec).await.unwrap();
    }
    let snap = h.cloud.snapshot();
    assert!(snap.loadbalancers.is_empty() && snap.floating_ips.is_empty());
}

/// Every annotation of SPEC.md §4 (as its LbSpec field), changed on a live load balancer.
#[tokio::test]
async fn every_annotation_change_is_applied_to_the_live_load_balancer() {
    let h = Harness::start().await;
    let ns = nodes(3);
    let base = lb_spec("shop", "web");
    h.converge(&base, &ns, 3).await;
    type Edit = (&'static str, fn(&mut LbSpec));
    let edits: Vec<Edit> = vec![
        ("connection-limit", |s| s.connection_limit = 2000),
        ("timeout-client-data", |s| s.timeouts.client_data = 90_000),
        ("timeout-member-connect", |s| {
            s.timeouts.member_connect = 3_000
        }),
        ("timeout-member-data", |s| s.timeouts.member_data = 70_000),
        ("timeout-tcp-inspect", |s| s.timeouts.tcp_inspect = 100),
        ("lb-method", |s| s.lb_method = LbMethod::LeastConnections),
        ("enable-health-monitor=false", |s| s.health_monitor = None),
        ("health-monitor-*", |s| {
            s.health_monitor = Some(MonitorSpec {
                delay: 20,
                timeout: 10,
                max_retries: 4,
                max_retries_down: 2,
            })
        }),
        ("x-forwarded-for", |s| s.x_forwarded_for = true),
        ("x-forwarded-for off", |s| s.x_forwarded_for = false),
        ("proxy-protocol", |s| s.proxy_protocol = ProxyProtocol::V2),
        ("proxy-protocol off", |s| {
            s.proxy_protocol = ProxyProtocol::Off
        }),
        ("loadBalancerSourceRanges", |s| {
            s.source_ranges = vec!["10.0.0.0/8".parse().unwrap()]
        }),
        ("sessionAffinity", |s| s.session_affinity_client_ip = true),
        ("externalTrafficPolicy Local", |s| {
            s.external_traffic_policy_local = true;
            s.health_check_node_port = Some(31999);
        }),
        ("node-selector", |s| {
            s.node_selector = NodeSelector([("pool".to_owned(), Some("web".to_owned()))].into())
        }),
        ("a second port", |s| {
            s.ports.push(PortSpec {
                name: None,
                protocol: PortProtocol::Udp,
                port: 53,
                node_port: Some(30053),
            })
        }),
        ("internal", |s| s.internal = true),
        ("external again", |s| s.internal = false),
    ];
    let mut ns = ns;
    ns[0] = NodeBuilder::new("node-1", "10.0.0.11")
        .label("pool", "web")
        .build();
    let mut spec = base.clone();
    for (what, edit) in edits {
        edit(&mut spec);
        let (p, _) = h
            .reconcile(&spec, &ns)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!p.is_empty(), "{what}: changed nothing");
        assert_live(&h, &spec, &ns).await;
        let (again, _) = h.reconcile(&spec, &ns).await.unwrap();
        assert!(
            again.is_empty(),
            "{what}: not converged: {:#?}",
            again.steps
        );
    }
    let live = h.observed(&spec).await.unwrap();
    let l = live
        .loadbalancer
        .listeners
        .iter()
        .find(|l| l.protocol == Protocol::Tcp)
        .unwrap();
    assert_eq!(l.connection_limit, 2000);
    assert_eq!(l.timeout_client_data, Some(90_000));
    assert_eq!(
        l.allowed_cidrs.as_deref(),
        Some(&["10.0.0.0/8".to_owned()][..])
    );
    let pool = l.default_pool.as_ref().unwrap();
    assert_eq!(pool.lb_algorithm, LbAlgorithm::LeastConnections);
    assert_eq!(
        pool.session_persistence.as_ref().unwrap().kind,
        SessionPersistenceType::SourceIp
    );
    assert_eq!(pool.members.len(), 1, "only the node labelled pool=web");
    let hm = pool.healthmonitor.as_ref().unwrap();
    assert_eq!(
        (hm.kind, hm.url_path.as_deref()),
        (MonitorType::Http, Some("/healthz"))
    );
    assert!(pool.members.iter().all(|m| m.monitor_port == Some(31999)));
    assert!(live.floatingip.is_some());
}

#[tokio::test]
async fn switching_to_internal_releases_the_floating_ip_unless_kept() {
    let h = Harness::start().await;
    let ns = nodes(2);
    let mut spec = lb_spec("shop", "web");
    h.converge(&spec, &ns, 3).await;
    assert_eq!(h.cloud.snapshot().floating_ips.len(), 1);
    spec.internal = true;
    h.converge(&spec, &ns, 3).await;
    assert!(h.cloud.snapshot().floating_ips.is_empty(), "released");

    let mut kept = lb_spec("shop", "kept");
    kept.keep_floating_ip = true;
    h.converge(&kept, &ns, 3).await;
    let address = h
        .observed(&kept)
        .await
        .unwrap()
        .floatingip
        .unwrap()
        .floating_ip_address;
    kept.internal = true;
    h.converge(&kept, &ns, 3).await;
    let fips = h.cloud.snapshot().floating_ips;
    assert_eq!(fips.len(), 1, "kept");
    assert_eq!(fips[0].port_id, None, "detached");
    assert_eq!(Some(fips[0].floating_ip_address.clone()), address);
    // Deleting with keep-floatingip detaches, never releases.
    h.delete(&kept).await.unwrap();
    assert_eq!(h.cloud.snapshot().floating_ips.len(), 1);
}

#[tokio::test]
async fn a_requested_floating_ip_is_bound_and_one_bound_elsewhere_is_refused() {
    let h = Harness::start().await;
    let ns = nodes(2);
    // Allocate an address the way a user would, outside kks-lb, then ask for it.
    let mut first = lb_spec("shop", "first");
    h.converge(&first, &ns, 3).await;
    let taken = h
        .observed(&first)
        .await
        .unwrap()
        .floatingip
        .unwrap()
        .floating_ip_address
        .unwrap();
    first.keep_floating_ip = true;
    h.delete(&first).await.unwrap();

    // Kept, it stays reserved to shop/first: another Service cannot take it.
    let mut wanted = lb_spec("shop", "wanted");
    wanted.load_balancer_ip = Some(taken.parse().unwrap());
    let err = h.reconcile(&wanted, &ns).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("reserved to another Service shop/first"),
        "{err}"
    );
    // The user releases it from shop/first (clears its marks); now it is theirs to give.
    let client = h.executor.client();
    let fip_id = h
        .cloud
        .snapshot()
        .floating_ips
        .iter()
        .find(|f| f.floating_ip_address == taken)
        .unwrap()
        .id
        .clone();
    client
        .call(
            kks_lb_adapter::Service::Neutron,
            reqwest::Method::PUT,
            &["floatingips", &fip_id],
            &[],
            Some(&serde_json::json!({"floatingip": {"description": ""}})),
        )
        .await
        .unwrap();
    client
        .call(
            kks_lb_adapter::Service::Neutron,
            reqwest::Method::DELETE,
            &["floatingips", &fip_id, "tags"],
            &[],
            None,
        )
        .await
        .unwrap();
    let out = h.converge(&wanted, &ns, 3).await;
    assert_eq!(out.floating_ip.as_deref(), Some(taken.as_str()));

    let mut thief = lb_spec("shop", "thief");
    thief.load_balancer_ip = Some(taken.parse().unwrap());
    let err = h.reconcile(&thief, &ns).await.unwrap_err();
    assert!(err.to_string().contains("bound to port"), "{err}");
    assert_eq!(
        h.observed(&wanted)
            .await
            .unwrap()
            .floatingip
            .unwrap()
            .floating_ip_address
            .as_deref(),
        Some(taken.as_str())
    );
}
