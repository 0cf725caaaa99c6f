//! Neutron v2.0 wire types: floating IPs, ports, subnets, networks, tags and errors.
//!
//! Shapes follow Neutron 29.0.0 (`samples/octavia/neutron_fip_create.json`) and the Neutron
//! API reference. Neutron timestamps end in `Z` (`2026-11-26T14:38:21Z`), unlike Octavia's.

use serde::{Deserialize, Serialize};

use super::{double_option, null_as_default};

// ---------------------------------------------------------------------------------------------
// Floating IPs
// ---------------------------------------------------------------------------------------------

/// A floating IP as Neutron returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloatingIp {
    /// Id.
    pub id: String,
    /// Deprecated alias of `project_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Owning project.
    pub project_id: String,
    /// The public address.
    pub floating_ip_address: String,
    /// External network the address belongs to.
    pub floating_network_id: String,
    /// Router doing the NAT; `null` when not associated.
    #[serde(default)]
    pub router_id: Option<String>,
    /// Associated port; `null` when not associated.
    #[serde(default)]
    pub port_id: Option<String>,
    /// Fixed address of the associated port.
    #[serde(default)]
    pub fixed_ip_address: Option<String>,
    /// `ACTIVE`, `DOWN` or `ERROR`.
    pub status: String,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Summary of the associated port (`fip-port-details` extension); `null` when not
    /// associated.
    #[serde(default)]
    pub port_details: Option<PortDetails>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Creation time (`...Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last update time (`...Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Revision, incremented on every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_number: Option<u64>,
}

/// `port_details` of a floating IP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortDetails {
    /// Port name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Port network.
    pub network_id: String,
    /// MAC address.
    pub mac_address: String,
    /// Administrative state.
    pub admin_state_up: bool,
    /// Port status.
    pub status: String,
    /// Device using the port.
    #[serde(default, deserialize_with = "null_as_default")]
    pub device_id: String,
    /// Device owner, e.g. `Octavia`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub device_owner: String,
}

/// `{"floatingip": T}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloatingIpRoot<T> {
    /// The wrapped object.
    pub floatingip: T,
}

/// `GET /v2.0/floatingips`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloatingIpList {
    /// The floating IPs.
    pub floatingips: Vec<FloatingIp>,
}

/// `POST /v2.0/floatingips` body. Giving `port_id` creates and associates in one call.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateFloatingIp {
    /// External network to allocate from.
    pub floating_network_id: String,
    /// Port to associate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_id: Option<String>,
    /// Fixed address of the port to associate (when it has several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_ip_address: Option<String>,
    /// A specific public address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floating_ip_address: Option<String>,
    /// A specific external subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags at creation (`tag-creation` extension); otherwise set them with the tags API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Owning project (required by Neutron without Keystone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// `PUT /v2.0/floatingips/{id}` body. `port_id: null` disassociates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateFloatingIp {
    /// Port to associate; `null` disassociates.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub port_id: Option<Option<String>>,
    /// Fixed address of the port.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub fixed_ip_address: Option<Option<String>>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/// One fixed IP of a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIp {
    /// Subnet.
    pub subnet_id: String,
    /// Address.
    pub ip_address: String,
}

/// A port as Neutron returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    /// Id.
    pub id: String,
    /// Name (Octavia names VIP ports `octavia-lb-<lb id>`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Network.
    pub network_id: String,
    /// Deprecated alias of `project_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Owning project.
    pub project_id: String,
    /// MAC address.
    pub mac_address: String,
    /// Administrative state.
    pub admin_state_up: bool,
    /// `ACTIVE`, `DOWN`, `BUILD` or `ERROR`.
    pub status: String,
    /// Device using the port (`lb-<lb id>` for Octavia VIPs).
    #[serde(default, deserialize_with = "null_as_default")]
    pub device_id: String,
    /// Device owner (`Octavia` for VIPs).
    #[serde(default, deserialize_with = "null_as_default")]
    pub device_owner: String,
    /// Fixed IPs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub fixed_ips: Vec<FixedIp>,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Security groups.
    #[serde(default, deserialize_with = "null_as_default")]
    pub security_groups: Vec<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last update time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_number: Option<u64>,
}

/// `{"port": T}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRoot<T> {
    /// The wrapped object.
    pub port: T,
}

/// `GET /v2.0/ports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortList {
    /// The ports.
    pub ports: Vec<Port>,
}

/// A requested fixed IP of a port create.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestedFixedIp {
    /// Subnet to allocate from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    /// Specific address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// `POST /v2.0/ports` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreatePort {
    /// Network.
    pub network_id: String,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Requested fixed IPs; one from the first subnet when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_ips: Option<Vec<RequestedFixedIp>>,
    /// Device id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Device owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_owner: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Owning project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Subnets and networks
// ---------------------------------------------------------------------------------------------

/// An allocation pool of a subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationPool {
    /// First address.
    pub start: String,
    /// Last address.
    pub end: String,
}

/// A subnet as Neutron returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Network.
    pub network_id: String,
    /// Deprecated alias of `project_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Owning project.
    pub project_id: String,
    /// 4 or 6.
    pub ip_version: u8,
    /// CIDR.
    pub cidr: String,
    /// Gateway.
    #[serde(default)]
    pub gateway_ip: Option<String>,
    /// Allocation pools.
    #[serde(default, deserialize_with = "null_as_default")]
    pub allocation_pools: Vec<AllocationPool>,
    /// DHCP enabled.
    #[serde(default)]
    pub enable_dhcp: bool,
    /// DNS servers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns_nameservers: Vec<String>,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last update time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_number: Option<u64>,
}

/// `{"subnet": T}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetRoot<T> {
    /// The wrapped object.
    pub subnet: T,
}

/// `GET /v2.0/subnets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetList {
    /// The subnets.
    pub subnets: Vec<Subnet>,
}

/// A network as Neutron returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Deprecated alias of `project_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Owning project.
    pub project_id: String,
    /// `ACTIVE` etc.
    pub status: String,
    /// Administrative state.
    pub admin_state_up: bool,
    /// Subnet ids.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subnets: Vec<String>,
    /// Whether floating IPs can be allocated from it.
    #[serde(rename = "router:external", default)]
    pub router_external: bool,
    /// Shared with other projects.
    #[serde(default)]
    pub shared: bool,
    /// MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last update time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_number: Option<u64>,
}

/// `{"network": T}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRoot<T> {
    /// The wrapped object.
    pub network: T,
}

/// `GET /v2.0/networks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkList {
    /// The networks.
    pub networks: Vec<Network>,
}

/// `PUT /v2.0/{resources}/{id}/tags` body and `GET .../tags` response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tags {
    /// The complete tag list.
    pub tags: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Network IP availability (admin by default policy)
// ---------------------------------------------------------------------------------------------

/// The `network_ip_availability_details` extension's counts: the whole subnet (without
/// network and broadcast addresses) and its allocation pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IpAvailabilityDetails {
    /// Addresses of the subnet (a /29: 6).
    pub total_ips_in_subnet: u64,
    /// Addresses of the allocation pools (a /29 with its gateway: 5).
    pub total_ips_in_allocation_pool: u64,
    /// Allocated addresses anywhere in the subnet.
    pub used_ips_in_subnet: u64,
    /// Allocated addresses inside the allocation pools.
    pub used_ips_in_allocation_pool: u64,
}

/// One subnet of a [`NetworkIpAvailability`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetIpAvailability {
    /// Subnet.
    pub subnet_id: String,
    /// 4 or 6.
    pub ip_version: u8,
    /// CIDR.
    pub cidr: String,
    /// Subnet name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subnet_name: String,
    /// Allocated addresses (in the allocation pools).
    pub used_ips: u64,
    /// Addresses of the allocation pools.
    pub total_ips: u64,
    /// Finer counts (Neutron with `network_ip_availability_details`, 2024.1 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_availability_details: Option<IpAvailabilityDetails>,
}

/// `GET /v2.0/network-ip-availabilities/{network_id}`: address usage of a network, per
/// subnet. Admin (or service role) only by default policy: other callers get 404 for the
/// single network and an empty list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkIpAvailability {
    /// Network.
    pub network_id: String,
    /// Network name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub network_name: String,
    /// Owning project.
    pub project_id: String,
    /// Deprecated alias of `project_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Per subnet.
    #[serde(default, deserialize_with = "null_as_default")]
    pub subnet_ip_availability: Vec<SubnetIpAvailability>,
    /// Allocated addresses of all subnets.
    pub used_ips: u64,
    /// Addresses of all subnets' allocation pools.
    pub total_ips: u64,
    /// Finer counts of all subnets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_availability_details: Option<IpAvailabilityDetails>,
}

/// `{"network_ip_availability": T}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkIpAvailabilityRoot<T> {
    /// The wrapped object.
    pub network_ip_availability: T,
}

/// `GET /v2.0/network-ip-availabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkIpAvailabilityList {
    /// One per network the caller may see.
    pub network_ip_availabilities: Vec<NetworkIpAvailability>,
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Neutron's error body: `{"NeutronError": {"type", "message", "detail"}}` (real-octavia
/// README quirk 9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeutronErrorBody {
    /// The error.
    #[serde(rename = "NeutronError")]
    pub error: NeutronError,
}

/// The inner Neutron error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeutronError {
    /// Exception class, e.g. `IpAddressGenerationFailure`, `FloatingIPNotFound`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable message.
    pub message: String,
    /// Detail; usually `""`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub detail: String,
}

impl NeutronErrorBody {
    /// An error of class `kind` with `message` and an empty detail.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        NeutronErrorBody {
            error: NeutronError {
                kind: kind.into(),
                message: message.into(),
                detail: String::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disassociate_serializes_port_id_null() {
        let body = FloatingIpRoot {
            floatingip: UpdateFloatingIp {
                port_id: Some(None),
                ..Default::default()
            },
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"floatingip":{"port_id":null}}"#
        );
        let back: FloatingIpRoot<UpdateFloatingIp> =
            serde_json::from_str(r#"{"floatingip":{"port_id":null}}"#).unwrap();
        assert_eq!(back.floatingip.port_id, Some(None));
    }

    #[test]
    fn network_external_flag_uses_neutron_colon_name() {
        let n: Network = serde_json::from_str(
            r#"{"id":"n","project_id":"p","status":"ACTIVE","admin_state_up":true,"router:external":true}"#,
        )
        .unwrap();
        assert!(n.router_external);
        assert_eq!(serde_json::to_value(&n).unwrap()["router:external"], true);
    }
}
