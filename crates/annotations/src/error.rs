//! What [`crate::parse`] reports: [`AnnotationError`]s make a Service invalid, [`Warning`]s do not.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One broken rule of a Service: the key (a full annotation key such as
/// `loadbalancer.openstack.org/health-monitor-timeout`, or a spec field path such as
/// `spec.ports[0].protocol`), the value as written, and the rule it broke.
///
/// Displays as `key=value: rule`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error, Serialize, Deserialize)]
#[error("{key}={value}: {rule}")]
pub struct AnnotationError {
    /// Full annotation key or spec field path.
    pub key: String,
    /// The value as written (empty when the field is missing).
    pub value: String,
    /// The rule, e.g. "must be less than health-monitor-delay (10)".
    pub rule: String,
}

impl AnnotationError {
    /// An error on `key` with `value` breaking `rule`.
    pub fn new(key: impl Into<String>, value: impl Into<String>, rule: impl Into<String>) -> Self {
        AnnotationError {
            key: key.into(),
            value: value.into(),
            rule: rule.into(),
        }
    }

    /// Like its `Display` (`key=value: rule`) with a long value shortened by [`shorten`], so
    /// that the key and the rule always fit an Event or a condition message.
    pub fn summary(&self) -> String {
        format!("{}={}: {}", self.key, shorten(&self.value), self.rule)
    }

    /// The Event reason for an invalid Service: `InvalidAnnotation`.
    pub fn reason(&self) -> &'static str {
        "InvalidAnnotation"
    }
}

/// Values longer than this many bytes are shortened in messages by [`shorten`].
pub const MAX_SHOWN_VALUE: usize = 128;

/// A value as messages show it: as is up to [`MAX_SHOWN_VALUE`] bytes, else its start, an
/// ellipsis and its length (`abc… (307200 bytes)`).
pub fn shorten(value: &str) -> std::borrow::Cow<'_, str> {
    if value.len() <= MAX_SHOWN_VALUE {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut end = MAX_SHOWN_VALUE / 2;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}… ({} bytes)", &value[..end], value.len()))
}

/// Why a [`Warning`] was raised; [`WarningReason::as_str`] is the Event reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WarningReason {
    /// A key under `loadbalancer.openstack.org/` (or an `openstack-` key under
    /// `service.beta.kubernetes.io/`) that kks-lb does not know; the message names the closest
    /// known key.
    UnknownAnnotation,
    /// A platform-managed key (OpenStack resource IDs): the value is ignored.
    PlatformManagedAnnotation,
    /// An OCCM feature kks-lb does not support (TLS termination): the key is ignored.
    FeatureUnsupported,
    /// A key that is valid but has no effect here (the legacy source-ranges annotation when
    /// `spec.loadBalancerSourceRanges` is set).
    AnnotationIgnored,
    /// `enable-health-monitor: "false"` with `externalTrafficPolicy: Local`: traffic sent to
    /// nodes without endpoints is dropped.
    HealthMonitorDisabled,
    /// A port without `nodePort` (`allocateLoadBalancerNodePorts: false`): its pool gets no
    /// members.
    NoNodePorts,
}

impl WarningReason {
    /// The PascalCase Event reason.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningReason::UnknownAnnotation => "UnknownAnnotation",
            WarningReason::PlatformManagedAnnotation => "PlatformManagedAnnotation",
            WarningReason::FeatureUnsupported => "FeatureUnsupported",
            WarningReason::AnnotationIgnored => "AnnotationIgnored",
            WarningReason::HealthMonitorDisabled => "HealthMonitorDisabled",
            WarningReason::NoNodePorts => "NoNodePorts",
        }
    }

    /// What the reason means, for documentation.
    pub fn description(self) -> &'static str {
        match self {
            WarningReason::UnknownAnnotation => {
                "a key under `loadbalancer.openstack.org/` (or an `openstack-` key under \
                 `service.beta.kubernetes.io/`) that kks-lb does not know; the message names the \
                 closest known key"
            }
            WarningReason::PlatformManagedAnnotation => {
                "a platform-managed key: the value is ignored and the configured one is used"
            }
            WarningReason::FeatureUnsupported => "an OCCM feature kks-lb does not support",
            WarningReason::AnnotationIgnored => {
                "the legacy source-ranges annotation while `spec.loadBalancerSourceRanges` is set"
            }
            WarningReason::HealthMonitorDisabled => {
                "`enable-health-monitor: \"false\"` with `externalTrafficPolicy: Local`: traffic \
                 sent to nodes without endpoints is dropped"
            }
            WarningReason::NoNodePorts => {
                "`allocateLoadBalancerNodePorts: false` and a port without `nodePort`: its pool \
                 gets no members"
            }
        }
    }

    /// Every reason, for documentation.
    pub const ALL: [WarningReason; 6] = [
        WarningReason::UnknownAnnotation,
        WarningReason::PlatformManagedAnnotation,
        WarningReason::FeatureUnsupported,
        WarningReason::AnnotationIgnored,
        WarningReason::HealthMonitorDisabled,
        WarningReason::NoNodePorts,
    ];
}

impl fmt::Display for WarningReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something the user should hear about a Service that does not make it invalid. Serializes
/// as `{"key": .., "reason": "UnknownAnnotation", "message": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Warning {
    /// Full annotation key or spec field path.
    pub key: String,
    /// The Event reason.
    pub reason: WarningReason,
    /// What happened and what to do, for the user.
    pub message: String,
}

impl Warning {
    /// A warning about `key`.
    pub fn new(key: impl Into<String>, reason: WarningReason, message: impl Into<String>) -> Self {
        Warning {
            key: key.into(),
            reason,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.key, self.reason, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_reason_serializes_as_its_event_reason() {
        for r in WarningReason::ALL {
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.as_str())
            );
        }
    }

    #[test]
    fn error_displays_key_value_and_rule() {
        let e = AnnotationError::new("k", "v", "must be x");
        assert_eq!(e.to_string(), "k=v: must be x");
    }
}

#[cfg(test)]
mod shorten_tests {
    use super::*;

    #[test]
    fn a_long_value_is_shortened_never_the_key_or_the_rule() {
        let value = "é".repeat(150_000);
        let e = AnnotationError::new(
            "loadbalancer.openstack.org/hostname",
            &value,
            "must be a DNS name",
        );
        let s = e.summary();
        assert!(
            s.starts_with("loadbalancer.openstack.org/hostname=é"),
            "{s}"
        );
        assert!(s.ends_with("… (300000 bytes): must be a DNS name"), "{s}");
        assert!(s.len() < 200, "{}", s.len());
        let short = AnnotationError::new("k", "v", "r");
        assert_eq!(short.summary(), short.to_string());
    }
}
