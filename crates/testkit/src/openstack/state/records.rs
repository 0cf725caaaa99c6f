//! The records of the emulated objects: Octavia load balancers and their children with
//! their pending operations, Neutron networks, subnets, ports and floating IPs, Keystone
//! tokens.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use kks_lb_octavia_model::api::octavia::SessionPersistence;
use kks_lb_octavia_model::{
    LbAlgorithm, MonitorType, OperatingStatus, Protocol, ProvisioningStatus,
};
use tokio::time::Instant;

use super::super::net::AddressPool;

/// Kind of a load balancer's pending operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    Update,
    Delete,
}

/// A pending operation: due at `ready_at`, ends in ERROR when `fail`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub(crate) op: Op,
    pub(crate) ready_at: Instant,
    pub(crate) fail: bool,
}

/// A load balancer.
#[derive(Debug, Clone)]
pub(crate) struct LbRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) admin_state_up: bool,
    pub(crate) provider: String,
    pub(crate) flavor_id: Option<String>,
    pub(crate) availability_zone: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) vip_address: String,
    pub(crate) vip_port_id: String,
    pub(crate) vip_subnet_id: String,
    pub(crate) vip_network_id: String,
    pub(crate) vip_qos_policy_id: Option<String>,
    /// Whether Octavia created (and so deletes) the VIP port.
    pub(crate) owns_vip_port: bool,
    pub(crate) prov: ProvisioningStatus,
    pub(crate) oper: OperatingStatus,
    pub(crate) created: Instant,
    pub(crate) updated: Option<Instant>,
    pub(crate) pending: Option<Pending>,
    pub(crate) listeners: Vec<String>,
    pub(crate) pools: Vec<String>,
}

/// A listener.
#[derive(Debug, Clone)]
pub(crate) struct ListenerRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) lb_id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) admin_state_up: bool,
    pub(crate) protocol: Protocol,
    pub(crate) protocol_port: u16,
    pub(crate) connection_limit: i64,
    pub(crate) default_pool_id: Option<String>,
    pub(crate) insert_headers: BTreeMap<String, String>,
    pub(crate) timeout_client_data: u32,
    pub(crate) timeout_member_connect: u32,
    pub(crate) timeout_member_data: u32,
    pub(crate) timeout_tcp_inspect: u32,
    pub(crate) allowed_cidrs: Option<Vec<String>>,
    pub(crate) tags: Vec<String>,
    pub(crate) prov: ProvisioningStatus,
    pub(crate) oper: OperatingStatus,
    pub(crate) created: Instant,
    pub(crate) updated: Option<Instant>,
}

/// A pool.
#[derive(Debug, Clone)]
pub(crate) struct PoolRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) lb_id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) admin_state_up: bool,
    pub(crate) protocol: Protocol,
    pub(crate) lb_algorithm: LbAlgorithm,
    pub(crate) session_persistence: Option<SessionPersistence>,
    pub(crate) tags: Vec<String>,
    pub(crate) tls_enabled: bool,
    pub(crate) members: Vec<String>,
    pub(crate) hm_id: Option<String>,
    pub(crate) prov: ProvisioningStatus,
    pub(crate) oper: OperatingStatus,
    pub(crate) created: Instant,
    pub(crate) updated: Option<Instant>,
}

/// A member.
#[derive(Debug, Clone)]
pub(crate) struct MemberRec {
    pub(crate) id: String,
    pub(crate) pool_id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) admin_state_up: bool,
    pub(crate) address: String,
    pub(crate) protocol_port: u16,
    pub(crate) weight: u16,
    pub(crate) backup: bool,
    pub(crate) subnet_id: Option<String>,
    pub(crate) monitor_address: Option<String>,
    pub(crate) monitor_port: Option<u16>,
    pub(crate) tags: Vec<String>,
    pub(crate) prov: ProvisioningStatus,
    pub(crate) oper: OperatingStatus,
    pub(crate) created: Instant,
    pub(crate) updated: Option<Instant>,
}

/// A health monitor.
#[derive(Debug, Clone)]
pub(crate) struct HmRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) pool_id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) kind: MonitorType,
    pub(crate) delay: u32,
    pub(crate) timeout: u32,
    pub(crate) max_retries: u8,
    pub(crate) max_retries_down: u8,
    pub(crate) http_method: Option<String>,
    pub(crate) url_path: Option<String>,
    pub(crate) expected_codes: Option<String>,
    pub(crate) http_version: Option<serde_json::Number>,
    pub(crate) domain_name: Option<String>,
    pub(crate) admin_state_up: bool,
    pub(crate) tags: Vec<String>,
    pub(crate) prov: ProvisioningStatus,
    pub(crate) oper: OperatingStatus,
    pub(crate) created: Instant,
    pub(crate) updated: Option<Instant>,
}

/// A Neutron network.
#[derive(Debug, Clone)]
pub(crate) struct NetworkRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) project_id: String,
    pub(crate) external: bool,
    pub(crate) subnets: Vec<String>,
    pub(crate) created: Instant,
}

/// A Neutron subnet with its address accounting.
#[derive(Debug, Clone)]
pub(crate) struct SubnetRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) network_id: String,
    pub(crate) project_id: String,
    pub(crate) pool: AddressPool,
    pub(crate) created: Instant,
}

/// A Neutron port.
#[derive(Debug, Clone)]
pub(crate) struct PortRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) network_id: String,
    pub(crate) project_id: String,
    pub(crate) mac: String,
    pub(crate) device_id: String,
    pub(crate) device_owner: String,
    pub(crate) description: String,
    pub(crate) fixed_ips: Vec<(String, Ipv4Addr)>,
    pub(crate) tags: Vec<String>,
    pub(crate) created: Instant,
    pub(crate) updated: Instant,
    pub(crate) revision: u64,
}

/// A Neutron floating IP.
#[derive(Debug, Clone)]
pub(crate) struct FipRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) project_id: String,
    pub(crate) address: Ipv4Addr,
    pub(crate) network_id: String,
    pub(crate) subnet_id: String,
    pub(crate) port_id: Option<String>,
    pub(crate) fixed_ip: Option<Ipv4Addr>,
    pub(crate) description: String,
    pub(crate) tags: Vec<String>,
    pub(crate) created: Instant,
    pub(crate) updated: Instant,
    pub(crate) revision: u64,
}

/// An issued token.
#[derive(Debug, Clone)]
pub(crate) struct TokenRec {
    pub(crate) project_id: String,
    pub(crate) expires_at: Instant,
    pub(crate) body: kks_lb_octavia_model::api::keystone::TokenResponse,
}
