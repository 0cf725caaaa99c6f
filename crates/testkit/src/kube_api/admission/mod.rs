//! Validating admission webhooks, called like a real API server calls them.
//!
//! After the built-in validation of a write passed (it runs first, as a dry run of the write),
//! every webhook of every stored `ValidatingWebhookConfiguration` (configurations in name
//! order, webhooks in order) whose `rules`, `namespaceSelector`, `objectSelector` and
//! `matchConditions` match is sent an `admission.k8s.io/v1` `AdmissionReview` shaped like
//! the ones a v1.36 API server sends (`../shared/real-kube`), over HTTPS verified with its
//! `caBundle`, with `?timeout=Ns`. Then:
//!
//! - `allowed: false`: the write fails with the webhook's status (code at least 400) and the
//!   message `admission webhook "NAME" denied the request: MESSAGE`;
//! - the webhook's `warnings` are returned as `Warning: 299 - "..."` headers;
//! - a call that fails (unreachable, TLS, timeout, bad answer) or a match condition that
//!   cannot be evaluated follows `failurePolicy`: `Fail` (the default) refuses the write with
//!   `500 InternalError`, `Ignore` skips the webhook.
//!
//! Supported: CREATE and UPDATE (POST, PUT, PATCH, server-side apply); `clientConfig.url`,
//! or `clientConfig.service` for a Service routed with
//! [`super::KubeEmulator::route_webhook_service`] (the name `NAME.NAMESPACE.svc` resolves to
//! the routed 127.0.0.1 address, so the certificate is checked against that name).
//! `matchConditions` understand the CEL subset this project's manifests use: field paths
//! under `object`, `oldObject` and `request`, string/bool/null literals, `==`, `!=`, `has()`,
//! `!`, `&&`, `||` and parentheses. Writes through the Rust handle are not admitted.
//!
//! Where things live:
//!
//! - this module: the configured [`Hook`]s, what is written ([`Attributes`], and the
//!   `AdmissionReview` built from it) and [`admit`], which runs the matching webhooks in order;
//! - [`matching`]: `rules`, `namespaceSelector`/`objectSelector` and `matchConditions`;
//! - [`call`]: one HTTPS call to a webhook, its answer and the error a denial becomes;
//! - [`cel`]: the CEL subset that `matchConditions` are written in.

use std::collections::HashMap;
use std::net::SocketAddr;

use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::resources::ResourceInfo;

mod call;
mod cel;
mod matching;

use call::call;
use matching::{conditions_match, rules_match, selectors_match};

/// One configured webhook.
#[derive(Debug, Clone)]
pub(crate) struct Hook {
    name: String,
    client: Value,
    rules: Vec<Value>,
    fail_closed: bool,
    conditions: Vec<(String, String)>,
    namespace_selector: Value,
    object_selector: Value,
    timeout_seconds: u64,
}

/// The webhooks of the stored configurations, in the order they run.
pub(crate) fn hooks(mut configurations: Vec<Value>) -> Vec<Hook> {
    configurations.sort_by(|a, b| {
        a["metadata"]["name"]
            .as_str()
            .cmp(&b["metadata"]["name"].as_str())
    });
    let mut out = Vec::new();
    for config in &configurations {
        for hook in config["webhooks"].as_array().into_iter().flatten() {
            out.push(Hook {
                name: hook["name"].as_str().unwrap_or_default().to_string(),
                client: hook["clientConfig"].clone(),
                rules: hook["rules"].as_array().cloned().unwrap_or_default(),
                fail_closed: hook["failurePolicy"].as_str() != Some("Ignore"),
                conditions: hook["matchConditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        (
                            c["name"].as_str().unwrap_or_default().to_string(),
                            c["expression"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
                namespace_selector: hook["namespaceSelector"].clone(),
                object_selector: hook["objectSelector"].clone(),
                timeout_seconds: hook["timeoutSeconds"].as_u64().unwrap_or(10).clamp(1, 30),
            });
        }
    }
    out
}

/// What is being written.
#[derive(Debug)]
pub(crate) struct Attributes<'a> {
    pub info: &'static ResourceInfo,
    pub namespace: Option<&'a str>,
    pub subresource: Option<&'a str>,
    /// `CREATE` or `UPDATE`.
    pub operation: &'static str,
    pub object: &'a Value,
    pub old_object: Option<&'a Value>,
    pub dry_run: bool,
    pub field_manager: &'a str,
    pub field_validation: Option<&'a str>,
    /// Labels of the object's namespace (namespaced kinds).
    pub namespace_labels: Option<&'a Value>,
}

impl Attributes<'_> {
    fn resource(&self) -> String {
        match self.subresource {
            Some(sub) => format!("{}/{sub}", self.info.ty.plural),
            None => self.info.ty.plural.to_string(),
        }
    }

    fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// The `AdmissionReview` sent to a webhook.
    fn review(&self, uid: &str) -> Value {
        let kind = json!({
            "group": self.info.ty.group,
            "version": self.info.ty.version,
            "kind": self.info.kind,
        });
        let resource = json!({
            "group": self.info.ty.group,
            "version": self.info.ty.version,
            "resource": self.info.ty.plural,
        });
        let mut options = if self.operation == "CREATE" {
            json!({"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": self.field_manager})
        } else {
            json!({"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": self.field_manager})
        };
        if let (Some(fv), Some(o)) = (self.field_validation, options.as_object_mut()) {
            o.insert("fieldValidation".into(), fv.into());
        }
        let mut request = Map::new();
        request.insert("uid".into(), uid.into());
        request.insert("kind".into(), kind.clone());
        request.insert("resource".into(), resource.clone());
        if let Some(sub) = self.subresource {
            request.insert("subResource".into(), sub.into());
        }
        request.insert("requestKind".into(), kind);
        request.insert("requestResource".into(), resource);
        if let Some(sub) = self.subresource {
            request.insert("requestSubResource".into(), sub.into());
        }
        request.insert("name".into(), self.name().into());
        if let Some(ns) = self.namespace {
            request.insert("namespace".into(), ns.into());
        }
        request.insert("operation".into(), self.operation.into());
        request.insert(
            "userInfo".into(),
            json!({
                "username": "admin",
                "uid": "admin-uid",
                "groups": ["system:masters", "system:authenticated"],
            }),
        );
        request.insert("object".into(), self.object.clone());
        request.insert(
            "oldObject".into(),
            self.old_object.cloned().unwrap_or(Value::Null),
        );
        request.insert("dryRun".into(), self.dry_run.into());
        request.insert("options".into(), options);
        json!({
            "kind": "AdmissionReview",
            "apiVersion": "admission.k8s.io/v1",
            "request": request,
        })
    }

    /// The `request` variable of match conditions.
    fn cel_request(&self) -> Value {
        json!({
            "operation": self.operation,
            "name": self.name(),
            "namespace": self.namespace.unwrap_or_default(),
            "dryRun": self.dry_run,
            "resource": {"group": self.info.ty.group, "version": self.info.ty.version, "resource": self.info.ty.plural},
            "kind": {"group": self.info.ty.group, "version": self.info.ty.version, "kind": self.info.kind},
            "subResource": self.subresource.unwrap_or_default(),
        })
    }
}

/// Runs the matching webhooks: the warnings to return (also those of a denying webhook, as
/// the API server sends them), and `Err` with the error that refuses the write.
pub(crate) async fn admit(
    hooks: &[Hook],
    attrs: &Attributes<'_>,
    routes: &HashMap<String, SocketAddr>,
) -> (Vec<String>, Result<(), ApiError>) {
    let mut warnings = Vec::new();
    for hook in hooks {
        if !rules_match(hook, attrs) || !selectors_match(hook, attrs) {
            continue;
        }
        match conditions_match(hook, attrs) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) if hook.fail_closed => {
                let err = ApiError::internal(format!(
                    "Internal error occurred: failed calling webhook \"{}\": failed to evaluate match conditions: {e}",
                    hook.name
                ));
                return (warnings, Err(err));
            }
            Err(e) => {
                tracing::warn!(webhook = %hook.name, error = %e, "match condition failed; webhook skipped (failurePolicy Ignore)");
                continue;
            }
        }
        match call(hook, attrs, routes).await {
            Ok(answer) => {
                warnings.extend(answer.warnings);
                if let Some(err) = answer.denied {
                    return (warnings, Err(err));
                }
            }
            Err(e) if hook.fail_closed => {
                let err = ApiError::internal(format!(
                    "Internal error occurred: failed calling webhook \"{}\": {e}",
                    hook.name
                ));
                return (warnings, Err(err));
            }
            Err(e) => {
                tracing::warn!(webhook = %hook.name, error = %e, "webhook call failed; ignored (failurePolicy Ignore)");
            }
        }
    }
    (warnings, Ok(()))
}

#[cfg(test)]
mod tests;
