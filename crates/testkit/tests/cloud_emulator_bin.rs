//! The `kks-lb-cloud-emulator` binary prints its endpoints and fixture, and a tool outside the
//! Rust process drives its faults and reads its accounting through the control API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_its_control_url_and_obeys_a_one_shot_fault() {
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_kks-lb-cloud-emulator"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--noauth",
                "--create-delay-ms",
                "0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut out = BTreeMap::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let (k, v) = line.split_once('=').unwrap();
        out.insert(k.to_owned(), v.to_owned());
        if k == "control_url" {
            break;
        }
    }
    let url = out["url"].clone();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(out["control_url"], format!("{url}/_emulator"));
    let control = out["control_url"].clone();
    let http = reqwest::Client::new();

    let fault: Value = http
        .post(format!("{control}/faults"))
        .json(
            &json!({"type": "one_shot", "method": "POST", "service": "octavia",
                      "nth": 0, "kind": "before_commit", "reply": {"status": 503}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let create =
        || {
            http.post(format!("{}/v2/lbaas/loadbalancers", out["octavia_url"]))
            .header("X-Project-Id", &out["project_id"])
            .json(&json!({"loadbalancer": {"name": "lb", "vip_subnet_id": out["cluster_subnet_id"],
                "tags": ["kks-lb-cluster:c1", "kks-lb-service:u1"]}}))
            .send()
        };
    assert_eq!(create().await.unwrap().status().as_u16(), 503);
    assert_eq!(create().await.unwrap().status().as_u16(), 201);
    let entry: Value = http
        .get(format!("{control}/faults/{}", fault["id"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entry["seen"], 2);
    assert_eq!(entry["fired"]["committed"], false);
    let calls: Value = http
        .get(format!("{control}/calls?method=POST"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<u64> = calls["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![503, 201]);
    let leaks = |live: &'static str| {
        let http = &http;
        let control = &control;
        async move {
            http.get(format!(
                "{control}/leaks?cluster_tag=kks-lb-cluster:c1&service_tag={live}"
            ))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
        }
    };
    assert_eq!(leaks("kks-lb-service:u1").await["empty"], true);
    assert_eq!(
        leaks("kks-lb-service:gone").await["loadbalancers"][0]["name"],
        "lb"
    );
}
