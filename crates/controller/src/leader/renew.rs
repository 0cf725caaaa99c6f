//! The leader side: renewing the Lease until a renewal misses the deadline, and clearing
//! the holder on release.

use std::sync::Arc;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::{CONFLICT_RETRIES, LeaderError, LeaseConfig, holder_of, is_conflict};

/// The result of one renewal.
pub(super) enum Renewal {
    /// Confirmed; the stored object.
    Renewed(Box<Lease>),
    /// Another replica holds the Lease now (`None`: released or deleted).
    Taken(Option<String>),
    /// The write failed; retry until the deadline.
    Failed(LeaderError),
}

/// Writes a fresh `renewTime`, re-reading on conflict while the Lease still names us.
pub(super) async fn renew_once(api: &Api<Lease>, cfg: &LeaseConfig, lease: &Lease) -> Renewal {
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
pub(super) async fn renew_loop(
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

/// Clears `holderIdentity` if the Lease still names us; retries conflicts.
pub(super) async fn clear_holder(api: &Api<Lease>, cfg: &LeaseConfig) -> Result<(), LeaderError> {
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
