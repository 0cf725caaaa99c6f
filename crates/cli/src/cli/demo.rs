//! `kks-lb demo`: the real controller against the embedded OpenStack and Kubernetes emulators.
//!
//! Starts both emulators in-process, runs the controller (`run::run_with`, the same code as
//! `kks-lb-controller`), applies the example Services, shows a live table until every load
//! balancer is ready, then adds a node and deletes a Service to show convergence, and prints the
//! OpenStack calls it took.
//!
//! With `--keep`, everything keeps running after the tour: the deleted Service comes back, the
//! admission webhook ([`kks_lb_controller::webhook`]) is served on 127.0.0.1 and registered in the emulator
//! with deploy/webhook's `ValidatingWebhookConfiguration`, a kubeconfig is written
//! (`--kubeconfig`), and the kubectl commands to try are printed; Ctrl-C stops (exit code 0).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kks_lb_adapter::{Auth, OpenStackClient, SessionConfig};
use kks_lb_controller::config::Settings;
use kks_lb_planner::{ClusterConfig, lb_name};
use kks_lb_testkit::kube_api::KubeEmulator;
use kks_lb_testkit::openstack::{EmulatorConfig, OpenStackEmulator, ProvisioningDelays};
use tokio_util::sync::CancellationToken;

use super::{exit, input};

/// Flags of `kks-lb demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory (or file) of Service manifests to apply.
    #[arg(long, default_value = "examples")]
    pub examples: String,
    /// How long a load balancer stays PENDING_CREATE in the emulated Octavia, in ms.
    #[arg(long, default_value_t = 1500)]
    pub create_delay_ms: u64,
    /// Give up when the load balancers are not ready after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
    /// After the tour, keep the emulators, the controller and its admission webhook running
    /// until Ctrl-C, write a kubeconfig and print kubectl commands to try.
    #[arg(long)]
    pub keep: bool,
    /// Where `--keep` writes the kubeconfig [default: kks-lb-demo/kubeconfig in the
    /// temporary directory].
    #[arg(long, value_name = "PATH", requires = "keep")]
    pub kubeconfig: Option<std::path::PathBuf>,
}

const CLUSTER: &str = "demo";

/// Runs the demo; returns the exit code.
pub fn run(args: &Args, out: &mut dyn Write) -> u8 {
    // The controller's logs go to stderr when RUST_LOG asks for them.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kks-lb demo: cannot start the runtime: {e}");
            return exit::INPUT;
        }
    };
    match rt.block_on(demo(args, out)) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("kks-lb demo: {e}");
            exit::INVALID
        }
    }
}

/// One row of the live table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    service: String,
    kind: String,
    status: String,
    vip: String,
    floating_ip: String,
    listeners: usize,
    members: usize,
    condition: String,
}

impl Row {
    fn ready(&self) -> bool {
        self.condition.starts_with("True")
    }
}

async fn demo(args: &Args, out: &mut dyn Write) -> Result<(), String> {
    let services = read_examples(&args.examples)?;
    let delays = ProvisioningDelays {
        create: Duration::from_millis(args.create_delay_ms),
        update: Duration::from_millis(args.create_delay_ms / 4),
        delete: Duration::from_millis(args.create_delay_ms / 4),
    };
    let cloud = OpenStackEmulator::start(EmulatorConfig {
        delays,
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|e| format!("OpenStack emulator: {e}"))?;
    let kube = KubeEmulator::start()
        .await
        .map_err(|e| format!("Kubernetes emulator: {e}"))?;
    for (i, name) in ["worker-1", "worker-2", "worker-3"].iter().enumerate() {
        kube.add_node(name, &format!("10.0.0.{}", 11 + i))
            .map_err(|e| e.to_string())?;
    }
    say(
        out,
        &format!(
            "OpenStack emulator (Keystone, Octavia 2.30, Neutron) at {}\nKubernetes API emulator at {} with 3 nodes\n",
            cloud.url(),
            kube.url()
        ),
    );

    let f = cloud.fixture().clone();
    let mut session = SessionConfig::new(Auth::ApplicationCredential {
        auth_url: cloud.auth_url().to_owned(),
        id: f.application_credential_id.clone(),
        secret: f.application_credential_secret.clone(),
    });
    session.call_timeout = Duration::from_secs(10);
    let openstack = OpenStackClient::connect(&session)
        .await
        .map_err(|e| e.to_string())?;
    let client = kube::Client::try_from(kube::Config::new(
        kube.url()
            .parse()
            .map_err(|e| format!("emulator URL: {e}"))?,
    ))
    .map_err(|e| e.to_string())?;
    let cluster = ClusterConfig {
        cluster_name: CLUSTER.to_owned(),
        cluster_id: kube.kube_system_uid().to_owned(),
        subnet_id: Some(f.cluster_subnet_id.clone()),
        network_id: None,
        member_subnet_id: None,
        floating_network_id: Some(f.external_network_id.clone()),
        provider: "amphora".to_owned(),
    };
    let mut settings = Settings::new(cluster);
    settings.identity = "kks-lb-demo".to_owned();
    settings.shutdown_grace = Duration::from_secs(1);
    let shutdown = CancellationToken::new();
    let controller = tokio::spawn(kks_lb_controller::run::run_with(
        client,
        openstack,
        settings,
        shutdown.clone(),
    ));

    say(
        out,
        &format!(
            "Applying {} Services from {}\n",
            services.len(),
            args.examples
        ),
    );
    let namespaces: std::collections::BTreeSet<String> = services
        .iter()
        .filter_map(|s| s.metadata.namespace.clone())
        .collect();
    for ns in namespaces {
        let exists = kube
            .get::<Namespace>(None, &ns)
            .map_err(|e| format!("get Namespace: {e}"))?
            .is_some();
        if !exists {
            let obj = Namespace {
                metadata: ObjectMeta {
                    name: Some(ns),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            };
            kube.create(&obj)
                .map_err(|e| format!("create Namespace: {e}"))?;
        }
    }
    for svc in &services {
        kube.create_service(svc)
            .map_err(|e| format!("create Service: {e}"))?;
    }
    let limit = Duration::from_secs(args.timeout_secs);
    let tty = std::io::stdout().is_terminal();
    watch(
        out,
        &kube,
        &cloud,
        limit,
        tty,
        "all load balancers ready",
        |rows| rows.iter().all(Row::ready),
    )
    .await?;

    say(
        out,
        "\nA fourth node joins: every pool gets it as a member (one batch update per pool).\n",
    );
    kube.add_node("worker-4", "10.0.0.14")
        .map_err(|e| e.to_string())?;
    let expected = services.iter().filter(|s| has_node_ports(s)).count();
    watch(
        out,
        &kube,
        &cloud,
        limit,
        tty,
        "every pool has 4 members",
        |rows| {
            rows.iter()
                .filter(|r| r.listeners > 0 && r.members == 4 * r.listeners)
                .count()
                >= expected
        },
    )
    .await?;

    let Some(victim) = services.first() else {
        return Err("no Service to delete".into());
    };
    let ns = victim
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let name = victim.metadata.name.clone().unwrap_or_default();
    say(
        out,
        &format!("\nDeleting Service {ns}/{name}: its load balancer and floating IP go away.\n"),
    );
    kube.delete::<Service>(Some(&ns), &name)
        .map_err(|e| e.to_string())?;
    let gone = lb_name(CLUSTER, &ns, &name);
    watch(
        out,
        &kube,
        &cloud,
        limit,
        tty,
        "the deleted Service's load balancer is gone",
        |_| cloud.snapshot().loadbalancer(&gone).is_none(),
    )
    .await?;
    let snap = cloud.snapshot();
    say(
        out,
        &format!(
            "\nCloud now: {} load balancers, {} floating IPs.\n",
            snap.loadbalancers.len(),
            snap.floating_ips.len()
        ),
    );

    say(
        out,
        "\nOpenStack calls made by the controller (method, path, status → count):\n",
    );
    let mut total = 0;
    for (call, n) in cloud.calls() {
        total += n;
        say(
            out,
            &format!(
                "  {:>4}× {:<6} {:<8} {} → {}\n",
                n,
                call.service.as_str(),
                call.method,
                call.path,
                call.status
            ),
        );
    }
    say(out, &format!("  {total} calls in all\n"));

    if args.keep {
        keep(args, out, &kube, victim, &shutdown).await?;
    }

    shutdown.cancel();
    match tokio::time::timeout(Duration::from_secs(10), controller).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(format!("controller stopped with an error: {e}")),
        Ok(Err(e)) => Err(format!("controller task failed: {e}")),
        Err(_) => Err("controller did not stop within 10 s".into()),
    }
}

/// The webhook configuration shipped in deploy/webhook.
const WEBHOOK_CONFIGURATION: &str =
    include_str!("../../../../deploy/webhook/validatingwebhookconfiguration.yaml");

/// `--keep`: the admission webhook behind the emulator, a kubeconfig, the commands to try,
/// then wait for Ctrl-C.
async fn keep(
    args: &Args,
    out: &mut dyn Write,
    kube: &KubeEmulator,
    deleted: &Service,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    use kks_lb_controller::webhook::{Policy, cert, server};

    let dir = std::env::temp_dir().join(format!("kks-lb-demo-{}", std::process::id()));
    let cert_dir = dir.join("webhook");
    std::fs::create_dir_all(&cert_dir)
        .map_err(|e| format!("cannot create {}: {e}", cert_dir.display()))?;
    let pair = cert::generate(
        &cert::service_names("kks-lb-webhook", "kube-system"),
        Duration::from_secs(7 * 86_400),
    )
    .map_err(|e| e.to_string())?;
    for (file, content) in [
        (server::CERT_FILE, &pair.cert_pem),
        (server::KEY_FILE, &pair.key_pem),
    ] {
        let path = cert_dir.join(file);
        std::fs::write(&path, content)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let (addr, webhook) = server::bind(
        server::WebhookConfig {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            cert_dir,
            reload_every: Duration::from_secs(10),
            policy: Policy::default(),
        },
        shutdown.child_token(),
    )
    .await
    .map_err(|e| e.to_string())?;
    tokio::spawn(webhook);
    kube.route_webhook_service("kube-system", "kks-lb-webhook", addr);
    let mut config: serde_json::Value = serde_yaml_ng::from_str(WEBHOOK_CONFIGURATION)
        .map_err(|e| format!("deploy/webhook/validatingwebhookconfiguration.yaml: {e}"))?;
    config["webhooks"][0]["clientConfig"]["caBundle"] = cert::ca_bundle(&pair.ca_pem).into();
    kube.create_value(
        kks_lb_testkit::kube_api::ResourceType::VALIDATING_WEBHOOKS,
        None,
        config,
    )
    .map_err(|e| format!("create the webhook configuration: {e}"))?;

    // Bring back the Service the tour deleted, so every example can be explored (once the
    // controller removed its finalizer and the object is gone).
    let (del_ns, del_name) = (
        deleted.metadata.namespace.clone(),
        deleted.metadata.name.clone().unwrap_or_default(),
    );
    for _ in 0..300 {
        let present = kube
            .get::<Service>(del_ns.as_deref(), &del_name)
            .map_err(|e| e.to_string())?
            .is_some();
        if !present {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut again = deleted.clone();
    again.metadata.resource_version = None;
    again.metadata.uid = None;
    let uid = kube
        .create_service(&again)
        .map_err(|e| format!("create Service: {e}"))?
        .metadata
        .uid;
    let ns_of = del_ns.clone().unwrap_or_else(|| "default".to_owned());
    for _ in 0..300 {
        let ensured = kube
            .events_for(&ns_of, &del_name)
            .map_err(|e| e.to_string())?
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("EnsuredLoadBalancer")
                    && e.regarding.as_ref().and_then(|r| r.uid.clone()) == uid
            });
        if ensured {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let kubeconfig = args
        .kubeconfig
        .clone()
        .unwrap_or_else(|| dir.join("kubeconfig"));
    kube.write_kubeconfig(&kubeconfig)
        .map_err(|e| format!("cannot write {}: {e}", kubeconfig.display()))?;
    let name = deleted.metadata.name.clone().unwrap_or_default();
    let ns = deleted
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    say(
        out,
        &format!(
            "\nThe emulators, the controller and its admission webhook keep running. \
             Explore them with kubectl:\n\n\
             \x20 export KUBECONFIG={kc}\n\
             \x20 kubectl get svc -A\n\
             \x20 kubectl describe service -n {ns} {name}           # the controller's Events\n\
             \x20 kubectl apply -f examples/02-internal-microservice.yaml   # valid: applied\n\
             \x20 kubectl apply -f examples/invalid/bad-annotations.yaml    # refused by the kks-lb webhook, every error\n\
             \x20 kubectl apply -f examples/invalid/broken-service.yaml     # refused by the API server's own CIDR check\n\
             \x20 kubectl annotate service -n {ns} {name} loadbalancer.openstack.org/lb-method=fastest\n\
             \x20 kubectl get svc -n {ns} -w\n\
             \nPress Ctrl-C to stop.\n",
            kc = kubeconfig.display(),
        ),
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    say(out, "\nStopping.\n");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn say(out: &mut dyn Write, text: &str) {
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn read_examples(path: &str) -> Result<Vec<Service>, String> {
    let mut services = Vec::new();
    for file in input::expand_paths(&[path.to_owned()]).map_err(|e| e.to_string())? {
        services.extend(input::read_services(&file).map_err(|e| e.to_string())?);
    }
    if services.is_empty() {
        return Err(format!("no Service in {path}"));
    }
    Ok(services)
}

fn has_node_ports(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .is_some_and(|s| s.allocate_load_balancer_node_ports != Some(false))
}

/// Redraws the table until `done` holds or `limit` passes. On a terminal the table is redrawn
/// in place; otherwise it is printed whenever it changes.
async fn watch(
    out: &mut dyn Write,
    kube: &KubeEmulator,
    cloud: &OpenStackEmulator,
    limit: Duration,
    tty: bool,
    goal: &str,
    done: impl Fn(&[Row]) -> bool,
) -> Result<(), String> {
    let started = tokio::time::Instant::now();
    let mut last: Option<Vec<Row>> = None;
    loop {
        let rows = rows(kube, cloud)?;
        let finished = done(&rows);
        if last.as_ref() != Some(&rows) || finished {
            let table = render(&rows);
            if tty {
                say(out, "\x1b[2J\x1b[H");
            }
            say(
                out,
                &format!(
                    "[{:>5.1}s] waiting until {goal}\n{table}",
                    started.elapsed().as_secs_f64()
                ),
            );
            last = Some(rows);
        }
        if finished {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(format!("not done after {limit:?}: {goal}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn rows(kube: &KubeEmulator, cloud: &OpenStackEmulator) -> Result<Vec<Row>, String> {
    let snap = cloud.snapshot();
    let services: Vec<Service> = kube.list(None).map_err(|e| e.to_string())?;
    let mut rows = BTreeMap::new();
    for svc in services {
        let spec = svc.spec.clone().unwrap_or_default();
        if spec.type_.as_deref() != Some("LoadBalancer") {
            continue;
        }
        let ns = svc.metadata.namespace.clone().unwrap_or_default();
        let name = svc.metadata.name.clone().unwrap_or_default();
        let lb = snap.loadbalancer(&lb_name(CLUSTER, &ns, &name));
        let condition = svc
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "LoadBalancerReady"))
            .map_or_else(|| "-".to_owned(), |c| format!("{} {}", c.status, c.reason));
        let internal = svc
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("service.beta.kubernetes.io/openstack-internal-load-balancer"))
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let row = Row {
            service: format!("{ns}/{name}"),
            kind: if internal { "internal" } else { "external" }.to_owned(),
            status: lb
                .and_then(|t| t.loadbalancer.provisioning_status)
                .map_or_else(|| "-".to_owned(), |s| s.to_string()),
            vip: lb
                .and_then(|t| t.loadbalancer.vip_address.clone())
                .unwrap_or_else(|| "-".into()),
            floating_ip: lb
                .and_then(|t| t.floatingip.as_ref())
                .and_then(|f| f.floating_ip_address.clone())
                .unwrap_or_else(|| "-".into()),
            listeners: lb.map_or(0, |t| t.loadbalancer.listeners.len()),
            members: lb.map_or(0, |t| t.member_count()),
            condition,
        };
        rows.insert(row.service.clone(), row);
    }
    Ok(rows.into_values().collect())
}

fn render(rows: &[Row]) -> String {
    let header = [
        "SERVICE",
        "TYPE",
        "LB STATUS",
        "VIP",
        "FLOATING IP",
        "LISTENERS",
        "MEMBERS",
        "READY",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.service.clone(),
                r.kind.clone(),
                r.status.clone(),
                r.vip.clone(),
                r.floating_ip.clone(),
                r.listeners.to_string(),
                r.members.to_string(),
                r.condition.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let mut s = String::new();
        for (c, w) in cols.iter().zip(widths) {
            s.push_str(&format!("{c:<w$}  "));
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(&header.map(str::to_owned));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}
