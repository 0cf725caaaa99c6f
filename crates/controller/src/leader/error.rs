//! A failed leader-election operation, with its reason and whether it is retryable.

use std::time::Duration;

/// A failed leader-election operation.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The [`LeaseConfig`](super::LeaseConfig) breaks a timing rule.
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

#[cfg(test)]
mod tests {
    use super::*;
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
