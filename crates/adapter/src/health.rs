//! Member health: the status tree of one load balancer
//! (`GET /v2/lbaas/loadbalancers/{id}/status`), one call for every member's operating status
//! with its address and port.
//!
//! The controller reads it only when the load balancer's own `operating_status` (which the
//! drift check's list already shows) is not `ONLINE`: a healthy load balancer costs no call.

use kks_lb_octavia_model::OperatingStatus;
use kks_lb_octavia_model::api::octavia::{LoadBalancerStatus, StatusRoot};
use reqwest::Method;

use crate::client::OpenStackClient;
use crate::error::{Error, Result, Service};

/// One pool member as the status tree shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// The listener whose pool holds the member.
    pub listener_id: String,
    /// Member address (a node's address).
    pub address: String,
    /// Member port (the Service's node port).
    pub protocol_port: u16,
    /// What Octavia reports: `ONLINE`, `OFFLINE`, `ERROR`, `DRAINING`, or `NO_MONITOR` when
    /// the pool has no health monitor.
    pub operating: OperatingStatus,
    /// Whether a health monitor checks the member's pool.
    pub monitored: bool,
}

/// The load balancer's operating status and every member of every listener's pools, in
/// tree order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatuses {
    /// The load balancer's operating status.
    pub loadbalancer: OperatingStatus,
    /// The members.
    pub members: Vec<MemberState>,
}

impl MemberStatuses {
    /// Flattens a status tree.
    pub fn of(tree: &LoadBalancerStatus) -> Self {
        let mut members = Vec::new();
        for l in &tree.listeners {
            for p in &l.pools {
                let monitored = p.health_monitor.is_some();
                members.extend(p.members.iter().map(|m| MemberState {
                    listener_id: l.id.clone(),
                    address: m.address.clone(),
                    protocol_port: m.protocol_port,
                    operating: m.operating_status,
                    monitored,
                }));
            }
        }
        MemberStatuses {
            loadbalancer: tree.operating_status,
            members,
        }
    }
}

/// Reads the status tree of load balancer `id`: one `GET .../loadbalancers/{id}/status`.
///
/// # Errors
/// API errors (404 when the load balancer is gone) and decode errors.
pub async fn member_statuses(client: &OpenStackClient, id: &str) -> Result<MemberStatuses> {
    let reply = client
        .call(
            Service::Octavia,
            Method::GET,
            &["lbaas", "loadbalancers", id, "status"],
            &[],
            None,
        )
        .await?;
    let root: StatusRoot = serde_json::from_value(reply.body).map_err(|e| Error::Decode {
        what: "load balancer status tree".into(),
        message: e.to_string(),
    })?;
    Ok(MemberStatuses::of(&root.statuses.loadbalancer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_tree_flattens_to_members_with_their_pools_monitoring() {
        let tree: StatusRoot = serde_json::from_value(serde_json::json!({"statuses": {
            "loadbalancer": {"id": "lb", "name": "n", "operating_status": "DEGRADED",
                "provisioning_status": "ACTIVE", "listeners": [
                {"id": "l1", "name": "listener_TCP_80_kube_service_c_ns_web",
                 "operating_status": "DEGRADED", "provisioning_status": "ACTIVE", "pools": [
                    {"id": "p1", "name": "pool", "operating_status": "DEGRADED",
                     "provisioning_status": "ACTIVE",
                     "health_monitor": {"id": "h", "name": "", "type": "TCP",
                        "operating_status": "ONLINE", "provisioning_status": "ACTIVE"},
                     "members": [
                        {"id": "m1", "name": "node-1", "operating_status": "ONLINE",
                         "provisioning_status": "ACTIVE", "address": "10.0.0.11",
                         "protocol_port": 30080},
                        {"id": "m2", "name": "node-2", "operating_status": "ERROR",
                         "provisioning_status": "ACTIVE", "address": "10.0.0.12",
                         "protocol_port": 30080}]}]},
                {"id": "l2", "name": "custom", "operating_status": "ONLINE",
                 "provisioning_status": "ACTIVE", "pools": [
                    {"id": "p2", "name": "pool2", "operating_status": "ONLINE",
                     "provisioning_status": "ACTIVE", "members": [
                        {"id": "m3", "name": "node-1", "operating_status": "NO_MONITOR",
                         "provisioning_status": "ACTIVE", "address": "10.0.0.11",
                         "protocol_port": 30053}]}]}]}}}))
        .unwrap();
        let s = MemberStatuses::of(&tree.statuses.loadbalancer);
        assert_eq!(s.loadbalancer, OperatingStatus::Degraded);
        let seen: Vec<(&str, &str, u16, OperatingStatus, bool)> = s
            .members
            .iter()
            .map(|m| {
                (
                    m.listener_id.as_str(),
                    m.address.as_str(),
                    m.protocol_port,
                    m.operating,
                    m.monitored,
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                ("l1", "10.0.0.11", 30080, OperatingStatus::Online, true),
                ("l1", "10.0.0.12", 30080, OperatingStatus::Error, true),
                ("l2", "10.0.0.11", 30053, OperatingStatus::NoMonitor, false),
            ]
        );
    }
}
