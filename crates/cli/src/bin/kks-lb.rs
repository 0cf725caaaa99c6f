//! `kks-lb`: validate Services and preview plans.

use std::process::ExitCode;

use clap::Parser;
use kks_lb::cli::{Cli, run};

fn main() -> ExitCode {
    run(Cli::parse())
}
