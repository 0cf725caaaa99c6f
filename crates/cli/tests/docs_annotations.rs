//! `docs/annotations.md` is exactly what `kks-lb docs annotations` prints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

#[test]
fn committed_annotation_reference_matches_the_generated_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_kks-lb"))
        .args(["docs", "annotations"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/annotations.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/annotations.md is stale; regenerate it with:\n  \
         cargo run -q -p kks-lb -- docs annotations > docs/annotations.md"
    );
}

#[test]
fn docs_without_a_topic_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_kks-lb"))
        .arg("docs")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
