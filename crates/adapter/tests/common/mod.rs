//! A harness: the OpenStack emulator, an adapter connected to it, and a reconcile loop that
//! runs the real pipeline (parse → desired → observe → plan → execute).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Service};
use kks_lb_adapter::{
    Auth, Backoff, ExecuteConfig, Executor, Observation, OpenStackClient, Outcome, Ownership,
    SessionConfig, discover, observe,
};
use kks_lb_annotations::{Defaults, LbSpec, parse};
use kks_lb_octavia_model::Topology;
use kks_lb_planner::{
    Capabilities, ClusterConfig, Plan, cluster_tag, desired, lb_name, plan, plan_delete,
    service_tag,
};
use kks_lb_testkit::openstack::{EmulatorConfig, OpenStackEmulator, ProvisioningDelays};

pub struct Harness {
    pub cloud: OpenStackEmulator,
    pub executor: Executor,
    pub cluster: ClusterConfig,
    pub caps: Capabilities,
}

pub fn fast_delays() -> ProvisioningDelays {
    ProvisioningDelays {
        create: Duration::from_millis(60),
        update: Duration::from_millis(20),
        delete: Duration::from_millis(20),
    }
}

pub fn fast_execution() -> ExecuteConfig {
    ExecuteConfig {
        backoff: Backoff {
            start: Duration::from_millis(10),
            factor: 1.5,
            cap: Duration::from_millis(60),
            jitter: 0.2,
        },
        wait_limit: Duration::from_secs(20),
        max_attempts: 8,
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(EmulatorConfig {
            delays: fast_delays(),
            ..EmulatorConfig::default()
        })
        .await
    }

    pub async fn start_with(config: EmulatorConfig) -> Harness {
        let cloud = OpenStackEmulator::start(config).await.unwrap();
        let f = cloud.fixture().clone();
        let mut session = SessionConfig::new(Auth::ApplicationCredential {
            auth_url: cloud.auth_url().to_owned(),
            id: f.application_credential_id.clone(),
            secret: f.application_credential_secret.clone(),
        });
        session.qps = 0.0;
        session.call_timeout = Duration::from_secs(5);
        let client = OpenStackClient::connect(&session).await.unwrap();
        let caps = discover(&client, "amphora").await.unwrap();
        let cluster = ClusterConfig {
            cluster_name: "kks".into(),
            cluster_id: "cluster-1".into(),
            subnet_id: Some(f.cluster_subnet_id.clone()),
            network_id: None,
            member_subnet_id: None,
            floating_network_id: Some(f.external_network_id.clone()),
            provider: "amphora".into(),
        };
        Harness {
            cloud,
            executor: Executor::new(client, fast_execution()),
            cluster,
            caps,
        }
    }

    pub fn ownership(&self, spec: &LbSpec) -> Ownership {
        Ownership {
            name: lb_name(&self.cluster.cluster_name, &spec.namespace, &spec.name),
            cluster_tag: cluster_tag(&self.cluster.cluster_id),
            service_tag: spec.uid.as_deref().map(service_tag),
            id: spec.load_balancer_id.clone(),
            adopt_untagged: false,
            tags_supported: self.caps.tags(),
        }
    }

    pub async fn observe(&self, spec: &LbSpec) -> Observation {
        observe(self.executor.client(), &self.ownership(spec))
            .await
            .unwrap()
    }

    pub async fn observed(&self, spec: &LbSpec) -> Option<Topology> {
        match self.observe(spec).await {
            Observation::Owned(t) => Some(*t),
            Observation::Missing { .. } => None,
            Observation::Foreign { reason, .. } => panic!("foreign: {reason}"),
        }
    }

    /// One reconcile: observe, plan, execute. Returns the plan and the outcome.
    pub async fn reconcile(
        &self,
        spec: &LbSpec,
        nodes: &[Node],
    ) -> kks_lb_adapter::Result<(Plan, Outcome)> {
        let d = desired(spec, nodes, &self.cluster);
        let o = match observe(self.executor.client(), &self.ownership(spec)).await? {
            Observation::Owned(t) => Some(*t),
            Observation::Missing { .. } => None,
            Observation::Foreign { reason, .. } => panic!("foreign: {reason}"),
        };
        let p = plan(&d, o.as_ref(), &self.caps);
        let out = self
            .executor
            .execute(&d.loadbalancer.name, &p, o.as_ref())
            .await?;
        Ok((p, out))
    }

    /// Reconciles until a plan is empty (at most `rounds` times), as the controller's retries would.
    pub async fn converge(&self, spec: &LbSpec, nodes: &[Node], rounds: usize) -> Outcome {
        let mut last = None;
        for _ in 0..rounds {
            match self.reconcile(spec, nodes).await {
                Ok((p, out)) if p.is_empty() => return out,
                Ok(_) => {}
                Err(e) => last = Some(e.to_string()),
            }
        }
        panic!("did not converge in {rounds} rounds; last error: {last:?}");
    }

    /// Deletes the Service's load balancer: observe, plan_delete, execute.
    pub async fn delete(&self, spec: &LbSpec) -> kks_lb_adapter::Result<()> {
        if let Some(mut o) = self.observed(spec).await {
            o.keep_floatingip = spec.keep_floating_ip;
            let p = plan_delete(&o);
            self.executor
                .execute(&o.loadbalancer.name, &p, Some(&o))
                .await?;
        }
        Ok(())
    }
}

pub fn parse_file(path: &str) -> Vec<LbSpec> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| {
            let svc: Service = serde::Deserialize::deserialize(d).unwrap();
            parse(&svc, &Defaults::default()).unwrap().spec
        })
        .collect()
}
