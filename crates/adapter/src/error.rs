//! [`Error`]: what can go wrong talking to OpenStack, classified for retries and Events.

use std::time::Duration;

/// Which OpenStack service a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Octavia (`load-balancer`).
    Octavia,
    /// Neutron (`network`).
    Neutron,
}

impl Service {
    /// The catalog type.
    pub const fn as_str(self) -> &'static str {
        match self {
            Service::Octavia => "load-balancer",
            Service::Neutron => "network",
        }
    }
}

/// An error of the adapter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// OpenStack answered with an error status.
    #[error("{method} {path} on {service}: {status} {message} (request id {request_id})", service = service.as_str(), request_id = request_id.as_deref().unwrap_or("none"))]
    Api {
        /// Service.
        service: Service,
        /// HTTP method.
        method: String,
        /// Path below the service endpoint.
        path: String,
        /// HTTP status.
        status: u16,
        /// OpenStack's message (`faultstring`, `NeutronError.message`) or the body.
        message: String,
        /// `X-Openstack-Request-Id`.
        request_id: Option<String>,
    },
    /// The request did not complete (connection refused or reset, bad response).
    #[error("{method} {path} on {service}: {message}", service = service.as_str())]
    Transport {
        /// Service.
        service: Service,
        /// HTTP method.
        method: String,
        /// Path.
        path: String,
        /// What happened.
        message: String,
    },
    /// The call took longer than the per-call timeout.
    #[error("{method} {path} on {service}: no answer within {timeout:?}", service = service.as_str())]
    Timeout {
        /// Service.
        service: Service,
        /// HTTP method.
        method: String,
        /// Path.
        path: String,
        /// The per-call timeout.
        timeout: Duration,
    },
    /// A response body was not what the API promises.
    #[error("{what}: unexpected response: {message}")]
    Decode {
        /// What was read.
        what: String,
        /// Why it does not fit.
        message: String,
    },
    /// Authentication or session setup failed.
    #[error("cannot authenticate to OpenStack: {0}")]
    Auth(String),
    /// The adapter's configuration is unusable.
    #[error("invalid OpenStack configuration: {0}")]
    Config(String),
    /// The load balancer did not become ACTIVE within the wait limit.
    #[error("load balancer {lb_id} still {status} after {waited:?}")]
    WaitTimeout {
        /// Load balancer id.
        lb_id: String,
        /// Last status seen.
        status: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The load balancer went to ERROR.
    #[error("load balancer {lb_id} went to provisioning status ERROR after step {step} ({op})")]
    LoadBalancerFailed {
        /// Load balancer id.
        lb_id: String,
        /// 1-based step number.
        step: usize,
        /// Step op.
        op: &'static str,
    },
    /// A plan step failed; carries the step and the cause.
    #[error("step {step} ({op}) failed: {source}")]
    Step {
        /// 1-based step number.
        step: usize,
        /// Step op.
        op: &'static str,
        /// The cause.
        #[source]
        source: Box<Error>,
    },
    /// A step refers to an object whose id is not known.
    #[error("step {step} ({op}) refers to {key}, whose id is unknown")]
    UnresolvedReference {
        /// 1-based step number.
        step: usize,
        /// Step op.
        op: &'static str,
        /// Symbolic key.
        key: String,
    },
    /// The requested floating IP does not exist in the project.
    #[error(
        "floating IP {address} does not exist in the project (loadBalancerIP must name an allocated floating IP)"
    )]
    FloatingIpNotFound {
        /// The address.
        address: String,
    },
    /// The requested floating IP is bound to another port.
    #[error(
        "floating IP {address} is bound to port {port_id}, not to this load balancer: refusing to take it"
    )]
    FloatingIpInUse {
        /// The address.
        address: String,
        /// The port it is bound to.
        port_id: String,
    },
    /// The requested floating IP is marked for another Service (or cluster), or another
    /// claim changed it between our read and our bind (Neutron's revision check).
    #[error("floating IP {address} cannot be taken: {why}")]
    FloatingIpReserved {
        /// The address.
        address: String,
        /// Why: whose it is, or that a concurrent claim won.
        why: String,
    },
    /// The executor was cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// The adapter's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Neutron's `IpAddressGenerationFailure` message, which Octavia passes on when it cannot
/// allocate a VIP port: `No more IP addresses available on network <network id>.`
const NO_MORE_ADDRESSES: &str = "No more IP addresses available on network ";

impl Error {
    /// Whether the subnet has no free address left: Neutron's 409
    /// `IpAddressGenerationFailure` on a port create, or Octavia's error wrapping it on a
    /// load balancer create (Octavia 19: 409 `The VIP IP address is already in use: No more
    /// IP addresses available on network <id>.`; providers that report it as a driver error:
    /// 500 `Provider '<name>' reports error: No more IP ...`). Octavia's fault body has no
    /// error type, so Neutron's message is what identifies it.
    pub fn is_subnet_exhausted(&self) -> bool {
        self.exhausted_network().is_some()
    }

    /// The network named by a subnet-exhausted error (see [`Error::is_subnet_exhausted`]).
    pub fn exhausted_network(&self) -> Option<&str> {
        match self {
            Error::Api {
                status: 409 | 500,
                message,
                ..
            } => {
                let (_, rest) = message.split_once(NO_MORE_ADDRESSES)?;
                let id = rest
                    .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('.');
                Some(id)
            }
            Error::Step { source, .. } => source.exhausted_network(),
            _ => None,
        }
    }

    /// Whether trying the same call again later may succeed: 5xx, 409 (the LB is busy), 429,
    /// timeouts, transport failures, a load balancer still pending.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status >= 500 || *status == 409 || *status == 429,
            Error::Transport { .. } | Error::Timeout { .. } | Error::WaitTimeout { .. } => true,
            Error::Step { source, .. } => source.is_retryable(),
            Error::Decode { .. }
            | Error::Auth(_)
            | Error::Config(_)
            | Error::LoadBalancerFailed { .. }
            | Error::UnresolvedReference { .. }
            | Error::FloatingIpNotFound { .. }
            | Error::FloatingIpInUse { .. }
            | Error::FloatingIpReserved { .. }
            | Error::Cancelled => false,
        }
    }

    /// Whether OpenStack answered 404.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status == 404,
            Error::Step { source, .. } => source.is_not_found(),
            _ => false,
        }
    }

    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Step { source, .. } => source.status(),
            _ => None,
        }
    }

    /// The OpenStack request id, for API errors.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } => request_id.as_deref(),
            Error::Step { source, .. } => source.request_id(),
            _ => None,
        }
    }

    /// A static PascalCase name for metrics and Event reasons.
    pub fn reason(&self) -> &'static str {
        if self.is_subnet_exhausted() {
            return "SubnetExhausted";
        }
        match self {
            Error::Api { status: 400, .. } => "BadRequest",
            Error::Api {
                status: 401 | 403, ..
            } => "Forbidden",
            Error::Api { status: 404, .. } => "NotFound",
            Error::Api { status: 409, .. } => "Conflict",
            Error::Api {
                status: 413 | 429, ..
            } => "RateLimited",
            Error::Api { status, .. } if *status >= 500 => "ServerError",
            Error::Api { .. } => "ApiError",
            Error::Transport { .. } => "Transport",
            Error::Timeout { .. } => "Timeout",
            Error::Decode { .. } => "UnexpectedResponse",
            Error::Auth(_) => "AuthFailed",
            Error::Config(_) => "InvalidConfig",
            Error::WaitTimeout { .. } => "WaitTimeout",
            Error::LoadBalancerFailed { .. } => "LoadBalancerError",
            Error::Step { source, .. } => source.reason(),
            Error::UnresolvedReference { .. } => "UnresolvedReference",
            Error::FloatingIpNotFound { .. } => "FloatingIpNotFound",
            Error::FloatingIpInUse { .. } | Error::FloatingIpReserved { .. } => "FloatingIpInUse",
            Error::Cancelled => "Cancelled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::Api {
            service: Service::Octavia,
            method: "PUT".into(),
            path: "/v2/lbaas/listeners/x".into(),
            status,
            message: "Load Balancer x is immutable and cannot be updated.".into(),
            request_id: Some("req-1".into()),
        }
    }

    #[test]
    fn server_errors_conflicts_and_rate_limits_are_retryable_client_errors_are_not() {
        assert!(api(500).is_retryable());
        assert!(api(503).is_retryable());
        assert!(api(409).is_retryable());
        assert!(api(429).is_retryable());
        assert!(!api(400).is_retryable());
        assert!(!api(403).is_retryable());
        assert!(!api(404).is_retryable());
    }

    fn exhausted(status: u16, message: &str) -> Error {
        Error::Api {
            service: Service::Octavia,
            method: "POST".into(),
            path: "/v2/lbaas/loadbalancers".into(),
            status,
            message: message.into(),
            request_id: Some("req-2".into()),
        }
    }

    #[test]
    fn a_full_subnet_is_recognised_in_neutron_and_octavia_answers_and_stays_retryable() {
        let net = "d1950a44-0b6e-4c59-9a0b-6b0f1e2d3c4b";
        for (status, message) in [
            (
                409,
                format!("No more IP addresses available on network {net}."),
            ),
            (
                409,
                format!(
                    "The VIP IP address is already in use: No more IP addresses available on \
                     network {net}."
                ),
            ),
            (
                500,
                format!(
                    "Provider 'amphora' reports error: No more IP addresses available on \
                     network {net}."
                ),
            ),
        ] {
            let e = Error::Step {
                step: 1,
                op: "create_loadbalancer",
                source: Box::new(exhausted(status, &message)),
            };
            assert!(e.is_subnet_exhausted(), "{message}");
            assert_eq!(e.exhausted_network(), Some(net));
            assert_eq!(e.reason(), "SubnetExhausted");
            assert!(e.is_retryable(), "an address may be freed later");
        }
        let busy = exhausted(409, "Load Balancer x is immutable and cannot be updated.");
        assert!(!busy.is_subnet_exhausted());
        assert_eq!(busy.reason(), "Conflict");
        let bad = exhausted(400, "No more IP addresses available on network n.");
        assert!(!bad.is_subnet_exhausted(), "only 409 and 500 carry it");
    }

    #[test]
    fn step_errors_keep_the_cause_request_id_and_status() {
        let e = Error::Step {
            step: 3,
            op: "update_listener",
            source: Box::new(api(400)),
        };
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.request_id(), Some("req-1"));
        assert_eq!(e.reason(), "BadRequest");
        assert!(e.to_string().contains("step 3 (update_listener)"));
        assert!(std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("req-1")));
    }
}
