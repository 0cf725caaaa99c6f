//! End to end: changes to live Services and nodes reach the live load balancer; invalid and
//! foreign input changes nothing in the cloud; the controller neither reacts to its own
//! writes nor repeats warnings, and repairs drift on resync.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use std::time::Duration;

use e2e_support::*;
use k8s_openapi::api::core::v1::Node;
use kks_lb_adapter::{Executor, discover};
use kks_lb_annotations::{Defaults, keys, parse};
use kks_lb_octavia_model::{LbAlgorithm, MonitorType, Protocol, Topology};
use kks_lb_planner::{ClusterConfig, desired, lb_name, plan};
use kks_lb_testkit::openstack::QuotaLimits;

fn listener80(t: &Topology) -> Option<&kks_lb_octavia_model::Listener> {
    t.loadbalancer
        .listeners
        .iter()
        .find(|l| l.protocol_port == 80)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotation_and_spec_edits_reach_the_live_load_balancer_in_place() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    env.create(&with_annotation(
        service("shop", "web"),
        keys::ENABLE_HEALTH_MONITOR,
        "true",
    ));
    env.wait_ready("shop", "web").await;
    let id = env.lb("shop", "web").unwrap().loadbalancer.id;

    env.edit("shop", "web", |s| {
        let a = s.metadata.annotations.get_or_insert_with(Default::default);
        for (k, v) in [
            (keys::TIMEOUT_CLIENT_DATA, "300000"),
            (keys::TIMEOUT_MEMBER_CONNECT, "3000"),
            (keys::LB_METHOD, "LEAST_CONNECTIONS"),
            (keys::HEALTH_MONITOR_DELAY, "7"),
            (keys::HEALTH_MONITOR_TIMEOUT, "3"),
            (keys::CONNECTION_LIMIT, "100"),
        ] {
            a.insert(k.into(), v.into());
        }
    });
    env.wait_cloud("timeouts, algorithm, monitor and limit applied", |snap| {
        let Some(t) = snap.loadbalancer(&lb_name(CLUSTER, "shop", "web")) else {
            return false;
        };
        let Some(l) = listener80(t) else {
            return false;
        };
        let Some(pool) = l.default_pool.as_ref() else {
            return false;
        };
        let hm = pool.healthmonitor.as_ref();
        l.timeout_client_data == Some(300_000)
            && l.timeout_member_connect == Some(3000)
            && l.connection_limit == 100
            && pool.lb_algorithm == LbAlgorithm::LeastConnections
            && hm.is_some_and(|h| h.delay == 7 && h.timeout == 3)
    })
    .await;
    env.wait_event("shop", "web", "UpdatedLoadBalancer", "update_listener")
        .await;

    env.edit("shop", "web", |s| {
        s.spec.as_mut().unwrap().load_balancer_source_ranges =
            Some(vec!["192.0.2.0/24".into(), "10.1.0.0/16".into()]);
    });
    env.wait_cloud("source ranges on the listener", |snap| {
        snap.loadbalancer(&lb_name(CLUSTER, "shop", "web"))
            .and_then(|t| listener80(t)?.allowed_cidrs.clone())
            .is_some_and(|mut c| {
                c.sort();
                c == ["10.1.0.0/16", "192.0.2.0/24"]
            })
    })
    .await;

    env.annotate("shop", "web", keys::X_FORWARDED_FOR, Some("true"));
    let snap = env
        .wait_cloud("an HTTP listener inserting X-Forwarded-For", |snap| {
            snap.loadbalancer(&lb_name(CLUSTER, "shop", "web"))
                .and_then(listener80)
                .is_some_and(|l| {
                    l.protocol == Protocol::Http
                        && l.insert_headers.get("X-Forwarded-For").map(String::as_str)
                            == Some("true")
                })
        })
        .await;
    let t = snap.loadbalancer(&lb_name(CLUSTER, "shop", "web")).unwrap();
    let hm = listener80(t)
        .unwrap()
        .default_pool
        .as_ref()
        .unwrap()
        .healthmonitor
        .as_ref()
        .unwrap();
    assert_eq!(hm.kind, MonitorType::Http);
    assert_eq!(
        t.loadbalancer.id, id,
        "the same load balancer, changed in place"
    );
    assert_eq!(snap.loadbalancers.len(), 1);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_traffic_policy_local_monitors_healthz_on_the_health_check_node_port() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    let mut svc = service("shop", "local");
    svc.spec.as_mut().unwrap().external_traffic_policy = Some("Local".into());
    let stored = env.create(&svc);
    let hc_port = stored
        .spec
        .as_ref()
        .and_then(|s| s.health_check_node_port)
        .expect("the API server allocates a health check node port");
    env.wait_ready("shop", "local").await;
    let lb = env.lb("shop", "local").unwrap();
    let pool = listener80(&lb).unwrap().default_pool.as_ref().unwrap();
    let hm = pool
        .healthmonitor
        .as_ref()
        .expect("a monitor without asking");
    assert_eq!(hm.kind, MonitorType::Http);
    assert_eq!(hm.url_path.as_deref(), Some("/healthz"));
    assert_eq!(pool.members.len(), 3);
    assert!(
        pool.members
            .iter()
            .all(|m| m.monitor_port == Some(u16::try_from(hc_port).unwrap())),
        "{:?}",
        pool.members
    );
    ctl.stop().await;
}

fn members_are(env: &Env, want: &[&str]) -> bool {
    env.lb("shop", "web").is_some_and(|t| {
        member_addresses(&t) == want.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_changes_and_the_node_selector_update_members() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    env.create(&service("shop", "web"));
    env.wait_ready("shop", "web").await;
    let all = ["10.0.0.11", "10.0.0.12", "10.0.0.13"];
    assert!(members_are(&env, &all));

    env.kube.add_node("node-4", "10.0.0.14").unwrap();
    env.eventually("node-4 joins", || async {
        members_are(&env, &["10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14"]).then_some(())
    })
    .await;

    env.kube.remove_node("node-2").unwrap();
    env.eventually("node-2 leaves", || async {
        members_are(&env, &["10.0.0.11", "10.0.0.13", "10.0.0.14"]).then_some(())
    })
    .await;

    // A node selector no node matches yet, then a label that matches.
    env.annotate("shop", "web", keys::NODE_SELECTOR, Some("pool=web"));
    env.eventually("no node matches", || async {
        members_are(&env, &[]).then_some(())
    })
    .await;
    env.kube.label_node("node-3", "pool", Some("web")).unwrap();
    env.eventually("the labelled node joins", || async {
        members_are(&env, &["10.0.0.13"]).then_some(())
    })
    .await;
    env.kube
        .label_node(
            "node-3",
            "node.kubernetes.io/exclude-from-external-load-balancers",
            Some(""),
        )
        .unwrap();
    env.eventually("an excluded node leaves", || async {
        members_are(&env, &[]).then_some(())
    })
    .await;
    assert_eq!(env.cloud.snapshot().loadbalancers.len(), 1);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_annotation_changes_nothing_in_the_cloud_and_says_why() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    env.create(&with_annotation(
        service("shop", "web"),
        keys::ENABLE_HEALTH_MONITOR,
        "true",
    ));
    let ready = env.wait_ready("shop", "web").await;
    let before = env.lb("shop", "web").unwrap();
    env.cloud.reset_calls();

    env.edit("shop", "web", |s| {
        let a = s.metadata.annotations.get_or_insert_with(Default::default);
        a.insert(keys::HEALTH_MONITOR_TIMEOUT.into(), "20".into());
        a.insert(keys::LB_METHOD.into(), "FASTEST".into());
    });
    let svc = env
        .wait_service("shop", "web", "pending with InvalidAnnotation", |s| {
            s.is_some_and(|s| pending_because(s, "InvalidAnnotation"))
        })
        .await
        .unwrap();
    let (_, _, message) = condition(&svc).unwrap();
    assert!(message.contains("health-monitor-timeout"), "{message}");
    assert!(message.contains("lb-method"), "{message}");
    env.wait_event(
        "shop",
        "web",
        "InvalidAnnotation",
        "must be less than health-monitor-delay",
    )
    .await;
    env.wait_event("shop", "web", "InvalidAnnotation", "FASTEST")
        .await;
    assert_eq!(
        ingress_ip(&svc),
        ingress_ip(&ready),
        "the last good load balancer keeps serving"
    );

    // Not even a read: an invalid Service makes no cloud call. A node change neither.
    env.kube.add_node("node-4", "10.0.0.14").unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(env.cloud.call_log(), vec![], "no OpenStack call at all");
    assert_eq!(env.lb("shop", "web").unwrap(), before);
    let invalid_events = env
        .events("shop", "web")
        .into_iter()
        .filter(|(r, _)| r == "InvalidAnnotation")
        .count();
    assert_eq!(invalid_events, 2, "one Event per error, not repeated");

    // Fixing it applies the good values and the new node.
    env.edit("shop", "web", |s| {
        let a = s.metadata.annotations.get_or_insert_with(Default::default);
        a.insert(keys::HEALTH_MONITOR_TIMEOUT.into(), "4".into());
        a.remove(keys::LB_METHOD);
    });
    env.wait_ready("shop", "web").await;
    env.wait_cloud("the fixed monitor and the new member", |snap| {
        snap.loadbalancer(&lb_name(CLUSTER, "shop", "web"))
            .and_then(listener80)
            .and_then(|l| l.default_pool.as_ref())
            .is_some_and(|pool| {
                pool.healthmonitor.as_ref().is_some_and(|h| h.timeout == 4)
                    && pool.members.len() == 4
            })
    })
    .await;
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_load_balancer_id_is_refused_and_left_untouched() {
    let env = Env::start().await;
    // Another cluster's load balancer, made with the same pipeline.
    let other = ClusterConfig {
        cluster_name: "other".into(),
        cluster_id: "another-cluster".into(),
        ..env.cluster.clone()
    };
    let os = env.openstack().await;
    let caps = discover(&os, "amphora").await.unwrap();
    let theirs = parse(&service("team-b", "api"), &Defaults::default())
        .unwrap()
        .spec;
    let nodes: Vec<Node> = env.kube.list(None).unwrap();
    let want = desired(&theirs, &nodes, &other);
    let executor = Executor::new(os, env.settings().execute);
    let out = executor
        .execute(&want.loadbalancer.name, &plan(&want, None, &caps), None)
        .await
        .unwrap();
    let foreign_id = out.loadbalancer_id.unwrap();
    let before = env.cloud.snapshot();
    env.cloud.reset_calls();

    let ctl = env.controller().await;
    env.create(&with_annotation(
        service("shop", "web"),
        keys::LOAD_BALANCER_ID,
        &foreign_id,
    ));
    let svc = env
        .wait_service("shop", "web", "pending with ForeignLoadBalancer", |s| {
            s.is_some_and(|s| pending_because(s, "ForeignLoadBalancer"))
        })
        .await
        .unwrap();
    assert_eq!(ingress_ip(&svc), None);
    env.wait_event("shop", "web", "ForeignLoadBalancer", &foreign_id)
        .await;
    assert_eq!(
        env.cloud_writes(),
        vec![],
        "nothing is written to the cloud"
    );
    assert_eq!(env.cloud.snapshot().loadbalancers, before.loadbalancers);

    // Deleting the Service still leaves their load balancer alone.
    env.delete("shop", "web").await;
    env.wait_service("shop", "web", "gone", |s| s.is_none())
        .await;
    assert_eq!(env.cloud_writes(), vec![]);
    assert_eq!(env.cloud.snapshot().loadbalancers, before.loadbalancers);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_does_not_react_to_its_own_writes() {
    let env = Env::start().await;
    let ctl = env.controller().await;
    env.create(&service("shop", "web"));
    env.wait_ready("shop", "web").await;
    env.wait_event("shop", "web", "EnsuredLoadBalancer", "created")
        .await;
    // Let the watch events of the last writes (finalizer, annotations, status) arrive.
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Observing an existing load balancer lists its listeners; creating one never does. So
    // any reconcile woken by our own writes would show up here.
    assert_eq!(
        env.cloud.call_count("GET", "/v2/lbaas/listeners"),
        0,
        "no reconcile after our own writes"
    );
    env.cloud.reset_calls();
    env.kube.clear_audit_log();

    // Changes that do not matter: a label on the Service, a node heartbeat.
    env.edit("shop", "web", |s| {
        s.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("team".into(), "shop".into());
    });
    env.kube.set_node_ready("node-1", true).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(env.cloud.call_log(), vec![], "no OpenStack call");
    assert_eq!(env.service_writes(), 0, "no write to the Service");

    // A change that matters is still seen, and its own writes again cause nothing more.
    env.annotate("shop", "web", keys::TIMEOUT_CLIENT_DATA, Some("60000"));
    env.wait_cloud("the timeout applied", |snap| {
        snap.loadbalancer(&lb_name(CLUSTER, "shop", "web"))
            .and_then(listener80)
            .is_some_and(|l| l.timeout_client_data == Some(60_000))
    })
    .await;
    env.wait_event("shop", "web", "UpdatedLoadBalancer", "update_listener")
        .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        env.cloud.call_count("GET", "/v2/lbaas/listeners"),
        0,
        "an edit starts from the last observation: the listener PUT and polls only"
    );
    assert_eq!(env.cloud.call_count("PUT", "/v2/lbaas/listeners/{id}"), 1);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resyncs_observe_without_writing_repair_drift_and_do_not_repeat_warnings() {
    let env = Env::start().await;
    let mut settings = env.settings();
    settings.resync = Duration::from_millis(400);
    let ctl = env.controller_with(settings).await;
    env.create(&with_annotation(
        service("shop", "web"),
        "loadbalancer.openstack.org/helth-monitor-delay",
        "5",
    ));
    env.wait_ready("shop", "web").await;
    env.wait_event("shop", "web", "UnknownAnnotation", "health-monitor-delay")
        .await;
    env.cloud.reset_calls();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        env.cloud
            .call_log()
            .iter()
            .any(|c| c.method == "GET" && c.path.starts_with("/v2/lbaas/loadbalancers")),
        "resyncs observe the load balancer"
    );
    assert_eq!(env.cloud_writes(), vec![], "steady state writes nothing");
    let unknown: Vec<_> = env
        .kube
        .events_for("shop", "web")
        .unwrap()
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("UnknownAnnotation"))
        .collect();
    assert_eq!(unknown.len(), 1);
    assert!(
        unknown[0].series.is_none(),
        "the warning is not re-published on resync"
    );

    // Someone deletes the listener by hand; the next resync recreates it.
    let live = env.lb("shop", "web").unwrap();
    let mut gutted = live.clone();
    gutted.loadbalancer.listeners.clear();
    let os = env.openstack().await;
    let caps = discover(&os, "amphora").await.unwrap();
    let manual = plan(&gutted, Some(&live), &caps);
    assert!(!manual.is_empty());
    let old_listener = live.loadbalancer.listeners[0].id.clone().unwrap();
    env.cloud.reset_calls();
    Executor::new(os, env.settings().execute)
        .execute(&live.loadbalancer.name, &manual, Some(&live))
        .await
        .unwrap();
    assert_eq!(
        env.cloud.call_count("DELETE", "/v2/lbaas/listeners/{id}"),
        1
    );
    env.wait_cloud("a new listener replaces the deleted one", |snap| {
        snap.loadbalancer(&lb_name(CLUSTER, "shop", "web"))
            .is_some_and(|t| {
                t.loadbalancer.listeners.len() == 1
                    && t.loadbalancer.listeners[0].id.as_deref() != Some(old_listener.as_str())
                    && member_addresses(t).len() == 3
            })
    })
    .await;
    assert_eq!(
        env.cloud.call_count("POST", "/v2/lbaas/listeners"),
        1,
        "recreated once"
    );
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_failures_are_reported_with_status_and_request_id_and_retried() {
    let env = Env::start().await;
    let project = env.cloud.fixture().project_id.clone();
    env.cloud.set_quota(
        &project,
        QuotaLimits {
            load_balancer: 0,
            ..QuotaLimits::default()
        },
    );
    let ctl = env.controller().await;
    env.create(&service("shop", "web"));
    let svc = env
        .wait_service("shop", "web", "pending with LoadBalancerError", |s| {
            s.is_some_and(|s| pending_because(s, "LoadBalancerError"))
        })
        .await
        .unwrap();
    let (_, _, message) = condition(&svc).unwrap();
    assert!(message.contains("403 Quota has been met"), "{message}");
    assert!(message.contains("request id req-"), "{message}");
    env.wait_event("shop", "web", "LoadBalancerError", "request id req-")
        .await;

    // Once the quota allows it, the retry creates the load balancer.
    env.cloud.set_quota(&project, QuotaLimits::default());
    env.wait_ready("shop", "web").await;

    // A create that ends in ERROR is deleted and made again, without leaving anything behind.
    env.cloud.fail_next_creates(1);
    env.create(&service("shop", "other"));
    env.wait_ready("shop", "other").await;
    let snap = env.cloud.snapshot();
    assert_eq!(snap.loadbalancers.len(), 2);
    assert!(
        snap.loadbalancers
            .iter()
            .all(|t| t.loadbalancer.provisioning_status
                == Some(kks_lb_octavia_model::ProvisioningStatus::Active))
    );
    assert_eq!(snap.floating_ips.len(), 2);
    assert!(env.leaks().is_empty());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_checks_list_the_cluster_once_per_resync_and_skip_unchanged_trees() {
    let env = Env::start().await;
    let mut settings = env.settings();
    settings.resync = Duration::from_millis(1000);
    let ctl = env.controller_with(settings).await;
    let names = ["a", "b", "c"];
    for name in names {
        env.create(&service("shop", name));
    }
    for name in names {
        env.wait_ready("shop", name).await;
    }
    // The first sweep confirms what the plans left.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    env.cloud.reset_calls();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    for tree in [
        "/v2/lbaas/listeners",
        "/v2/lbaas/pools",
        "/v2/lbaas/loadbalancers/{id}",
        "/v2/lbaas/pools/{id}/members",
        // Member health comes with the list's operating status: ONLINE needs no detail.
        "/v2/lbaas/loadbalancers/{id}/status",
    ] {
        assert_eq!(
            env.cloud.call_count("GET", tree),
            0,
            "no tree is re-read while nothing changes: {tree}: {:?}",
            env.cloud.call_log()
        );
    }
    let lists = env.cloud.call_count("GET", "/v2/lbaas/loadbalancers");
    assert!(
        (2..=4).contains(&lists),
        "one list per resync interval for all three, 3 s at 1 s: {lists}"
    );
    assert_eq!(env.cloud_writes(), vec![], "steady state writes nothing");

    // Someone deletes a listener by hand: the next sweep sees the load balancer changed and
    // that Service alone re-reads its tree and repairs it.
    let live = env.lb("shop", "b").unwrap();
    let mut gutted = live.clone();
    gutted.loadbalancer.listeners.clear();
    let os = env.openstack().await;
    let caps = discover(&os, "amphora").await.unwrap();
    let manual = plan(&gutted, Some(&live), &caps);
    Executor::new(os, env.settings().execute)
        .execute(&live.loadbalancer.name, &manual, Some(&live))
        .await
        .unwrap();
    env.cloud.reset_calls();
    env.wait_cloud("the deleted listener is recreated", |snap| {
        snap.loadbalancer(&lb_name(CLUSTER, "shop", "b"))
            .is_some_and(|t| t.loadbalancer.listeners.len() == 1)
    })
    .await;
    assert_eq!(
        env.cloud.call_count("GET", "/v2/lbaas/listeners"),
        1,
        "only the changed Service re-read its tree"
    );
    ctl.stop().await;
}

/// The Event publisher's recorder is bounded: repeats count in one Event's series while one
/// recorder publishes them; after `per_recorder` Events a fresh recorder (and cache) takes
/// over, so a repeat then starts a new Event instead of growing the table forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_recorder_is_replaced_after_its_limit_and_repeats_start_a_new_event() {
    use kks_lb_controller::events::{Note, Publisher, Reason};

    let env = Env::start().await;
    let svc = env.create(&service("shop", "web"));
    let note = Note::new(Reason::UpdatedLoadBalancer, "updated load balancer lb-1");
    let series = |publisher: &str| -> Vec<Option<i32>> {
        let mut counts: Vec<Option<i32>> = env
            .kube
            .events_for("shop", "web")
            .unwrap()
            .into_iter()
            .filter(|e| e.reporting_instance.as_deref() == Some(publisher))
            .map(|e| e.series.map(|s| s.count))
            .collect();
        counts.sort();
        counts
    };

    let unbounded = Publisher::new(env.client.clone(), "kks-lb", "unbounded");
    for _ in 0..3 {
        unbounded.publish(&svc, &note).await;
    }
    assert_eq!(
        series("unbounded"),
        vec![Some(3)],
        "one Event, seen three times"
    );

    let bounded = Publisher::with_recorder_limit(env.client.clone(), "kks-lb", "bounded", 2);
    for _ in 0..3 {
        bounded.publish(&svc, &note).await;
    }
    assert_eq!(
        series("bounded"),
        vec![None, Some(2)],
        "the third repeat came from a fresh recorder: a new Event"
    );
}
