//! Unit tests of [`super`].

use super::*;
use prometheus_client::encoding::text::encode;

fn setup() -> (Registry, Metrics) {
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    (registry, metrics)
}

fn text(registry: &Registry) -> String {
    let mut out = String::new();
    encode(&mut out, registry).unwrap();
    out
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn dropping_the_reconcile_timer_counts_and_times_the_reconcile() {
    let (registry, metrics) = setup();
    drop(metrics.reconcile_timer());
    {
        let _timer = metrics.reconcile_timer();
    }
    let out = text(&registry);
    assert!(has_line(&out, "kks_lb_reconciles_total 2"), "{out}");
    assert!(
        has_line(&out, "kks_lb_reconcile_duration_seconds_count 2"),
        "{out}"
    );
    assert!(
        has_line(
            &out,
            "kks_lb_reconcile_duration_seconds_bucket{le=\"+Inf\"} 2"
        ),
        "{out}"
    );
}

#[test]
fn reconcile_errors_are_counted_by_reason() {
    let (registry, metrics) = setup();
    metrics.reconcile_error("OpenStackApi");
    metrics.reconcile_error("OpenStackApi");
    metrics.reconcile_error("InvalidAnnotation");
    let out = text(&registry);
    assert!(
        has_line(
            &out,
            "kks_lb_reconcile_errors_total{reason=\"OpenStackApi\"} 2"
        ),
        "{out}"
    );
    assert!(
        has_line(
            &out,
            "kks_lb_reconcile_errors_total{reason=\"InvalidAnnotation\"} 1"
        ),
        "{out}"
    );
}

#[test]
fn steps_are_counted_by_op_and_outcome_and_timed_by_op() {
    let (registry, metrics) = setup();
    metrics.step("create_listener", "ok", Some(0.2));
    metrics.step("create_listener", "error", Some(3.0));
    // A skipped step is counted, never timed.
    metrics.step("create_listener", "skipped", None);
    let out = text(&registry);
    assert!(
        has_line(
            &out,
            "kks_lb_plan_steps_total{op=\"create_listener\",outcome=\"ok\"} 1"
        ),
        "{out}"
    );
    assert!(
        has_line(
            &out,
            "kks_lb_plan_steps_total{op=\"create_listener\",outcome=\"error\"} 1"
        ),
        "{out}"
    );
    assert!(
        has_line(
            &out,
            "kks_lb_plan_steps_total{op=\"create_listener\",outcome=\"skipped\"} 1"
        ),
        "{out}"
    );
    assert!(
        has_line(
            &out,
            "kks_lb_step_duration_seconds_count{op=\"create_listener\"} 2"
        ),
        "{out}"
    );
    assert!(
        has_line(
            &out,
            "kks_lb_step_duration_seconds_sum{op=\"create_listener\"} 3.2"
        ),
        "{out}"
    );
    assert!(
        has_line(
            &out,
            "kks_lb_step_duration_seconds_bucket{le=\"0.25\",op=\"create_listener\"} 1"
        ),
        "{out}"
    );
}

#[test]
fn load_balancer_gauge_holds_the_last_count_per_status() {
    let (registry, metrics) = setup();
    metrics.set_load_balancers("ACTIVE", 5);
    metrics.set_load_balancers("ACTIVE", 3);
    metrics.set_load_balancers("ERROR", 1);
    let out = text(&registry);
    assert!(
        has_line(&out, "kks_lb_load_balancers{status=\"ACTIVE\"} 3"),
        "{out}"
    );
    assert!(
        has_line(&out, "kks_lb_load_balancers{status=\"ERROR\"} 1"),
        "{out}"
    );
}

#[test]
fn call_recorder_counts_calls_by_service_method_endpoint_and_status() {
    let (registry, metrics) = setup();
    let recorder = metrics.call_recorder();
    let template = "/v2/lbaas/loadbalancers/{id}";
    recorder.record(
        Service::Octavia,
        "get",
        template,
        200,
        Duration::from_millis(20),
    );
    recorder.record(
        Service::Octavia,
        "GET",
        template,
        404,
        Duration::from_millis(30),
    );
    recorder.record(
        Service::Neutron,
        "GET",
        "/v2.0/ports",
        0,
        Duration::from_secs(31),
    );
    let out = text(&registry);
    for line in [
        "kks_lb_openstack_calls_total{service=\"load-balancer\",method=\"GET\",endpoint=\"/v2/lbaas/loadbalancers/{id}\",status=\"200\"} 1",
        "kks_lb_openstack_calls_total{service=\"load-balancer\",method=\"GET\",endpoint=\"/v2/lbaas/loadbalancers/{id}\",status=\"404\"} 1",
        "kks_lb_openstack_calls_total{service=\"network\",method=\"GET\",endpoint=\"/v2.0/ports\",status=\"0\"} 1",
        "kks_lb_openstack_call_duration_seconds_count{service=\"load-balancer\",method=\"GET\",endpoint=\"/v2/lbaas/loadbalancers/{id}\"} 2",
        "kks_lb_openstack_call_duration_seconds_bucket{le=\"30.0\",service=\"network\",method=\"GET\",endpoint=\"/v2.0/ports\"} 0",
    ] {
        assert!(has_line(&out, line), "missing {line}\n{out}");
    }
}

#[test]
fn build_info_leader_services_and_the_call_budget_are_exported_from_the_start() {
    let (registry, metrics) = setup();
    let out = text(&registry);
    let build = format!(
        "kks_lb_build_info{{version=\"{}\",revision=\"{}\"}} 1",
        crate::build_info::VERSION,
        crate::build_info::REVISION
    );
    for line in [
        build.as_str(),
        "kks_lb_leader 0",
        "kks_lb_services{ready=\"true\"} 0",
        "kks_lb_services{ready=\"false\"} 0",
        "kks_lb_openstack_call_rate_limit 0.0",
    ] {
        assert!(has_line(&out, line), "missing {line}\n{out}");
    }
    metrics.set_leader(true);
    metrics.set_services(3, 2);
    metrics.set_call_rate_limit(20.0);
    let out = text(&registry);
    for line in [
        "kks_lb_leader 1",
        "kks_lb_services{ready=\"true\"} 3",
        "kks_lb_services{ready=\"false\"} 2",
        "kks_lb_openstack_call_rate_limit 20.0",
    ] {
        assert!(has_line(&out, line), "missing {line}\n{out}");
    }
}

#[test]
fn member_counts_are_set_per_service_and_state_and_removed_with_the_service() {
    let (registry, metrics) = setup();
    metrics.set_members("shop/web", |s| match s {
        "ONLINE" => 3,
        "OFFLINE" => 2,
        _ => 0,
    });
    metrics.set_members("shop/api", |s| usize::from(s == "NO_MONITOR"));
    let out = text(&registry);
    for line in [
        "kks_lb_members{service=\"shop/web\",state=\"ONLINE\"} 3",
        "kks_lb_members{service=\"shop/web\",state=\"OFFLINE\"} 2",
        "kks_lb_members{service=\"shop/web\",state=\"ERROR\"} 0",
        "kks_lb_members{service=\"shop/api\",state=\"NO_MONITOR\"} 1",
    ] {
        assert!(has_line(&out, line), "missing {line}\n{out}");
    }
    metrics.forget_members("shop/web");
    let out = text(&registry);
    assert!(!out.contains("shop/web"), "{out}");
    assert!(out.contains("shop/api"), "{out}");
    metrics.clear_members();
    assert!(!text(&registry).contains("shop/api"));
}

#[test]
fn every_metric_has_help_and_its_type_once_used() {
    let (registry, metrics) = setup();
    drop(metrics.reconcile_timer());
    metrics.reconcile_error("Reason");
    metrics.step("create_pool", "ok", Some(0.1));
    metrics.set_load_balancers("ACTIVE", 1);
    metrics.orphan_deleted("floatingip");
    metrics.set_members("shop/web", |_| 1);
    metrics.call_recorder().record(
        Service::Octavia,
        "GET",
        "/v2/lbaas/pools",
        200,
        Duration::ZERO,
    );
    let out = text(&registry);
    for (name, kind) in [
        ("kks_lb_reconciles", "counter"),
        ("kks_lb_reconcile_duration_seconds", "histogram"),
        ("kks_lb_reconcile_errors", "counter"),
        ("kks_lb_plan_steps", "counter"),
        ("kks_lb_step_duration_seconds", "histogram"),
        ("kks_lb_load_balancers", "gauge"),
        ("kks_lb_openstack_calls", "counter"),
        ("kks_lb_openstack_call_duration_seconds", "histogram"),
        ("kks_lb_openstack_call_rate_limit", "gauge"),
        ("kks_lb_services", "gauge"),
        ("kks_lb_leader", "gauge"),
        ("kks_lb_orphans_deleted", "counter"),
        ("kks_lb_build", "info"),
        ("kks_lb_members", "gauge"),
    ] {
        assert!(out.contains(&format!("# HELP {name} ")), "{name}\n{out}");
        assert!(
            has_line(&out, &format!("# TYPE {name} {kind}")),
            "{name}\n{out}"
        );
    }
    for line in [
        "kks_lb_orphans_deleted_total{kind=\"floatingip\"} 1",
        "kks_lb_orphans_deleted_total{kind=\"loadbalancer\"} 0",
    ] {
        assert!(has_line(&out, line), "missing {line}\n{out}");
    }
}
