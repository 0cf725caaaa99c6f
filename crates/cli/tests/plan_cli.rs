//! `kks-lb plan`: snapshots of the plans for every example Service, and the command line's
//! contract (observed round trip, exit codes, capabilities). `UPDATE_SNAPSHOTS=1` rewrites the
//! committed snapshots under `tests/snapshots/plan/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kks_lb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kks-lb"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn plan_args<'a>(file: &'a str, output: &'a str) -> Vec<&'a str> {
    vec![
        "plan",
        "-f",
        file,
        "--config",
        "crates/cli/tests/data/cloud.conf",
        "--nodes",
        "crates/cli/tests/data/nodes.yaml",
        "--cluster-name",
        "kks",
        "--cluster-id",
        "0d6f3c1e-6b1a-4c59-9a0b-6b0f1e2d3c4b",
        "-o",
        output,
    ]
}

fn examples() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.ends_with(".yaml").then(|| format!("examples/{name}"))
        })
        .collect();
    files.sort();
    files
}

fn check_snapshot(name: &str, actual: &str) {
    let path = root().join("crates/cli/tests/snapshots/plan").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}: run UPDATE_SNAPSHOTS=1 cargo test -p kks-lb --test plan_cli",
            path.display()
        )
    });
    assert_eq!(
        expected, actual,
        "plan of {name} changed; review and run UPDATE_SNAPSHOTS=1 cargo test -p kks-lb --test plan_cli"
    );
}

#[test]
fn plans_of_every_example_match_their_snapshots() {
    let files = examples();
    assert!(
        files.len() >= 5,
        "the five example Services are there: {files:?}"
    );
    for file in &files {
        let stem = Path::new(file).file_stem().unwrap().to_str().unwrap();
        for (format, ext) in [("text", "txt"), ("json", "json")] {
            let out = kks_lb(&plan_args(file, format));
            assert_eq!(
                out.status.code(),
                Some(0),
                "{file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            check_snapshot(&format!("{stem}.{ext}"), &stdout(&out));
        }
    }
}

#[test]
fn feeding_the_desired_topology_back_as_observed_plans_nothing() {
    for file in examples() {
        let first = kks_lb(&plan_args(&file, "json"));
        let dir = std::env::temp_dir().join(format!("kks-lb-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let observed = dir.join("observed.json");
        let plan: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
        std::fs::write(&observed, serde_json::to_vec(&plan["desired"]).unwrap()).unwrap();
        let mut args = plan_args(&file, "json");
        let observed = observed.to_str().unwrap().to_owned();
        args.extend(["--observed", &observed]);
        let again: serde_json::Value = serde_json::from_slice(&kks_lb(&args).stdout).unwrap();
        assert_eq!(again["steps"], serde_json::json!([]), "{file}: {again:#}");
    }
}

#[test]
fn an_edited_service_plans_only_the_difference() {
    let first = kks_lb(&plan_args("examples/01-public-web-app.yaml", "json"));
    let plan: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let dir = std::env::temp_dir().join(format!("kks-lb-edit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let observed = dir.join("observed.json");
    std::fs::write(&observed, serde_json::to_vec(&plan["desired"]).unwrap()).unwrap();
    let text = std::fs::read_to_string(root().join("examples/01-public-web-app.yaml")).unwrap();
    let edited = dir.join("edited.yaml");
    std::fs::write(
        &edited,
        text.replace(
            "annotations:\n",
            "annotations:\n    loadbalancer.openstack.org/timeout-client-data: \"90000\"\n",
        ),
    )
    .unwrap();
    let mut args = plan_args(edited.to_str().unwrap(), "json");
    let observed = observed.to_str().unwrap().to_owned();
    args.extend(["--observed", &observed]);
    let out = kks_lb(&args);
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = p["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    for s in steps {
        assert_eq!(s["op"], "update_listener", "{s:#}");
        assert_eq!(s["changes"]["timeout_client_data"]["to"], 90000);
        assert_eq!(s["changes"].as_object().unwrap().len(), 1);
    }
}

#[test]
fn without_nodes_it_plans_with_three_sample_nodes_and_says_so() {
    let out = kks_lb(&["plan", "-f", "examples/02-internal-microservice.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("three sample nodes"), "{text}");
    assert!(text.contains("member node-3 10.0.0.13:"), "{text}");
    assert!(text.contains("+ create loadbalancer"), "{text}");
}

#[test]
fn an_old_octavia_drops_source_ranges_with_a_warning() {
    let dir = std::env::temp_dir().join(format!("kks-lb-ranges-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svc = dir.join("svc.yaml");
    std::fs::write(
        &svc,
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  type: LoadBalancer\n  loadBalancerSourceRanges: [10.0.0.0/8]\n  ports: [{port: 80, nodePort: 30080}]\n",
    )
    .unwrap();
    let svc = svc.to_str().unwrap().to_owned();
    let mut args = plan_args(&svc, "json");
    args.extend(["--octavia-version", "2.11"]);
    let p: serde_json::Value = serde_json::from_slice(&kks_lb(&args).stdout).unwrap();
    let create = &p["steps"][0]["loadbalancer"]["listeners"][0];
    assert!(create.get("allowed_cidrs").is_none(), "{create:#}");
    assert_eq!(p["warnings"][0]["reason"], "SourceRangesIgnored");
    let mut args = plan_args(&svc, "json");
    args.extend(["--octavia-version", "2.12"]);
    let p: serde_json::Value = serde_json::from_slice(&kks_lb(&args).stdout).unwrap();
    assert_eq!(
        p["steps"][0]["loadbalancer"]["listeners"][0]["allowed_cidrs"],
        serde_json::json!(["10.0.0.0/8"])
    );
}

#[test]
fn exit_codes_follow_validate() {
    let invalid = kks_lb(&["plan", "-f", "examples/invalid/broken-service.yaml"]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("error:"));
    let missing = kks_lb(&["plan", "-f", "no/such/file.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    let bad_version = kks_lb(&[
        "plan",
        "-f",
        "examples/01-public-web-app.yaml",
        "--octavia-version",
        "two",
    ]);
    assert_eq!(
        bad_version.status.code(),
        Some(2),
        "clap usage errors exit 2"
    );
}

#[test]
fn a_directory_validates_every_manifest_in_it() {
    let out = kks_lb(&["validate", "-f", "examples/", "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["services"].as_array().unwrap().len(),
        examples().len()
    );
    let all = kks_lb(&["validate", "-f", "examples/", "-f", "examples/invalid"]);
    assert_eq!(
        all.status.code(),
        Some(1),
        "the broken example makes the run invalid"
    );
}
