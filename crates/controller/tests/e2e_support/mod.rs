//! End-to-end harness: the Kubernetes API emulator, the OpenStack emulator, and the real
//! controller ([`kks_lb_controller::run::run_with`]) between them. No mocks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kks_lb_adapter::{Auth, Backoff, ExecuteConfig, OpenStackClient, SessionConfig};
use kks_lb_annotations::keys;
use kks_lb_controller::config::Settings;
use kks_lb_controller::leader::LeaseConfig;
use kks_lb_controller::run::{RunError, run_with};
use kks_lb_controller::status::{CONDITION_TYPE, FINALIZER};
use kks_lb_octavia_model::Topology;
use kks_lb_planner::{ClusterConfig, cluster_tag, lb_name, service_tag};
use kks_lb_testkit::kube_api::{EmulatorConfig as KubeConfig, KubeEmulator, ResourceType};
use kks_lb_testkit::openstack::{
    Call, EmulatorConfig, OpenStackEmulator, ProvisioningDelays, Service as OsService, Snapshot,
};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long any wait may take before the test fails (generous: the machine is shared).
pub const PATIENCE: Duration = Duration::from_secs(40);

/// The cluster name used by every test.
pub const CLUSTER: &str = "kks";

pub struct Env {
    pub kube: KubeEmulator,
    pub cloud: OpenStackEmulator,
    pub client: kube::Client,
    pub cluster: ClusterConfig,
}

/// A running controller.
pub struct Running {
    pub token: CancellationToken,
    pub task: JoinHandle<Result<(), RunError>>,
}

impl Running {
    /// Cancels the controller and waits until it stopped.
    pub async fn stop(self) {
        self.token.cancel();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the controller stops after cancellation")
            .expect("the controller task does not panic")
            .expect("the controller ends without error");
    }

    /// Kills the controller task without any shutdown (like SIGKILL).
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

pub fn fast_delays() -> ProvisioningDelays {
    ProvisioningDelays {
        create: Duration::from_millis(50),
        update: Duration::from_millis(20),
        delete: Duration::from_millis(20),
    }
}

impl Env {
    /// Both emulators with three nodes (`node-1..3` at `10.0.0.11..13`).
    pub async fn start() -> Env {
        Self::start_with(EmulatorConfig {
            delays: fast_delays(),
            ..EmulatorConfig::default()
        })
        .await
    }

    pub async fn start_with(config: EmulatorConfig) -> Env {
        // Logs with `RUST_LOG=kks_lb_controller=debug cargo test ...`.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let kube = KubeEmulator::start_with(KubeConfig {
            bookmark_interval: Duration::from_millis(300),
            ..KubeConfig::default()
        })
        .await
        .unwrap();
        let cloud = OpenStackEmulator::start(config).await.unwrap();
        for i in 1..=3 {
            kube.add_node(&format!("node-{i}"), &format!("10.0.0.{}", 10 + i))
                .unwrap();
        }
        let client =
            kube::Client::try_from(kube::Config::new(kube.url().parse().unwrap())).unwrap();
        let f = cloud.fixture().clone();
        let cluster = ClusterConfig {
            cluster_name: CLUSTER.into(),
            cluster_id: kube.kube_system_uid().to_owned(),
            subnet_id: Some(f.cluster_subnet_id.clone()),
            network_id: None,
            member_subnet_id: None,
            floating_network_id: Some(f.external_network_id.clone()),
            provider: "amphora".into(),
        };
        Env {
            kube,
            cloud,
            client,
            cluster,
        }
    }

    /// Creates a load balancer by hand (not through kks-lb), named `name`, with `tags`;
    /// returns its id.
    pub async fn plant_lb(&self, name: &str, tags: &[&str]) -> String {
        let os = self.openstack().await;
        let mut body = json!({"loadbalancer": {
            "name": name,
            "vip_subnet_id": self.cloud.fixture().cluster_subnet_id,
            "description": "created by hand",
        }});
        if !tags.is_empty() {
            body["loadbalancer"]["tags"] = json!(tags);
        }
        let r = os
            .call(
                kks_lb_adapter::Service::Octavia,
                reqwest::Method::POST,
                &["lbaas", "loadbalancers"],
                &[],
                Some(&body),
            )
            .await
            .unwrap();
        r.body["loadbalancer"]["id"].as_str().unwrap().to_owned()
    }

    /// A fresh OpenStack session on the emulator (application credential, no rate limit).
    pub async fn openstack(&self) -> OpenStackClient {
        let f = self.cloud.fixture();
        let mut session = SessionConfig::new(Auth::ApplicationCredential {
            auth_url: self.cloud.auth_url().to_owned(),
            id: f.application_credential_id.clone(),
            secret: f.application_credential_secret.clone(),
        });
        session.qps = 0.0;
        session.call_timeout = Duration::from_secs(5);
        OpenStackClient::connect(&session).await.unwrap()
    }

    /// Settings for tests: fast polls and retries, a long resync, no grace on shutdown.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::new(self.cluster.clone());
        s.concurrency = 4;
        s.resync = Duration::from_secs(300);
        s.execute = ExecuteConfig {
            backoff: Backoff {
                start: Duration::from_millis(10),
                factor: 1.5,
                cap: Duration::from_millis(100),
                jitter: 0.2,
            },
            wait_limit: Duration::from_secs(20),
            max_attempts: 8,
        };
        s.retry = Backoff {
            start: Duration::from_millis(50),
            factor: 2.0,
            cap: Duration::from_secs(1),
            jitter: 0.2,
        };
        s.permanent_retry = Duration::from_secs(2);
        s.shutdown_grace = Duration::ZERO;
        s.identity = "test-controller".into();
        s
    }

    /// Leader-election settings with short timing.
    pub fn lease(&self, identity: &str) -> LeaseConfig {
        LeaseConfig {
            namespace: "kube-system".into(),
            name: "kks-lb-controller".into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(2),
            renew_every: Duration::from_millis(300),
            retry_every: Duration::from_millis(200),
        }
    }

    /// Starts the controller with the test settings.
    pub async fn controller(&self) -> Running {
        self.controller_with(self.settings()).await
    }

    pub async fn controller_with(&self, settings: Settings) -> Running {
        let token = CancellationToken::new();
        let task = tokio::spawn(run_with(
            self.client.clone(),
            self.openstack().await,
            settings,
            token.clone(),
        ));
        Running { token, task }
    }

    pub fn namespace(&self, ns: &str) {
        if self
            .kube
            .get_value(ResourceType::NAMESPACES, None, ns)
            .unwrap()
            .is_none()
        {
            self.kube
                .create_value(
                    ResourceType::NAMESPACES,
                    None,
                    json!({"metadata": {"name": ns}}),
                )
                .unwrap();
        }
    }

    /// Creates a Service (and its namespace); returns it as stored.
    pub fn create(&self, svc: &Service) -> Service {
        let mut svc = svc.clone();
        svc.metadata.uid = None;
        let ns = svc
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        self.namespace(&ns);
        self.kube.create_service(&svc).unwrap()
    }

    pub fn get(&self, ns: &str, name: &str) -> Option<Service> {
        self.kube.get_service(ns, name).unwrap()
    }

    pub fn edit(&self, ns: &str, name: &str, f: impl FnOnce(&mut Service)) -> Service {
        self.kube.edit_service(ns, name, f).unwrap()
    }

    pub fn annotate(&self, ns: &str, name: &str, key: &str, value: Option<&str>) -> Service {
        self.edit(ns, name, |s| {
            let a = s.metadata.annotations.get_or_insert_with(BTreeMap::new);
            match value {
                Some(v) => a.insert(key.to_owned(), v.to_owned()),
                None => a.remove(key),
            };
        })
    }

    /// Deletes a Service through the API (finalizers hold it until the controller is done).
    pub async fn delete(&self, ns: &str, name: &str) {
        let api: kube::Api<Service> = kube::Api::namespaced(self.client.clone(), ns);
        api.delete(name, &Default::default()).await.unwrap();
    }

    /// Waits until `done` holds for the Service; panics with the last state and its Events.
    pub async fn wait_service(
        &self,
        ns: &str,
        name: &str,
        what: &str,
        done: impl FnMut(Option<&Service>) -> bool,
    ) -> Option<Service> {
        match self
            .kube
            .wait_for::<Service>(Some(ns), name, PATIENCE, done)
            .await
        {
            Ok(s) => s,
            Err(e) => panic!(
                "{what}: {e}\nservice: {:#?}\nevents: {:#?}\nload balancers: {:#?}",
                self.get(ns, name),
                self.events(ns, name),
                self.cloud
                    .snapshot()
                    .loadbalancers
                    .iter()
                    .map(|t| (&t.loadbalancer.name, &t.loadbalancer.provisioning_status))
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// Waits until the Service is Ready (condition True with an ingress) and returns it.
    pub async fn wait_ready(&self, ns: &str, name: &str) -> Service {
        self.wait_service(ns, name, "ready", |s| s.is_some_and(is_ready))
            .await
            .unwrap()
    }

    /// Waits until the cloud satisfies `done`.
    pub async fn wait_cloud(
        &self,
        what: &str,
        mut done: impl FnMut(&Snapshot) -> bool,
    ) -> Snapshot {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let snap = self.cloud.snapshot();
            if done(&snap) {
                return snap;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{what}: not reached within {PATIENCE:?}\n{snap:#?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The live load balancer of a Service, by its name.
    pub fn lb(&self, ns: &str, name: &str) -> Option<Topology> {
        self.cloud
            .snapshot()
            .loadbalancer(&lb_name(CLUSTER, ns, name))
            .cloned()
    }

    /// (reason, note) of the Service's Events, oldest first.
    pub fn events(&self, ns: &str, name: &str) -> Vec<(String, String)> {
        self.kube
            .events_for(ns, name)
            .unwrap()
            .into_iter()
            .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
            .collect()
    }

    pub fn has_event(&self, ns: &str, name: &str, reason: &str, note_contains: &str) -> bool {
        self.events(ns, name)
            .iter()
            .any(|(r, n)| r == reason && n.contains(note_contains))
    }

    /// Waits for an Event.
    pub async fn wait_event(&self, ns: &str, name: &str, reason: &str, note_contains: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self.has_event(ns, name, reason, note_contains) {
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "no {reason} Event containing {note_contains:?}; events: {:#?}",
                    self.events(ns, name)
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Mutating Octavia and Neutron calls since the last reset (Keystone token requests
    /// are not changes to the cloud).
    pub fn cloud_writes(&self) -> Vec<Call> {
        self.cloud
            .call_log()
            .into_iter()
            .filter(|c| c.method != "GET" && c.service != OsService::Keystone)
            .collect()
    }

    /// Writes to Services (PATCH/PUT/POST/DELETE) in the Kubernetes audit log.
    pub fn service_writes(&self) -> usize {
        self.kube
            .audit_log()
            .into_iter()
            .filter(|e| e.method != "GET" && e.path.contains("/services"))
            .count()
    }

    /// The leak report: load balancers and floating IPs of this cluster without a live Service.
    pub fn leaks(&self) -> kks_lb_testkit::openstack::LeakReport {
        let live: Vec<String> = self
            .kube
            .list::<Service>(None)
            .unwrap()
            .into_iter()
            .filter_map(|s| s.metadata.uid.map(|u| service_tag(&u)))
            .collect();
        self.cloud
            .leak_report(&cluster_tag(&self.cluster.cluster_id), live)
    }

    /// Waits (polling) until `f` returns `Some`.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(v) = f().await {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{what}: not reached within {PATIENCE:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A LoadBalancer Service with one TCP port 80 (node port allocated by the API server).
pub fn service(ns: &str, name: &str) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            selector: Some(BTreeMap::from([("app".into(), name.into())])),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                protocol: Some("TCP".into()),
                port: 80,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

pub fn with_annotation(mut svc: Service, key: &str, value: &str) -> Service {
    svc.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.into(), value.into());
    svc
}

pub fn annotation<'a>(svc: &'a Service, key: &str) -> Option<&'a str> {
    svc.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

pub fn ingress_ip(svc: &Service) -> Option<String> {
    svc.status
        .as_ref()?
        .load_balancer
        .as_ref()?
        .ingress
        .as_ref()?
        .first()?
        .ip
        .clone()
}

/// The `LoadBalancerReady` condition as (status, reason, message).
pub fn condition(svc: &Service) -> Option<(String, String, String)> {
    svc.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == CONDITION_TYPE)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

pub fn has_finalizer(svc: &Service) -> bool {
    svc.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == FINALIZER)
}

/// Ready: condition True, an ingress, and the id annotation written.
pub fn is_ready(svc: &Service) -> bool {
    condition(svc).is_some_and(|(s, _, _)| s == "True")
        && (ingress_ip(svc).is_some()
            || svc
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|l| l.ingress.as_ref())
                .is_some_and(|i| !i.is_empty()))
        && annotation(svc, keys::LOAD_BALANCER_ID).is_some()
}

/// Whether the condition has this reason.
pub fn pending_because(svc: &Service, reason: &str) -> bool {
    condition(svc).is_some_and(|(s, r, _)| s == "False" && r == reason)
}

pub fn member_addresses(t: &Topology) -> Vec<String> {
    let mut out: Vec<String> = t
        .loadbalancer
        .listeners
        .iter()
        .filter_map(|l| l.default_pool.as_ref())
        .flat_map(|p| p.members.iter().map(|m| m.address.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Env {
    /// Writes a kubeconfig for the Kubernetes emulator and an OCCM `cloud.conf` for the
    /// OpenStack emulator into `dir` (with `extra_lb` lines added to `[LoadBalancer]`), as a
    /// user of the binaries would have them; returns their paths.
    pub fn write_config_files(
        &self,
        dir: &std::path::Path,
        extra_lb: &str,
    ) -> (std::path::PathBuf, std::path::PathBuf) {
        std::fs::create_dir_all(dir).unwrap();
        let kubeconfig = dir.join("kubeconfig");
        self.kube.write_kubeconfig(&kubeconfig).unwrap();
        let f = self.cloud.fixture();
        let cloud_conf = dir.join("cloud.conf");
        std::fs::write(
            &cloud_conf,
            format!(
                "[Global]\nauth-url = {}\napplication-credential-id = {}\n\
                 application-credential-secret = {}\nregion = {}\n\n[LoadBalancer]\n\
                 subnet-id = {}\nfloating-network-id = {}\n{extra_lb}",
                self.cloud.auth_url(),
                f.application_credential_id,
                f.application_credential_secret,
                f.region,
                f.cluster_subnet_id,
                f.external_network_id
            ),
        )
        .unwrap();
        (kubeconfig, cloud_conf)
    }
}
