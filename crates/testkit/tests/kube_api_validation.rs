//! The Kubernetes API emulator refuses the Services a real API server refuses, with the same
//! field paths and messages (`../shared/real-kube/README.md`), as a `422 Invalid` Status whose
//! causes kubectl prints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use k8s_openapi::api::core::v1::Service;
use kks_lb_testkit::kube_api::KubeEmulator;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

fn client(emu: &KubeEmulator) -> Client {
    Client::try_from(kube::Config::new(emu.url().parse().unwrap())).unwrap()
}

fn lb(name: &str, ports: Value) -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": ports},
    }))
    .unwrap()
}

async fn refused(api: &Api<Service>, svc: &Service) -> kube::core::Status {
    match api.create(&PostParams::default(), svc).await {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn causes(status: &kube::core::Status) -> Vec<String> {
    status
        .details
        .as_ref()
        .unwrap()
        .causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

#[tokio::test]
async fn an_invalid_source_range_is_refused_as_a_real_api_server_words_it() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    let mut svc = lb(
        "broken-web",
        json!([{"name": "http", "port": 80, "nodePort": 30081}]),
    );
    svc.spec.as_mut().unwrap().load_balancer_source_ranges =
        Some(vec!["203.0.113.0/24".into(), "10.0.0.0/33".into()]);
    let status = refused(&api, &svc).await;
    assert_eq!(status.code, 422);
    assert_eq!(status.reason, "Invalid");
    assert_eq!(
        status.message,
        "Service \"broken-web\" is invalid: spec.LoadBalancerSourceRanges[1]: Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
    );
    let details = status.details.as_ref().unwrap();
    assert_eq!(details.kind, "Service");
    assert_eq!(details.name, "broken-web");
    assert_eq!(details.causes[0].field, "spec.LoadBalancerSourceRanges[1]");
    assert_eq!(details.causes[0].reason, "FieldValueInvalid");
    // Nothing was stored.
    assert!(api.get_opt("broken-web").await.unwrap().is_none());

    let mut two = svc.clone();
    two.spec.as_mut().unwrap().load_balancer_source_ranges =
        Some(vec!["foo".into(), "1.2.3.4".into()]);
    assert_eq!(
        causes(&refused(&api, &two).await),
        [
            "spec.LoadBalancerSourceRanges[0]: Invalid value: \"foo\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            "spec.LoadBalancerSourceRanges[1]: Invalid value: \"1.2.3.4\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
        ]
    );
}

#[tokio::test]
async fn duplicate_zero_and_missing_ports_are_refused() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");

    let dup = lb(
        "dup",
        json!([
            {"name": "a", "port": 80, "nodePort": 31128},
            {"name": "b", "port": 80, "nodePort": 31128},
        ]),
    );
    let status = refused(&api, &dup).await;
    assert_eq!(
        causes(&status),
        [
            "spec.ports[1].nodePort: Duplicate value: 31128",
            "spec.ports[1]: Duplicate value: {\"Name\":\"b\",\"Protocol\":\"TCP\",\"AppProtocol\":null,\"Port\":80,\"TargetPort\":80,\"NodePort\":31128}",
        ]
    );
    assert!(
        status.message.starts_with(
            "Service \"dup\" is invalid: [spec.ports[1].nodePort: Duplicate value: 31128, "
        ),
        "{}",
        status.message
    );
    assert_eq!(
        status.details.as_ref().unwrap().causes[0].reason,
        "FieldValueDuplicate"
    );

    // TCP and UDP on the same port number are fine.
    let mixed = lb(
        "mixed",
        json!([{"name": "tcp", "port": 53}, {"name": "udp", "port": 53, "protocol": "UDP"}]),
    );
    api.create(&PostParams::default(), &mixed).await.unwrap();

    let zero = lb("zero", json!([{"port": 0}]));
    assert_eq!(
        causes(&refused(&api, &zero).await),
        [
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        ]
    );

    let none = lb("none", json!([]));
    let status = refused(&api, &none).await;
    assert_eq!(
        status.message,
        "Service \"none\" is invalid: spec.ports: Required value"
    );
    assert_eq!(
        status.details.unwrap().causes[0].reason,
        "FieldValueRequired"
    );
}

#[tokio::test]
async fn annotations_over_256_kib_are_too_long() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    let mut svc = lb("big", json!([{"port": 80}]));
    svc.metadata.annotations = Some(
        [("example.com/blob".to_owned(), "x".repeat(256 * 1024))]
            .into_iter()
            .collect(),
    );
    let status = refused(&api, &svc).await;
    assert_eq!(
        causes(&status),
        ["metadata.annotations: Too long: may not be more than 262144 bytes"]
    );
    assert_eq!(
        status.details.unwrap().causes[0].reason,
        "FieldValueTooLong"
    );
    // Just under the limit (key + value) is accepted.
    let key = "example.com/blob";
    svc.metadata.annotations = Some(
        [(key.to_owned(), "x".repeat(256 * 1024 - key.len()))]
            .into_iter()
            .collect(),
    );
    api.create(&PostParams::default(), &svc).await.unwrap();
}

#[tokio::test]
async fn the_load_balancer_class_may_not_change_once_set() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    let mut svc = lb("classy", json!([{"port": 80}]));
    svc.spec.as_mut().unwrap().load_balancer_class = Some("x/y".into());
    api.create(&PostParams::default(), &svc).await.unwrap();
    let err = api
        .patch(
            "classy",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"loadBalancerClass": "x/z"}})),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected a refusal")
    };
    assert_eq!(
        status.message,
        "Service \"classy\" is invalid: spec.loadBalancerClass: Invalid value: \"x/z\": may not change once set"
    );
}

#[tokio::test]
async fn field_validation_strict_refuses_unknown_fields_and_warn_accepts_them() {
    let emu = KubeEmulator::start().await.unwrap();
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    api.create(&PostParams::default(), &lb("web", json!([{"port": 80}])))
        .await
        .unwrap();
    let patch = json!({"spec": {"portz": 1, "ports": [{"port": 80, "nodePortz": 3}]}});
    let strict = PatchParams::default().validation(kube::api::ValidationDirective::Strict);
    let err = api
        .patch("web", &strict, &Patch::Merge(patch.clone()))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected a refusal")
    };
    assert_eq!(status.code, 400);
    assert_eq!(
        status.message,
        "Service in version \"v1\" cannot be handled as a Service: strict decoding error: unknown field \"spec.ports[0].nodePortz\", unknown field \"spec.portz\""
    );
    // Without the parameter (Warn), the write goes through with one warning per field.
    let http = reqwest::Client::new();
    let response = http
        .patch(format!(
            "{}/api/v1/namespaces/default/services/web",
            emu.url()
        ))
        .header("content-type", "application/merge-patch+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let warnings: Vec<&str> = response
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        warnings,
        [
            "299 - \"unknown field \\\"spec.ports[0].nodePortz\\\"\"",
            "299 - \"unknown field \\\"spec.portz\\\"\""
        ]
    );
}

#[tokio::test]
async fn kubectl_gets_openapi_documents_and_tables() {
    let emu = KubeEmulator::start().await.unwrap();
    emu.add_node("worker-1", "10.0.0.11").unwrap();
    let http = reqwest::Client::new();
    let get = |path: &str, accept: &str| {
        http.get(format!("{}{path}", emu.url()))
            .header("accept", accept)
            .send()
    };
    let index: Value = get("/openapi/v3", "application/json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = index["paths"]["api/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap();
    let doc: Value = get(url, "application/json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["components"]["schemas"]["io.k8s.api.core.v1.Node"]["x-kubernetes-group-version-kind"]
            [0]["kind"],
        "Node"
    );
    let table: Value = get(
        "/api/v1/nodes",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["columnDefinitions"][1]["name"], "Status");
    assert_eq!(table["rows"][0]["cells"][0], "worker-1");
    assert_eq!(table["rows"][0]["cells"][1], "Ready");
    assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}

/// The protobuf body kubectl sends for `kubectl create service loadbalancer web --tcp=80:8080`
/// takes the same path as JSON: defaulting and allocation, server dry run, validation.
#[tokio::test]
async fn kubectl_create_service_in_protobuf_is_defaulted_and_stored() {
    let emu = KubeEmulator::start().await.unwrap();
    let body = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/kubectl-create-service-loadbalancer.pb"
    ));
    let http = reqwest::Client::new();
    let post = |query: &str, body: Vec<u8>| {
        http.post(format!(
            "{}/api/v1/namespaces/default/services?fieldManager=kubectl-create&fieldValidation=Strict{query}",
            emu.url()
        ))
        .header("content-type", "application/vnd.kubernetes.protobuf")
        .header("accept", "application/json")
        .body(body)
        .send()
    };
    let dry = post("&dryRun=All", body.to_vec()).await.unwrap();
    assert_eq!(dry.status(), 201);
    let api: Api<Service> = Api::namespaced(client(&emu), "default");
    assert!(api.get_opt("web").await.unwrap().is_none());

    let created = post("", body.to_vec()).await.unwrap();
    assert_eq!(created.status(), 201);
    let svc: Value = created.json().await.unwrap();
    let spec = &svc["spec"];
    assert_eq!(spec["type"], "LoadBalancer");
    assert_eq!(spec["selector"], json!({"app": "web"}));
    assert_eq!(spec["ports"][0]["port"], 80);
    assert_eq!(spec["ports"][0]["targetPort"], 8080);
    assert!(
        spec["ports"][0]["nodePort"].as_i64().unwrap() >= 30000,
        "{spec}"
    );
    assert!(
        spec["clusterIP"].as_str().unwrap().starts_with("10.96."),
        "{spec}"
    );
    assert_eq!(spec["sessionAffinity"], "None");
    let stored = api.get("web").await.unwrap();
    assert_eq!(stored.metadata.labels.unwrap()["app"], "web");

    let again = post("", body.to_vec()).await.unwrap();
    assert_eq!(again.status(), 409);
}
