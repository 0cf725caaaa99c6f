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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::resources::ResourceInfo;

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

fn listed(list: &Value, item: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v == "*" || v == item))
}

fn rules_match(hook: &Hook, attrs: &Attributes<'_>) -> bool {
    let resource = attrs.resource();
    let scope = if attrs.info.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    };
    hook.rules.iter().any(|rule| {
        let resource_ok = rule["resources"].as_array().is_some_and(|rs| {
            rs.iter().filter_map(Value::as_str).any(|r| {
                r == resource
                    || r == "*/*"
                    || (r == "*" && attrs.subresource.is_none())
                    || r.strip_suffix("/*")
                        .is_some_and(|p| attrs.subresource.is_some() && p == attrs.info.ty.plural)
                    || r.strip_prefix("*/")
                        .is_some_and(|s| attrs.subresource == Some(s))
            })
        });
        let rule_scope = rule["scope"].as_str().unwrap_or("*");
        listed(&rule["operations"], attrs.operation)
            && listed(&rule["apiGroups"], attrs.info.ty.group)
            && listed(&rule["apiVersions"], attrs.info.ty.version)
            && resource_ok
            && (rule_scope == "*" || rule_scope == scope)
    })
}

fn selectors_match(hook: &Hook, attrs: &Attributes<'_>) -> bool {
    let namespace_ok = !attrs.info.namespaced
        || label_selector_matches(
            &hook.namespace_selector,
            attrs.namespace_labels.unwrap_or(&Value::Null),
        );
    let object_ok =
        label_selector_matches(&hook.object_selector, &attrs.object["metadata"]["labels"])
            || attrs.old_object.is_some_and(|old| {
                label_selector_matches(&hook.object_selector, &old["metadata"]["labels"])
            });
    namespace_ok && object_ok
}

/// A `metav1.LabelSelector` (`matchLabels`, `matchExpressions`) against a label map; an absent
/// or empty selector matches everything.
pub(crate) fn label_selector_matches(selector: &Value, labels: &Value) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let labels_ok = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    let expressions_ok = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match (e["operator"].as_str().unwrap_or_default(), label(key)) {
                ("In", Some(v)) => values.contains(&v),
                ("NotIn", Some(v)) => !values.contains(&v),
                ("NotIn", None) | ("Exists", Some(_)) | ("DoesNotExist", None) => true,
                _ => false,
            }
        });
    labels_ok && expressions_ok
}

/// All conditions true: call; any false: skip; else the first evaluation error.
fn conditions_match(hook: &Hook, attrs: &Attributes<'_>) -> Result<bool, String> {
    let request = attrs.cel_request();
    let vars = cel::Vars {
        object: attrs.object,
        old_object: attrs.old_object.unwrap_or(&Value::Null),
        request: &request,
    };
    let mut first_error = None;
    for (name, expression) in &hook.conditions {
        match cel::eval(expression, &vars) {
            Ok(Value::Bool(true)) => {}
            Ok(Value::Bool(false)) => return Ok(false),
            Ok(other) => {
                first_error.get_or_insert(format!(
                    "matchCondition {name}: expression does not evaluate to a bool: {other}"
                ));
            }
            Err(e) => {
                first_error.get_or_insert(format!("matchCondition {name}: {e}"));
            }
        }
    }
    first_error.map_or(Ok(true), Err)
}

/// A webhook's answer.
struct Answer {
    warnings: Vec<String>,
    denied: Option<ApiError>,
}

async fn call(
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
fn denial(webhook: &str, status: &Value) -> ApiError {
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

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube_api::resources::{ResourceType, info_for};

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    #[test]
    fn reviews_are_shaped_like_the_recorded_ones_of_a_real_api_server() {
        let recorded: Value = serde_json::from_str(include_str!(
            "../../../controller/src/webhook/testdata/admission-review-update.request.json"
        ))
        .unwrap();
        let object = &recorded["request"]["object"];
        let old = &recorded["request"]["oldObject"];
        let attrs = Attributes {
            info: info_for(ResourceType::SERVICES).unwrap(),
            namespace: Some("backend"),
            subresource: None,
            operation: "UPDATE",
            object,
            old_object: Some(old),
            dry_run: false,
            field_manager: "kubectl-annotate",
            field_validation: None,
            namespace_labels: None,
        };
        let ours = attrs.review("ae7b2822-12a7-4a76-9415-ce2c5b9aa328");
        assert_eq!(keys(&ours), keys(&recorded));
        assert_eq!(keys(&ours["request"]), keys(&recorded["request"]));
        for field in [
            "kind",
            "resource",
            "requestKind",
            "requestResource",
            "name",
            "namespace",
            "operation",
            "options",
            "dryRun",
            "userInfo",
        ] {
            assert_eq!(
                ours["request"][field], recorded["request"][field],
                "{field}"
            );
        }

        let created: Value = serde_json::from_str(include_str!(
            "../../../controller/src/webhook/testdata/admission-review-create.request.json"
        ))
        .unwrap();
        let attrs = Attributes {
            operation: "CREATE",
            object: &created["request"]["object"],
            old_object: None,
            field_manager: "kubectl-client-side-apply",
            field_validation: Some("Strict"),
            ..attrs
        };
        let ours = attrs.review("7170f9c9-2238-4858-8f6a-95b19239b3c6");
        assert_eq!(keys(&ours["request"]), keys(&created["request"]));
        assert_eq!(ours["request"]["oldObject"], Value::Null);
        assert_eq!(ours["request"]["options"], created["request"]["options"]);
    }

    #[test]
    fn rules_and_selectors_match_like_the_api_server() {
        let hook = &hooks(vec![json!({
            "metadata": {"name": "x"},
            "webhooks": [{
                "name": "h",
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["services"], "scope": "Namespaced"}],
                "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}]},
                "objectSelector": {"matchLabels": {"check": "yes"}},
            }],
        })])[0];
        assert!(
            hook.fail_closed,
            "webhooks without failurePolicy fail closed"
        );
        let svc = json!({"metadata": {"name": "a", "labels": {"check": "yes"}}});
        let web = json!({"kubernetes.io/metadata.name": "web"});
        let system = json!({"kubernetes.io/metadata.name": "kube-system"});
        let attrs = Attributes {
            info: info_for(ResourceType::SERVICES).unwrap(),
            namespace: Some("web"),
            subresource: None,
            operation: "CREATE",
            object: &svc,
            old_object: None,
            dry_run: false,
            field_manager: "m",
            field_validation: None,
            namespace_labels: Some(&web),
        };
        assert!(rules_match(hook, &attrs) && selectors_match(hook, &attrs));
        assert!(!rules_match(
            hook,
            &Attributes {
                operation: "UPDATE",
                ..attrs
            }
        ));
        assert!(!rules_match(
            hook,
            &Attributes {
                subresource: Some("status"),
                ..attrs
            }
        ));
        assert!(!selectors_match(
            hook,
            &Attributes {
                namespace_labels: Some(&system),
                ..attrs
            }
        ));
        let unlabelled = json!({"metadata": {"name": "a"}});
        assert!(!selectors_match(
            hook,
            &Attributes {
                object: &unlabelled,
                ..attrs
            }
        ));
    }
}

/// The CEL subset of match conditions.
mod cel {
    use serde_json::Value;

    pub(super) struct Vars<'a> {
        pub object: &'a Value,
        pub old_object: &'a Value,
        pub request: &'a Value,
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Token {
        Ident(String),
        Str(String),
        Dot,
        LParen,
        RParen,
        Eq,
        Ne,
        And,
        Or,
        Not,
    }

    fn tokens(src: &str) -> Result<Vec<Token>, String> {
        let chars: Vec<char> = src.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match c {
                ' ' | '\t' | '\n' => i += 1,
                '.' => {
                    out.push(Token::Dot);
                    i += 1;
                }
                '(' => {
                    out.push(Token::LParen);
                    i += 1;
                }
                ')' => {
                    out.push(Token::RParen);
                    i += 1;
                }
                '=' if next == Some('=') => {
                    out.push(Token::Eq);
                    i += 2;
                }
                '!' if next == Some('=') => {
                    out.push(Token::Ne);
                    i += 2;
                }
                '!' => {
                    out.push(Token::Not);
                    i += 1;
                }
                '&' if next == Some('&') => {
                    out.push(Token::And);
                    i += 2;
                }
                '|' if next == Some('|') => {
                    out.push(Token::Or);
                    i += 2;
                }
                '\'' | '"' => {
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&d| d == c)
                        .ok_or_else(|| format!("unterminated string at {i}"))?;
                    out.push(Token::Str(chars[i + 1..i + 1 + end].iter().collect()));
                    i += end + 2;
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let len = chars[i..]
                        .iter()
                        .position(|d| !(d.is_ascii_alphanumeric() || *d == '_'))
                        .unwrap_or(chars.len() - i);
                    out.push(Token::Ident(chars[i..i + len].iter().collect()));
                    i += len;
                }
                other => return Err(format!("unsupported character {other:?} at {i}")),
            }
        }
        Ok(out)
    }

    struct Parser<'a> {
        tokens: Vec<Token>,
        at: usize,
        vars: &'a Vars<'a>,
    }

    /// An operand: a value, or a field that does not exist (an error if compared).
    type Operand = Result<Value, String>;

    impl Parser<'_> {
        fn peek(&self) -> Option<&Token> {
            self.tokens.get(self.at)
        }

        fn eat(&mut self, t: &Token) -> bool {
            if self.peek() == Some(t) {
                self.at += 1;
                true
            } else {
                false
            }
        }

        fn or(&mut self) -> Result<Operand, String> {
            let mut left = self.and()?;
            while self.eat(&Token::Or) {
                let right = self.and()?;
                left = match (truth(&left), truth(&right)) {
                    (Ok(true), _) | (_, Ok(true)) => Ok(Value::Bool(true)),
                    (Ok(false), Ok(false)) => Ok(Value::Bool(false)),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
            }
            Ok(left)
        }

        fn and(&mut self) -> Result<Operand, String> {
            let mut left = self.unary()?;
            while self.eat(&Token::And) {
                let right = self.unary()?;
                left = match (truth(&left), truth(&right)) {
                    (Ok(false), _) | (_, Ok(false)) => Ok(Value::Bool(false)),
                    (Ok(true), Ok(true)) => Ok(Value::Bool(true)),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
            }
            Ok(left)
        }

        fn unary(&mut self) -> Result<Operand, String> {
            if self.eat(&Token::Not) {
                let inner = self.unary()?;
                return Ok(truth(&inner).map(|b| Value::Bool(!b)));
            }
            self.comparison()
        }

        fn comparison(&mut self) -> Result<Operand, String> {
            let left = self.primary()?;
            let negate = if self.eat(&Token::Eq) {
                false
            } else if self.eat(&Token::Ne) {
                true
            } else {
                return Ok(left);
            };
            let right = self.primary()?;
            Ok(match (left, right) {
                (Ok(l), Ok(r)) => Ok(Value::Bool((l == r) != negate)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            })
        }

        fn primary(&mut self) -> Result<Operand, String> {
            match self.tokens.get(self.at).cloned() {
                Some(Token::LParen) => {
                    self.at += 1;
                    let inner = self.or()?;
                    if !self.eat(&Token::RParen) {
                        return Err("expected )".into());
                    }
                    Ok(inner)
                }
                Some(Token::Str(s)) => {
                    self.at += 1;
                    Ok(Ok(Value::String(s)))
                }
                Some(Token::Ident(id)) if id == "has" => {
                    self.at += 1;
                    if !self.eat(&Token::LParen) {
                        return Err("expected ( after has".into());
                    }
                    let found = self.path()?;
                    if !self.eat(&Token::RParen) {
                        return Err("expected ) after has(...".into());
                    }
                    Ok(Ok(Value::Bool(found.is_ok_and(|v| !v.is_null()))))
                }
                Some(Token::Ident(id)) if matches!(id.as_str(), "true" | "false" | "null") => {
                    self.at += 1;
                    Ok(Ok(match id.as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        _ => Value::Null,
                    }))
                }
                Some(Token::Ident(_)) => self.path(),
                other => Err(format!("unexpected {other:?}")),
            }
        }

        fn path(&mut self) -> Result<Operand, String> {
            let Some(Token::Ident(root)) = self.tokens.get(self.at).cloned() else {
                return Err("expected a variable".into());
            };
            self.at += 1;
            let mut value = match root.as_str() {
                "object" => self.vars.object.clone(),
                "oldObject" => self.vars.old_object.clone(),
                "request" => self.vars.request.clone(),
                other => return Err(format!("undeclared reference to '{other}'")),
            };
            let mut missing = None;
            while self.eat(&Token::Dot) {
                let Some(Token::Ident(field)) = self.tokens.get(self.at).cloned() else {
                    return Err("expected a field name after .".into());
                };
                self.at += 1;
                if missing.is_none() {
                    match value.get(&field) {
                        Some(v) => value = v.clone(),
                        None => missing = Some(format!("no such key: {field}")),
                    }
                }
            }
            Ok(match missing {
                Some(e) => Err(e),
                None => Ok(value),
            })
        }
    }

    fn truth(v: &Operand) -> Result<bool, String> {
        match v {
            Ok(Value::Bool(b)) => Ok(*b),
            Ok(other) => Err(format!("no matching overload: {other} is not a bool")),
            Err(e) => Err(e.clone()),
        }
    }

    /// Evaluates `src`.
    pub(super) fn eval(src: &str, vars: &Vars<'_>) -> Result<Value, String> {
        let mut parser = Parser {
            tokens: tokens(src)?,
            at: 0,
            vars,
        };
        let value = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err(format!("unexpected input after position {}", parser.at));
        }
        value
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use serde_json::json;

        fn run(src: &str, object: &Value) -> Result<Value, String> {
            let request = json!({"operation": "CREATE"});
            eval(
                src,
                &Vars {
                    object,
                    old_object: &Value::Null,
                    request: &request,
                },
            )
        }

        #[test]
        fn the_manifest_conditions_evaluate() {
            let lb = json!({"spec": {"type": "LoadBalancer"}, "metadata": {"namespace": "web"}});
            let ip = json!({"spec": {"type": "ClusterIP"}});
            let cond = "object.spec.type == 'LoadBalancer'";
            assert_eq!(run(cond, &lb), Ok(json!(true)));
            assert_eq!(run(cond, &ip), Ok(json!(false)));
            assert_eq!(
                run(
                    "has(object.spec.loadBalancerClass) && object.spec.type == \"LoadBalancer\"",
                    &lb
                ),
                Ok(json!(false))
            );
            assert_eq!(
                run(
                    "!has(object.spec.loadBalancerClass) || object.spec.loadBalancerClass == 'x'",
                    &lb
                ),
                Ok(json!(true))
            );
            assert_eq!(
                run(
                    "(request.operation != 'DELETE') && object.spec.type != 'ClusterIP'",
                    &lb
                ),
                Ok(json!(true))
            );
        }

        #[test]
        fn missing_fields_and_bad_syntax_are_errors() {
            let empty = json!({"spec": {}});
            assert!(run("object.spec.type == 'LoadBalancer'", &empty).is_err());
            // `false && error` is false, as in CEL.
            assert_eq!(
                run("false && object.spec.type == 'x'", &empty),
                Ok(json!(false))
            );
            assert!(run("object.spec.type ==", &empty).is_err());
            assert!(run("size(object.spec) > 1", &empty).is_err());
            assert!(run("params.x == 'y'", &empty).is_err());
        }
    }
}
