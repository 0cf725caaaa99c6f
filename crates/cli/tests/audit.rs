//! End to end: `kks-lb audit` against the Kubernetes and OpenStack emulators lists every load
//! balancer and floating IP of the cluster with its state, and deletes orphans when asked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../controller/tests/e2e_support/mod.rs"]
mod e2e_support;

use clap::Parser;
use e2e_support::{CLUSTER, Env, service};
use kks_lb::cli::{Cli, Command};
use kks_lb_planner::lb_name;
use reqwest::Method;

/// Deletes a Service the way a user "fixes" one stuck in Terminating: its finalizer
/// stripped, while no controller reacts (so nothing is cleaned up in the cloud).
async fn strip_and_delete(env: &Env, ns: &str, name: &str) {
    env.edit(ns, name, |s| s.metadata.finalizers = None);
    env.delete(ns, name).await;
    assert!(
        env.get(ns, name).is_none(),
        "gone at once without finalizer"
    );
}

/// Runs `kks-lb audit` against the emulators with `extra` flags and `answer` on stdin;
/// returns (exit code, stdout).
async fn audit(env: &Env, dir: &std::path::Path, extra: &[&str], answer: &str) -> (u8, String) {
    let (kubeconfig, cloud_conf) = env.write_config_files(dir, "");
    let mut argv = vec![
        "kks-lb".to_owned(),
        "audit".into(),
        "--cloud-config".into(),
        cloud_conf.display().to_string(),
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--cluster-name".into(),
        CLUSTER.into(),
    ];
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    let Command::Audit(args) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not audit");
    };
    let mut out = Vec::new();
    let mut input = std::io::Cursor::new(answer.as_bytes().to_vec());
    let code = kks_lb::cli::audit::audit(&args, &mut out, &mut input)
        .await
        .unwrap();
    (code, String::from_utf8(out).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_reports_orphans_unmarked_and_foreign_load_balancers_and_deletes_orphans() {
    let env = Env::start().await;
    let dir = std::env::temp_dir().join(format!("kks-lb-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let running = env.controller().await;
    env.create(&service("shop", "web"));
    env.create(&service("shop", "gone"));
    env.wait_ready("shop", "web").await;
    env.wait_ready("shop", "gone").await;
    running.stop().await;
    strip_and_delete(&env, "shop", "gone").await;
    let unmarked = env.plant_lb(&lb_name(CLUSTER, "legacy", "old"), &[]).await;
    let foreign = env
        .plant_lb(&lb_name(CLUSTER, "other", "web"), &["kks-lb-cluster:other"])
        .await;

    let (code, out) = audit(&env, &dir, &["-o", "json"], "").await;
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let state = |pred: &dyn Fn(&serde_json::Value) -> bool| -> Vec<String> {
        report["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| pred(o))
            .map(|o| o["state"].as_str().unwrap().to_owned())
            .collect()
    };
    let web = lb_name(CLUSTER, "shop", "web");
    let gone = lb_name(CLUSTER, "shop", "gone");
    assert_eq!(state(&|o| o["name"] == web.as_str()), ["ok"]);
    assert_eq!(state(&|o| o["name"] == gone.as_str()), ["orphan"]);
    assert_eq!(state(&|o| o["id"] == unmarked.as_str()), ["unmarked"]);
    assert_eq!(state(&|o| o["id"] == foreign.as_str()), ["foreign"]);
    let fips = state(&|o| o["kind"] == "floatingip");
    assert_eq!(fips.len(), 2, "{out}");
    assert!(fips.contains(&"ok".to_owned()) && fips.contains(&"orphan".to_owned()));
    assert_eq!(report["clean"], false);

    // Declined: nothing deleted.
    let (code, out) = audit(&env, &dir, &["--delete-orphans"], "n\n").await;
    assert_eq!(code, 1);
    assert!(out.contains("Delete 2 orphan(s)?"), "{out}");
    assert!(env.lb("shop", "gone").is_some());
    // Confirmed: the orphans go, the rest stays; unmarked and foreign still need attention.
    let (code, out) = audit(&env, &dir, &["--delete-orphans"], "y\n").await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("orphan (deleted)"), "{out}");
    assert!(
        out.contains("needs attention: 0 orphan, 1 unmarked, 1 foreign"),
        "{out}"
    );
    env.wait_cloud("orphan gone", |s| {
        s.loadbalancer(&gone).is_none() && s.floating_ips.len() == 1
    })
    .await;
    assert!(env.lb("shop", "web").is_some());

    // Someone deals with the other two; the cloud is clean.
    let os = env.openstack().await;
    for id in [&unmarked, &foreign] {
        os.call(
            kks_lb_adapter::Service::Octavia,
            Method::DELETE,
            &["lbaas", "loadbalancers", id],
            &[],
            None,
        )
        .await
        .unwrap();
    }
    env.wait_cloud("planted gone", |s| s.loadbalancers.len() == 1)
        .await;
    let (code, out) = audit(&env, &dir, &["--delete-orphans", "--yes"], "").await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("clean: 2 object(s)"), "{out}");
}
