//! The validating admission webhook: the verdict of `kks-lb validate` at `kubectl apply` time.
//!
//! `POST /validate-service` takes an `admission.k8s.io/v1` `AdmissionReview` of a Service and
//! answers with [`decide`]:
//!
//! - **Denied** (`allowed: false`, `status: {code: 422, reason: Invalid}`) when the Service has
//!   annotation or spec errors, with every error in the message
//!   (`2 errors: KEY=VALUE: RULE; KEY=VALUE: RULE`); kubectl prints it as
//!   `admission webhook "NAME" denied the request: MESSAGE`.
//! - **Allowed** otherwise, with each warning in `response.warnings` (`KEY: MESSAGE`), which
//!   kubectl prints as `Warning: ...`; a denial carries the warnings too.
//!
//! # Guarantees (a webhook must never wedge a cluster)
//! - Only Services this controller handles are judged: type LoadBalancer with no
//!   `spec.loadBalancerClass` or the controller's own class. Everything else is allowed.
//! - DELETE (and CONNECT) is always allowed; so is any write to a Service that is being deleted
//!   and any write to a subresource (`status`).
//! - An UPDATE is denied only when the new object has an error the old object did not have
//!   (same key, value and rule). A Service that was invalid before the webhook existed can be
//!   fixed one key at a time, and the controller's own writes (finalizer, annotations) never
//!   add an error, so they are never denied. A Service that becomes one we handle (type changed
//!   to LoadBalancer, class set to ours) is judged as a new one.
//!
//! [`server`] serves it over HTTPS with certificates reloaded from a directory; [`cert`]
//! writes a self-signed pair for clusters without cert-manager.

pub mod cert;
pub mod server;

use k8s_openapi::api::core::v1::Service;
use kks_lb_annotations::{AnnotationError, Defaults, parse_report};
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};

use crate::status::{Selection, ServiceFacts};

/// The path the webhook serves.
pub const PATH: &str = "/validate-service";

/// What the verdict depends on besides the Service: the controller's class and defaults.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `--load-balancer-class`: Services with another class are not judged.
    pub load_balancer_class: Option<String>,
    /// The cloud configuration's defaults, as the controller parses with them.
    pub defaults: Defaults,
}

impl Policy {
    fn handles(&self, svc: &Service) -> bool {
        ServiceFacts::of(svc, self.load_balancer_class.as_deref()).selection == Selection::Handled
    }

    fn errors(&self, svc: &Service) -> Vec<AnnotationError> {
        parse_report(svc, &self.defaults).errors
    }
}

/// Answers one `AdmissionReview` body with the `AdmissionReview` to send back.
///
/// A body that is not an `AdmissionReview` of a Service gets a denied response without a uid
/// (the API server then applies the webhook's `failurePolicy`).
pub fn review(body: &[u8]) -> Result<AdmissionReview<Service>, serde_json::Error> {
    serde_json::from_slice(body)
}

/// The response to send for a parsed review (or for a body that did not parse).
pub fn respond(
    review: Result<AdmissionReview<Service>, serde_json::Error>,
    policy: &Policy,
) -> AdmissionReview<DynamicObject> {
    let request: Result<AdmissionRequest<Service>, String> = match review {
        Ok(review) => review
            .try_into()
            .map_err(|_| "the AdmissionReview has no request".to_owned()),
        Err(e) => Err(format!(
            "the body is not an AdmissionReview of a Service: {e}"
        )),
    };
    match request {
        Ok(req) => decide(&req, policy).into_review(),
        Err(message) => AdmissionResponse::invalid(message).into_review(),
    }
}

/// The verdict on one admission request; see the module documentation for the rules.
pub fn decide(req: &AdmissionRequest<Service>, policy: &Policy) -> AdmissionResponse {
    let allow = AdmissionResponse::from(req);
    if matches!(req.operation, Operation::Delete | Operation::Connect)
        || req.sub_resource.as_deref().is_some_and(|s| !s.is_empty())
    {
        return allow;
    }
    let Some(svc) = req.object.as_ref() else {
        return allow;
    };
    if svc.metadata.deletion_timestamp.is_some() || !policy.handles(svc) {
        return allow;
    }
    let report = parse_report(svc, &policy.defaults);
    let warnings: Vec<String> = report
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.key, w.message))
        .collect();
    let old_errors = match (&req.operation, req.old_object.as_ref()) {
        (Operation::Update, Some(old)) if policy.handles(old) => policy.errors(old),
        _ => Vec::new(),
    };
    let added: Vec<&AnnotationError> = report
        .errors
        .iter()
        .filter(|e| !old_errors.contains(e))
        .collect();
    let mut response = if added.is_empty() {
        allow
    } else {
        let mut denied = allow.deny(denial_message(&added));
        denied.result.code = 422;
        denied.result.reason = "Invalid".to_owned();
        denied.result.status = Some(kube::core::response::StatusSummary::Failure);
        denied
    };
    if !warnings.is_empty() {
        response.warnings = Some(warnings);
    }
    response
}

/// `1 error: KEY=VALUE: RULE` or `N errors: KEY=VALUE: RULE; KEY=VALUE: RULE`.
pub fn denial_message(errors: &[&AnnotationError]) -> String {
    let n = errors.len();
    let noun = if n == 1 { "error" } else { "errors" };
    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!("{n} {noun}: {}", list.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn recorded(name: &str) -> Value {
        let text = match name {
            "create" => include_str!("testdata/admission-review-create.request.json"),
            "update" => include_str!("testdata/admission-review-update.request.json"),
            _ => include_str!("testdata/admission-review-create-denied.request.json"),
        };
        serde_json::from_str(text).unwrap()
    }

    fn answer(review: &Value, policy: &Policy) -> Value {
        let body = serde_json::to_vec(review).unwrap();
        serde_json::to_value(respond(super::review(&body), policy)).unwrap()
    }

    fn set_annotation(review: &mut Value, side: &str, key: &str, value: &str) {
        review["request"][side]["metadata"]["annotations"][key] = value.into();
    }

    #[test]
    fn recorded_denied_create_lists_every_error_and_the_warning() {
        let out = answer(&recorded("denied"), &Policy::default());
        assert_eq!(out["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(out["kind"], "AdmissionReview");
        let r = &out["response"];
        assert_eq!(r["uid"], "ff82c5a9-9839-42be-be3e-714bd4404e37");
        assert_eq!(r["allowed"], false);
        assert_eq!(r["status"]["code"], 422);
        assert_eq!(r["status"]["reason"], "Invalid");
        // The same verdict as `kks-lb validate`: every error, in its order.
        let svc: Service =
            serde_json::from_value(recorded("denied")["request"]["object"].clone()).unwrap();
        let expected = parse_report(&svc, &Defaults::default()).errors;
        assert_eq!(expected.len(), 5);
        let errors: Vec<&AnnotationError> = expected.iter().collect();
        assert_eq!(r["status"]["message"], denial_message(&errors));
        let message = r["status"]["message"].as_str().unwrap();
        assert!(message.starts_with("5 errors: "), "{message}");
        for part in [
            "; loadbalancer.openstack.org/lb-method=least_connections: must be one of",
            "loadbalancer.openstack.org/hostname=web_app.example.com: ",
        ] {
            assert!(message.contains(part), "{part} missing from {message}");
        }
        let warnings = r["warnings"].as_array().unwrap();
        assert!(
            warnings.iter().any(|w| w
                .as_str()
                .unwrap()
                .starts_with("loadbalancer.openstack.org/health-monitor-max-retires: ")),
            "{warnings:?}"
        );
    }

    #[test]
    fn recorded_valid_create_is_allowed() {
        let out = answer(&recorded("create"), &Policy::default());
        assert_eq!(
            out["response"]["uid"],
            "7170f9c9-2238-4858-8f6a-95b19239b3c6"
        );
        assert_eq!(out["response"]["allowed"], true);
        assert!(out["response"].get("warnings").is_none());
    }

    #[test]
    fn allowed_create_carries_the_warnings() {
        let mut review = recorded("create");
        set_annotation(
            &mut review,
            "object",
            "loadbalancer.openstack.org/health-monitor-max-retires",
            "3",
        );
        let out = answer(&review, &Policy::default());
        assert_eq!(out["response"]["allowed"], true);
        assert_eq!(
            out["response"]["warnings"][0],
            "loadbalancer.openstack.org/health-monitor-max-retires: unknown annotation, ignored; did you mean health-monitor-max-retries?"
        );
    }

    #[test]
    fn update_is_denied_only_for_errors_the_old_object_did_not_have() {
        let key = "loadbalancer.openstack.org/connection-limit";
        // Already broken before: another write (an unrelated annotation) passes.
        let mut review = recorded("update");
        set_annotation(&mut review, "oldObject", key, "-5");
        set_annotation(&mut review, "object", key, "-5");
        assert_eq!(
            answer(&review, &Policy::default())["response"]["allowed"],
            true
        );
        // Fixing one of two errors passes too.
        let other = "loadbalancer.openstack.org/lb-method";
        set_annotation(&mut review, "oldObject", other, "fastest");
        set_annotation(&mut review, "object", other, "ROUND_ROBIN");
        assert_eq!(
            answer(&review, &Policy::default())["response"]["allowed"],
            true
        );
        // A new bad value is refused, naming only the new error.
        set_annotation(&mut review, "object", other, "slowest");
        let out = answer(&review, &Policy::default());
        assert_eq!(out["response"]["allowed"], false);
        let message = out["response"]["status"]["message"].as_str().unwrap();
        assert!(message.starts_with("1 error: "), "{message}");
        assert!(message.contains("lb-method=slowest"), "{message}");
        assert!(!message.contains("connection-limit"), "{message}");
    }

    #[test]
    fn becoming_a_load_balancer_is_judged_like_a_create() {
        let mut review = recorded("update");
        review["request"]["oldObject"]["spec"]["type"] = "ClusterIP".into();
        let key = "loadbalancer.openstack.org/connection-limit";
        set_annotation(&mut review, "oldObject", key, "-5");
        set_annotation(&mut review, "object", key, "-5");
        assert_eq!(
            answer(&review, &Policy::default())["response"]["allowed"],
            false
        );
    }

    #[test]
    fn services_of_others_deletes_and_deleting_services_are_allowed() {
        let broken = recorded("denied");
        let mut other_class = broken.clone();
        other_class["request"]["object"]["spec"]["loadBalancerClass"] = "example.com/other".into();
        assert_eq!(
            answer(&other_class, &Policy::default())["response"]["allowed"],
            true
        );
        let ours = Policy {
            load_balancer_class: Some("example.com/other".into()),
            ..Policy::default()
        };
        assert_eq!(answer(&other_class, &ours)["response"]["allowed"], false);

        let mut cluster_ip = broken.clone();
        cluster_ip["request"]["object"]["spec"]["type"] = "ClusterIP".into();
        assert_eq!(
            answer(&cluster_ip, &Policy::default())["response"]["allowed"],
            true
        );

        let mut delete = broken.clone();
        delete["request"]["operation"] = "DELETE".into();
        delete["request"]["oldObject"] = delete["request"]["object"].take();
        assert_eq!(
            answer(&delete, &Policy::default())["response"]["allowed"],
            true
        );

        let mut deleting = broken.clone();
        deleting["request"]["operation"] = "UPDATE".into();
        deleting["request"]["object"]["metadata"]["deletionTimestamp"] =
            "2026-12-01T02:09:04Z".into();
        assert_eq!(
            answer(&deleting, &Policy::default())["response"]["allowed"],
            true
        );

        let mut status = broken;
        status["request"]["subResource"] = "status".into();
        assert_eq!(
            answer(&status, &Policy::default())["response"]["allowed"],
            true
        );
    }

    #[test]
    fn a_body_that_is_not_a_review_is_denied_without_panicking() {
        let out =
            serde_json::to_value(respond(review(b"{\"kind\": 3}"), &Policy::default())).unwrap();
        assert_eq!(out["response"]["allowed"], false);
        let out = serde_json::to_value(respond(
            review(
                json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})
                    .to_string()
                    .as_bytes(),
            ),
            &Policy::default(),
        ))
        .unwrap();
        assert_eq!(out["response"]["allowed"], false);
    }
}
