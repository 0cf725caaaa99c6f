//! Faults, crashes and foreign objects: the adapter converges under a cloud that errs, drops
//! connections and is slow; a plan cut off at any step is finished by the next reconcile with
//! nothing leaked; a load balancer we do not own is never touched.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Harness, fast_delays};
use kks_lb_adapter::{Error, Observation, Service};
use kks_lb_annotations::LbSpec;
use kks_lb_planner::{Plan, desired, plan};
use kks_lb_testkit::fixtures::{lb_spec, nodes};
use kks_lb_testkit::openstack::{EmulatorConfig, FaultRule};
use kks_lb_testkit::strategies::arb_lb_spec;
use proptest::prelude::*;
use reqwest::Method;

fn lbs_by_name(h: &Harness) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for t in h.cloud.snapshot().loadbalancers {
        *m.entry(t.loadbalancer.name).or_default() += 1;
    }
    m
}

#[tokio::test]
async fn a_fault_storm_converges_with_no_duplicate_load_balancers_and_no_leaks() {
    let h = Harness::start_with(EmulatorConfig {
        delays: fast_delays(),
        seed: 7,
        ..EmulatorConfig::default()
    })
    .await;
    h.cloud.add_fault(FaultRule::any().error_rate(0.10, 503));
    h.cloud.add_fault(FaultRule::any().error_rate(0.03, 500));
    h.cloud.add_fault(FaultRule::any().drop_rate(0.02));
    h.cloud
        .add_fault(FaultRule::any().latency(Duration::from_millis(5)));
    let ns = nodes(3);
    let specs: Vec<LbSpec> = (0..4)
        .map(|i| lb_spec("storm", &format!("svc-{i}")))
        .collect();
    for (i, spec) in specs.iter().enumerate() {
        if i == 2 {
            h.cloud.revoke_tokens();
        }
        h.converge(spec, &ns, 40).await;
    }
    let counts = lbs_by_name(&h);
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert!(
        counts.values().all(|&n| n == 1),
        "a load balancer was created twice: {counts:?}"
    );
    for spec in &specs {
        let mut done = false;
        for _ in 0..40 {
            if h.delete(spec).await.is_ok() && h.is_gone(spec).await == Some(true) {
                done = true;
                break;
            }
        }
        assert!(done, "{} not deleted", spec.name);
    }
    h.cloud.clear_faults();
    let leaks = h
        .cloud
        .leak_report("kks-lb-cluster:cluster-1", Vec::<String>::new());
    assert!(leaks.is_empty(), "{leaks:?}");
    assert!(h.cloud.snapshot().floating_ips.is_empty());
}

#[tokio::test]
async fn conflicts_while_pending_are_waited_out() {
    let h = Harness::start().await;
    let ns = nodes(2);
    let mut spec = lb_spec("shop", "web");
    h.converge(&spec, &ns, 3).await;
    h.cloud.add_fault(
        FaultRule::endpoint(http::Method::PUT, "/v2/lbaas/listeners/{id}").burst(3, 409),
    );
    spec.timeouts.client_data = 1234;
    h.converge(&spec, &ns, 3).await;
    let l = &h.observed(&spec).await.unwrap().loadbalancer.listeners[0];
    assert_eq!(l.timeout_client_data, Some(1234));
}

#[tokio::test]
async fn a_load_balancer_that_fails_on_create_is_deleted_and_recreated_next_time() {
    let h = Harness::start().await;
    let ns = nodes(2);
    let spec = lb_spec("shop", "web");
    h.cloud.fail_next_creates(1);
    let err = h.reconcile(&spec, &ns).await.unwrap_err();
    assert!(matches!(err, Error::LoadBalancerFailed { .. }), "{err}");
    assert_eq!(err.reason(), "LoadBalancerError");
    h.converge(&spec, &ns, 5).await;
    assert_eq!(
        lbs_by_name(&h).values().sum::<usize>(),
        1,
        "the failed one is gone"
    );
}

#[tokio::test]
async fn a_load_balancer_stuck_in_pending_times_out_with_its_status() {
    let h = Harness::start().await;
    let ns = nodes(1);
    let spec = lb_spec("shop", "web");
    h.converge(&spec, &ns, 3).await;
    h.cloud.set_stuck_pending(true);
    let mut edited = spec.clone();
    edited.connection_limit = 10;
    let mut quick = common::fast_execution();
    quick.wait_limit = Duration::from_millis(300);
    let executor = kks_lb_adapter::Executor::new(h.executor.client().clone(), quick);
    let o = h.observed(&spec).await.unwrap();
    let p = plan(&desired(&edited, &ns, &h.cluster), Some(&o), &h.caps);
    let err = executor
        .execute(&o.loadbalancer.name, &p, Some(&o))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WaitTimeout { .. }), "{err}");
    assert!(err.to_string().contains("PENDING_UPDATE"), "{err}");
    h.cloud.set_stuck_pending(false);
    h.converge(&edited, &ns, 3).await;
}

#[tokio::test]
async fn a_foreign_load_balancer_is_never_modified_or_deleted() {
    let h = Harness::start().await;
    let ns = nodes(2);
    let spec = lb_spec("shop", "web");
    let _ = &ns;
    // Another cluster's load balancer, and an untagged one with our exact name (an OCCM leftover).
    let client = h.executor.client();
    let f = h.cloud.fixture().clone();
    let mut ids = Vec::new();
    for (name, tags) in [
        ("theirs", vec!["kks-lb-cluster:other"]),
        ("kube_service_kks_shop_web", vec![]),
    ] {
        let body = serde_json::json!({"loadbalancer": {"name": name, "vip_subnet_id": f.cluster_subnet_id, "tags": tags}});
        let r = client
            .call(
                Service::Octavia,
                Method::POST,
                &["lbaas", "loadbalancers"],
                &[],
                Some(&body),
            )
            .await
            .unwrap();
        ids.push(r.body["loadbalancer"]["id"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.cloud.reset_calls();

    // By name: the untagged namesake is refused, with a hint.
    match h.observe(&spec).await {
        Observation::Foreign { reason, id, .. } => {
            assert_eq!(id, ids[1]);
            assert!(reason.contains("--adopt-untagged"), "{reason}");
        }
        other => panic!("expected Foreign, got {other:?}"),
    }
    // By a load-balancer-id pointing at the other cluster's load balancer.
    let mut hijack = spec.clone();
    hijack.load_balancer_id = Some(ids[0].clone());
    assert!(matches!(
        h.observe(&hijack).await,
        Observation::Foreign { .. }
    ));

    let writes: Vec<_> = h
        .cloud
        .call_log()
        .into_iter()
        .filter(|c| c.method != "GET")
        .collect();
    assert!(writes.is_empty(), "nothing may be written: {writes:?}");
    let snap = h.cloud.snapshot();
    assert!(
        snap.loadbalancer_by_id(&ids[0]).is_some() && snap.loadbalancer_by_id(&ids[1]).is_some()
    );
}

#[tokio::test]
async fn an_expired_token_is_renewed_transparently() {
    let h = Harness::start().await;
    let ns = nodes(1);
    let mut spec = lb_spec("shop", "web");
    h.converge(&spec, &ns, 3).await;
    h.cloud.revoke_tokens();
    spec.connection_limit = 42;
    h.converge(&spec, &ns, 2).await;
    assert!(
        h.cloud
            .call_count_with_status("POST", "/v3/auth/tokens", 201)
            >= 2
    );
}

/// Executes `p` but stops after `k` steps, as a crash would.
async fn run_prefix(h: &Harness, spec: &LbSpec, p: &Plan, k: usize) {
    let observed = h.observed(spec).await;
    let cut = Plan {
        steps: p.steps[..k].to_vec(),
        warnings: vec![],
        errors: vec![],
    };
    h.executor
        .execute(
            &kks_lb_planner::lb_name("kks", &spec.namespace, &spec.name),
            &cut,
            observed.as_ref(),
        )
        .await
        .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    /// For every k, crashing after step k of a plan and reconciling again converges, with one
    /// load balancer and nothing leaked after deletion.
    #[test]
    fn a_crash_at_any_step_converges_with_nothing_leaked(before in arb_lb_spec(), after in arb_lb_spec()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let h = Harness::start().await;
            let ns = nodes(3);
            h.converge(&before, &ns, 3).await;
            let observed = h.observed(&after).await;
            let p = plan(&desired(&after, &ns, &h.cluster), observed.as_ref(), &h.caps);
            for k in 0..p.steps.len() {
                // Back to `before`, run the first k steps of the plan to `after`, then reconcile.
                h.converge(&before, &ns, 4).await;
                let observed = h.observed(&after).await;
                let p = plan(&desired(&after, &ns, &h.cluster), observed.as_ref(), &h.caps);
                let k = k.min(p.steps.len());
                run_prefix(&h, &after, &p, k).await;
                h.converge(&after, &ns, 4).await;
                prop_assert!(lbs_by_name(&h).values().all(|&n| n == 1));
            }
            h.delete(&after).await.unwrap();
            let snap = h.cloud.snapshot();
            prop_assert!(snap.loadbalancers.is_empty());
            // A kept address stays, detached; anything else is released.
            let kept = after.keep_floating_ip || before.keep_floating_ip;
            prop_assert!(snap.floating_ips.iter().all(|f| f.port_id.is_none()));
            prop_assert!(kept || snap.floating_ips.is_empty(), "leaked: {:?}", snap.floating_ips);
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn dropping_the_executor_mid_call_is_finished_by_the_next_reconcile() {
    let h = Harness::start().await;
    let ns = nodes(3);
    let spec = lb_spec("shop", "web");
    for cut in [1u64, 3, 8, 20, 40] {
        let d = desired(&spec, &ns, &h.cluster);
        let o = h.observed(&spec).await;
        let p = plan(&d, o.as_ref(), &h.caps);
        let _ = tokio::time::timeout(
            Duration::from_millis(cut),
            h.executor.execute(&d.loadbalancer.name, &p, o.as_ref()),
        )
        .await;
    }
    h.converge(&spec, &ns, 5).await;
    assert_eq!(lbs_by_name(&h).values().sum::<usize>(), 1);
    assert_eq!(h.cloud.snapshot().floating_ips.len(), 1);
}
