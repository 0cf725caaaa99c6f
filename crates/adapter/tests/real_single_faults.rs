//! The single-fault checks of `single_faults.rs` against a REAL Octavia and Neutron (noauth,
//! noop drivers; `scripts/real-openstack/start.sh`, which `.ci/run` starts), with the faults
//! injected by a [`FaultProxy`] in front of each service. Without the `KKS_REAL_*` variables
//! the test prints `skipped: ...` and passes.
//!
//! The subset: an example Service with one port (given a UID) is created, given a fourth node
//! and deleted; each
//! mutating call of each operation meets in turn a commit then 504 and a crash after commit
//! (the task dropped the moment the call took effect), and the first one a 503 before commit.
//! Then the controller's retries run (observe, plan, execute until the plan is empty, or until
//! the load balancer is gone) and the real services are read directly, not through the proxy:
//! exactly one load balancer with the Service's name, carrying the cluster and Service tags,
//! exactly the floating IPs that should exist; after the delete, no load balancer of that name
//! and no floating IP carrying the Service's owner marker.
//!
//! The Service is the internal example (`02-internal-microservice.yaml`). An external one
//! cannot converge on this stack: the noop network driver invents the VIP port (it is not a
//! Neutron port, and Octavia refuses a `vip_port_id` whose address the noop driver cannot
//! find), so binding the floating IP to the VIP is always `404 PortNotFound`. The floating IP
//! calls are covered against the emulator (`single_faults.rs`) and, without faults, on a
//! Neutron port in `real_octavia.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::parse_file;
use k8s_openapi::api::core::v1::Node;
use kks_lb_adapter::{
    Auth, Backoff, ExecuteConfig, Executor, Observation, OpenStackClient, Ownership, SessionConfig,
    discover, observe,
};
use kks_lb_annotations::LbSpec;
use kks_lb_planner::{
    Capabilities, ClusterConfig, cluster_tag, desired, floating_ip_description, lb_name,
    plan_delete, service_tag,
};
use kks_lb_testkit::fault_proxy::FaultProxy;
use kks_lb_testkit::fixtures::{NodeBuilder, nodes};
use kks_lb_testkit::openstack::{CallMatcher, OneShotFault, Reply, Service};
use serde_json::Value;

/// The real services' addresses, read from the environment.
#[derive(Clone)]
struct Env {
    octavia: String,
    neutron: String,
    project: String,
    subnet: String,
    floating_network: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn env(test: &str) -> Option<Env> {
    let (Some(octavia), Some(neutron), Some(project), Some(subnet), Some(fnet)) = (
        var("KKS_REAL_OCTAVIA_URL"),
        var("KKS_REAL_NEUTRON_URL"),
        var("KKS_REAL_PROJECT_ID"),
        var("KKS_REAL_SUBNET_ID"),
        var("KKS_REAL_FLOATING_NETWORK_ID"),
    ) else {
        println!(
            "skipped: {test} needs a real Octavia (scripts/real-openstack/start.sh, then source its env file)"
        );
        return None;
    };
    Some(Env {
        octavia: octavia.trim_end_matches('/').to_owned(),
        neutron: neutron.trim_end_matches('/').to_owned(),
        project,
        subnet,
        floating_network: fnet,
    })
}

/// One run: an adapter talking to the real services through a fault proxy each.
struct Run {
    env: Env,
    octavia: FaultProxy,
    neutron: FaultProxy,
    executor: Executor,
    cluster: ClusterConfig,
    caps: Capabilities,
    http: reqwest::Client,
}

impl Run {
    async fn start(env: &Env) -> Run {
        let octavia = FaultProxy::start(&env.octavia, Service::Octavia)
            .await
            .unwrap();
        let neutron = FaultProxy::start(&env.neutron, Service::Neutron)
            .await
            .unwrap();
        let mut session = SessionConfig::new(Auth::NoAuth {
            octavia_url: octavia.url().to_owned(),
            neutron_url: neutron.url().to_owned(),
            project_id: env.project.clone(),
        });
        session.qps = 0.0;
        session.call_timeout = Duration::from_secs(20);
        let client = OpenStackClient::connect(&session).await.unwrap();
        let caps = discover(&client, "amphora").await.unwrap();
        let cluster = ClusterConfig {
            cluster_name: format!("rsf{}", std::process::id()),
            cluster_id: format!("real-faults-{}", std::process::id()),
            subnet_id: Some(env.subnet.clone()),
            network_id: None,
            member_subnet_id: None,
            floating_network_id: Some(env.floating_network.clone()),
            provider: "amphora".into(),
        };
        let execute = ExecuteConfig {
            backoff: Backoff {
                start: Duration::from_millis(200),
                factor: 1.5,
                cap: Duration::from_secs(1),
                jitter: 0.2,
            },
            wait_limit: Duration::from_secs(90),
            max_attempts: 8,
        };
        Run {
            env: env.clone(),
            octavia,
            neutron,
            executor: Executor::new(client, execute),
            cluster,
            caps,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    fn ownership(&self, spec: &LbSpec) -> Ownership {
        Ownership {
            name: lb_name(&self.cluster.cluster_name, &spec.namespace, &spec.name),
            cluster_tag: cluster_tag(&self.cluster.cluster_id),
            service_tag: spec.uid.as_deref().map(service_tag),
            id: None,
            adopt_untagged: false,
            tags_supported: self.caps.tags(),
        }
    }

    /// One reconcile: observe, plan, execute; whether the plan was empty.
    async fn reconcile(&self, spec: &LbSpec, ns: &[Node]) -> kks_lb_adapter::Result<bool> {
        let (d, o, p) = common::observe_and_plan(
            &self.executor,
            &self.cluster,
            &self.caps,
            &self.ownership(spec),
            spec,
            ns,
        )
        .await?;
        if p.is_empty() {
            return Ok(true);
        }
        self.executor
            .execute(&d.loadbalancer.name, &p, o.as_ref())
            .await?;
        Ok(false)
    }

    /// The controller's retries: reconciles until a plan is empty.
    async fn converge(&self, spec: &LbSpec, ns: &[Node], what: &str) {
        let mut last = None;
        for _ in 0..8 {
            match self.reconcile(spec, ns).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => {
                    last = Some(e.to_string());
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        panic!("{what}: did not converge; last error: {last:?}");
    }

    /// Deletes the Service's load balancer: observe, plan_delete, execute.
    async fn delete(&self, spec: &LbSpec) -> kks_lb_adapter::Result<()> {
        let d = desired(spec, &[], &self.cluster);
        let fip = d.floatingip.as_ref().map(|f| f.description.clone());
        let found = kks_lb_adapter::observe_for_delete(
            self.executor.client(),
            &self.ownership(spec),
            fip.as_deref(),
        )
        .await?;
        if let Observation::Owned(o) = found {
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

    async fn is_gone(&self, spec: &LbSpec) -> Option<bool> {
        match observe(self.executor.client(), &self.ownership(spec)).await {
            Ok(Observation::Missing { .. }) => Some(true),
            Ok(_) => Some(false),
            Err(_) => None,
        }
    }

    /// The controller's retries of a delete: until the load balancer is gone.
    async fn settle_delete(&self, spec: &LbSpec, what: &str) {
        for _ in 0..20 {
            let ok = self.delete(spec).await.is_ok();
            if ok && self.is_gone(spec).await == Some(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("{what}: not deleted");
    }

    /// A GET straight to a real service (not through the proxy).
    async fn get(&self, base: &str, path: &str, query: &[(&str, String)]) -> Value {
        let r = self
            .http
            .get(format!("{base}{path}"))
            .query(query)
            .header("X-Project-Id", &self.env.project)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "GET {path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Load balancers named like the Service's, not `DELETED`.
    async fn real_lbs(&self, spec: &LbSpec) -> Vec<Value> {
        let name = lb_name(&self.cluster.cluster_name, &spec.namespace, &spec.name);
        let body = self
            .get(
                &self.env.octavia,
                "/v2/lbaas/loadbalancers",
                &[("name", name.clone())],
            )
            .await;
        body["loadbalancers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|lb| lb["name"] == name.as_str() && lb["provisioning_status"] != "DELETED")
            .cloned()
            .collect()
    }

    /// Floating IPs carrying the Service's owner marker (their description).
    async fn real_fips(&self, spec: &LbSpec) -> Vec<Value> {
        let description = floating_ip_description(
            &self.cluster,
            &spec.namespace,
            &spec.name,
            spec.uid.as_deref(),
        );
        let body = self
            .get(
                &self.env.neutron,
                "/v2.0/floatingips",
                &[("description", description.clone())],
            )
            .await;
        body["floatingips"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["description"] == description.as_str())
            .cloned()
            .collect()
    }

    /// Exactly one load balancer for the Service, tagged as ours, and exactly the floating
    /// IPs it should have, bound to its VIP and tagged.
    async fn check_owned(&self, spec: &LbSpec, what: &str) {
        let lbs = self.real_lbs(spec).await;
        assert_eq!(lbs.len(), 1, "{what}: load balancers {lbs:#?}");
        let lb = &lbs[0];
        let tags: Vec<&str> = lb["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            tags.contains(&cluster_tag(&self.cluster.cluster_id).as_str()),
            "{what}: cluster tag missing: {tags:?}"
        );
        let stag = service_tag(spec.uid.as_deref().unwrap());
        assert!(
            tags.contains(&stag.as_str()),
            "{what}: Service tag missing: {tags:?}"
        );
        let fips = self.real_fips(spec).await;
        if spec.internal {
            assert!(fips.is_empty(), "{what}: floating IPs {fips:#?}");
        } else {
            assert_eq!(fips.len(), 1, "{what}: floating IPs {fips:#?}");
            assert_eq!(
                fips[0]["port_id"], lb["vip_port_id"],
                "{what}: bound to the VIP"
            );
            let ftags = fips[0]["tags"].as_array().unwrap();
            assert!(
                ftags.contains(&Value::from(cluster_tag(&self.cluster.cluster_id))),
                "{what}: floating IP tags {ftags:?}"
            );
        }
    }

    /// No load balancer of the Service's name and no floating IP with its marker.
    async fn check_gone(&self, spec: &LbSpec, what: &str) {
        let lbs = self.real_lbs(spec).await;
        assert!(lbs.is_empty(), "{what}: load balancers left {lbs:#?}");
        let fips = self.real_fips(spec).await;
        assert!(fips.is_empty(), "{what}: floating IPs left {fips:#?}");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    /// A fourth node: one batch member update.
    AddNode,
    Delete,
}

/// The nodes before `op` and the nodes `op` aims for.
fn node_sets(op: Op) -> (Vec<Node>, Vec<Node>) {
    let three = nodes(3);
    let mut four = three.clone();
    four.push(NodeBuilder::new("node-4", "10.0.0.99").build());
    match op {
        Op::AddNode => (three, four),
        Op::Create | Op::Delete => (three.clone(), three),
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Before503,
    CommitThen504,
    CrashAfter,
}

/// Mutating calls `op` makes on each service without faults.
async fn mutating_calls(env: &Env, spec: &LbSpec, op: Op) -> Vec<(Service, u64)> {
    let r = Run::start(env).await;
    let (before, ns) = node_sets(op);
    let what = format!("counting {op:?}");
    if op != Op::Create {
        r.converge(spec, &before, &what).await;
    }
    let o = r.octavia.count_calls(CallMatcher::mutating());
    let n = r.neutron.count_calls(CallMatcher::mutating());
    match op {
        Op::Create | Op::AddNode => r.converge(spec, &ns, &what).await,
        Op::Delete => r.settle_delete(spec, &what).await,
    }
    let counts = vec![(Service::Octavia, o.seen()), (Service::Neutron, n.seen())];
    if op != Op::Delete {
        r.settle_delete(spec, &what).await;
    }
    r.check_gone(spec, &what).await;
    counts
}

async fn one_fault(env: Env, spec: LbSpec, op: Op, service: Service, k: u64, fault: Fault) {
    let what = format!(
        "{} {op:?}, {service:?} mutating call {k}, {fault:?}",
        spec.name
    );
    let r = Run::start(&env).await;
    let (before, ns) = node_sets(op);
    if op != Op::Create {
        r.converge(&spec, &before, &what).await;
    }
    let proxy = match service {
        Service::Neutron => &r.neutron,
        _ => &r.octavia,
    };
    let m = CallMatcher::mutating();
    let armed = proxy.arm_fault(match fault {
        Fault::Before503 => OneShotFault::before_commit(m, k, Reply::Status(503)),
        Fault::CommitThen504 => OneShotFault::commit_then_fail(m, k, Reply::Status(504)),
        Fault::CrashAfter => OneShotFault::crash_after_commit(m, k),
    });
    let once = async {
        match op {
            Op::Create | Op::AddNode => {
                let _ = r.reconcile(&spec, &ns).await;
            }
            Op::Delete => {
                let _ = r.delete(&spec).await;
            }
        }
    };
    // A crash: the task is gone the moment the call took effect.
    tokio::select! {
        () = once => {}
        Some(_) = armed.fired(), if matches!(fault, Fault::CrashAfter) => {}
    }
    let fired = armed.fired_call();
    assert!(fired.is_some(), "{what}: the fault never acted");
    proxy.remove_fault(armed.id());
    match op {
        Op::Create | Op::AddNode => {
            r.converge(&spec, &ns, &what).await;
            r.check_owned(&spec, &what).await;
            let members = match observe(r.executor.client(), &r.ownership(&spec)).await {
                Ok(Observation::Owned(t)) => t.member_count(),
                other => panic!("{what}: {other:?}"),
            };
            assert_eq!(members, ns.len() * spec.ports.len(), "{what}: members");
            r.settle_delete(&spec, &what).await;
            r.check_gone(&spec, &format!("{what}, then deleted")).await;
        }
        Op::Delete => {
            r.settle_delete(&spec, &what).await;
            r.check_gone(&spec, &what).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_single_fault_leaks_or_duplicates_on_the_real_stack() {
    let Some(env) = env("no_single_fault_leaks_or_duplicates_on_the_real_stack") else {
        return;
    };
    let started = Instant::now();
    let base = parse_file("../../examples/02-internal-microservice.yaml")
        .into_iter()
        .next()
        .unwrap();
    assert_eq!(base.ports.len(), 1, "one port");
    let mut cases = Vec::new();
    let mut n = 0;
    for op in [Op::Create, Op::AddNode, Op::Delete] {
        let mut counting = base.clone();
        counting.name = format!("{}-count-{op:?}", base.name).to_lowercase();
        counting.uid = Some(format!("uid-{}", counting.name));
        let counts = mutating_calls(&env, &counting, op).await;
        let total: u64 = counts.iter().map(|(_, c)| c).sum();
        assert!(total > 0, "{op:?} makes no mutating call: {counts:?}");
        println!("{op:?}: mutating calls {counts:?}");
        let mut first = true;
        for (service, calls) in counts {
            for k in 0..calls {
                let mut faults = vec![Fault::CommitThen504, Fault::CrashAfter];
                if first {
                    faults.push(Fault::Before503);
                    first = false;
                }
                for fault in faults {
                    n += 1;
                    let mut spec = base.clone();
                    spec.name = format!("{}-{n}", base.name);
                    spec.uid = Some(format!("uid-{}", spec.name));
                    cases.push((spec, op, service, k, fault));
                }
            }
        }
    }
    assert!(cases.len() <= 12, "{} fault runs", cases.len());
    println!("counting took {:?}", started.elapsed());
    let runs = cases
        .into_iter()
        .map(|(spec, op, service, k, fault)| {
            tokio::spawn(one_fault(env.clone(), spec, op, service, k, fault))
        })
        .collect::<Vec<_>>();
    let count = runs.len();
    let mut failures = Vec::new();
    for run in runs {
        if let Err(e) = run.await {
            failures.push(e.to_string());
        }
    }
    println!(
        "{count} fault runs (concurrent) done in {:?} total",
        started.elapsed()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
