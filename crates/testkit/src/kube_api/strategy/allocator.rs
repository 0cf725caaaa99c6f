//! Cluster-wide allocations a Service write must respect: NodePorts and ClusterIPs.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// First and last NodePort of the default service-node-port-range.
pub(crate) const NODE_PORT_MIN: u16 = 30000;
/// Last NodePort of the default service-node-port-range.
pub(crate) const NODE_PORT_MAX: u16 = 32767;
pub(super) const SERVICE_CIDR_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
pub(super) const SERVICE_CIDR_SIZE: u32 = 1 << 20;

/// Cluster-wide allocations a Service write must respect.
#[derive(Debug)]
pub(crate) struct Allocator {
    /// NodePorts (incl. health-check NodePorts) used by other Services.
    pub used_ports: BTreeSet<i64>,
    /// ClusterIPs used by other Services.
    pub used_ips: BTreeSet<String>,
    /// Rotating cursors, kept by the store so freed values are not reused at once.
    pub next_port: u16,
    pub next_ip: u32,
}

impl Allocator {
    pub(super) fn node_port(&mut self) -> Option<i64> {
        let span = u32::from(NODE_PORT_MAX - NODE_PORT_MIN) + 1;
        for _ in 0..span {
            let candidate = i64::from(self.next_port);
            self.next_port = if self.next_port >= NODE_PORT_MAX {
                NODE_PORT_MIN
            } else {
                self.next_port + 1
            };
            if self.used_ports.insert(candidate) {
                return Some(candidate);
            }
        }
        None
    }

    pub(super) fn cluster_ip(&mut self) -> Option<String> {
        for _ in 0..SERVICE_CIDR_SIZE {
            let offset = self.next_ip;
            self.next_ip = if offset + 2 >= SERVICE_CIDR_SIZE {
                10
            } else {
                offset + 1
            };
            let ip = Ipv4Addr::from(SERVICE_CIDR_BASE + offset).to_string();
            if self.used_ips.insert(ip.clone()) {
                return Some(ip);
            }
        }
        None
    }
}
