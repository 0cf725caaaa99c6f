//! Errors: Kubernetes `Status` failures and emulator start-up/control errors.

use serde_json::{Value, json};

use super::resources::ResourceInfo;

/// A failed API call, rendered on the wire as a Kubernetes `Status` object
/// (`kind: Status`, `status: Failure`, `reason`, `code`, `details`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    /// HTTP status code (404, 409, 410, 422, ...).
    pub code: u16,
    /// Kubernetes `StatusReason` (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`,
    /// `Expired`, `BadRequest`, ...).
    pub reason: String,
    /// Human-readable message, worded like the real API server's.
    pub message: String,
    /// Optional `details` (`name`, `group`, `kind`, `causes`).
    pub details: Option<Value>,
}

impl ApiError {
    /// An error with the given code, reason and message and no details.
    pub fn new(code: u16, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            message: message.into(),
            details: None,
        }
    }

    /// An error for an HTTP status code, with the reason the API server uses for it.
    pub fn from_code(code: u16, message: impl Into<String>) -> Self {
        Self::new(code, reason_for_code(code), message)
    }

    /// The `Status` object sent on the wire.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let (Some(details), Some(obj)) = (&self.details, status.as_object_mut()) {
            obj.insert("details".into(), details.clone());
        }
        status
    }

    fn with_details(mut self, info: &ResourceInfo, name: &str) -> Self {
        let mut details = json!({ "name": name, "kind": info.ty.plural });
        if !info.ty.group.is_empty()
            && let Some(obj) = details.as_object_mut()
        {
            obj.insert("group".into(), info.ty.group.into());
        }
        self.details = Some(details);
        self
    }

    pub(crate) fn not_found(info: &ResourceInfo, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", info.group_resource()),
        )
        .with_details(info, name)
    }

    pub(crate) fn namespace_not_found(ns: &str) -> Self {
        Self::new(404, "NotFound", format!("namespaces \"{ns}\" not found"))
            .with_plain_details("namespaces", ns)
    }

    pub(crate) fn already_exists(info: &ResourceInfo, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", info.group_resource()),
        )
        .with_details(info, name)
    }

    pub(crate) fn conflict(info: &ResourceInfo, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                info.group_resource()
            ),
        )
        .with_details(info, name)
    }

    pub(crate) fn modified(info: &ResourceInfo, name: &str) -> Self {
        Self::conflict(
            info,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// `422 Invalid` as the API server words it: `Kind "name" is invalid: CAUSE` (several
    /// causes in brackets, comma-separated), with `details.kind` the Kind and one
    /// `details.causes` entry per `field: message`, so kubectl prints
    /// `The Kind "name" is invalid: field: message`.
    pub(crate) fn invalid(info: &ResourceInfo, name: &str, causes: &[String]) -> Self {
        let joined = match causes {
            [one] => one.clone(),
            _ => format!("[{}]", causes.join(", ")),
        };
        let causes: Vec<Value> = causes
            .iter()
            .map(|c| {
                let (field, message) = c.split_once(": ").unwrap_or(("", c));
                json!({ "reason": cause_reason(message), "message": message, "field": field })
            })
            .collect();
        let mut details = json!({ "name": name, "kind": info.kind, "causes": causes });
        if !info.ty.group.is_empty()
            && let Some(obj) = details.as_object_mut()
        {
            obj.insert("group".into(), info.ty.group.into());
        }
        Self {
            code: 422,
            reason: "Invalid".into(),
            message: format!("{} \"{name}\" is invalid: {joined}", info.kind),
            details: Some(details),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub(crate) fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub(crate) fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )
    }

    pub(crate) fn unknown_path() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    fn with_plain_details(mut self, kind: &str, name: &str) -> Self {
        self.details = Some(json!({ "name": name, "kind": kind }));
        self
    }
}

/// The `CauseType` of a field error, from its message (`Invalid value: ...`).
fn cause_reason(message: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 7] = [
        ("Invalid value", "FieldValueInvalid"),
        ("Required value", "FieldValueRequired"),
        ("Duplicate value", "FieldValueDuplicate"),
        ("Unsupported value", "FieldValueNotSupported"),
        ("Too long", "FieldValueTooLong"),
        ("Forbidden", "FieldValueForbidden"),
        ("Internal error", "InternalError"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| message.starts_with(prefix))
        .map_or("FieldValueInvalid", |(_, reason)| reason)
}

/// The `StatusReason` the API server uses for an HTTP status code.
pub(crate) fn reason_for_code(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

/// Errors from starting or controlling the emulator through its Rust handle.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// Binding or serving the listener failed.
    #[error("kube emulator I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The API rejected the operation, exactly as it would over HTTP.
    #[error("kube emulator API error: {0}")]
    Api(#[from] ApiError),
    /// An object could not be converted between its typed and JSON forms.
    #[error("kube emulator JSON conversion: {0}")]
    Json(#[from] serde_json::Error),
    /// A wait did not see the expected state in time.
    #[error("kube emulator wait timed out: {0}")]
    Timeout(String),
}

impl EmulatorError {
    /// The HTTP status code if this is an [`ApiError`].
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Api(err) => Some(err.code),
            Self::Io(_) | Self::Json(_) | Self::Timeout(_) => None,
        }
    }
}
