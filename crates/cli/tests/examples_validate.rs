//! The example Services in `examples/` are valid, and the broken one reports exactly its
//! mistakes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn validate_json(path: &PathBuf) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_kks-lb"))
        .args(["validate", "-o", "json", "-f"])
        .arg(path)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {stdout}\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

const GUIDE_EXAMPLES: [&str; 5] = [
    "01-public-web-app.yaml",
    "02-internal-microservice.yaml",
    "03-session-app.yaml",
    "04-high-performance-api.yaml",
    "05-http-xff.yaml",
];

#[test]
fn every_guide_example_is_valid_without_warnings() {
    for name in GUIDE_EXAMPLES {
        let (code, v) = validate_json(&examples().join(name));
        assert_eq!(code, 0, "{name}: {v:#}");
        let s = &v["services"][0];
        assert_eq!(s["valid"], true, "{name}");
        assert_eq!(s["errors"].as_array().unwrap().len(), 0, "{name}");
        assert_eq!(
            s["warnings"].as_array().unwrap().len(),
            0,
            "{name}: {:#}",
            s["warnings"]
        );
        assert_ne!(
            s["namespace"], "default",
            "{name}: examples set a namespace"
        );
        for p in s["spec"]["ports"].as_array().unwrap() {
            let np = p["node_port"]
                .as_u64()
                .unwrap_or_else(|| panic!("{name}: nodePort unset"));
            assert!((30000..=32767).contains(&np), "{name}: nodePort {np}");
        }
    }
}

#[test]
fn the_examples_show_what_the_guide_says() {
    let spec = |name: &str| validate_json(&examples().join(name)).1["services"][0]["spec"].clone();
    let web = spec("01-public-web-app.yaml");
    assert_eq!(web["internal"], false);
    assert_eq!(web["health_monitor"]["delay"], 10);
    assert_eq!(spec("02-internal-microservice.yaml")["internal"], true);
    let session = spec("03-session-app.yaml");
    assert_eq!(session["session_affinity_client_ip"], true);
    assert_eq!(session["lb_method"], "SOURCE_IP");
    let api = spec("04-high-performance-api.yaml");
    assert_eq!(api["connection_limit"], 10000);
    assert_eq!(api["timeouts"]["member_connect"], 3000);
    assert_eq!(spec("05-http-xff.yaml")["x_forwarded_for"], true);
}

#[test]
fn the_broken_example_reports_exactly_its_six_errors_and_two_warnings() {
    let (code, v) = validate_json(&examples().join("invalid/broken-service.yaml"));
    assert_eq!(code, 1);
    let s = &v["services"][0];
    let errors: Vec<(String, String)> = s["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("spec.loadBalancerSourceRanges[1]", "10.0.0.0/33"),
        ("loadbalancer.openstack.org/connection-limit", "-5"),
        ("loadbalancer.openstack.org/lb-method", "least_connections"),
        ("loadbalancer.openstack.org/health-monitor-timeout", "10"),
        ("loadbalancer.openstack.org/hostname", "web_app.example.com"),
        ("loadbalancer.openstack.org/x-forwarded-for", "true"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(errors, want);
    let reasons: Vec<&str> = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        vec!["PlatformManagedAnnotation", "UnknownAnnotation"]
    );
}
