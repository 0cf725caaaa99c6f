//! The validating webhook over HTTPS: recorded `AdmissionReview`s from a real API server get
//! the verdict of `kks-lb validate`, and a replaced certificate is served without a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use kks_lb_controller::webhook::cert::{Generated, generate};
use kks_lb_controller::webhook::server::{WebhookConfig, bind};
use kks_lb_controller::webhook::{PATH, Policy};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kks-lb-webhook-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_pair(dir: &Path, pair: &Generated) {
    std::fs::write(dir.join("tls.crt"), &pair.cert_pem).unwrap();
    std::fs::write(dir.join("tls.key"), &pair.key_pem).unwrap();
}

fn client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn recorded(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/src/webhook/testdata/admission-review-{name}.request.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn start(dir: &Path, token: &CancellationToken) -> String {
    let config = WebhookConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        cert_dir: dir.to_owned(),
        reload_every: Duration::from_millis(100),
        policy: Policy::default(),
    };
    let (addr, server) = bind(config, token.clone()).await.unwrap();
    tokio::spawn(server);
    format!("https://localhost:{}", addr.port())
}

#[tokio::test]
async fn recorded_reviews_get_the_verdict_over_https() {
    let dir = scratch("verdict");
    let pair = generate(&["localhost".to_owned()], Duration::from_secs(3600)).unwrap();
    write_pair(&dir, &pair);
    let token = CancellationToken::new();
    let base = start(&dir, &token).await;
    let http = client(&pair.ca_pem);

    let denied: Value = http
        .post(format!("{base}{PATH}?timeout=2s"))
        .json(&recorded("create-denied"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(denied["kind"], "AdmissionReview");
    assert_eq!(
        denied["response"]["uid"],
        "ff82c5a9-9839-42be-be3e-714bd4404e37"
    );
    assert_eq!(denied["response"]["allowed"], false);
    assert_eq!(denied["response"]["status"]["reason"], "Invalid");
    let message = denied["response"]["status"]["message"].as_str().unwrap();
    assert!(message.starts_with("5 errors: "), "{message}");
    let warnings = denied["response"]["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("did you mean health-monitor-max-retries?")),
        "{warnings:?}"
    );

    let allowed: Value = http
        .post(format!("{base}{PATH}"))
        .json(&recorded("update"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(allowed["response"]["allowed"], true);
    assert_eq!(
        allowed["response"]["uid"],
        "ae7b2822-12a7-4a76-9415-ce2c5b9aa328"
    );
    token.cancel();
}

#[tokio::test]
async fn a_replaced_certificate_is_served_without_a_restart() {
    let dir = scratch("reload");
    let first = generate(&["localhost".to_owned()], Duration::from_secs(3600)).unwrap();
    write_pair(&dir, &first);
    let token = CancellationToken::new();
    let base = start(&dir, &token).await;
    let healthz = format!("{base}/healthz");
    assert!(client(&first.ca_pem).get(&healthz).send().await.is_ok());

    let second = generate(&["localhost".to_owned()], Duration::from_secs(3600)).unwrap();
    write_pair(&dir, &second);
    let mut served_second = false;
    for _ in 0..100 {
        if client(&second.ca_pem).get(&healthz).send().await.is_ok() {
            served_second = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served_second, "the new certificate is served");
    assert!(
        client(&first.ca_pem).get(&healthz).send().await.is_err(),
        "the old CA no longer verifies the served certificate"
    );

    // A broken pair is not loaded: the last good one stays in use.
    std::fs::write(dir.join("tls.key"), "not a key").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(client(&second.ca_pem).get(&healthz).send().await.is_ok());
    token.cancel();
}

#[tokio::test]
async fn a_missing_certificate_is_an_error_naming_the_file() {
    let dir = scratch("missing");
    let config = WebhookConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        cert_dir: dir.clone(),
        reload_every: Duration::from_secs(1),
        policy: Policy::default(),
    };
    let err = bind(config, CancellationToken::new())
        .await
        .err()
        .expect("no certificate, no webhook")
        .to_string();
    assert!(
        err.contains(&dir.join("tls.crt").display().to_string()),
        "{err}"
    );
}
