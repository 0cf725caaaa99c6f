//! Floating IPs and their tags: handlers, the `If-Match` revision check, association with a
//! port, create/update and rendering.

use std::net::Ipv4Addr;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::header::IF_MATCH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kks_lb_octavia_model::api::neutron::{
    CreateFloatingIp, FloatingIp, FloatingIpList, FloatingIpRoot, PortDetails, Tags,
    UpdateFloatingIp,
};

use super::super::error::{ApiError, ApiResult};
use super::super::net::TakeError;
use super::super::query::Query;
use super::super::server::{Ctx, json, read_state, with_state};
use super::super::state::{FipRec, State};
use super::{
    Resp, Sh, filtered, fip_not_found, has_attribute, network_not_found, not_allowed_in_post,
    parse, parse_tags_body, port_not_found, tag_not_found, tag_set,
};

pub(super) async fn list_fips(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, _| {
        let q = Query::parse(q.as_deref());
        let mut fips: Vec<&FipRec> = st
            .fips
            .values()
            .filter(|f| ctx.may_see(&f.project_id))
            .collect();
        fips.sort_by_key(|f| f.seq);
        let floatingips = filtered(fips.into_iter().map(|f| st.render_fip(f)), &q, &|_, _| None);
        Ok(json(StatusCode::OK, &FloatingIpList { floatingips }))
    })
}
pub(super) async fn create_fip(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.fip_create(&ctx, &body))
}
pub(super) async fn get_fip(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let f = st.visible_fip(&ctx, &id)?;
        Ok(json(
            StatusCode::OK,
            &FloatingIpRoot {
                floatingip: st.render_fip(f),
            },
        ))
    })
}
pub(super) async fn update_fip(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| {
        let f = st.visible_fip(&ctx, &id)?;
        check_revision(&headers, f.revision)?;
        st.fip_update(&ctx, &id, &body)
    })
}

/// Neutron's `revision_if_match` check: `If-Match: revision_number=N` on a stale revision
/// answers 412 `RevisionNumberConstraintFailed`, and nothing changes.
fn check_revision(headers: &HeaderMap, current: u64) -> ApiResult<()> {
    for value in headers.get_all(IF_MATCH) {
        let Some(wanted) = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().strip_prefix("revision_number="))
        else {
            continue;
        };
        let wanted: u64 = wanted.trim().parse().map_err(|_| {
            ApiError::neutron(
                400,
                "HTTPBadRequest",
                format!("Invalid If-Match revision_number {wanted:?}"),
            )
        })?;
        if wanted != current {
            return Err(ApiError::neutron(
                412,
                "RevisionNumberConstraintFailed",
                format!("Constrained to {wanted}, but current revision is {current}"),
            ));
        }
    }
    Ok(())
}
pub(super) async fn delete_fip(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| {
        st.visible_fip(&ctx, &id)?;
        if let Some(f) = st.fips.remove(&id)
            && let Some(s) = st.subnets.get_mut(&f.subnet_id)
        {
            s.pool.release(f.address);
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}
pub(super) async fn get_tags(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let f = st.visible_fip(&ctx, &id)?;
        Ok(json(
            StatusCode::OK,
            &Tags {
                tags: f.tags.clone(),
            },
        ))
    })
}
pub(super) async fn replace_tags(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| {
        st.visible_fip(&ctx, &id)?;
        let tags = parse_tags_body(&body)?;
        st.set_fip_tags(&id, tags.clone());
        // The answer echoes the request's order; reads list the tags sorted.
        Ok(json(StatusCode::OK, &Tags { tags }))
    })
}
pub(super) async fn clear_tags(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| {
        st.visible_fip(&ctx, &id)?;
        st.set_fip_tags(&id, Vec::new());
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}
pub(super) async fn has_tag(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path((id, tag)): Path<(String, String)>,
) -> Response {
    read_state(&sh, |st, _| {
        if st.visible_fip(&ctx, &id)?.tags.contains(&tag) {
            Ok(StatusCode::NO_CONTENT.into_response())
        } else {
            Err(tag_not_found(&tag))
        }
    })
}
pub(super) async fn add_tag(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path((id, tag)): Path<(String, String)>,
) -> Response {
    with_state(&sh, |st, _| {
        let mut tags = st.visible_fip(&ctx, &id)?.tags.clone();
        tags.push(tag);
        st.set_fip_tags(&id, tags);
        Ok(StatusCode::CREATED.into_response())
    })
}
pub(super) async fn remove_tag(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path((id, tag)): Path<(String, String)>,
) -> Response {
    with_state(&sh, |st, _| {
        let mut tags = st.visible_fip(&ctx, &id)?.tags.clone();
        if !tags.contains(&tag) {
            return Err(tag_not_found(&tag));
        }
        tags.retain(|t| *t != tag);
        st.set_fip_tags(&id, tags);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

impl State {
    fn set_fip_tags(&mut self, id: &str, tags: Vec<String>) -> Vec<String> {
        let now = self.now();
        match self.fips.get_mut(id) {
            Some(f) => {
                f.tags = tag_set(tags);
                f.updated = now;
                f.revision += 1;
                f.tags.clone()
            }
            None => Vec::new(),
        }
    }

    pub(crate) fn render_fip(&self, f: &FipRec) -> FloatingIp {
        let port = f.port_id.as_ref().and_then(|id| self.ports.get(id));
        FloatingIp {
            id: f.id.clone(),
            tenant_id: Some(f.project_id.clone()),
            project_id: f.project_id.clone(),
            floating_ip_address: f.address.to_string(),
            floating_network_id: f.network_id.clone(),
            router_id: port.map(|_| self.fixture.router_id.clone()),
            port_id: f.port_id.clone(),
            fixed_ip_address: f.fixed_ip.map(|ip| ip.to_string()),
            // With an L3 agent an associated floating IP is ACTIVE (the agentless deployment of
            // the README shows DOWN, quirk 12).
            status: if port.is_some() { "ACTIVE" } else { "DOWN" }.to_owned(),
            description: f.description.clone(),
            port_details: port.map(|p| PortDetails {
                name: p.name.clone(),
                network_id: p.network_id.clone(),
                mac_address: p.mac.clone(),
                admin_state_up: true,
                status: "DOWN".to_owned(),
                device_id: p.device_id.clone(),
                device_owner: p.device_owner.clone(),
            }),
            tags: f.tags.clone(),
            created_at: Some(self.clock.neutron(f.created)),
            updated_at: Some(self.clock.neutron(f.updated)),
            revision_number: Some(f.revision),
        }
    }

    /// Checks that `port_id` can get a floating IP: it exists, has an address, and that
    /// address has no floating IP yet. Returns the fixed address.
    fn check_association(
        &self,
        fip_id: Option<&str>,
        fip_address: Option<Ipv4Addr>,
        network_id: &str,
        port_id: &str,
        fixed: Option<&str>,
    ) -> ApiResult<Ipv4Addr> {
        let port = self
            .ports
            .get(port_id)
            .ok_or_else(|| port_not_found(port_id))?;
        let ip = match fixed {
            Some(f) => port
                .fixed_ips
                .iter()
                .find(|(_, ip)| ip.to_string() == f)
                .map(|(_, ip)| *ip)
                .ok_or_else(|| {
                    ApiError::neutron(
                        400,
                        "BadRequest",
                        format!(
                            "Bad floatingip request: Port {port_id} does not have fixed ip {f}."
                        ),
                    )
                })?,
            None => port.fixed_ips.first().map(|(_, ip)| *ip).ok_or_else(|| {
                ApiError::neutron(
                    400,
                    "BadRequest",
                    format!(
                        "Bad floatingip request: Port {port_id} does not have any IP addresses on \
                         a subnet that is reachable from external network {network_id}."
                    ),
                )
            })?,
        };
        let taken = self.fips.values().any(|f| {
            f.port_id.as_deref() == Some(port_id)
                && f.fixed_ip == Some(ip)
                && Some(f.id.as_str()) != fip_id
        });
        if taken {
            return Err(ApiError::neutron(
                409,
                "FloatingIPPortAlreadyAssociated",
                format!(
                    "Cannot associate floating IP {} ({}) with port {port_id} using fixed IP {ip}, \
                     as that fixed IP already has a floating IP on external network {network_id}.",
                    fip_address.map(|a| a.to_string()).unwrap_or_default(),
                    fip_id.unwrap_or_default(),
                ),
            ));
        }
        Ok(ip)
    }

    fn fip_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
        let req: FloatingIpRoot<CreateFloatingIp> = parse(body)?;
        let req = req.floatingip;
        // Neutron 29 refuses tags in the body although `tag-creation` is listed; checked
        // before the project (docs/real-openstack.md).
        if req.tags.is_some() || has_attribute(body, "floatingip", "tags") {
            return Err(not_allowed_in_post("tags"));
        }
        let project = self.post_project(ctx, req.project_id.clone())?;
        let net_id = req.floating_network_id.clone();
        let net = self
            .networks
            .get(&net_id)
            .ok_or_else(|| network_not_found(&net_id))?;
        if !net.external {
            return Err(ApiError::neutron(
                400,
                "BadRequest",
                format!(
                    "Bad floatingip request: Network {net_id} is not a valid external network."
                ),
            ));
        }
        let subnet_id = match &req.subnet_id {
            Some(s) if net.subnets.contains(s) => s.clone(),
            Some(s) => {
                return Err(ApiError::neutron(
                    404,
                    "SubnetNotFound",
                    format!("Subnet {s} could not be found."),
                ));
            }
            None => net.subnets.first().cloned().ok_or_else(|| {
                ApiError::neutron(
                    400,
                    "ExternalIpAddressExhausted",
                    format!("Unable to find any IP address on external network {net_id}."),
                )
            })?,
        };
        let fixed = match &req.port_id {
            Some(port_id) => Some(self.check_association(
                None,
                None,
                &net_id,
                port_id,
                req.fixed_ip_address.as_deref(),
            )?),
            None => None,
        };
        let sub = self.subnets.get_mut(&subnet_id).ok_or_else(|| {
            ApiError::neutron(
                404,
                "SubnetNotFound",
                format!("Subnet {subnet_id} could not be found."),
            )
        })?;
        let address = match &req.floating_ip_address {
            Some(a) => {
                let ip: Ipv4Addr = a.parse().map_err(|_| {
                    ApiError::neutron(
                        400,
                        "InvalidInput",
                        format!("Invalid input for operation: '{a}' is not a valid IP address."),
                    )
                })?;
                match sub.pool.take(ip) {
                    Ok(()) => ip,
                    Err(TakeError::InUse) => {
                        return Err(ApiError::neutron(
                            409,
                            "IpAddressInUse",
                            format!(
                                "Unable to complete operation for network {net_id}. The IP address {ip} is in use."
                            ),
                        ));
                    }
                    Err(TakeError::NotInPool) => {
                        return Err(ApiError::neutron(
                            400,
                            "InvalidIpForNetwork",
                            format!(
                                "IP address {ip} is not a valid IP for any of the subnets on the specified network."
                            ),
                        ));
                    }
                }
            }
            // Neutron turns IpAddressGenerationFailure into ExternalIpAddressExhausted (400)
            // for floating IPs.
            None => sub.pool.allocate().ok_or_else(|| {
                ApiError::neutron(
                    400,
                    "ExternalIpAddressExhausted",
                    format!("Unable to find any IP address on external network {net_id}."),
                )
            })?,
        };
        let id = self.uuid();
        let seq = self.next_seq();
        let now = self.now();
        self.fips.insert(
            id.clone(),
            FipRec {
                seq,
                id: id.clone(),
                project_id: project,
                address,
                network_id: net_id,
                subnet_id,
                port_id: req.port_id.clone(),
                fixed_ip: fixed,
                description: req.description.unwrap_or_default(),
                tags: Vec::new(),
                created: now,
                updated: now,
                revision: 0,
            },
        );
        let f = self.fips.get(&id).ok_or_else(|| fip_not_found(&id))?;
        Ok(json(
            StatusCode::CREATED,
            &FloatingIpRoot {
                floatingip: self.render_fip(f),
            },
        ))
    }

    fn fip_update(&mut self, ctx: &Ctx, id: &str, body: &[u8]) -> Resp {
        let f = self.visible_fip(ctx, id)?;
        let (address, net_id) = (f.address, f.network_id.clone());
        let req: FloatingIpRoot<UpdateFloatingIp> = parse(body)?;
        let req = req.floatingip;
        if has_attribute(body, "floatingip", "tags") {
            return Err(ApiError::neutron(
                400,
                "HTTPBadRequest",
                "Cannot update read-only attribute tags",
            ));
        }
        let association = match &req.port_id {
            Some(Some(port_id)) => {
                let fixed = req.fixed_ip_address.clone().flatten();
                let ip = self.check_association(
                    Some(id),
                    Some(address),
                    &net_id,
                    port_id,
                    fixed.as_deref(),
                )?;
                Some(Some((port_id.clone(), ip)))
            }
            Some(None) => Some(None),
            None => None,
        };
        let now = self.now();
        if let Some(f) = self.fips.get_mut(id) {
            match association {
                Some(Some((port, ip))) => {
                    f.port_id = Some(port);
                    f.fixed_ip = Some(ip);
                }
                Some(None) => {
                    f.port_id = None;
                    f.fixed_ip = None;
                }
                None => {}
            }
            if let Some(d) = req.description {
                f.description = d;
            }
            f.updated = now;
            f.revision += 1;
        }
        let f = self.visible_fip(ctx, id)?;
        Ok(json(
            StatusCode::OK,
            &FloatingIpRoot {
                floatingip: self.render_fip(f),
            },
        ))
    }
}
