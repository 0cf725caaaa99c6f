//! The example controller and the kks-lb controller side by side on the emulators: each
//! handles only its own Services, both through the same engine, and neither touches the
//! other's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../../crates/controller/tests/e2e_support/mod.rs"]
mod e2e_support;

use std::time::Duration;

use e2e_support::{Env, has_finalizer, service};
use kks_lb_adapter::Executor;
use kks_lb_controller::engine::{Engine, EngineConfig};
use kks_lb_embedded_example::{CONTROLLER_NAME, Config, FINALIZER, run};
use tokio_util::sync::CancellationToken;

const CLASS: &str = "example.com/embedded";

fn with_class(mut svc: k8s_openapi::api::core::v1::Service) -> k8s_openapi::api::core::v1::Service {
    svc.spec.as_mut().unwrap().load_balancer_class = Some(CLASS.into());
    svc
}

fn has_own_finalizer(svc: &k8s_openapi::api::core::v1::Service) -> bool {
    svc.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == FINALIZER)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_controller_serves_only_its_own_class_through_one_engine() {
    let env = Env::start().await;
    let kks_lb = env.controller().await;

    let settings = env.settings();
    let tag = kks_lb_planner::cluster_tag(&env.cluster.cluster_id);
    let engine = Engine::new(
        Executor::new(env.openstack().await, settings.execute.clone()).with_poll_tag(tag),
        EngineConfig::from(&settings),
    );
    let stop = CancellationToken::new();
    let example = tokio::spawn(run(
        env.client.clone(),
        engine,
        Config {
            class: CLASS.into(),
            retry: Duration::from_millis(200),
            identity: "example-1".into(),
        },
        stop.clone(),
    ));

    env.create(&service("apps", "plain"));
    env.create(&with_class(service("apps", "mine")));
    let plain = env.wait_ready("apps", "plain").await;
    let mine = env.wait_ready("apps", "mine").await;

    // Each Service carries only its own controller's finalizer.
    assert!(has_finalizer(&plain) && !has_own_finalizer(&plain));
    assert!(has_own_finalizer(&mine) && !has_finalizer(&mine));
    // The Events of each come from its own controller.
    let reporters = |name: &str| -> Vec<String> {
        env.kube
            .events_for("apps", name)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.reporting_controller)
            .collect()
    };
    assert!(!reporters("mine").is_empty());
    assert!(reporters("mine").iter().all(|c| c == CONTROLLER_NAME));
    assert!(reporters("plain").iter().all(|c| c != CONTROLLER_NAME));

    // One load balancer each, and no fight: once both are ready, nobody writes to the cloud.
    let lbs = env.cloud.snapshot().loadbalancers;
    assert_eq!(lbs.len(), 2, "{lbs:#?}");
    assert!(env.lb("apps", "plain").is_some() && env.lb("apps", "mine").is_some());
    env.cloud.reset_calls();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(env.cloud_writes().is_empty(), "{:#?}", env.cloud_writes());

    // Deleting the example's Service removes only its load balancer.
    env.delete("apps", "mine").await;
    env.wait_service("apps", "mine", "deleted", |s| s.is_none())
        .await;
    assert!(env.lb("apps", "mine").is_none());
    assert!(env.lb("apps", "plain").is_some());

    env.delete("apps", "plain").await;
    env.wait_service("apps", "plain", "deleted", |s| s.is_none())
        .await;
    let leaks = env.leaks();
    assert!(leaks.is_empty(), "{leaks:#?}");
    assert!(env.cloud.snapshot().loadbalancers.is_empty());

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), example)
        .await
        .unwrap()
        .unwrap();
    kks_lb.stop().await;
}
