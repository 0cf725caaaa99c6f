//! What this build is: the package version and the source revision it was built from.
//!
//! The revision comes from `build.rs`: the `KKS_LB_REVISION` variable at build time (the
//! container build passes it), else `git rev-parse --short=12 HEAD`, else `unknown`. Both
//! binaries print [`LONG_VERSION`] for `--version`; the controller logs both at start and
//! exports them as the `kks_lb_build_info` metric.

/// The package version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The source revision (12 hex digits of the commit), or `unknown`.
pub const REVISION: &str = env!("KKS_LB_REVISION");

/// `<version> (revision <revision>)`, what `--version` prints after the binary's name.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("KKS_LB_REVISION"),
    ")"
);
