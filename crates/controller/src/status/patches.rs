//! The status and metadata patches that bring a Service to what kks-lb wants, each `None`
//! when it is already there.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LoadBalancerIngress, Service, ServiceStatus};
use k8s_openapi::jiff::Timestamp;
use kks_lb_annotations::keys;
use serde_json::{Map, Value, json};

use super::{
    CONDITION_TYPE, FINALIZER, IngressUpdate, MEMBERS_CONDITION_TYPE, Readiness, has_finalizer,
};

fn current_ingress(status: Option<&ServiceStatus>) -> Vec<LoadBalancerIngress> {
    status
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.clone())
        .unwrap_or_default()
}

fn current_condition(
    status: Option<&ServiceStatus>,
) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    condition_of(status, CONDITION_TYPE)
}

pub(super) fn condition_of<'a>(
    status: Option<&'a ServiceStatus>,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
}

/// The strategic-merge patch of `/status` that brings the Service's status to `ingress` and
/// `readiness`, or `None` when it already is there (steady state writes nothing).
///
/// `lastTransitionTime` moves to `now` only when the condition's status flips; conditions of
/// other types are left alone (strategic merge keys conditions by `type`).
pub fn status_patch(
    svc: &Service,
    ingress: &IngressUpdate,
    readiness: &Readiness,
    now: Timestamp,
) -> Option<Value> {
    let status = svc.status.as_ref();
    let mut out = Map::new();
    match ingress {
        IngressUpdate::Keep => {}
        IngressUpdate::Set(want) => {
            if current_ingress(status) != *want {
                out.insert(
                    "loadBalancer".into(),
                    json!({ "ingress": serde_json::to_value(want).unwrap_or(Value::Null) }),
                );
            }
        }
        IngressUpdate::Clear => {
            if !current_ingress(status).is_empty() {
                out.insert("loadBalancer".into(), json!({ "ingress": null }));
            }
        }
    }
    let generation = svc.metadata.generation;
    let have = current_condition(status);
    let same = have.is_some_and(|c| {
        c.status == readiness.status()
            && c.reason == readiness.reason
            && c.message == readiness.message
            && c.observed_generation == generation
    });
    if !same {
        let transition = match have {
            Some(c) if c.status == readiness.status() => c.last_transition_time.0,
            _ => now,
        };
        let mut cond = json!({
            "type": CONDITION_TYPE,
            "status": readiness.status(),
            "reason": readiness.reason,
            "message": readiness.message,
            "lastTransitionTime": transition.to_string(),
        });
        if let (Some(g), Some(obj)) = (generation, cond.as_object_mut()) {
            obj.insert("observedGeneration".into(), g.into());
        }
        out.insert("conditions".into(), Value::Array(vec![cond]));
    }
    (!out.is_empty()).then(|| json!({ "status": Value::Object(out) }))
}

/// The strategic-merge patch of `/status` that clears what kks-lb wrote: the ingress and the
/// `LoadBalancerReady` and `LoadBalancerMembersHealthy` conditions. `None` when none is there.
pub fn release_status_patch(svc: &Service) -> Option<Value> {
    let status = svc.status.as_ref();
    let mut out = Map::new();
    if !current_ingress(status).is_empty() {
        out.insert("loadBalancer".into(), json!({ "ingress": null }));
    }
    let deletes: Vec<Value> = [CONDITION_TYPE, MEMBERS_CONDITION_TYPE]
        .into_iter()
        .filter(|t| condition_of(status, t).is_some())
        .map(|t| json!({ "type": t, "$patch": "delete" }))
        .collect();
    if !deletes.is_empty() {
        out.insert("conditions".into(), Value::Array(deletes));
    }
    (!out.is_empty()).then(|| json!({ "status": Value::Object(out) }))
}

fn annotations(svc: &Service) -> BTreeMap<String, String> {
    svc.metadata.annotations.clone().unwrap_or_default()
}

/// The merge patch that sets `load-balancer-id` and `load-balancer-address` (SPEC §3), or
/// `None` when both already hold these values. An unknown address leaves the address
/// annotation as it is.
pub fn annotations_patch(svc: &Service, lb_id: &str, address: Option<&str>) -> Option<Value> {
    let have = annotations(svc);
    let mut out = Map::new();
    if have.get(keys::LOAD_BALANCER_ID).map(String::as_str) != Some(lb_id) {
        out.insert(keys::LOAD_BALANCER_ID.into(), lb_id.into());
    }
    if let Some(a) = address
        && have.get(keys::LOAD_BALANCER_ADDRESS).map(String::as_str) != Some(a)
    {
        out.insert(keys::LOAD_BALANCER_ADDRESS.into(), a.into());
    }
    (!out.is_empty()).then(|| json!({ "metadata": { "annotations": Value::Object(out) } }))
}

/// `svc` with `load-balancer-id` and `load-balancer-address` set as [`annotations_patch`]
/// sets them: what our write leaves, computed locally.
pub fn annotated(svc: &Service, lb_id: &str, address: Option<&str>) -> Service {
    let mut out = svc.clone();
    let a = out.metadata.annotations.get_or_insert_with(BTreeMap::new);
    a.insert(keys::LOAD_BALANCER_ID.to_owned(), lb_id.to_owned());
    if let Some(address) = address {
        a.insert(keys::LOAD_BALANCER_ADDRESS.to_owned(), address.to_owned());
    }
    out
}

/// The merge patch that releases a Service kks-lb no longer handles: removes the
/// `load-balancer-id`/`-address` annotations and our finalizer, guarded by the
/// `resourceVersion` the decision was made on (a concurrent change answers 409 and the
/// reconcile runs again). `None` when there is nothing to remove.
pub fn release_metadata_patch(svc: &Service) -> Option<Value> {
    let have = annotations(svc);
    let mut meta = Map::new();
    let ours: Map<String, Value> = [keys::LOAD_BALANCER_ID, keys::LOAD_BALANCER_ADDRESS]
        .into_iter()
        .filter(|k| have.contains_key(*k))
        .map(|k| (k.to_owned(), Value::Null))
        .collect();
    if !ours.is_empty() {
        meta.insert("annotations".into(), Value::Object(ours));
    }
    if has_finalizer(svc) {
        let rest: Vec<&String> = svc
            .metadata
            .finalizers
            .iter()
            .flatten()
            .filter(|f| *f != FINALIZER)
            .collect();
        meta.insert("finalizers".into(), json!(rest));
    }
    if meta.is_empty() {
        return None;
    }
    if let Some(rv) = &svc.metadata.resource_version {
        meta.insert("resourceVersion".into(), rv.clone().into());
    }
    Some(json!({ "metadata": Value::Object(meta) }))
}
