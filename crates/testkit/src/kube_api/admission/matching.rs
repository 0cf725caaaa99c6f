//! Which webhooks a write is sent to: `rules`, `namespaceSelector` and `objectSelector`,
//! and `matchConditions` (evaluated by [`super::cel`]).

use serde_json::Value;

use super::cel;
use super::{Attributes, Hook};

pub(super) fn listed(list: &Value, item: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v == "*" || v == item))
}

pub(super) fn rules_match(hook: &Hook, attrs: &Attributes<'_>) -> bool {
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

pub(super) fn selectors_match(hook: &Hook, attrs: &Attributes<'_>) -> bool {
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
pub(super) fn conditions_match(hook: &Hook, attrs: &Attributes<'_>) -> Result<bool, String> {
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
