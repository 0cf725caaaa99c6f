//! Filtered lists of the OpenStack emulator at scale: `cargo bench -p kks-lb-testkit --bench
//! emulator_lists`.
//!
//! The emulator holds 1,000 load balancers, each fully populated with 2 listeners, 2 pools and
//! 50 members per pool (100,000 members), tagged with a cluster tag and a Service tag of its
//! own, all ACTIVE. Every request goes over HTTP (noauth, one keep-alive client), so a figure
//! is what a client of the emulator waits for one answer:
//!
//! - `pools_by_loadbalancer_id`: `GET /v2/lbaas/pools?loadbalancer_id=<one lb>` (2 pools);
//! - `loadbalancers_by_service_tag`: `GET /v2/lbaas/loadbalancers?tags=<one Service's tag>`
//!   (1 load balancer);
//! - `loadbalancers_by_cluster_tag`: `GET /v2/lbaas/loadbalancers?tags=<cluster tag>` (all
//!   1,000, the controller's drift check and poller list);
//! - `members_of_pool`: `GET /v2/lbaas/pools/{id}/members` (50);
//! - `pools_by_loadbalancer_id/8_concurrent`: eight of the first at once, to show that reads do
//!   not queue behind one another (time per batch of eight);
//! - `batch_member_update`: `PUT /v2/lbaas/pools/{id}/members` with the pool's 50 members, a
//!   write on the same state (the load balancer goes `PENDING_UPDATE` and back at once).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kks_lb_testkit::openstack::{AuthMode, EmulatorConfig, OpenStackEmulator, ProvisioningDelays};
use serde_json::{Value, json};

const LBS: usize = 1_000;
const MEMBERS: usize = 50;
const CLUSTER_TAG: &str = "kks-lb-cluster:bench";

fn members(port: u16) -> Vec<Value> {
    (0..MEMBERS)
        .map(|i| json!({"address": format!("10.1.{}.{}", i / 200, 10 + i % 200), "protocol_port": port}))
        .collect()
}

fn lb_body(i: usize, subnet: &str) -> Value {
    let listener = |port: u16, node_port: u16| {
        json!({"name": format!("l{port}"), "protocol": "TCP", "protocol_port": port,
               "default_pool": {"name": format!("p{port}"), "protocol": "TCP",
                                "lb_algorithm": "ROUND_ROBIN", "members": members(node_port)}})
    };
    json!({"loadbalancer": {
        "name": format!("kube_service_bench_default_svc-{i}"),
        "vip_subnet_id": subnet,
        "tags": [CLUSTER_TAG, format!("kks-lb-service:{i}")],
        "listeners": [listener(80, 30080), listener(443, 30443)],
    }})
}

struct Bench {
    rt: tokio::runtime::Runtime,
    _cloud: OpenStackEmulator,
    http: reqwest::Client,
    octavia: String,
    project: String,
    lbs: Vec<String>,
    pools: Vec<String>,
}

impl Bench {
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}/v2/lbaas{path}", self.octavia))
            .header("X-Project-Id", &self.project)
    }

    async fn fetch(&self, path: &str) -> Value {
        let r = self.get(path).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "GET {path}");
        r.json().await.unwrap()
    }
}

fn setup() -> Bench {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cloud = rt.block_on(async {
        OpenStackEmulator::start(EmulatorConfig {
            auth: AuthMode::NoAuth,
            delays: ProvisioningDelays::ZERO,
            cluster_cidr: "10.0.0.0/16".to_owned(),
            ..EmulatorConfig::default()
        })
        .await
        .unwrap()
    });
    let fx = cloud.fixture().clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let octavia = cloud.octavia_url().trim_end_matches('/').to_owned();
    let lbs: Vec<String> = rt.block_on(async {
        let mut ids = Vec::with_capacity(LBS);
        for chunk in (0..LBS).collect::<Vec<_>>().chunks(8) {
            let posts = chunk.iter().map(|&i| {
                http.post(format!("{octavia}/v2/lbaas/loadbalancers"))
                    .header("X-Project-Id", &fx.project_id)
                    .json(&lb_body(i, &fx.cluster_subnet_id))
                    .send()
            });
            for r in futures::future::join_all(posts).await {
                let r = r.unwrap();
                assert_eq!(r.status().as_u16(), 201);
                let v: Value = r.json().await.unwrap();
                ids.push(v["loadbalancer"]["id"].as_str().unwrap().to_owned());
            }
        }
        ids
    });
    let mut b = Bench {
        rt,
        _cloud: cloud,
        http,
        octavia,
        project: fx.project_id,
        lbs,
        pools: Vec::new(),
    };
    // Everything ACTIVE, every list answering what it should.
    let all =
        b.rt.block_on(b.fetch(&format!("/loadbalancers?tags={CLUSTER_TAG}")));
    let all = all["loadbalancers"].as_array().unwrap();
    assert_eq!(all.len(), LBS);
    assert!(all.iter().all(|lb| lb["provisioning_status"] == "ACTIVE"));
    let pools: Vec<String> = b.rt.block_on(async {
        let mut out = Vec::new();
        for id in b.lbs.iter().step_by(10) {
            let v = b.fetch(&format!("/pools?loadbalancer_id={id}")).await;
            let ps = v["pools"].as_array().unwrap();
            assert_eq!(ps.len(), 2);
            out.extend(ps.iter().map(|p| p["id"].as_str().unwrap().to_owned()));
        }
        out
    });
    b.pools = pools;
    let one =
        b.rt.block_on(b.fetch("/loadbalancers?tags=kks-lb-service:7"));
    assert_eq!(one["loadbalancers"].as_array().unwrap().len(), 1);
    let m =
        b.rt.block_on(b.fetch(&format!("/pools/{}/members", b.pools[0])));
    assert_eq!(m["members"].as_array().unwrap().len(), MEMBERS);
    b
}

fn benches(c: &mut Criterion) {
    let b = &setup();
    let next = AtomicUsize::new(0);
    let lb = || b.lbs[next.fetch_add(1, Ordering::Relaxed) % LBS].clone();
    let mut g = c.benchmark_group("emulator_1000_lbs");

    g.bench_function("pools_by_loadbalancer_id", |bn| {
        bn.iter(|| {
            let path = format!("/pools?loadbalancer_id={}", lb());
            b.rt.block_on(async { b.get(&path).send().await.unwrap().bytes().await.unwrap() })
        });
    });
    g.bench_function("loadbalancers_by_service_tag", |bn| {
        bn.iter(|| {
            let i = next.fetch_add(1, Ordering::Relaxed) % LBS;
            let path = format!("/loadbalancers?tags=kks-lb-service:{i}");
            b.rt.block_on(async { b.get(&path).send().await.unwrap().bytes().await.unwrap() })
        });
    });
    g.bench_function("loadbalancers_by_cluster_tag", |bn| {
        let path = format!("/loadbalancers?tags={CLUSTER_TAG}");
        bn.iter(|| {
            b.rt.block_on(async { b.get(&path).send().await.unwrap().bytes().await.unwrap() })
        });
    });
    g.bench_function("members_of_pool", |bn| {
        bn.iter(|| {
            let i = next.fetch_add(1, Ordering::Relaxed) % b.pools.len();
            let path = format!("/pools/{}/members", b.pools[i]);
            b.rt.block_on(async { b.get(&path).send().await.unwrap().bytes().await.unwrap() })
        });
    });
    g.bench_function("pools_by_loadbalancer_id/8_concurrent", |bn| {
        bn.iter(|| {
            let paths: Vec<String> = (0..8)
                .map(|_| format!("/pools?loadbalancer_id={}", lb()))
                .collect();
            b.rt.block_on(async {
                futures::future::join_all(
                    paths.iter().map(|p| async move {
                        b.get(p).send().await.unwrap().bytes().await.unwrap()
                    }),
                )
                .await
            })
        });
    });
    let batch = json!({"members": members(30080)});
    g.bench_function("batch_member_update", |bn| {
        bn.iter(|| {
            // Pools with port 80 come first in each load balancer's pair.
            let i = 2 * (next.fetch_add(1, Ordering::Relaxed) % (b.pools.len() / 2));
            let url = format!("{}/v2/lbaas/pools/{}/members", b.octavia, b.pools[i]);
            b.rt.block_on(async {
                let r = b
                    .http
                    .put(&url)
                    .header("X-Project-Id", &b.project)
                    .json(&batch)
                    .send()
                    .await
                    .unwrap();
                // 409 when the same load balancer is still PENDING_UPDATE from a previous turn.
                assert!(matches!(r.status().as_u16(), 202 | 409), "{}", r.status());
            });
        });
    });
    g.finish();
}

criterion_group! {
    name = lists;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(lists);
