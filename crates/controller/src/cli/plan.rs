//! `kks-lb plan`.

use std::io::Write;

/// Flags of `kks-lb plan`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `kks-lb plan`; returns the exit code.
pub fn run(_args: &Args, _out: &mut dyn Write) -> u8 {
    super::exit::INPUT
}
