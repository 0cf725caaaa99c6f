//! `kks-lb validate`.

use std::io::Write;

/// Flags of `kks-lb validate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `kks-lb validate`; returns the exit code.
pub fn run(_args: &Args, _out: &mut dyn Write) -> u8 {
    super::exit::INPUT
}
