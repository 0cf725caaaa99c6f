//! The README's main job (`kks-lb demo`) runs to the end, and the deploy manifests agree with
//! the controller's flags and the API calls it makes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role};
use kks_lb_controller::config::ControllerArgs;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_demo_converges_every_example_adds_a_node_deletes_a_service_and_exits_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_kks-lb"))
        .current_dir(root())
        .args(["demo", "--create-delay-ms", "200", "--timeout-secs", "60"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("waiting until all load balancers ready"),
        "{stdout}"
    );
    assert!(stdout.contains("every pool has 4 members"), "{stdout}");
    assert!(
        stdout.contains("the deleted Service's load balancer is gone"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Cloud now: 4 load balancers, 3 floating IPs."),
        "{stdout}"
    );
    assert!(
        stdout.contains("PUT      /v2/lbaas/pools/{id}/members"),
        "node add is batched: {stdout}"
    );
    let ready = stdout
        .lines()
        .filter(|l| l.ends_with("True EnsuredLoadBalancer"))
        .count();
    assert!(ready >= 5, "every Service shows its condition: {stdout}");
}

fn yaml_docs(file: &str) -> Vec<serde_yaml::Value> {
    let text = std::fs::read_to_string(root().join("deploy").join(file)).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

#[test]
fn the_deployment_passes_flags_the_controller_accepts() {
    let docs = yaml_docs("deployment.yaml");
    let deployment: Deployment = serde_yaml::from_value(docs[0].clone()).unwrap();
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
    let role: ClusterRole = serde_yaml::from_value(docs[0].clone()).unwrap();
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
    let lease: Role = serde_yaml::from_value(docs[2].clone()).unwrap();
    assert_eq!(lease.metadata.namespace.as_deref(), Some("kube-system"));
    assert!(
        lease
            .rules
            .unwrap()
            .iter()
            .all(|r| r.api_groups.as_deref() == Some(&["coordination.k8s.io".to_owned()][..]))
    );
}
