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
//!
//! Where things live:
//!
//! - [`LeaseConfig`] (in `config`): where the Lease lives, who we are, and the lease
//!   arithmetic (renew deadline, whole seconds, the timing checks);
//! - [`LeaderError`] (in `error`): the failed operations and how they classify themselves;
//! - [`LeaderElector`] (in `elector`): the follower side, polling and taking the Lease;
//! - `renew`: the leader's renew loop, and clearing the holder on release;
//! - [`Leadership`] (in `leadership`): the public handle of a held Lease (`lost`,
//!   `is_leader`, `release`).

use k8s_openapi::api::coordination::v1::Lease;

mod config;
mod elector;
mod error;
mod leadership;
mod renew;

pub use config::LeaseConfig;
pub use elector::LeaderElector;
pub use error::LeaderError;
pub use leadership::Leadership;

/// How many times a write that hits `409 Conflict` is re-read and retried while we still hold
/// the Lease.
const CONFLICT_RETRIES: usize = 3;

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
