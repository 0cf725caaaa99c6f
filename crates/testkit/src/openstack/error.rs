//! Error responses in each service's own body shape, and the emulator's public error type.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kks_lb_octavia_model::api::keystone::{KeystoneError, KeystoneErrorBody};
use kks_lb_octavia_model::api::neutron::NeutronErrorBody;
use kks_lb_octavia_model::api::octavia::Fault;

/// Errors of [`super::OpenStackEmulator::start`].
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A configured CIDR does not parse as an IPv4 network.
    #[error("invalid {what} CIDR {value:?}: {source}")]
    Cidr {
        /// Which setting.
        what: &'static str,
        /// The value.
        value: String,
        /// The parse error.
        source: ipnet::AddrParseError,
    },
}

/// An API error response.
#[derive(Debug, Clone)]
pub(crate) enum ApiError {
    /// Octavia's WSME fault body.
    Octavia(StatusCode, Fault),
    /// Neutron's `NeutronError` body.
    Neutron(StatusCode, NeutronErrorBody),
    /// Keystone's `{"error": ...}` body.
    Keystone(StatusCode, KeystoneErrorBody),
    /// keystonemiddleware's 401 for a missing, unknown or expired token.
    Unauthorized { auth_url: String },
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An Octavia fault.
    pub(crate) fn octavia(status: u16, msg: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::Octavia(status, Fault::new(status.as_u16(), msg))
    }

    /// Octavia `ValidationException`: 400 `Validation failure: <detail>`.
    pub(crate) fn validation(detail: impl std::fmt::Display) -> Self {
        ApiError::octavia(400, format!("Validation failure: {detail}"))
    }

    /// Octavia `NotFound`: 404 `<resource> <id> not found.`
    pub(crate) fn not_found(resource: &str, id: &str) -> Self {
        ApiError::octavia(404, format!("{resource} {id} not found."))
    }

    /// Octavia `InvalidSubresource`: 400 `<resource> <id> not found.` (e.g. an unknown VIP
    /// subnet, `octavia/common/validate.py` `subnet_exists`).
    pub(crate) fn invalid_subresource(resource: &str, id: &str) -> Self {
        ApiError::octavia(400, format!("{resource} {id} not found."))
    }

    /// Octavia `ImmutableObject`: 409 for any child mutation while the LB is not ACTIVE
    /// (real-octavia README quirk 3).
    pub(crate) fn immutable(lb_id: &str) -> Self {
        ApiError::octavia(
            409,
            format!("Load Balancer {lb_id} is immutable and cannot be updated."),
        )
    }

    /// Octavia `LBPendingStateError`: 409 for LB PUT/DELETE while it is not mutable
    /// (real-octavia README quirk 3).
    pub(crate) fn pending_state(state: impl std::fmt::Display, lb_id: &str) -> Self {
        ApiError::octavia(
            409,
            format!("Invalid state {state} of loadbalancer resource {lb_id}"),
        )
    }

    /// Octavia `QuotaException`: 403 `Quota has been met for resources: <resource>`.
    pub(crate) fn quota(resource: &str) -> Self {
        ApiError::octavia(403, format!("Quota has been met for resources: {resource}"))
    }

    /// Octavia `PolicyForbidden`: another project's object.
    pub(crate) fn forbidden() -> Self {
        ApiError::octavia(403, "Policy does not allow this request to be performed.")
    }

    /// Octavia `ProviderUnsupportedOptionError` (501), what the API answers when a provider
    /// driver raises `UnsupportedOptionError`, e.g. `Provider 'ovn' does not support a
    /// requested option: OVN provider does not support ROUND_ROBIN algorithm`.
    pub(crate) fn provider_unsupported(provider: &str, msg: impl std::fmt::Display) -> Self {
        ApiError::octavia(
            501,
            format!("Provider '{provider}' does not support a requested option: {msg}"),
        )
    }

    /// WSME's rejection of an attribute the API version does not know.
    pub(crate) fn unknown_attribute(root: &str, value: &serde_json::Value, attr: &str) -> Self {
        ApiError::octavia(
            400,
            format!(
                "Invalid input for field/attribute {root}. Value: '{value}'. Unknown attribute \
                 for argument {root}: {attr}"
            ),
        )
    }

    /// WSME's rejection of a value outside an enum.
    pub(crate) fn invalid_value(field: &str, value: &str, allowed: &[&str]) -> Self {
        ApiError::octavia(
            400,
            format!(
                "Invalid input for field/attribute {field}. Value: '{value}'. Value should be \
                 one of: {}",
                allowed.join(", ")
            ),
        )
    }

    /// A Neutron error.
    pub(crate) fn neutron(status: u16, kind: &str, msg: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::Neutron(status, NeutronErrorBody::new(kind, msg))
    }

    /// Keystone's 401 for bad credentials.
    pub(crate) fn keystone_unauthorized() -> Self {
        ApiError::Keystone(StatusCode::UNAUTHORIZED, KeystoneErrorBody::unauthorized())
    }

    /// A Keystone error with any status.
    pub(crate) fn keystone(status: u16, title: &str, msg: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::Keystone(
            status,
            KeystoneErrorBody {
                error: KeystoneError {
                    code: status.as_u16(),
                    message: msg.into(),
                    title: title.to_owned(),
                },
            },
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Octavia(status, fault) => (status, Json(fault)).into_response(),
            ApiError::Neutron(status, body) => (status, Json(body)).into_response(),
            ApiError::Keystone(status, body) => (status, Json(body)).into_response(),
            ApiError::Unauthorized { auth_url } => {
                let mut resp = (
                    StatusCode::UNAUTHORIZED,
                    Json(KeystoneErrorBody::unauthorized()),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{auth_url}\"")) {
                    resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                resp
            }
        }
    }
}
