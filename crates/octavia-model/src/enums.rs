//! The closed vocabularies of the Octavia v2 API, spelled exactly as Octavia spells them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value outside an Octavia vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {what}; expected one of {expected}")]
pub struct UnknownValue {
    /// The vocabulary, e.g. `protocol`.
    pub what: &'static str,
    /// The rejected text.
    pub value: String,
    /// The accepted spellings, comma separated.
    pub expected: &'static str,
}

macro_rules! octavia_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Octavia's spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: $what,
                        value: s.to_owned(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }
    };
}

octavia_enum! {
    /// Listener and pool protocol (`protocol`). `PROXY`/`PROXYV2` are pool-only.
    Protocol, "protocol" {
        /// Plain TCP.
        Tcp => "TCP",
        /// UDP.
        Udp => "UDP",
        /// SCTP (Octavia >= 2.23).
        Sctp => "SCTP",
        /// HTTP (layer 7).
        Http => "HTTP",
        /// HTTPS passthrough.
        Https => "HTTPS",
        /// TLS terminated at the listener.
        TerminatedHttps => "TERMINATED_HTTPS",
        /// PROXY protocol v1 towards members (pool only).
        Proxy => "PROXY",
        /// PROXY protocol v2 towards members (pool only).
        ProxyV2 => "PROXYV2",
        /// Prometheus exporter listener.
        Prometheus => "PROMETHEUS",
    }
}

octavia_enum! {
    /// Pool `lb_algorithm`.
    LbAlgorithm, "lb_algorithm" {
        /// Round robin.
        RoundRobin => "ROUND_ROBIN",
        /// Fewest open connections.
        LeastConnections => "LEAST_CONNECTIONS",
        /// Hash of the source IP.
        SourceIp => "SOURCE_IP",
        /// Hash of source IP and port.
        SourceIpPort => "SOURCE_IP_PORT",
    }
}

octavia_enum! {
    /// Health monitor `type`.
    MonitorType, "health monitor type" {
        /// HTTP request.
        Http => "HTTP",
        /// HTTPS request.
        Https => "HTTPS",
        /// ICMP echo.
        Ping => "PING",
        /// TCP connect.
        Tcp => "TCP",
        /// TLS hello.
        TlsHello => "TLS-HELLO",
        /// UDP connect.
        UdpConnect => "UDP-CONNECT",
        /// SCTP INIT.
        Sctp => "SCTP",
    }
}

octavia_enum! {
    /// `provisioning_status` of every Octavia object.
    ProvisioningStatus, "provisioning_status" {
        /// Ready for the next mutation.
        Active => "ACTIVE",
        /// Gone (seen briefly on deletes).
        Deleted => "DELETED",
        /// Failed; needs a fix or a delete.
        Error => "ERROR",
        /// Being created; the LB is locked.
        PendingCreate => "PENDING_CREATE",
        /// Being updated; the LB is locked.
        PendingUpdate => "PENDING_UPDATE",
        /// Being deleted; the LB is locked.
        PendingDelete => "PENDING_DELETE",
    }
}

impl ProvisioningStatus {
    /// Whether Octavia refuses mutations (409) in this state.
    pub const fn is_pending(self) -> bool {
        matches!(
            self,
            ProvisioningStatus::PendingCreate
                | ProvisioningStatus::PendingUpdate
                | ProvisioningStatus::PendingDelete
        )
    }
}

octavia_enum! {
    /// `operating_status` of every Octavia object.
    OperatingStatus, "operating_status" {
        /// Serving.
        Online => "ONLINE",
        /// Draining connections.
        Draining => "DRAINING",
        /// Not serving.
        Offline => "OFFLINE",
        /// Some members down.
        Degraded => "DEGRADED",
        /// Failed.
        Error => "ERROR",
        /// Member without a monitor.
        NoMonitor => "NO_MONITOR",
    }
}

octavia_enum! {
    /// Pool `session_persistence.type`.
    SessionPersistenceType, "session_persistence type" {
        /// Sticky by client source IP.
        SourceIp => "SOURCE_IP",
        /// Sticky by an inserted cookie.
        HttpCookie => "HTTP_COOKIE",
        /// Sticky by an application cookie.
        AppCookie => "APP_COOKIE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_round_trips_through_text_and_json() {
        for p in Protocol::ALL {
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(*p));
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(json, format!("\"{p}\""));
            assert_eq!(serde_json::from_str::<Protocol>(&json).unwrap(), *p);
        }
        for a in LbAlgorithm::ALL {
            assert_eq!(a.to_string().parse::<LbAlgorithm>(), Ok(*a));
        }
        for m in MonitorType::ALL {
            assert_eq!(m.to_string().parse::<MonitorType>(), Ok(*m));
        }
        for s in ProvisioningStatus::ALL {
            assert_eq!(s.to_string().parse::<ProvisioningStatus>(), Ok(*s));
        }
        for s in OperatingStatus::ALL {
            assert_eq!(s.to_string().parse::<OperatingStatus>(), Ok(*s));
        }
        for s in SessionPersistenceType::ALL {
            assert_eq!(s.to_string().parse::<SessionPersistenceType>(), Ok(*s));
        }
    }

    #[test]
    fn unknown_spelling_names_the_vocabulary_and_the_choices() {
        let err = "RANDOM".parse::<LbAlgorithm>().unwrap_err();
        assert_eq!(err.what, "lb_algorithm");
        assert!(err.to_string().contains("ROUND_ROBIN"));
        assert!(
            "tcp".parse::<Protocol>().is_err(),
            "Octavia spellings are upper case"
        );
    }

    #[test]
    fn only_pending_states_lock_the_load_balancer() {
        let pending: Vec<_> = ProvisioningStatus::ALL
            .iter()
            .filter(|s| s.is_pending())
            .collect();
        assert_eq!(pending.len(), 3);
        assert!(!ProvisioningStatus::Active.is_pending());
        assert!(!ProvisioningStatus::Error.is_pending());
    }
}
