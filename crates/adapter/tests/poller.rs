//! The shared poller: many load balancers waiting at once cost one list call per tick, not
//! one `GET` each; a cloud whose list refuses the tag filter falls back to per-LB polls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Harness;
use k8s_openapi::api::core::v1::Service;
use kks_lb_adapter::Executor;
use kks_lb_annotations::{Defaults, parse};
use kks_lb_planner::cluster_tag;
use kks_lb_testkit::fixtures::nodes;

fn spec(i: usize) -> kks_lb_annotations::LbSpec {
    let svc: Service = serde_yaml_ng::from_str(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: web{i}, namespace: shop, uid: u{i}}}\nspec:\n  type: LoadBalancer\n  ports:\n  - {{name: http, port: 80, nodePort: 30080}}\n"
    ))
    .unwrap();
    parse(&svc, &Defaults::default()).unwrap().spec
}

#[tokio::test]
async fn concurrent_waits_share_one_list_per_tick() {
    let h = Harness::start().await;
    let three = nodes(3);
    let specs: Vec<_> = (0..12).map(spec).collect();
    h.cloud.reset_calls();
    let runs = specs.iter().map(|s| h.reconcile(s, &three));
    for r in futures::future::join_all(runs).await {
        r.unwrap();
    }
    assert_eq!(
        h.cloud.call_count("GET", "/v2/lbaas/loadbalancers/{id}"),
        0,
        "no load balancer polls itself"
    );
    let lists = h.executor.poller().list_calls();
    assert!(lists >= 1, "the waits were answered by lists");
    assert_eq!(
        h.cloud.call_count("GET", "/v2/lbaas/loadbalancers"),
        lists + 12,
        "the lists plus one lookup by name per Service"
    );
    assert_eq!(h.executor.poller().waiting(), 0, "every waiter left");
    // Twelve creates waited for at the same time: far fewer lists than waits would have
    // cost polls.
    assert!(lists < 12 * 2, "{lists} lists for 12 concurrent creates");
    for s in &specs {
        assert!(h.observed(s).await.is_some());
    }
}

/// A Service's load balancer created, then deleted with a poller that lists only load
/// balancers tagged `poll_tag` (the cluster's when `None`); the cloud's calls are those of the
/// delete.
async fn deleted_polling_tag(poll_tag: Option<&str>) -> Harness {
    let mut h = Harness::start().await;
    let tag = poll_tag.map_or_else(|| cluster_tag(&h.cluster.cluster_id), str::to_owned);
    h.executor =
        Executor::new(h.executor.client().clone(), common::fast_execution()).with_poll_tag(tag);
    let s = spec(1);
    h.reconcile(&s, &nodes(3)).await.unwrap();
    h.cloud.reset_calls();
    h.delete(&s).await.unwrap();
    assert_eq!(h.is_gone(&s).await, Some(true));
    h
}

#[tokio::test]
async fn a_deleted_load_balancer_with_the_polled_tag_is_gone_once_the_list_lacks_it() {
    let h = deleted_polling_tag(None).await;
    assert!(
        h.executor.poller().list_calls() >= 1,
        "the wait for the delete was answered by a list"
    );
    assert_eq!(
        h.cloud.call_count("GET", "/v2/lbaas/loadbalancers/{id}"),
        0,
        "it carried the listed tag: a list without it proves it gone, no GET of its own"
    );
    assert_eq!(
        h.cloud.call_count("DELETE", "/v2/lbaas/loadbalancers/{id}"),
        1
    );
}

#[tokio::test]
async fn a_deleted_load_balancer_without_the_polled_tag_is_confirmed_gone_by_its_own_get() {
    // The poller lists another tag: this load balancer is never in its lists, gone or not.
    let h = deleted_polling_tag(Some("kube_cluster_another")).await;
    assert!(
        h.cloud.call_count("GET", "/v2/lbaas/loadbalancers/{id}") >= 1,
        "a load balancer that lacks the listed tag is confirmed gone by its own GET"
    );
}

fn pace(waiters: usize, calls: u64, qps: f64, since_ms: u64) -> kks_lb_adapter::Pace {
    kks_lb_adapter::Pace {
        waiters,
        calls,
        pages: 1,
        since_tick: std::time::Duration::from_millis(since_ms),
        qps,
    }
}

#[test]
fn the_cadence_lets_a_tick_run_on_its_share_of_the_call_budget() {
    let c = kks_lb_adapter::Cadence::of(&kks_lb_adapter::Backoff::default());
    // A fan-out that saturates a budget of 20 calls/s: 200 waiters, 60 calls in 3 s.
    assert!(
        !c.allows(&pace(200, 60, 20.0, 3_000)),
        "60 + 1 > 60: saturated"
    );
    assert!(
        !c.allows(&pace(200, 149, 20.0, 7_000)),
        "149 calls < 150 × 1 page"
    );
    assert!(
        c.allows(&pace(200, 150, 20.0, 7_000)),
        "150 calls pay for one page"
    );
    let two_pages = kks_lb_adapter::Pace {
        pages: 2,
        ..pace(200, 299, 20.0, 14_000)
    };
    assert!(!c.allows(&two_pages), "two pages need 300 calls");
    // Room left in the budget: the list delays no one.
    assert!(c.allows(&pace(200, 19, 20.0, 1_000)), "19 + 1 ≤ 20");
    assert!(!c.allows(&pace(200, 20, 20.0, 1_000)), "20 + 1 > 20");
    // A lone waiter is answered at its backoff, whatever the traffic.
    assert!(c.allows(&pace(1, 60, 20.0, 1_000)));
    // Without a budget every due tick runs, unless pacing by share alone.
    assert!(c.allows(&pace(200, 0, 0.0, 1_000)));
    let share_only = kks_lb_adapter::Cadence {
        unlimited_is_free: false,
        ..c
    };
    assert!(!share_only.allows(&pace(200, 149, 0.0, 1_000)));
    assert!(share_only.allows(&pace(200, 150, 0.0, 1_000)));
}

#[tokio::test]
async fn during_a_fan_out_each_tick_waits_for_its_share_of_the_calls() {
    let h = Harness::start().await;
    let three = nodes(3);
    let four = nodes(4);
    let specs: Vec<_> = (0..12).map(spec).collect();
    for s in &specs {
        h.reconcile(s, &three).await.unwrap();
    }
    // Ticks only by share (no lone waiter, the unlimited budget not free, a ceiling never
    // reached).
    h.executor.poller().set_cadence(kks_lb_adapter::Cadence {
        share: 10,
        lone: 0,
        unlimited_is_free: false,
        ceiling: std::time::Duration::from_secs(120),
    });
    let client = h.executor.client().clone();
    let calls0 = client.calls_made();
    let lists0 = h.executor.poller().list_calls();
    // Other traffic while the member updates wait, as other reconciles would make.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = {
        let client = client.clone();
        let stop = std::sync::Arc::clone(&stop);
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                client
                    .call(
                        kks_lb_adapter::Service::Neutron,
                        reqwest::Method::GET,
                        &["floatingips"],
                        &[],
                        None,
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let runs = specs.iter().map(|s| h.reconcile(s, &four));
    for r in futures::future::join_all(runs).await {
        let (plan, _) = r.unwrap();
        assert!(!plan.is_empty(), "each Service got its new member");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    traffic.await.unwrap();
    let lists = h.executor.poller().list_calls() - lists0;
    let others = client.calls_made() - calls0 - lists;
    assert!(lists >= 1, "the waits were answered by lists");
    assert!(
        lists * 10 <= others,
        "{lists} lists for {others} other calls: each tick waits for 10 calls per page"
    );
    for s in &specs {
        let t = h.observed(s).await.unwrap();
        assert!(
            t.loadbalancer.listeners[0]
                .default_pool
                .as_ref()
                .is_some_and(|p| p.members.len() == 4)
        );
    }
}

#[tokio::test]
async fn a_lone_waiter_is_answered_at_its_backoff_without_waiting_for_a_share() {
    let h = Harness::start().await;
    // Neither share, budget nor ceiling can let a tick run within the wait limit (20 s):
    // only the lone-waiter rule answers.
    h.executor.poller().set_cadence(kks_lb_adapter::Cadence {
        share: u64::MAX,
        lone: 1,
        unlimited_is_free: false,
        ceiling: std::time::Duration::from_secs(3600),
    });
    let s = spec(1);
    let (_, out) = h.reconcile(&s, &nodes(3)).await.unwrap();
    assert!(out.loadbalancer_id.is_some());
    assert!(h.executor.poller().list_calls() >= 1);
}
