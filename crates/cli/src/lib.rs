//! The `kks-lb` command line: what the kks-lb controller does, previewed and checked without a
//! cluster or a cloud, and the tools an operator runs against one.
//!
//! [`cli`] holds the subcommands, one module each:
//! - [`cli::validate`]: `kks-lb validate`, every annotation error and warning of Service files;
//! - [`cli::plan`]: `kks-lb plan`, the Octavia topology a Service needs and the steps to reach it;
//! - [`cli::docs`]: `kks-lb docs annotations`, the generated annotation reference;
//! - [`cli::audit`]: `kks-lb audit`, every load balancer and floating IP of a cluster with its state;
//! - [`cli::webhook_cert`]: `kks-lb webhook-cert`, certificates for the admission webhook;
//! - `cli::demo` (feature `demo`, on by default): `kks-lb demo`, the real controller against the
//!   embedded emulators of `kks-lb-testkit`;
//! - [`cli::input`]: reading Service and Node manifests (YAML or JSON, several documents, Lists).
//!
//! The controller itself is the `kks-lb-controller` crate; this crate only calls its library.
//! Build with `--no-default-features` for a binary that holds no emulator code.

#![deny(missing_docs)]

pub mod cli;
