//! `kks-lb demo --keep`: after the tour, a kube-rs client with the written kubeconfig sees the
//! API server's own refusal of the broken example, the webhook's refusal of
//! examples/invalid/bad-annotations.yaml with every error, the controller's Events; Ctrl-C
//! (SIGINT) stops it with exit code 0.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "demo")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Service};
use kube::api::{Api, ListParams, PostParams};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(path: &str) -> Service {
    serde_yaml_ng::from_str(&std::fs::read_to_string(root().join(path)).unwrap()).unwrap()
}

async fn refusal(api: &Api<Service>, svc: &Service) -> kube::core::Status {
    match api.create(&PostParams::default(), svc).await {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn the_kept_demo_refuses_bad_services_at_apply_time_until_ctrl_c() {
    let kubeconfig =
        std::env::temp_dir().join(format!("kks-lb-demo-keep-{}.yaml", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_kks-lb"))
        .current_dir(root())
        .args([
            "demo",
            "--create-delay-ms",
            "200",
            "--timeout-secs",
            "60",
            "--keep",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = String::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => {
                printed.push_str(&line);
                printed.push('\n');
                if line.contains("Press Ctrl-C to stop") {
                    break;
                }
            }
            Err(e) => {
                let _ = child.kill();
                panic!("the demo did not reach the kept state ({e}): {printed}");
            }
        }
    }
    assert!(
        printed.contains(&format!("export KUBECONFIG={}", kubeconfig.display())),
        "{printed}"
    );
    assert!(
        printed.contains("kubectl apply -f examples/invalid/bad-annotations.yaml"),
        "{printed}"
    );

    let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let web: Api<Service> = Api::namespaced(client.clone(), "web");

    let status = refusal(&web, &example("examples/invalid/broken-service.yaml")).await;
    assert_eq!(
        status.message,
        "Service \"broken-web\" is invalid: spec.LoadBalancerSourceRanges[1]: Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
    );
    let status = refusal(&web, &example("examples/invalid/bad-annotations.yaml")).await;
    assert_eq!(status.code, 422);
    assert!(
        status.message.starts_with(
            "admission webhook \"services.kks-lb.openstack.org\" denied the request: 3 errors: "
        ),
        "{}",
        status.message
    );

    // The Service the tour deleted is back, and the controller reports on it.
    let mut ensured = false;
    for _ in 0..100 {
        let events: Api<Event> = Api::namespaced(client.clone(), "web");
        let list = events
            .list(&ListParams::default().fields("involvedObject.name=my-web-app"))
            .await
            .unwrap();
        if list
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("EnsuredLoadBalancer"))
        {
            ensured = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ensured, "the controller's Events for web/my-web-app");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut code = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            code = status.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if code.is_none() {
        let _ = child.kill();
    }
    assert_eq!(code, Some(0), "Ctrl-C ends the demo cleanly");
    let _ = std::fs::remove_file(&kubeconfig);
}
