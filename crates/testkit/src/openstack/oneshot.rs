//! One-shot faults ("the k-th matching call from now") and call counters.
//!
//! A one-shot fault counts the calls that match its [`CallMatcher`] from the moment it is
//! armed, starting at 0, and acts on exactly one of them, the `nth`, in one of three ways
//! ([`FaultKind`]):
//! - **before commit**: the request is not served; the client gets a status or a dropped
//!   connection and the cloud is unchanged;
//! - **commit then fail**: the request is served in full (the load balancer is created, the
//!   floating IP tagged, ...), then its answer is replaced by a status or a dropped connection;
//! - **crash after commit**: the request is served in full and its answer is never sent: the
//!   connection stays open until the fault is removed (then it is closed) or the client goes
//!   away.
//!
//! The [`ArmedFault`] handle resolves ([`ArmedFault::fired`]) the moment the fault acts, for
//! the two "after commit" kinds after the emulator state changed and before anything is sent,
//! so a test can abort the client right there. [`CallCounter`] counts matching calls without
//! acting on any, to learn how many calls an operation makes.

use axum::http::Method;
use tokio::sync::watch;

use super::faults::{FaultId, Service};

/// Which calls a one-shot fault or a counter looks at. `None` fields match anything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallMatcher {
    /// HTTP method.
    pub method: Option<Method>,
    /// Service.
    pub service: Option<Service>,
    /// Path template relative to the service, e.g. `/v2/lbaas/loadbalancers/{id}` (`/v2.0`
    /// Octavia paths are folded into `/v2`) or `/v2.0/floatingips/{id}/tags`.
    pub path: Option<String>,
    /// Only calls that change the cloud: `POST`, `PUT`, `PATCH` and `DELETE` to Octavia or
    /// Neutron. Keystone token calls are never counted as mutating, so a token refresh does
    /// not shift the index of a cloud call.
    pub mutating: bool,
}

impl CallMatcher {
    /// Every call.
    pub fn any() -> Self {
        CallMatcher::default()
    }

    /// Every call that changes Octavia or Neutron state (see [`CallMatcher::mutating`]).
    pub fn mutating() -> Self {
        CallMatcher {
            mutating: true,
            ..CallMatcher::default()
        }
    }

    /// Calls of `method` on `path` (service-relative template).
    pub fn endpoint(method: Method, path: &str) -> Self {
        CallMatcher {
            method: Some(method),
            path: Some(path.to_owned()),
            ..CallMatcher::default()
        }
    }

    /// Restricts the matcher to one service.
    #[must_use]
    pub fn on(mut self, service: Service) -> Self {
        self.service = Some(service);
        self
    }

    /// Restricts the matcher to mutating calls.
    #[must_use]
    pub fn mutating_only(mut self) -> Self {
        self.mutating = true;
        self
    }

    /// Whether a call matches.
    pub fn matches(&self, method: &Method, service: Service, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method)
            && self.service.is_none_or(|s| s == service)
            && self.path.as_deref().is_none_or(|p| p == path)
            && (!self.mutating || is_mutating(method, service))
    }
}

/// `POST`, `PUT`, `PATCH` or `DELETE` to Octavia or Neutron.
pub(crate) fn is_mutating(method: &Method, service: Service) -> bool {
    service != Service::Keystone
        && (method == Method::POST
            || method == Method::PUT
            || method == Method::PATCH
            || method == Method::DELETE)
}

/// What the client gets instead of the real answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// This status with the service's error body (`503`, `504`, ...).
    Status(u16),
    /// The connection is closed without any answer.
    Drop,
}

/// How a one-shot fault acts on its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The request is not served: nothing changes, the client gets the reply.
    BeforeCommit(Reply),
    /// The request is served in full, then the client gets the reply instead of the answer.
    CommitThenFail(Reply),
    /// The request is served in full and no answer is ever sent: the connection is held open
    /// until the fault is removed (then closed) or the client goes away.
    CrashAfterCommit,
}

impl FaultKind {
    /// Whether the request is served before the fault acts.
    pub const fn commits(self) -> bool {
        !matches!(self, FaultKind::BeforeCommit(_))
    }
}

/// A fault on the `nth` (from 0) call matching `matcher`, counted from when it is armed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneShotFault {
    /// The calls counted.
    pub matcher: CallMatcher,
    /// Index of the call acted on, counting matching calls from 0 when the fault is armed.
    pub nth: u64,
    /// What happens to it.
    pub kind: FaultKind,
}

impl OneShotFault {
    /// Any kind.
    pub fn new(matcher: CallMatcher, nth: u64, kind: FaultKind) -> Self {
        OneShotFault { matcher, nth, kind }
    }

    /// The `nth` matching call is refused with `reply`; nothing changes.
    pub fn before_commit(matcher: CallMatcher, nth: u64, reply: Reply) -> Self {
        OneShotFault::new(matcher, nth, FaultKind::BeforeCommit(reply))
    }

    /// The `nth` matching call takes effect, then the client gets `reply`.
    pub fn commit_then_fail(matcher: CallMatcher, nth: u64, reply: Reply) -> Self {
        OneShotFault::new(matcher, nth, FaultKind::CommitThenFail(reply))
    }

    /// The `nth` matching call takes effect and is never answered.
    pub fn crash_after_commit(matcher: CallMatcher, nth: u64) -> Self {
        OneShotFault::new(matcher, nth, FaultKind::CrashAfterCommit)
    }
}

/// The call a one-shot fault acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// Its index among the matching calls (the fault's `nth`).
    pub index: u64,
    /// The service.
    pub service: Service,
    /// HTTP method.
    pub method: String,
    /// Service-relative path template.
    pub path: String,
    /// The request's path and query as sent, e.g. `/load-balancer/v2/lbaas/loadbalancers/<id>`.
    pub uri: String,
    /// The status the emulator answered before the fault replaced it; `None` for a fault
    /// before commit (the request was not served).
    pub status: Option<u16>,
    /// The body of that answer (empty for `None` or an empty body).
    pub body: String,
}

impl Fired {
    /// Whether the request took effect: it was served and answered 2xx (a request the
    /// emulator refused, e.g. 409 on an immutable load balancer, changed nothing).
    pub fn committed(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What a one-shot fault or counter has seen so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress {
    /// Matching calls since it was armed.
    pub(crate) seen: u64,
    /// The call the fault acted on.
    pub(crate) fired: Option<Fired>,
}

/// A one-shot fault (`fault` set) or a counter.
#[derive(Debug)]
pub(crate) struct Arm {
    pub(crate) id: FaultId,
    pub(crate) matcher: CallMatcher,
    pub(crate) fault: Option<(u64, FaultKind)>,
    pub(crate) progress: watch::Sender<Progress>,
}

/// The one-shot fault acting on a call: its kind, index, and where to report.
#[derive(Debug)]
pub(crate) struct Shot {
    pub(crate) kind: FaultKind,
    pub(crate) index: u64,
    /// Every arm whose turn it is (normally one).
    pub(crate) targets: Vec<watch::Sender<Progress>>,
    /// Follows the acting arm; closed when it is removed (which releases a held connection).
    pub(crate) release: watch::Receiver<Progress>,
}

impl Shot {
    /// Records the call the fault acted on in every target.
    pub(crate) fn report(&self, fired: &Fired) {
        for t in &self.targets {
            t.send_modify(|p| p.fired = Some(fired.clone()));
        }
    }

    /// Waits until the acting fault is removed (or the emulator goes away).
    pub(crate) async fn held(mut self) {
        self.targets.clear();
        while self.release.changed().await.is_ok() {}
    }
}

/// Counts a call in every arm it matches and returns the fault acting on it, if any: the
/// earliest armed whose `nth` it is. Other faults whose turn it also is report the same call
/// as fired.
pub(crate) fn observe(
    arms: &mut [Arm],
    method: &Method,
    service: Service,
    path: &str,
) -> Option<Shot> {
    shoot(arms.iter_mut().map(|a| {
        let matches = a.matcher.matches(method, service, path);
        (a, matches)
    }))
}

/// [`observe`] over any arms, each with whether the call matches it by the caller's rules
/// (the fault proxy matches path prefixes of one upstream).
pub(crate) fn shoot<'a>(arms: impl Iterator<Item = (&'a mut Arm, bool)>) -> Option<Shot> {
    let mut shot: Option<Shot> = None;
    for (arm, matches) in arms {
        if !matches {
            continue;
        }
        let index = arm.progress.borrow().seen;
        arm.progress.send_modify(|p| p.seen += 1);
        let Some((nth, kind)) = arm.fault else {
            continue;
        };
        if nth != index || arm.progress.borrow().fired.is_some() {
            continue;
        }
        match &mut shot {
            Some(s) => s.targets.push(arm.progress.clone()),
            None => {
                shot = Some(Shot {
                    kind,
                    index,
                    targets: vec![arm.progress.clone()],
                    release: arm.progress.subscribe(),
                });
            }
        }
    }
    shot
}

/// Handle of an armed one-shot fault.
#[derive(Debug, Clone)]
pub struct ArmedFault {
    pub(crate) id: FaultId,
    pub(crate) progress: watch::Receiver<Progress>,
}

impl ArmedFault {
    /// Its id, for [`super::OpenStackEmulator::remove_fault`].
    pub fn id(&self) -> FaultId {
        self.id
    }

    /// Matching calls seen since it was armed (including the one it acted on and later ones).
    pub fn seen(&self) -> u64 {
        self.progress.borrow().seen
    }

    /// The call it acted on, if it has.
    pub fn fired_call(&self) -> Option<Fired> {
        self.progress.borrow().fired.clone()
    }

    /// Waits until the fault acts and returns the call. For the "after commit" kinds this
    /// resolves once the emulator state has changed and before any answer is sent. `None`
    /// when the emulator stopped or the fault was removed before it acted.
    pub async fn fired(&self) -> Option<Fired> {
        if let Some(f) = self.fired_call() {
            return Some(f);
        }
        let mut rx = self.progress.clone();
        rx.wait_for(|p| p.fired.is_some())
            .await
            .ok()
            .and_then(|p| p.fired.clone())
    }
}

/// Handle of a call counter.
#[derive(Debug, Clone)]
pub struct CallCounter {
    pub(crate) id: FaultId,
    pub(crate) progress: watch::Receiver<Progress>,
}

impl CallCounter {
    /// Its id, for [`super::OpenStackEmulator::remove_fault`].
    pub fn id(&self) -> FaultId {
        self.id
    }

    /// Matching calls since it was created (it stops counting once removed).
    pub fn seen(&self) -> u64 {
        self.progress.borrow().seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(id: u64, matcher: CallMatcher, fault: Option<(u64, FaultKind)>) -> Arm {
        Arm {
            id: FaultId::from_raw(id),
            matcher,
            fault,
            progress: watch::Sender::new(Progress::default()),
        }
    }

    #[test]
    fn mutating_means_cloud_writes_and_never_keystone() {
        let m = CallMatcher::mutating();
        assert!(m.matches(&Method::POST, Service::Octavia, "/v2/lbaas/loadbalancers"));
        assert!(m.matches(
            &Method::PUT,
            Service::Neutron,
            "/v2.0/floatingips/{id}/tags"
        ));
        assert!(m.matches(&Method::DELETE, Service::Neutron, "/v2.0/floatingips/{id}"));
        assert!(!m.matches(&Method::GET, Service::Octavia, "/v2/lbaas/loadbalancers"));
        assert!(!m.matches(&Method::POST, Service::Keystone, "/v3/auth/tokens"));
    }

    #[test]
    fn the_nth_matching_call_fires_once_and_counting_goes_on() {
        let kind = FaultKind::CommitThenFail(Reply::Status(504));
        let mut arms = vec![
            arm(1, CallMatcher::mutating(), Some((2, kind))),
            arm(2, CallMatcher::mutating(), None),
        ];
        let mut fired_at = Vec::new();
        for i in 0..6 {
            let method = if i % 2 == 0 {
                Method::GET
            } else {
                Method::POST
            };
            if let Some(shot) = observe(&mut arms, &method, Service::Octavia, "/x") {
                assert_eq!(shot.kind, kind);
                assert_eq!(shot.index, 2);
                fired_at.push(i);
            }
        }
        // POSTs are calls 1, 3, 5: the third (index 2) is call 5.
        assert_eq!(fired_at, vec![5]);
        assert_eq!(arms[0].progress.borrow().seen, 3);
        assert_eq!(arms[1].progress.borrow().seen, 3, "counters count");
    }

    #[test]
    fn of_two_faults_on_the_same_call_the_earliest_acts_and_both_report() {
        let first = FaultKind::BeforeCommit(Reply::Drop);
        let mut arms = vec![
            arm(1, CallMatcher::any(), Some((0, first))),
            arm(
                2,
                CallMatcher::any(),
                Some((0, FaultKind::CrashAfterCommit)),
            ),
        ];
        let shot = observe(&mut arms, &Method::GET, Service::Neutron, "/y");
        let shot = shot.expect("index 0 fires");
        assert_eq!(shot.kind, first);
        assert_eq!(shot.targets.len(), 2);
        assert!(observe(&mut arms, &Method::GET, Service::Neutron, "/y").is_none());
    }
}
