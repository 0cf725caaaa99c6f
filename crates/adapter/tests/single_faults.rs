//! No single fault leaks or duplicates anything.
//!
//! Every example Service is created, edited (a port added: pool, members, monitor and
//! listener created one call each on the live load balancer), given a new node, and deleted.
//! For each operation, each of its mutating calls in turn meets one fault: refused before it
//! takes effect, taken effect and then answered 500 / 504 / not at all, or taken effect with
//! the process killed right after. Then the controller's retries run (observe, plan, execute
//! until the plan is empty) and the cloud must hold exactly one load balancer for the
//! Service, exactly the floating IPs it should, all of them marked as ours; after the delete,
//! nothing of the Service is left.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Harness, parse_file};
use k8s_openapi::api::core::v1::Node;
use kks_lb_annotations::{LbSpec, PortProtocol, PortSpec};
use kks_lb_planner::{floating_ip_is_ours, lb_name};
use kks_lb_testkit::fixtures::{NodeBuilder, nodes};
use kks_lb_testkit::openstack::{CallMatcher, OneShotFault, Reply};

#[derive(Debug, Clone, Copy)]
enum Op {
    Create,
    AddPort,
    AddNode,
    Delete,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Before,
    CommitThen(u16),
    CommitThenDrop,
    CrashAfter,
}

const FAULTS: [Fault; 5] = [
    Fault::Before,
    Fault::CommitThen(500),
    Fault::CommitThen(504),
    Fault::CommitThenDrop,
    Fault::CrashAfter,
];

fn with_port(spec: &LbSpec) -> LbSpec {
    let mut s = spec.clone();
    s.ports.push(PortSpec {
        name: Some("extra".into()),
        protocol: PortProtocol::Tcp,
        port: 9443,
        node_port: Some(31943),
    });
    s
}

fn four_nodes() -> Vec<Node> {
    let mut n = nodes(3);
    n.push(NodeBuilder::new("node-4", "10.0.0.99").build());
    n
}

/// The state before `op`, and the Service and nodes `op` aims for.
async fn prepare(h: &Harness, spec: &LbSpec, op: Op) -> (LbSpec, Vec<Node>) {
    let three = nodes(3);
    if !matches!(op, Op::Create) {
        h.converge(spec, &three, 4).await;
    }
    match op {
        Op::Create | Op::Delete => (spec.clone(), three),
        Op::AddPort => (with_port(spec), three),
        Op::AddNode => (spec.clone(), four_nodes()),
    }
}

/// Runs `op` once.
async fn run(h: &Harness, spec: &LbSpec, nodes: &[Node], op: Op) {
    match op {
        Op::Delete => {
            let _ = h.delete(spec).await;
        }
        _ => {
            let _ = h.reconcile(spec, nodes).await;
        }
    }
}

/// The controller's retries: until the plan is empty (or the load balancer is gone).
async fn settle(h: &Harness, spec: &LbSpec, nodes: &[Node], op: Op) {
    match op {
        Op::Delete => {
            for _ in 0..6 {
                if h.delete(spec).await.is_ok() && h.is_gone(spec).await == Some(true) {
                    return;
                }
            }
            panic!("{} not deleted", spec.name);
        }
        _ => {
            h.converge(spec, nodes, 6).await;
        }
    }
}

/// Exactly one load balancer for the Service and exactly the floating IPs it should have,
/// all marked as ours.
fn check_owned(h: &Harness, spec: &LbSpec, what: &str) {
    let snap = h.cloud.snapshot();
    let name = lb_name(&h.cluster.cluster_name, &spec.namespace, &spec.name);
    let lbs: Vec<_> = snap
        .loadbalancers
        .iter()
        .filter(|t| t.loadbalancer.name == name)
        .collect();
    assert_eq!(lbs.len(), 1, "{what}: load balancers named {name}");
    let lb = &lbs[0].loadbalancer;
    assert!(
        lb.tags
            .contains(&kks_lb_planner::cluster_tag(&h.cluster.cluster_id)),
        "{what}: the load balancer carries the cluster tag"
    );
    assert!(
        snap.detached_pools.is_empty(),
        "{what}: pools no listener names: {:?}",
        snap.detached_pools
    );
    let fips = &snap.floating_ips;
    if spec.internal {
        assert!(
            fips.is_empty(),
            "{what}: an internal Service has no floating IP"
        );
    } else {
        assert_eq!(fips.len(), 1, "{what}: floating IPs {fips:?}");
        let fip = lbs[0]
            .floatingip
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: no floating IP bound to the VIP"));
        assert!(
            floating_ip_is_ours(lb, fip),
            "{what}: the floating IP is ours"
        );
        let mut tags = fip.tags.clone();
        tags.sort();
        assert!(
            tags.contains(&kks_lb_planner::cluster_tag(&h.cluster.cluster_id)),
            "{what}: the floating IP is tagged: {tags:?}"
        );
    }
}

fn check_gone(h: &Harness, spec: &LbSpec, what: &str) {
    let snap = h.cloud.snapshot();
    let name = lb_name(&h.cluster.cluster_name, &spec.namespace, &spec.name);
    assert!(
        snap.loadbalancers
            .iter()
            .all(|t| t.loadbalancer.name != name),
        "{what}: the load balancer is left"
    );
    assert!(
        snap.floating_ips.is_empty(),
        "{what}: floating IPs are left: {:?}",
        snap.floating_ips
    );
    assert!(snap.detached_pools.is_empty(), "{what}: pools are left");
    let report = h.cloud.leak_report(
        &kks_lb_planner::cluster_tag(&h.cluster.cluster_id),
        Vec::<String>::new(),
    );
    assert!(report.is_empty(), "{what}: leak report {report:?}");
}

/// How many mutating calls `op` makes without faults.
async fn mutating_calls(spec: &LbSpec, op: Op) -> u64 {
    let h = Harness::start().await;
    let (target, ns) = prepare(&h, spec, op).await;
    let counter = h.cloud.count_calls(CallMatcher::mutating());
    run(&h, &target, &ns, op).await;
    counter.seen()
}

async fn one_fault(spec: &LbSpec, op: Op, k: u64, fault: Fault) {
    let what = format!("{} {op:?}, call {k}, {fault:?}", spec.name);
    let h = Harness::start().await;
    let (target, ns) = prepare(&h, spec, op).await;
    let m = CallMatcher::mutating();
    let armed = h.cloud.arm_fault(match fault {
        Fault::Before => OneShotFault::before_commit(m, k, Reply::Status(503)),
        Fault::CommitThen(status) => OneShotFault::commit_then_fail(m, k, Reply::Status(status)),
        Fault::CommitThenDrop => OneShotFault::commit_then_fail(m, k, Reply::Drop),
        Fault::CrashAfter => OneShotFault::crash_after_commit(m, k),
    });
    if matches!(fault, Fault::CrashAfter) {
        // The process dies right after the call took effect: the task is gone mid-plan.
        tokio::select! {
            () = run(&h, &target, &ns, op) => {}
            _ = armed.fired() => {}
        }
        h.cloud.remove_fault(armed.id());
    } else {
        run(&h, &target, &ns, op).await;
        h.cloud.remove_fault(armed.id());
    }
    settle(&h, &target, &ns, op).await;
    match op {
        Op::Delete => check_gone(&h, &target, &what),
        _ => {
            check_owned(&h, &target, &what);
            settle(&h, &target, &ns, Op::Delete).await;
            check_gone(&h, &target, &format!("{what}, then deleted"));
        }
    }
}

async fn every_fault(path: &str) {
    for mut spec in parse_file(path) {
        spec.uid = Some(format!("uid-{}", spec.name));
        for op in [Op::Create, Op::AddPort, Op::AddNode, Op::Delete] {
            let n = mutating_calls(&spec, op).await;
            assert!(n > 0, "{} {op:?} makes no call", spec.name);
            for k in 0..n {
                for fault in FAULTS {
                    one_fault(&spec, op, k, fault).await;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_single_fault_leaks_the_public_web_app() {
    every_fault("../../examples/01-public-web-app.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_single_fault_leaks_the_internal_microservice() {
    every_fault("../../examples/02-internal-microservice.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_single_fault_leaks_the_session_app() {
    every_fault("../../examples/03-session-app.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_single_fault_leaks_the_high_performance_api() {
    every_fault("../../examples/04-high-performance-api.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_single_fault_leaks_the_http_xff_app() {
    every_fault("../../examples/05-http-xff.yaml").await;
}
