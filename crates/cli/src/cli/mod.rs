//! The `kks-lb` command line. Its flags and JSON output are a public interface: change them only
//! compatibly.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub mod audit;
pub mod capacity;
pub mod connect;
#[cfg(feature = "demo")]
pub mod demo;
pub mod docs;
pub mod input;
pub mod plan;
pub mod validate;
pub mod webhook_cert;

/// `kks-lb`: preview and check what the kks-lb controller does with a Service.
#[derive(Debug, Parser)]
#[command(name = "kks-lb", version = kks_lb_controller::build_info::LONG_VERSION, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report every annotation error and warning of Service manifests.
    Validate(validate::Args),
    /// Show the Octavia topology a Service needs and the steps to reach it.
    Plan(plan::Args),
    /// Print generated documentation.
    Docs(docs::Args),
    /// Run the real controller against embedded OpenStack and Kubernetes emulators.
    #[cfg(feature = "demo")]
    Demo(demo::Args),
    /// Write a self-signed CA and serving certificate for the admission webhook.
    WebhookCert(webhook_cert::Args),
    /// List every load balancer and floating IP of this cluster with its Service and state;
    /// delete orphans with `--delete-orphans`.
    Audit(audit::Args),
    /// The cluster subnet's addresses: total, used by nodes, by this cluster's load balancers
    /// (internal / external) and others, free, and how many more load balancers fit.
    Capacity(capacity::Args),
}

/// Output format of `validate` and `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Output {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON, a stable interface for scripts.
    Json,
}

/// Process exit codes shared by `validate` and `plan`.
pub mod exit {
    /// Every Service is valid (warnings allowed).
    pub const OK: u8 = 0;
    /// At least one Service is invalid.
    pub const INVALID: u8 = 1;
    /// Input could not be read or is not a Service.
    pub const INPUT: u8 = 2;
}

/// Runs the command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let code = match cli.command {
        Command::Validate(args) => validate::run(&args, &mut out),
        Command::Plan(args) => plan::run(&args, &mut out),
        Command::Docs(args) => docs::run(&args, &mut out),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(&args, &mut out),
        Command::WebhookCert(args) => webhook_cert::run(&args, &mut out),
        Command::Audit(args) => audit::run(&args, &mut out),
        Command::Capacity(args) => capacity::run(&args, &mut out),
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
