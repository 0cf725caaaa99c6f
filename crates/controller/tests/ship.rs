//! What is shipped agrees with itself: the controller reports its version and revision, the
//! Dockerfile, `deploy/` and the workspace name the same image and version, and every metric
//! and label the alerts in `deploy/monitoring/` use is exported by a running controller.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e_support::*;
use kks_lb_annotations::keys;
use kks_lb_controller::config::ControllerArgs;
use kks_lb_controller::run::run;
use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, VectorSelector};
use serde_yaml_ng::Value;
use tokio_util::sync::CancellationToken;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml_ng::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The revision `build.rs` stamps: `KKS_LB_REVISION`, else git, else `unknown`.
fn expected_revision() -> String {
    if let Ok(r) = std::env::var("KKS_LB_REVISION")
        && !r.trim().is_empty()
    {
        return r.trim().to_owned();
    }
    Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[test]
fn the_controller_prints_its_version_and_source_revision() {
    let revision = expected_revision();
    let out = Command::new(env!("CARGO_BIN_EXE_kks-lb-controller"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "kks-lb-controller --version: {out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim_end(),
        format!("kks-lb-controller {VERSION} (revision {revision})"),
    );
}

/// `ARG NAME=default` lines of the Dockerfile, in order.
fn dockerfile_args(text: &str, name: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("ARG "))
        .filter_map(|a| a.split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
        .collect()
}

#[test]
fn the_dockerfile_deploy_and_the_workspace_agree_on_image_version_and_user() {
    let dockerfile = read("Dockerfile");
    let versions = dockerfile_args(&dockerfile, "KKS_LB_VERSION");
    assert_eq!(
        versions,
        [VERSION, VERSION],
        "both stages default to the workspace version"
    );
    let rust = dockerfile_args(&dockerfile, "RUST_VERSION");
    let pinned = workspace_rust_version();
    assert_eq!(rust.len(), 1);
    assert!(
        rust[0] == pinned || rust[0].starts_with(&format!("{pinned}.")),
        "the build stage's toolchain {} is the workspace's rust-version {pinned}",
        rust[0],
    );

    // The final stage: nothing but what scripts/image-rootfs.sh laid out, as user 65532.
    let last = dockerfile
        .rsplit_once("\nFROM ")
        .map(|(_, stage)| stage)
        .unwrap();
    assert!(last.starts_with("scratch AS runtime"), "{last}");
    let instructions: Vec<&str> = last
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        instructions,
        [
            "scratch",
            "ARG",
            "ARG",
            "LABEL",
            "COPY",
            "USER",
            "ENTRYPOINT"
        ],
        "{last}"
    );
    assert!(last.contains("\nCOPY --from=build /out/rootfs/ /\n"));
    assert!(last.contains("\nUSER 65532:65532\n"));
    assert!(last.contains("\nENTRYPOINT [\"/kks-lb-controller\"]\n"));

    let kustomization = yaml("deploy/kustomization.yaml");
    let images = kustomization["images"].as_sequence().unwrap();
    assert_eq!(images.len(), 1);
    let name = images[0]["name"].as_str().unwrap();
    assert_eq!(
        images[0]["newTag"].as_str(),
        Some(VERSION),
        "the tag deploy/ runs is the workspace version"
    );
    let deployment = yaml("deploy/deployment.yaml");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"].as_str(),
        Some(name),
        "the Deployment names the image without a tag; kustomize sets it"
    );
    assert!(
        dockerfile.contains(&format!("-t {name}:{VERSION} .")),
        "the documented build command tags the image deploy/ runs"
    );
    assert_eq!(pod["securityContext"]["runAsUser"].as_u64(), Some(65532));
}

/// `rust-version` of the root Cargo.toml (`rust-version = "X.Y"` in `[workspace.package]`).
fn workspace_rust_version() -> String {
    let text = read("Cargo.toml");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("rust-version"))
        .expect("rust-version in Cargo.toml");
    line.split_once('=')
        .unwrap()
        .1
        .trim()
        .trim_matches('"')
        .to_owned()
}

/// Labels Prometheus adds to every scraped series (target labels of the ServiceMonitor).
const TARGET_LABELS: [&str; 7] = [
    "job",
    "instance",
    "namespace",
    "pod",
    "service",
    "endpoint",
    "container",
];

/// One `/metrics` scrape: each sample name with the label sets of its series.
#[derive(Debug, Default)]
struct Scrape {
    series: BTreeMap<String, Vec<BTreeMap<String, String>>>,
}

impl Scrape {
    /// Parses the OpenMetrics text format (sample lines; comments skipped).
    fn parse(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (name, labels) = match line.split_once('{') {
                Some((name, rest)) => {
                    let (labels, _) = rest.rsplit_once('}').unwrap();
                    (name, parse_labels(labels))
                }
                None => (line.split_whitespace().next().unwrap(), BTreeMap::new()),
            };
            scrape
                .series
                .entry(name.to_owned())
                .or_default()
                .push(labels);
        }
        scrape
    }

    /// What is wrong with `selector` against this scrape (empty: it selects real series).
    fn problems(&self, alert: &str, selector: &VectorSelector) -> Vec<String> {
        let Some(name) = &selector.name else {
            return vec![format!("{alert}: a selector without a metric name")];
        };
        let Some(series) = self.series.get(name) else {
            return vec![format!("{alert}: {name} is not exported")];
        };
        let mut problems = Vec::new();
        for m in &selector.matchers.matchers {
            if m.name == "__name__" || TARGET_LABELS.contains(&m.name.as_str()) {
                continue;
            }
            let values: BTreeSet<&str> = series
                .iter()
                .filter_map(|s| s.get(&m.name).map(String::as_str))
                .collect();
            if values.is_empty() {
                problems.push(format!("{alert}: {name} has no label {}", m.name));
            } else if matches!(m.op, MatchOp::Equal) && !values.contains(m.value.as_str()) {
                problems.push(format!(
                    "{alert}: {name} has no series with {}={:?} (values: {values:?})",
                    m.name, m.value
                ));
            }
        }
        problems
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').trim().to_owned(), value);
        rest = &after[end..];
    }
    labels
}

/// Every vector selector in `expr` (also inside range selectors, calls and subqueries).
fn selectors<'a>(expr: &'a Expr, out: &mut Vec<&'a VectorSelector>) {
    match expr {
        Expr::VectorSelector(vs) => out.push(vs),
        Expr::MatrixSelector(ms) => out.push(&ms.vs),
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::Call(c) => c.args.args.iter().for_each(|a| selectors(a, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Each alert of deploy/monitoring/prometheusrule.yaml with its expression.
fn alerts() -> Vec<(String, String)> {
    let rule = yaml("deploy/monitoring/prometheusrule.yaml");
    assert_eq!(rule["kind"].as_str(), Some("PrometheusRule"));
    rule["spec"]["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap().iter())
        .map(|r| {
            (
                r["alert"].as_str().unwrap().to_owned(),
                r["expr"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_and_label_the_alerts_use_is_exported_by_a_running_controller() {
    let alerts = alerts();
    let names: BTreeSet<&str> = alerts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "KksLbNoHealthyMembers",
            "KksLbNoLeader",
            "KksLbOpenStackBudgetSaturated",
            "KksLbOpenStackErrors",
            "KksLbOrphansCollected",
            "KksLbServicesNotReady",
            "KksLbSubnetAlmostFull",
        ])
    );

    // The real entry point, with leader election and a call budget, as deploy/ runs it.
    let env = Env::start().await;
    let dir = std::env::temp_dir().join(format!("kks-lb-ship-{}", std::process::id()));
    let (kubeconfig, cloud_conf) = env.write_config_files(&dir, "");
    let port = free_port();
    let args: ControllerArgs = clap::Parser::try_parse_from([
        "kks-lb-controller",
        "--cloud-config",
        cloud_conf.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--cluster-name",
        CLUSTER,
        "--metrics-addr",
        &format!("127.0.0.1:{port}"),
        "--os-api-qps",
        "50",
        "--leader-elect",
        "--leader-elect-identity",
        "ship-test",
    ])
    .unwrap();
    let token = CancellationToken::new();
    let task = tokio::spawn(run(args, token.clone()));

    // One Service that becomes ready and one that cannot (an invalid annotation).
    env.create(&service("shop", "web"));
    let mut broken = service("shop", "broken");
    broken
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(keys::TIMEOUT_CLIENT_DATA.to_owned(), "soon".to_owned());
    env.create(&broken);
    env.wait_ready("shop", "web").await;
    env.wait_service("shop", "broken", "not ready", |s| {
        s.and_then(condition)
            .is_some_and(|(status, reason, _)| status == "False" && reason == "InvalidAnnotation")
    })
    .await;

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    // The gauges follow the conditions just written; poll briefly for the last update.
    let mut text = String::new();
    for _ in 0..50 {
        text = http
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("kks_lb_services{ready=\"false\"} 1")
            && text.contains("kks_lb_members{service=\"shop/web\",state=\"OFFLINE\"} 0")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let scrape = Scrape::parse(&text);

    let mut problems = Vec::new();
    for (alert, expr) in &alerts {
        let parsed = parser::parse(expr).unwrap_or_else(|e| panic!("{alert}: {e}\n{expr}"));
        let mut found = Vec::new();
        selectors(&parsed, &mut found);
        assert!(!found.is_empty(), "{alert} selects no metric");
        for selector in found {
            problems.extend(scrape.problems(alert, selector));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}\n{text}");

    // The series the alerts read hold what the controller knows.
    for line in [
        "kks_lb_leader 1",
        "kks_lb_services{ready=\"true\"} 1",
        "kks_lb_services{ready=\"false\"} 1",
        "kks_lb_openstack_call_rate_limit 50.0",
        "kks_lb_members{service=\"shop/web\",state=\"NO_MONITOR\"} 3",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
    let build = format!(
        "kks_lb_build_info{{version=\"{VERSION}\",revision=\"{}\"}} 1",
        expected_revision()
    );
    assert!(text.lines().any(|l| l == build), "missing {build}\n{text}");

    token.cancel();
    tokio::time::timeout(PATIENCE, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_scrape_parser_reads_names_and_escaped_label_values() {
    let scrape =
        Scrape::parse("# TYPE a counter\na_total{x=\"1\",y=\"q\\\"uote\"} 2\nb 1\n# EOF\n");
    assert_eq!(scrape.series["a_total"][0]["y"], "q\"uote");
    assert_eq!(scrape.series["a_total"][0]["x"], "1");
    assert!(scrape.series["b"][0].is_empty());
    let expr = parser::parse("sum(rate(a_total{x=\"2\",z=~\".*\"}[5m])) / c").unwrap();
    let mut found = Vec::new();
    selectors(&expr, &mut found);
    let problems: Vec<String> = found.iter().flat_map(|s| scrape.problems("t", s)).collect();
    assert_eq!(
        problems,
        [
            "t: a_total has no series with x=\"2\" (values: {\"1\"})",
            "t: a_total has no label z",
            "t: c is not exported",
        ]
    );
}
