//! The webhook of deploy/webhook behind the Kubernetes API emulator, driven by a kube-rs
//! client: built-in validation first, then the webhook's denial with every error, its
//! warnings as `Warning` headers, and the configuration's safety rules (LoadBalancer Services
//! only, kube-system excluded, failurePolicy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Service};
use kks_lb_controller::webhook::Policy;
use kks_lb_controller::webhook::cert::{ca_bundle, generate, service_names};
use kks_lb_controller::webhook::server::{WebhookConfig, bind};
use kks_lb_testkit::kube_api::KubeEmulator;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const WEBHOOK: &str = "services.kks-lb.openstack.org";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Env {
    emu: KubeEmulator,
    client: kube::Client,
    _token: CancellationToken,
}

fn webhook_configurations(client: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
    );
    Api::all_with(client.clone(), &ApiResource::from_gvk(&gvk))
}

/// The emulator, the real webhook on 127.0.0.1, and deploy/webhook's configuration with the
/// generated CA as caBundle and `edit` applied.
async fn start(edit: impl FnOnce(&mut Value)) -> Env {
    let dir = std::env::temp_dir().join(format!(
        "kks-lb-webhook-e2e-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let pair = generate(
        &service_names("kks-lb-webhook", "kube-system"),
        Duration::from_secs(3600),
    )
    .unwrap();
    std::fs::write(dir.join("tls.crt"), &pair.cert_pem).unwrap();
    std::fs::write(dir.join("tls.key"), &pair.key_pem).unwrap();
    let token = CancellationToken::new();
    let (addr, server) = bind(
        WebhookConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            cert_dir: dir,
            reload_every: Duration::from_secs(5),
            policy: Policy::default(),
        },
        token.clone(),
    )
    .await
    .unwrap();
    tokio::spawn(server);

    let emu = KubeEmulator::start().await.unwrap();
    emu.route_webhook_service("kube-system", "kks-lb-webhook", addr);
    let client = kube::Client::try_from(kube::Config::new(emu.url().parse().unwrap())).unwrap();
    for ns in ["web", "backend"] {
        Api::<Namespace>::all(client.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
            )
            .await
            .unwrap();
    }
    let text =
        std::fs::read_to_string(root().join("deploy/webhook/validatingwebhookconfiguration.yaml"))
            .unwrap();
    let mut config: Value = serde_yaml_ng::from_str(&text).unwrap();
    config["webhooks"][0]["clientConfig"]["caBundle"] = ca_bundle(&pair.ca_pem).into();
    edit(&mut config);
    webhook_configurations(&client)
        .create(
            &PostParams::default(),
            &serde_json::from_value(config).unwrap(),
        )
        .await
        .unwrap();
    Env {
        emu,
        client,
        _token: token,
    }
}

fn uuid_like() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

fn service(ns: &str, name: &str, ty: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations},
        "spec": {"type": ty, "selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    })
}

/// POSTs `svc` with the raw client: the status, the body, and the `Warning` headers.
async fn post(env: &Env, svc: &Value) -> (u16, Value, Vec<String>) {
    let ns = svc["metadata"]["namespace"].as_str().unwrap();
    let request = http::Request::post(format!("/api/v1/namespaces/{ns}/services"))
        .header("content-type", "application/json")
        .body(kube::client::Body::from(serde_json::to_vec(svc).unwrap()))
        .unwrap();
    let response = env.client.send(request).await.unwrap();
    let status = response.status().as_u16();
    let warnings = response
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, serde_json::from_slice(&body).unwrap(), warnings)
}

fn bad_annotations() -> Value {
    json!({
        "loadbalancer.openstack.org/connection-limit": "-5",
        "loadbalancer.openstack.org/lb-method": "least_connections",
        "loadbalancer.openstack.org/health-monitor-max-retires": "3",
    })
}

#[tokio::test]
async fn a_valid_spec_with_bad_annotations_is_denied_with_every_error_and_the_warnings() {
    let env = start(|_| {}).await;
    let svc = service("web", "bad-annotations", "LoadBalancer", bad_annotations());
    let (code, body, warnings) = post(&env, &svc).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(
        body["message"],
        format!(
            "admission webhook \"{WEBHOOK}\" denied the request: 2 errors: \
             loadbalancer.openstack.org/connection-limit=-5: must be a decimal integer from -1 to 2147483647; \
             loadbalancer.openstack.org/lb-method=least_connections: must be one of ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP, SOURCE_IP_PORT; did you mean LEAST_CONNECTIONS?"
        )
    );
    assert_eq!(
        warnings,
        [
            "299 - \"loadbalancer.openstack.org/health-monitor-max-retires: unknown annotation, ignored; did you mean health-monitor-max-retries?\""
        ]
    );
    // Denied means not stored; kube-rs's typed API sees the same Status.
    let api: Api<Service> = Api::namespaced(env.client.clone(), "web");
    assert!(api.get_opt("bad-annotations").await.unwrap().is_none());
    let typed: Service = serde_json::from_value(svc).unwrap();
    match api.create(&PostParams::default(), &typed).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422);
            assert!(status.message.starts_with(
                "admission webhook \"services.kks-lb.openstack.org\" denied the request: 2 errors: "
            ));
        }
        other => panic!("expected the denial, got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_service_is_stored_with_its_warnings_and_fixing_an_old_error_passes() {
    let env = start(|_| {}).await;
    let svc = service(
        "web",
        "warned",
        "LoadBalancer",
        json!({"loadbalancer.openstack.org/health-monitor-max-retires": "3"}),
    );
    let (code, body, warnings) = post(&env, &svc).await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("did you mean health-monitor-max-retries?"));

    // A Service already broken before the webhook (written through the handle, which admits
    // nothing) can be changed without fixing everything at once, but not made worse.
    let broken: Service =
        serde_json::from_value(service("web", "legacy", "LoadBalancer", bad_annotations()))
            .unwrap();
    env.emu.create_service(&broken).unwrap();
    let api: Api<Service> = Api::namespaced(env.client.clone(), "web");
    let patch = |v: Value| kube::api::Patch::Merge(v);
    api.patch(
        "legacy",
        &kube::api::PatchParams::default(),
        &patch(json!({"metadata": {"annotations": {"loadbalancer.openstack.org/lb-method": "LEAST_CONNECTIONS"}}})),
    )
    .await
    .unwrap();
    let err = api
        .patch(
            "legacy",
            &kube::api::PatchParams::default(),
            &patch(json!({"metadata": {"annotations": {"loadbalancer.openstack.org/keep-floatingip": "maybe"}}})),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected a denial")
    };
    assert!(
        status
            .message
            .contains("1 error: loadbalancer.openstack.org/keep-floatingip=maybe"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn the_api_servers_own_rules_run_before_the_webhook() {
    let env = start(|_| {}).await;
    let text =
        std::fs::read_to_string(root().join("examples/invalid/broken-service.yaml")).unwrap();
    let svc: Value = serde_yaml_ng::from_str(&text).unwrap();
    let (code, body, warnings) = post(&env, &svc).await;
    assert_eq!(code, 422);
    assert_eq!(
        body["message"],
        "Service \"broken-web\" is invalid: spec.LoadBalancerSourceRanges[1]: Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
    );
    assert!(
        warnings.is_empty(),
        "the webhook was not asked: {warnings:?}"
    );
}

#[tokio::test]
async fn other_services_and_kube_system_are_not_sent() {
    let env = start(|_| {}).await;
    let cluster_ip = service("web", "plain", "ClusterIP", bad_annotations());
    assert_eq!(post(&env, &cluster_ip).await.0, 201);
    let system = service(
        "kube-system",
        "system-lb",
        "LoadBalancer",
        bad_annotations(),
    );
    assert_eq!(post(&env, &system).await.0, 201);
    let other_class = {
        let mut s = service("backend", "other-class", "LoadBalancer", bad_annotations());
        s["spec"]["loadBalancerClass"] = "example.com/other".into();
        s
    };
    assert_eq!(post(&env, &other_class).await.0, 201);
}

#[tokio::test]
async fn failure_policy_decides_when_the_webhook_cannot_be_reached() {
    let unreachable = |policy: &'static str| {
        move |config: &mut Value| {
            config["webhooks"][0]["clientConfig"]["service"]["name"] = "nowhere".into();
            config["webhooks"][0]["failurePolicy"] = policy.into();
        }
    };
    let env = start(unreachable("Ignore")).await;
    let svc = service("web", "while-down", "LoadBalancer", bad_annotations());
    assert_eq!(post(&env, &svc).await.0, 201, "Ignore lets writes through");

    let env = start(unreachable("Fail")).await;
    let (code, body, _) = post(&env, &svc).await;
    assert_eq!(code, 500, "{body}");
    assert_eq!(body["reason"], "InternalError");
    assert!(
        body["message"].as_str().unwrap().starts_with(&format!(
            "Internal error occurred: failed calling webhook \"{WEBHOOK}\": "
        )),
        "{body}"
    );

    // A wrong CA is a failed call too.
    let env = start(|config| {
        let other = generate(&["x".to_owned()], Duration::from_secs(60)).unwrap();
        config["webhooks"][0]["clientConfig"]["caBundle"] = ca_bundle(&other.ca_pem).into();
        config["webhooks"][0]["failurePolicy"] = "Fail".into();
    })
    .await;
    assert_eq!(post(&env, &svc).await.0, 500);
}

#[test]
fn the_manifests_keep_the_cluster_safe_and_pass_flags_the_controller_accepts() {
    use clap::Parser;
    let text =
        std::fs::read_to_string(root().join("deploy/webhook/validatingwebhookconfiguration.yaml"))
            .unwrap();
    let config: Value = serde_yaml_ng::from_str(&text).unwrap();
    let hook = &config["webhooks"][0];
    assert_eq!(hook["name"], WEBHOOK);
    assert_eq!(hook["failurePolicy"], "Ignore");
    assert_eq!(hook["sideEffects"], "None");
    assert_eq!(hook["timeoutSeconds"], 2);
    assert_eq!(hook["admissionReviewVersions"], json!(["v1"]));
    assert_eq!(
        hook["clientConfig"]["service"]["path"],
        kks_lb_controller::webhook::PATH
    );
    assert_eq!(hook["rules"][0]["operations"], json!(["CREATE", "UPDATE"]));
    assert_eq!(hook["rules"][0]["resources"], json!(["services"]));
    assert_eq!(
        hook["matchConditions"][0]["expression"],
        "object.spec.type == 'LoadBalancer'"
    );
    assert_eq!(
        hook["namespaceSelector"]["matchExpressions"][0],
        json!({"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]})
    );

    let patch: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root().join("deploy/webhook/deployment-patch.yaml")).unwrap(),
    )
    .unwrap();
    let container = &patch["spec"]["template"]["spec"]["containers"][0];
    let env: Vec<(String, String)> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let flag = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let args = kks_lb_controller::config::ControllerArgs::try_parse_from([
        "kks-lb-controller",
        "--webhook-addr",
        &flag("KKS_LB_WEBHOOK_ADDR"),
        "--webhook-cert-dir",
        &flag("KKS_LB_WEBHOOK_CERT_DIR"),
    ])
    .unwrap();
    assert_eq!(args.webhook_addr.unwrap().port(), 9443);
    assert_eq!(
        container["volumeMounts"][0]["mountPath"].as_str().unwrap(),
        args.webhook_cert_dir.to_str().unwrap()
    );
    let service: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root().join("deploy/webhook/service.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        service["metadata"]["name"],
        hook["clientConfig"]["service"]["name"]
    );
    assert_eq!(
        service["spec"]["ports"][0]["port"],
        hook["clientConfig"]["service"]["port"]
    );
}
