//! `Executor::execute_timed`: each step's own time, the wait for ACTIVE counted to the step
//! whose mutation caused it, on success and on failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Harness;
use k8s_openapi::api::core::v1::Service;
use kks_lb_adapter::{Error, Execution};
use kks_lb_annotations::{Defaults, LbSpec, parse};
use kks_lb_planner::{Plan, desired, plan};
use kks_lb_testkit::fixtures::nodes;
use kks_lb_testkit::openstack::{
    CallMatcher, EmulatorConfig, OneShotFault, ProvisioningDelays, Reply,
};
use tokio::time::Instant;

const CREATE: Duration = Duration::from_millis(800);
const UPDATE: Duration = Duration::from_millis(300);

async fn harness() -> Harness {
    Harness::start_with(EmulatorConfig {
        delays: ProvisioningDelays {
            create: CREATE,
            update: UPDATE,
            delete: Duration::from_millis(20),
        },
        ..EmulatorConfig::default()
    })
    .await
}

fn spec(timeout_client_data: &str) -> LbSpec {
    let svc: Service = serde_yaml_ng::from_str(&format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\n  uid: 7d1c\n  annotations:\n    loadbalancer.openstack.org/timeout-client-data: \"{timeout_client_data}\"\nspec:\n  type: LoadBalancer\n  ports:\n  - {{name: http, port: 80, nodePort: 30080}}\n  - {{name: https, port: 443, nodePort: 30443}}\n"
    ))
    .unwrap();
    parse(&svc, &Defaults::default()).unwrap().spec
}

/// Plans `spec` against what the cloud holds and runs it timed; returns the plan, the
/// execution and the time the whole call took.
async fn run(h: &Harness, spec: &LbSpec) -> (Plan, Execution, Duration) {
    let d = desired(spec, &nodes(2), &h.cluster);
    let o = h.observed(spec).await;
    let p = plan(&d, o.as_ref(), &h.caps);
    let started = Instant::now();
    let execution = h
        .executor
        .execute_timed(&d.loadbalancer.name, &p, o.as_ref())
        .await;
    (p, execution, started.elapsed())
}

fn ops(p: &Plan) -> Vec<&'static str> {
    p.steps.iter().map(|s| s.op()).collect()
}

fn assert_one_timing_per_step_within(p: &Plan, execution: &Execution, total: Duration) {
    let numbered: Vec<(usize, &str)> = execution.steps.iter().map(|t| (t.step, t.op)).collect();
    let expected: Vec<(usize, &str)> = ops(p)
        .into_iter()
        .enumerate()
        .map(|(i, op)| (i + 1, op))
        .collect();
    assert_eq!(numbered, expected);
    let sum: Duration = execution.steps.iter().map(|t| t.duration).sum();
    assert!(sum <= total, "steps {sum:?} > the whole plan {total:?}");
}

#[tokio::test]
async fn a_create_times_the_load_balancer_with_its_wait_and_the_floating_ip_apart() {
    let h = harness().await;
    let (p, execution, total) = run(&h, &spec("50000")).await;
    execution.result.as_ref().unwrap();
    assert_eq!(
        ops(&p),
        ["create_loadbalancer", "create_floatingip", "tag_floatingip"]
    );
    assert_one_timing_per_step_within(&p, &execution, total);
    // The create includes the wait for ACTIVE; the plan's average would be a third of it.
    let create = execution.steps[0].duration;
    assert!(create >= CREATE, "create_loadbalancer took {create:?}");
}

#[tokio::test]
async fn each_update_carries_the_wait_its_own_mutation_caused() {
    let h = harness().await;
    run(&h, &spec("50000")).await.1.result.unwrap();
    let (p, execution, total) = run(&h, &spec("90000")).await;
    execution.result.as_ref().unwrap();
    assert_eq!(ops(&p), ["update_listener", "update_listener"]);
    assert_one_timing_per_step_within(&p, &execution, total);
    // The first waits before the second may start; the second waits at the end of the plan.
    for t in &execution.steps {
        assert!(
            t.duration >= UPDATE,
            "step {} took {:?}",
            t.step,
            t.duration
        );
    }
}

#[tokio::test]
async fn a_failed_plan_reports_the_steps_that_ran_up_to_the_failed_one() {
    let h = harness().await;
    // The second mutating call (the floating IP's POST) is refused for good.
    let _fault = h.cloud.arm_fault(OneShotFault::before_commit(
        CallMatcher::mutating(),
        1,
        Reply::Status(400),
    ));
    let (p, execution, total) = run(&h, &spec("50000")).await;
    match &execution.result {
        Err(Error::Step { step: 2, op, .. }) => assert_eq!(*op, "create_floatingip"),
        other => panic!("expected step 2 to fail, got {other:?}"),
    }
    let timed: Vec<(usize, &str)> = execution.steps.iter().map(|t| (t.step, t.op)).collect();
    assert_eq!(
        timed,
        [(1, "create_loadbalancer"), (2, "create_floatingip")]
    );
    assert!(execution.steps[0].duration >= CREATE);
    let sum: Duration = execution.steps.iter().map(|t| t.duration).sum();
    assert!(sum <= total);
    assert_eq!(p.steps.len(), 3);
}
