//! End to end: `kks-lb capacity` against the emulators splits a planted cluster subnet into
//! nodes, this cluster's internal and external load balancers and others, and exits 1 when
//! fewer than `--warn-free` addresses are free.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../controller/tests/e2e_support/mod.rs"]
mod e2e_support;

use clap::Parser;
use e2e_support::{Env, fast_delays, service, with_annotation};
use kks_lb::cli::{Cli, Command};
use kks_lb_testkit::openstack::EmulatorConfig;

/// Plants a port on the cluster subnet (`ip` or the next free address) owned by `owner`.
async fn plant_port(env: &Env, ip: Option<&str>, owner: &str) {
    let f = env.cloud.fixture();
    let mut fixed = serde_json::json!({"subnet_id": f.cluster_subnet_id});
    if let Some(ip) = ip {
        fixed["ip_address"] = ip.into();
    }
    env.openstack()
        .await
        .call(
            kks_lb_adapter::Service::Neutron,
            reqwest::Method::POST,
            &["ports"],
            &[],
            Some(
                &serde_json::json!({"port": {"network_id": f.cluster_network_id,
                "fixed_ips": [fixed], "device_owner": owner}}),
            ),
        )
        .await
        .unwrap();
}

/// Runs `kks-lb capacity` with `extra` flags; returns (exit code, stdout).
async fn capacity(env: &Env, dir: &std::path::Path, extra: &[&str]) -> (u8, String) {
    let (kubeconfig, cloud_conf) = env.write_config_files(dir, "");
    let mut argv = vec![
        "kks-lb".to_owned(),
        "capacity".into(),
        "--cloud-config".into(),
        cloud_conf.display().to_string(),
    ];
    if !extra.contains(&"--cluster-id") {
        argv.extend(["--kubeconfig".to_owned(), kubeconfig.display().to_string()]);
    }
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    let Command::Capacity(args) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not capacity");
    };
    let mut out = Vec::new();
    let code = kks_lb::cli::capacity::capacity(&args, &mut out)
        .await
        .unwrap();
    (code, String::from_utf8(out).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_splits_a_planted_subnet_into_nodes_load_balancers_and_others() {
    // A /27: 29 addresses in the pool (.2-.30).
    let env = Env::start_with(EmulatorConfig {
        delays: fast_delays(),
        cluster_cidr: "10.0.0.0/27".into(),
        ..EmulatorConfig::default()
    })
    .await;
    // The three nodes (10.0.0.11-13 in the cluster) as VM ports, a DHCP port, and a port of
    // someone else.
    for ip in ["10.0.0.11", "10.0.0.12", "10.0.0.13"] {
        plant_port(&env, Some(ip), "compute:nova").await;
    }
    plant_port(&env, None, "network:dhcp").await;
    plant_port(&env, None, "").await;
    let ctl = env.controller().await;
    env.create(&service("shop", "ext"));
    env.create(&with_annotation(
        service("shop", "int"),
        kks_lb_annotations::keys::INTERNAL,
        "true",
    ));
    env.wait_ready("shop", "ext").await;
    env.wait_ready("shop", "int").await;
    ctl.stop().await;

    let dir = std::env::temp_dir().join(format!("kks-lb-capacity-{}", std::process::id()));
    let (code, out) = capacity(&env, &dir, &["-o", "json"]).await;
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 0, "{out}");
    assert_eq!(r["subnet"]["cidr"], "10.0.0.0/27");
    assert_eq!(
        r["subnet"]["id"],
        env.cloud.fixture().cluster_subnet_id.as_str()
    );
    assert_eq!(r["source"], "ports", "a project member's credentials");
    assert_eq!(
        (r["total"].as_u64(), r["used"].as_u64()),
        (Some(29), Some(7)),
        "{out}"
    );
    assert_eq!(
        r["used_by"],
        serde_json::json!({"nodes": 3, "load_balancers_internal": 1,
                           "load_balancers_external": 1, "other": 2}),
        "{out}"
    );
    assert_eq!(r["free"], 22);
    assert_eq!(r["load_balancers_that_fit"], 22);
    assert_eq!(r["floating_ips"], 1);
    assert_eq!(r["cluster_id"], env.kube.kube_system_uid());

    // Fewer free than --warn-free: exit 1 with a warning.
    let (code, text) = capacity(&env, &dir, &["--warn-free", "25"]).await;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("cluster subnet kks-cluster-subnet"), "{text}");
    assert!(
        text.contains("used by load balancers         2 (internal 1, external 1)"),
        "{text}"
    );
    assert!(
        text.contains("22 free address(es), fewer than --warn-free 25"),
        "{text}"
    );

    // Without the cluster: the nodes are the subnet's compute ports.
    let uid = env.kube.kube_system_uid().to_owned();
    let (code, out) = capacity(&env, &dir, &["--cluster-id", &uid, "-o", "json"]).await;
    assert_eq!(code, 0);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["used_by"]["nodes"], 3, "{out}");
    assert_eq!(r["used_by"]["other"], 2, "{out}");
    std::fs::remove_dir_all(&dir).ok();
}
