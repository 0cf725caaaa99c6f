//! `kks-lb`: validate Services and preview plans.

use std::process::ExitCode;

use clap::Parser;
use kks_lb_controller::cli::{Cli, run};

fn main() -> ExitCode {
    run(Cli::parse())
}
