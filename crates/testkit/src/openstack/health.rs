//! What the emulated health monitors report for member addresses: the test's stand-in for
//! the amphorae's health checks and Octavia's health manager.
//!
//! A member in a pool with a monitor is `ONLINE` unless its address was set otherwise with
//! [`super::OpenStackEmulator::set_member_health`] or `PUT /_emulator/member-health`. Pools,
//! listeners and load balancers roll up as Octavia does: `DEGRADED` when some monitored
//! members are down (`OFFLINE` or `ERROR`), `ERROR` when all are, `ONLINE` when none is.
//! Members of pools without a monitor stay `NO_MONITOR` and count as up.

use kks_lb_octavia_model::OperatingStatus;

/// What a health monitor can report for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberHealth {
    /// Health checks pass.
    Online,
    /// Health checks fail (as Octavia reports a member that never answered).
    Offline,
    /// Health checks fail (as Octavia's health manager reports a member it saw go down).
    Error,
    /// The member is draining connections.
    Draining,
}

impl MemberHealth {
    /// Every value, in the order of the docs.
    pub const ALL: [MemberHealth; 4] = [
        MemberHealth::Online,
        MemberHealth::Offline,
        MemberHealth::Error,
        MemberHealth::Draining,
    ];

    /// The member's `operating_status`.
    pub const fn operating_status(self) -> OperatingStatus {
        match self {
            MemberHealth::Online => OperatingStatus::Online,
            MemberHealth::Offline => OperatingStatus::Offline,
            MemberHealth::Error => OperatingStatus::Error,
            MemberHealth::Draining => OperatingStatus::Draining,
        }
    }

    /// Parses Octavia's spelling (`ONLINE`, `OFFLINE`, `ERROR`, `DRAINING`).
    ///
    /// # Errors
    /// A message naming the value and the accepted ones.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|h| h.operating_status().to_string() == s)
            .ok_or_else(|| {
                format!(
                    "operating status {s:?} cannot be reported by a health monitor: use one of \
                     ONLINE, OFFLINE, ERROR, DRAINING (null: up again)"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octavia_spellings_parse_and_the_rest_is_refused_by_name() {
        for h in MemberHealth::ALL {
            assert_eq!(
                MemberHealth::parse(&h.operating_status().to_string()),
                Ok(h)
            );
        }
        let err = MemberHealth::parse("NO_MONITOR").unwrap_err();
        assert!(
            err.contains("\"NO_MONITOR\"") && err.contains("DRAINING"),
            "{err}"
        );
        assert!(MemberHealth::parse("online").is_err());
    }
}
