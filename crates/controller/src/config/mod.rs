//! The controller's configuration: command-line flags with `KKS_LB_*` environment fallbacks
//! ([`ControllerArgs`]), and the pure conversions from flags and an OCCM `cloud.conf` to what
//! the adapter, the planner and the reconcile need ([`session_config`], [`Settings`]).
//!
//! Nothing here reads files or the network; [`crate::run::run`] does, then calls these.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use kks_lb_adapter::{Auth, Backoff, ExecuteConfig, ProjectRef, SessionConfig};
use kks_lb_annotations::Defaults;
use kks_lb_planner::ClusterConfig;

use crate::cloud_config::{CloudConfig, GlobalConfig};
use crate::leader::LeaseConfig;

/// The name Events and logs report as the controller.
pub const CONTROLLER_NAME: &str = "kks-lb-controller";

/// A duration flag: `10m`, `30s`, `1h30m`, `250ms`, or a plain number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DurationArg(pub Duration);

/// A malformed [`DurationArg`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: expected e.g. 10m, 30s, 1h30m, 250ms or a number of seconds")]
pub struct InvalidDuration(pub String);

impl FromStr for DurationArg {
    type Err = InvalidDuration;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidDuration(s.to_owned());
        let t = s.trim();
        if t.is_empty() {
            return Err(bad());
        }
        if let Ok(secs) = t.parse::<u64>() {
            return Ok(DurationArg(Duration::from_secs(secs)));
        }
        let mut total = Duration::ZERO;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
            if digits == 0 {
                return Err(bad());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = match &rest[..unit_len] {
                "ms" => Duration::from_millis(n),
                "s" => Duration::from_secs(n),
                "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
                "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
                _ => return Err(bad()),
            };
            total = total.checked_add(unit).ok_or_else(bad)?;
            rest = &rest[unit_len..];
        }
        Ok(DurationArg(total))
    }
}

impl fmt::Display for DurationArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() != 0 || d.is_zero() {
            return write!(f, "{}ms", d.as_millis());
        }
        let secs = d.as_secs();
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

/// `kks-lb-controller`: gives every Service of type LoadBalancer an OpenStack Octavia load
/// balancer.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "kks-lb-controller", version = crate::build_info::LONG_VERSION)]
pub struct ControllerArgs {
    /// OCCM `cloud.conf` (`[Global]` credentials, `[LoadBalancer]` settings). Without it, or
    /// when its `[Global]` has no credentials, `OS_CLOUD` (clouds.yaml) or `OS_*` variables
    /// are used.
    #[arg(long, env = "KKS_LB_CLOUD_CONFIG", value_name = "PATH")]
    pub cloud_config: Option<PathBuf>,

    /// Cluster name, part of every load balancer name (`kube_service_<cluster>_<ns>_<svc>`).
    #[arg(long, env = "KKS_LB_CLUSTER_NAME", default_value = "kubernetes")]
    pub cluster_name: String,

    /// Cluster id for the ownership tag `kks-lb-cluster:<id>` [default: the UID of the
    /// kube-system namespace].
    #[arg(long, env = "KKS_LB_CLUSTER_ID")]
    pub cluster_id: Option<String>,

    /// Handle Services with this `spec.loadBalancerClass` (and class-less ones); unset: only
    /// class-less Services.
    #[arg(long, env = "KKS_LB_LOAD_BALANCER_CLASS")]
    pub load_balancer_class: Option<String>,

    /// Services reconciled at the same time (a reconcile waiting for its load balancer to
    /// leave PENDING_* does not count: it holds no slot while it waits).
    #[arg(long, env = "KKS_LB_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,

    /// OpenStack calls per second across all reconciles (0: unlimited).
    #[arg(long, env = "KKS_LB_OS_API_QPS", default_value_t = 20.0)]
    pub os_api_qps: f64,

    /// Burst of OpenStack calls above the rate.
    #[arg(long, env = "KKS_LB_OS_API_BURST", default_value_t = 40)]
    pub os_api_burst: u32,

    /// Timeout of each OpenStack call.
    #[arg(long, env = "KKS_LB_OS_CALL_TIMEOUT", default_value = "30s")]
    pub os_call_timeout: DurationArg,

    /// Drift check interval per Service (jittered by ±10 %).
    #[arg(long, env = "KKS_LB_RESYNC", default_value = "10m")]
    pub resync: DurationArg,

    /// How long a load balancer or floating IP of this cluster whose Service is gone stays
    /// before orphan collection deletes it; `0` disables the collection. Sweeps run at most
    /// once per `--resync`.
    #[arg(long, env = "KKS_LB_ORPHAN_GRACE", default_value = "10m")]
    pub orphan_grace: DurationArg,

    /// Longest wait for a load balancer to leave PENDING_*.
    #[arg(long, env = "KKS_LB_WAIT_LIMIT", default_value = "10m")]
    pub wait_limit: DurationArg,

    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "KKS_LB_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// Run leader election on a Lease; only the leader reconciles.
    #[arg(long, env = "KKS_LB_LEADER_ELECT")]
    pub leader_elect: bool,

    /// Namespace of the leader-election Lease.
    #[arg(
        long,
        env = "KKS_LB_LEADER_ELECT_NAMESPACE",
        default_value = "kube-system"
    )]
    pub leader_elect_namespace: String,

    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "KKS_LB_LEADER_ELECT_LEASE_NAME",
        default_value = "kks-lb-controller"
    )]
    pub leader_elect_lease_name: String,

    /// This replica's identity in the Lease and in Events [default: $POD_NAME, else
    /// $HOSTNAME].
    #[arg(long, env = "KKS_LB_LEADER_ELECT_IDENTITY")]
    pub leader_elect_identity: Option<String>,

    /// How long a follower waits for an unrenewed Lease before taking over.
    #[arg(
        long,
        env = "KKS_LB_LEADER_ELECT_LEASE_DURATION",
        default_value = "15s"
    )]
    pub leader_elect_lease_duration: DurationArg,

    /// How often the leader renews the Lease.
    #[arg(long, env = "KKS_LB_LEADER_ELECT_RENEW_EVERY", default_value = "5s")]
    pub leader_elect_renew_every: DurationArg,

    /// How often a follower polls the Lease.
    #[arg(long, env = "KKS_LB_LEADER_ELECT_RETRY_EVERY", default_value = "2s")]
    pub leader_elect_retry_every: DurationArg,

    /// Adopt an untagged load balancer of exactly the OCCM name (migration from OCCM).
    #[arg(long, env = "KKS_LB_ADOPT_UNTAGGED")]
    pub adopt_untagged: bool,

    /// Kubeconfig file [default: in-cluster, else $KUBECONFIG, else ~/.kube/config].
    #[arg(long, env = "KKS_LB_KUBECONFIG", value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Serve the validating admission webhook (`POST /validate-service`, HTTPS) on this
    /// address [default: no webhook].
    #[arg(long, env = "KKS_LB_WEBHOOK_ADDR", value_name = "ADDR")]
    pub webhook_addr: Option<SocketAddr>,

    /// Directory holding the webhook's `tls.crt` and `tls.key`; re-read when they change.
    #[arg(
        long,
        env = "KKS_LB_WEBHOOK_CERT_DIR",
        value_name = "DIR",
        default_value = "/tmp/k8s-webhook-server/serving-certs"
    )]
    pub webhook_cert_dir: PathBuf,
}

/// A configuration the controller cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The cloud.conf file cannot be read.
    #[error("cannot read {path}: {source}")]
    ReadCloudConfig {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The cloud.conf file is malformed.
    #[error(transparent)]
    CloudConfig(#[from] crate::cloud_config::CloudConfigError),
    /// No usable OpenStack credentials.
    #[error("no OpenStack credentials: {0}")]
    Credentials(String),
    /// A required `[LoadBalancer]` setting is missing.
    #[error("{file}: [LoadBalancer] needs {what}")]
    MissingSetting {
        /// The file (or `cloud.conf` when none was given).
        file: String,
        /// What is missing.
        what: &'static str,
    },
}

impl ConfigError {
    /// A static PascalCase name for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            ConfigError::ReadCloudConfig { .. } => "CloudConfigUnreadable",
            ConfigError::CloudConfig(_) => "CloudConfigInvalid",
            ConfigError::Credentials(_) => "NoCredentials",
            ConfigError::MissingSetting { .. } => "MissingSetting",
        }
    }
}

fn has_credentials(g: &GlobalConfig) -> bool {
    g.auth_url.is_some()
        || g.username.is_some()
        || g.application_credential_id.is_some()
        || g.application_credential_name.is_some()
}

fn domain_name(
    name: Option<&String>,
    id: Option<&String>,
    which: &str,
    file: &str,
) -> Result<String, ConfigError> {
    match (name, id) {
        (Some(n), _) => Ok(n.clone()),
        (None, None) => Ok("Default".to_owned()),
        (None, Some(id)) if id.eq_ignore_ascii_case("default") => Ok("Default".to_owned()),
        (None, Some(id)) => Err(ConfigError::Credentials(format!(
            "{file}: [Global] {which}-domain-id = {id:?}: only domain names are supported; set \
             {which}-domain-name"
        ))),
    }
}

/// The Keystone credentials of a `cloud.conf` `[Global]` section.
///
/// # Errors
/// [`ConfigError::Credentials`] naming what is missing or unsupported.
pub fn credentials(g: &GlobalConfig, file: &str) -> Result<Auth, ConfigError> {
    let missing = |what: &str| ConfigError::Credentials(format!("{file}: [Global] {what}"));
    let auth_url = g
        .auth_url
        .clone()
        .ok_or_else(|| missing("needs auth-url"))?;
    if let Some(id) = &g.application_credential_id {
        let secret = g.application_credential_secret.clone().ok_or_else(|| {
            missing("application-credential-id needs application-credential-secret")
        })?;
        return Ok(Auth::ApplicationCredential {
            auth_url,
            id: id.clone(),
            secret,
        });
    }
    if g.application_credential_name.is_some() {
        return Err(missing(
            "application-credential-name is not supported; use application-credential-id",
        ));
    }
    let username = g
        .username
        .clone()
        .ok_or_else(|| missing("needs application-credential-id/-secret or username/password"))?;
    let password = g
        .password
        .clone()
        .ok_or_else(|| missing("username needs password"))?;
    let project = match (&g.project_id, &g.project_name) {
        (Some(id), _) => ProjectRef::Id(id.clone()),
        (None, Some(name)) => ProjectRef::Name(name.clone()),
        (None, None) => return Err(missing("username needs project-id or project-name")),
    };
    Ok(Auth::Password {
        auth_url,
        username,
        password,
        user_domain_name: domain_name(
            g.user_domain_name.as_ref(),
            g.user_domain_id.as_ref(),
            "user",
            file,
        )?,
        project,
        project_domain_name: domain_name(
            g.project_domain_name.as_ref(),
            g.project_domain_id.as_ref(),
            "project",
            file,
        )?,
    })
}

/// How to open the OpenStack session: credentials from `cloud.conf` `[Global]` when it has
/// any, else `OS_CLOUD` (clouds.yaml), else `OS_*` variables (`OS_AUTH_URL` must be set);
/// call timeout and the call budget from the flags. `env` looks up environment variables.
///
/// # Errors
/// [`ConfigError::Credentials`] when no source of credentials is usable.
pub fn session_config(
    cloud: Option<(&CloudConfig, &str)>,
    args: &ControllerArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<SessionConfig, ConfigError> {
    let (auth, global) = match cloud {
        Some((c, file)) if has_credentials(&c.global) => {
            (credentials(&c.global, file)?, Some(&c.global))
        }
        other => {
            let global = other.map(|(c, _)| &c.global);
            if let Some(name) = env("OS_CLOUD").filter(|v| !v.is_empty()) {
                (Auth::Cloud(name), global)
            } else if env("OS_AUTH_URL").is_some_and(|v| !v.is_empty()) {
                (Auth::Environment, global)
            } else {
                return Err(ConfigError::Credentials(
                    "pass --cloud-config with a [Global] section, or set OS_CLOUD (clouds.yaml) \
                     or OS_AUTH_URL and the other OS_* variables"
                        .to_owned(),
                ));
            }
        }
    };
    let mut cfg = SessionConfig::new(auth);
    if let Some(g) = global {
        cfg.region.clone_from(&g.region);
        cfg.ca_file = g.ca_file.as_ref().map(PathBuf::from);
        cfg.insecure = g.tls_insecure;
    }
    cfg.call_timeout = args.os_call_timeout.0;
    cfg.qps = args.os_api_qps;
    cfg.burst = args.os_api_burst;
    Ok(cfg)
}

/// Everything the reconcile needs besides the two API clients; what [`crate::run::run_with`]
/// takes. [`Settings::new`] gives the production defaults for a cluster.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Cluster name and id, VIP subnet, floating network, provider.
    pub cluster: ClusterConfig,
    /// Defaults for Services that say nothing (cloud.conf `[LoadBalancer]`).
    pub defaults: Defaults,
    /// `--load-balancer-class`.
    pub load_balancer_class: Option<String>,
    /// `--adopt-untagged`.
    pub adopt_untagged: bool,
    /// Reconciles working at the same time (`--concurrency`); waits for the cloud do not
    /// count.
    pub concurrency: u16,
    /// Drift check interval per Service, jittered by ±10 % (`--resync`).
    pub resync: Duration,
    /// How long an orphan (its Service gone) stays before it is collected (`--orphan-grace`);
    /// zero disables orphan collection.
    pub orphan_grace: Duration,
    /// Pause between two orphan sweeps (the resync interval in production).
    pub orphan_sweep_every: Duration,
    /// How the executor waits and retries (`--wait-limit`; polls back off from 1 s to 5 s).
    pub execute: ExecuteConfig,
    /// Backoff of a failed reconcile with a retryable error, by consecutive failures.
    pub retry: Backoff,
    /// Requeue of a failed reconcile with a permanent error (quota, bad request): a person
    /// has to act, so retry slowly.
    pub permanent_retry: Duration,
    /// Leader election; `None` runs without (a single replica).
    pub leader_election: Option<LeaseConfig>,
    /// Where to serve /metrics, /healthz, /readyz; `None` serves nothing.
    pub metrics_addr: Option<SocketAddr>,
    /// On shutdown, how long in-flight reconciles may finish before they are dropped (an
    /// interrupted plan continues from what exists on the next start).
    pub shutdown_grace: Duration,
    /// This replica's name in Events (`reportingInstance`) and logs.
    pub identity: String,
    /// Where the validating webhook listens and reads its certificate; `None`: no webhook.
    pub webhook: Option<(SocketAddr, PathBuf)>,
}

impl Settings {
    /// The production defaults for `cluster`: built-in Service defaults, class-less Services,
    /// 16 concurrent reconciles, resync 10 min, wait limit 10 min, retries from 1 s to 5 min,
    /// shutdown grace 10 s, no leader election, no metrics endpoint.
    pub fn new(cluster: ClusterConfig) -> Self {
        Settings {
            cluster,
            defaults: Defaults::default(),
            load_balancer_class: None,
            adopt_untagged: false,
            concurrency: 16,
            resync: Duration::from_secs(600),
            orphan_grace: Duration::from_secs(600),
            orphan_sweep_every: Duration::from_secs(600),
            execute: ExecuteConfig::default(),
            retry: Backoff {
                start: Duration::from_secs(1),
                factor: 2.0,
                cap: Duration::from_secs(300),
                jitter: 0.2,
            },
            permanent_retry: Duration::from_secs(300),
            leader_election: None,
            metrics_addr: None,
            shutdown_grace: Duration::from_secs(10),
            identity: CONTROLLER_NAME.to_owned(),
            webhook: None,
        }
    }

    /// The settings of the flags and a parsed `cloud.conf` (defaults when `None`), for the
    /// cluster id already resolved and this replica's `identity`.
    ///
    /// # Errors
    /// [`ConfigError::MissingSetting`] when `[LoadBalancer]` names neither `subnet-id` nor
    /// `network-id`: the controller could not place a single VIP.
    pub fn from_args(
        args: &ControllerArgs,
        cloud: Option<(&CloudConfig, &str)>,
        cluster_id: &str,
        identity: &str,
    ) -> Result<Self, ConfigError> {
        let default_cloud = CloudConfig::default();
        let (cc, file) = cloud.unwrap_or((&default_cloud, "cloud.conf"));
        let lb = &cc.load_balancer;
        if lb.subnet_id.is_none() && lb.network_id.is_none() {
            return Err(ConfigError::MissingSetting {
                file: file.to_owned(),
                what: "subnet-id or network-id (where VIPs are allocated)",
            });
        }
        let mut s = Settings::new(cc.cluster_config(&args.cluster_name, cluster_id));
        s.defaults = lb.defaults.clone();
        s.load_balancer_class = args.load_balancer_class.clone().filter(|c| !c.is_empty());
        s.adopt_untagged = args.adopt_untagged;
        s.concurrency = args.concurrency;
        s.resync = args.resync.0;
        s.orphan_grace = args.orphan_grace.0;
        s.orphan_sweep_every = args.resync.0;
        s.execute.wait_limit = args.wait_limit.0;
        s.metrics_addr = Some(args.metrics_addr);
        s.identity = identity.to_owned();
        s.webhook = args
            .webhook_addr
            .map(|addr| (addr, args.webhook_cert_dir.clone()));
        s.leader_election = args.leader_elect.then(|| LeaseConfig {
            namespace: args.leader_elect_namespace.clone(),
            name: args.leader_elect_lease_name.clone(),
            identity: identity.to_owned(),
            lease_duration: args.leader_elect_lease_duration.0,
            renew_every: args.leader_elect_renew_every.0,
            retry_every: args.leader_elect_retry_every.0,
        });
        Ok(s)
    }
}

/// This replica's identity: `--leader-elect-identity`, else `$POD_NAME`, else `$HOSTNAME`,
/// else the controller name.
pub fn identity(args: &ControllerArgs, env: impl Fn(&str) -> Option<String>) -> String {
    args.leader_elect_identity
        .clone()
        .or_else(|| env("POD_NAME"))
        .or_else(|| env("HOSTNAME"))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| CONTROLLER_NAME.to_owned())
}

#[cfg(test)]
mod tests;
