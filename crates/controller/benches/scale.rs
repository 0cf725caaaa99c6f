//! Scale: N Services (half external, 2 TCP ports) × 50 nodes, the real controller against
//! the embedded emulators with Octavia-like delays (create 1.5 s, update 0.5 s, delete 0.4 s).
//!
//! `cargo bench -p kks-lb-controller --bench scale -- [--services N] [--qps Q] [--concurrency C]
//! [--resync-probe SECONDS]`
//!
//! Phases: create all (time to every ingress), add one node (time until every pool has it),
//! restart the controller (calls until quiet), steady state (drift checks over two short
//! resync intervals, scaled to an hour at the default 10 min), delete all. Prints one
//! Markdown table (docs/benchmarks.md).
//!
//! Every party has a process of its own; the bench re-executes itself for each:
//! - `--serve-emulators`: the OpenStack and Kubernetes API emulators (each on a thread of its
//!   own, a current-thread runtime), answering the driver's questions (call counts, readiness,
//!   Services to create or delete) as one JSON line per command on stdin/stdout. Their CPU and
//!   peak RSS are read in that process from `/proc` (per emulator thread, and the whole process).
//! - `--serve-controller SETTINGS`: one life of the controller (`run::run_with`, the code and
//!   the allocator of `kks-lb-controller`, 2 worker threads), until its stdin closes; then it
//!   shuts down and reports its CPU seconds and peak RSS (`VmHWM`). The first life creates and
//!   adds a node; the restart is a second process, as a restarted pod or a new leader is.
//! - the driver (this process): it only asks and counts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_precision_loss,
    clippy::too_many_lines,
    missing_docs
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kks_lb_adapter::{Auth, OpenStackClient, SessionConfig};
use kks_lb_controller::config::Settings;
use kks_lb_controller::run::run_with;
use kks_lb_planner::ClusterConfig;
use kks_lb_testkit::kube_api::KubeEmulator;
use kks_lb_testkit::openstack::{EmulatorConfig, OpenStackEmulator, ProvisioningDelays};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const NODES: usize = 50;

struct Args {
    services: usize,
    qps: f64,
    concurrency: u16,
    probe: Duration,
}

fn args() -> Args {
    let mut a = Args {
        services: 100,
        qps: 20.0,
        concurrency: 16,
        probe: Duration::from_secs(30),
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let next = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--services" => a.services = next.parse().expect("--services N"),
            "--qps" => a.qps = next.parse().expect("--qps Q"),
            "--concurrency" => a.concurrency = next.parse().expect("--concurrency C"),
            "--resync-probe" => {
                a.probe = Duration::from_secs(next.parse().expect("--resync-probe SECONDS"));
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// CPU seconds of a /proc stat file (utime + stime).
fn cpu_of(stat_path: &str) -> f64 {
    let text = std::fs::read_to_string(stat_path).unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn thread_stat_path() -> String {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    format!("/proc/{}/stat", link.display())
}

/// A field of `/proc/self/status` given in kB (`VmHWM:`, `RssAnon:`, …), in MiB.
fn status_mib(name: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| {
            v.split_whitespace()
                .next()
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// Runs `start` on a dedicated thread with a current-thread runtime that keeps running;
/// returns its result and the thread's /proc stat path.
fn on_own_thread<T, F, Fut>(name: &str, start: F) -> (T, String)
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let v = start().await;
                tx.send((v, thread_stat_path())).unwrap();
                std::future::pending::<()>().await;
            });
        })
        .unwrap();
    rx.recv().unwrap()
}

fn service(i: usize) -> Service {
    let mut annotations = BTreeMap::new();
    if i % 2 == 1 {
        annotations.insert(
            "service.beta.kubernetes.io/openstack-internal-load-balancer".to_owned(),
            "true".to_owned(),
        );
    }
    Service {
        metadata: ObjectMeta {
            name: Some(format!("svc-{i}")),
            namespace: Some("default".into()),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            ports: Some(vec![
                ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    ..ServicePort::default()
                },
                ServicePort {
                    name: Some("https".into()),
                    port: 443,
                    ..ServicePort::default()
                },
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn calls(cloud: &OpenStackEmulator) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for (c, n) in cloud.calls() {
        if c.service.as_str() == "keystone" {
            continue;
        }
        *out.entry((c.method.clone(), c.path.clone())).or_default() += n;
    }
    out
}

fn total(c: &BTreeMap<(String, String), u64>) -> u64 {
    c.values().sum()
}

fn by_endpoint(c: &BTreeMap<(String, String), u64>, per: usize) -> String {
    c.iter()
        .map(|((m, p), n)| format!("{m} {p}: {:.2}", *n as f64 / per as f64))
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------------------------------------
// The child: both emulators, driven over stdin/stdout
// ---------------------------------------------------------------------------------------------

/// Octavia-like provisioning delays (Octavia 19 with noop drivers on this machine).
fn delays() -> ProvisioningDelays {
    ProvisioningDelays {
        create: Duration::from_millis(1500),
        update: Duration::from_millis(500),
        delete: Duration::from_millis(400),
    }
}

/// Services of the bench (`svc-*`) that have an ingress.
fn ready_services(kube: &KubeEmulator) -> usize {
    let services: Vec<Service> = kube.list(Some("default")).unwrap();
    services
        .iter()
        .filter(|s| {
            s.status
                .as_ref()
                .and_then(|st| st.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .is_some_and(|i| !i.is_empty())
        })
        .count()
}

/// Load balancers whose every listener's pool has a member at `address`, and that are ACTIVE.
fn lbs_with_member(cloud: &OpenStackEmulator, address: &str) -> usize {
    cloud
        .snapshot()
        .loadbalancers
        .iter()
        .filter(|t| {
            t.loadbalancer.listeners.iter().all(|l| {
                l.default_pool
                    .as_ref()
                    .is_some_and(|p| p.members.iter().any(|m| m.address == address))
            }) && t.loadbalancer.provisioning_status
                == Some(kks_lb_octavia_model::ProvisioningStatus::Active)
        })
        .count()
}

/// One command of the driver, answered as JSON.
fn answer(
    cloud: &OpenStackEmulator,
    kube: &KubeEmulator,
    stats: &(String, String),
    line: &str,
) -> Value {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["calls"] => {
            let c: Vec<Value> = calls(cloud)
                .into_iter()
                .map(|((m, p), n)| json!([m, p, n]))
                .collect();
            json!(c)
        }
        ["reset_calls"] => {
            cloud.reset_calls();
            json!({})
        }
        ["add_node", name, ip] => {
            kube.add_node(name, ip).unwrap();
            json!({})
        }
        ["create_services", n] => {
            for i in 0..n.parse::<usize>().unwrap() {
                kube.create_service(&service(i)).unwrap();
            }
            json!({})
        }
        ["delete_services", n] => {
            for i in 0..n.parse::<usize>().unwrap() {
                assert!(
                    kube.delete::<Service>(Some("default"), &format!("svc-{i}"))
                        .unwrap(),
                    "delete svc-{i}"
                );
            }
            json!({})
        }
        ["ready"] => json!({"ready": ready_services(kube)}),
        ["lbs_with_member", ip] => json!({"done": lbs_with_member(cloud, ip)}),
        ["left"] => {
            let services: Vec<Service> = kube.list(Some("default")).unwrap();
            let ours = services
                .iter()
                .filter(|s| {
                    s.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("svc-"))
                })
                .count();
            json!({"lbs": cloud.snapshot().loadbalancers.len(), "services": ours})
        }
        ["stats"] => json!({
            "cloud_cpu": cpu_of(&stats.0),
            "kube_cpu": cpu_of(&stats.1),
            "process_cpu": cpu_of("/proc/self/stat"),
            "peak_rss_mib": peak_rss_mib(),
        }),
        _ => json!({"error": format!("unknown command {line:?}")}),
    }
}

/// `--serve-emulators`: starts both emulators, prints their endpoints as one JSON line, then
/// answers one JSON line per command line until stdin closes.
fn serve_emulators() {
    let (cloud, cloud_stat) = on_own_thread("cloud-emulator", move || async move {
        OpenStackEmulator::start(EmulatorConfig {
            delays: delays(),
            cluster_cidr: "10.0.0.0/16".to_owned(),
            external_cidr: "198.18.0.0/16".to_owned(),
            ..EmulatorConfig::default()
        })
        .await
        .unwrap()
    });
    let (kube, kube_stat) = on_own_thread("kube-emulator", || async {
        KubeEmulator::start().await.unwrap()
    });
    for i in 1..=NODES {
        kube.add_node(
            &format!("worker-{i}"),
            &format!("10.0.{}.{}", 100 + i / 200, 10 + i % 200),
        )
        .unwrap();
    }
    let f = cloud.fixture().clone();
    let hello = json!({
        "auth_url": cloud.auth_url(),
        "application_credential_id": f.application_credential_id,
        "application_credential_secret": f.application_credential_secret,
        "cluster_subnet_id": f.cluster_subnet_id,
        "external_network_id": f.external_network_id,
        "kube_url": kube.url(),
        "kube_system_uid": kube.kube_system_uid(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{hello}").unwrap();
    out.flush().unwrap();
    let stats = (cloud_stat, kube_stat);
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let reply = answer(&cloud, &kube, &stats, &line);
        writeln!(out, "{reply}").unwrap();
        out.flush().unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// A controller process
// ---------------------------------------------------------------------------------------------

/// What a controller process is started with (one JSON argument of `--serve-controller`).
fn controller_settings(emu: &Emulators, a: &Args, resync: Option<Duration>) -> Value {
    json!({
        "auth_url": emu.hello("auth_url"),
        "application_credential_id": emu.hello("application_credential_id"),
        "application_credential_secret": emu.hello("application_credential_secret"),
        "kube_url": emu.hello("kube_url"),
        "cluster_id": emu.hello("kube_system_uid"),
        "subnet_id": emu.hello("cluster_subnet_id"),
        "floating_network_id": emu.hello("external_network_id"),
        "qps": a.qps,
        "concurrency": a.concurrency,
        "resync_s": resync.map(|d| d.as_secs()),
    })
}

/// `--serve-controller SETTINGS`: runs the controller until stdin closes, then shuts it down
/// and prints this process's CPU seconds and memory as one JSON line.
fn serve_controller(settings: &str) {
    let v: Value = serde_json::from_str(settings).expect("--serve-controller SETTINGS (JSON)");
    let s = |k: &str| v[k].as_str().unwrap().to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut session = SessionConfig::new(Auth::ApplicationCredential {
            auth_url: s("auth_url"),
            id: s("application_credential_id"),
            secret: s("application_credential_secret"),
        });
        session.qps = v["qps"].as_f64().unwrap();
        let client =
            kube::Client::try_from(kube::Config::new(s("kube_url").parse().unwrap())).unwrap();
        let mut settings = Settings::new(ClusterConfig {
            cluster_name: "bench".into(),
            cluster_id: s("cluster_id"),
            subnet_id: Some(s("subnet_id")),
            network_id: None,
            member_subnet_id: None,
            floating_network_id: Some(s("floating_network_id")),
            provider: "amphora".into(),
        });
        settings.concurrency = u16::try_from(v["concurrency"].as_u64().unwrap()).unwrap();
        if let Some(resync) = v["resync_s"].as_u64() {
            settings.resync = Duration::from_secs(resync);
        }
        let openstack = OpenStackClient::connect(&session).await.unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run_with(client, openstack, settings, shutdown.clone()));
        // Stdin closes when the driver stops this controller (or goes away).
        tokio::task::spawn_blocking(|| for _ in std::io::stdin().lock().lines() {})
            .await
            .unwrap();
        shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    });
    drop(rt);
    println!(
        "{}",
        json!({
            "cpu_s": cpu_of("/proc/self/stat"),
            "peak_rss_mib": peak_rss_mib(),
            "anon_mib": status_mib("RssAnon:"),
            "file_mib": status_mib("RssFile:"),
        })
    );
}

/// One life of the controller, in a process of its own.
struct Controller {
    child: Child,
}

/// What a controller process reported when it stopped.
struct Life {
    cpu_s: f64,
    peak_rss_mib: f64,
    anon_mib: f64,
    file_mib: f64,
}

impl Controller {
    fn spawn(settings: &Value) -> Self {
        let child = Command::new(std::env::current_exe().unwrap())
            .arg("--serve-controller")
            .arg(settings.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("re-executing the bench to run the controller");
        Controller { child }
    }

    /// Closes its stdin (the controller shuts down) and reads its report.
    fn stop(mut self) -> Life {
        drop(self.child.stdin.take());
        let mut line = String::new();
        BufReader::new(self.child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let _ = self.child.wait();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("controller report: {e}: {line:?}"));
        let f = |k: &str| v[k].as_f64().unwrap();
        Life {
            cpu_s: f("cpu_s"),
            peak_rss_mib: f("peak_rss_mib"),
            anon_mib: f("anon_mib"),
            file_mib: f("file_mib"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The driver side
// ---------------------------------------------------------------------------------------------

/// The child process serving both emulators.
struct Emulators {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    hello: Value,
}

impl Emulators {
    fn spawn() -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--serve-emulators")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("re-executing the bench to serve the emulators");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let hello: Value = serde_json::from_str(&line).expect("the emulators' endpoints");
        Emulators {
            child,
            stdin,
            stdout,
            hello,
        }
    }

    fn ask(&mut self, command: &str) -> Value {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{command}: {e}: {line:?}"));
        assert!(v.get("error").is_none(), "{command}: {v}");
        v
    }

    fn hello(&self, key: &str) -> String {
        self.hello[key].as_str().unwrap().to_owned()
    }

    fn calls(&mut self) -> BTreeMap<(String, String), u64> {
        self.ask("calls")
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    (
                        c[0].as_str().unwrap().to_owned(),
                        c[1].as_str().unwrap().to_owned(),
                    ),
                    c[2].as_u64().unwrap(),
                )
            })
            .collect()
    }

    fn count(&mut self, command: &str, key: &str) -> usize {
        usize::try_from(self.ask(command)[key].as_u64().unwrap()).unwrap()
    }
}

impl Drop for Emulators {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds so far: (OpenStack emulator, Kubernetes API emulator, the emulators' whole
/// process).
fn emulator_cpu(emu: &mut Emulators) -> [f64; 3] {
    let s = emu.ask("stats");
    let f = |k: &str| s[k].as_f64().unwrap();
    [f("cloud_cpu"), f("kube_cpu"), f("process_cpu")]
}

async fn wait_quiet(emu: &mut Emulators, quiet: Duration, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut last = total(&emu.calls());
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = total(&emu.calls());
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return since.duration_since(started) - Duration::ZERO;
        }
        if started.elapsed() > limit {
            return started.elapsed();
        }
    }
}

/// The allocator of the `kks-lb-controller` binary, so the controller's RSS is the one it runs
/// with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--serve-emulators") {
        serve_emulators();
        return;
    }
    if let Some(i) = argv.iter().position(|a| a == "--serve-controller") {
        serve_controller(argv.get(i + 1).expect("--serve-controller SETTINGS"));
        return;
    }
    let a = args();
    let n = a.services;
    let mut emu = Emulators::spawn();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let emu_cpu0 = emulator_cpu(&mut emu);
        let first = Controller::spawn(&controller_settings(&emu, &a, None));
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut rows: Vec<(String, String)> = Vec::new();
        let limit = Duration::from_secs(3600);

        eprintln!("phase: 1. Create all.");
        // 1. Create all.
        emu.ask("reset_calls");
        let started = Instant::now();
        emu.ask(&format!("create_services {n}"));
        loop {
            let ready = emu.count("ready", "ready");
            if ready == n {
                break;
            }
            assert!(started.elapsed() < limit, "only {ready} ready");
            if started.elapsed().as_secs().is_multiple_of(10) {
                eprintln!("  {ready} of {n} ready");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let took = started.elapsed();
        // Let the last writes land before counting.
        wait_quiet(&mut emu, Duration::from_secs(2), limit).await;
        let c = emu.calls();
        let creates = total(&c);
        let polls = c
            .iter()
            .filter(|((m, p), _)| m == "GET" && (p == "/v2/lbaas/loadbalancers/{id}" || p == "/v2/lbaas/loadbalancers"))
            .map(|(_, v)| v)
            .sum::<u64>();
        let internal_calls: f64 = {
            // Internal Services make no Neutron call; externals add the floating IP's.
            let neutron: u64 = c
                .iter()
                .filter(|((_, p), _)| p.starts_with("/v2.0/"))
                .map(|(_, v)| v)
                .sum();
            (creates - neutron) as f64 / n as f64
        };
        rows.push((
            format!("create {n}: time to all ingress"),
            if a.qps > 0.0 {
                format!(
                    "{:.1} s ({creates} calls / {} QPS = {:.1} s)",
                    took.as_secs_f64(),
                    a.qps,
                    creates as f64 / a.qps
                )
            } else {
                format!("{:.1} s ({creates} calls, unlimited QPS)", took.as_secs_f64())
            },
        ));
        rows.push((
            "create: calls per Service".into(),
            format!(
                "{:.2} (load balancer lists and GETs: {:.2}; Octavia only, ≈ an internal Service: {:.2})",
                creates as f64 / n as f64,
                polls as f64 / n as f64,
                internal_calls
            ),
        ));
        rows.push(("create: calls per Service by endpoint".into(), by_endpoint(&c, n)));

        eprintln!("phase: 2. Add one node.");
        // 2. Add one node.
        emu.ask("reset_calls");
        let started = Instant::now();
        emu.ask("add_node worker-new 10.0.200.1");
        loop {
            let done = emu.count("lbs_with_member 10.0.200.1", "done");
            if done == n {
                break;
            }
            assert!(started.elapsed() < limit, "node add: {done} of {n}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let took = started.elapsed();
        wait_quiet(&mut emu, Duration::from_secs(2), limit).await;
        let c = emu.calls();
        let puts = c
            .get(&("PUT".to_owned(), "/v2/lbaas/pools/{id}/members".to_owned()))
            .copied()
            .unwrap_or(0);
        rows.push((
            format!("add one node to {n} Services"),
            format!(
                "{:.1} s, {} calls: {puts} batch PUTs + {} others ({:.2} %); {:.2}× calls/QPS",
                took.as_secs_f64(),
                total(&c),
                total(&c) - puts,
                (total(&c) - puts) as f64 * 100.0 / puts.max(1) as f64,
                took.as_secs_f64() / (total(&c) as f64 / a.qps.max(1e-9))
            ),
        ));
        rows.push(("node add: calls by endpoint (total)".into(), by_endpoint(&c, 1)));

        eprintln!("phase: 3. Restart");
        // 3. Restart: a new controller process (a restarted pod, a new leader) with N existing
        // load balancers.
        let first = first.stop();
        emu.ask("reset_calls");
        let started = Instant::now();
        let second = Controller::spawn(&controller_settings(&emu, &a, Some(a.probe)));
        let took = wait_quiet(&mut emu, Duration::from_secs(3), limit).await;
        let c = emu.calls();
        rows.push((
            format!("restart with {n} load balancers"),
            format!("{} calls ({:.2} per Service), quiet after {:.1} s", total(&c), total(&c) as f64 / n as f64, took.as_secs_f64().min(started.elapsed().as_secs_f64())),
        ));
        rows.push(("restart: calls by endpoint (total)".into(), by_endpoint(&c, 1)));

        eprintln!("phase: 4. Steady state");
        // 4. Steady state: two short resync intervals, nothing changes.
        tokio::time::sleep(a.probe).await;
        emu.ask("reset_calls");
        tokio::time::sleep(a.probe * 2).await;
        let c = emu.calls();
        let per_interval = total(&c) as f64 / 2.0;
        rows.push((
            "steady state (nothing changes)".into(),
            format!(
                "{per_interval:.1} calls per resync interval ({}), {:.0} calls per hour at the default 10 min resync",
                by_endpoint(&c, 2),
                per_interval * 6.0
            ),
        ));

        eprintln!("phase: 5. Delete all.");
        // 5. Delete all.
        emu.ask("reset_calls");
        let started = Instant::now();
        emu.ask(&format!("delete_services {n}"));
        loop {
            let v = emu.ask("left");
            let (left, ours) = (v["lbs"].as_u64().unwrap(), v["services"].as_u64().unwrap());
            if left == 0 && ours == 0 {
                break;
            }
            assert!(started.elapsed() < limit, "delete: {left} left");
            if started.elapsed().as_secs().is_multiple_of(5) {
                eprintln!("  {left} load balancers, {ours} Services left");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let took = started.elapsed();
        let c = emu.calls();
        rows.push((
            format!("delete {n}"),
            format!("{:.1} s, {} calls ({:.2} per Service)", took.as_secs_f64(), total(&c), total(&c) as f64 / n as f64),
        ));
        rows.push(("delete: calls per Service by endpoint".into(), by_endpoint(&c, n)));
        let second = second.stop();
        let emu_cpu1 = emulator_cpu(&mut emu);
        rows.push((
            "CPU seconds, whole run".into(),
            format!(
                "controller {:.1} s (first process {:.1} s, after the restart {:.1} s), OpenStack emulator {:.1} s, Kubernetes API emulator {:.1} s (emulator process {:.1} s)",
                first.cpu_s + second.cpu_s,
                first.cpu_s,
                second.cpu_s,
                emu_cpu1[0] - emu_cpu0[0],
                emu_cpu1[1] - emu_cpu0[1],
                emu_cpu1[2] - emu_cpu0[2]
            ),
        ));
        rows.push((
            "peak RSS, controller".into(),
            format!(
                "{:.0} MiB: first process (create, node add) {:.0} MiB, after the restart (restart, steady state, delete) {:.0} MiB; at their ends {:.0} and {:.0} MiB anonymous, {:.0} and {:.0} MiB file-backed (mostly the binary's code)",
                first.peak_rss_mib.max(second.peak_rss_mib),
                first.peak_rss_mib,
                second.peak_rss_mib,
                first.anon_mib,
                second.anon_mib,
                first.file_mib,
                second.file_mib
            ),
        ));
        rows.push((
            "peak RSS, emulators (their own process)".into(),
            format!("{:.0} MiB", emu.ask("stats")["peak_rss_mib"].as_f64().unwrap()),
        ));
        println!(
            "\n| {n} Services × {NODES} nodes, --os-api-qps {}, --concurrency {} | |\n|---|---|",
            a.qps, a.concurrency
        );
        for (k, v) in rows {
            println!("| {k} | {v} |");
        }
    });
}
