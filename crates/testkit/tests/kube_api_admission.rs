//! Validating webhooks that cannot answer: the emulator applies `failurePolicy` after the
//! webhook's `timeoutSeconds`, and to match conditions it cannot evaluate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use k8s_openapi::api::core::v1::Service;
use kks_lb_testkit::kube_api::{KubeEmulator, ResourceType};
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

fn client(emu: &KubeEmulator) -> Client {
    Client::try_from(kube::Config::new(emu.url().parse().unwrap())).unwrap()
}

fn lb(name: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }))
    .unwrap()
}

fn configuration(name: &str, url: &str, policy: &str, condition: &str) -> Value {
    json!({
        "metadata": {"name": name},
        "webhooks": [{
            "name": format!("{name}.example.com"),
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": policy,
            "timeoutSeconds": 1,
            "clientConfig": {"url": url},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["services"]}],
            "matchConditions": [{"name": "c", "expression": condition}],
        }],
    })
}

#[tokio::test]
async fn a_webhook_that_never_answers_times_out_into_its_failure_policy() {
    // Accepts connections and never speaks: the TLS handshake cannot complete.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}/validate",
        silent.local_addr().unwrap().port()
    );
    let held = std::thread::spawn(move || {
        let conns: Vec<_> = silent.incoming().take(2).collect();
        std::thread::sleep(std::time::Duration::from_secs(3));
        drop(conns);
    });

    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    emu.create_value(
        ResourceType::VALIDATING_WEBHOOKS,
        None,
        configuration("closed", &url, "Fail", "object.spec.type == 'LoadBalancer'"),
    )
    .unwrap();
    let err = api
        .create(&PostParams::default(), &lb("a"))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected a refusal")
    };
    assert_eq!(status.code, 500);
    assert!(
        status.message.starts_with(&format!(
            "Internal error occurred: failed calling webhook \"closed.example.com\": failed to call webhook: Post \"{url}?timeout=1s\""
        )),
        "{}",
        status.message
    );
    assert!(api.get_opt("a").await.unwrap().is_none());

    emu.delete_value(ResourceType::VALIDATING_WEBHOOKS, None, "closed")
        .unwrap();
    emu.create_value(
        ResourceType::VALIDATING_WEBHOOKS,
        None,
        configuration("open", &url, "Ignore", "object.spec.type == 'LoadBalancer'"),
    )
    .unwrap();
    api.create(&PostParams::default(), &lb("b")).await.unwrap();
    held.join().unwrap();
}

#[tokio::test]
async fn match_conditions_decide_whether_a_webhook_is_called() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    // Nobody listens at this URL: a call would fail (Fail policy → 500).
    let url = "https://127.0.0.1:9/validate";
    emu.create_value(
        ResourceType::VALIDATING_WEBHOOKS,
        None,
        configuration("skip", url, "Fail", "object.spec.type == 'NodePort'"),
    )
    .unwrap();
    api.create(&PostParams::default(), &lb("not-sent"))
        .await
        .unwrap();

    emu.delete_value(ResourceType::VALIDATING_WEBHOOKS, None, "skip")
        .unwrap();
    emu.create_value(
        ResourceType::VALIDATING_WEBHOOKS,
        None,
        configuration("broken", url, "Fail", "object.spec.nothere == 'x'"),
    )
    .unwrap();
    let err = api
        .create(&PostParams::default(), &lb("errs"))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected a refusal")
    };
    assert_eq!(status.code, 500);
    assert!(
        status.message.contains(
            "failed to evaluate match conditions: matchCondition c: no such key: nothere"
        ),
        "{}",
        status.message
    );
}
