//! `kks-lb plan`: the Octavia topology a Service needs and the numbered steps that reach it
//! from nothing, or from an observed topology.
//!
//! JSON output (a public interface): `{"desired":{...},"steps":[{"op":..,...}],"warnings":[...],
//! "notes":[...]}` for one Service, `{"plans":[...]}` when the file holds several. `desired` is
//! a topology with Octavia's field names; `--observed` takes exactly that form (ids optional),
//! so feeding a plan's `desired` back yields an empty plan.

use std::io::Write;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::Node;
use kks_lb_annotations::{Defaults, parse_report};
use kks_lb_controller::cloud_config;
use kks_lb_octavia_model::{HealthMonitor, Listener, Pool, Topology};
use kks_lb_planner::{ApiVersion, Capabilities, ClusterConfig, Plan, Step, adapt, desired, plan};
use serde::Serialize;
use serde_json::Value;

use super::{Output, exit, input};

/// Flags of `kks-lb plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Service manifest (YAML or JSON, multi-document) or a directory of them; `-` reads
    /// standard input.
    #[arg(short = 'f', long = "filename", value_name = "SERVICE.yaml")]
    pub file: String,
    /// Node manifests (YAML or JSON, multi-document or a v1 List); default: three sample nodes.
    #[arg(long, value_name = "NODES.yaml")]
    pub nodes: Option<String>,
    /// OCCM cloud.conf for subnet, floating network, provider and defaults.
    #[arg(long, value_name = "cloud.conf")]
    pub config: Option<PathBuf>,
    /// The topology that exists now, in the form of a plan's `desired` (ids optional).
    #[arg(long, value_name = "OBSERVED.json")]
    pub observed: Option<PathBuf>,
    /// Maximum Octavia API version of the cloud.
    #[arg(long, value_name = "2.N", default_value = "2.30")]
    pub octavia_version: ApiVersion,
    /// Load-balancer provider (overrides cloud.conf `lb-provider`).
    #[arg(long, value_name = "amphora|ovn")]
    pub provider: Option<String>,
    /// Cluster name used in load balancer names.
    #[arg(long, value_name = "NAME", default_value = "kubernetes")]
    pub cluster_name: String,
    /// Cluster id used in ownership tags (default: the cluster name).
    #[arg(long, value_name = "ID")]
    pub cluster_id: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Output,
}

/// One warning in the output: from the Service's annotations (with a key) or from the plan.
#[derive(Debug, Clone, Serialize)]
pub struct OutputWarning {
    /// The annotation key or spec field, for warnings about the Service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Stable PascalCase reason.
    pub reason: String,
    /// What happened.
    pub message: String,
}

/// The plan of one Service, as printed.
#[derive(Debug, Clone, Serialize)]
pub struct ServicePlan {
    /// `namespace/name`.
    #[serde(skip)]
    pub service: String,
    /// The desired topology.
    pub desired: Topology,
    /// The steps.
    pub steps: Vec<Step>,
    /// Warnings.
    pub warnings: Vec<OutputWarning>,
    /// What the plan assumed (sample nodes, no cloud.conf).
    pub notes: Vec<String>,
}

/// Runs `kks-lb plan`; returns the exit code.
pub fn run(args: &Args, out: &mut dyn Write) -> u8 {
    match plan_file(args) {
        Ok(Outcome::Plans(plans)) => {
            let written = match args.output {
                Output::Json => write_json(out, &plans),
                Output::Text => plans.iter().try_for_each(|p| write_text(out, p)),
            };
            if written.is_err() {
                return exit::INPUT;
            }
            exit::OK
        }
        Ok(Outcome::Invalid(messages)) => {
            for m in messages {
                eprintln!("{m}");
            }
            exit::INVALID
        }
        Err(e) => {
            eprintln!("kks-lb plan: {e}");
            exit::INPUT
        }
    }
}

enum Outcome {
    Plans(Vec<ServicePlan>),
    Invalid(Vec<String>),
}

fn plan_file(args: &Args) -> Result<Outcome, String> {
    let mut services = Vec::new();
    for file in input::expand_paths(std::slice::from_ref(&args.file)).map_err(|e| e.to_string())? {
        services.extend(input::read_services(&file).map_err(|e| e.to_string())?);
    }
    if services.is_empty() {
        return Err(format!("no Service found in {}", args.file));
    }
    let mut notes = Vec::new();
    let nodes = match &args.nodes {
        Some(path) => input::read_nodes(path).map_err(|e| e.to_string())?,
        None => {
            let sample = sample_nodes();
            notes.push(
                "no --nodes given: planned with three sample nodes node-1 (10.0.0.11), node-2 (10.0.0.12), node-3 (10.0.0.13)"
                    .to_owned(),
            );
            sample
        }
    };
    let cluster_id = args
        .cluster_id
        .clone()
        .unwrap_or_else(|| args.cluster_name.clone());
    let (defaults, mut cluster) = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let cfg = cloud_config::parse(&text, &path.display().to_string())
                .map_err(|e| e.to_string())?;
            notes.extend(cfg.warnings.iter().cloned());
            (
                cfg.load_balancer.defaults.clone(),
                cfg.cluster_config(&args.cluster_name, &cluster_id),
            )
        }
        None => {
            notes.push(
                "no --config given: VIP subnet and floating network are left unset".to_owned(),
            );
            let cluster = ClusterConfig {
                cluster_name: args.cluster_name.clone(),
                cluster_id,
                ..ClusterConfig::default()
            };
            (Defaults::default(), cluster)
        }
    };
    if let Some(p) = &args.provider {
        cluster.provider.clone_from(p);
    }
    let caps = Capabilities {
        api_version: args.octavia_version,
        provider: cluster.provider.clone(),
    };
    let observed = match &args.observed {
        Some(path) => Some(read_observed(path)?),
        None => None,
    };
    if observed.is_some() && services.len() > 1 {
        return Err(format!(
            "{}: --observed describes one load balancer, but the file holds {} Services",
            args.file,
            services.len()
        ));
    }

    let mut plans = Vec::new();
    let mut invalid = Vec::new();
    for svc in &services {
        let ns = svc
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let name = svc.metadata.name.clone().unwrap_or_default();
        let report = parse_report(svc, &defaults);
        let Some(spec) = report.spec else {
            for e in &report.errors {
                invalid.push(format!("{ns}/{name}: error: {e}"));
            }
            continue;
        };
        let d = desired(&spec, &nodes, &cluster);
        let Plan {
            steps,
            warnings: plan_warnings,
            errors,
        } = plan(&d, observed.as_ref(), &caps);
        if !errors.is_empty() {
            for e in &errors {
                invalid.push(format!("{ns}/{name}: error: {e}"));
            }
            continue;
        }
        // What will exist once the cloud's capabilities are applied.
        let d = adapt(&d, &caps).0;
        let mut warnings: Vec<OutputWarning> = report
            .warnings
            .iter()
            .map(|w| OutputWarning {
                key: Some(w.key.clone()),
                reason: w.reason.as_str().to_owned(),
                message: w.message.clone(),
            })
            .collect();
        warnings.extend(plan_warnings.into_iter().map(|w| OutputWarning {
            key: None,
            reason: w.reason.as_str().to_owned(),
            message: w.message,
        }));
        plans.push(ServicePlan {
            service: format!("{ns}/{name}"),
            desired: d,
            steps,
            warnings,
            notes: notes.clone(),
        });
    }
    if invalid.is_empty() {
        Ok(Outcome::Plans(plans))
    } else {
        Ok(Outcome::Invalid(invalid))
    }
}

fn read_observed(path: &std::path::Path) -> Result<Topology, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .or_else(|_| serde_yaml_ng::from_str(&text))
        .map_err(|e| format!("{}: not JSON or YAML: {e}", path.display()))?;
    // Accept a whole `kks-lb plan -o json` output too: its `desired` is the topology.
    let value = match value.get("desired") {
        Some(d) => d.clone(),
        None => value,
    };
    serde_json::from_value(value).map_err(|e| {
        format!(
            "{}: not a topology (the form of a plan's \"desired\"): {e}",
            path.display()
        )
    })
}

/// The three nodes planned with when no `--nodes` is given.
pub fn sample_nodes() -> Vec<Node> {
    (1..=3)
        .filter_map(|i| {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": format!("node-{i}")},
                "status": {"addresses": [{"type": "InternalIP", "address": format!("10.0.0.{}", 10 + i)}]}
            }))
            .ok()
        })
        .collect()
}

fn write_json(out: &mut dyn Write, plans: &[ServicePlan]) -> std::io::Result<()> {
    let value = match plans {
        [one] => serde_json::to_value(one),
        many => serde_json::to_value(serde_json::json!({ "plans": many })),
    }
    .map_err(std::io::Error::other)?;
    serde_json::to_writer_pretty(&mut *out, &value).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// Writes one plan like `terraform plan`: the desired tree, then `+`/`~`/`-` steps, then warnings.
pub fn write_text(out: &mut dyn Write, p: &ServicePlan) -> std::io::Result<()> {
    let lb = &p.desired.loadbalancer;
    writeln!(out, "Service {} → load balancer {}", p.service, lb.name)?;
    for n in &p.notes {
        writeln!(out, "  note: {n}")?;
    }
    writeln!(out)?;
    writeln!(out, "Desired topology:")?;
    let vip = match (&lb.vip_subnet_id, &lb.vip_network_id) {
        (Some(s), _) => format!("vip_subnet_id={s}"),
        (None, Some(n)) => format!("vip_network_id={n}"),
        (None, None) => "vip_subnet_id=<unset>".to_owned(),
    };
    let mut extra = String::new();
    for (k, v) in [
        ("provider", &lb.provider),
        ("vip_address", &lb.vip_address),
        ("flavor_id", &lb.flavor_id),
        ("availability_zone", &lb.availability_zone),
    ] {
        if let Some(v) = v {
            extra.push_str(&format!(" {k}={v}"));
        }
    }
    writeln!(out, "  loadbalancer {} {vip}{extra}", lb.name)?;
    writeln!(out, "    tags: {}", lb.tags.join(", "))?;
    let last = lb.listeners.len();
    for (i, l) in lb.listeners.iter().enumerate() {
        let more = i + 1 < last || p.desired.floatingip.is_some();
        write_listener(out, l, more)?;
    }
    if let Some(f) = &p.desired.floatingip {
        let addr = f.floating_ip_address.as_deref().unwrap_or("<allocated>");
        let net = f.floating_network_id.as_deref().unwrap_or("<unset>");
        writeln!(
            out,
            "  └─ floatingip {addr} from network {net} on the VIP port"
        )?;
    } else {
        writeln!(out, "  (internal: no floating IP; clients use the VIP)")?;
    }
    writeln!(out)?;
    if p.steps.is_empty() {
        writeln!(out, "No changes. The load balancer matches the Service.")?;
    } else {
        writeln!(
            out,
            "Plan: {} step{}",
            p.steps.len(),
            if p.steps.len() == 1 { "" } else { "s" }
        )?;
        for (i, s) in p.steps.iter().enumerate() {
            write_step(out, i + 1, s)?;
        }
    }
    if !p.warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "Warnings:")?;
        for w in &p.warnings {
            match &w.key {
                Some(k) => writeln!(out, "  ! {}: {k}: {}", w.reason, w.message)?,
                None => writeln!(out, "  ! {}: {}", w.reason, w.message)?,
            }
        }
    }
    writeln!(out)
}

fn write_listener(out: &mut dyn Write, l: &Listener, more: bool) -> std::io::Result<()> {
    let (branch, pipe) = if more {
        ("├─", "│ ")
    } else {
        ("└─", "  ")
    };
    let mut line = format!(
        "  {branch} listener {}/{} {}",
        l.protocol, l.protocol_port, l.name
    );
    line.push_str(&format!(" connection_limit={}", l.connection_limit));
    if let (Some(a), Some(b), Some(c), Some(d)) = (
        l.timeout_client_data,
        l.timeout_member_connect,
        l.timeout_member_data,
        l.timeout_tcp_inspect,
    ) {
        line.push_str(&format!(
            " timeouts(client_data={a} member_connect={b} member_data={c} tcp_inspect={d})"
        ));
    }
    writeln!(out, "{line}")?;
    if let Some(c) = &l.allowed_cidrs {
        writeln!(out, "  {pipe}   allowed_cidrs: {}", c.join(", "))?;
    }
    for (k, v) in &l.insert_headers {
        writeln!(out, "  {pipe}   insert_headers: {k}={v}")?;
    }
    if let Some(p) = &l.default_pool {
        write_pool(out, p, pipe)?;
    }
    Ok(())
}

fn write_pool(out: &mut dyn Write, p: &Pool, pipe: &str) -> std::io::Result<()> {
    let persistence = p
        .session_persistence
        .as_ref()
        .map(|s| format!(" session_persistence={}", s.kind))
        .unwrap_or_default();
    writeln!(
        out,
        "  {pipe}  └─ pool {} {} {}{persistence}",
        p.protocol, p.lb_algorithm, p.name
    )?;
    if let Some(hm) = &p.healthmonitor {
        writeln!(out, "  {pipe}       monitor {}", monitor_summary(hm))?;
    }
    if p.members.is_empty() {
        writeln!(out, "  {pipe}       (no members)")?;
    }
    for m in &p.members {
        let mon = m
            .monitor_port
            .map(|port| format!(" monitor_port={port}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {pipe}       member {} {}:{}{mon}",
            m.name, m.address, m.protocol_port
        )?;
    }
    Ok(())
}

fn monitor_summary(hm: &HealthMonitor) -> String {
    let mut s = format!(
        "{} delay={} timeout={} max_retries={} max_retries_down={}",
        hm.kind, hm.delay, hm.timeout, hm.max_retries, hm.max_retries_down
    );
    if let (Some(m), Some(u), Some(c)) = (&hm.http_method, &hm.url_path, &hm.expected_codes) {
        s.push_str(&format!(" {m} {u} expect {c}"));
    }
    s
}

fn write_step(out: &mut dyn Write, n: usize, s: &Step) -> std::io::Result<()> {
    let line = match s {
        Step::CreateLoadbalancer { loadbalancer } => {
            let pools: Vec<_> = loadbalancer
                .listeners
                .iter()
                .filter_map(|l| l.default_pool.as_ref())
                .collect();
            let members: usize = pools.iter().map(|p| p.members.len()).sum();
            let monitors = pools.iter().filter(|p| p.healthmonitor.is_some()).count();
            format!(
                "+ create loadbalancer {} fully populated ({}, {}, {}, {})",
                loadbalancer.name,
                count(loadbalancer.listeners.len(), "listener"),
                count(pools.len(), "pool"),
                count(members, "member"),
                count(monitors, "monitor"),
            )
        }
        Step::UpdateLoadbalancer { loadbalancer, .. } => format!("~ update {loadbalancer}"),
        Step::DeleteLoadbalancer {
            loadbalancer,
            cascade,
        } => {
            format!(
                "- delete {loadbalancer}{}",
                if *cascade {
                    " with all children (cascade)"
                } else {
                    ""
                }
            )
        }
        Step::CreateListener {
            listener,
            default_pool,
            ..
        } => match default_pool {
            Some(p) => format!(
                "+ create listener {}/{} with default pool {p}",
                listener.protocol, listener.protocol_port
            ),
            None => format!(
                "+ create listener {}/{}",
                listener.protocol, listener.protocol_port
            ),
        },
        Step::UpdateListener { listener, .. } => format!("~ update {listener}"),
        Step::DeleteListener { listener } => format!("- delete {listener}"),
        Step::CreatePool { parent, key, pool } => format!(
            "+ create pool/{key} {} {} on {parent}",
            pool.protocol, pool.lb_algorithm
        ),
        Step::UpdatePool { pool, .. } => format!("~ update {pool}"),
        Step::DeletePool { pool } => format!("- delete {pool} with its members and monitor"),
        Step::ReplaceMembers { pool, members } => {
            let names: Vec<_> = members
                .iter()
                .map(|m| format!("{}:{}", m.address, m.protocol_port))
                .collect();
            format!(
                "~ replace members of {pool} ({}): {}",
                members.len(),
                names.join(", ")
            )
        }
        Step::CreateHealthmonitor {
            pool,
            healthmonitor,
        } => {
            format!(
                "+ create healthmonitor {} on {pool}",
                monitor_summary(healthmonitor)
            )
        }
        Step::UpdateHealthmonitor { healthmonitor, .. } => format!("~ update {healthmonitor}"),
        Step::DeleteHealthmonitor { healthmonitor } => format!("- delete {healthmonitor}"),
        Step::CreateFloatingip { port, floatingip } => format!(
            "+ create floatingip from network {} bound to {port}",
            floatingip
                .floating_network_id
                .as_deref()
                .unwrap_or("<unset>")
        ),
        Step::AssociateFloatingip { floatingip, port } => format!(
            "~ associate floatingip {} with {port}",
            floatingip
                .floating_ip_address
                .as_deref()
                .unwrap_or("<address>")
        ),
        Step::TagFloatingip { floatingip, tags } => {
            format!("~ tag {floatingip}: {}", tags.join(", "))
        }
        Step::DisassociateFloatingip { floatingip } => {
            format!("~ detach {floatingip} (address kept)")
        }
        Step::DeleteFloatingip { floatingip } => format!("- release {floatingip}"),
    };
    let (method, path) = s.call();
    writeln!(out, "  {n:>2}. {line}")?;
    writeln!(out, "        {method} {path}")?;
    let changes = match s {
        Step::UpdateLoadbalancer { changes, .. }
        | Step::UpdateListener { changes, .. }
        | Step::UpdatePool { changes, .. }
        | Step::UpdateHealthmonitor { changes, .. } => Some(changes),
        _ => None,
    };
    for (field, c) in changes.into_iter().flatten() {
        writeln!(
            out,
            "        {field}: {} → {}",
            compact(&c.from),
            compact(&c.to)
        )?;
    }
    Ok(())
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn compact(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
