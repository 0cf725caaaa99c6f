//! One call to a webhook: the `AdmissionReview` over HTTPS verified with the `caBundle`,
//! `?timeout=Ns`, the answer read back, and the error a denial becomes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use super::{Attributes, Hook};
use crate::kube_api::error::ApiError;

/// A webhook's answer.
pub(super) struct Answer {
    pub(super) warnings: Vec<String>,
    pub(super) denied: Option<ApiError>,
}

pub(super) async fn call(
    hook: &Hook,
    attrs: &Attributes<'_>,
    routes: &HashMap<String, SocketAddr>,
) -> Result<Answer, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(hook.timeout_seconds))
        .no_proxy();
    let base = if let Some(url) = hook.client["url"].as_str() {
        url.to_string()
    } else if let Some(svc) = hook.client["service"].as_object() {
        let name = svc.get("name").and_then(Value::as_str).unwrap_or_default();
        let ns = svc
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let path = svc.get("path").and_then(Value::as_str).unwrap_or("/");
        let host = format!("{name}.{ns}.svc");
        let Some(addr) = routes.get(&format!("{ns}/{name}")) else {
            return Err(format!(
                "failed to call webhook: service \"{ns}/{name}\" is not routed (KubeEmulator::route_webhook_service)"
            ));
        };
        builder = builder.resolve(&host, *addr);
        format!("https://{host}{path}")
    } else {
        return Err("failed to call webhook: clientConfig has neither url nor service".into());
    };
    if let Some(bundle) = hook.client["caBundle"].as_str().filter(|b| !b.is_empty()) {
        let pem = base64::engine::general_purpose::STANDARD
            .decode(bundle)
            .map_err(|e| format!("invalid caBundle: {e}"))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("invalid caBundle: {e}"))?
        {
            builder = builder.add_root_certificate(cert);
        }
        builder = builder.tls_built_in_root_certs(false);
    }
    let client = builder
        .build()
        .map_err(|e| format!("failed to build the webhook client: {e}"))?;
    let url = format!("{base}?timeout={}s", hook.timeout_seconds);
    let uid = uuid::Uuid::new_v4().to_string();
    let sent = client
        .post(&url)
        .json(&attrs.review(&uid))
        .send()
        .await
        .map_err(|e| {
            format!(
                "failed to call webhook: Post \"{url}\": {}",
                error_chain(&e)
            )
        })?;
    let status = sent.status();
    let body: Value = sent
        .json()
        .await
        .map_err(|e| format!("received invalid webhook response: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "failed to call webhook: the server responded with the status code {}",
            status.as_u16()
        ));
    }
    let response = &body["response"];
    if response["uid"].as_str() != Some(uid.as_str()) {
        return Err(format!(
            "received invalid webhook response: expected response.uid=\"{uid}\", got \"{}\"",
            response["uid"].as_str().unwrap_or_default()
        ));
    }
    let warnings = response["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let denied = match response["allowed"].as_bool() {
        Some(true) => None,
        Some(false) => Some(denial(&hook.name, &response["status"])),
        None => return Err("received invalid webhook response: no response.allowed".into()),
    };
    Ok(Answer { warnings, denied })
}

/// The error a denial becomes, as the API server words it.
pub(super) fn denial(webhook: &str, status: &Value) -> ApiError {
    let denied_by = format!("admission webhook \"{webhook}\" denied the request");
    let code = status["code"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 400)
        .unwrap_or(400);
    let message = status["message"].as_str().unwrap_or_default();
    let reason = status["reason"].as_str().unwrap_or_default();
    let text = if !message.is_empty() {
        format!("{denied_by}: {message}")
    } else if !reason.is_empty() {
        format!("{denied_by}: {reason}")
    } else {
        format!("{denied_by} without explanation")
    };
    let mut err = ApiError::new(code, reason, text);
    if !status["details"].is_null() {
        err.details = Some(status["details"].clone());
    }
    err
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
