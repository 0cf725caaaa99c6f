//! What `kks-lb audit` and `kks-lb capacity` share: the controller's defaults with the given
//! `cloud.conf` and kubeconfig, the parsed `cloud.conf`, and the OpenStack session
//! configuration (`cloud.conf` `[Global]`, else `OS_CLOUD`, else the `OS_*` variables).

use std::path::PathBuf;

use clap::Parser;
use kks_lb_adapter::SessionConfig;
use kks_lb_controller::cloud_config::{self, CloudConfig};
use kks_lb_controller::config::{self, ControllerArgs};

/// Where a command finds the cloud and the cluster.
#[derive(Debug)]
pub struct Connection {
    /// The controller's flags at their defaults, with `--cloud-config` and `--kubeconfig`.
    pub ctl: ControllerArgs,
    /// The parsed `cloud.conf` (empty when none was given).
    pub cloud: CloudConfig,
    /// How to open the OpenStack session.
    pub session: SessionConfig,
}

/// Reads `cloud_config` (when given) and decides how to reach OpenStack and Kubernetes.
///
/// # Errors
/// The file cannot be read or parsed, or no source of credentials is usable.
pub fn open(
    cloud_config: Option<&PathBuf>,
    kubeconfig: Option<&PathBuf>,
) -> Result<Connection, String> {
    let mut ctl = ControllerArgs::try_parse_from(["kks-lb-controller"])
        .map_err(|e| format!("defaults: {e}"))?;
    ctl.cloud_config = cloud_config.cloned();
    ctl.kubeconfig = kubeconfig.cloned();
    let parsed = match cloud_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let file = path.display().to_string();
            let cc = cloud_config::parse(&text, &file).map_err(|e| e.to_string())?;
            Some((cc, file))
        }
        None => None,
    };
    let cloud_ref = parsed.as_ref().map(|(c, f)| (c, f.as_str()));
    let session = config::session_config(cloud_ref, &ctl, |k| std::env::var(k).ok())
        .map_err(|e| e.to_string())?;
    Ok(Connection {
        ctl,
        cloud: parsed.map(|(c, _)| c).unwrap_or_default(),
        session,
    })
}
