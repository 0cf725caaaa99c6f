//! `kks-lb-kube-emulator`: serves the Kubernetes API emulator until killed, after writing
//! a kubeconfig that points at it.
//!
//! ```text
//! kks-lb-kube-emulator --listen 127.0.0.1:6443 --kubeconfig /tmp/kubeconfig \
//!     --node node-1=10.0.0.11 --node node-2=10.0.0.12
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use kks_lb_testkit::kube_api::{EmulatorConfig, KubeEmulator};

/// Serve an in-memory Kubernetes API for kks-lb tests and demos.
#[derive(Debug, Parser)]
#[command(name = "kks-lb-kube-emulator", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write a kubeconfig pointing at the emulator.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Seed a Ready Node, as NAME=INTERNAL_IP (repeatable).
    #[arg(long = "node", value_name = "NAME=IP")]
    nodes: Vec<String>,
    /// UID for the kube-system Namespace (random by default).
    #[arg(long)]
    kube_system_uid: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let emulator = KubeEmulator::start_with(EmulatorConfig {
        listen: args.listen,
        kube_system_uid: args.kube_system_uid.clone(),
        ..EmulatorConfig::default()
    })
    .await
    .with_context(|| format!("starting the emulator on {}", args.listen))?;
    for node in &args.nodes {
        let Some((name, ip)) = node.split_once('=') else {
            bail!("--node {node:?}: expected NAME=IP");
        };
        emulator
            .add_node(name, ip)
            .with_context(|| format!("adding node {name}"))?;
    }
    emulator
        .write_kubeconfig(&args.kubeconfig)
        .with_context(|| format!("writing {}", args.kubeconfig.display()))?;
    println!("{}", emulator.url());
    eprintln!(
        "kube emulator serving {} (kubeconfig {}); stop with Ctrl-C or SIGTERM",
        emulator.url(),
        args.kubeconfig.display()
    );
    wait_for_signal().await?;
    emulator.shutdown();
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    tokio::select! {
        res = tokio::signal::ctrl_c() => res.context("waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")
}
