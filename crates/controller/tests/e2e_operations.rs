//! End to end: operating the controller. A restart in the middle of provisioning, two
//! replicas with leader election, and the binary's entry point from a cloud.conf and a
//! kubeconfig with metrics and health probes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use std::time::Duration;

use e2e_support::*;
use k8s_openapi::api::coordination::v1::Lease;
use kks_lb_annotations::keys;
use kks_lb_controller::config::ControllerArgs;
use kks_lb_controller::run::run;
use kks_lb_octavia_model::ProvisioningStatus;
use kks_lb_planner::lb_name;
use kks_lb_testkit::openstack::{EmulatorConfig, ProvisioningDelays};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_stopped_mid_provisioning_converges_after_restart_without_leaks_or_duplicates()
{
    let env = Env::start().await;
    let ctl = env.controller().await;
    env.cloud.set_stuck_pending(true);
    env.create(&service("shop", "web"));
    env.wait_cloud("the create is pending", |s| {
        s.loadbalancers.len() == 1
            && s.loadbalancers[0].loadbalancer.provisioning_status
                == Some(ProvisioningStatus::PendingCreate)
    })
    .await;
    // Stopped while waiting for ACTIVE: the plan is dropped mid-way.
    ctl.stop().await;
    let svc = env.get("shop", "web").unwrap();
    assert!(
        has_finalizer(&svc),
        "the finalizer went on before the create"
    );
    assert_eq!(annotation(&svc, keys::LOAD_BALANCER_ID), None);

    env.cloud.set_stuck_pending(false);
    let ctl = env.controller().await;
    let svc = env.wait_ready("shop", "web").await;
    let snap = env.cloud.snapshot();
    assert_eq!(
        snap.loadbalancers.len(),
        1,
        "the pending load balancer was adopted, not duplicated"
    );
    assert_eq!(snap.floating_ips.len(), 1);
    assert_eq!(
        annotation(&svc, keys::LOAD_BALANCER_ID),
        snap.loadbalancers[0].loadbalancer.id.as_deref()
    );
    assert!(env.leaks().is_empty());

    env.delete("shop", "web").await;
    env.wait_service("shop", "web", "gone", |s| s.is_none())
        .await;
    let snap = env.cloud.snapshot();
    assert!(snap.loadbalancers.is_empty() && snap.floating_ips.is_empty());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_killed_during_an_update_finishes_it_after_restart() {
    let env = Env::start_with(EmulatorConfig {
        delays: ProvisioningDelays {
            create: Duration::from_millis(50),
            update: Duration::from_secs(1),
            delete: Duration::from_millis(20),
        },
        ..EmulatorConfig::default()
    })
    .await;
    let ctl = env.controller().await;
    env.create(&with_annotation(
        service("shop", "web"),
        keys::ENABLE_HEALTH_MONITOR,
        "true",
    ));
    env.wait_ready("shop", "web").await;
    // Two changes: the plan has several steps, each waiting a second for ACTIVE.
    env.edit("shop", "web", |s| {
        let a = s.metadata.annotations.get_or_insert_with(Default::default);
        a.insert(keys::TIMEOUT_CLIENT_DATA.into(), "90000".into());
        a.insert(keys::HEALTH_MONITOR_DELAY.into(), "8".into());
        a.insert(keys::LB_METHOD.into(), "SOURCE_IP".into());
    });
    env.wait_cloud("the update started", |s| {
        s.loadbalancers[0].loadbalancer.provisioning_status
            == Some(ProvisioningStatus::PendingUpdate)
    })
    .await;
    ctl.kill().await;

    let ctl = env.controller().await;
    env.wait_cloud("every change applied", |snap| {
        snap.loadbalancer(&lb_name(CLUSTER, "shop", "web"))
            .and_then(|t| t.loadbalancer.listeners.first())
            .is_some_and(|l| {
                let pool = l.default_pool.as_ref().unwrap();
                l.timeout_client_data == Some(90_000)
                    && pool.lb_algorithm == kks_lb_octavia_model::LbAlgorithm::SourceIp
                    && pool.healthmonitor.as_ref().is_some_and(|h| h.delay == 8)
            })
    })
    .await;
    assert_eq!(env.cloud.snapshot().loadbalancers.len(), 1);
    ctl.stop().await;
}

fn lease_holder(env: &Env) -> Option<String> {
    env.kube
        .get::<Lease>(Some("kube-system"), "kks-lb-controller")
        .unwrap()
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty())
}

fn reporters(env: &Env, ns: &str, name: &str, reason: &str) -> Vec<String> {
    env.kube
        .events_for(ns, name)
        .unwrap()
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter_map(|e| e.reporting_instance)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_takes_over_when_the_leader_dies_and_converges_a_change() {
    let env = Env::start().await;
    let replica = |id: &str| {
        let mut s = env.settings();
        s.identity = id.into();
        s.leader_election = Some(env.lease(id));
        s
    };
    let a = env.controller_with(replica("replica-a")).await;
    env.eventually("replica-a leads", || async {
        (lease_holder(&env).as_deref() == Some("replica-a")).then_some(())
    })
    .await;
    let b = env.controller_with(replica("replica-b")).await;

    env.create(&service("shop", "web"));
    env.wait_ready("shop", "web").await;
    env.wait_event("shop", "web", "EnsuredLoadBalancer", "created")
        .await;
    assert_eq!(
        reporters(&env, "shop", "web", "EnsuredLoadBalancer"),
        ["replica-a"],
        "only the leader reconciles"
    );

    // The leader dies without releasing the Lease; the follower takes over after it expires.
    a.kill().await;
    env.annotate("shop", "web", keys::TIMEOUT_CLIENT_DATA, Some("120000"));
    env.wait_cloud("the follower applied the change", |snap| {
        snap.loadbalancer(&lb_name(CLUSTER, "shop", "web"))
            .and_then(|t| t.loadbalancer.listeners.first())
            .is_some_and(|l| l.timeout_client_data == Some(120_000))
    })
    .await;
    assert_eq!(lease_holder(&env).as_deref(), Some("replica-b"));
    env.eventually("the new leader reports the update", || async {
        reporters(&env, "shop", "web", "UpdatedLoadBalancer")
            .contains(&"replica-b".to_owned())
            .then_some(())
    })
    .await;
    assert_eq!(env.cloud.snapshot().loadbalancers.len(), 1, "no duplicate");

    // A graceful stop releases the Lease at once.
    b.stop().await;
    assert_eq!(lease_holder(&env), None, "released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_loses_its_lease_stops_reconciling_and_competes_again() {
    let env = Env::start().await;
    let mut settings = env.settings();
    settings.identity = "replica-a".into();
    settings.leader_election = Some(env.lease("replica-a"));
    let ctl = env.controller_with(settings).await;
    env.eventually("replica-a leads", || async {
        (lease_holder(&env).as_deref() == Some("replica-a")).then_some(())
    })
    .await;

    // An intruder takes the Lease and keeps renewing it.
    let kube = env.kube.clone();
    let intruder = tokio::spawn(async move {
        loop {
            kube.edit::<Lease>(Some("kube-system"), "kks-lb-controller", |l| {
                let spec = l.spec.get_or_insert_with(Default::default);
                spec.holder_identity = Some("intruder".into());
                spec.renew_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
                    k8s_openapi::jiff::Timestamp::now(),
                ));
            })
            .unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    // Give replica-a time to notice (its renewal fails within the renew deadline).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    env.create(&service("shop", "web"));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let svc = env.get("shop", "web").unwrap();
    assert!(
        !has_finalizer(&svc) && svc.status.is_none(),
        "a replica without the Lease does not reconcile"
    );
    assert!(env.cloud.snapshot().loadbalancers.is_empty());

    // The intruder stops renewing; replica-a takes over once the Lease expires and converges.
    intruder.abort();
    let _ = intruder.await;
    env.wait_ready("shop", "web").await;
    assert_eq!(lease_holder(&env).as_deref(), Some("replica-a"));
    ctl.stop().await;
}

/// A free local port (bound and released; good enough for a test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_entry_point_runs_from_cloud_conf_and_kubeconfig_and_serves_metrics_and_probes() {
    let env = Env::start().await;
    let dir = std::env::temp_dir().join(format!("kks-lb-e2e-{}", std::process::id()));
    let (kubeconfig, cloud_conf) = env.write_config_files(&dir, "create-monitor = true\n");
    let port = free_port();
    let args: ControllerArgs = clap::Parser::try_parse_from([
        "kks-lb-controller",
        "--cloud-config",
        cloud_conf.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--cluster-name",
        CLUSTER,
        "--metrics-addr",
        &format!("127.0.0.1:{port}"),
        "--os-api-qps",
        "0",
    ])
    .unwrap();
    let token = CancellationToken::new();
    let task = tokio::spawn(run(args, token.clone()));

    env.create(&service("shop", "web"));
    env.wait_ready("shop", "web").await;
    let lb = env.lb("shop", "web").unwrap();
    assert!(
        lb.loadbalancer
            .tags
            .contains(&format!("kks-lb-cluster:{}", env.kube.kube_system_uid())),
        "the cluster id defaults to the kube-system UID"
    );
    let pool = lb.loadbalancer.listeners[0].default_pool.as_ref().unwrap();
    assert!(
        pool.healthmonitor.is_some(),
        "create-monitor from cloud.conf"
    );

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.text().await.unwrap().contains("leader: true"));
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("kks_lb_reconciles_total"), "{metrics}");
    assert!(
        metrics.contains("kks_lb_openstack_calls_total{service=\"load-balancer\",method=\"POST\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("kks_lb_plan_steps_total{op=\"create_loadbalancer\",outcome=\"ok\"}"),
        "{metrics}"
    );
    // Each step is timed on its own: a create carries the load balancer's provisioning (the
    // emulator's create delay), not a share of the plan's total.
    let sample = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    let creates = sample("kks_lb_step_duration_seconds_count{op=\"create_loadbalancer\"}");
    let created_in = sample("kks_lb_step_duration_seconds_sum{op=\"create_loadbalancer\"}");
    assert!(creates >= 1.0, "{metrics}");
    assert!(
        created_in >= creates * fast_delays().create.as_secs_f64(),
        "{created_in} s for {creates} create(s): {metrics}"
    );

    token.cancel();
    tokio::time::timeout(PATIENCE, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
