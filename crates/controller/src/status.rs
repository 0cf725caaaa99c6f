//! Pure decisions about one Service: which [`Phase`] it is in, what its `status.loadBalancer`,
//! `LoadBalancerReady` condition and controller-written annotations should be, and whether a
//! trigger changed anything the reconcile reads ([`TriggerKey`]).
//!
//! Nothing here does I/O; the reconcile in [`crate::reconcile`] turns these values into API
//! calls. Every function is total and deterministic (the clock is an argument).

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use k8s_openapi::api::core::v1::{LoadBalancerIngress, Node, Service, ServiceStatus};
use k8s_openapi::jiff::Timestamp;
use kks_lb_adapter::Outcome;
use kks_lb_annotations::{LbSpec, ProxyProtocol, keys};
use kks_lb_planner::EligibleNode;
use serde_json::{Map, Value, json};

/// The finalizer that holds a Service until its load balancer is gone: the upstream service
/// controller's name, so Services created under OCCM migrate without a gap.
pub const FINALIZER: &str = "service.kubernetes.io/load-balancer-cleanup";

/// The condition type kks-lb maintains in `status.conditions`.
pub const CONDITION_TYPE: &str = "LoadBalancerReady";

/// The condition type that says whether the load balancer's members pass their health checks
/// (see [`crate::health`]).
pub const MEMBERS_CONDITION_TYPE: &str = "LoadBalancerMembersHealthy";

/// Longest condition message written (the API allows 32 KiB; keep `kubectl` readable).
const MAX_MESSAGE: usize = 1024;

/// Whether kks-lb handles a Service (SPEC §1): `type: LoadBalancer` and `loadBalancerClass`
/// unset or equal to the configured class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// A LoadBalancer Service of our class.
    Handled,
    /// Another type, or another controller's class.
    NotHandled,
}

/// Whether the Service is being deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// No `deletionTimestamp`.
    Live,
    /// `deletionTimestamp` set; finalizers hold the object.
    Deleting,
}

/// Whether the Service carries [`FINALIZER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalizerState {
    /// Our finalizer is on the Service.
    Present,
    /// It is not.
    Absent,
}

/// The facts the phase is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceFacts {
    /// Type and class.
    pub selection: Selection,
    /// Deletion timestamp.
    pub lifecycle: Lifecycle,
    /// Our finalizer.
    pub finalizer: FinalizerState,
}

/// What the reconcile does with a Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not ours and nothing of ours on it: nothing to do.
    Ignore,
    /// Ours and live: make sure the finalizer is on, then bring the load balancer, status and
    /// annotations to what the Service asks for.
    Ensure,
    /// No longer ours (type changed from LoadBalancer, or class changed) but still carrying
    /// our finalizer: delete the load balancer, clear `status.loadBalancer`, remove the
    /// `load-balancer-id`/`-address` annotations and the finalizer.
    Release,
    /// Being deleted with our finalizer: delete the load balancer, then drop the finalizer.
    Cleanup,
    /// Being deleted without our finalizer: our part is done.
    Gone,
}

impl ServiceFacts {
    /// Reads the facts from a Service; `class` is the controller's `--load-balancer-class`.
    pub fn of(svc: &Service, class: Option<&str>) -> Self {
        let spec = svc.spec.as_ref();
        let is_lb = spec.and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
        let svc_class = spec
            .and_then(|s| s.load_balancer_class.as_deref())
            .filter(|c| !c.is_empty());
        let class_ours = match svc_class {
            None => true,
            Some(c) => class == Some(c),
        };
        ServiceFacts {
            selection: if is_lb && class_ours {
                Selection::Handled
            } else {
                Selection::NotHandled
            },
            lifecycle: if svc.metadata.deletion_timestamp.is_some() {
                Lifecycle::Deleting
            } else {
                Lifecycle::Live
            },
            finalizer: if has_finalizer(svc) {
                FinalizerState::Present
            } else {
                FinalizerState::Absent
            },
        }
    }

    /// The phase. Exhaustive over every combination of the facts.
    pub fn phase(self) -> Phase {
        use FinalizerState::{Absent, Present};
        use Lifecycle::{Deleting, Live};
        use Selection::{Handled, NotHandled};
        match (self.selection, self.lifecycle, self.finalizer) {
            (Handled, Live, Present | Absent) => Phase::Ensure,
            (NotHandled, Live, Present) => Phase::Release,
            (NotHandled, Live, Absent) => Phase::Ignore,
            (Handled | NotHandled, Deleting, Present) => Phase::Cleanup,
            (Handled | NotHandled, Deleting, Absent) => Phase::Gone,
        }
    }
}

/// Whether the Service carries [`FINALIZER`].
pub fn has_finalizer(svc: &Service) -> bool {
    svc.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == FINALIZER)
}

/// The `LoadBalancerReady` condition kks-lb wants on a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// `True` when the load balancer serves what the Service asks for.
    pub ready: bool,
    /// PascalCase reason from the Event reasons of SPEC §6.
    pub reason: &'static str,
    /// For humans; cut to 1 KiB.
    pub message: String,
}

impl Readiness {
    /// A `True` condition.
    pub fn ready(reason: &'static str, message: impl Into<String>) -> Self {
        Readiness {
            ready: true,
            reason,
            message: cut(message.into(), MAX_MESSAGE),
        }
    }

    /// A `False` condition.
    pub fn pending(reason: &'static str, message: impl Into<String>) -> Self {
        Readiness {
            ready: false,
            reason,
            message: cut(message.into(), MAX_MESSAGE),
        }
    }

    fn status(&self) -> &'static str {
        if self.ready { "True" } else { "False" }
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The address a Service is reached at: the floating IP for an external Service, the VIP for
/// an internal one; `None` while it is not known.
pub fn address(spec: &LbSpec, outcome: &Outcome) -> Option<String> {
    if spec.internal {
        outcome.vip_address.clone()
    } else {
        outcome.floating_ip.clone()
    }
}

/// The `status.loadBalancer.ingress` entry: `hostname` when the hostname annotation is set,
/// else the [`address`] with `ipMode: Proxy` for PROXY protocol (so in-cluster clients go
/// through the load balancer) or `VIP` otherwise. `None` while the address is unknown.
pub fn ingress(spec: &LbSpec, outcome: &Outcome) -> Option<LoadBalancerIngress> {
    let ip = address(spec, outcome)?;
    Some(match &spec.hostname {
        Some(hostname) => LoadBalancerIngress {
            hostname: Some(hostname.clone()),
            ..LoadBalancerIngress::default()
        },
        None => LoadBalancerIngress {
            ip: Some(ip),
            ip_mode: Some(
                match spec.proxy_protocol {
                    ProxyProtocol::V1 | ProxyProtocol::V2 => "Proxy",
                    ProxyProtocol::Off => "VIP",
                }
                .to_owned(),
            ),
            ..LoadBalancerIngress::default()
        },
    })
}

/// What to do with `status.loadBalancer.ingress`.
#[derive(Debug, Clone, PartialEq)]
pub enum IngressUpdate {
    /// Leave it as it is (the last good load balancer keeps serving).
    Keep,
    /// Set it to exactly these entries.
    Set(Vec<LoadBalancerIngress>),
    /// Remove it (`status.loadBalancer: {}`).
    Clear,
}

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

fn condition_of<'a>(
    status: Option<&'a ServiceStatus>,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
}

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

/// Adds the [`MEMBERS_CONDITION_TYPE`] condition to a status patch made by [`status_patch`]
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

/// A digest of everything a Service contributes to a reconcile, besides the cloud and the
/// nodes: identity, `generation` (every spec change), deletion, our finalizer and the
/// annotations (including `load-balancer-id`, which selects the load balancer).
///
/// Status and the informational `load-balancer-address` annotation are left out: they are
/// outputs. So the controller's own writes (status, annotations set to what the reconcile
/// recorded) do not count as a change, while every user edit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TriggerKey(u64);

impl TriggerKey {
    /// The key of a Service.
    pub fn of(svc: &Service) -> Self {
        let mut h = DefaultHasher::new();
        let m = &svc.metadata;
        m.uid.hash(&mut h);
        m.generation.hash(&mut h);
        m.deletion_timestamp.is_some().hash(&mut h);
        has_finalizer(svc).hash(&mut h);
        for (k, v) in m.annotations.iter().flatten() {
            if k != keys::LOAD_BALANCER_ADDRESS {
                k.hash(&mut h);
                v.hash(&mut h);
            }
        }
        TriggerKey(h.finish())
    }
}

/// A digest of the members a Service gets: the eligible nodes' names and addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembersKey(u64);

impl MembersKey {
    /// The key of a set of eligible nodes (already sorted by the planner).
    pub fn of(nodes: &[EligibleNode]) -> Self {
        let mut h = DefaultHasher::new();
        for n in nodes {
            n.name.hash(&mut h);
            n.address.hash(&mut h);
        }
        MembersKey(h.finish())
    }

    /// The key used when members do not matter (an invalid Service makes no cloud call).
    pub const NONE: MembersKey = MembersKey(0);
}

impl Default for MembersKey {
    fn default() -> Self {
        MembersKey::NONE
    }
}

/// A digest of what about a Node can change load-balancer members: existence, labels,
/// addresses, taints and deletion. Status heartbeats are left out.
pub fn node_digest(node: &Node) -> u64 {
    let mut h = DefaultHasher::new();
    node.metadata.labels.hash(&mut h);
    node.metadata.deletion_timestamp.is_some().hash(&mut h);
    if let Some(addresses) = node.status.as_ref().and_then(|s| s.addresses.as_ref()) {
        for a in addresses {
            a.type_.hash(&mut h);
            a.address.hash(&mut h);
        }
    }
    if let Some(taints) = node.spec.as_ref().and_then(|s| s.taints.as_ref()) {
        for t in taints {
            t.key.hash(&mut h);
            t.effect.hash(&mut h);
        }
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{LoadBalancerStatus, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
    use kks_lb_annotations::{Defaults, parse};

    fn svc(ty: &str) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("shop".into()),
                uid: Some("uid-1".into()),
                generation: Some(3),
                resource_version: Some("42".into()),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                type_: Some(ty.into()),
                ports: Some(vec![k8s_openapi::api::core::v1::ServicePort {
                    port: 80,
                    node_port: Some(30080),
                    ..Default::default()
                }]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }
    }

    fn with_finalizer(mut s: Service) -> Service {
        s.metadata.finalizers = Some(vec!["other/keep".into(), FINALIZER.into()]);
        s
    }

    fn deleting(mut s: Service) -> Service {
        s.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        s
    }

    fn with_class(mut s: Service, class: &str) -> Service {
        if let Some(spec) = s.spec.as_mut() {
            spec.load_balancer_class = Some(class.into());
        }
        s
    }

    fn phase(s: &Service, class: Option<&str>) -> Phase {
        ServiceFacts::of(s, class).phase()
    }

    #[test]
    fn a_live_load_balancer_service_is_ensured_with_or_without_the_finalizer() {
        assert_eq!(phase(&svc("LoadBalancer"), None), Phase::Ensure);
        assert_eq!(
            phase(&with_finalizer(svc("LoadBalancer")), None),
            Phase::Ensure
        );
    }

    #[test]
    fn a_type_change_away_from_load_balancer_releases_only_when_our_finalizer_is_on() {
        assert_eq!(
            phase(&with_finalizer(svc("NodePort")), None),
            Phase::Release
        );
        assert_eq!(
            phase(&with_finalizer(svc("ClusterIP")), None),
            Phase::Release
        );
        assert_eq!(phase(&svc("NodePort"), None), Phase::Ignore);
    }

    #[test]
    fn deletion_cleans_up_while_the_finalizer_is_on_and_is_done_after() {
        assert_eq!(
            phase(&deleting(with_finalizer(svc("LoadBalancer"))), None),
            Phase::Cleanup
        );
        assert_eq!(
            phase(&deleting(with_finalizer(svc("ClusterIP"))), None),
            Phase::Cleanup
        );
        assert_eq!(phase(&deleting(svc("LoadBalancer")), None), Phase::Gone);
    }

    #[test]
    fn the_class_selects_class_less_services_and_our_own_class_only() {
        let other = with_class(svc("LoadBalancer"), "example.com/other");
        assert_eq!(
            phase(&other, None),
            Phase::Ignore,
            "unset class: class-less only"
        );
        assert_eq!(phase(&other, Some("kks-lb")), Phase::Ignore);
        assert_eq!(phase(&other, Some("example.com/other")), Phase::Ensure);
        assert_eq!(phase(&svc("LoadBalancer"), Some("kks-lb")), Phase::Ensure);
        assert_eq!(
            phase(&with_finalizer(other), Some("kks-lb")),
            Phase::Release,
            "a Service that moved to another class is released"
        );
    }

    fn spec_of(s: &Service) -> LbSpec {
        parse(s, &Defaults::default()).unwrap().spec
    }

    fn outcome() -> Outcome {
        Outcome {
            loadbalancer_id: Some("lb-1".into()),
            vip_address: Some("10.0.0.5".into()),
            vip_port_id: Some("port-1".into()),
            floating_ip: Some("203.0.113.7".into()),
            steps_done: 1,
            ids: std::collections::BTreeMap::new(),
            state: None,
        }
    }

    #[test]
    fn external_services_get_the_floating_ip_and_internal_ones_the_vip() {
        let mut spec = spec_of(&svc("LoadBalancer"));
        let ing = ingress(&spec, &outcome()).unwrap();
        assert_eq!(ing.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(ing.ip_mode.as_deref(), Some("VIP"));
        spec.internal = true;
        assert_eq!(
            ingress(&spec, &outcome()).unwrap().ip.as_deref(),
            Some("10.0.0.5")
        );
        spec.internal = false;
        let no_fip = Outcome {
            floating_ip: None,
            ..outcome()
        };
        assert_eq!(ingress(&spec, &no_fip), None, "no address yet, no ingress");
    }

    #[test]
    fn proxy_protocol_sets_ip_mode_proxy_and_a_hostname_replaces_the_ip() {
        let mut spec = spec_of(&svc("LoadBalancer"));
        spec.proxy_protocol = ProxyProtocol::V2;
        assert_eq!(
            ingress(&spec, &outcome()).unwrap().ip_mode.as_deref(),
            Some("Proxy")
        );
        spec.hostname = Some("lb.example.com".into());
        let ing = ingress(&spec, &outcome()).unwrap();
        assert_eq!(ing.hostname.as_deref(), Some("lb.example.com"));
        assert_eq!(ing.ip, None);
    }

    fn now() -> Timestamp {
        "2030-01-02T03:04:05Z".parse().unwrap()
    }

    fn applied(mut s: Service, patch: &Value) -> Service {
        // Apply a status patch the way the API server would, for the fields we write.
        let st = &patch["status"];
        let mut status = s.status.take().unwrap_or_default();
        if let Some(lb) = st.get("loadBalancer") {
            status.load_balancer = Some(LoadBalancerStatus {
                ingress: serde_json::from_value(lb["ingress"].clone()).unwrap(),
            });
        }
        if let Some(c) = st.get("conditions") {
            status.conditions = Some(serde_json::from_value(c.clone()).unwrap());
        }
        s.status = Some(status);
        s
    }

    #[test]
    fn the_status_patch_is_empty_once_the_status_is_what_we_want() {
        let s = svc("LoadBalancer");
        let ing = IngressUpdate::Set(vec![ingress(&spec_of(&s), &outcome()).unwrap()]);
        let ready = Readiness::ready("EnsuredLoadBalancer", "ready at 203.0.113.7");
        let patch = status_patch(&s, &ing, &ready, now()).unwrap();
        assert_eq!(
            patch["status"]["loadBalancer"]["ingress"][0]["ip"],
            "203.0.113.7"
        );
        let cond = &patch["status"]["conditions"][0];
        assert_eq!(cond["type"], CONDITION_TYPE);
        assert_eq!(cond["status"], "True");
        assert_eq!(cond["observedGeneration"], 3);
        let s = applied(s, &patch);
        assert_eq!(status_patch(&s, &ing, &ready, now()), None);
    }

    #[test]
    fn the_transition_time_moves_only_when_the_condition_flips() {
        let s = svc("LoadBalancer");
        let earlier: Timestamp = "2029-01-01T00:00:00Z".parse().unwrap();
        let pending = Readiness::pending("LoadBalancerError", "first failure");
        let s = applied(
            s.clone(),
            &status_patch(&s, &IngressUpdate::Keep, &pending, earlier).unwrap(),
        );
        let again = Readiness::pending("LoadBalancerError", "second failure");
        let patch = status_patch(&s, &IngressUpdate::Keep, &again, now()).unwrap();
        assert_eq!(
            patch["status"]["conditions"][0]["lastTransitionTime"],
            earlier.to_string(),
            "still False: the transition time stays"
        );
        assert!(
            patch["status"].get("loadBalancer").is_none(),
            "ingress kept"
        );
        let ready = Readiness::ready("EnsuredLoadBalancer", "ok");
        let patch = status_patch(&s, &IngressUpdate::Keep, &ready, now()).unwrap();
        assert_eq!(
            patch["status"]["conditions"][0]["lastTransitionTime"],
            now().to_string()
        );
    }

    /// Applies a status patch's conditions the way the API server's strategic merge does:
    /// by `type`, `$patch: delete` removing one.
    fn merged(mut s: Service, patch: &Value) -> Service {
        let mut status = s.status.take().unwrap_or_default();
        let mut conditions = status.conditions.take().unwrap_or_default();
        for c in patch["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let t = c["type"].as_str().unwrap();
            conditions.retain(|have| have.type_ != t);
            if c.get("$patch").is_none() {
                conditions.push(serde_json::from_value(c.clone()).unwrap());
            }
        }
        status.conditions = Some(conditions);
        s.status = Some(status);
        s
    }

    #[test]
    fn the_members_condition_joins_the_status_patch_and_leaves_readiness_alone() {
        let s = svc("LoadBalancer");
        let ready = Readiness::ready("EnsuredLoadBalancer", "ok");
        let down = MembersCondition::new(
            ConditionStatus::False,
            "MembersDown",
            "1 of 3 members OFFLINE: node-3",
        );
        let patch = with_members_condition(
            status_patch(&s, &IngressUpdate::Keep, &ready, now()),
            &s,
            &down,
            now(),
        )
        .unwrap();
        let conditions = patch["status"]["conditions"].as_array().unwrap();
        assert_eq!(conditions.len(), 2);
        assert_eq!(conditions[0]["type"], CONDITION_TYPE);
        assert_eq!(conditions[0]["status"], "True");
        assert_eq!(conditions[1]["type"], MEMBERS_CONDITION_TYPE);
        assert_eq!(conditions[1]["status"], "False");
        assert_eq!(conditions[1]["reason"], "MembersDown");
        assert_eq!(conditions[1]["observedGeneration"], 3);
        let s = merged(s, &patch);

        // Steady state: nothing to write.
        let again = status_patch(&s, &IngressUpdate::Keep, &ready, now());
        assert_eq!(again, None);
        assert_eq!(with_members_condition(None, &s, &down, now()), None);

        // Only the members change: a patch with that condition alone; the transition time
        // moves only when the status flips.
        let later: Timestamp = "2030-01-02T04:00:00Z".parse().unwrap();
        let two = MembersCondition::new(
            ConditionStatus::False,
            "MembersDown",
            "2 of 3 members OFFLINE: node-2, node-3",
        );
        let p = with_members_condition(None, &s, &two, later).unwrap();
        let c = &p["status"]["conditions"];
        assert_eq!(c.as_array().unwrap().len(), 1);
        assert_eq!(c[0]["lastTransitionTime"], now().to_string());
        assert!(p["status"].get("loadBalancer").is_none());
        let s = merged(s, &p);
        let ok = MembersCondition::new(ConditionStatus::True, "MembersHealthy", "3 of 3 ONLINE");
        let p = with_members_condition(None, &s, &ok, later).unwrap();
        assert_eq!(
            p["status"]["conditions"][0]["lastTransitionTime"],
            later.to_string()
        );
        let s = merged(s, &p);
        assert_eq!(members_condition(&s).unwrap().status, "True");
        assert_eq!(
            s.status
                .as_ref()
                .unwrap()
                .conditions
                .as_ref()
                .unwrap()
                .len(),
            2,
            "LoadBalancerReady is still there"
        );

        // A release removes both.
        let r = release_status_patch(&s).unwrap();
        let types: Vec<&str> = r["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, [CONDITION_TYPE, MEMBERS_CONDITION_TYPE]);
        assert!(members_condition(&merged(s, &r)).is_none());
    }

    #[test]
    fn release_clears_ingress_condition_annotations_and_only_our_finalizer() {
        let mut s = with_finalizer(svc("NodePort"));
        s.metadata.annotations = Some(BTreeMap::from([
            (keys::LOAD_BALANCER_ID.to_owned(), "lb-1".to_owned()),
            (
                keys::LOAD_BALANCER_ADDRESS.to_owned(),
                "203.0.113.7".to_owned(),
            ),
            ("team".to_owned(), "web".to_owned()),
        ]));
        let ing = IngressUpdate::Set(vec![
            ingress(&spec_of(&svc("LoadBalancer")), &outcome()).unwrap(),
        ]);
        let ready = Readiness::ready("EnsuredLoadBalancer", "ok");
        let s = applied(s.clone(), &status_patch(&s, &ing, &ready, now()).unwrap());

        let st = release_status_patch(&s).unwrap();
        assert_eq!(st["status"]["loadBalancer"], json!({"ingress": null}));
        assert_eq!(st["status"]["conditions"][0]["$patch"], "delete");

        let meta = release_metadata_patch(&s).unwrap();
        assert_eq!(
            meta,
            json!({"metadata": {
                "annotations": {
                    keys::LOAD_BALANCER_ID: null,
                    keys::LOAD_BALANCER_ADDRESS: null,
                },
                "finalizers": ["other/keep"],
                "resourceVersion": "42",
            }})
        );
        assert_eq!(release_metadata_patch(&svc("NodePort")), None);
        assert_eq!(release_status_patch(&svc("NodePort")), None);
    }

    #[test]
    fn annotations_are_patched_only_when_they_differ() {
        let mut s = svc("LoadBalancer");
        let patch = annotations_patch(&s, "lb-1", Some("203.0.113.7")).unwrap();
        assert_eq!(
            patch["metadata"]["annotations"],
            json!({keys::LOAD_BALANCER_ID: "lb-1", keys::LOAD_BALANCER_ADDRESS: "203.0.113.7"})
        );
        s.metadata.annotations = Some(BTreeMap::from([
            (keys::LOAD_BALANCER_ID.to_owned(), "lb-1".to_owned()),
            (
                keys::LOAD_BALANCER_ADDRESS.to_owned(),
                "203.0.113.7".to_owned(),
            ),
        ]));
        assert_eq!(annotations_patch(&s, "lb-1", Some("203.0.113.7")), None);
        assert_eq!(annotations_patch(&s, "lb-1", None), None);
        assert_eq!(
            annotated(&svc("LoadBalancer"), "lb-1", Some("203.0.113.7"))
                .metadata
                .annotations,
            s.metadata.annotations,
            "the local view of our write equals what the patch makes"
        );
        assert_eq!(
            annotations_patch(&s, "lb-2", Some("203.0.113.7")).unwrap()["metadata"]["annotations"],
            json!({keys::LOAD_BALANCER_ID: "lb-2"})
        );
    }

    #[test]
    fn the_trigger_key_ignores_outputs_and_sees_every_input() {
        let s = with_finalizer(svc("LoadBalancer"));
        let key = TriggerKey::of(&s);

        let mut status_only = s.clone();
        status_only.status = Some(ServiceStatus::default());
        assert_eq!(TriggerKey::of(&status_only), key, "status is an output");

        let mut address = s.clone();
        address.metadata.annotations = Some(BTreeMap::from([(
            keys::LOAD_BALANCER_ADDRESS.to_owned(),
            "203.0.113.7".to_owned(),
        )]));
        assert_eq!(
            TriggerKey::of(&address),
            key,
            "the address is informational"
        );

        let mut user = s.clone();
        user.metadata.annotations = Some(BTreeMap::from([(
            keys::LB_METHOD.to_owned(),
            "SOURCE_IP".to_owned(),
        )]));
        assert_ne!(TriggerKey::of(&user), key, "annotations are inputs");

        let mut id = s.clone();
        id.metadata.annotations = Some(BTreeMap::from([(
            keys::LOAD_BALANCER_ID.to_owned(),
            "c0ffee00-0000-4000-8000-000000000000".to_owned(),
        )]));
        assert_ne!(TriggerKey::of(&id), key, "the id selects the load balancer");

        let mut spec = s.clone();
        spec.metadata.generation = Some(4);
        assert_ne!(TriggerKey::of(&spec), key);
        assert_ne!(TriggerKey::of(&deleting(s.clone())), key);
        assert_ne!(TriggerKey::of(&svc("LoadBalancer")), key, "finalizer added");
    }

    #[test]
    fn node_digests_ignore_heartbeats_but_not_labels_or_addresses() {
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": "n1", "labels": {"pool": "web"}},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "10.0.0.11"}],
                "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2030-01-01T00:00:00Z"}]
            }
        }))
        .unwrap();
        let d = node_digest(&node);
        let mut beat = node.clone();
        if let Some(c) = beat
            .status
            .as_mut()
            .and_then(|s| s.conditions.as_mut())
            .and_then(|c| c.first_mut())
        {
            c.last_heartbeat_time = Some(Time(now()));
        }
        assert_eq!(node_digest(&beat), d);
        let mut relabelled = node.clone();
        relabelled.metadata.labels = Some(BTreeMap::from([("pool".into(), "db".into())]));
        assert_ne!(node_digest(&relabelled), d);
        let mut moved = node;
        if let Some(a) = moved
            .status
            .as_mut()
            .and_then(|s| s.addresses.as_mut())
            .and_then(|a| a.first_mut())
        {
            a.address = "10.0.0.12".into();
        }
        assert_ne!(node_digest(&moved), d);
    }

    #[test]
    fn messages_are_cut_on_character_boundaries() {
        assert_eq!(cut("héllo".into(), 2), "h");
        assert_eq!(cut("hello".into(), 10), "hello");
        let long = Readiness::pending("LoadBalancerError", "x".repeat(5000));
        assert_eq!(long.message.len(), MAX_MESSAGE);
    }

    #[test]
    fn a_condition_from_the_api_compares_equal_to_what_we_wrote() {
        let mut s = svc("LoadBalancer");
        s.status = Some(ServiceStatus {
            conditions: Some(vec![Condition {
                type_: CONDITION_TYPE.into(),
                status: "False".into(),
                reason: "InvalidAnnotation".into(),
                message: "bad".into(),
                observed_generation: Some(3),
                last_transition_time: Time(now()),
            }]),
            load_balancer: None,
        });
        let same = Readiness::pending("InvalidAnnotation", "bad");
        assert_eq!(status_patch(&s, &IngressUpdate::Keep, &same, now()), None);
        assert_eq!(
            status_patch(&s, &IngressUpdate::Clear, &same, now()),
            None,
            "nothing to clear"
        );
    }
}
