//! The `kks-lb-kube-emulator` binary writes a kubeconfig that kube-rs can use as is.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_seeded_nodes_behind_its_kubeconfig() {
    let dir = std::env::temp_dir().join(format!("kks-lb-kube-emu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kks-lb-kube-emulator"))
            .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["--node", "node-1=10.0.0.11", "--node", "node-2=10.0.0.12"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The URL on stdout means the kubeconfig is written and the server is up.
    let mut url = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    assert!(url.trim().starts_with("http://127.0.0.1:"), "{url}");

    let config = Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&kubeconfig).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        config.cluster_url.to_string().trim_end_matches('/'),
        url.trim()
    );
    let nodes: Api<Node> = Api::all(Client::try_from(config).unwrap());
    let names: Vec<String> = nodes
        .list(&ListParams::default())
        .await
        .unwrap()
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(names, ["node-1", "node-2"]);
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
