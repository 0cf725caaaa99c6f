//! `kks-lb --version` names the workspace version and the source revision it was built from,
//! like `kks-lb-controller --version`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// The revision the controller's `build.rs` stamps: `KKS_LB_REVISION`, else git, else `unknown`.
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
fn kks_lb_prints_its_version_and_source_revision() {
    let out = Command::new(env!("CARGO_BIN_EXE_kks-lb"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "kks-lb --version: {out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim_end(),
        format!(
            "kks-lb {} (revision {})",
            env!("CARGO_PKG_VERSION"),
            expected_revision()
        ),
    );
}
