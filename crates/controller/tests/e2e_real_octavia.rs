//! The real controller against the Kubernetes API emulator and a REAL Octavia 19 (noauth, noop
//! drivers) started by `scripts/real-openstack/start.sh`: an internal Service is created,
//! edited and deleted. Without the `KKS_REAL_*` variables the test prints `skipped: ...` and
//! passes. (The noop network driver's VIP port does not exist in Neutron, so floating-IP flows
//! stay on the emulator.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kks_lb_adapter::{
    Auth, Backoff, ExecuteConfig, Observation, OpenStackClient, Ownership, SessionConfig, observe,
};
use kks_lb_controller::config::Settings;
use kks_lb_controller::run::run_with;
use kks_lb_octavia_model::Topology;
use kks_lb_planner::{ClusterConfig, cluster_tag, lb_name};
use kks_lb_testkit::kube_api::KubeEmulator;
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(120);

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

async fn live(client: &OpenStackClient, owner: &Ownership) -> Option<Topology> {
    match observe(client, owner).await.unwrap() {
        Observation::Owned(t) => Some(*t),
        _ => None,
    }
}

async fn wait_live(
    client: &OpenStackClient,
    owner: &Ownership,
    what: &str,
    done: impl Fn(Option<&Topology>) -> bool,
) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let t = live(client, owner).await;
        if done(t.as_ref()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not reached; live: {t:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn an_internal_service_is_created_updated_and_deleted_on_a_real_octavia() {
    let (Some(octavia), Some(neutron), Some(project), Some(subnet)) = (
        env("KKS_REAL_OCTAVIA_URL"),
        env("KKS_REAL_NEUTRON_URL"),
        env("KKS_REAL_PROJECT_ID"),
        env("KKS_REAL_SUBNET_ID"),
    ) else {
        println!(
            "skipped: needs a real Octavia (scripts/real-openstack/start.sh, then source its env file)"
        );
        return;
    };
    let kube = KubeEmulator::start().await.unwrap();
    for i in 1..=3 {
        kube.add_node(&format!("worker-{i}"), &format!("10.0.0.{}", 20 + i))
            .unwrap();
    }
    let client = kube::Client::try_from(kube::Config::new(kube.url().parse().unwrap())).unwrap();
    let mut session = SessionConfig::new(Auth::NoAuth {
        octavia_url: octavia,
        neutron_url: neutron,
        project_id: project,
    });
    session.qps = 0.0;
    let openstack = OpenStackClient::connect(&session).await.unwrap();
    let cluster = ClusterConfig {
        cluster_name: format!("e2e{}", std::process::id()),
        cluster_id: kube.kube_system_uid().to_owned(),
        subnet_id: Some(subnet),
        network_id: None,
        member_subnet_id: None,
        floating_network_id: None,
        provider: "amphora".into(),
    };
    let mut settings = Settings::new(cluster.clone());
    settings.execute = ExecuteConfig {
        backoff: Backoff {
            start: Duration::from_millis(200),
            factor: 1.5,
            cap: Duration::from_secs(1),
            jitter: 0.2,
        },
        wait_limit: Duration::from_secs(90),
        max_attempts: 8,
    };
    settings.shutdown_grace = Duration::from_secs(1);
    settings.identity = "e2e-real".into();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_with(
        client,
        openstack.clone(),
        settings,
        shutdown.clone(),
    ));

    let (ns, name) = ("default", "internal-web");
    let svc = Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            annotations: Some(BTreeMap::from([(
                "service.beta.kubernetes.io/openstack-internal-load-balancer".to_owned(),
                "true".to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    kube.create_service(&svc).unwrap();
    let ready = kube
        .wait_for::<Service>(Some(ns), name, PATIENCE, |s| {
            s.and_then(|s| s.status.as_ref())
                .and_then(|st| st.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .is_some_and(|i| !i.is_empty())
        })
        .await
        .unwrap()
        .unwrap();
    let ingress = ready
        .status
        .unwrap()
        .load_balancer
        .unwrap()
        .ingress
        .unwrap();
    let owner = Ownership {
        name: lb_name(&cluster.cluster_name, ns, name),
        cluster_tag: cluster_tag(&cluster.cluster_id),
        service_tag: None,
        id: None,
        adopt_untagged: false,
        tags_supported: true,
    };
    let t = live(&openstack, &owner)
        .await
        .expect("the load balancer exists on the real Octavia");
    assert_eq!(
        ingress[0].ip, t.loadbalancer.vip_address,
        "internal: the ingress is the VIP"
    );
    assert_eq!(t.member_count(), 3);
    assert!(t.floatingip.is_none());

    // An annotation edit reaches the live listener.
    kube.edit_service(ns, name, |s| {
        s.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(
                "loadbalancer.openstack.org/timeout-client-data".into(),
                "120000".into(),
            );
    })
    .unwrap();
    wait_live(&openstack, &owner, "timeout-client-data applied", |t| {
        t.is_some_and(|t| t.loadbalancer.listeners[0].timeout_client_data == Some(120_000))
    })
    .await;

    // Deleting the Service deletes the load balancer, then the finalizer goes.
    kube.delete::<Service>(Some(ns), name).unwrap();
    kube.wait_for::<Service>(Some(ns), name, PATIENCE, |s| s.is_none())
        .await
        .unwrap();
    assert!(
        live(&openstack, &owner).await.is_none(),
        "no load balancer left"
    );

    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
}
