//! Leader election on a `coordination.k8s.io/v1` Lease, so several replicas can run while one
//! leads.
//!
//! kube's runtime has no leader election, so this is a small implementation of the protocol
//! client-go uses, on [`kube::Api<Lease>`]:
//!
//! - A follower polls the Lease every `retry_every` (with up to 20 % jitter). It takes the Lease
//!   when it is missing (create), released (empty `holderIdentity`), already held by its own
//!   identity, or expired. "Expired" is judged on the follower's own monotonic clock: the Lease
//!   record must stay unchanged for the lease duration after the follower first saw it, so clock
//!   skew between nodes does not matter.
//! - Every write is a replace carrying the `resourceVersion` that was read, so of two replicas
//!   racing for the Lease exactly one wins; the other gets `409 Conflict` and reads again.
//!   Taking the Lease over from another holder increments `leaseTransitions` and sets
//!   `acquireTime`; every write sets `renewTime` (both `MicroTime`).
//! - The leader renews every `renew_every` in a background task. It believes it leads only until
//!   the *renew deadline*, two thirds of the lease duration after it sent its last confirmed
//!   write. A follower cannot take over before a full lease duration after it observed that
//!   write, which is later than the write was sent, so the two never both believe they lead; the
//!   remaining third is margin for clock rate differences and for the application to stop.
//! - [`Leadership::release`] clears `holderIdentity` so a follower takes over on its next poll
//!   instead of waiting for expiry.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use kks_lb_controller::leader::{LeaderElector, LeaseConfig};
//! use tokio_util::sync::CancellationToken;
//!
//! let shutdown = CancellationToken::new();
//! let elector = LeaderElector::new(client, LeaseConfig::new("kube-system", "kks-lb", "pod-a"));
//! let leadership = elector.acquire(&shutdown).await?;
//! tokio::select! {
//!     () = leadership.lost() => { /* stop acting at once */ }
//!     () = shutdown.cancelled() => { /* drain, then hand over */ }
//! }
//! leadership.release().await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until, timeout, timeout_at};
use tokio_util::sync::CancellationToken;

/// How many times a write that hits `409 Conflict` is re-read and retried while we still hold
/// the Lease.
const CONFLICT_RETRIES: usize = 3;

/// Where the Lease lives, who we are, and the timing of the election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This replica's identity, written to `holderIdentity`; unique per replica (the Pod name).
    pub identity: String,
    /// How long a follower waits after the Lease last changed before taking it over
    /// (default 15 s). Written to `leaseDurationSeconds`, rounded up to whole seconds.
    pub lease_duration: Duration,
    /// How often the leader renews (default 5 s); must be shorter than two thirds of
    /// `lease_duration`.
    pub renew_every: Duration,
    /// How often a follower polls, and how soon a failed renewal is retried (default 2 s).
    pub retry_every: Duration,
}

impl LeaseConfig {
    /// A configuration with the default timing: lease 15 s, renew every 5 s, retry every 2 s.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
            retry_every: Duration::from_secs(2),
        }
    }

    /// How long after sending its last confirmed write the leader still believes it leads:
    /// two thirds of the lease duration.
    pub fn renew_deadline(&self) -> Duration {
        self.lease_duration * 2 / 3
    }

    /// `namespace/name`, for messages.
    fn lease_ref(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The lease duration in whole seconds, rounded up, at least 1.
    fn lease_duration_seconds(&self) -> i32 {
        let mut secs = self.lease_duration.as_secs();
        if self.lease_duration.subsec_nanos() > 0 {
            secs += 1;
        }
        i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
    }

    /// Checks the timing rules; the message names the rule broken.
    fn check(&self) -> Result<(), LeaderError> {
        let rule = if self.identity.is_empty() {
            Some("identity must not be empty")
        } else if self.lease_duration.is_zero() {
            Some("lease duration must be positive")
        } else if self.renew_every.is_zero() || self.renew_every >= self.renew_deadline() {
            Some(
                "renew interval must be positive and shorter than two thirds of the lease duration",
            )
        } else if self.retry_every.is_zero() {
            Some("retry interval must be positive")
        } else {
            None
        };
        match rule {
            Some(rule) => Err(LeaderError::InvalidConfig {
                lease: self.lease_ref(),
                rule,
            }),
            None => Ok(()),
        }
    }
}

/// A failed leader-election operation.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The [`LeaseConfig`] breaks a timing rule.
    #[error("lease {lease}: invalid settings: {rule}")]
    InvalidConfig {
        /// `namespace/name` of the Lease.
        lease: String,
        /// The rule broken.
        rule: &'static str,
    },
    /// Shutdown was requested before the Lease was acquired.
    #[error("stopped waiting for lease {lease}: shutting down")]
    Cancelled {
        /// `namespace/name` of the Lease.
        lease: String,
    },
    /// Reading the Lease failed.
    #[error("reading lease {lease}")]
    Read {
        /// `namespace/name` of the Lease.
        lease: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Creating the missing Lease failed.
    #[error("creating lease {lease}")]
    Create {
        /// `namespace/name` of the Lease.
        lease: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the Lease (take-over or renewal) failed.
    #[error("updating lease {lease}")]
    Update {
        /// `namespace/name` of the Lease.
        lease: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Clearing the holder on release failed.
    #[error("releasing lease {lease}")]
    Release {
        /// `namespace/name` of the Lease.
        lease: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The API server did not answer in time.
    #[error("lease {lease}: {operation} got no answer within {timeout:?}")]
    Timeout {
        /// `namespace/name` of the Lease.
        lease: String,
        /// What was being done (`acquire`, `release`).
        operation: &'static str,
        /// The time allowed.
        timeout: Duration,
    },
}

impl LeaderError {
    /// A static PascalCase name for logs, Events and metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            LeaderError::InvalidConfig { .. } => "LeaseInvalidConfig",
            LeaderError::Cancelled { .. } => "LeaseCancelled",
            LeaderError::Read { .. } => "LeaseRead",
            LeaderError::Create { .. } => "LeaseCreate",
            LeaderError::Update { .. } => "LeaseUpdate",
            LeaderError::Release { .. } => "LeaseRelease",
            LeaderError::Timeout { .. } => "LeaseTimeout",
        }
    }

    /// Whether trying again later may succeed. Authentication, authorization, validation
    /// and a missing namespace are not retryable; neither are bad settings or shutdown.
    pub fn is_retryable(&self) -> bool {
        match self {
            LeaderError::InvalidConfig { .. } | LeaderError::Cancelled { .. } => false,
            LeaderError::Timeout { .. } => true,
            LeaderError::Read { source, .. }
            | LeaderError::Create { source, .. }
            | LeaderError::Update { source, .. }
            | LeaderError::Release { source, .. } => match source {
                kube::Error::Api(status) => !matches!(status.code, 400 | 401 | 403 | 404 | 422),
                _ => true,
            },
        }
    }
}

fn is_conflict(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 409)
}

/// The holder named in a Lease, `None` when empty or absent.
fn holder_of(lease: &Lease) -> Option<&str> {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        .filter(|h| !h.is_empty())
}

/// The result of one attempt to take the Lease.
enum Attempt {
    /// We hold it: the stored object, and the instant after which we no longer believe we lead.
    Acquired {
        lease: Box<Lease>,
        deadline: Instant,
    },
    /// Someone else holds it (or won the race); try again later.
    Held { holder: Option<String> },
}

/// A Lease record as first seen by a follower, on the follower's clock.
struct Observed {
    spec: LeaseSpec,
    at: Instant,
}

/// Competes for the Lease; see the [module docs](self) for the protocol.
#[derive(Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    cfg: Arc<LeaseConfig>,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl LeaderElector {
    /// An elector for the Lease `cfg.namespace/cfg.name`. Makes no request yet.
    pub fn new(client: kube::Client, cfg: LeaseConfig) -> Self {
        Self {
            api: Api::namespaced(client, &cfg.namespace),
            cfg: Arc::new(cfg),
        }
    }

    /// The settings.
    pub fn config(&self) -> &LeaseConfig {
        &self.cfg
    }

    /// Waits until this replica holds the Lease, then renews it in a background task.
    ///
    /// Creates the Lease if missing, takes it over when released, held by this identity, or
    /// unchanged for a lease duration; otherwise polls every `retry_every`.
    ///
    /// # Guarantees
    /// The returned [`Leadership`] reports leading only until its renew deadline passes
    /// without a confirmed renewal, which is before any other replica may take over.
    /// Renewal continues (also after `shutdown` fires) until [`Leadership::release`] or drop,
    /// so a graceful drain keeps the Lease.
    ///
    /// # Errors
    /// [`LeaderError::Cancelled`] when `shutdown` fires first; [`LeaderError::InvalidConfig`]
    /// for bad timing; an API error that is not retryable ([`LeaderError::is_retryable`],
    /// e.g. 403 from missing RBAC). Retryable errors are logged and retried.
    pub async fn acquire(&self, shutdown: &CancellationToken) -> Result<Leadership, LeaderError> {
        self.cfg.check()?;
        let call_timeout = self.cfg.renew_deadline();
        let mut observed: Option<Observed> = None;
        loop {
            let attempt = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Err(self.cancelled()),
                r = timeout(call_timeout, self.try_acquire(&mut observed)) => r,
            };
            match attempt {
                Ok(Ok(Attempt::Acquired { lease, deadline })) => {
                    if Instant::now() < deadline {
                        tracing::info!(
                            lease = %self.cfg.lease_ref(),
                            identity = %self.cfg.identity,
                            "acquired leadership"
                        );
                        return Ok(Leadership::start(
                            self.api.clone(),
                            Arc::clone(&self.cfg),
                            *lease,
                            deadline,
                        ));
                    }
                    // The write took longer than the renew deadline; the Lease names us, so
                    // the next attempt re-confirms it at once.
                    continue;
                }
                Ok(Ok(Attempt::Held { holder })) => {
                    tracing::debug!(
                        lease = %self.cfg.lease_ref(),
                        holder = holder.as_deref().unwrap_or(""),
                        "lease held by another replica"
                    );
                }
                Ok(Err(err)) if err.is_retryable() => {
                    tracing::warn!(
                        lease = %self.cfg.lease_ref(),
                        error = &err as &dyn std::error::Error,
                        "lease acquisition attempt failed"
                    );
                }
                Ok(Err(err)) => return Err(err),
                Err(_elapsed) => {
                    tracing::warn!(
                        lease = %self.cfg.lease_ref(),
                        timeout = ?call_timeout,
                        "lease acquisition attempt timed out"
                    );
                }
            }
            let pause = self
                .cfg
                .retry_every
                .mul_f64(1.0 + rand::random::<f64>() * 0.2);
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Err(self.cancelled()),
                () = sleep(pause) => {}
            }
        }
    }

    fn cancelled(&self) -> LeaderError {
        LeaderError::Cancelled {
            lease: self.cfg.lease_ref(),
        }
    }

    /// One read and, when the Lease is free, one write.
    async fn try_acquire(&self, observed: &mut Option<Observed>) -> Result<Attempt, LeaderError> {
        let cfg = &*self.cfg;
        let current = self
            .api
            .get_opt(&cfg.name)
            .await
            .map_err(|source| LeaderError::Read {
                lease: cfg.lease_ref(),
                source,
            })?;
        let Some(current) = current else {
            let now = MicroTime(Timestamp::now());
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(cfg.name.clone()),
                    namespace: Some(cfg.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(cfg.identity.clone()),
                    lease_duration_seconds: Some(cfg.lease_duration_seconds()),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            let sent = Instant::now();
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(lease) => Ok(Attempt::Acquired {
                    lease: Box::new(lease),
                    deadline: sent + cfg.renew_deadline(),
                }),
                // Another replica created it first.
                Err(err) if is_conflict(&err) => Ok(Attempt::Held { holder: None }),
                Err(source) => Err(LeaderError::Create {
                    lease: cfg.lease_ref(),
                    source,
                }),
            };
        };

        let spec = current.spec.clone().unwrap_or_default();
        let now = Instant::now();
        let first_seen = match observed {
            Some(seen) if seen.spec == spec => seen.at,
            _ => {
                *observed = Some(Observed {
                    spec: spec.clone(),
                    at: now,
                });
                now
            }
        };
        let holder = holder_of(&current).map(str::to_string);
        let free = match holder.as_deref() {
            None => true,
            Some(h) if h == cfg.identity => true,
            Some(_) => {
                let recorded = spec
                    .lease_duration_seconds
                    .and_then(|s| u64::try_from(s).ok())
                    .map_or(Duration::ZERO, Duration::from_secs);
                now >= first_seen + recorded.max(cfg.lease_duration)
            }
        };
        if !free {
            return Ok(Attempt::Held { holder });
        }

        let stamp = MicroTime(Timestamp::now());
        let mut next = current;
        let spec = next.spec.get_or_insert_with(LeaseSpec::default);
        if holder.as_deref() != Some(cfg.identity.as_str()) {
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
            spec.acquire_time = Some(stamp.clone());
        } else if spec.acquire_time.is_none() {
            spec.acquire_time = Some(stamp.clone());
        }
        spec.holder_identity = Some(cfg.identity.clone());
        spec.lease_duration_seconds = Some(cfg.lease_duration_seconds());
        spec.renew_time = Some(stamp);
        let sent = Instant::now();
        match self
            .api
            .replace(&cfg.name, &PostParams::default(), &next)
            .await
        {
            Ok(lease) => Ok(Attempt::Acquired {
                lease: Box::new(lease),
                deadline: sent + cfg.renew_deadline(),
            }),
            // Another replica wrote first; read again on the next attempt.
            Err(err) if is_conflict(&err) => Ok(Attempt::Held { holder }),
            Err(source) => Err(LeaderError::Update {
                lease: cfg.lease_ref(),
                source,
            }),
        }
    }
}

/// The result of one renewal.
enum Renewal {
    /// Confirmed; the stored object.
    Renewed(Box<Lease>),
    /// Another replica holds the Lease now (`None`: released or deleted).
    Taken(Option<String>),
    /// The write failed; retry until the deadline.
    Failed(LeaderError),
}

/// Writes a fresh `renewTime`, re-reading on conflict while the Lease still names us.
async fn renew_once(api: &Api<Lease>, cfg: &LeaseConfig, lease: &Lease) -> Renewal {
    let mut current = lease.clone();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let spec = current.spec.get_or_insert_with(LeaseSpec::default);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        spec.lease_duration_seconds = Some(cfg.lease_duration_seconds());
        let err = match api
            .replace(&cfg.name, &PostParams::default(), &current)
            .await
        {
            Ok(stored) => return Renewal::Renewed(Box::new(stored)),
            Err(err) if is_conflict(&err) && attempts <= CONFLICT_RETRIES => err,
            Err(source) => {
                return Renewal::Failed(LeaderError::Update {
                    lease: cfg.lease_ref(),
                    source,
                });
            }
        };
        tracing::debug!(
            lease = %cfg.lease_ref(),
            error = &err as &dyn std::error::Error,
            "lease renewal conflicted; re-reading"
        );
        match api.get_opt(&cfg.name).await {
            Ok(Some(fresh)) if holder_of(&fresh) == Some(cfg.identity.as_str()) => current = fresh,
            Ok(Some(fresh)) => return Renewal::Taken(holder_of(&fresh).map(str::to_string)),
            Ok(None) => return Renewal::Taken(None),
            Err(source) => {
                return Renewal::Failed(LeaderError::Read {
                    lease: cfg.lease_ref(),
                    source,
                });
            }
        }
    }
}

/// Renews until a renewal is not confirmed by the deadline or another holder appears, then
/// publishes `None` and ends.
async fn renew_loop(
    api: Api<Lease>,
    cfg: Arc<LeaseConfig>,
    mut lease: Lease,
    mut deadline: Instant,
    state: watch::Sender<Option<Instant>>,
) {
    let mut next = deadline - cfg.renew_deadline() + cfg.renew_every;
    loop {
        sleep_until(next.min(deadline)).await;
        if Instant::now() >= deadline {
            tracing::warn!(
                lease = %cfg.lease_ref(),
                identity = %cfg.identity,
                "lost leadership: renewal not confirmed before the deadline"
            );
            break;
        }
        let sent = Instant::now();
        match timeout_at(deadline, renew_once(&api, &cfg, &lease)).await {
            Ok(Renewal::Renewed(stored)) => {
                lease = *stored;
                deadline = sent + cfg.renew_deadline();
                next = sent + cfg.renew_every;
                state.send_replace(Some(deadline));
            }
            Ok(Renewal::Taken(holder)) => {
                tracing::warn!(
                    lease = %cfg.lease_ref(),
                    identity = %cfg.identity,
                    holder = holder.as_deref().unwrap_or(""),
                    "lost leadership: the lease has another holder"
                );
                break;
            }
            Ok(Renewal::Failed(err)) => {
                tracing::warn!(
                    lease = %cfg.lease_ref(),
                    error = &err as &dyn std::error::Error,
                    "lease renewal failed; retrying"
                );
                next = Instant::now() + cfg.retry_every;
            }
            Err(_elapsed) => {
                tracing::warn!(
                    lease = %cfg.lease_ref(),
                    identity = %cfg.identity,
                    "lost leadership: renewal not confirmed before the deadline"
                );
                break;
            }
        }
    }
    state.send_replace(None);
}

/// Holding the Lease. Renewal runs in a background task until [`Leadership::release`] or drop;
/// dropping without release stops renewing and leaves the Lease to expire.
pub struct Leadership {
    api: Api<Lease>,
    cfg: Arc<LeaseConfig>,
    /// `Some(deadline)` while leading: we believe we lead until then.
    state: watch::Receiver<Option<Instant>>,
    renewal: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("lease", &self.cfg.lease_ref())
            .field("identity", &self.cfg.identity)
            .field("is_leader", &self.is_leader())
            .finish_non_exhaustive()
    }
}

impl Leadership {
    fn start(api: Api<Lease>, cfg: Arc<LeaseConfig>, lease: Lease, deadline: Instant) -> Self {
        let (tx, rx) = watch::channel(Some(deadline));
        let renewal = tokio::spawn(renew_loop(
            api.clone(),
            Arc::clone(&cfg),
            lease,
            deadline,
            tx,
        ));
        Self {
            api,
            cfg,
            state: rx,
            renewal: Some(renewal),
        }
    }

    /// This replica's identity.
    pub fn identity(&self) -> &str {
        &self.cfg.identity
    }

    /// Resolves when leadership is lost: a renewal was not confirmed before the renew
    /// deadline, or another holder took the Lease. Resolves at once if already lost.
    pub async fn lost(&self) {
        let mut state = self.state.clone();
        loop {
            let Some(deadline) = *state.borrow_and_update() else {
                return;
            };
            if Instant::now() >= deadline {
                return;
            }
            tokio::select! {
                changed = state.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = sleep_until(deadline) => {}
            }
        }
    }

    /// Whether this replica still leads: a renewal was confirmed within the renew deadline.
    pub fn is_leader(&self) -> bool {
        self.state
            .borrow()
            .is_some_and(|deadline| Instant::now() < deadline)
    }

    /// Stops renewing and, if the Lease still names this replica, clears `holderIdentity`
    /// so a follower takes over on its next poll instead of waiting for expiry.
    ///
    /// # Errors
    /// [`LeaderError::Read`]/[`LeaderError::Release`] when the API refuses, or
    /// [`LeaderError::Timeout`] after a lease duration; the Lease then expires on its own.
    pub async fn release(mut self) -> Result<(), LeaderError> {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
            // Wait until the task is gone so no renewal races the release.
            let _ = renewal.await;
        }
        let cfg = Arc::clone(&self.cfg);
        let result = timeout(cfg.lease_duration, clear_holder(&self.api, &cfg)).await;
        match result {
            Ok(Ok(())) => {
                tracing::info!(
                    lease = %cfg.lease_ref(),
                    identity = %cfg.identity,
                    "released leadership"
                );
                Ok(())
            }
            Ok(Err(err)) => Err(err),
            Err(_elapsed) => Err(LeaderError::Timeout {
                lease: cfg.lease_ref(),
                operation: "release",
                timeout: cfg.lease_duration,
            }),
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
    }
}

/// Clears `holderIdentity` if the Lease still names us; retries conflicts.
async fn clear_holder(api: &Api<Lease>, cfg: &LeaseConfig) -> Result<(), LeaderError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let current = api
            .get_opt(&cfg.name)
            .await
            .map_err(|source| LeaderError::Read {
                lease: cfg.lease_ref(),
                source,
            })?;
        let Some(mut current) = current else {
            return Ok(());
        };
        if holder_of(&current) != Some(cfg.identity.as_str()) {
            return Ok(());
        }
        let spec = current.spec.get_or_insert_with(LeaseSpec::default);
        spec.holder_identity = None;
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        match api
            .replace(&cfg.name, &PostParams::default(), &current)
            .await
        {
            Ok(_) => return Ok(()),
            Err(err) if is_conflict(&err) && attempts <= CONFLICT_RETRIES => {}
            Err(source) => {
                return Err(LeaderError::Release {
                    lease: cfg.lease_ref(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LeaseConfig {
        LeaseConfig::new("kube-system", "kks-lb", "pod-a")
    }

    #[test]
    fn default_timing_passes_the_checks() {
        assert!(cfg().check().is_ok());
        assert_eq!(cfg().renew_deadline(), Duration::from_secs(10));
    }

    #[test]
    fn renewing_no_faster_than_the_deadline_is_rejected() {
        let mut c = cfg();
        c.renew_every = Duration::from_secs(10);
        let err = c.check().err();
        assert!(
            matches!(err, Some(LeaderError::InvalidConfig { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn empty_identity_is_rejected() {
        let mut c = cfg();
        c.identity.clear();
        assert!(matches!(
            c.check(),
            Err(LeaderError::InvalidConfig { rule, .. }) if rule.contains("identity")
        ));
    }

    #[test]
    fn lease_duration_seconds_round_up_to_at_least_one() {
        let mut c = cfg();
        c.lease_duration = Duration::from_millis(1500);
        assert_eq!(c.lease_duration_seconds(), 2);
        c.lease_duration = Duration::from_millis(300);
        assert_eq!(c.lease_duration_seconds(), 1);
        c.lease_duration = Duration::from_secs(15);
        assert_eq!(c.lease_duration_seconds(), 15);
    }

    #[test]
    fn forbidden_is_not_retryable_but_server_errors_are() {
        let api_err = |code| {
            kube::Error::Api(
                kube::core::Status::failure("boom", "Reason")
                    .with_code(code)
                    .boxed(),
            )
        };
        let forbidden = LeaderError::Read {
            lease: "a/b".into(),
            source: api_err(403),
        };
        let unavailable = LeaderError::Update {
            lease: "a/b".into(),
            source: api_err(503),
        };
        assert!(!forbidden.is_retryable());
        assert!(unavailable.is_retryable());
        assert_eq!(forbidden.reason(), "LeaseRead");
    }
}
