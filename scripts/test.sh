#!/usr/bin/env bash
# The whole test suite: doctests first (nextest does not run them), then every crate's unit,
# integration and property tests. Uses cargo-nextest when installed, cargo test otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked --doc
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
