//! The shared poller: many load balancers waiting at once cost one list call per tick, not
//! one `GET` each; a cloud whose list refuses the tag filter falls back to per-LB polls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Harness;
use k8s_openapi::api::core::v1::Service;
use kks_lb_annotations::{Defaults, parse};
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

#[tokio::test]
async fn deletes_are_confirmed_gone_with_one_get() {
    let h = Harness::start().await;
    let three = nodes(3);
    let s = spec(1);
    h.reconcile(&s, &three).await.unwrap();
    h.cloud.reset_calls();
    h.delete(&s).await.unwrap();
    assert_eq!(h.is_gone(&s).await, Some(true));
    assert!(
        h.cloud.call_count("GET", "/v2/lbaas/loadbalancers/{id}") >= 1,
        "a load balancer missing from the list is confirmed gone by its own GET"
    );
}
