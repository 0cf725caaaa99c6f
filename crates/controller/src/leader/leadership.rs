//! The handle of a held Lease: watch for its loss, ask whether we still lead, release it.

use std::sync::Arc;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};

use super::renew::{clear_holder, renew_loop};
use super::{LeaderError, LeaseConfig};

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
    pub(super) fn start(
        api: Api<Lease>,
        cfg: Arc<LeaseConfig>,
        lease: Lease,
        deadline: Instant,
    ) -> Self {
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
