//! Plans for the changes users make, step by step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kks_lb_annotations::{IpFamily, LbSpec, MonitorSpec, PortProtocol, PortSpec, ProxyProtocol};
use kks_lb_octavia_model::{LbAlgorithm, MonitorType, Protocol, SessionPersistenceType, Topology};
use kks_lb_planner::{
    ApiVersion, Capabilities, DeleteIntent, ObjKey, Plan, Step, WarningReason, desired,
    eligible_nodes, plan, plan_delete, servable,
};
use kks_lb_testkit::fixtures::{NodeBuilder, cluster_config, lb_spec, nodes};
use kks_lb_testkit::model::{Cloud, converged};
use kks_lb_testkit::strategies::observed_form;

fn caps() -> Capabilities {
    Capabilities::default()
}

/// The live topology of `spec` on 3 nodes, as the cloud reports it.
fn live(spec: &LbSpec) -> Topology {
    observed_form(&desired(spec, &nodes(3), &cluster_config()))
}

fn ops(p: &Plan) -> Vec<&'static str> {
    p.steps.iter().map(Step::op).collect()
}

/// Plans `after` against the live topology of `before` and checks the model converges.
fn change(before: &LbSpec, after: &LbSpec) -> Plan {
    let observed = live(before);
    let d = desired(after, &nodes(3), &cluster_config());
    let p = plan(&d, Some(&observed), &caps());
    let mut cloud = Cloud::new(Some(&observed));
    cloud.apply(&p).unwrap();
    assert!(
        converged(&d, cloud.topology.as_ref()),
        "plan does not converge: {p:#?}"
    );
    p
}

#[test]
fn names_and_tags_follow_the_occm_scheme_and_carry_ownership() {
    let d = desired(&lb_spec("team-a", "web"), &nodes(2), &cluster_config());
    let lb = &d.loadbalancer;
    assert_eq!(lb.name, "kube_service_kks_team-a_web");
    assert_eq!(
        lb.description,
        "Kubernetes Service team-a/web in cluster kks"
    );
    assert!(lb.tags.contains(&"kube_service_kks_team-a_web".to_owned()));
    assert!(
        lb.tags
            .contains(&"kks-lb-cluster:0d6f3c1e-6b1a-4c59-9a0b-6b0f1e2d3c4b".to_owned())
    );
    assert!(
        lb.tags
            .contains(&"kks-lb-service:uid-team-a-web".to_owned())
    );
    let l = &lb.listeners[0];
    assert_eq!(l.name, "listener_TCP_80_kube_service_kks_team-a_web");
    let pool = l.default_pool.as_ref().unwrap();
    assert_eq!(pool.name, "pool_TCP_80_kube_service_kks_team-a_web");
    assert_eq!(
        pool.healthmonitor.as_ref().unwrap().name,
        "monitor_TCP_80_kube_service_kks_team-a_web"
    );
    assert_eq!(pool.members.len(), 2);
    assert_eq!(pool.members[0].protocol_port, 30080);
    let fip = d.floatingip.as_ref().unwrap();
    assert_eq!(
        fip.floating_network_id,
        cluster_config().floating_network_id
    );
}

#[test]
fn very_long_names_are_cut_to_octavias_limit() {
    let long = "x".repeat(300);
    let d = desired(&lb_spec("ns", &long), &nodes(1), &cluster_config());
    assert_eq!(d.loadbalancer.name.len(), 255);
    assert!(d.loadbalancer.listeners[0].name.len() <= 255);
}

#[test]
fn reordering_ports_changes_nothing() {
    let mut a = lb_spec("ns", "svc");
    a.ports.push(PortSpec {
        name: None,
        protocol: PortProtocol::Udp,
        port: 53,
        node_port: Some(30053),
    });
    let mut b = a.clone();
    b.ports.reverse();
    assert!(change(&a, &b).is_empty());
}

#[test]
fn a_missing_internal_load_balancer_is_one_fully_populated_create() {
    let mut spec = lb_spec("ns", "svc");
    spec.internal = true;
    let d = desired(&spec, &nodes(3), &cluster_config());
    let p = plan(&d, None, &caps());
    assert_eq!(ops(&p), ["create_loadbalancer"]);
    let Step::CreateLoadbalancer { loadbalancer } = &p.steps[0] else {
        unreachable!()
    };
    let pool = loadbalancer.listeners[0].default_pool.as_ref().unwrap();
    assert_eq!(pool.members.len(), 3);
    assert!(pool.healthmonitor.is_some());
}

#[test]
fn an_external_load_balancer_gets_a_floating_ip_on_the_new_vip_port() {
    let d = desired(&lb_spec("ns", "svc"), &nodes(3), &cluster_config());
    let p = plan(&d, None, &caps());
    assert_eq!(
        ops(&p),
        ["create_loadbalancer", "create_floatingip", "tag_floatingip"]
    );
    let Step::CreateFloatingip { port, floatingip } = &p.steps[1] else {
        unreachable!()
    };
    assert_eq!(port.key, ObjKey::VipPort);
    assert_eq!(port.id, None, "the VIP port comes from the create step");
    assert!(
        floatingip.tags.is_empty(),
        "Neutron takes no tags in the POST"
    );
    assert!(
        floatingip
            .description
            .starts_with("kks-lb-cluster:0d6f3c1e-6b1a-4c59-9a0b-6b0f1e2d3c4b"),
        "the owner marker leads the description: {}",
        floatingip.description
    );
    let Step::TagFloatingip { floatingip, tags } = &p.steps[2] else {
        unreachable!()
    };
    assert_eq!(floatingip.key, ObjKey::Floatingip);
    assert_eq!(tags, &d.floatingip.as_ref().unwrap().tags);
}

#[test]
fn a_new_node_is_one_batch_member_update_per_pool() {
    let mut spec = lb_spec("ns", "svc");
    spec.ports.push(PortSpec {
        name: None,
        protocol: PortProtocol::Tcp,
        port: 443,
        node_port: Some(30443),
    });
    let observed = live(&spec);
    let mut four = nodes(3);
    four.push(NodeBuilder::new("node-4", "10.0.0.99").build());
    let d = desired(&spec, &four, &cluster_config());
    let p = plan(&d, Some(&observed), &caps());
    assert_eq!(ops(&p), ["replace_members", "replace_members"]);
    let Step::ReplaceMembers { pool, members } = &p.steps[0] else {
        unreachable!()
    };
    assert!(pool.id.is_some(), "the pool exists, its id is known");
    assert_eq!(members.len(), 4);
}

#[test]
fn enabling_x_forwarded_for_replaces_the_tcp_listener_by_an_http_one() {
    let before = lb_spec("ns", "svc");
    let mut after = before.clone();
    after.x_forwarded_for = true;
    let p = change(&before, &after);
    assert_eq!(
        ops(&p),
        [
            "delete_pool",
            "delete_listener",
            "create_pool",
            "replace_members",
            "create_healthmonitor",
            "create_listener"
        ]
    );
    let Step::CreateListener {
        listener,
        default_pool,
        ..
    } = &p.steps[5]
    else {
        unreachable!()
    };
    assert!(listener.default_pool.is_none(), "the pool is not nested");
    assert_eq!(
        default_pool.as_ref().map(|r| (&r.key, &r.id)),
        Some((&ObjKey::Pool(listener.key()), &None)),
        "the listener names the pool created by an earlier step"
    );
    assert_eq!(listener.protocol, Protocol::Http);
    assert_eq!(
        listener
            .insert_headers
            .get("X-Forwarded-For")
            .map(String::as_str),
        Some("true")
    );
    let Step::CreateHealthmonitor {
        healthmonitor: hm, ..
    } = &p.steps[4]
    else {
        unreachable!()
    };
    assert_eq!(
        (
            hm.kind,
            hm.url_path.as_deref(),
            hm.expected_codes.as_deref()
        ),
        (MonitorType::Http, Some("/"), Some("200"))
    );
}

#[test]
fn enabling_proxy_protocol_recreates_only_the_pool() {
    let before = lb_spec("ns", "svc");
    let mut after = before.clone();
    after.proxy_protocol = ProxyProtocol::V2;
    let p = change(&before, &after);
    assert_eq!(
        ops(&p),
        [
            "delete_pool",
            "create_pool",
            "replace_members",
            "create_healthmonitor"
        ]
    );
    let Step::CreatePool { pool, parent, .. } = &p.steps[1] else {
        unreachable!()
    };
    assert_eq!(pool.protocol, Protocol::ProxyV2);
    assert!(matches!(parent.key, ObjKey::Listener(_)));
    assert!(parent.id.is_some());
}

#[test]
fn changed_timeouts_update_only_those_listener_fields() {
    let before = lb_spec("ns", "svc");
    let mut after = before.clone();
    after.timeouts.client_data = 120_000;
    after.connection_limit = 5000;
    let p = change(&before, &after);
    assert_eq!(ops(&p), ["update_listener"]);
    let Step::UpdateListener { changes, .. } = &p.steps[0] else {
        unreachable!()
    };
    assert_eq!(
        changes.keys().collect::<Vec<_>>(),
        ["connection_limit", "timeout_client_data"]
    );
    assert_eq!(changes["timeout_client_data"].from, 50_000);
    assert_eq!(changes["timeout_client_data"].to, 120_000);
}

#[test]
fn algorithm_and_affinity_update_the_pool_in_one_call() {
    let before = lb_spec("ns", "svc");
    let mut after = before.clone();
    after.lb_method = kks_lb_annotations::LbMethod::SourceIp;
    after.session_affinity_client_ip = true;
    let p = change(&before, &after);
    assert_eq!(ops(&p), ["update_pool"]);
    let Step::UpdatePool { changes, .. } = &p.steps[0] else {
        unreachable!()
    };
    assert_eq!(
        changes["lb_algorithm"].to,
        serde_json::json!(LbAlgorithm::SourceIp)
    );
    assert_eq!(
        changes["session_persistence"].to["type"],
        serde_json::json!(SessionPersistenceType::SourceIp)
    );
}

#[test]
fn monitor_parameters_update_in_place_and_a_type_change_recreates_it() {
    let before = lb_spec("ns", "svc");
    let mut after = before.clone();
    after.health_monitor = Some(MonitorSpec {
        delay: 20,
        timeout: 10,
        max_retries: 5,
        max_retries_down: 2,
    });
    assert_eq!(ops(&change(&before, &after)), ["update_healthmonitor"]);

    let mut local = before.clone();
    local.external_traffic_policy_local = true;
    local.health_check_node_port = Some(31234);
    let p = change(&before, &local);
    assert_eq!(
        ops(&p),
        [
            "delete_healthmonitor",
            "create_healthmonitor",
            "replace_members"
        ]
    );
    let Step::ReplaceMembers { members, .. } = &p.steps[2] else {
        unreachable!()
    };
    assert!(members.iter().all(|m| m.monitor_port == Some(31234)));

    let mut off = before.clone();
    off.health_monitor = None;
    assert_eq!(ops(&change(&before, &off)), ["delete_healthmonitor"]);
}

#[test]
fn external_traffic_policy_local_probes_healthz_on_the_health_check_node_port() {
    let mut spec = lb_spec("ns", "svc");
    spec.external_traffic_policy_local = true;
    spec.health_check_node_port = Some(32000);
    let d = desired(&spec, &nodes(2), &cluster_config());
    let pool = d.loadbalancer.listeners[0].default_pool.as_ref().unwrap();
    let hm = pool.healthmonitor.as_ref().unwrap();
    assert_eq!(hm.kind, MonitorType::Http);
    assert_eq!(hm.http_method.as_deref(), Some("GET"));
    assert_eq!(hm.url_path.as_deref(), Some("/healthz"));
    assert!(pool.members.iter().all(|m| m.monitor_port == Some(32000)));
}

#[test]
fn source_ranges_apply_to_every_listener_and_update_live() {
    let mut before = lb_spec("ns", "svc");
    before.ports.push(PortSpec {
        name: None,
        protocol: PortProtocol::Tcp,
        port: 443,
        node_port: Some(30443),
    });
    let mut after = before.clone();
    after.source_ranges = vec![
        "10.0.0.0/8".parse().unwrap(),
        "192.168.0.0/16".parse().unwrap(),
    ];
    let p = change(&before, &after);
    assert_eq!(ops(&p), ["update_listener", "update_listener"]);
    for s in &p.steps {
        let Step::UpdateListener { changes, .. } = s else {
            unreachable!()
        };
        assert_eq!(
            changes["allowed_cidrs"].to,
            serde_json::json!(["10.0.0.0/8", "192.168.0.0/16"])
        );
    }
    // And back to "all sources": allowed_cidrs null.
    let p = change(&after, &before);
    let Step::UpdateListener { changes, .. } = &p.steps[0] else {
        unreachable!()
    };
    assert_eq!(changes["allowed_cidrs"].to, serde_json::Value::Null);
}

#[test]
fn source_ranges_below_octavia_2_12_are_not_sent_and_warned_about() {
    let mut spec = lb_spec("ns", "svc");
    spec.source_ranges = vec!["10.0.0.0/8".parse().unwrap()];
    let d = desired(&spec, &nodes(1), &cluster_config());
    let old = Capabilities {
        api_version: ApiVersion::v2(11),
        provider: "amphora".into(),
    };
    let p = plan(&d, None, &old);
    let Step::CreateLoadbalancer { loadbalancer } = &p.steps[0] else {
        unreachable!()
    };
    assert_eq!(loadbalancer.listeners[0].allowed_cidrs, None);
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].reason, WarningReason::SourceRangesIgnored);
    assert!(p.warnings[0].message.contains("10.0.0.0/8"));
    assert!(p.warnings[0].message.contains("2.11"));
}

#[test]
fn ovn_gets_no_timeouts_and_refuses_an_algorithm_it_cannot_do() {
    let mut spec = lb_spec("ns", "svc");
    spec.timeouts.client_data = 1000;
    spec.lb_method = kks_lb_annotations::LbMethod::SourceIpPort;
    let ovn = Capabilities {
        api_version: ApiVersion::v2(30),
        provider: "ovn".into(),
    };
    let p = plan(&desired(&spec, &nodes(1), &cluster_config()), None, &ovn);
    assert!(p.errors.is_empty());
    let Step::CreateLoadbalancer { loadbalancer } = &p.steps[0] else {
        unreachable!()
    };
    assert_eq!(loadbalancer.listeners[0].timeout_client_data, None);
    let reasons: Vec<_> = p.warnings.iter().map(|w| w.reason).collect();
    assert_eq!(reasons, [WarningReason::FeatureUnsupported]);

    // SPEC.md §4: ovn accepts SOURCE_IP_PORT and SOURCE_IP only; anything else is an error
    // naming the key, the value and the provider, and nothing is planned.
    spec.lb_method = kks_lb_annotations::LbMethod::LeastConnections;
    let p = plan(&desired(&spec, &nodes(1), &cluster_config()), None, &ovn);
    assert!(p.steps.is_empty());
    assert_eq!(p.errors.len(), 1);
    let e = p.errors[0].to_string();
    assert_eq!(
        e,
        "loadbalancer.openstack.org/lb-method=LEAST_CONNECTIONS: provider ovn supports SOURCE_IP_PORT and SOURCE_IP only"
    );
}

#[test]
fn switching_to_internal_releases_our_floating_ip_or_detaches_a_kept_one() {
    let before = lb_spec("ns", "svc");
    let mut after = before.clone();
    after.internal = true;
    assert_eq!(ops(&change(&before, &after)), ["delete_floatingip"]);

    let mut keep_before = before.clone();
    keep_before.keep_floating_ip = true;
    let mut keep_after = keep_before.clone();
    keep_after.internal = true;
    assert_eq!(
        ops(&change(&keep_before, &keep_after)),
        ["disassociate_floatingip"]
    );
}

#[test]
fn switching_to_external_creates_a_floating_ip_on_the_live_vip_port() {
    let mut before = lb_spec("ns", "svc");
    before.internal = true;
    let after = lb_spec("ns", "svc");
    let observed = live(&before);
    let p = change(&before, &after);
    assert_eq!(ops(&p), ["create_floatingip", "tag_floatingip"]);
    let Step::CreateFloatingip { port, .. } = &p.steps[0] else {
        unreachable!()
    };
    assert_eq!(port.id, observed.loadbalancer.vip_port_id);
}

#[test]
fn a_floating_ip_we_do_not_own_is_only_ever_detached() {
    let spec = lb_spec("ns", "svc");
    let mut observed = live(&spec);
    let fip = observed.floatingip.as_mut().unwrap();
    fip.tags.clear();
    fip.description = "reserved by the tenant".into();
    let p = plan_delete(&observed, DeleteIntent::default());
    assert_eq!(ops(&p), ["disassociate_floatingip", "delete_loadbalancer"]);
}

#[test]
fn deleting_releases_the_floating_ip_then_cascade_deletes() {
    let observed = live(&lb_spec("ns", "svc"));
    let p = plan_delete(&observed, DeleteIntent::default());
    assert_eq!(ops(&p), ["delete_floatingip", "delete_loadbalancer"]);
    let Step::DeleteLoadbalancer {
        cascade,
        loadbalancer,
    } = &p.steps[1]
    else {
        unreachable!()
    };
    assert!(cascade);
    assert_eq!(loadbalancer.id, observed.loadbalancer.id);
}

#[test]
fn create_only_changes_are_warnings_never_silent_no_ops() {
    let before = lb_spec("ns", "svc");
    let mut after = before.clone();
    after.flavor_id = Some("gold".into());
    let observed = live(&before);
    let p = plan(
        &desired(&after, &nodes(3), &cluster_config()),
        Some(&observed),
        &caps(),
    );
    assert!(p.is_empty());
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].reason, WarningReason::ReplaceRequired);
    assert!(p.warnings[0].message.contains("flavor_id"));
}

#[test]
fn a_new_vip_subnet_replaces_the_load_balancer_and_keeps_the_public_address() {
    let spec = lb_spec("ns", "svc");
    let mut observed = live(&spec);
    observed.floatingip.as_mut().unwrap().floating_ip_address = Some("203.0.113.7".into());
    let mut cfg = cluster_config();
    cfg.subnet_id = Some("another-subnet".into());
    let d = desired(&spec, &nodes(3), &cfg);
    let p = plan(&d, Some(&observed), &caps());
    assert_eq!(
        ops(&p),
        [
            "disassociate_floatingip",
            "delete_loadbalancer",
            "create_loadbalancer",
            "associate_floatingip"
        ]
    );
    let Step::AssociateFloatingip { floatingip, .. } = &p.steps[3] else {
        unreachable!()
    };
    assert_eq!(
        floatingip.floating_ip_address.as_deref(),
        Some("203.0.113.7")
    );
    let mut cloud = Cloud::new(Some(&observed));
    cloud.apply(&p).unwrap();
    assert!(converged(&d, cloud.topology.as_ref()));
}

#[test]
fn a_manually_deleted_pool_is_recreated() {
    let spec = lb_spec("ns", "svc");
    let mut observed = live(&spec);
    observed.loadbalancer.listeners[0].default_pool = None;
    let p = plan(
        &desired(&spec, &nodes(3), &cluster_config()),
        Some(&observed),
        &caps(),
    );
    assert_eq!(
        ops(&p),
        ["create_pool", "replace_members", "create_healthmonitor"]
    );
}

#[test]
fn a_pool_left_by_an_interrupted_listener_create_is_deleted_before_anything_is_created() {
    let spec = lb_spec("ns", "svc");
    let d = desired(&spec, &nodes(3), &cluster_config());
    let mut observed = live(&spec);
    let listener = observed.loadbalancer.listeners.remove(0);
    let mut left = listener.default_pool.clone().unwrap();
    left.id = Some("pool-left".into());
    observed.loadbalancer.detached_pools.push(left);
    let p = plan(&d, Some(&observed), &caps());
    assert_eq!(
        ops(&p),
        [
            "delete_pool",
            "create_pool",
            "replace_members",
            "create_healthmonitor",
            "create_listener"
        ]
    );
    let Step::DeletePool { pool } = &p.steps[0] else {
        unreachable!()
    };
    assert_eq!(pool.key, ObjKey::DetachedPool("pool-left".into()));
    let mut cloud = Cloud::new(Some(&observed));
    cloud.apply(&p).unwrap();
    assert!(converged(&d, cloud.topology.as_ref()));
    assert!(
        cloud
            .topology
            .unwrap()
            .loadbalancer
            .detached_pools
            .is_empty()
    );
}

#[test]
fn a_floating_ip_marked_as_ours_but_untagged_gets_its_tags() {
    let spec = lb_spec("ns", "svc");
    let d = desired(&spec, &nodes(3), &cluster_config());
    let mut observed = live(&spec);
    observed.floatingip.as_mut().unwrap().tags.clear();
    let p = plan(&d, Some(&observed), &caps());
    assert_eq!(ops(&p), ["tag_floatingip"]);
    // And the same address, marked, is released on delete although it has no tags.
    let p = plan_delete(&observed, DeleteIntent::default());
    assert_eq!(ops(&p), ["delete_floatingip", "delete_loadbalancer"]);
    let p = plan_delete(
        &observed,
        DeleteIntent {
            keep_floatingip: true,
        },
    );
    assert_eq!(ops(&p), ["disassociate_floatingip", "delete_loadbalancer"]);
}

#[test]
fn a_detached_floating_ip_of_ours_is_bound_again_not_replaced() {
    let spec = lb_spec("ns", "svc");
    let d = desired(&spec, &nodes(3), &cluster_config());
    let mut observed = live(&spec);
    let fip = observed.floatingip.as_mut().unwrap();
    fip.port_id = None;
    let id = fip.id.clone();
    let p = plan(&d, Some(&observed), &caps());
    assert_eq!(ops(&p), ["associate_floatingip"]);
    let Step::AssociateFloatingip { floatingip, .. } = &p.steps[0] else {
        unreachable!()
    };
    assert_eq!(floatingip.id, id, "bound by id, no address lookup");
}

#[test]
fn eligible_nodes_exclude_deleting_excluded_tainted_unselected_and_wrong_family_nodes() {
    let mut spec = lb_spec("ns", "svc");
    spec.node_selector
        .0
        .insert("pool".into(), Some("web".into()));
    let ns = vec![
        NodeBuilder::new("ok", "10.0.0.1")
            .label("pool", "web")
            .build(),
        NodeBuilder::new("other-pool", "10.0.0.2")
            .label("pool", "db")
            .build(),
        NodeBuilder::new("deleting", "10.0.0.3")
            .label("pool", "web")
            .deleting()
            .build(),
        NodeBuilder::new("excluded", "10.0.0.4")
            .label("pool", "web")
            .label(
                "node.kubernetes.io/exclude-from-external-load-balancers",
                "",
            )
            .build(),
        NodeBuilder::new("autoscaled", "10.0.0.5")
            .label("pool", "web")
            .taint("ToBeDeletedByClusterAutoscaler")
            .build(),
        NodeBuilder::new("v6-only", "fd00::5")
            .label("pool", "web")
            .build(),
        NodeBuilder::new("external-only", "not-an-ip")
            .label("pool", "web")
            .address("ExternalIP", "198.51.100.9")
            .build(),
    ];
    let names: Vec<_> = eligible_nodes(&spec, &ns)
        .into_iter()
        .map(|n| (n.name, n.address))
        .collect();
    assert_eq!(
        names,
        [
            ("external-only".to_owned(), "198.51.100.9".to_owned()),
            ("ok".to_owned(), "10.0.0.1".to_owned())
        ]
    );
    spec.ip_family = IpFamily::IPv6;
    let v6: Vec<_> = eligible_nodes(&spec, &ns)
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(v6, ["v6-only"]);
}

#[test]
fn node_ports_not_allocated_give_pools_without_members() {
    let mut spec = lb_spec("ns", "svc");
    spec.ports[0].node_port = None;
    let d = desired(&spec, &nodes(3), &cluster_config());
    assert!(
        d.loadbalancer.listeners[0]
            .default_pool
            .as_ref()
            .unwrap()
            .members
            .is_empty()
    );
}

#[test]
fn udp_and_sctp_ports_get_their_own_monitor_types() {
    let mut spec = lb_spec("ns", "svc");
    spec.ports = vec![
        PortSpec {
            name: None,
            protocol: PortProtocol::Udp,
            port: 53,
            node_port: Some(30053),
        },
        PortSpec {
            name: None,
            protocol: PortProtocol::Sctp,
            port: 9999,
            node_port: Some(30999),
        },
    ];
    let d = desired(&spec, &nodes(1), &cluster_config());
    let kinds: Vec<_> = d
        .loadbalancer
        .listeners
        .iter()
        .map(|l| {
            (
                l.protocol,
                l.default_pool
                    .as_ref()
                    .unwrap()
                    .healthmonitor
                    .as_ref()
                    .unwrap()
                    .kind,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (Protocol::Udp, MonitorType::UdpConnect),
            (Protocol::Sctp, MonitorType::Sctp)
        ]
    );
}

#[test]
fn a_load_balancer_in_error_is_replaced_before_it_served_and_repaired_or_reported_after() {
    use kks_lb_octavia_model::ProvisioningStatus;
    use kks_lb_planner::{Recovery, recovery};
    let spec = lb_spec("ns", "svc");
    let d = desired(&spec, &nodes(3), &cluster_config());
    let mut observed = live(&spec);
    let unchanged = plan(&d, Some(&observed), &caps());
    assert_eq!(recovery(&observed, false, &unchanged), Recovery::Healthy);
    observed.loadbalancer.provisioning_status = Some(ProvisioningStatus::Error);
    assert_eq!(recovery(&observed, false, &unchanged), Recovery::Replace);
    assert_eq!(recovery(&observed, true, &unchanged), Recovery::Report);
    let more = plan(
        &desired(&spec, &nodes(4), &cluster_config()),
        Some(&observed),
        &caps(),
    );
    assert_eq!(recovery(&observed, true, &more), Recovery::Repair);
}

#[test]
fn a_service_with_only_sctp_ports_is_not_servable_before_octavia_2_23() {
    let mut spec = lb_spec("ns", "svc");
    let sctp = PortSpec {
        name: None,
        protocol: PortProtocol::Sctp,
        port: 9999,
        node_port: Some(30999),
    };
    spec.ports = vec![sctp.clone()];
    let d = desired(&spec, &nodes(1), &cluster_config());
    let at = |minor| Capabilities {
        api_version: ApiVersion::v2(minor),
        provider: "amphora".to_owned(),
    };
    let old = at(22);
    assert!(!servable(&d, &old));
    assert!(servable(&d, &at(23)));
    spec.ports.push(PortSpec {
        protocol: PortProtocol::Tcp,
        port: 80,
        ..sctp
    });
    let d = desired(&spec, &nodes(1), &cluster_config());
    assert!(servable(&d, &old), "the TCP port is served");
}
