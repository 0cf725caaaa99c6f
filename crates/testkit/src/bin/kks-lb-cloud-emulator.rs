//! `kks-lb-cloud-emulator`: serves the OpenStack emulator (Keystone v3, Octavia v2, Neutron)
//! until interrupted, for demos and manual testing with real clients.
//!
//! Prints the base URL on the first line (`url=http://127.0.0.1:<port>`), then the auth URL,
//! the service endpoints and the fixture (project, credentials, network and subnet ids) as
//! `key=value` lines, the last one `control_url=` (the emulator's control API,
//! `docs/emulator.md`).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use kks_lb_octavia_model::api::octavia::ApiVersion;
use kks_lb_testkit::openstack::{AuthMode, EmulatorConfig, OpenStackEmulator, ProvisioningDelays};

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "kks-lb-cloud-emulator",
    about = "OpenStack (Keystone, Octavia, Neutron) emulator"
)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Seed of ids and fault injection.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run without Keystone (project from `X-Project-Id`).
    #[arg(long)]
    noauth: bool,
    /// Maximum Octavia API version, e.g. `2.11`.
    #[arg(long, default_value = "2.30")]
    max_api_version: ApiVersion,
    /// LB create delay, milliseconds.
    #[arg(long, default_value_t = 200)]
    create_delay_ms: u64,
    /// Update delay, milliseconds.
    #[arg(long, default_value_t = 50)]
    update_delay_ms: u64,
    /// LB delete delay, milliseconds.
    #[arg(long, default_value_t = 50)]
    delete_delay_ms: u64,
    /// Token lifetime, seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl_s: u64,
    /// Cluster (VIP) subnet CIDR.
    #[arg(long, default_value = "10.0.0.0/24")]
    cluster_cidr: String,
    /// External (floating IP) subnet CIDR.
    #[arg(long, default_value = "203.0.113.0/24")]
    external_cidr: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = EmulatorConfig {
        listen: args.listen,
        seed: args.seed,
        auth: if args.noauth {
            AuthMode::NoAuth
        } else {
            AuthMode::Keystone
        },
        token_ttl: Duration::from_secs(args.token_ttl_s),
        max_api_version: args.max_api_version,
        delays: ProvisioningDelays {
            create: Duration::from_millis(args.create_delay_ms),
            update: Duration::from_millis(args.update_delay_ms),
            delete: Duration::from_millis(args.delete_delay_ms),
        },
        cluster_cidr: args.cluster_cidr,
        external_cidr: args.external_cidr,
        ..EmulatorConfig::default()
    };
    let cloud = OpenStackEmulator::start(config)
        .await
        .context("starting the emulator")?;
    let fx = cloud.fixture();
    println!("url={}", cloud.url());
    println!("auth_url={}", cloud.auth_url());
    println!("octavia_url={}", cloud.octavia_url());
    println!("neutron_url={}", cloud.neutron_url());
    println!("region={}", fx.region);
    println!("project_id={}", fx.project_id);
    println!("project_name={}", fx.project_name);
    println!("domain_name={}", fx.domain_name);
    println!("username={}", fx.user_name);
    println!("password={}", fx.password);
    println!("application_credential_id={}", fx.application_credential_id);
    println!(
        "application_credential_secret={}",
        fx.application_credential_secret
    );
    println!("cluster_network_id={}", fx.cluster_network_id);
    println!("cluster_subnet_id={}", fx.cluster_subnet_id);
    println!("external_network_id={}", fx.external_network_id);
    println!("external_subnet_id={}", fx.external_subnet_id);
    println!("control_url={}/_emulator", cloud.url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    cloud.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
        let a = Args::parse_from(["x", "--max-api-version", "2.11", "--noauth"]);
        assert_eq!(a.max_api_version, ApiVersion::new(2, 11));
        assert!(a.noauth);
    }
}
