//! The adapter against a REAL Octavia 19.0.0 and Neutron 29.0.0 (noauth, noop drivers), started
//! by `scripts/real-openstack/start.sh`; `.ci/run` starts them and sets the `KKS_REAL_*`
//! variables. Without those variables each test prints `skipped: ...` and passes.
//!
//! The noop network driver invents the VIP port (it does not exist in Neutron), so floating IPs
//! are exercised on a Neutron port of the cluster network instead of a VIP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kks_lb_adapter::{
    Auth, Backoff, ExecuteConfig, Executor, Observation, OpenStackClient, Ownership, Service,
    SessionConfig, discover, observe, observe_for_delete,
};
use kks_lb_annotations::{LbMethod, LbSpec, MonitorSpec, PortProtocol, PortSpec, ProxyProtocol};
use kks_lb_octavia_model::{FloatingIp, LbAlgorithm, MonitorType, Protocol, Topology};
use kks_lb_planner::{
    Capabilities, ClusterConfig, ObjRef, Plan, Step, adapt, cluster_tag, desired, lb_name, plan,
    plan_delete, service_tag,
};
use kks_lb_testkit::fixtures::{NodeBuilder, lb_spec, nodes};
use kks_lb_testkit::model::converged;
use reqwest::Method;

struct Real {
    executor: Executor,
    cluster: ClusterConfig,
    caps: Capabilities,
    network_id: String,
    floating_network_id: String,
    project_id: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

async fn real(test: &str) -> Option<Real> {
    let (Some(octavia), Some(neutron), Some(project), Some(subnet), Some(network), Some(fnet)) = (
        env("KKS_REAL_OCTAVIA_URL"),
        env("KKS_REAL_NEUTRON_URL"),
        env("KKS_REAL_PROJECT_ID"),
        env("KKS_REAL_SUBNET_ID"),
        env("KKS_REAL_NETWORK_ID"),
        env("KKS_REAL_FLOATING_NETWORK_ID"),
    ) else {
        println!(
            "skipped: {test} needs a real Octavia (scripts/real-openstack/start.sh, then source its env file)"
        );
        return None;
    };
    let mut session = SessionConfig::new(Auth::NoAuth {
        octavia_url: octavia,
        neutron_url: neutron,
        project_id: project.clone(),
    });
    session.qps = 0.0;
    let client = OpenStackClient::connect(&session).await.unwrap();
    let caps = discover(&client, "amphora").await.unwrap();
    let cluster = ClusterConfig {
        cluster_name: format!("real{}", std::process::id()),
        cluster_id: format!("real-{}", std::process::id()),
        subnet_id: Some(subnet),
        network_id: None,
        member_subnet_id: None,
        floating_network_id: Some(fnet.clone()),
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
    Some(Real {
        executor: Executor::new(client, execute),
        cluster,
        caps,
        network_id: network,
        floating_network_id: fnet,
        project_id: project,
    })
}

impl Real {
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

    async fn observed(&self, spec: &LbSpec) -> Option<Topology> {
        match observe(self.executor.client(), &self.ownership(spec))
            .await
            .unwrap()
        {
            Observation::Owned(t) => Some(*t),
            Observation::Missing { .. } => None,
            Observation::Foreign { reason, .. } => panic!("foreign: {reason}"),
        }
    }

    /// Reconciles until the plan is empty; returns the plans that were executed.
    async fn converge(&self, spec: &LbSpec, ns: &[Node]) -> Vec<Plan> {
        let mut plans = Vec::new();
        for _ in 0..4 {
            let d = desired(spec, ns, &self.cluster);
            let o = self.observed(spec).await;
            let p = plan(&d, o.as_ref(), &self.caps);
            if p.is_empty() {
                let live = self.observed(spec).await;
                let want = adapt(&d, &self.caps).0;
                assert!(
                    converged(&want, live.as_ref()),
                    "live differs\nwant {want:#?}\nlive {live:#?}"
                );
                return plans;
            }
            self.executor
                .execute(&d.loadbalancer.name, &p, o.as_ref())
                .await
                .unwrap_or_else(|e| panic!("{e}\nplan: {p:#?}"));
            plans.push(p);
        }
        panic!("{} did not converge", spec.name);
    }

    async fn delete(&self, spec: &LbSpec) {
        if let Observation::Owned(o) =
            observe_for_delete(self.executor.client(), &self.ownership(spec), None)
                .await
                .unwrap()
        {
            let p = plan_delete(
                &o,
                kks_lb_planner::DeleteIntent {
                    keep_floatingip: spec.keep_floating_ip,
                },
            );
            self.executor
                .execute(&o.loadbalancer.name, &p, Some(&o))
                .await
                .unwrap();
        }
        assert!(self.observed(spec).await.is_none());
    }
}

fn internal(name: &str) -> LbSpec {
    let mut s = lb_spec("real", name);
    s.internal = true;
    s
}

#[tokio::test]
async fn a_fully_populated_internal_load_balancer_is_created_updated_and_cascade_deleted() {
    let Some(r) =
        real("a_fully_populated_internal_load_balancer_is_created_updated_and_cascade_deleted")
            .await
    else {
        return;
    };
    let ns = nodes(3);
    let mut spec = internal("lifecycle");
    spec.ports.push(PortSpec {
        name: None,
        protocol: PortProtocol::Udp,
        port: 53,
        node_port: Some(30053),
    });
    let plans = r.converge(&spec, &ns).await;
    assert!(
        matches!(plans[0].steps[0], Step::CreateLoadbalancer { .. }),
        "one fully-populated create"
    );
    assert_eq!(plans[0].steps.len(), 1);

    // Listener, pool and monitor updates; Octavia answers 409 while PENDING, so each step waits.
    spec.timeouts.client_data = 90_000;
    spec.connection_limit = 5000;
    spec.lb_method = LbMethod::LeastConnections;
    spec.session_affinity_client_ip = true;
    spec.health_monitor = Some(MonitorSpec {
        delay: 20,
        timeout: 10,
        max_retries: 4,
        max_retries_down: 2,
    });
    spec.source_ranges = vec![
        "10.0.0.0/8".parse().unwrap(),
        "192.168.0.0/16".parse().unwrap(),
    ];
    let plans = r.converge(&spec, &ns).await;
    let ops: Vec<_> = plans[0].steps.iter().map(Step::op).collect();
    assert!(
        ops.contains(&"update_listener")
            && ops.contains(&"update_pool")
            && ops.contains(&"update_healthmonitor"),
        "{ops:?}"
    );
    let live = r.observed(&spec).await.unwrap();
    let tcp = live
        .loadbalancer
        .listeners
        .iter()
        .find(|l| l.protocol == Protocol::Tcp)
        .unwrap();
    assert_eq!(tcp.timeout_client_data, Some(90_000));
    assert_eq!(tcp.allowed_cidrs.as_ref().unwrap().len(), 2);
    let pool = tcp.default_pool.as_ref().unwrap();
    assert_eq!(pool.lb_algorithm, LbAlgorithm::LeastConnections);
    assert_eq!(pool.healthmonitor.as_ref().unwrap().delay, 20);

    // Batch member update: a fourth node, then one node less.
    let mut four = ns.clone();
    four.push(NodeBuilder::new("node-4", "10.0.0.44").build());
    let plans = r.converge(&spec, &four).await;
    assert!(
        plans[0]
            .steps
            .iter()
            .all(|s| matches!(s, Step::ReplaceMembers { .. })),
        "{:?}",
        plans[0].steps
    );
    assert_eq!(r.observed(&spec).await.unwrap().member_count(), 8);
    r.converge(&spec, &ns[..2]).await;
    assert_eq!(r.observed(&spec).await.unwrap().member_count(), 4);

    // Source ranges removed: allowed_cidrs back to null.
    spec.source_ranges.clear();
    r.converge(&spec, &ns).await;
    let live = r.observed(&spec).await.unwrap();
    assert!(
        live.loadbalancer
            .listeners
            .iter()
            .all(|l| l.allowed_cidrs.is_none())
    );

    r.delete(&spec).await;
}

#[tokio::test]
async fn protocol_changes_replace_listeners_and_pools_on_a_live_load_balancer() {
    let Some(r) =
        real("protocol_changes_replace_listeners_and_pools_on_a_live_load_balancer").await
    else {
        return;
    };
    let ns = nodes(2);
    let mut spec = internal("protocols");
    r.converge(&spec, &ns).await;

    // X-Forwarded-For: TCP/80 becomes HTTP/80; the new pool is created before its listener.
    spec.x_forwarded_for = true;
    r.converge(&spec, &ns).await;
    let l = &r.observed(&spec).await.unwrap().loadbalancer.listeners[0];
    assert_eq!(l.protocol, Protocol::Http);
    assert_eq!(
        l.insert_headers.get("X-Forwarded-For").map(String::as_str),
        Some("true")
    );
    let hm = l
        .default_pool
        .as_ref()
        .unwrap()
        .healthmonitor
        .as_ref()
        .unwrap();
    assert_eq!(hm.kind, MonitorType::Http);

    // PROXY protocol: back to TCP, pool PROXYV2.
    spec.x_forwarded_for = false;
    spec.proxy_protocol = ProxyProtocol::V2;
    r.converge(&spec, &ns).await;
    spec.proxy_protocol = ProxyProtocol::V1;
    let plans = r.converge(&spec, &ns).await;
    assert_eq!(
        plans[0].steps.iter().map(Step::op).collect::<Vec<_>>(),
        [
            "delete_pool",
            "create_pool",
            "replace_members",
            "create_healthmonitor"
        ]
    );
    let l = &r.observed(&spec).await.unwrap().loadbalancer.listeners[0];
    assert_eq!(l.default_pool.as_ref().unwrap().protocol, Protocol::Proxy);

    // A listener deleted by hand is recreated by the drift check.
    let id = l.id.clone().unwrap();
    let client = r.executor.client();
    let pool_id = l.default_pool.as_ref().unwrap().id.clone().unwrap();
    client
        .call(
            Service::Octavia,
            Method::DELETE,
            &["lbaas", "pools", &pool_id],
            &[],
            None,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    client
        .call(
            Service::Octavia,
            Method::DELETE,
            &["lbaas", "listeners", &id],
            &[],
            None,
        )
        .await
        .ok();
    tokio::time::sleep(Duration::from_secs(3)).await;
    r.converge(&spec, &ns).await;
    assert_eq!(
        r.observed(&spec)
            .await
            .unwrap()
            .loadbalancer
            .listeners
            .len(),
        1
    );

    r.delete(&spec).await;
}

#[tokio::test]
async fn floating_ips_are_created_detached_rebound_and_released_on_a_neutron_port() {
    let Some(r) =
        real("floating_ips_are_created_detached_rebound_and_released_on_a_neutron_port").await
    else {
        return;
    };
    let client = r.executor.client();
    let body = serde_json::json!({"port": {"network_id": r.network_id, "name": "kks-lb-real-vip", "project_id": r.project_id}});
    let port = client
        .call(Service::Neutron, Method::POST, &["ports"], &[], Some(&body))
        .await
        .unwrap();
    let port_id = port.body["port"]["id"].as_str().unwrap().to_owned();
    let fip = FloatingIp {
        floating_network_id: Some(r.floating_network_id.clone()),
        description: "kks-lb real test".into(),
        tags: vec!["kks-lb-cluster:real-test".into()],
        ..FloatingIp::default()
    };
    let vip = ObjRef {
        key: kks_lb_planner::ObjKey::VipPort,
        id: Some(port_id.clone()),
    };
    let create = Plan {
        steps: vec![
            Step::CreateFloatingip {
                port: vip.clone(),
                floatingip: FloatingIp {
                    tags: vec![],
                    ..fip.clone()
                },
            },
            Step::TagFloatingip {
                floatingip: ObjRef {
                    key: kks_lb_planner::ObjKey::Floatingip,
                    id: None,
                },
                tags: fip.tags.clone(),
            },
        ],
        warnings: vec![],
        errors: vec![],
    };
    let out = r.executor.execute("fip-test", &create, None).await.unwrap();
    let address = out.floating_ip.clone().unwrap();
    let found = client
        .call(
            Service::Neutron,
            Method::GET,
            &["floatingips"],
            &[("port_id", port_id.clone())],
            None,
        )
        .await
        .unwrap();
    let f = &found.body["floatingips"][0];
    assert_eq!(f["floating_ip_address"], address.as_str());
    assert_eq!(f["tags"], serde_json::json!(["kks-lb-cluster:real-test"]));
    let fip_id = f["id"].as_str().unwrap().to_owned();

    let fip_ref = ObjRef {
        key: kks_lb_planner::ObjKey::Floatingip,
        id: Some(fip_id.clone()),
    };
    let detach = Plan {
        steps: vec![Step::DisassociateFloatingip {
            floatingip: fip_ref.clone(),
        }],
        warnings: vec![],
        errors: vec![],
    };
    r.executor.execute("fip-test", &detach, None).await.unwrap();
    let got = client
        .call(
            Service::Neutron,
            Method::GET,
            &["floatingips", &fip_id],
            &[],
            None,
        )
        .await
        .unwrap();
    assert!(got.body["floatingip"]["port_id"].is_null());

    let rebind = Plan {
        steps: vec![Step::AssociateFloatingip {
            // As the planner sends it: the address and this cluster's marks (a claim on an
            // address marked for another cluster or Service is refused).
            floatingip: FloatingIp {
                floating_ip_address: Some(address.clone()),
                tags: vec!["kks-lb-cluster:real-test".to_owned()],
                ..FloatingIp::default()
            },
            port: vip,
        }],
        warnings: vec![],
        errors: vec![],
    };
    r.executor.execute("fip-test", &rebind, None).await.unwrap();
    let got = client
        .call(
            Service::Neutron,
            Method::GET,
            &["floatingips", &fip_id],
            &[],
            None,
        )
        .await
        .unwrap();
    assert_eq!(got.body["floatingip"]["port_id"], port_id.as_str());

    let release = Plan {
        steps: vec![Step::DeleteFloatingip {
            floatingip: fip_ref,
        }],
        warnings: vec![],
        errors: vec![],
    };
    r.executor
        .execute("fip-test", &release, None)
        .await
        .unwrap();
    let gone = client
        .call(
            Service::Neutron,
            Method::GET,
            &["floatingips", &fip_id],
            &[],
            None,
        )
        .await;
    assert!(gone.unwrap_err().is_not_found());
    client
        .call(
            Service::Neutron,
            Method::DELETE,
            &["ports", &port_id],
            &[],
            None,
        )
        .await
        .unwrap();
}
