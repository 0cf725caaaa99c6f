//! Unit tests of admission as a whole: the shape of a review, and which webhooks match.

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
        "../../../../controller/src/webhook/testdata/admission-review-update.request.json"
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
        "../../../../controller/src/webhook/testdata/admission-review-create.request.json"
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
