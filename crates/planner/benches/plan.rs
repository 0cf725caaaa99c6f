//! Planner benchmarks: `cargo bench -p kks-lb-planner --bench plan`.
//!
//! - `desired_and_plan/20x500`: desired topology and creation plan for a Service with 20 ports
//!   on 500 nodes (10,000 members).
//! - `diff_unchanged/N`: plan of an unchanged topology with N members (N = 2,500 .. 10,000), to
//!   show the cost is linear in members.
//! - `node_added/10000`: plan after one node joins that topology.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kks_lb_annotations::{LbSpec, PortProtocol, PortSpec};
use kks_lb_planner::{Capabilities, desired, plan};
use kks_lb_testkit::fixtures::{NodeBuilder, cluster_config, lb_spec, nodes};
use kks_lb_testkit::strategies::observed_form;

fn spec(ports: u16) -> LbSpec {
    let mut s = lb_spec("bench", "svc");
    s.ports = (0..ports)
        .map(|i| PortSpec {
            name: None,
            protocol: PortProtocol::Tcp,
            port: 8000 + i,
            node_port: Some(30000 + i),
        })
        .collect();
    s
}

fn benches(c: &mut Criterion) {
    let caps = Capabilities::default();
    let cfg = cluster_config();
    let s = spec(20);
    let n500 = nodes(500);

    c.bench_function("desired_and_plan/20x500", |b| {
        b.iter(|| {
            let d = desired(black_box(&s), black_box(&n500), &cfg);
            plan(&d, None, &caps)
        });
    });

    let mut group = c.benchmark_group("diff_unchanged");
    for n in [125usize, 250, 500] {
        let ns = nodes(n);
        let d = desired(&s, &ns, &cfg);
        let o = observed_form(&d);
        let members = d.member_count();
        group.bench_with_input(BenchmarkId::from_parameter(members), &members, |b, _| {
            b.iter(|| {
                let p = plan(black_box(&d), Some(black_box(&o)), &caps);
                assert!(p.is_empty());
                p
            });
        });
    }
    group.finish();

    let d = desired(&s, &n500, &cfg);
    let o = observed_form(&d);
    let mut n501 = n500.clone();
    n501.push(NodeBuilder::new("node-new", "10.9.9.9").build());
    let d2 = desired(&s, &n501, &cfg);
    c.bench_function("node_added/10000", |b| {
        b.iter(|| {
            let p = plan(black_box(&d2), Some(black_box(&o)), &caps);
            assert_eq!(p.steps.len(), 20);
            p
        });
    });
}

criterion_group!(planner, benches);
criterion_main!(planner);
