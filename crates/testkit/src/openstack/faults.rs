//! Fault injection: per-endpoint error rates, latency, dropped connections and error bursts,
//! plus load-balancer level faults (stuck PENDING, ERROR after create/update). One-shot faults
//! on the k-th matching call (before or after the commit) and call counters live in
//! [`super::oneshot`] and are stored here with the rules, sharing their ids.
//!
//! Decisions draw from a random generator seeded by [`super::EmulatorConfig::seed`], only
//! for rules with a non-zero rate, so the same sequence of calls meets the same faults.

use std::time::Duration;

use axum::http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;

use super::oneshot::{self, Arm, CallMatcher, FaultKind, Progress, Shot};

/// The emulated service a request is for (`"keystone"`, `"octavia"`, `"neutron"` in JSON).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Keystone (`/`, `/v3/...`).
    Keystone,
    /// Octavia (`/load-balancer/...`).
    Octavia,
    /// Neutron (`/network/...`).
    Neutron,
}

impl Service {
    /// Lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Service::Keystone => "keystone",
            Service::Octavia => "octavia",
            Service::Neutron => "neutron",
        }
    }
}

/// One fault rule. A request matches when method, service and path template (service
/// relative, e.g. `/v2/lbaas/loadbalancers/{id}` or `/v2.0/floatingips`) match; `None` matches
/// anything. For every matching rule, in insertion order: a pending burst answers
/// `burst_status`; otherwise the connection is dropped with probability `drop_rate`, or an
/// error `error_status` is answered with probability `error_rate`. Latencies of all matching
/// rules add up and are waited (tokio time) before anything else.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// HTTP method, e.g. `POST`.
    pub method: Option<Method>,
    /// Service.
    pub service: Option<Service>,
    /// Path template relative to the service, `/v2/lbaas/...` for both `/v2` and `/v2.0`.
    pub path: Option<String>,
    /// Probability of answering `error_status`.
    pub error_rate: f64,
    /// Status of random errors (500 or 503 usually).
    pub error_status: u16,
    /// Probability of closing the connection without a response.
    pub drop_rate: f64,
    /// Added latency.
    pub latency: Duration,
    /// The next `burst` matching calls answer `burst_status` (e.g. 409).
    pub burst: u32,
    /// Status of burst answers.
    pub burst_status: u16,
}

impl FaultRule {
    /// A rule matching `method` on `path` (service-relative template) of any service, with
    /// no effect yet.
    pub fn endpoint(method: Method, path: &str) -> Self {
        FaultRule {
            method: Some(method),
            path: Some(path.to_owned()),
            ..FaultRule::any()
        }
    }

    /// A rule matching every request, with no effect yet.
    pub fn any() -> Self {
        FaultRule {
            method: None,
            service: None,
            path: None,
            error_rate: 0.0,
            error_status: 503,
            drop_rate: 0.0,
            latency: Duration::ZERO,
            burst: 0,
            burst_status: 409,
        }
    }

    /// Restricts the rule to one service.
    #[must_use]
    pub fn on(mut self, service: Service) -> Self {
        self.service = Some(service);
        self
    }

    /// Answers `status` with probability `rate`.
    #[must_use]
    pub fn error_rate(mut self, rate: f64, status: u16) -> Self {
        self.error_rate = rate;
        self.error_status = status;
        self
    }

    /// Drops the connection with probability `rate`.
    #[must_use]
    pub fn drop_rate(mut self, rate: f64) -> Self {
        self.drop_rate = rate;
        self
    }

    /// Adds latency.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The next `n` matching calls answer `status`.
    #[must_use]
    pub fn burst(mut self, n: u32, status: u16) -> Self {
        self.burst = n;
        self.burst_status = status;
        self
    }

    fn matches(&self, method: &Method, service: Service, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method)
            && self.service.is_none_or(|s| s == service)
            && self.path.as_deref().is_none_or(|p| p == path)
    }
}

/// Handle of an added rule, for removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaultId(u64);

impl FaultId {
    /// The number (the control API's `id`).
    pub const fn get(self) -> u64 {
        self.0
    }

    pub(crate) const fn from_raw(id: u64) -> Self {
        FaultId(id)
    }
}

/// What the gate does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Serve it.
    Pass,
    /// Answer this status with an injected-fault body.
    Fail(u16),
    /// Close the connection without a response.
    Drop,
}

/// Fault state inside the emulator.
#[derive(Debug)]
pub(crate) struct Faults {
    rules: Vec<(FaultId, FaultRule)>,
    /// One-shot faults and counters, in arming order.
    arms: Vec<Arm>,
    next_id: u64,
    rng: StdRng,
}

/// Load-balancer level faults. They act on the cloud's state machine, so they live with the
/// state ([`super::state::State::lb_faults`]), not with the per-call faults.
#[derive(Debug, Default)]
pub(crate) struct LbFaults {
    /// No pending LB operation completes while set.
    pub(crate) stuck_all: bool,
    /// LBs whose pending operations never complete.
    pub(crate) stuck: std::collections::BTreeSet<String>,
    /// The next N LB creates end in ERROR.
    pub(crate) fail_creates: u32,
    /// The next N updates (LB PUT or child changes) end in ERROR.
    pub(crate) fail_updates: u32,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Self {
        Faults {
            rules: Vec::new(),
            arms: Vec::new(),
            next_id: 0,
            // A stream separate from the id generator, so faults do not shift ids.
            rng: StdRng::seed_from_u64(seed ^ 0x6b6b_732d_6c62_6661),
        }
    }

    fn next_id(&mut self) -> FaultId {
        self.next_id += 1;
        FaultId(self.next_id)
    }

    pub(crate) fn add(&mut self, rule: FaultRule) -> FaultId {
        let id = self.next_id();
        self.rules.push((id, rule));
        id
    }

    /// Arms a one-shot fault (`fault` set) or a counter.
    pub(crate) fn arm(
        &mut self,
        matcher: CallMatcher,
        fault: Option<(u64, FaultKind)>,
    ) -> (FaultId, watch::Receiver<Progress>) {
        let id = self.next_id();
        let progress = watch::Sender::new(Progress::default());
        let rx = progress.subscribe();
        self.arms.push(Arm {
            id,
            matcher,
            fault,
            progress,
        });
        (id, rx)
    }

    /// Removes a rule, one-shot fault or counter (a connection a crash fault holds is closed).
    pub(crate) fn remove(&mut self, id: FaultId) -> bool {
        let before = self.rules.len() + self.arms.len();
        self.rules.retain(|(i, _)| *i != id);
        self.arms.retain(|a| a.id != id);
        self.rules.len() + self.arms.len() != before
    }

    /// The rules, in insertion order.
    pub(crate) fn rules(&self) -> &[(FaultId, FaultRule)] {
        &self.rules
    }

    /// The one-shot faults and counters, in arming order.
    pub(crate) fn arms(&self) -> &[Arm] {
        &self.arms
    }

    /// Counts a call in every one-shot fault and counter; the fault acting on it, if any.
    pub(crate) fn observe(
        &mut self,
        method: &Method,
        service: Service,
        path: &str,
    ) -> Option<Shot> {
        oneshot::observe(&mut self.arms, method, service, path)
    }

    /// Removes every rule, one-shot fault and counter (the load-balancer faults are cleared
    /// with [`LbFaults::clear`]).
    pub(crate) fn clear(&mut self) {
        self.rules.clear();
        self.arms.clear();
    }

    /// Decides the fate of a request and the latency to add.
    pub(crate) fn decide(
        &mut self,
        method: &Method,
        service: Service,
        path: &str,
    ) -> (Verdict, Duration) {
        let mut latency = Duration::ZERO;
        let mut verdict = Verdict::Pass;
        for (_, rule) in self.rules.iter_mut() {
            if !rule.matches(method, service, path) {
                continue;
            }
            latency += rule.latency;
            if verdict != Verdict::Pass {
                continue;
            }
            if rule.burst > 0 {
                rule.burst -= 1;
                verdict = Verdict::Fail(rule.burst_status);
                continue;
            }
            if rule.drop_rate > 0.0 && self.rng.random::<f64>() < rule.drop_rate {
                verdict = Verdict::Drop;
                continue;
            }
            if rule.error_rate > 0.0 && self.rng.random::<f64>() < rule.error_rate {
                verdict = Verdict::Fail(rule.error_status);
            }
        }
        (verdict, latency)
    }
}

impl LbFaults {
    pub(crate) fn clear(&mut self) {
        *self = LbFaults::default();
    }

    /// Whether the LB's pending operation is held back.
    pub(crate) fn is_stuck(&self, lb_id: &str) -> bool {
        self.stuck_all || self.stuck.contains(lb_id)
    }

    /// Consumes one "fail the next create" token.
    pub(crate) fn take_create_failure(&mut self) -> bool {
        take(&mut self.fail_creates)
    }

    /// Consumes one "fail the next update" token.
    pub(crate) fn take_update_failure(&mut self) -> bool {
        take(&mut self.fail_updates)
    }
}

fn take(n: &mut u32) -> bool {
    if *n > 0 {
        *n -= 1;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_come_first_then_rates_drawn_from_the_seed() {
        let mut a = Faults::new(7);
        a.add(
            FaultRule::endpoint(Method::GET, "/x")
                .burst(2, 409)
                .error_rate(0.5, 503),
        );
        let run = |f: &mut Faults| -> Vec<Verdict> {
            (0..20)
                .map(|_| f.decide(&Method::GET, Service::Octavia, "/x").0)
                .collect()
        };
        let first = run(&mut a);
        assert_eq!(&first[..2], &[Verdict::Fail(409), Verdict::Fail(409)]);
        assert!(first[2..].contains(&Verdict::Fail(503)));
        assert!(first[2..].contains(&Verdict::Pass));
        let mut b = Faults::new(7);
        b.add(
            FaultRule::endpoint(Method::GET, "/x")
                .burst(2, 409)
                .error_rate(0.5, 503),
        );
        assert_eq!(run(&mut b), first, "same seed, same calls, same faults");
        assert_eq!(
            b.decide(&Method::POST, Service::Octavia, "/x"),
            (Verdict::Pass, Duration::ZERO),
            "other methods are untouched"
        );
    }
}
