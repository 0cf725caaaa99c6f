//! `kks-lb audit`: every load balancer and floating IP of this cluster with its Service and
//! its state, and the removal of orphans.
//!
//! States: `ok` (held by a live Service, or by the Service recreated under its name),
//! `kept` (a floating IP kept by `keep-floatingip`), `orphan` (marked for this cluster, its
//! Service gone), `unmarked` (named after this cluster's scheme, no ownership mark: ours by
//! name only), `foreign` (named after this cluster's scheme, marked for another cluster).
//!
//! Exit codes: 0 clean, 1 something needs attention (an orphan left, an unmarked or a
//! foreign object), 2 the cloud or the cluster could not be read.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use kks_lb_adapter::OpenStackClient;
use kks_lb_adapter::inventory::{self, CloudObject, Scope};
use kks_lb_controller::orphans::{classify, list_services, live_of};
use kks_lb_planner::owner::Marks;
use kks_lb_planner::standing::{Standing, service_ref};
use kks_lb_planner::{ClusterConfig, cluster_tag};
use kube::ResourceExt;
use serde::Serialize;

use super::{Output, exit};

/// `kks-lb audit` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// OCCM `cloud.conf` with `[Global]` credentials; without it `OS_CLOUD` (clouds.yaml) or
    /// the `OS_*` variables are used.
    #[arg(long, env = "KKS_LB_CLOUD_CONFIG", value_name = "PATH")]
    pub cloud_config: Option<PathBuf>,
    /// Kubeconfig file [default: in-cluster, else $KUBECONFIG, else ~/.kube/config].
    #[arg(long, env = "KKS_LB_KUBECONFIG", value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Cluster name, as given to the controller.
    #[arg(long, env = "KKS_LB_CLUSTER_NAME", default_value = "kubernetes")]
    pub cluster_name: String,
    /// Cluster id, as given to the controller [default: the UID of the kube-system
    /// namespace].
    #[arg(long, env = "KKS_LB_CLUSTER_ID")]
    pub cluster_id: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Output,
    /// Delete the orphans (after a confirmation, unless `--yes`).
    #[arg(long)]
    pub delete_orphans: bool,
    /// Do not ask before deleting orphans.
    #[arg(short, long)]
    pub yes: bool,
}

/// One audited object (the JSON interface).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// `loadbalancer` or `floatingip`.
    pub kind: &'static str,
    /// Its id.
    pub id: String,
    /// The load balancer's name or the floating IP's address.
    pub name: String,
    /// `namespace/name` of its Service, when known.
    pub service: Option<String>,
    /// `ok`, `kept`, `orphan`, `unmarked` or `foreign`.
    pub state: &'static str,
    /// Provisioning status (load balancer) or status (floating IP).
    pub status: String,
    /// Deleted by `--delete-orphans`.
    pub deleted: bool,
}

/// The whole report (the JSON interface).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Cluster name.
    pub cluster_name: String,
    /// Cluster id (the ownership tag's).
    pub cluster_id: String,
    /// Every object of the cluster.
    pub objects: Vec<Row>,
    /// Whether nothing needs attention (exit code 0).
    pub clean: bool,
}

/// Runs `kks-lb audit`; returns the exit code. Confirmations are read from stdin.
pub fn run(args: &Args, out: &mut dyn Write) -> u8 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kks-lb audit: cannot start the runtime: {e}");
            return exit::INPUT;
        }
    };
    let mut input = std::io::stdin().lock();
    match rt.block_on(audit(args, out, &mut input)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kks-lb audit: {e}");
            exit::INPUT
        }
    }
}

/// The audit: read the cloud and the cluster, report, delete orphans when asked.
/// Confirmations are read from `input`.
///
/// # Errors
/// What could not be read (configuration, credentials, the cloud, the cluster).
pub async fn audit(
    args: &Args,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> Result<u8, String> {
    let conn = super::connect::open(args.cloud_config.as_ref(), args.kubeconfig.as_ref())?;
    let kube = kks_lb_controller::run::kube_client(&conn.ctl)
        .await
        .map_err(|e| e.to_string())?;
    let cluster_id = match &args.cluster_id {
        Some(id) => id.clone(),
        None => kks_lb_controller::run::kube_system_uid(&kube)
            .await
            .map_err(|e| e.to_string())?,
    };
    let cluster = conn.cloud.cluster_config(&args.cluster_name, &cluster_id);
    let cloud = OpenStackClient::connect(&conn.session)
        .await
        .map_err(|e| format!("cannot reach OpenStack: {e}"))?;
    let caps = kks_lb_adapter::discover(&cloud, &cluster.provider)
        .await
        .map_err(|e| format!("cannot discover OpenStack capabilities: {e}"))?;
    let objects = inventory::inventory(&cloud, &cluster_tag(&cluster_id), caps.tags(), Scope::All)
        .await
        .map_err(|e| format!("cannot list the cloud: {e}"))?;
    let services = list_services(&kube)
        .await
        .map_err(|e| format!("cannot list Services: {e}"))?;
    let mut report = report(&objects, &cluster, &services);
    let orphans: Vec<usize> = report
        .objects
        .iter()
        .enumerate()
        .filter(|(_, r)| r.state == Standing::Orphan.as_str())
        .map(|(i, _)| i)
        .collect();
    if args.delete_orphans && !orphans.is_empty() {
        let go = args.yes || confirm(orphans.len(), out, input)?;
        if go {
            // Floating IPs before load balancers, as orphan collection does.
            let mut order = orphans.clone();
            order.sort_by_key(|i| report.objects[*i].kind == "loadbalancer");
            for i in order {
                let row = &report.objects[i];
                let Some(object) = objects
                    .iter()
                    .find(|o| o.id == row.id && o.kind.as_str() == row.kind)
                else {
                    continue;
                };
                match inventory::delete(&cloud, object).await {
                    Ok(()) => report.objects[i].deleted = true,
                    Err(e) => eprintln!("kks-lb audit: cannot delete {} {}: {e}", row.kind, row.id),
                }
            }
        }
    }
    report.clean = report.objects.iter().all(|r| !needs_attention(r));
    let written = match args.output {
        Output::Json => serde_json::to_string_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|s| writeln!(out, "{s}").map_err(|e| e.to_string())),
        Output::Text => write!(out, "{}", render(&report)).map_err(|e| e.to_string()),
    };
    written?;
    Ok(if report.clean {
        exit::OK
    } else {
        exit::INVALID
    })
}

fn needs_attention(r: &Row) -> bool {
    !r.deleted && matches!(r.state, "orphan" | "unmarked" | "foreign")
}

fn confirm(n: usize, out: &mut dyn Write, input: &mut dyn BufRead) -> Result<bool, String> {
    write!(out, "Delete {n} orphan(s)? [y/N] ").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    let mut line = String::new();
    input.read_line(&mut line).map_err(|e| e.to_string())?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The report of `objects` for `cluster` given the cluster's Services.
pub fn report(
    objects: &[CloudObject],
    cluster: &ClusterConfig,
    services: &[k8s_openapi::api::core::v1::Service],
) -> Report {
    let live = live_of(services, &cluster.cluster_name);
    let by_uid: BTreeMap<String, String> = services
        .iter()
        .filter_map(|s| {
            let uid = s.metadata.uid.clone()?;
            Some((
                uid,
                format!("{}/{}", s.namespace().unwrap_or_default(), s.name_any()),
            ))
        })
        .collect();
    let mut rows: Vec<Row> = classify(objects, cluster, &live)
        .into_iter()
        .map(|(o, standing)| {
            let marks = Marks::effective(&o.tags, &o.description);
            let service = marks
                .services
                .iter()
                .find_map(|u| by_uid.get(u).cloned())
                .or_else(|| service_ref(&o.description).map(str::to_owned));
            Row {
                kind: o.kind.as_str(),
                id: o.id,
                name: o.name,
                service,
                state: standing.as_str(),
                status: o.status,
                deleted: false,
            }
        })
        .collect();
    rows.sort_by(|a, b| (a.kind, &a.name, &a.id).cmp(&(b.kind, &b.name, &b.id)));
    let clean = rows.iter().all(|r| !needs_attention(r));
    Report {
        cluster_name: cluster.cluster_name.clone(),
        cluster_id: cluster.cluster_id.clone(),
        objects: rows,
        clean,
    }
}

/// The text table and a summary line.
pub fn render(report: &Report) -> String {
    let header = ["KIND", "ID", "NAME/ADDRESS", "SERVICE", "STATE", "STATUS"];
    let rows: Vec<[String; 6]> = report
        .objects
        .iter()
        .map(|r| {
            [
                r.kind.to_owned(),
                r.id.clone(),
                r.name.clone(),
                r.service.clone().unwrap_or_else(|| "-".to_owned()),
                if r.deleted {
                    format!("{} (deleted)", r.state)
                } else {
                    r.state.to_owned()
                },
                r.status.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: &[String]| {
        let mut s = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(&header.map(str::to_owned));
    for r in &rows {
        out.push_str(&line(r));
    }
    let count = |state: &str| {
        report
            .objects
            .iter()
            .filter(|r| r.state == state && !r.deleted)
            .count()
    };
    if report.clean {
        out.push_str(&format!(
            "clean: {} object(s) of cluster {} ({}), nothing needs attention\n",
            report.objects.len(),
            report.cluster_name,
            report.cluster_id
        ));
    } else {
        out.push_str(&format!(
            "needs attention: {} orphan, {} unmarked, {} foreign\n",
            count("orphan"),
            count("unmarked"),
            count("foreign")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kks_lb_adapter::inventory::Kind;
    use kks_lb_controller::cloud_config::CloudConfig;

    fn cluster() -> ClusterConfig {
        CloudConfig::default().cluster_config("kks", "c1")
    }

    fn lb(id: &str, name: &str, tags: &[&str]) -> CloudObject {
        CloudObject {
            kind: Kind::LoadBalancer,
            id: id.into(),
            name: name.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            description: String::new(),
            status: "ACTIVE".into(),
            port_id: None,
        }
    }

    #[test]
    fn the_report_names_each_state_and_is_clean_only_without_orphans_unmarked_or_foreign() {
        let objects = vec![
            lb(
                "1",
                "kube_service_kks_a_web",
                &["kks-lb-cluster:c1", "kks-lb-service:gone"],
            ),
            lb("2", "kube_service_kks_b_web", &[]),
            lb("3", "kube_service_kks_c_web", &["kks-lb-cluster:c2"]),
            lb("4", "someone-elses", &[]),
        ];
        let r = report(&objects, &cluster(), &[]);
        let states: Vec<(&str, &str)> =
            r.objects.iter().map(|o| (o.id.as_str(), o.state)).collect();
        assert_eq!(
            states,
            vec![("1", "orphan"), ("2", "unmarked"), ("3", "foreign")]
        );
        assert!(!r.clean);
        let text = render(&r);
        assert!(
            text.contains("needs attention: 1 orphan, 1 unmarked, 1 foreign"),
            "{text}"
        );
        let clean = report(&objects[3..], &cluster(), &[]);
        assert!(clean.clean);
        assert!(render(&clean).starts_with("KIND"));
    }
}
