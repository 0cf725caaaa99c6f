//! The follower side: polling the Lease and taking it when missing, released, ours or
//! expired on our own clock.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

use super::{LeaderError, Leadership, LeaseConfig, holder_of, is_conflict};

/// The result of one attempt to take the Lease.
pub(super) enum Attempt {
    /// We hold it: the stored object, and the instant after which we no longer believe we lead.
    Acquired {
        lease: Box<Lease>,
        deadline: Instant,
    },
    /// Someone else holds it (or won the race); try again later.
    Held { holder: Option<String> },
}

/// A Lease record as first seen by a follower, on the follower's clock.
pub(super) struct Observed {
    spec: LeaseSpec,
    at: Instant,
}

/// Competes for the Lease; see the [module docs](super) for the protocol.
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
