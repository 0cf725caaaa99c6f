//! The README's main job (`kks-lb demo`) runs to the end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "demo")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_demo_converges_every_example_adds_a_node_deletes_a_service_and_exits_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_kks-lb"))
        .current_dir(root())
        .args(["demo", "--create-delay-ms", "200", "--timeout-secs", "60"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("waiting until all load balancers ready"),
        "{stdout}"
    );
    assert!(stdout.contains("every pool has 4 members"), "{stdout}");
    assert!(
        stdout.contains("the deleted Service's load balancer is gone"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Cloud now: 4 load balancers, 3 floating IPs."),
        "{stdout}"
    );
    assert!(
        stdout.contains("PUT      /v2/lbaas/pools/{id}/members"),
        "node add is batched: {stdout}"
    );
    let ready = stdout
        .lines()
        .filter(|l| l.ends_with("True EnsuredLoadBalancer"))
        .count();
    assert!(ready >= 5, "every Service shows its condition: {stdout}");
}
