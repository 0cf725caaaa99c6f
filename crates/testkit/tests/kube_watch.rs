//! Watches against the Kubernetes API emulator: resumption, 410 Expired, bookmarks,
//! streaming lists, selector transitions, timeouts, and kube-runtime reflectors that
//! converge after the emulator drops their connections.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kks_lb_testkit::kube_api::{EmulatorConfig, Fault, KubeEmulator};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;

fn client(emu: &KubeEmulator) -> Client {
    Client::try_from(kube::Config::new(emu.url().parse().unwrap())).unwrap()
}

fn service(name: &str) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            ports: Some(vec![ServicePort {
                port: 80,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

async fn quiet_emulator() -> KubeEmulator {
    KubeEmulator::start_with(EmulatorConfig {
        kubernetes_service: false,
        bookmark_interval: Duration::from_millis(100),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// Polls `check` until it holds, failing after a generous deadline.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn names(store: &Store<Service>) -> BTreeSet<String> {
    store.state().iter().map(|s| s.name_any()).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_string()).collect()
}

#[tokio::test]
async fn watch_from_a_compacted_version_gets_410_expired() {
    let emu = quiet_emulator().await;
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    let old = emu.resource_version().to_string();
    api.create(&PostParams::default(), &service("web"))
        .await
        .unwrap();
    emu.compact_history();

    let mut stream = api
        .watch(&WatchParams::default(), &old)
        .await
        .unwrap()
        .boxed();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Error(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    assert!(stream.try_next().await.unwrap().is_none());
}

#[tokio::test]
async fn watch_resumes_from_a_resource_version_and_bookmarks() {
    let emu = quiet_emulator().await;
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    let a = api
        .create(&PostParams::default(), &service("a"))
        .await
        .unwrap();
    let from = a.resource_version().unwrap();
    api.create(&PostParams::default(), &service("b"))
        .await
        .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
    )
    .await
    .unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();

    let mut stream = api
        .watch(&WatchParams::default(), &from)
        .await
        .unwrap()
        .boxed();
    let mut seen = Vec::new();
    let mut last_rv = 0u64;
    while seen.len() < 3 {
        match stream.try_next().await.unwrap().unwrap() {
            WatchEvent::Added(s) => seen.push(format!("ADDED {}", s.name_any())),
            WatchEvent::Modified(s) => seen.push(format!("MODIFIED {}", s.name_any())),
            WatchEvent::Deleted(s) => {
                last_rv = s.resource_version().unwrap().parse().unwrap();
                seen.push(format!("DELETED {}", s.name_any()));
            }
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(seen, ["ADDED b", "MODIFIED a", "DELETED b"]);
    // Then only bookmarks, carrying the latest resourceVersion.
    loop {
        if let WatchEvent::Bookmark(bm) = stream.try_next().await.unwrap().unwrap() {
            assert!(bm.metadata.resource_version.parse::<u64>().unwrap() >= last_rv);
            break;
        }
    }
}

#[tokio::test]
async fn label_changes_move_objects_in_and_out_of_a_selected_watch() {
    let emu = quiet_emulator().await;
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    let mut stream = api
        .watch(
            &WatchParams::default().labels("app=web").disable_bookmarks(),
            "0",
        )
        .await
        .unwrap()
        .boxed();
    api.create(&PostParams::default(), &service("svc"))
        .await
        .unwrap();
    let label = |v: Option<&str>| Patch::Merge(json!({"metadata": {"labels": {"app": v}}}));
    api.patch("svc", &PatchParams::default(), &label(Some("web")))
        .await
        .unwrap();
    api.patch("svc", &PatchParams::default(), &label(Some("db")))
        .await
        .unwrap();
    let kinds: Vec<String> = stream
        .by_ref()
        .take(2)
        .map(|e| match e.unwrap() {
            WatchEvent::Added(_) => "ADDED".to_string(),
            WatchEvent::Deleted(_) => "DELETED".to_string(),
            other => format!("{other:?}"),
        })
        .collect()
        .await;
    assert_eq!(kinds, ["ADDED", "DELETED"]);
}

#[tokio::test]
async fn watch_timeout_ends_the_stream_cleanly() {
    let emu = quiet_emulator().await;
    emu.add_node("node-1", "10.0.0.1").unwrap();
    let api: Api<Node> = Api::all(client(&emu));
    let events: Vec<_> = tokio::time::timeout(
        Duration::from_secs(30),
        api.watch(&WatchParams::default().timeout(1).disable_bookmarks(), "0")
            .await
            .unwrap()
            .collect::<Vec<_>>(),
    )
    .await
    .expect("stream ends on its own");
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0], Ok(WatchEvent::Added(ref n)) if n.name_any() == "node-1"));
    assert_eq!(emu.active_watches(), 0);
}

#[tokio::test]
async fn streaming_list_sends_initial_events_then_the_end_bookmark() {
    let emu = quiet_emulator().await;
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    for name in ["a", "b"] {
        api.create(&PostParams::default(), &service(name))
            .await
            .unwrap();
    }
    let events: Vec<String> = watcher(api, watcher::Config::default().streaming_lists())
        .take(4)
        .map(|e| match e.unwrap() {
            watcher::Event::Init => "Init".to_string(),
            watcher::Event::InitApply(s) => format!("InitApply {}", s.name_any()),
            watcher::Event::InitDone => "InitDone".to_string(),
            watcher::Event::Apply(s) => format!("Apply {}", s.name_any()),
            watcher::Event::Delete(s) => format!("Delete {}", s.name_any()),
        })
        .collect()
        .await;
    assert_eq!(events, ["Init", "InitApply a", "InitApply b", "InitDone"]);
    assert!(emu.count_requests("GET", "sendInitialEvents=true") >= 1);
}

#[tokio::test]
async fn metadata_only_watcher_sees_node_label_changes() {
    let emu = quiet_emulator().await;
    emu.add_node("node-1", "10.0.0.1").unwrap();
    let api: Api<PartialObjectMeta<Node>> = Api::all(client(&emu));
    let mut events = watcher(api, watcher::Config::default()).boxed();
    let mut initial = Vec::new();
    loop {
        match events.try_next().await.unwrap().unwrap() {
            watcher::Event::InitApply(meta) => initial.push(meta.name_any()),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(initial, ["node-1"]);
    emu.label_node("node-1", "pool", Some("a")).unwrap();
    loop {
        if let watcher::Event::Apply(meta) = events.try_next().await.unwrap().unwrap() {
            assert_eq!(meta.labels()["pool"], "a");
            assert_eq!(meta.types.as_ref().unwrap().kind, "PartialObjectMetadata");
            break;
        }
    }
    assert!(emu.audit_log().iter().all(|e| e.status == 200));
}

#[tokio::test]
async fn reflector_converges_after_watches_are_dropped_and_history_compacted() {
    let emu = quiet_emulator().await;
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    let (reader, writer) = reflector::store::<Service>();
    let stream = reflector::reflector(
        writer,
        watcher(api.clone(), watcher::Config::default().page_size(2)),
    )
    .applied_objects()
    .default_backoff();
    let task = tokio::spawn(stream.for_each(|_| futures::future::ready(())));
    reader.wait_until_ready().await.unwrap();

    for name in ["a", "b", "c"] {
        emu.create_service(&service(name)).unwrap();
    }
    eventually("three services", || names(&reader) == set(&["a", "b", "c"])).await;

    // Connections break; changes made meanwhile arrive after the re-watch.
    let watches_before = emu.count_requests("GET", "watch=true");
    emu.drop_watches();
    emu.delete::<Service>(Some("default"), "a").unwrap();
    emu.create_service(&service("d")).unwrap();
    eventually("re-watched after drop", || {
        names(&reader) == set(&["b", "c", "d"])
    })
    .await;
    assert!(emu.count_requests("GET", "watch=true") > watches_before);

    // Re-watches fail while changes happen and history is compacted: the next re-watch
    // gets 410 Expired and the reflector re-lists (paged).
    let lists_before = emu.count_requests("GET", "limit=2");
    emu.inject(Fault::error("GET", "watch=true", 500));
    emu.drop_watches();
    emu.delete::<Service>(Some("default"), "b").unwrap();
    emu.create_service(&service("e")).unwrap();
    emu.compact_history();
    emu.clear_faults();
    eventually("re-listed after 410", || {
        names(&reader) == set(&["c", "d", "e"])
    })
    .await;
    assert!(emu.count_requests("GET", "limit=2") > lists_before);
    task.abort();
}
