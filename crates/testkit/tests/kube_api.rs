//! The Kubernetes API emulator through the real kube-rs client: CRUD, patch types,
//! status subresource, finalizers, optimistic concurrency, selectors, paging, discovery,
//! Events and Leases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    Event as CoreEvent, Namespace, Node, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kks_lb_testkit::kube_api::{EmulatorError, Fault, KubeEmulator, ResourceType};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::PartialObjectMeta;
use kube::runtime::events::{Event as RecorderEvent, EventType, Recorder, Reporter};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

fn client(emu: &KubeEmulator) -> Client {
    Client::try_from(kube::Config::new(emu.url().parse().unwrap())).unwrap()
}

fn service(name: &str, ty: &str) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some(ty.into()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn api_error(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn service_crud_round_trips_with_server_defaults() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");

    let created = api
        .create(&PostParams::default(), &service("web", "LoadBalancer"))
        .await
        .unwrap();
    let spec = created.spec.clone().unwrap();
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.metadata.generation, Some(1));
    assert!(spec.cluster_ip.as_deref().unwrap().starts_with("10.96."));
    let port = &spec.ports.unwrap()[0];
    assert_eq!(port.protocol.as_deref(), Some("TCP"));
    let node_port = port.node_port.unwrap();
    assert!((30000..=32767).contains(&node_port));
    assert_eq!(spec.external_traffic_policy.as_deref(), Some("Cluster"));
    assert_eq!(spec.session_affinity.as_deref(), Some("None"));
    assert_eq!(spec.ip_families, Some(vec!["IPv4".to_string()]));

    let fetched = api.get("web").await.unwrap();
    assert_eq!(fetched.metadata.uid, created.metadata.uid);

    let dup = api
        .create(&PostParams::default(), &service("web", "ClusterIP"))
        .await
        .unwrap_err();
    let status = api_error(dup);
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists")
    );

    let listed = api.list(&ListParams::default()).await.unwrap();
    let names: Vec<String> = listed.iter().map(ResourceExt::name_any).collect();
    assert_eq!(names, vec!["kubernetes", "web"]);

    // Switching to ClusterIP releases the NodePort; the ClusterIP stays.
    let mut cluster_ip = fetched.clone();
    cluster_ip.spec.as_mut().unwrap().type_ = Some("ClusterIP".into());
    let replaced = api
        .replace("web", &PostParams::default(), &cluster_ip)
        .await
        .unwrap();
    let spec = replaced.spec.unwrap();
    assert_eq!(spec.ports.unwrap()[0].node_port, None);
    assert_eq!(spec.external_traffic_policy, None);
    assert_eq!(spec.cluster_ip, created.spec.unwrap().cluster_ip);
    assert_eq!(replaced.metadata.generation, Some(2));

    api.delete("web", &DeleteParams::default()).await.unwrap();
    let gone = api_error(api.get("web").await.unwrap_err());
    assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"));
    assert_eq!(gone.message, "services \"web\" not found");
}

#[tokio::test]
async fn stale_replace_gets_409_conflict() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    let first = api
        .create(&PostParams::default(), &service("web", "ClusterIP"))
        .await
        .unwrap();
    let mut a = first.clone();
    a.labels_mut().insert("writer".into(), "a".into());
    api.replace("web", &PostParams::default(), &a)
        .await
        .unwrap();

    let mut b = first;
    b.labels_mut().insert("writer".into(), "b".into());
    let status = api_error(
        api.replace("web", &PostParams::default(), &b)
            .await
            .unwrap_err(),
    );
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(status.message.contains("the object has been modified"));
    assert_eq!(api.get("web").await.unwrap().labels()["writer"], "a");
}

#[tokio::test]
async fn every_patch_type_applies_with_its_own_semantics() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    api.create(&PostParams::default(), &service("web", "LoadBalancer"))
        .await
        .unwrap();
    let pp = PatchParams::default();

    // JSON merge: null deletes, maps merge.
    api.patch(
        "web",
        &pp,
        &Patch::Merge(json!({"metadata": {"annotations": {"a": "1", "b": "2"}}})),
    )
    .await
    .unwrap();
    let merged = api
        .patch(
            "web",
            &pp,
            &Patch::Merge(json!({"metadata": {"annotations": {"a": null}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        merged.annotations(),
        &BTreeMap::from([("b".to_string(), "2".to_string())])
    );

    // Strategic merge: finalizers union, ports merge by port.
    api.patch(
        "web",
        &pp,
        &Patch::Strategic(json!({"metadata": {"finalizers": ["x.io/a"]}})),
    )
    .await
    .unwrap();
    let strategic = api
        .patch(
            "web",
            &pp,
            &Patch::Strategic(json!({
                "metadata": {"finalizers": ["x.io/b"]},
                "spec": {"ports": [{"port": 443, "name": "https"}]},
            })),
        )
        .await
        .unwrap();
    assert_eq!(strategic.finalizers(), ["x.io/a", "x.io/b"]);
    let ports: Vec<i32> = strategic
        .spec
        .unwrap()
        .ports
        .unwrap()
        .iter()
        .map(|p| p.port)
        .collect();
    assert_eq!(ports, vec![80, 443]);

    // JSON patch, including kube-runtime's test-then-remove finalizer idiom.
    let json_patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "x.io/a"},
        {"op": "remove", "path": "/metadata/finalizers/0"},
    ]))
    .unwrap();
    let patched = api
        .patch("web", &pp, &Patch::Json::<()>(json_patch))
        .await
        .unwrap();
    assert_eq!(patched.finalizers(), ["x.io/b"]);

    // A failed test op is 422 Invalid, like the real API server.
    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "x.io/a"},
        {"op": "remove", "path": "/metadata/finalizers/0"},
    ]))
    .unwrap();
    let status = api_error(
        api.patch("web", &pp, &Patch::Json::<()>(failing))
            .await
            .unwrap_err(),
    );
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(api.get("web").await.unwrap().finalizers(), ["x.io/b"]);

    // A resourceVersion in a merge patch is a precondition.
    let stale = api
        .patch(
            "web",
            &pp,
            &Patch::Merge(json!({"metadata": {"resourceVersion": "1", "labels": {"x": "y"}}})),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(stale).code, 409);
}

#[tokio::test]
async fn server_side_apply_tracks_owners_and_conflicts() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");

    let applied = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "annotations": {"team": "a", "tier": "web"}},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80}]},
    });
    let created = api
        .patch("web", &PatchParams::apply("user"), &Patch::Apply(&applied))
        .await
        .unwrap();
    assert_eq!(
        created.spec.as_ref().unwrap().type_.as_deref(),
        Some("LoadBalancer")
    );
    let managers: Vec<String> = created
        .managed_fields()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, vec!["user"]);

    // Another manager changing the user's field conflicts unless forced.
    let takeover = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"type": "NodePort"}});
    let status = api_error(
        api.patch(
            "web",
            &PatchParams::apply("other"),
            &Patch::Apply(&takeover),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(status.code, 409);
    assert!(
        status.message.contains("conflict with \"user\""),
        "{}",
        status.message
    );
    let forced = api
        .patch(
            "web",
            &PatchParams::apply("other").force(),
            &Patch::Apply(&takeover),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.unwrap().type_.as_deref(), Some("NodePort"));

    // Dropping a field from the applied config removes it.
    let fewer = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "annotations": {"team": "a"}},
        "spec": {"ports": [{"name": "http", "port": 80}]},
    });
    let pruned = api
        .patch(
            "web",
            &PatchParams::apply("user").force(),
            &Patch::Apply(&fewer),
        )
        .await
        .unwrap();
    assert_eq!(
        pruned.annotations(),
        &BTreeMap::from([("team".to_string(), "a".to_string())])
    );

    // Apply on /status writes status only.
    let status_apply = json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": "ClusterIP"},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}},
    });
    let with_status = api
        .patch_status(
            "web",
            &PatchParams::apply("ctl").force(),
            &Patch::Apply(&status_apply),
        )
        .await
        .unwrap();
    assert_eq!(with_status.spec.unwrap().type_.as_deref(), Some("NodePort"));
    let ingress = with_status
        .status
        .unwrap()
        .load_balancer
        .unwrap()
        .ingress
        .unwrap();
    assert_eq!(ingress[0].ip.as_deref(), Some("203.0.113.7"));
}

#[tokio::test]
async fn status_subresource_is_kept_apart_from_the_main_resource() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    let mut with_status = service("web", "LoadBalancer");
    with_status.status = Some(
        serde_json::from_value(json!({"loadBalancer": {"ingress": [{"ip": "1.1.1.1"}]}})).unwrap(),
    );
    let created = api
        .create(&PostParams::default(), &with_status)
        .await
        .unwrap();
    // Create resets status, as the Service strategy does.
    assert_eq!(created.status.unwrap().load_balancer.unwrap().ingress, None);

    let ingress = json!({"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}});
    let after_status = api
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&ingress))
        .await
        .unwrap();
    assert_eq!(
        after_status
            .status
            .as_ref()
            .unwrap()
            .load_balancer
            .as_ref()
            .unwrap()
            .ingress
            .as_ref()
            .unwrap()[0]
            .ip
            .as_deref(),
        Some("203.0.113.10")
    );
    // Status writes do not bump generation and ignore spec.
    assert_eq!(after_status.metadata.generation, Some(1));
    let spec_via_status = api
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"type": "ClusterIP"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        spec_via_status.spec.unwrap().type_.as_deref(),
        Some("LoadBalancer")
    );

    // Main-resource writes ignore status.
    let main = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"loadBalancer": {"ingress": []}}, "metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .unwrap();
    assert_eq!(main.labels()["a"], "b");
    assert_eq!(
        main.status.unwrap().load_balancer.unwrap().ingress.unwrap()[0]
            .ip
            .as_deref(),
        Some("203.0.113.10")
    );
    let fetched = api.get_status("web").await.unwrap();
    assert!(fetched.status.is_some());
}

#[tokio::test]
async fn finalizers_hold_deletion_until_the_last_one_is_removed() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    let mut svc = service("web", "LoadBalancer");
    svc.metadata.finalizers = Some(vec!["kks-lb.io/cleanup".into()]);
    let created = api.create(&PostParams::default(), &svc).await.unwrap();
    let rv = created.resource_version().unwrap();
    let mut events = api
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();

    let deleted = api.delete("web", &DeleteParams::default()).await.unwrap();
    let pending = deleted
        .left()
        .expect("object returned while finalizers remain");
    assert!(pending.metadata.deletion_timestamp.is_some());
    let Some(WatchEvent::Modified(marked)) = events.try_next().await.unwrap() else {
        panic!("expected MODIFIED");
    };
    assert!(marked.metadata.deletion_timestamp.is_some());

    // No new finalizers while deleting.
    let add = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["kks-lb.io/cleanup", "other"]}})),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(add).code, 422);

    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let Some(WatchEvent::Deleted(gone)) = events.try_next().await.unwrap() else {
        panic!("expected DELETED");
    };
    assert_eq!(gone.name_any(), "web");
    assert!(api.get_opt("web").await.unwrap().is_none());
    // The NodePort is free again.
    let again = api
        .create(&PostParams::default(), &service("web2", "NodePort"))
        .await
        .unwrap();
    assert!(again.spec.unwrap().ports.unwrap()[0].node_port.is_some());
}

#[tokio::test]
async fn selectors_and_paging_narrow_lists() {
    let emu = KubeEmulator::start_with(kks_lb_testkit::kube_api::EmulatorConfig {
        kubernetes_service: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    for (name, ty, app) in [
        ("a", "LoadBalancer", "web"),
        ("b", "ClusterIP", "web"),
        ("c", "LoadBalancer", "db"),
        ("d", "NodePort", "cache"),
    ] {
        let mut svc = service(name, ty);
        svc.labels_mut().insert("app".into(), app.into());
        api.create(&PostParams::default(), &svc).await.unwrap();
    }
    let names = |list: kube::core::ObjectList<Service>| -> Vec<String> {
        list.iter().map(ResourceExt::name_any).collect()
    };
    let by_label = api
        .list(&ListParams::default().labels("app in (web,db),app!=db"))
        .await
        .unwrap();
    assert_eq!(names(by_label), vec!["a", "b"]);
    let by_field = api
        .list(&ListParams::default().fields("spec.type=LoadBalancer"))
        .await
        .unwrap();
    assert_eq!(names(by_field), vec!["a", "c"]);
    let by_both = api
        .list(
            &ListParams::default()
                .fields("metadata.name!=a")
                .labels("app"),
        )
        .await
        .unwrap();
    assert_eq!(names(by_both), vec!["b", "c", "d"]);

    let page1 = api.list(&ListParams::default().limit(3)).await.unwrap();
    let token = page1.metadata.continue_.clone().unwrap();
    assert_eq!(page1.metadata.remaining_item_count, Some(1));
    assert_eq!(names(page1), vec!["a", "b", "c"]);
    let page2 = api
        .list(&ListParams::default().limit(3).continue_token(&token))
        .await
        .unwrap();
    assert!(page2.metadata.continue_.is_none());
    assert_eq!(names(page2), vec!["d"]);

    let bad = api
        .list(&ListParams::default().labels("a in b"))
        .await
        .unwrap_err();
    assert_eq!(api_error(bad).code, 400);
}

#[tokio::test]
async fn discovery_version_and_metadata_only_requests_work() {
    let emu = KubeEmulator::start().await.unwrap();
    let client = client(&emu);
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "33")
    );

    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    let groups: Vec<String> = discovery.groups().map(|g| g.name().to_string()).collect();
    for group in [
        "",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
    ] {
        assert!(groups.iter().any(|g| g == group), "{group} in {groups:?}");
    }

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let kube_system = namespaces.get("kube-system").await.unwrap();
    assert_eq!(
        kube_system.metadata.uid.as_deref(),
        Some(emu.kube_system_uid())
    );

    emu.add_node("node-1", "10.0.0.11").unwrap();
    let nodes: Api<Node> = Api::all(client.clone());
    let metas = nodes.list_metadata(&ListParams::default()).await.unwrap();
    let only: Vec<&PartialObjectMeta<Node>> = metas.items.iter().collect();
    assert_eq!(only.len(), 1);
    assert_eq!(
        only[0].metadata.labels.as_ref().unwrap()["kubernetes.io/hostname"],
        "node-1"
    );
    let meta = nodes.get_metadata("node-1").await.unwrap();
    assert_eq!(
        meta.types.as_ref().map(|t| t.kind.as_str()),
        Some("PartialObjectMetadata")
    );
}

#[tokio::test]
async fn writes_into_missing_namespaces_and_bad_bodies_are_rejected() {
    let emu = KubeEmulator::start().await.unwrap();
    let client = client(&emu);
    let missing: Api<Service> = Api::namespaced(client.clone(), "nope");
    let mut elsewhere = service("web", "ClusterIP");
    elsewhere.metadata.namespace = None;
    let status = api_error(
        missing
            .create(&PostParams::default(), &elsewhere)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status.code, status.message.as_str()),
        (404, "namespaces \"nope\" not found")
    );
    let mismatched = api_error(
        missing
            .create(&PostParams::default(), &service("web", "ClusterIP"))
            .await
            .unwrap_err(),
    );
    assert_eq!(mismatched.code, 400);

    let api: Api<Service> = Api::namespaced(client, "default");
    let mut bad = service("Web_Bad", "LoadBalancer");
    bad.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 70000;
    let status = api_error(api.create(&PostParams::default(), &bad).await.unwrap_err());
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert!(
        status.message.contains("metadata.name"),
        "{}",
        status.message
    );
    assert!(
        status.message.contains("spec.ports[0].port"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn recorder_publishes_and_aggregates_events() {
    let emu = KubeEmulator::start().await.unwrap();
    let client = client(&emu);
    let svc = emu.create_service(&service("web", "LoadBalancer")).unwrap();
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "kks-lb".into(),
            instance: Some("kks-lb-0".into()),
        },
    );
    let event = RecorderEvent {
        type_: EventType::Normal,
        reason: "EnsuredLoadBalancer".into(),
        note: Some("Ensured load balancer".into()),
        action: "Ensure".into(),
        secondary: None,
    };
    recorder
        .publish(&event, &svc.object_ref(&()))
        .await
        .unwrap();
    let events = emu.events_for("default", "web").unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason.as_deref(), Some("EnsuredLoadBalancer"));
    assert_eq!(events[0].reporting_controller.as_deref(), Some("kks-lb"));
    assert!(events[0].series.is_none());

    // The second identical event PATCHes the first into a series.
    recorder
        .publish(&event, &svc.object_ref(&()))
        .await
        .unwrap();
    let events = emu.events_for("default", "web").unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].series.as_ref().map(|s| s.count), Some(2));

    // The same Event is visible through core/v1.
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let core_events = core.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        core_events.items[0].message.as_deref(),
        Some("Ensured load balancer")
    );
    assert_eq!(
        core_events.items[0].involved_object.name.as_deref(),
        Some("web")
    );

    // events.k8s.io validation: a note over 1 KiB is refused.
    let long = RecorderEvent {
        note: Some("x".repeat(2000)),
        reason: "TooLong".into(),
        ..event
    };
    let err = recorder
        .publish(&long, &svc.object_ref(&()))
        .await
        .unwrap_err();
    assert_eq!(api_error(err).code, 422);
    let all: Api<Event> = Api::all(client);
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
}

#[tokio::test]
async fn lease_renewal_uses_optimistic_concurrency() {
    let emu = KubeEmulator::start().await.unwrap();
    let leases: Api<Lease> = Api::namespaced(client(&emu), "kube-system");
    let now = || MicroTime(k8s_openapi::jiff::Timestamp::now());
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("kks-lb".into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("replica-a".into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(now()),
            renew_time: Some(now()),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        }),
    };
    let created = leases.create(&PostParams::default(), &lease).await.unwrap();

    // Replica A renews; replica B, racing with the same stale copy, loses.
    let mut renew = created.clone();
    renew.spec.as_mut().unwrap().renew_time = Some(now());
    renew.spec.as_mut().unwrap().lease_duration_seconds = Some(16);
    let renewed = leases
        .replace("kks-lb", &PostParams::default(), &renew)
        .await
        .unwrap();
    assert_ne!(
        renewed.metadata.resource_version,
        created.metadata.resource_version
    );

    let mut steal = created;
    steal.spec.as_mut().unwrap().holder_identity = Some("replica-b".into());
    let status = api_error(
        leases
            .replace("kks-lb", &PostParams::default(), &steal)
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 409);

    // With the fresh copy B can take over.
    let mut fresh = leases.get("kks-lb").await.unwrap();
    let spec = fresh.spec.as_mut().unwrap();
    spec.holder_identity = Some("replica-b".into());
    spec.lease_transitions = Some(1);
    let taken = leases
        .replace("kks-lb", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_eq!(
        taken.spec.unwrap().holder_identity.as_deref(),
        Some("replica-b")
    );
}

#[tokio::test]
async fn endpoint_slices_are_listed_by_service_label_and_validated() {
    let emu = KubeEmulator::start().await.unwrap();
    let slices: Api<EndpointSlice> = Api::namespaced(client(&emu), "default");
    let slice = |name: &str, service: &str| -> EndpointSlice {
        serde_json::from_value(json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.1.0.5"], "nodeName": "node-1", "conditions": {"ready": true}}],
            "ports": [{"port": 8080, "protocol": "TCP"}],
        }))
        .unwrap()
    };
    slices
        .create(&PostParams::default(), &slice("web-abc", "web"))
        .await
        .unwrap();
    slices
        .create(&PostParams::default(), &slice("db-xyz", "db"))
        .await
        .unwrap();
    let for_web = slices
        .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
        .await
        .unwrap();
    assert_eq!(for_web.items.len(), 1);
    assert_eq!(
        for_web.items[0].endpoints[0].node_name.as_deref(),
        Some("node-1")
    );

    let mut invalid = serde_json::to_value(slice("bad", "web")).unwrap();
    invalid["addressType"] = json!("IPv5");
    let invalid: EndpointSlice = serde_json::from_value(invalid).unwrap();
    let status = api_error(
        slices
            .create(&PostParams::default(), &invalid)
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 422);
}

#[tokio::test]
async fn handle_controls_nodes_services_and_faults() {
    let emu = KubeEmulator::start().await.unwrap();
    let client = client(&emu);
    emu.add_node("node-1", "10.0.0.11").unwrap();
    emu.add_node("node-2", "10.0.0.12").unwrap();
    emu.label_node(
        "node-2",
        "node.kubernetes.io/exclude-from-external-load-balancers",
        Some(""),
    )
    .unwrap();
    emu.set_node_ready("node-1", false).unwrap();
    let nodes: Api<Node> = Api::all(client.clone());
    let excluded = nodes
        .list(
            &ListParams::default()
                .labels("node.kubernetes.io/exclude-from-external-load-balancers"),
        )
        .await
        .unwrap();
    assert_eq!(excluded.items.len(), 1);
    let n1 = nodes.get("node-1").await.unwrap();
    let ready = n1.status.unwrap().conditions.unwrap();
    assert_eq!(
        ready.iter().find(|c| c.type_ == "Ready").unwrap().status,
        "False"
    );
    assert!(emu.remove_node("node-1").unwrap());
    assert!(!emu.remove_node("node-1").unwrap());

    emu.create_service(&service("web", "LoadBalancer")).unwrap();
    let edited = emu
        .edit_service("default", "web", |svc| {
            svc.annotations_mut().insert("k".into(), "v".into());
        })
        .unwrap();
    assert_eq!(edited.annotations()["k"], "v");
    assert_eq!(
        emu.get_service("default", "web")
            .unwrap()
            .unwrap()
            .annotations()["k"],
        "v"
    );
    let missing = emu.edit_service("default", "nope", |_| {}).unwrap_err();
    assert!(matches!(missing, EmulatorError::Api(ref e) if e.code == 404));
    assert!(
        emu.get_value(ResourceType::LEASES, Some("kube-system"), "x")
            .unwrap()
            .is_none()
    );

    emu.inject(Fault::latency("GET", "/services/web", Duration::from_millis(20)).times(1));
    emu.inject(Fault::error("GET", "/services/web", 500).times(1));
    let api: Api<Service> = Api::namespaced(client, "default");
    let status = api_error(api.get("web").await.unwrap_err());
    assert_eq!(
        (status.code, status.reason.as_str()),
        (500, "InternalError")
    );
    assert!(api.get("web").await.is_ok());
    let audit = emu.audit_log();
    let gets: Vec<_> = audit
        .iter()
        .filter(|e| e.path.ends_with("/services/web"))
        .collect();
    assert_eq!(gets.len(), 2);
    assert!(gets[0].injected && gets[0].status == 500);
    assert!(!gets[1].injected && gets[1].status == 200);
    assert_eq!(emu.count_requests("GET", "/services/web"), 2);

    let waited = emu
        .wait_for::<Service>(Some("default"), "web", Duration::from_secs(5), |s| {
            s.is_some_and(|s| s.annotations().contains_key("k"))
        })
        .await
        .unwrap();
    assert!(waited.is_some());
    let timed_out = emu
        .wait_for::<Service>(Some("default"), "never", Duration::from_millis(50), |s| {
            s.is_some()
        })
        .await
        .unwrap_err();
    assert!(matches!(timed_out, EmulatorError::Timeout(_)));
}
