//! Ten internal Services created at once (the OCCM baseline's scale scenario): how long until
//! every one has its ingress, and how many OpenStack calls that took. The real controller
//! against the embedded emulators, Octavia-like create time 1.5 s, default pacing.
//! `cargo bench -p kks-lb-controller --bench ten_services`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kks_lb_adapter::{Auth, OpenStackClient, SessionConfig};
use kks_lb_controller::config::Settings;
use kks_lb_controller::run::run_with;
use kks_lb_planner::ClusterConfig;
use kks_lb_testkit::kube_api::KubeEmulator;
use kks_lb_testkit::openstack::{EmulatorConfig, OpenStackEmulator, ProvisioningDelays};
use tokio_util::sync::CancellationToken;

const SERVICES: usize = 10;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let delays = ProvisioningDelays {
            create: Duration::from_millis(1500),
            update: Duration::from_millis(500),
            delete: Duration::from_millis(400),
        };
        let cloud = OpenStackEmulator::start(EmulatorConfig { delays, ..EmulatorConfig::default() }).await.unwrap();
        let kube = KubeEmulator::start().await.unwrap();
        for i in 1..=3 {
            kube.add_node(&format!("worker-{i}"), &format!("10.0.0.{}", 10 + i)).unwrap();
        }
        let f = cloud.fixture().clone();
        let session = SessionConfig::new(Auth::ApplicationCredential {
            auth_url: cloud.auth_url().to_owned(),
            id: f.application_credential_id.clone(),
            secret: f.application_credential_secret.clone(),
        });
        let openstack = OpenStackClient::connect(&session).await.unwrap();
        let client = kube::Client::try_from(kube::Config::new(kube.url().parse().unwrap())).unwrap();
        let cluster = ClusterConfig {
            cluster_name: "bench".into(),
            cluster_id: kube.kube_system_uid().to_owned(),
            subnet_id: Some(f.cluster_subnet_id.clone()),
            network_id: None,
            member_subnet_id: None,
            floating_network_id: Some(f.external_network_id.clone()),
            provider: "amphora".into(),
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run_with(client, openstack, Settings::new(cluster), shutdown.clone()));
        // Let the controller start and discover the cloud before the clock runs.
        tokio::time::sleep(Duration::from_millis(500)).await;
        cloud.reset_calls();
        let started = Instant::now();
        for i in 0..SERVICES {
            let svc = Service {
                metadata: ObjectMeta {
                    name: Some(format!("svc-{i}")),
                    namespace: Some("default".into()),
                    annotations: Some(BTreeMap::from([(
                        "service.beta.kubernetes.io/openstack-internal-load-balancer".to_owned(),
                        "true".to_owned(),
                    )])),
                    ..ObjectMeta::default()
                },
                spec: Some(ServiceSpec {
                    type_: Some("LoadBalancer".into()),
                    ports: Some(vec![
                        ServicePort { name: Some("http".into()), port: 80, ..ServicePort::default() },
                        ServicePort { name: Some("https".into()), port: 443, ..ServicePort::default() },
                    ]),
                    ..ServiceSpec::default()
                }),
                ..Service::default()
            };
            kube.create_service(&svc).unwrap();
        }
        loop {
            let services: Vec<Service> = kube.list(Some("default")).unwrap();
            let ready = services
                .iter()
                .filter(|s| {
                    s.status
                        .as_ref()
                        .and_then(|st| st.load_balancer.as_ref())
                        .and_then(|lb| lb.ingress.as_ref())
                        .is_some_and(|i| !i.is_empty())
                })
                .count();
            if ready == SERVICES {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "only {ready} ready after 120 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let took = started.elapsed();
        let calls: u64 = cloud
            .calls()
            .iter()
            .filter(|(c, _)| c.service.as_str() != "keystone")
            .map(|(_, n)| n)
            .sum();
        println!("| {SERVICES} internal Services at once (2 ports, 3 nodes), create 1.5 s | all ingress after {:.1} s | {calls} OpenStack calls ({:.1} per Service) |", took.as_secs_f64(), calls as f64 / SERVICES as f64);
        shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    });
}
