//! Prometheus metrics of the controller, in one [`Metrics`] struct registered once.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `kks_lb_reconciles_total` | counter | |
//! | `kks_lb_reconcile_duration_seconds` | histogram | |
//! | `kks_lb_reconcile_errors_total` | counter | `reason` (the error's `reason()`) |
//! | `kks_lb_plan_steps_total` | counter | `op`, `outcome` |
//! | `kks_lb_step_duration_seconds` | histogram | `op` |
//! | `kks_lb_load_balancers` | gauge | `status` |
//! | `kks_lb_openstack_calls_total` | counter | `service`, `method`, `endpoint`, `status` |
//! | `kks_lb_openstack_call_duration_seconds` | histogram | `service`, `method`, `endpoint` |
//! | `kks_lb_openstack_call_rate_limit` | gauge | | (`--os-api-qps`, calls per second; 0: unlimited)
//! | `kks_lb_services` | gauge | `ready` (`true`, `false`) |
//! | `kks_lb_leader` | gauge | | (1 while this replica leads, else 0)
//! | `kks_lb_orphans_deleted_total` | counter | `kind` (`loadbalancer`, `floatingip`) |
//! | `kks_lb_build_info` | info (gauge of 1) | `version`, `revision` |
//! | `kks_lb_load_balancers_waiting` | gauge | | (load balancers waiting to leave `PENDING_*`)
//! | `kks_lb_wait_duration_seconds` | histogram | | (one wait for a load balancer to leave `PENDING_*`)
//! | `kks_lb_drift_checks_total` | counter | `result` (`skipped`: unchanged, tree not read; `changed`: changed or missing, tree re-read) |
//! | `kks_lb_members` | gauge | `service` (`<namespace>/<name>`), `state` ([`MEMBER_STATES`]) |
//! | `kks_lb_subnet_addresses` | gauge | `subnet` (its id), `state` (`used`, `total`) | (the cluster subnet's allocation pools; read at most once per resync, and when a create meets a full subnet)
//!
//! `kks_lb_step_duration_seconds` observes each step's own time as the executor measured it
//! (`kks_lb_adapter::StepTiming`: its call and the wait for ACTIVE its mutation caused); steps
//! that did not run are counted in `kks_lb_plan_steps_total` only.
//!
//! `kks_lb_services` counts the LoadBalancer Services this replica reconciles by the status of
//! their `LoadBalancerReady` condition as last written (a follower reports 0 for both). The
//! alerts in `deploy/monitoring/` use these names; a test scrapes a running controller and
//! checks every metric and label they use exists.
//!
//! `kks_lb_members` counts each Service's member nodes by the operating status Octavia reports
//! for them (a node down on any port counts as down), as of the last reconcile; its series go
//! when the Service does (see [`crate::health`]).
//!
//! Names are registered in full, so pass a [`Registry`] without a prefix. Label values are
//! bounded: reasons and step kinds are static names, endpoints are path templates with ids
//! replaced by `{id}`, and `status` is the HTTP status (`0` when no response arrived).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use kks_lb_adapter::{CallRecorder, Service, WaitRecorder};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// Buckets (seconds) for a whole reconcile and for one plan step, which may include waiting
/// for a load balancer to become ACTIVE.
const LONG_BUCKETS: [f64; 14] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Buckets (seconds) for one OpenStack API call.
const CALL_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    op: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReadyLabels {
    ready: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MemberLabels {
    service: String,
    state: &'static str,
}

/// The `state` values of `kks_lb_members`: Octavia's member operating statuses.
pub const MEMBER_STATES: [&str; 5] = ["ONLINE", "OFFLINE", "ERROR", "DRAINING", "NO_MONITOR"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubnetLabels {
    subnet: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    revision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    service: &'static str,
    method: String,
    endpoint: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallTimeLabels {
    service: &'static str,
    method: String,
    endpoint: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn long_histogram() -> Histogram {
    Histogram::new(LONG_BUCKETS)
}

fn call_histogram() -> Histogram {
    Histogram::new(CALL_BUCKETS)
}

#[derive(Debug)]
struct Inner {
    reconciles: Counter,
    reconcile_duration: Histogram,
    reconcile_errors: Family<ReasonLabels, Counter>,
    steps: Family<StepLabels, Counter>,
    step_duration: HistogramFamily<OpLabels>,
    load_balancers: Family<StatusLabels, Gauge>,
    calls: Family<CallLabels, Counter>,
    call_duration: HistogramFamily<CallTimeLabels>,
    call_rate_limit: Gauge<f64, AtomicU64>,
    services: Family<ReadyLabels, Gauge>,
    leader: Gauge,
    orphans_deleted: Family<KindLabels, Counter>,
    waiting: Gauge,
    wait_duration: Histogram,
    drift_checks: Family<ResultLabels, Counter>,
    members: Family<MemberLabels, Gauge>,
    subnet_addresses: Family<SubnetLabels, Gauge>,
}

/// The controller's metrics. Cloning is cheap and shares the same series.
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl Metrics {
    /// Creates every metric and registers it in `registry` (see the module docs for names).
    pub fn register(registry: &mut Registry) -> Metrics {
        let inner = Inner {
            reconciles: Counter::default(),
            reconcile_duration: long_histogram(),
            reconcile_errors: Family::default(),
            steps: Family::default(),
            step_duration: Family::new_with_constructor(long_histogram),
            load_balancers: Family::default(),
            calls: Family::default(),
            call_duration: Family::new_with_constructor(call_histogram),
            call_rate_limit: Gauge::default(),
            services: Family::default(),
            leader: Gauge::default(),
            orphans_deleted: Family::default(),
            waiting: Gauge::default(),
            wait_duration: long_histogram(),
            drift_checks: Family::default(),
            members: Family::default(),
            subnet_addresses: Family::default(),
        };
        for result in ["skipped", "changed"] {
            let _ = inner.drift_checks.get_or_create(&ResultLabels { result });
        }
        // Both series exist from the start, so an alert sees 0 rather than nothing.
        for ready in ["true", "false"] {
            inner.services.get_or_create(&ReadyLabels { ready }).set(0);
        }
        for kind in ["loadbalancer", "floatingip"] {
            inner
                .orphans_deleted
                .get_or_create(&KindLabels { kind })
                .inc_by(0);
        }
        registry.register(
            "kks_lb_reconciles",
            "Reconciles of Services, finished or failed",
            inner.reconciles.clone(),
        );
        registry.register(
            "kks_lb_reconcile_duration_seconds",
            "Time one reconcile took",
            inner.reconcile_duration.clone(),
        );
        registry.register(
            "kks_lb_reconcile_errors",
            "Failed reconciles by error reason",
            inner.reconcile_errors.clone(),
        );
        registry.register(
            "kks_lb_plan_steps",
            "Executed plan steps by operation and outcome",
            inner.steps.clone(),
        );
        registry.register(
            "kks_lb_step_duration_seconds",
            "Time one plan step took: its call and the wait for ACTIVE its mutation caused",
            inner.step_duration.clone(),
        );
        registry.register(
            "kks_lb_load_balancers",
            "Load balancers managed by this controller, by provisioning status",
            inner.load_balancers.clone(),
        );
        registry.register(
            "kks_lb_openstack_calls",
            "OpenStack API calls by service, method, endpoint template and HTTP status (0: no response)",
            inner.calls.clone(),
        );
        registry.register(
            "kks_lb_openstack_call_duration_seconds",
            "Time one OpenStack API call took",
            inner.call_duration.clone(),
        );
        registry.register(
            "kks_lb_openstack_call_rate_limit",
            "Configured OpenStack calls per second across all reconciles (--os-api-qps; 0: unlimited)",
            inner.call_rate_limit.clone(),
        );
        registry.register(
            "kks_lb_services",
            "LoadBalancer Services reconciled by this replica, by their LoadBalancerReady condition",
            inner.services.clone(),
        );
        registry.register(
            "kks_lb_leader",
            "1 while this replica holds the leader Lease (or runs without leader election), else 0",
            inner.leader.clone(),
        );
        registry.register(
            "kks_lb_orphans_deleted",
            "Load balancers and floating IPs of this cluster deleted by orphan collection (their Service gone), by kind",
            inner.orphans_deleted.clone(),
        );
        registry.register(
            "kks_lb_load_balancers_waiting",
            "Load balancers waiting to leave PENDING_* (answered by one shared list call per tick)",
            inner.waiting.clone(),
        );
        registry.register(
            "kks_lb_wait_duration_seconds",
            "Time one wait for a load balancer to leave PENDING_* took",
            inner.wait_duration.clone(),
        );
        registry.register(
            "kks_lb_drift_checks",
            "Drift checks of cached observations by result: skipped (unchanged in the list, tree not read) or changed (changed or missing, tree re-read)",
            inner.drift_checks.clone(),
        );
        registry.register(
            "kks_lb_members",
            "Member nodes of each Service's load balancer by the operating status Octavia reports (ONLINE, OFFLINE, ERROR, DRAINING, NO_MONITOR)",
            inner.members.clone(),
        );
        registry.register(
            "kks_lb_subnet_addresses",
            "Addresses of the cluster subnet's allocation pools by state: used or total (every load balancer's VIP takes one)",
            inner.subnet_addresses.clone(),
        );
        registry.register(
            "kks_lb_build",
            "Version and source revision of the running controller",
            Info::new(BuildLabels {
                version: crate::build_info::VERSION,
                revision: crate::build_info::REVISION,
            }),
        );
        Metrics {
            inner: Arc::new(inner),
        }
    }

    /// Starts timing one reconcile. Dropping the guard counts the reconcile and observes
    /// its duration, on every exit path.
    pub fn reconcile_timer(&self) -> ReconcileTimer {
        ReconcileTimer {
            metrics: self.clone(),
            start: Instant::now(),
        }
    }

    /// Counts one object deleted by orphan collection; `kind` is `loadbalancer` or
    /// `floatingip`.
    pub fn orphan_deleted(&self, kind: &'static str) {
        self.inner
            .orphans_deleted
            .get_or_create(&KindLabels { kind })
            .inc();
    }

    /// Counts a failed reconcile under its error's `reason()`.
    pub fn reconcile_error(&self, reason: &'static str) {
        self.inner
            .reconcile_errors
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// Counts one plan step (`op` is the step kind, `outcome` `ok`, `error` or `skipped`) and
    /// observes how long it took, when it ran (`seconds`: the executor's
    /// `kks_lb_adapter::StepTiming` of this step).
    pub fn step(&self, op: &'static str, outcome: &'static str, seconds: Option<f64>) {
        self.inner
            .steps
            .get_or_create(&StepLabels { op, outcome })
            .inc();
        if let Some(seconds) = seconds {
            self.inner
                .step_duration
                .get_or_create(&OpLabels { op })
                .observe(seconds);
        }
    }

    /// Sets how many load balancers currently have `status` (e.g. `ACTIVE`, `ERROR`).
    pub fn set_load_balancers(&self, status: &str, count: i64) {
        self.inner
            .load_balancers
            .get_or_create(&StatusLabels {
                status: status.to_string(),
            })
            .set(count);
    }

    /// Sets the configured OpenStack call budget (calls per second; 0: unlimited).
    pub fn set_call_rate_limit(&self, qps: f64) {
        self.inner.call_rate_limit.set(qps.max(0.0));
    }

    /// Sets how many Services are ready and not ready.
    pub fn set_services(&self, ready: i64, not_ready: i64) {
        for (label, count) in [("true", ready), ("false", not_ready)] {
            self.inner
                .services
                .get_or_create(&ReadyLabels { ready: label })
                .set(count);
        }
    }

    /// Records whether this replica leads.
    pub fn set_leader(&self, leader: bool) {
        self.inner.leader.set(i64::from(leader));
    }

    /// Counts one drift check's results.
    pub fn drift_checks(&self, skipped: usize, changed: usize) {
        for (result, n) in [("skipped", skipped), ("changed", changed)] {
            self.inner
                .drift_checks
                .get_or_create(&ResultLabels { result })
                .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }

    /// Sets a Service's member counts by state (`service` is `<namespace>/<name>`); every
    /// state of [`MEMBER_STATES`] that `count` does not name is set to 0.
    pub fn set_members(&self, service: &str, count: impl Fn(&str) -> usize) {
        for state in MEMBER_STATES {
            self.inner
                .members
                .get_or_create(&MemberLabels {
                    service: service.to_owned(),
                    state,
                })
                .set(i64::try_from(count(state)).unwrap_or(i64::MAX));
        }
    }

    /// Removes a Service's member series (it is gone or no longer ours).
    pub fn forget_members(&self, service: &str) {
        for state in MEMBER_STATES {
            self.inner.members.remove(&MemberLabels {
                service: service.to_owned(),
                state,
            });
        }
    }

    /// Removes every Service's member series (leadership ended: the next leader reports them).
    pub fn clear_members(&self) {
        self.inner.members.clear();
    }

    /// Sets the used and total addresses of a subnet's allocation pools.
    pub fn set_subnet_addresses(&self, subnet: &str, used: u64, total: u64) {
        for (state, n) in [("used", used), ("total", total)] {
            self.inner
                .subnet_addresses
                .get_or_create(&SubnetLabels {
                    subnet: subnet.to_owned(),
                    state,
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// A recorder for [`kks_lb_adapter::Executor::set_wait_recorder`].
    pub fn wait_recorder(&self) -> Arc<dyn WaitRecorder> {
        Arc::new(self.clone())
    }

    /// A recorder for [`kks_lb_adapter::OpenStackClient::with_recorder`] that feeds the
    /// OpenStack call metrics.
    pub fn call_recorder(&self) -> Arc<dyn CallRecorder> {
        Arc::new(self.clone())
    }
}

impl CallRecorder for Metrics {
    fn record(&self, service: Service, method: &str, template: &str, status: u16, took: Duration) {
        let service = service.as_str();
        let method = method.to_ascii_uppercase();
        self.inner
            .calls
            .get_or_create(&CallLabels {
                service,
                method: method.clone(),
                endpoint: template.to_string(),
                status,
            })
            .inc();
        self.inner
            .call_duration
            .get_or_create(&CallTimeLabels {
                service,
                method,
                endpoint: template.to_string(),
            })
            .observe(took.as_secs_f64());
    }
}

impl WaitRecorder for Metrics {
    fn waiting(&self, count: usize) {
        self.inner
            .waiting
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    fn waited(&self, waited: Duration) {
        self.inner.wait_duration.observe(waited.as_secs_f64());
    }
}

/// Times one reconcile; see [`Metrics::reconcile_timer`].
#[derive(Debug)]
#[must_use = "the reconcile is measured until the timer is dropped"]
pub struct ReconcileTimer {
    metrics: Metrics,
    start: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        let inner = &self.metrics.inner;
        inner.reconciles.inc();
        inner
            .reconcile_duration
            .observe(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests;
