//! Where the Lease lives, who we are, and the election's timing: the lease arithmetic and
//! its checks.

use std::time::Duration;

use super::LeaderError;

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
    pub(super) fn lease_ref(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The lease duration in whole seconds, rounded up, at least 1.
    pub(super) fn lease_duration_seconds(&self) -> i32 {
        let mut secs = self.lease_duration.as_secs();
        if self.lease_duration.subsec_nanos() > 0 {
            secs += 1;
        }
        i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
    }

    /// Checks the timing rules; the message names the rule broken.
    pub(super) fn check(&self) -> Result<(), LeaderError> {
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
}
