//! Ports: handlers, creation with address allocation, and rendering.

use std::net::Ipv4Addr;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kks_lb_octavia_model::api::neutron::{CreatePort, FixedIp, Port, PortList, PortRoot};

use super::super::error::{ApiError, ApiResult};
use super::super::net::TakeError;
use super::super::query::Query;
use super::super::server::{Ctx, json, read_state, with_state};
use super::super::state::{PortRec, State};
use super::{Resp, Sh, fixed_ips_filter, network_not_found, parse, port_not_found, to_value};

pub(super) async fn list_ports(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, _| {
        let q = Query::parse(q.as_deref());
        let mut ports: Vec<&PortRec> = st
            .ports
            .values()
            .filter(|p| ctx.may_see(&p.project_id))
            .collect();
        ports.sort_by_key(|p| p.seq);
        let ports = ports
            .into_iter()
            .filter_map(|p| {
                let r = st.render_port(p);
                q.matches(&to_value(&r), &fixed_ips_filter(p)).then_some(r)
            })
            .collect();
        Ok(json(StatusCode::OK, &PortList { ports }))
    })
}
pub(super) async fn create_port(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.port_create(&ctx, &body))
}
pub(super) async fn get_port(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let p = st.visible_port(&ctx, &id)?;
        Ok(json(
            StatusCode::OK,
            &PortRoot {
                port: st.render_port(p),
            },
        ))
    })
}
pub(super) async fn delete_port(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| {
        st.visible_port(&ctx, &id)?;
        st.delete_port(&id);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

impl State {
    pub(crate) fn render_port(&self, p: &PortRec) -> Port {
        Port {
            id: p.id.clone(),
            name: p.name.clone(),
            network_id: p.network_id.clone(),
            tenant_id: Some(p.project_id.clone()),
            project_id: p.project_id.clone(),
            mac_address: p.mac.clone(),
            admin_state_up: true,
            // No agents bind ports (real-octavia README quirk 12).
            status: "DOWN".to_owned(),
            device_id: p.device_id.clone(),
            device_owner: p.device_owner.clone(),
            fixed_ips: p
                .fixed_ips
                .iter()
                .map(|(s, ip)| FixedIp {
                    subnet_id: s.clone(),
                    ip_address: ip.to_string(),
                })
                .collect(),
            description: p.description.clone(),
            security_groups: Vec::new(),
            tags: p.tags.clone(),
            created_at: Some(self.clock.neutron(p.created)),
            updated_at: Some(self.clock.neutron(p.updated)),
            revision_number: Some(p.revision),
        }
    }

    fn port_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
        let req: PortRoot<CreatePort> = parse(body)?;
        let req = req.port;
        let project = self.post_project(ctx, req.project_id.clone())?;
        let net = self
            .networks
            .get(&req.network_id)
            .ok_or_else(|| network_not_found(&req.network_id))?;
        let wanted = req
            .fixed_ips
            .clone()
            .unwrap_or_else(|| vec![Default::default()]);
        let first_subnet = net.subnets.first().cloned();
        let mut fixed = Vec::new();
        for w in wanted {
            let subnet_id = match w.subnet_id.or_else(|| first_subnet.clone()) {
                Some(s) => s,
                None => continue,
            };
            match self.take_address(&req.network_id, &subnet_id, w.ip_address.as_deref()) {
                Ok(ip) => fixed.push((subnet_id, ip)),
                Err(e) => {
                    for (s, ip) in fixed {
                        if let Some(sub) = self.subnets.get_mut(&s) {
                            sub.pool.release(ip);
                        }
                    }
                    return Err(e);
                }
            }
        }
        let id = self.uuid();
        let mac = self.mac();
        let seq = self.next_seq();
        let now = self.now();
        self.ports.insert(
            id.clone(),
            PortRec {
                seq,
                id: id.clone(),
                name: req.name.unwrap_or_default(),
                network_id: req.network_id.clone(),
                project_id: project,
                mac,
                device_id: req.device_id.unwrap_or_default(),
                device_owner: req.device_owner.unwrap_or_default(),
                description: req.description.unwrap_or_default(),
                fixed_ips: fixed,
                tags: Vec::new(),
                created: now,
                updated: now,
                revision: 0,
            },
        );
        let p = self.ports.get(&id).ok_or_else(|| port_not_found(&id))?;
        Ok(json(
            StatusCode::CREATED,
            &PortRoot {
                port: self.render_port(p),
            },
        ))
    }

    /// An address from a subnet for a port: Neutron's `IpAddressGenerationFailure` (409) when
    /// the subnet is exhausted, `IpAddressAlreadyAllocated` (409) / `InvalidIpForSubnet` (400)
    /// for a specific address.
    fn take_address(
        &mut self,
        network_id: &str,
        subnet_id: &str,
        ip: Option<&str>,
    ) -> ApiResult<Ipv4Addr> {
        let sub = self
            .subnets
            .get_mut(subnet_id)
            .filter(|s| s.network_id == network_id)
            .ok_or_else(|| {
                ApiError::neutron(
                    404,
                    "SubnetNotFound",
                    format!("Subnet {subnet_id} could not be found."),
                )
            })?;
        match ip {
            None => sub.pool.allocate().ok_or_else(|| {
                ApiError::neutron(
                    409,
                    "IpAddressGenerationFailure",
                    format!("No more IP addresses available on network {network_id}."),
                )
            }),
            Some(a) => {
                let ip: Ipv4Addr = a.parse().map_err(|_| {
                    ApiError::neutron(
                        400,
                        "InvalidInput",
                        format!("Invalid input for operation: '{a}' is not a valid IP address."),
                    )
                })?;
                match sub.pool.take(ip) {
                    Ok(()) => Ok(ip),
                    Err(TakeError::InUse) => Err(ApiError::neutron(
                        409,
                        "IpAddressAlreadyAllocated",
                        format!("IP address {ip} already allocated in subnet {subnet_id}"),
                    )),
                    Err(TakeError::NotInPool) => Err(ApiError::neutron(
                        400,
                        "InvalidIpForSubnet",
                        format!("IP address {ip} is not a valid IP for the specified subnet."),
                    )),
                }
            }
        }
    }
}
