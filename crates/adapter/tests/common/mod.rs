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
    /// The last observation, as the controller keeps it: settled from a completed plan.
    pub last: std::sync::Mutex<Option<Topology>>,
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
            last: std::sync::Mutex::new(None),
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

    /// Whether the Service's load balancer is gone; `None` when the cloud errs.
    pub async fn is_gone(&self, spec: &LbSpec) -> Option<bool> {
        match observe(self.executor.client(), &self.ownership(spec)).await {
            Ok(Observation::Missing { .. }) => Some(true),
            Ok(_) => Some(false),
            Err(_) => None,
        }
    }

    /// One reconcile: observe, plan, execute. Returns the plan and the outcome.
    pub async fn reconcile(
        &self,
        spec: &LbSpec,
        nodes: &[Node],
    ) -> kks_lb_adapter::Result<(Plan, Outcome)> {
        let (d, o, p) = observe_and_plan(
            &self.executor,
            &self.cluster,
            &self.caps,
            &self.ownership(spec),
            spec,
            nodes,
        )
        .await?;
        let out = self
            .executor
            .execute(&d.loadbalancer.name, &p, o.as_ref())
            .await?;
        Ok((p, out))
    }

    /// One reconcile as the controller runs it between drift checks: from the last
    /// observation when there is one (else one read), which the completed plan then settles.
    pub async fn reconcile_cached(
        &self,
        spec: &LbSpec,
        nodes: &[Node],
    ) -> kks_lb_adapter::Result<(Plan, Outcome)> {
        let d = desired(spec, nodes, &self.cluster);
        let cached = self.last.lock().unwrap().take();
        let o = match cached {
            Some(t) => Some(t),
            None => match observe(self.executor.client(), &self.ownership(spec)).await? {
                Observation::Owned(t) => Some(*t),
                Observation::Missing { .. } => None,
                Observation::Foreign { reason, .. } => panic!("foreign: {reason}"),
            },
        };
        let p = plan(&d, o.as_ref(), &self.caps);
        let out = self
            .executor
            .execute(&d.loadbalancer.name, &p, o.as_ref())
            .await?;
        *self.last.lock().unwrap() = kks_lb_planner::settled(
            &kks_lb_planner::adapt(&d, &self.caps).0,
            &out.ids,
            out.vip_address.as_deref(),
            out.floating_ip.as_deref(),
        );
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
        let found =
            kks_lb_adapter::observe_for_delete(self.executor.client(), &self.ownership(spec), None)
                .await?;
        if let Observation::Owned(o) = found {
            let o = *o;
            let p = plan_delete(
                &o,
                kks_lb_planner::DeleteIntent {
                    keep_floatingip: spec.keep_floating_ip,
                },
            );
            self.executor
                .execute(&o.loadbalancer.name, &p, Some(&o))
                .await?;
        }
        Ok(())
    }
}

/// The desired topology of `spec` on `nodes`, the load balancer as observed (looking for an
/// unbound floating IP of ours by its description), and the plan between them. Panics on a
/// load balancer that is not ours.
pub async fn observe_and_plan(
    executor: &Executor,
    cluster: &ClusterConfig,
    caps: &Capabilities,
    owner: &Ownership,
    spec: &LbSpec,
    nodes: &[Node],
) -> kks_lb_adapter::Result<(Topology, Option<Topology>, Plan)> {
    let d = desired(spec, nodes, cluster);
    let fip = d
        .floatingip
        .as_ref()
        .filter(|f| f.floating_ip_address.is_none())
        .map(|f| f.description.clone());
    let o = match kks_lb_adapter::observe_with(executor.client(), owner, fip.as_deref()).await? {
        Observation::Owned(t) => Some(*t),
        Observation::Missing { .. } => None,
        Observation::Foreign { reason, .. } => panic!("foreign: {reason}"),
    };
    let p = plan(&d, o.as_ref(), caps);
    Ok((d, o, p))
}

pub fn parse_file(path: &str) -> Vec<LbSpec> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| {
            let svc: Service = serde::Deserialize::deserialize(d).unwrap();
            parse(&svc, &Defaults::default()).unwrap().spec
        })
        .collect()
}

/// The accounting scenarios of `docs/benchmarks.md` on `h`: create an external load balancer
/// with 2 TCP ports and 3 nodes (no health monitors: the platform default), a drift check with
/// nothing changed, a fourth node, delete. Returns the calls of each.
pub async fn accounting_scenarios(
    h: &Harness,
) -> Vec<(&'static str, kks_lb_adapter::accounting::CallCounts)> {
    use kks_lb_adapter::accounting::CallCounts;
    use kks_lb_testkit::fixtures::{NodeBuilder, nodes};
    let svc: Service = serde_yaml_ng::from_str(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop, uid: 7d1c}\nspec:\n  type: LoadBalancer\n  ports:\n  - {name: http, port: 80, nodePort: 30080}\n  - {name: https, port: 443, nodePort: 30443}\n",
    )
    .unwrap();
    let spec = parse(&svc, &Defaults::default()).unwrap().spec;
    let three = nodes(3);
    let mut four = three.clone();
    four.push(NodeBuilder::new("node-4", "10.0.0.99").build());
    let polled = std::cell::Cell::new(h.executor.poller().list_calls());
    let counts = |h: &Harness| {
        let log = h.cloud.call_log();
        let mut c = CallCounts::from_calls(
            log.iter()
                .map(|c| (c.service.as_str(), c.method.as_str(), c.path.as_str())),
        );
        let now = h.executor.poller().list_calls();
        c.take_poll_lists(now - polled.replace(now));
        c
    };
    let mut out = Vec::new();
    h.cloud.reset_calls();
    let (p, _) = h.reconcile_cached(&spec, &three).await.unwrap();
    assert!(!p.is_empty());
    out.push(("create", counts(h)));
    h.cloud.reset_calls();
    let (p, _) = h.reconcile(&spec, &three).await.unwrap();
    assert!(p.is_empty(), "drift check found changes: {:?}", p.steps);
    out.push(("drift check, nothing changed", counts(h)));
    h.cloud.reset_calls();
    h.reconcile_cached(&spec, &four).await.unwrap();
    out.push(("add a fourth node", counts(h)));
    h.cloud.reset_calls();
    let mut edited = spec.clone();
    edited.connection_limit = 5000;
    let (p, _) = h.reconcile_cached(&edited, &four).await.unwrap();
    assert_eq!(p.steps.len(), 2, "{:?}", p.steps);
    out.push(("edit connection-limit", counts(h)));
    h.cloud.reset_calls();
    h.delete(&spec).await.unwrap();
    out.push(("delete", counts(h)));
    out
}
