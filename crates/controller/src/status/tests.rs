//! Unit tests of the status decisions.

use super::*;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LoadBalancerStatus, ServiceSpec};
use k8s_openapi::api::core::v1::{Node, Service, ServiceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kks_lb_adapter::Outcome;
use kks_lb_annotations::{Defaults, parse};
use kks_lb_annotations::{LbSpec, ProxyProtocol, keys};
use serde_json::{Value, json};

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
