//! `embedded-controller`: the example controller (see the library docs).
//!
//! `embedded-controller --class example.com/lb --cluster-name NAME --cluster-id ID
//! --subnet-id SUBNET [--floating-network-id NET]`; OpenStack credentials from `OS_CLOUD`
//! (clouds.yaml) or the `OS_*` variables, Kubernetes from the in-cluster config or
//! `KUBECONFIG`.

use std::time::Duration;

use anyhow::Context as _;
use kks_lb_adapter::{Auth, ExecuteConfig, Executor, OpenStackClient, SessionConfig};
use kks_lb_controller::engine::{Engine, EngineConfig};
use kks_lb_embedded_example::{Config, run};
use kks_lb_planner::ClusterConfig;
use tokio_util::sync::CancellationToken;

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args: Vec<String> = std::env::args().collect();
    let need = |name: &str| flag(&args, name).with_context(|| format!("{name} is required"));
    let cluster = ClusterConfig {
        cluster_name: need("--cluster-name")?,
        cluster_id: need("--cluster-id")?,
        subnet_id: Some(need("--subnet-id")?),
        floating_network_id: flag(&args, "--floating-network-id"),
        ..ClusterConfig::default()
    };
    let auth = if std::env::var_os("OS_CLOUD").is_some() {
        Auth::Cloud(std::env::var("OS_CLOUD")?)
    } else {
        Auth::Environment
    };
    let cloud = OpenStackClient::connect(&SessionConfig::new(auth))
        .await
        .context("cannot open the OpenStack session")?;
    let kube = kube::Client::try_default()
        .await
        .context("cannot reach Kubernetes")?;
    let tag = kks_lb_planner::cluster_tag(&cluster.cluster_id);
    let engine = Engine::new(
        Executor::new(cloud, ExecuteConfig::default()).with_poll_tag(tag),
        EngineConfig::new(cluster),
    );
    let config = Config {
        class: need("--class")?,
        retry: Duration::from_secs(10),
        identity: std::env::var("HOSTNAME").unwrap_or_else(|_| "embedded-controller".into()),
    };
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_signal.cancel();
    });
    run(kube, engine, config, stop).await;
    Ok(())
}
