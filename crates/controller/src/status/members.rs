//! The `LoadBalancerMembersHealthy` condition: what kks-lb wants and how it is patched in.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::patches::condition_of;
use super::{MAX_MESSAGE, MEMBERS_CONDITION_TYPE, cut};

/// The Service's [`MEMBERS_CONDITION_TYPE`] condition as it stands.
pub fn members_condition(
    svc: &Service,
) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    condition_of(svc.status.as_ref(), MEMBERS_CONDITION_TYPE)
}

/// The status of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    /// `True`.
    True,
    /// `False`.
    False,
    /// `Unknown`.
    Unknown,
}

impl ConditionStatus {
    /// As Kubernetes spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// The [`MEMBERS_CONDITION_TYPE`] condition kks-lb wants on a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersCondition {
    /// True: every health-checked member is up; False: some are down; Unknown: nothing
    /// checks them.
    pub status: ConditionStatus,
    /// A stable PascalCase reason (`MembersHealthy`, `MembersDown`, `NoHealthMonitor`,
    /// `NoMembers`).
    pub reason: &'static str,
    /// For humans; cut to 1 KiB.
    pub message: String,
}

impl MembersCondition {
    /// A condition; the message is cut to 1 KiB.
    pub fn new(status: ConditionStatus, reason: &'static str, message: impl Into<String>) -> Self {
        MembersCondition {
            status,
            reason,
            message: cut(message.into(), MAX_MESSAGE),
        }
    }
}

/// Adds the [`MEMBERS_CONDITION_TYPE`] condition to a status patch made by [`status_patch`](super::status_patch)
/// (`None`: nothing else changes), or returns the patch unchanged when the Service already
/// carries exactly this condition. The `LoadBalancerReady` entry of `patch` is left as it is;
/// strategic merge keys conditions by `type`, so each entry changes only its own condition.
///
/// `lastTransitionTime` moves to `now` only when the condition's status flips.
pub fn with_members_condition(
    patch: Option<Value>,
    svc: &Service,
    want: &MembersCondition,
    now: Timestamp,
) -> Option<Value> {
    let generation = svc.metadata.generation;
    let have = members_condition(svc);
    let same = have.is_some_and(|c| {
        c.status == want.status.as_str()
            && c.reason == want.reason
            && c.message == want.message
            && c.observed_generation == generation
    });
    if same {
        return patch;
    }
    let transition = match have {
        Some(c) if c.status == want.status.as_str() => c.last_transition_time.0,
        _ => now,
    };
    let mut cond = json!({
        "type": MEMBERS_CONDITION_TYPE,
        "status": want.status.as_str(),
        "reason": want.reason,
        "message": want.message,
        "lastTransitionTime": transition.to_string(),
    });
    if let (Some(g), Some(obj)) = (generation, cond.as_object_mut()) {
        obj.insert("observedGeneration".into(), g.into());
    }
    let mut patch = patch.unwrap_or_else(|| json!({ "status": {} }));
    if let Some(status) = patch.get_mut("status").and_then(Value::as_object_mut) {
        match status.get_mut("conditions").and_then(Value::as_array_mut) {
            Some(list) => list.push(cond),
            None => {
                status.insert("conditions".into(), Value::Array(vec![cond]));
            }
        }
    }
    Some(patch)
}
