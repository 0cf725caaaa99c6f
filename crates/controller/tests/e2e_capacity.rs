//! End to end (`kks-lb capacity` is tested in crates/cli/tests/capacity.rs): a /29 cluster subnet (five addresses) holds five load balancers; the sixth
//! Service waits with `SubnetExhausted` naming the subnet, its CIDR and usage, retried on the
//! backoff, and gets its load balancer once another Service is deleted. The subnet gauge
//! shows the usage.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use std::time::Duration;

use e2e_support::*;
use kks_lb_testkit::openstack::EmulatorConfig;

async fn scrape(port: u16) -> String {
    reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn gauge(metrics: &str, subnet: &str, state: &str) -> Option<u64> {
    let prefix = format!("kks_lb_subnet_addresses{{subnet=\"{subnet}\",state=\"{state}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_subnet_is_subnet_exhausted_with_its_numbers_until_a_deleted_service_frees_an_address()
 {
    let env = Env::start_with(EmulatorConfig {
        delays: fast_delays(),
        cluster_cidr: "10.0.0.0/29".into(),
        admin_role: true,
        ..EmulatorConfig::default()
    })
    .await;
    let port = free_port();
    let mut settings = env.settings();
    settings.metrics_addr = Some(format!("127.0.0.1:{port}").parse().unwrap());
    let ctl = env.controller_with(settings).await;
    let subnet = env.cloud.fixture().cluster_subnet_id.clone();

    let names = ["a", "b", "c", "d", "e"];
    for name in names {
        env.create(&service("shop", name));
    }
    for name in names {
        env.wait_ready("shop", name).await;
    }
    env.cloud.reset_calls();
    env.create(&service("shop", "f"));
    let svc = env
        .wait_service("shop", "f", "pending with SubnetExhausted", |s| {
            s.is_some_and(|s| pending_because(s, "SubnetExhausted"))
        })
        .await
        .unwrap();
    let (_, _, message) = condition(&svc).unwrap();
    assert!(message.contains("10.0.0.0/29"), "{message}");
    assert!(message.contains(&subnet), "{message}");
    assert!(
        message.contains("5 of 5 addresses in use, 0 free"),
        "{message}"
    );
    assert!(
        !message.contains("409"),
        "no raw cloud error in the condition: {message}"
    );
    env.wait_event("shop", "f", "SubnetExhausted", "5 of 5 addresses in use")
        .await;
    assert!(
        !env.has_event("shop", "f", "LoadBalancerError", ""),
        "{:#?}",
        env.events("shop", "f")
    );
    // The failed reconcile is counted once its report is written.
    let metrics = env
        .eventually("the SubnetExhausted reconcile error is counted", || async {
            let m = scrape(port).await;
            m.contains("kks_lb_reconcile_errors_total{reason=\"SubnetExhausted\"}")
                .then_some(m)
        })
        .await;
    assert_eq!(gauge(&metrics, &subnet, "used"), Some(5), "{metrics}");
    assert_eq!(gauge(&metrics, &subnet, "total"), Some(5), "{metrics}");

    // Retried on the backoff (50 ms doubling to 1 s here), one create per attempt: over two
    // seconds a handful of creates, not a loop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let creates = env.cloud.call_count("POST", "/v2/lbaas/loadbalancers");
    assert!(
        (2..=10).contains(&creates),
        "creates while the subnet is full: {creates}"
    );
    assert_eq!(
        env.cloud
            .call_count_with_status("POST", "/v2/lbaas/loadbalancers", 409),
        creates,
        "every create was refused, none re-sent within a plan"
    );
    assert_eq!(env.cloud.snapshot().floating_ips.len(), 5);

    env.delete("shop", "a").await;
    env.wait_service("shop", "a", "gone", |s| s.is_none()).await;
    let f = env.wait_ready("shop", "f").await;
    assert!(ingress_ip(&f).is_some());
    let (_, reason, _) = condition(&f).unwrap();
    assert_eq!(reason, "EnsuredLoadBalancer");
    assert_eq!(env.cloud.snapshot().loadbalancers.len(), 5);
    assert!(env.leaks().is_empty());
    ctl.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_subnet_gauge_reads_the_cloud_once_per_resync_interval() {
    use kks_lb_adapter::{Auth, OpenStackClient, SessionConfig};
    use kks_lb_controller::metrics::Metrics;
    let cloud = kks_lb_testkit::openstack::OpenStackEmulator::start(EmulatorConfig {
        admin_role: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let f = cloud.fixture().clone();
    let mut session = SessionConfig::new(Auth::ApplicationCredential {
        auth_url: cloud.auth_url().to_owned(),
        id: f.application_credential_id.clone(),
        secret: f.application_credential_secret.clone(),
    });
    session.qps = 0.0;
    let client = OpenStackClient::connect(&session).await.unwrap();
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Metrics::register(&mut registry);
    let cluster = kks_lb_planner::ClusterConfig {
        cluster_name: "kks".into(),
        cluster_id: "c1".into(),
        subnet_id: Some(f.cluster_subnet_id.clone()),
        network_id: None,
        member_subnet_id: None,
        floating_network_id: None,
        provider: "amphora".into(),
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let resync = Duration::from_secs(600);
    let task = tokio::spawn(kks_lb_controller::capacity::gauge_loop(
        client,
        cluster,
        metrics,
        resync,
        stop.clone(),
    ));
    let reads = || cloud.call_count("GET", "/v2.0/network-ip-availabilities/{id}");
    for _ in 0..50 {
        if reads() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(reads(), 1, "read at start");
    tokio::time::sleep(Duration::from_secs(590)).await;
    assert_eq!(reads(), 1, "not again within the interval");
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(reads(), 2, "once more after it");
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains(&format!(
            "kks_lb_subnet_addresses{{subnet=\"{}\",state=\"total\"}} 253",
            f.cluster_subnet_id
        )),
        "{text}"
    );
    stop.cancel();
    task.await.unwrap();
}
