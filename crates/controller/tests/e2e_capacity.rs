//! End to end: a /29 cluster subnet (five addresses) holds five load balancers; the sixth
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
    let metrics = scrape(port).await;
    assert_eq!(gauge(&metrics, &subnet, "used"), Some(5), "{metrics}");
    assert_eq!(gauge(&metrics, &subnet, "total"), Some(5), "{metrics}");
    assert!(
        metrics.contains("kks_lb_reconcile_errors_total{reason=\"SubnetExhausted\"}"),
        "{metrics}"
    );

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
