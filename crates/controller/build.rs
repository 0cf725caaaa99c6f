//! Stamps the source revision into the binaries as the `KKS_LB_REVISION` compile-time variable.
//!
//! Order: the `KKS_LB_REVISION` environment variable when set and not empty (a container
//! build has no `.git`: the Dockerfile passes it as a build argument), else
//! `git rev-parse --short=12 HEAD` of the checkout, else `unknown`.
//!
//! Rebuilds only when the variable, `HEAD` or the branch `HEAD` points to changes, not on
//! every build.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git in the package directory; `None` when git is missing or fails.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env_path("CARGO_MANIFEST_DIR")?)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn env_path(key: &str) -> Option<PathBuf> {
    std::env::var_os(key).map(PathBuf::from)
}

/// Asks cargo to rerun when `path` changes; only for files that exist (a missing file would
/// rerun the script on every build).
fn watch(path: &Path) {
    if path.is_file() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The revision from git, watching the files that move when a commit is made or checked out.
fn git_revision() -> Option<String> {
    let rev = git(&["rev-parse", "--short=12", "HEAD"])?;
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        watch(&Path::new(&git_dir).join("HEAD"));
    }
    if let Some(common) = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]) {
        let common = PathBuf::from(common);
        watch(&common.join("packed-refs"));
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(&common.join(branch));
        }
    }
    Some(rev)
}

fn main() {
    println!("cargo:rerun-if-env-changed=KKS_LB_REVISION");
    // Without this line cargo would rerun the script whenever any file of the package changes.
    println!("cargo:rerun-if-changed=build.rs");
    let revision = std::env::var("KKS_LB_REVISION")
        .ok()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=KKS_LB_REVISION={revision}");
}
