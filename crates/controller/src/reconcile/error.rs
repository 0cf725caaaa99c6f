//! The reconcile's errors and their retry policy.

use std::time::Duration;

use kks_lb_adapter::Backoff;
use kube::runtime::finalizer::Error as FinalizerError;

/// A failed reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine failed (the cloud, or a load balancer in ERROR); its outcome already told
    /// the user.
    #[error(transparent)]
    Engine(#[from] crate::engine::Error),
    /// A write to the Service failed.
    #[error("cannot patch the {what} of the Service: {source}")]
    Patch {
        /// `status`, `annotations` or `metadata`.
        what: &'static str,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// Adding the finalizer failed.
    #[error("cannot add the finalizer: {0}")]
    AddFinalizer(#[source] kube::Error),
    /// Removing the finalizer failed.
    #[error("cannot remove the finalizer: {0}")]
    RemoveFinalizer(#[source] kube::Error),
    /// The Service has no name (never from the API server).
    #[error("the Service has no name")]
    Unnamed,
    /// The node cache stopped (the controller is shutting down).
    #[error("the node cache is not available")]
    NodesUnavailable,
}

impl From<crate::apply::Error> for Error {
    fn from(e: crate::apply::Error) -> Self {
        match e {
            crate::apply::Error::Patch { what, source } => Error::Patch { what, source },
            crate::apply::Error::Unnamed => Error::Unnamed,
        }
    }
}

/// The reconcile's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn kube_retryable(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 409 || s.code == 429 || s.code >= 500,
        _ => true,
    }
}

impl Error {
    /// A static PascalCase name for metrics and logs: the OpenStack error class for cloud
    /// failures (`Conflict`, `ServerError`, `WaitTimeout`, ...), else the failed operation.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Engine(e) => e.reason(),
            Error::Patch { .. } => "PatchFailed",
            Error::AddFinalizer(_) => "AddFinalizerFailed",
            Error::RemoveFinalizer(_) => "RemoveFinalizerFailed",
            Error::Unnamed => "Unnamed",
            Error::NodesUnavailable => "NodesUnavailable",
        }
    }

    /// Whether retrying soon may succeed (cloud 5xx/409/429/timeouts, API conflicts).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Engine(e) => e.is_retryable(),
            Error::Patch { source, .. } => kube_retryable(source),
            // The helper's JSON patch tests the finalizer list it read; 422 means the cached
            // Service was stale, like a conflict.
            Error::AddFinalizer(source) | Error::RemoveFinalizer(source) => {
                kube_retryable(source) || matches!(source, kube::Error::Api(s) if s.code == 422)
            }
            Error::NodesUnavailable => true,
            Error::Unnamed => false,
        }
    }

    /// The OpenStack error, for failed calls.
    pub fn cloud(&self) -> Option<&kks_lb_adapter::Error> {
        match self {
            Error::Engine(e) => e.cloud(),
            Error::Patch { .. }
            | Error::AddFinalizer(_)
            | Error::RemoveFinalizer(_)
            | Error::Unnamed
            | Error::NodesUnavailable => None,
        }
    }

    /// Whether the user heard about it as a `LoadBalancerError` Event: the cloud failed or
    /// the load balancer is broken (not our own API writes).
    pub fn is_load_balancer_error(&self) -> bool {
        matches!(self, Error::Engine(e) if e.is_load_balancer_error())
    }

    pub(super) fn from_finalizer(e: FinalizerError<Error>) -> Self {
        match e {
            FinalizerError::ApplyFailed(e) | FinalizerError::CleanupFailed(e) => e,
            FinalizerError::AddFinalizer(e) => Error::AddFinalizer(e),
            FinalizerError::RemoveFinalizer(e) => Error::RemoveFinalizer(e),
            FinalizerError::UnnamedObject | FinalizerError::InvalidFinalizer => Error::Unnamed,
        }
    }
}

/// The requeue after a failed reconcile: capped exponential backoff by consecutive failures
/// for retryable errors, a fixed slow retry for permanent ones (a person has to act).
pub fn retry_delay(
    retryable: bool,
    failures: u32,
    backoff: &Backoff,
    permanent: Duration,
) -> Duration {
    if retryable {
        backoff.delay(failures.saturating_sub(1))
    } else {
        permanent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::jittered;

    fn api_error(status: u16) -> kks_lb_adapter::Error {
        kks_lb_adapter::Error::Api {
            service: kks_lb_adapter::Service::Octavia,
            method: "POST".into(),
            path: "/v2/lbaas/loadbalancers".into(),
            status,
            message: "boom".into(),
            request_id: Some("req-9".into()),
        }
    }

    #[test]
    fn cloud_errors_classify_by_their_openstack_status() {
        let busy = Error::Engine(crate::engine::Error::Execute {
            action: "update",
            lb: "lb".into(),
            source: api_error(409),
        });
        assert!(busy.is_retryable());
        assert_eq!(busy.reason(), "Conflict");
        let quota = Error::Engine(crate::engine::Error::Execute {
            action: "create",
            lb: "lb".into(),
            source: api_error(403),
        });
        assert!(!quota.is_retryable());
        assert_eq!(quota.cloud().and_then(|e| e.request_id()), Some("req-9"));
        assert!(Error::NodesUnavailable.is_retryable());
        assert!(Error::NodesUnavailable.cloud().is_none());
    }

    #[test]
    fn retryable_failures_back_off_exponentially_and_permanent_ones_wait_long() {
        let b = Backoff {
            start: Duration::from_secs(1),
            factor: 2.0,
            cap: Duration::from_secs(60),
            jitter: 0.0,
        };
        let slow = Duration::from_secs(300);
        assert_eq!(retry_delay(true, 1, &b, slow), Duration::from_secs(1));
        assert_eq!(retry_delay(true, 3, &b, slow), Duration::from_secs(4));
        assert_eq!(retry_delay(true, 30, &b, slow), Duration::from_secs(60));
        assert_eq!(retry_delay(false, 1, &b, slow), slow);
    }

    #[test]
    fn resync_jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(600));
            assert!(
                d >= Duration::from_secs(540) && d <= Duration::from_secs(660),
                "{d:?}"
            );
        }
    }
}
