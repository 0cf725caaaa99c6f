//! `kks-lb validate`, run as the built binary: exit codes, text and JSON output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn kks_lb(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kks-lb"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// A fresh directory under the target dir for this test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("validate_cli")
        .join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

const VALID: &str = "
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, nodePort: 30080}]
";

const WARNED: &str = "
apiVersion: v1
kind: Service
metadata:
  name: warned
  namespace: prod
  annotations:
    loadbalancer.openstack.org/health-monitor-dealy: \"5\"
spec:
  type: LoadBalancer
  ports: [{port: 443, nodePort: 30443}]
";

const INVALID: &str = "
apiVersion: v1
kind: Service
metadata:
  name: bad
  namespace: prod
  annotations:
    loadbalancer.openstack.org/health-monitor-timeout: \"15\"
    loadbalancer.openstack.org/lb-method: \"FASTEST\"
spec:
  type: LoadBalancer
  ports: [{port: 80}]
";

#[test]
fn a_valid_service_exits_0_and_says_valid() {
    let out = kks_lb(&["validate", "-f", "-"], Some(VALID));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("default/web: valid"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn warnings_alone_keep_exit_0_and_are_printed() {
    let out = kks_lb(&["validate", "-f", "-"], Some(WARNED));
    assert_eq!(code(&out), 0);
    assert!(
        stdout(&out).contains("warning: loadbalancer.openstack.org/health-monitor-dealy"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("did you mean health-monitor-delay?"));
}

#[test]
fn an_invalid_service_exits_1_and_prints_every_error_as_key_value_rule() {
    let out = kks_lb(&["validate", "-f", "-"], Some(INVALID));
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("prod/bad: invalid, 2 errors"), "{text}");
    assert!(text.contains(
        "  error: loadbalancer.openstack.org/health-monitor-timeout=15: must be less than \
         health-monitor-delay (10)\n"
    ));
    assert!(text.contains("  error: loadbalancer.openstack.org/lb-method=FASTEST: must be one of"));
}

#[test]
fn json_output_has_the_documented_shape() {
    let dir = scratch("json_shape");
    let file = write(&dir, "all.yaml", &format!("{VALID}---{WARNED}---{INVALID}"));
    let out = kks_lb(&["validate", "--filename", &file, "--output", "json"], None);
    assert_eq!(code(&out), 1);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let services = v["services"].as_array().unwrap();
    assert_eq!(services.len(), 3);
    for s in services {
        let mut keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            vec!["errors", "name", "namespace", "spec", "valid", "warnings"]
        );
    }
    assert_eq!(services[0]["namespace"], "default");
    assert_eq!(services[0]["valid"], true);
    assert_eq!(
        services[0]["spec"]["ports"][0],
        json!({"name": "http", "protocol": "TCP", "port": 80, "node_port": 30080})
    );
    assert_eq!(
        services[1]["warnings"],
        json!([{
            "key": "loadbalancer.openstack.org/health-monitor-dealy",
            "reason": "UnknownAnnotation",
            "message": "unknown annotation, ignored; did you mean health-monitor-delay?"
        }])
    );
    assert_eq!(services[2]["valid"], false);
    assert_eq!(services[2]["spec"], Value::Null);
    assert_eq!(
        services[2]["errors"][0],
        json!({
            "key": "loadbalancer.openstack.org/lb-method",
            "value": "FASTEST",
            "rule": "must be one of ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP, SOURCE_IP_PORT"
        })
    );
    assert_eq!(services[2]["errors"].as_array().unwrap().len(), 2);
}

#[test]
fn several_files_are_validated_together() {
    let dir = scratch("several_files");
    let a = write(&dir, "a.yaml", VALID);
    let b = write(
        &dir,
        "b.json",
        r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"j"},"spec":{"type":"LoadBalancer","ports":[{"port":53,"protocol":"UDP"}]}}"#,
    );
    let out = kks_lb(&["validate", "-f", &a, "-f", &b, "-o", "json"], None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let names: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["web", "j"]);
}

#[test]
fn a_list_of_services_is_validated_item_by_item() {
    let list = r#"{"apiVersion":"v1","kind":"List","items":[
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"type":"LoadBalancer","ports":[{"port":80}]}},
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"b"},"spec":{"type":"ClusterIP","ports":[{"port":80}]}}
    ]}"#;
    let out = kks_lb(&["validate", "-f", "-", "-o", "json"], Some(list));
    assert_eq!(code(&out), 1);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["services"][1]["errors"][0]["key"], "spec.type");
}

#[test]
fn a_missing_file_exits_2_naming_the_file() {
    let out = kks_lb(&["validate", "-f", "/nonexistent/svc.yaml"], None);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("/nonexistent/svc.yaml: cannot read"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn a_document_that_is_not_a_service_exits_2_naming_file_and_document() {
    let dir = scratch("not_a_service");
    let file = write(
        &dir,
        "mixed.yaml",
        &format!("{VALID}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d}}\n"),
    );
    let out = kks_lb(&["validate", "-f", &file], None);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(&format!(
            "{file}: document 2: kind is Deployment, expected Service"
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn broken_yaml_exits_2() {
    let out = kks_lb(
        &["validate", "-f", "-"],
        Some("kind: Service\nmetadata: {name: [\n"),
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("<stdin>: document 1: not valid YAML or JSON"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unquoted_boolean_annotation_exits_2_with_a_hint() {
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  annotations:\n    loadbalancer.openstack.org/keep-floatingip: true\nspec: {type: LoadBalancer, ports: [{port: 80}]}\n";
    let out = kks_lb(&["validate", "-f", "-"], Some(text));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("quote them"), "{}", stderr(&out));
}

#[test]
fn empty_input_exits_2() {
    let out = kks_lb(&["validate", "-f", "-"], Some("# nothing here\n"));
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no Service found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn validate_without_a_file_is_a_usage_error() {
    let out = kks_lb(&["validate"], None);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--filename"), "{}", stderr(&out));
}
