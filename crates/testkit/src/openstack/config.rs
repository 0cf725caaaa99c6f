//! Emulator configuration and the fixture it creates.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use kks_lb_octavia_model::api::octavia::ApiVersion;

/// How callers authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// Keystone v3 tokens: every Octavia/Neutron call needs a valid, unexpired `X-Auth-Token`.
    #[default]
    Keystone,
    /// Like the real services with `auth_strategy = noauth` (real-octavia README quirk 9):
    /// no token; every caller is admin; the project comes from `X-Project-Id` or the body's
    /// `project_id`, and Neutron POSTs need `project_id` in the body.
    NoAuth,
}

/// The one user, project and application credential Keystone knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub user_name: String,
    /// User and project domain name.
    pub domain_name: String,
    /// Password.
    pub password: String,
    /// Project name (the user's default project).
    pub project_name: String,
    /// Application credential id.
    pub application_credential_id: String,
    /// Application credential name.
    pub application_credential_name: String,
    /// Application credential secret.
    pub application_credential_secret: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            user_name: "kks-lb".to_owned(),
            domain_name: "Default".to_owned(),
            password: "kks-lb-password".to_owned(),
            project_name: "kks".to_owned(),
            application_credential_id: "kks-lb-app-credential".to_owned(),
            application_credential_name: "kks-lb".to_owned(),
            application_credential_secret: "kks-lb-app-credential-secret".to_owned(),
        }
    }
}

/// How long a load balancer stays `PENDING_*` after each kind of change. Zero is allowed:
/// the change is then visible as ACTIVE on the next request (the mutating response itself
/// still shows `PENDING_*`, as Octavia's does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvisioningDelays {
    /// Load balancer create (simple or fully populated).
    pub create: Duration,
    /// Any update: LB PUT, and every child create/update/delete (the LB goes PENDING_UPDATE).
    pub update: Duration,
    /// Load balancer delete (with or without cascade).
    pub delete: Duration,
}

impl Default for ProvisioningDelays {
    fn default() -> Self {
        ProvisioningDelays {
            create: Duration::from_millis(200),
            update: Duration::from_millis(50),
            delete: Duration::from_millis(50),
        }
    }
}

impl ProvisioningDelays {
    /// Every change completes immediately.
    pub const ZERO: ProvisioningDelays = ProvisioningDelays {
        create: Duration::ZERO,
        update: Duration::ZERO,
        delete: Duration::ZERO,
    };
}

/// Per-project Octavia quotas; -1 is unlimited (Octavia's default for every resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    /// Load balancers.
    pub load_balancer: i64,
    /// Listeners.
    pub listener: i64,
    /// Pools.
    pub pool: i64,
    /// Health monitors.
    pub health_monitor: i64,
    /// Members.
    pub member: i64,
}

impl Default for QuotaLimits {
    fn default() -> Self {
        QuotaLimits {
            load_balancer: -1,
            listener: -1,
            pool: -1,
            health_monitor: -1,
            member: -1,
        }
    }
}

/// An enabled Octavia provider driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSpec {
    /// Name, e.g. `amphora` or `ovn`. `ovn` gets the OVN driver's restrictions.
    pub name: String,
    /// Description shown by `GET /v2/lbaas/providers`.
    pub description: String,
}

impl ProviderSpec {
    /// A provider with a description.
    pub fn new(name: &str, description: &str) -> Self {
        ProviderSpec {
            name: name.to_owned(),
            description: description.to_owned(),
        }
    }
}

/// An Octavia flavor (tied to one provider).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlavorSpec {
    /// Flavor id (what `flavor_id` carries).
    pub id: String,
    /// Flavor name.
    pub name: String,
    /// The provider the flavor belongs to.
    pub provider: String,
}

/// Everything about the emulated cloud. `Default` gives an Octavia 2.30 with `amphora` and
/// `ovn`, Keystone auth, a `/24` cluster subnet and a `/24` external network.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Seed of every random choice: ids, addresses order ties, MACs and fault injection.
    pub seed: u64,
    /// Authentication mode.
    pub auth: AuthMode,
    /// Lifetime of issued tokens (tokio time).
    pub token_ttl: Duration,
    /// The Keystone user, project and application credential.
    pub credentials: Credentials,
    /// Region of the catalog endpoints.
    pub region: String,
    /// The maximum Octavia API version `GET /` reports; features newer than this are
    /// refused as unknown attributes or values, as an older Octavia would.
    pub max_api_version: ApiVersion,
    /// Enabled providers.
    pub providers: Vec<ProviderSpec>,
    /// Provider used when a create names none.
    pub default_provider: String,
    /// Known flavors.
    pub flavors: Vec<FlavorSpec>,
    /// Known availability zones.
    pub availability_zones: Vec<String>,
    /// Provisioning delays.
    pub delays: ProvisioningDelays,
    /// Default quotas of every project.
    pub quotas: QuotaLimits,
    /// CIDR of the pre-created cluster (VIP and member) subnet.
    pub cluster_cidr: String,
    /// CIDR of the pre-created external (floating IP) subnet.
    pub external_cidr: String,
    /// Refuse health monitors whose `timeout` exceeds their `delay`. The API reference says
    /// the timeout "must be less than the delay value"; the real API does not enforce it for
    /// every type, so this is an emulator strictness that catches planner bugs.
    pub reject_monitor_timeout_over_delay: bool,
    /// Wall-clock time of the emulator start, for timestamps; now when `None`.
    pub epoch: Option<SystemTime>,
    /// The Keystone user holds the `admin` role: it sees every project's objects and may
    /// read Neutron's admin-only network IP availability. Off by default, like the
    /// controller's usual credentials (noauth callers are always admin).
    pub admin_role: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 0,
            auth: AuthMode::Keystone,
            token_ttl: Duration::from_secs(3600),
            credentials: Credentials::default(),
            region: "RegionOne".to_owned(),
            max_api_version: ApiVersion::new(2, 30),
            providers: vec![
                ProviderSpec::new("amphora", "Amphora provider."),
                ProviderSpec::new("ovn", "Octavia OVN driver."),
            ],
            default_provider: "amphora".to_owned(),
            flavors: Vec::new(),
            availability_zones: vec!["nova".to_owned()],
            delays: ProvisioningDelays::default(),
            quotas: QuotaLimits::default(),
            cluster_cidr: "10.0.0.0/24".to_owned(),
            external_cidr: "203.0.113.0/24".to_owned(),
            reject_monitor_timeout_over_delay: true,
            epoch: None,
            admin_role: false,
        }
    }
}

/// The ids of what the emulator creates at start: one project, a cluster network and subnet
/// (routed to the external network), an external network and subnet, and the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// The project of the Keystone user (32 hex digits, Keystone style).
    pub project_id: String,
    /// Its name.
    pub project_name: String,
    /// The user id.
    pub user_id: String,
    /// The user name.
    pub user_name: String,
    /// User and project domain name.
    pub domain_name: String,
    /// The user's password.
    pub password: String,
    /// Application credential id.
    pub application_credential_id: String,
    /// Application credential secret.
    pub application_credential_secret: String,
    /// Catalog region.
    pub region: String,
    /// Cluster network (VIPs and members).
    pub cluster_network_id: String,
    /// Cluster subnet.
    pub cluster_subnet_id: String,
    /// External network (`router:external`), source of floating IPs.
    pub external_network_id: String,
    /// External subnet.
    pub external_subnet_id: String,
    /// Router between the cluster subnet and the external network.
    pub router_id: String,
}
