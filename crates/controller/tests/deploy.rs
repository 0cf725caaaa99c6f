//! The deploy manifests agree with the controller's flags and the API calls it makes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use clap::Parser;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role};
use kks_lb_controller::config::ControllerArgs;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn yaml_docs(file: &str) -> Vec<serde_yaml_ng::Value> {
    let text = std::fs::read_to_string(root().join("deploy").join(file)).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

#[test]
fn the_deployment_passes_flags_the_controller_accepts() {
    let docs = yaml_docs("deployment.yaml");
    let deployment: Deployment = serde_yaml_ng::from_value(docs[0].clone()).unwrap();
    let spec = deployment.spec.unwrap();
    assert_eq!(spec.replicas, Some(2));
    let container = &spec.template.spec.unwrap().containers[0];
    let mut argv = vec!["kks-lb-controller".to_owned()];
    argv.extend(container.args.clone().unwrap());
    let args = ControllerArgs::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
    assert!(args.leader_elect, "two replicas need leader election");
    let probes = [&container.liveness_probe, &container.readiness_probe];
    let paths: Vec<_> = probes
        .iter()
        .map(|p| {
            p.as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap()
                .path
                .clone()
                .unwrap()
        })
        .collect();
    assert_eq!(paths, ["/healthz", "/readyz"]);
}

#[test]
fn rbac_grants_what_the_controller_uses_and_no_more() {
    let docs = yaml_docs("rbac.yaml");
    let role: ClusterRole = serde_yaml_ng::from_value(docs[0].clone()).unwrap();
    let rules = role.rules.unwrap();
    let allows = |group: &str, resource: &str, verb: &str| {
        rules.iter().any(|r| {
            r.api_groups
                .as_ref()
                .is_some_and(|g| g.iter().any(|x| x == group))
                && r.resources
                    .as_ref()
                    .is_some_and(|rs| rs.iter().any(|x| x == resource))
                && r.verbs.iter().any(|v| v == verb)
        })
    };
    for (group, resource, verb) in [
        ("", "services", "watch"),
        ("", "services", "patch"),
        ("", "services/status", "patch"),
        ("", "nodes", "watch"),
        ("", "namespaces", "get"),
        ("events.k8s.io", "events", "create"),
        ("events.k8s.io", "events", "patch"),
    ] {
        assert!(
            allows(group, resource, verb),
            "missing {verb} on {group}/{resource}"
        );
    }
    for r in &rules {
        assert!(
            !r.verbs.iter().any(|v| v == "*" || v == "delete"),
            "over-broad rule {r:?}"
        );
        assert!(
            !r.resources.as_ref().unwrap().iter().any(|x| x == "secrets"),
            "no secrets access"
        );
    }
    let lease: Role = serde_yaml_ng::from_value(docs[2].clone()).unwrap();
    assert_eq!(lease.metadata.namespace.as_deref(), Some("kube-system"));
    assert!(
        lease
            .rules
            .unwrap()
            .iter()
            .all(|r| r.api_groups.as_deref() == Some(&["coordination.k8s.io".to_owned()][..]))
    );
}
