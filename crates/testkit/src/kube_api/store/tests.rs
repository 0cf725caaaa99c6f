//! Unit tests of the store as a whole: versions, generations, paging, watch expiry,
//! namespace cascades.

use super::*;

fn store() -> Store {
    let mut s = Store::new(100);
    s.bootstrap("ks-uid", false).unwrap();
    s
}

fn services() -> &'static ResourceInfo {
    info_for(ResourceType::SERVICES).unwrap()
}

const CTX: WriteCtx<'static> = WriteCtx {
    scope: Scope::Main,
    manager: "test",
    dry_run: false,
};

fn svc(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {"ports": [{"port": 80}]}})
}

#[test]
fn kube_system_has_the_configured_uid() {
    let s = store();
    let ns = s
        .get(
            info_for(ResourceType::NAMESPACES).unwrap(),
            None,
            "kube-system",
        )
        .unwrap();
    assert_eq!(ns["metadata"]["uid"], "ks-uid");
}

#[test]
fn no_op_update_keeps_resource_version() {
    let mut s = store();
    let created = s
        .create(services(), Some("default"), svc("a"), &CTX)
        .unwrap();
    let rv = s.resource_version();
    let (patched, _) = s
        .patch(
            services(),
            Some("default"),
            "a",
            PatchKind::Merge,
            &json!({"spec": {"type": "ClusterIP"}}),
            &CTX,
        )
        .unwrap();
    assert_eq!(s.resource_version(), rv);
    assert_eq!(
        patched["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
}

#[test]
fn generation_moves_on_spec_changes_only() {
    let mut s = store();
    s.create(services(), Some("default"), svc("a"), &CTX)
        .unwrap();
    let (v, _) = s
        .patch(
            services(),
            Some("default"),
            "a",
            PatchKind::Merge,
            &json!({"metadata": {"labels": {"x": "y"}}}),
            &CTX,
        )
        .unwrap();
    assert_eq!(v["metadata"]["generation"], 1);
    let (v, _) = s
        .patch(
            services(),
            Some("default"),
            "a",
            PatchKind::Merge,
            &json!({"spec": {"type": "NodePort"}}),
            &CTX,
        )
        .unwrap();
    assert_eq!(v["metadata"]["generation"], 2);
}

#[test]
fn paging_returns_every_object_once() {
    let mut s = store();
    for i in 0..5 {
        s.create(services(), Some("default"), svc(&format!("s{i}")), &CTX)
            .unwrap();
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = s
            .list(
                services(),
                &ListOpts {
                    limit: Some(2),
                    continue_token: token.clone(),
                    ..ListOpts::default()
                },
            )
            .unwrap();
        names.extend(
            page.items
                .iter()
                .map(|i| i["metadata"]["name"].as_str().unwrap().to_string()),
        );
        token = page.continue_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, vec!["s0", "s1", "s2", "s3", "s4"]);
}

#[test]
fn watch_from_compacted_version_is_expired() {
    let mut s = Store::new(2);
    s.bootstrap("u", false).unwrap();
    let start = s.resource_version();
    for i in 0..3 {
        s.create(services(), Some("default"), svc(&format!("s{i}")), &CTX)
            .unwrap();
    }
    let err = s
        .watch(services(), Some(&start.to_string()), false)
        .unwrap_err();
    assert_eq!(err.code, 410);
    let ok = s
        .watch(services(), Some(&(start + 1).to_string()), false)
        .unwrap();
    assert_eq!(ok.replay.len(), 2);
}

#[test]
fn deleting_a_namespace_deletes_its_contents_but_respects_finalizers() {
    let mut s = store();
    let namespaces = info_for(ResourceType::NAMESPACES).unwrap();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
    s.create(namespaces, None, ns, &CTX).unwrap();
    s.create(services(), Some("team"), svc("plain"), &CTX)
        .unwrap();
    let mut held = svc("held");
    held["metadata"]["finalizers"] = json!(["x.io/f"]);
    s.create(services(), Some("team"), held, &CTX).unwrap();
    s.delete(namespaces, None, "team", &DeleteOpts::default())
        .unwrap();
    assert_eq!(
        s.get(services(), Some("team"), "plain").unwrap_err().code,
        404
    );
    let held = s.get(services(), Some("team"), "held").unwrap();
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        s.create(services(), Some("team"), svc("new"), &CTX)
            .unwrap_err()
            .code,
        404
    );
}

#[test]
fn creating_in_a_missing_namespace_is_not_found() {
    let mut s = store();
    let err = s
        .create(services(), Some("nope"), svc("a"), &CTX)
        .unwrap_err();
    assert_eq!(err.code, 404);
    assert_eq!(err.message, "namespaces \"nope\" not found");
}
