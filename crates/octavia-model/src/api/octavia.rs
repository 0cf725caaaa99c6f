//! Octavia v2 wire types (`/v2/lbaas/...`).
//!
//! Shapes follow what Octavia 19.0.0 (API v2.30) returned on a real deployment (see
//! `tests/data/*.json`) and the Octavia v2 API reference:
//!
//! - GET responses reference children by id: LB `listeners: [{"id"}]`, `pools: [{"id"}]`;
//!   pool `healthmonitor_id` and `members: [{"id"}]`; listener/pool `loadbalancers: [{"id"}]`.
//! - The fully-populated POST response embeds complete listener objects (with `l7policies`,
//!   without `loadbalancers`) and complete pool objects with a nested `healthmonitor` and full
//!   `members` ([`LoadBalancerFullResponse`], [`PoolFullResponse`]).
//! - Timestamps have no timezone and are kept as strings; `updated_at` is `null` until the
//!   first update. Every object carries a deprecated `tenant_id` equal to `project_id`.
//! - Errors are WSME's `{"faultcode", "faultstring", "debuginfo"}` ([`Fault`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{double_option, null_as_default};
use crate::enums::{
    LbAlgorithm, MonitorType, OperatingStatus, Protocol, ProvisioningStatus, SessionPersistenceType,
};

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

/// A reference to another object: `{"id": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IdRef {
    /// The referenced object's id.
    pub id: String,
}

impl IdRef {
    /// A reference to `id`.
    pub fn new(id: impl Into<String>) -> Self {
        IdRef { id: id.into() }
    }
}

/// A hypermedia link (`*_links` of lists, `links` of versions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Target URL.
    pub href: String,
    /// Relation, e.g. `self` or `next`.
    pub rel: String,
}

/// Pool session persistence as Octavia sends and accepts it.
///
/// Octavia answers all four keys, `null` where unset (`samples/octavia/pool_get.json`);
/// `persistence_timeout` and `persistence_granularity` are for UDP pools only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPersistence {
    /// Persistence type.
    #[serde(rename = "type")]
    pub kind: SessionPersistenceType,
    /// Cookie name, `APP_COOKIE` only.
    #[serde(default)]
    pub cookie_name: Option<String>,
    /// UDP persistence timeout, seconds.
    #[serde(default)]
    pub persistence_timeout: Option<u32>,
    /// UDP persistence netmask.
    #[serde(default)]
    pub persistence_granularity: Option<String>,
}

/// One additional VIP of a load balancer (Octavia >= 2.26).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdditionalVip {
    /// Subnet of the address.
    pub subnet_id: String,
    /// The address.
    #[serde(default)]
    pub ip_address: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Single-key wrappers and lists
// ---------------------------------------------------------------------------------------------

/// `{"loadbalancer": T}`: create/update bodies and single-object responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerRoot<T> {
    /// The wrapped object.
    pub loadbalancer: T,
}

/// `{"listener": T}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerRoot<T> {
    /// The wrapped object.
    pub listener: T,
}

/// `{"pool": T}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRoot<T> {
    /// The wrapped object.
    pub pool: T,
}

/// `{"member": T}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRoot<T> {
    /// The wrapped object.
    pub member: T,
}

/// `{"healthmonitor": T}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthMonitorRoot<T> {
    /// The wrapped object.
    pub healthmonitor: T,
}

/// The body of `POST /v2/lbaas/loadbalancers`. [`crate::topology::LoadBalancer`] also
/// serializes as a fully-populated create body, so `LoadBalancerRoot<topology::LoadBalancer>`
/// works as well.
pub type CreateLoadBalancerRequest = LoadBalancerRoot<CreateLoadBalancer>;

/// `GET /v2/lbaas/loadbalancers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerList {
    /// The load balancers.
    pub loadbalancers: Vec<LoadBalancerResponse>,
    /// Pagination links (`rel: next/previous`).
    #[serde(default)]
    pub loadbalancers_links: Vec<Link>,
}

/// `GET /v2/lbaas/listeners`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerList {
    /// The listeners.
    pub listeners: Vec<ListenerResponse>,
    /// Pagination links.
    #[serde(default)]
    pub listeners_links: Vec<Link>,
}

/// `GET /v2/lbaas/pools`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolList {
    /// The pools.
    pub pools: Vec<PoolResponse>,
    /// Pagination links.
    #[serde(default)]
    pub pools_links: Vec<Link>,
}

/// `GET /v2/lbaas/pools/{pool_id}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberList {
    /// The members.
    pub members: Vec<MemberResponse>,
    /// Pagination links.
    #[serde(default)]
    pub members_links: Vec<Link>,
}

/// `GET /v2/lbaas/healthmonitors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthMonitorList {
    /// The health monitors.
    pub healthmonitors: Vec<HealthMonitorResponse>,
    /// Pagination links.
    #[serde(default)]
    pub healthmonitors_links: Vec<Link>,
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// A load balancer as Octavia returns it.
///
/// `L` and `P` are the child representations: [`IdRef`] for GET/PUT/list responses
/// ([`LoadBalancerResponse`]), full objects for the create response
/// ([`LoadBalancerFullResponse`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "L: Deserialize<'de>, P: Deserialize<'de>"))]
pub struct LoadBalancerResponse<L = IdRef, P = IdRef> {
    /// Id.
    pub id: String,
    /// Name (`""` when unset).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Description (`""` when unset).
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Provisioning status.
    pub provisioning_status: ProvisioningStatus,
    /// Operating status.
    pub operating_status: OperatingStatus,
    /// Administrative state.
    pub admin_state_up: bool,
    /// Owning project.
    pub project_id: String,
    /// Creation time, no timezone.
    pub created_at: String,
    /// Last update time; `null` until the first update.
    pub updated_at: Option<String>,
    /// The VIP address.
    pub vip_address: Option<String>,
    /// The Neutron port holding the VIP.
    pub vip_port_id: Option<String>,
    /// The VIP subnet.
    pub vip_subnet_id: Option<String>,
    /// The VIP network.
    pub vip_network_id: Option<String>,
    /// VIP security groups (Octavia >= 2.29).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_sg_ids: Option<Vec<String>>,
    /// Additional VIPs (Octavia >= 2.26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_vips: Option<Vec<AdditionalVip>>,
    /// Listeners.
    #[serde(default, deserialize_with = "null_as_default")]
    pub listeners: Vec<L>,
    /// Pools.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pools: Vec<P>,
    /// Provider driver.
    pub provider: Option<String>,
    /// Flavor (Octavia >= 2.6).
    #[serde(default)]
    pub flavor_id: Option<String>,
    /// QoS policy applied to the VIP port.
    #[serde(default)]
    pub vip_qos_policy_id: Option<String>,
    /// Tags (Octavia >= 2.5).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Availability zone (Octavia >= 2.14).
    #[serde(default)]
    pub availability_zone: Option<String>,
    /// VNIC type of the VIP port (Octavia >= 2.28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_vnic_type: Option<String>,
    /// Deprecated alias of `project_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// The response of a (fully-populated) create: children embedded as full objects
/// (real-octavia README quirk 6).
pub type LoadBalancerFullResponse = LoadBalancerResponse<ListenerResponse, PoolFullResponse>;

/// A listener as Octavia returns it.
///
/// In GET responses `loadbalancers` is present; in the listeners embedded in a fully-populated
/// create response it is absent (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerResponse {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Provisioning status.
    pub provisioning_status: ProvisioningStatus,
    /// Operating status.
    pub operating_status: OperatingStatus,
    /// Administrative state.
    pub admin_state_up: bool,
    /// Protocol.
    pub protocol: Protocol,
    /// Port.
    pub protocol_port: u16,
    /// Maximum connections; -1 is unlimited.
    pub connection_limit: i64,
    /// TLS certificate reference.
    #[serde(default)]
    pub default_tls_container_ref: Option<String>,
    /// SNI certificate references.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sni_container_refs: Vec<String>,
    /// Owning project.
    pub project_id: String,
    /// The default pool.
    #[serde(default)]
    pub default_pool_id: Option<String>,
    /// L7 policies.
    #[serde(default, deserialize_with = "null_as_default")]
    pub l7policies: Vec<IdRef>,
    /// Inserted headers, e.g. `{"X-Forwarded-For": "true"}`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub insert_headers: BTreeMap<String, String>,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: Option<String>,
    /// Parent load balancers (GET only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadbalancers: Option<Vec<IdRef>>,
    /// Client inactivity timeout, ms (Octavia >= 2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_client_data: Option<u32>,
    /// Backend connect timeout, ms (Octavia >= 2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_member_connect: Option<u32>,
    /// Backend inactivity timeout, ms (Octavia >= 2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_member_data: Option<u32>,
    /// TCP inspect wait, ms (Octavia >= 2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_tcp_inspect: Option<u32>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Client CA certificate reference.
    #[serde(default)]
    pub client_ca_tls_container_ref: Option<String>,
    /// Client authentication mode (`NONE`, `OPTIONAL`, `MANDATORY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_authentication: Option<String>,
    /// Client CRL reference.
    #[serde(default)]
    pub client_crl_container_ref: Option<String>,
    /// Allowed source CIDRs (Octavia >= 2.12); `null`, not `[]`, when unset.
    #[serde(default)]
    pub allowed_cidrs: Option<Vec<String>>,
    /// TLS ciphers.
    #[serde(default)]
    pub tls_ciphers: Option<String>,
    /// TLS versions.
    #[serde(default)]
    pub tls_versions: Option<Vec<String>>,
    /// ALPN protocols.
    #[serde(default)]
    pub alpn_protocols: Option<Vec<String>>,
    /// HSTS max age.
    #[serde(default)]
    pub hsts_max_age: Option<u64>,
    /// HSTS includeSubDomains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsts_include_subdomains: Option<bool>,
    /// HSTS preload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsts_preload: Option<bool>,
    /// Deprecated alias of `project_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// A pool as Octavia returns it.
///
/// `M` is the member representation and `X` the shape-specific links: [`IdRef`] members with
/// [`PoolRefs`] (parent load balancers, monitor id) in GET/PUT/list responses
/// ([`PoolResponse`]); full members with [`PoolMonitor`] (the nested monitor) in a
/// fully-populated create response ([`PoolFullResponse`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "M: Serialize, X: Serialize",
    deserialize = "M: Deserialize<'de>, X: Deserialize<'de>"
))]
pub struct PoolResponse<M = IdRef, X = PoolRefs> {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Provisioning status.
    pub provisioning_status: ProvisioningStatus,
    /// Operating status.
    pub operating_status: OperatingStatus,
    /// Administrative state.
    pub admin_state_up: bool,
    /// Protocol towards members.
    pub protocol: Protocol,
    /// Balancing algorithm.
    pub lb_algorithm: LbAlgorithm,
    /// Session persistence; `null` when none.
    #[serde(default)]
    pub session_persistence: Option<SessionPersistence>,
    /// Owning project.
    pub project_id: String,
    /// Listeners using this pool.
    #[serde(default, deserialize_with = "null_as_default")]
    pub listeners: Vec<IdRef>,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: Option<String>,
    /// Members.
    #[serde(default, deserialize_with = "null_as_default")]
    pub members: Vec<M>,
    /// What differs between the two shapes (see the type docs).
    #[serde(flatten)]
    pub links: X,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Backend TLS certificate.
    #[serde(default)]
    pub tls_container_ref: Option<String>,
    /// Backend CA certificate.
    #[serde(default)]
    pub ca_tls_container_ref: Option<String>,
    /// Backend CRL.
    #[serde(default)]
    pub crl_container_ref: Option<String>,
    /// Backend re-encryption.
    #[serde(default)]
    pub tls_enabled: bool,
    /// Backend TLS ciphers.
    #[serde(default)]
    pub tls_ciphers: Option<String>,
    /// Backend TLS versions.
    #[serde(default)]
    pub tls_versions: Option<Vec<String>>,
    /// Backend ALPN protocols.
    #[serde(default)]
    pub alpn_protocols: Option<Vec<String>>,
    /// Deprecated alias of `project_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// The links of a pool in GET/PUT/list responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRefs {
    /// Parent load balancers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub loadbalancers: Vec<IdRef>,
    /// The health monitor, if any.
    #[serde(default)]
    pub healthmonitor_id: Option<String>,
}

/// The links of a pool embedded in a fully-populated create response: the nested monitor
/// (no `loadbalancers` and no `healthmonitor_id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolMonitor {
    /// The full health monitor; `null` when none.
    #[serde(default)]
    pub healthmonitor: Option<HealthMonitorResponse>,
}

/// A pool embedded in a fully-populated create response: full members, nested monitor.
pub type PoolFullResponse = PoolResponse<MemberResponse, PoolMonitor>;

/// A pool member as Octavia returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberResponse {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Operating status (`NO_MONITOR` when the pool has no monitor).
    pub operating_status: OperatingStatus,
    /// Provisioning status.
    pub provisioning_status: ProvisioningStatus,
    /// Administrative state.
    pub admin_state_up: bool,
    /// Member address.
    pub address: String,
    /// Member port.
    pub protocol_port: u16,
    /// Weight.
    pub weight: u16,
    /// Backup member.
    #[serde(default)]
    pub backup: bool,
    /// Subnet of the address.
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// Owning project.
    pub project_id: String,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: Option<String>,
    /// Alternate monitor address.
    #[serde(default)]
    pub monitor_address: Option<String>,
    /// Alternate monitor port.
    #[serde(default)]
    pub monitor_port: Option<u16>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// VNIC type (Octavia >= 2.29).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnic_type: Option<String>,
    /// Deprecated alias of `project_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// A health monitor as Octavia returns it. `pools` is present in GET responses and absent in
/// the monitors embedded in a fully-populated create response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthMonitorResponse {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Probe type.
    #[serde(rename = "type")]
    pub kind: MonitorType,
    /// Seconds between probes.
    pub delay: u32,
    /// Seconds a probe may take.
    pub timeout: u32,
    /// Successes to mark a member up.
    pub max_retries: u8,
    /// Failures to mark a member down.
    pub max_retries_down: u8,
    /// HTTP method; `null` for non-HTTP monitors.
    #[serde(default)]
    pub http_method: Option<String>,
    /// URL path; `null` for non-HTTP monitors.
    #[serde(default)]
    pub url_path: Option<String>,
    /// Expected codes; `null` for non-HTTP monitors.
    #[serde(default)]
    pub expected_codes: Option<String>,
    /// Administrative state.
    pub admin_state_up: bool,
    /// Owning project.
    pub project_id: String,
    /// The monitored pool (GET only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pools: Option<Vec<IdRef>>,
    /// Provisioning status.
    pub provisioning_status: ProvisioningStatus,
    /// Operating status.
    pub operating_status: OperatingStatus,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// HTTP version of HTTP monitors (a JSON number, `1.0` or `1.1`).
    #[serde(default)]
    pub http_version: Option<serde_json::Number>,
    /// Host header of HTTP monitors.
    #[serde(default)]
    pub domain_name: Option<String>,
    /// Deprecated alias of `project_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Create bodies
// ---------------------------------------------------------------------------------------------

/// `POST /v2/lbaas/loadbalancers` body (inside [`LoadBalancerRoot`]); with `listeners` it is
/// the fully-populated form (listeners → `default_pool` → `members` + `healthmonitor`).
/// Pools inside a fully-populated create must be named (real-octavia README quirk 5).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateLoadBalancer {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Administrative state (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state_up: Option<bool>,
    /// Owning project (needed without Keystone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// VIP subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_subnet_id: Option<String>,
    /// VIP network (first IPv4 subnet is used when no subnet is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_network_id: Option<String>,
    /// An existing port to use as VIP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_port_id: Option<String>,
    /// Requested VIP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_address: Option<String>,
    /// QoS policy for the VIP port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_qos_policy_id: Option<String>,
    /// Provider driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Flavor (Octavia >= 2.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor_id: Option<String>,
    /// Availability zone (Octavia >= 2.14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// Tags (Octavia >= 2.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Listeners of a fully-populated create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listeners: Option<Vec<CreateListener>>,
    /// Pools of a fully-populated create not attached to a listener (or referenced by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pools: Option<Vec<CreatePool>>,
}

/// `POST /v2/lbaas/listeners` body, or a listener inside a fully-populated create.
///
/// The API reference lists `default_pool` (a full pool object) among the create parameters,
/// so a listener create may carry its default pool inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateListener {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Administrative state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state_up: Option<bool>,
    /// Protocol.
    pub protocol: Protocol,
    /// Port.
    pub protocol_port: u16,
    /// Parent load balancer (standalone create only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadbalancer_id: Option<String>,
    /// Owning project (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Maximum connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_limit: Option<i64>,
    /// An existing pool to use as default pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pool_id: Option<String>,
    /// The default pool, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pool: Option<CreatePool>,
    /// Inserted headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert_headers: Option<BTreeMap<String, String>>,
    /// Client inactivity timeout, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_client_data: Option<u32>,
    /// Backend connect timeout, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_member_connect: Option<u32>,
    /// Backend inactivity timeout, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_member_data: Option<u32>,
    /// TCP inspect wait, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_tcp_inspect: Option<u32>,
    /// Allowed source CIDRs (Octavia >= 2.12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_cidrs: Option<Vec<String>>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// TLS certificate reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_tls_container_ref: Option<String>,
    /// SNI certificate references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni_container_refs: Option<Vec<String>>,
}

impl CreateListener {
    /// A listener body with only the required fields.
    pub fn new(protocol: Protocol, protocol_port: u16) -> Self {
        CreateListener {
            name: None,
            description: None,
            admin_state_up: None,
            protocol,
            protocol_port,
            loadbalancer_id: None,
            project_id: None,
            connection_limit: None,
            default_pool_id: None,
            default_pool: None,
            insert_headers: None,
            timeout_client_data: None,
            timeout_member_connect: None,
            timeout_member_data: None,
            timeout_tcp_inspect: None,
            allowed_cidrs: None,
            tags: None,
            default_tls_container_ref: None,
            sni_container_refs: None,
        }
    }
}

/// `POST /v2/lbaas/pools` body, or a pool inside a fully-populated create.
///
/// `protocol` and `lb_algorithm` are optional here only because a fully-populated create may
/// reference a top-level pool by `name` alone; Octavia requires both for a real definition.
/// `members` and `healthmonitor` are honoured inside a fully-populated create (the pool create
/// API reference does not list them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreatePool {
    /// Name; required inside a fully-populated create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Administrative state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state_up: Option<bool>,
    /// Protocol towards members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Balancing algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lb_algorithm: Option<LbAlgorithm>,
    /// The listener whose default pool this becomes (standalone create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_id: Option<String>,
    /// The parent load balancer (standalone create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadbalancer_id: Option<String>,
    /// Owning project (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Session persistence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<SessionPersistence>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Backend re-encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_enabled: Option<bool>,
    /// Members (fully-populated create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<CreateMember>>,
    /// Health monitor (fully-populated create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthmonitor: Option<CreateHealthMonitor>,
}

/// `POST /v2/lbaas/pools/{pool_id}/members` body, a member of a fully-populated create, or
/// one entry of the batch update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateMember {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Address.
    pub address: String,
    /// Port.
    pub protocol_port: u16,
    /// Weight (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// Backup member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<bool>,
    /// Subnet of the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    /// Alternate monitor address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_address: Option<String>,
    /// Alternate monitor port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_port: Option<u16>,
    /// Administrative state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state_up: Option<bool>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Owning project (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

impl CreateMember {
    /// A member body with only the required fields.
    pub fn new(address: impl Into<String>, protocol_port: u16) -> Self {
        CreateMember {
            name: None,
            address: address.into(),
            protocol_port,
            weight: None,
            backup: None,
            subnet_id: None,
            monitor_address: None,
            monitor_port: None,
            admin_state_up: None,
            tags: None,
            project_id: None,
        }
    }
}

/// `POST /v2/lbaas/healthmonitors` body, or the monitor of a fully-populated pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateHealthMonitor {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Probe type.
    #[serde(rename = "type")]
    pub kind: MonitorType,
    /// Seconds between probes.
    pub delay: u32,
    /// Seconds a probe may take.
    pub timeout: u32,
    /// Successes to mark a member up.
    pub max_retries: u8,
    /// Failures to mark a member down (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries_down: Option<u8>,
    /// HTTP method (HTTP monitors; default GET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// URL path (HTTP monitors; default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_path: Option<String>,
    /// Expected codes (HTTP monitors; default `200`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_codes: Option<String>,
    /// Administrative state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state_up: Option<bool>,
    /// The monitored pool (standalone create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// HTTP version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_version: Option<serde_json::Number>,
    /// Host header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// Owning project (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// `PUT /v2/lbaas/pools/{pool_id}/members`: the complete desired member set. Members are
/// matched by (address, port): missing ones are deleted, new ones created, matching ones
/// updated. Octavia answers 202 with an empty body (real-octavia README quirk 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersBatchUpdate {
    /// The desired members.
    pub members: Vec<CreateMember>,
}

// ---------------------------------------------------------------------------------------------
// Update bodies (every field optional; `Option<Option<T>>` where `null` means "clear")
// ---------------------------------------------------------------------------------------------

/// `PUT /v2/lbaas/loadbalancers/{id}` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateLoadBalancer {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Administrative state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state_up: Option<bool>,
    /// QoS policy; `null` removes it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub vip_qos_policy_id: Option<Option<String>>,
    /// Tags (replaces the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `PUT /v2/lbaas/listeners/{id}` body. A `null` timeout resets it to Octavia's default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateListener {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Administrative state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state_up: Option<bool>,
    /// Maximum connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_limit: Option<i64>,
    /// Default pool; `null` detaches it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_pool_id: Option<Option<String>>,
    /// Inserted headers (replaces the map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert_headers: Option<BTreeMap<String, String>>,
    /// Client inactivity timeout; `null` resets to 50000.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_client_data: Option<Option<u32>>,
    /// Backend connect timeout; `null` resets to 5000.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_member_connect: Option<Option<u32>>,
    /// Backend inactivity timeout; `null` resets to 50000.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_member_data: Option<Option<u32>>,
    /// TCP inspect wait; `null` resets to 0.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_tcp_inspect: Option<Option<u32>>,
    /// Allowed source CIDRs; `null` allows everything again.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_cidrs: Option<Option<Vec<String>>>,
    /// Tags (replaces the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `PUT /v2/lbaas/pools/{id}` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdatePool {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Administrative state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state_up: Option<bool>,
    /// Balancing algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lb_algorithm: Option<LbAlgorithm>,
    /// Session persistence; `null` removes it (the pool then shows `null`).
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_persistence: Option<Option<SessionPersistence>>,
    /// Tags (replaces the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Backend re-encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_enabled: Option<bool>,
}

/// `PUT /v2/lbaas/pools/{pool_id}/members/{id}` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateMember {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// Backup member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<bool>,
    /// Administrative state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state_up: Option<bool>,
    /// Alternate monitor address; `null` removes it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub monitor_address: Option<Option<String>>,
    /// Alternate monitor port; `null` removes it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub monitor_port: Option<Option<u16>>,
    /// Tags (replaces the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `PUT /v2/lbaas/healthmonitors/{id}` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateHealthMonitor {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Seconds between probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<u32>,
    /// Seconds a probe may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Successes to mark a member up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u8>,
    /// Failures to mark a member down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries_down: Option<u8>,
    /// HTTP method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// URL path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_path: Option<String>,
    /// Expected codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_codes: Option<String>,
    /// Administrative state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state_up: Option<bool>,
    /// Tags (replaces the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// Status tree
// ---------------------------------------------------------------------------------------------

/// `GET /v2/lbaas/loadbalancers/{id}/status`: `{"statuses": {"loadbalancer": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRoot {
    /// The tree.
    pub statuses: Statuses,
}

/// The `statuses` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statuses {
    /// The load balancer's statuses.
    pub loadbalancer: LoadBalancerStatus,
}

/// Load balancer node of the status tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerStatus {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Operating status.
    pub operating_status: OperatingStatus,
    /// Provisioning status.
    pub provisioning_status: ProvisioningStatus,
    /// Listeners.
    #[serde(default, deserialize_with = "null_as_default")]
    pub listeners: Vec<ListenerStatus>,
}

/// Listener node of the status tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerStatus {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Operating status.
    pub operating_status: OperatingStatus,
    /// Provisioning status.
    pub provisioning_status: ProvisioningStatus,
    /// The listener's pools (its default pool and L7 redirect pools).
    #[serde(default, deserialize_with = "null_as_default")]
    pub pools: Vec<PoolStatus>,
}

/// Pool node of the status tree. The monitor key is `health_monitor`, with an underscore,
/// unlike everywhere else in the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolStatus {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Provisioning status.
    pub provisioning_status: ProvisioningStatus,
    /// Operating status.
    pub operating_status: OperatingStatus,
    /// The monitor, absent when the pool has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_monitor: Option<HealthMonitorStatus>,
    /// Members.
    #[serde(default, deserialize_with = "null_as_default")]
    pub members: Vec<MemberStatus>,
}

/// Health monitor node of the status tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthMonitorStatus {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Probe type.
    #[serde(rename = "type")]
    pub kind: MonitorType,
    /// Provisioning status.
    pub provisioning_status: ProvisioningStatus,
    /// Operating status.
    pub operating_status: OperatingStatus,
}

/// Member node of the status tree; carries address and port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Operating status.
    pub operating_status: OperatingStatus,
    /// Provisioning status.
    pub provisioning_status: ProvisioningStatus,
    /// Member address.
    pub address: String,
    /// Member port.
    pub protocol_port: u16,
}

// ---------------------------------------------------------------------------------------------
// Version discovery, quotas, providers, errors
// ---------------------------------------------------------------------------------------------

/// `GET /` of the Octavia endpoint: every supported version, the newest `CURRENT`. Octavia
/// has no per-request microversion header: it advertises versions but serves one API
/// (real-octavia README, "What works").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionList {
    /// The versions, oldest first.
    pub versions: Vec<Version>,
}

impl VersionList {
    /// The highest parseable version id among the listed versions (`v2.30` → 2.30), whatever
    /// its status; `None` when no id parses.
    pub fn max_version(&self) -> Option<ApiVersion> {
        self.versions
            .iter()
            .filter_map(|v| v.id.parse::<ApiVersion>().ok())
            .max()
    }
}

/// One entry of the version document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// `v2.30`.
    pub id: String,
    /// `CURRENT`, `SUPPORTED` or `DEPRECATED`.
    pub status: String,
    /// Release date, e.g. `2025-02-26T00:00:00Z`.
    #[serde(default)]
    pub updated: Option<String>,
    /// Links; `self` points at the `/v2` root.
    #[serde(default, deserialize_with = "null_as_default")]
    pub links: Vec<Link>,
}

/// An Octavia API version, ordered by (major, minor): `v2.5 < v2.12 < v2.30`. The one version
/// type of kks-lb: the emulator, the adapter's discovery and the planner's capabilities.
/// Displayed as `2.30`; parsed from `v2.30`, `2.30` and `v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ApiVersion {
    /// Major version (2).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl ApiVersion {
    /// `major.minor`.
    pub const fn new(major: u32, minor: u32) -> Self {
        ApiVersion { major, minor }
    }

    /// `2.minor`.
    pub const fn v2(minor: u32) -> Self {
        ApiVersion { major: 2, minor }
    }

    /// `(major, minor)`.
    pub const fn as_tuple(self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// Whether this version is at least `major.minor`.
    pub fn at_least(self, major: u32, minor: u32) -> bool {
        self >= ApiVersion::new(major, minor)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// An unparseable version id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an API version like v2.30")]
pub struct InvalidApiVersion(pub String);

impl FromStr for ApiVersion {
    type Err = InvalidApiVersion;

    /// Parses `v2.30`, `2.30` and `v2` (= 2.0).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidApiVersion(s.to_owned());
        let t = s.strip_prefix('v').unwrap_or(s);
        let (major, minor) = match t.split_once('.') {
            Some((a, b)) => (a, b),
            None => (t, "0"),
        };
        Ok(ApiVersion {
            major: major.parse().map_err(|_| bad())?,
            minor: minor.parse().map_err(|_| bad())?,
        })
    }
}

/// `GET /v2/lbaas/quotas/{project_id}`: `{"quota": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaRoot {
    /// The quota.
    pub quota: Quota,
}

/// A project's quotas; -1 is unlimited. Octavia sends both the deprecated underscore names
/// (`load_balancer`, `health_monitor`) and the newer ones (`loadbalancer`, `healthmonitor`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Quota {
    /// Load balancers (deprecated name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<i64>,
    /// Load balancers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadbalancer: Option<i64>,
    /// Listeners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<i64>,
    /// Members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<i64>,
    /// Pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<i64>,
    /// Health monitors (deprecated name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_monitor: Option<i64>,
    /// Health monitors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthmonitor: Option<i64>,
    /// L7 policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l7policy: Option<i64>,
    /// L7 rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l7rule: Option<i64>,
}

impl Quota {
    /// The load balancer quota under either name.
    pub fn load_balancers(&self) -> Option<i64> {
        self.loadbalancer.or(self.load_balancer)
    }

    /// The health monitor quota under either name.
    pub fn health_monitors(&self) -> Option<i64> {
        self.healthmonitor.or(self.health_monitor)
    }
}

/// `GET /v2/lbaas/providers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderList {
    /// Enabled providers.
    pub providers: Vec<Provider>,
}

/// One provider driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    /// Name, e.g. `amphora` or `ovn`.
    pub name: String,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
}

/// Octavia's (WSME) error body: `{"faultcode": "Client", "faultstring": "...", "debuginfo":
/// null}` (real-octavia README quirk 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// `Client` for 4xx, `Server` for 5xx.
    pub faultcode: String,
    /// The message, e.g. `Load Balancer <id> is immutable and cannot be updated.`
    pub faultstring: String,
    /// Debug information; `null` in production.
    #[serde(default)]
    pub debuginfo: Option<String>,
}

impl Fault {
    /// A fault for `status`: `faultcode` is `Server` for 5xx and `Client` otherwise.
    pub fn new(status: u16, faultstring: impl Into<String>) -> Self {
        Fault {
            faultcode: if status >= 500 { "Server" } else { "Client" }.to_owned(),
            faultstring: faultstring.into(),
            debuginfo: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_order_numerically_not_lexically() {
        let v = |s: &str| s.parse::<ApiVersion>().unwrap();
        assert!(v("v2.5") < v("v2.12"));
        assert!(v("v2.30") > v("2.29"));
        assert_eq!(v("v2"), ApiVersion::new(2, 0));
        assert_eq!(
            v("v2.30").to_string(),
            "2.30",
            "shown as in messages: cloud has 2.30"
        );
        assert!(v("v2.12").at_least(2, 12));
        assert!(!v("v2.11").at_least(2, 12));
        assert!("two".parse::<ApiVersion>().is_err());
        assert!("v2.x".parse::<ApiVersion>().is_err());
    }

    #[test]
    fn update_bodies_distinguish_absent_from_null() {
        let absent: UpdatePool = serde_json::from_str(r#"{"name":"p"}"#).unwrap();
        assert_eq!(absent.session_persistence, None);
        let cleared: UpdatePool = serde_json::from_str(r#"{"session_persistence":null}"#).unwrap();
        assert_eq!(cleared.session_persistence, Some(None));
        assert_eq!(
            serde_json::to_string(&cleared).unwrap(),
            r#"{"session_persistence":null}"#
        );
        assert_eq!(serde_json::to_string(&absent).unwrap(), r#"{"name":"p"}"#);
    }

    #[test]
    fn fault_code_follows_the_status_class() {
        assert_eq!(Fault::new(409, "x").faultcode, "Client");
        assert_eq!(Fault::new(503, "x").faultcode, "Server");
    }
}
