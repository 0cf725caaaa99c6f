//! Networks and subnets (the fixture's, plus IPv4 ones a caller creates and deletes) and the
//! network IP availability API: handlers, create/delete and rendering.

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kks_lb_octavia_model::api::neutron::{
    AllocationPool, IpAvailabilityDetails, Network, NetworkIpAvailability,
    NetworkIpAvailabilityList, NetworkIpAvailabilityRoot, NetworkList, NetworkRoot, Subnet,
    SubnetIpAvailability, SubnetList, SubnetRoot,
};
use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::query::Query;
use super::super::server::{Ctx, json, read_state, with_state};
use super::super::state::{NetworkRec, State, SubnetRec};
use super::{Resp, Sh, filtered, network_not_found, parse};

pub(super) async fn list_networks(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, _| {
        let q = Query::parse(q.as_deref());
        let mut nets: Vec<&NetworkRec> = st
            .networks
            .values()
            .filter(|n| n.external || ctx.may_see(&n.project_id))
            .collect();
        nets.sort_by_key(|n| n.seq);
        let networks = filtered(
            nets.into_iter().map(|n| st.render_network(n)),
            &q,
            &|_, _| None,
        );
        Ok(json(StatusCode::OK, &NetworkList { networks }))
    })
}
pub(super) async fn get_network(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let n = st
            .networks
            .get(&id)
            .filter(|n| n.external || ctx.may_see(&n.project_id))
            .ok_or_else(|| network_not_found(&id))?;
        Ok(json(
            StatusCode::OK,
            &NetworkRoot {
                network: st.render_network(n),
            },
        ))
    })
}
pub(super) async fn list_subnets(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, _| {
        let q = Query::parse(q.as_deref());
        let mut subs: Vec<&SubnetRec> = st
            .subnets
            .values()
            .filter(|s| st.subnet_visible(&ctx, s))
            .collect();
        subs.sort_by_key(|s| s.seq);
        let subnets = filtered(
            subs.into_iter().map(|s| st.render_subnet(s)),
            &q,
            &|_, _| None,
        );
        Ok(json(StatusCode::OK, &SubnetList { subnets }))
    })
}
pub(super) async fn get_subnet(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let s = st
            .subnets
            .get(&id)
            .filter(|s| st.subnet_visible(&ctx, s))
            .ok_or_else(|| {
                ApiError::neutron(
                    404,
                    "SubnetNotFound",
                    format!("Subnet {id} could not be found."),
                )
            })?;
        Ok(json(
            StatusCode::OK,
            &SubnetRoot {
                subnet: st.render_subnet(s),
            },
        ))
    })
}
pub(super) async fn create_network(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.network_create(&ctx, &body))
}
pub(super) async fn delete_network(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| st.network_delete(&ctx, &id))
}
pub(super) async fn create_subnet(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.subnet_create(&ctx, &body))
}
pub(super) async fn delete_subnet(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| st.subnet_delete(&ctx, &id))
}
pub(super) async fn list_availabilities(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    with_state(&sh, |st, _| {
        let q = Query::parse(q.as_deref());
        let mut nets: Vec<&NetworkRec> = st.networks.values().filter(|_| ctx.admin).collect();
        nets.sort_by_key(|n| n.seq);
        let network_ip_availabilities = filtered(
            nets.into_iter().map(|n| st.render_availability(n)),
            &q,
            &|_, _| None,
        );
        Ok(json(
            StatusCode::OK,
            &NetworkIpAvailabilityList {
                network_ip_availabilities,
            },
        ))
    })
}
pub(super) async fn get_availability(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| {
        let n = st.networks.get(&id).ok_or_else(|| network_not_found(&id))?;
        if !ctx.admin {
            // The policy hook hides what the caller may not read.
            return Ok(json(
                StatusCode::NOT_FOUND,
                &json!({"type": "HTTPNotFound", "message": "The resource could not be found.",
                        "detail": ""}),
            ));
        }
        Ok(json(
            StatusCode::OK,
            &NetworkIpAvailabilityRoot {
                network_ip_availability: st.render_availability(n),
            },
        ))
    })
}

impl State {
    pub(crate) fn render_network(&self, n: &NetworkRec) -> Network {
        Network {
            id: n.id.clone(),
            name: n.name.clone(),
            tenant_id: Some(n.project_id.clone()),
            project_id: n.project_id.clone(),
            status: "ACTIVE".to_owned(),
            admin_state_up: true,
            subnets: n.subnets.clone(),
            router_external: n.external,
            shared: false,
            mtu: Some(1500),
            description: String::new(),
            tags: Vec::new(),
            created_at: Some(self.clock.neutron(n.created)),
            updated_at: Some(self.clock.neutron(n.created)),
            revision_number: Some(1),
        }
    }

    pub(crate) fn render_subnet(&self, s: &SubnetRec) -> Subnet {
        Subnet {
            id: s.id.clone(),
            name: s.name.clone(),
            network_id: s.network_id.clone(),
            tenant_id: Some(s.project_id.clone()),
            project_id: s.project_id.clone(),
            ip_version: 4,
            cidr: s.pool.cidr.to_string(),
            gateway_ip: Some(s.pool.gateway.to_string()),
            allocation_pools: vec![AllocationPool {
                start: s.pool.start.to_string(),
                end: s.pool.end.to_string(),
            }],
            enable_dhcp: true,
            dns_nameservers: Vec::new(),
            description: String::new(),
            tags: Vec::new(),
            created_at: Some(self.clock.neutron(s.created)),
            updated_at: Some(self.clock.neutron(s.created)),
            revision_number: Some(0),
        }
    }

    /// A network's address usage: per subnet, `used_ips` counts every allocation and
    /// `total_ips` the allocation pools (Neutron 29 with `network_ip_availability_details`).
    pub(crate) fn render_availability(&self, n: &NetworkRec) -> NetworkIpAvailability {
        let subnets: Vec<SubnetIpAvailability> = n
            .subnets
            .iter()
            .filter_map(|id| self.subnets.get(id))
            .map(|s| {
                let used = s.pool.used() as u64;
                let total = s.pool.total() as u64;
                let hosts = match s.pool.cidr.prefix_len() {
                    32 => 1,
                    31 => 2,
                    p => (1u64 << (32 - u32::from(p))) - 2,
                };
                SubnetIpAvailability {
                    subnet_id: s.id.clone(),
                    ip_version: 4,
                    cidr: s.pool.cidr.to_string(),
                    subnet_name: s.name.clone(),
                    used_ips: used,
                    total_ips: total,
                    ip_availability_details: Some(IpAvailabilityDetails {
                        total_ips_in_subnet: hosts,
                        total_ips_in_allocation_pool: total,
                        used_ips_in_subnet: used,
                        used_ips_in_allocation_pool: used,
                    }),
                }
            })
            .collect();
        let sum = |f: fn(&SubnetIpAvailability) -> u64| subnets.iter().map(f).sum::<u64>();
        let details = |f: fn(&IpAvailabilityDetails) -> u64| {
            subnets
                .iter()
                .filter_map(|s| s.ip_availability_details.as_ref())
                .map(f)
                .sum::<u64>()
        };
        NetworkIpAvailability {
            network_id: n.id.clone(),
            network_name: n.name.clone(),
            project_id: n.project_id.clone(),
            tenant_id: Some(n.project_id.clone()),
            used_ips: sum(|s| s.used_ips),
            total_ips: sum(|s| s.total_ips),
            ip_availability_details: Some(IpAvailabilityDetails {
                total_ips_in_subnet: details(|d| d.total_ips_in_subnet),
                total_ips_in_allocation_pool: details(|d| d.total_ips_in_allocation_pool),
                used_ips_in_subnet: details(|d| d.used_ips_in_subnet),
                used_ips_in_allocation_pool: details(|d| d.used_ips_in_allocation_pool),
            }),
            subnet_ip_availability: subnets,
        }
    }

    /// `POST /v2.0/networks`: a tenant network (name and project only).
    fn network_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
        let req: Value = parse(body)?;
        let net = req.get("network").cloned().unwrap_or(Value::Null);
        let body_project = net
            .get("project_id")
            .or_else(|| net.get("tenant_id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let project = self.post_project(ctx, body_project)?;
        let name = net
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = self.uuid();
        let seq = self.next_seq();
        let now = self.now();
        self.networks.insert(
            id.clone(),
            NetworkRec {
                seq,
                id: id.clone(),
                name,
                project_id: project,
                external: false,
                subnets: Vec::new(),
                created: now,
            },
        );
        let n = self
            .networks
            .get(&id)
            .ok_or_else(|| network_not_found(&id))?;
        Ok(json(
            StatusCode::CREATED,
            &NetworkRoot {
                network: self.render_network(n),
            },
        ))
    }

    /// `DELETE /v2.0/networks/{id}`: 409 `NetworkInUse` while ports remain.
    fn network_delete(&mut self, ctx: &Ctx, id: &str) -> Resp {
        let n = self
            .networks
            .get(id)
            .filter(|n| ctx.may_see(&n.project_id))
            .ok_or_else(|| network_not_found(id))?;
        if self.ports.values().any(|p| p.network_id == id) {
            return Err(ApiError::neutron(
                409,
                "NetworkInUse",
                format!(
                    "Unable to complete operation on network {id}. There are one or more ports \
                     still in use on the network."
                ),
            ));
        }
        for s in n.subnets.clone() {
            self.subnets.remove(&s);
        }
        self.networks.remove(id);
        Ok(StatusCode::NO_CONTENT.into_response())
    }

    /// `POST /v2.0/subnets`: an IPv4 subnet with Neutron's default layout (gateway = first
    /// host, one allocation pool of the other hosts).
    fn subnet_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
        let req: Value = parse(body)?;
        let sub = req.get("subnet").cloned().unwrap_or(Value::Null);
        let field = |k: &str| sub.get(k).and_then(Value::as_str).map(str::to_owned);
        let project = self.post_project(ctx, field("project_id").or_else(|| field("tenant_id")))?;
        let network_id = field("network_id").ok_or_else(|| {
            ApiError::neutron(
                400,
                "HTTPBadRequest",
                "Failed to parse request. Required attribute 'network_id' not specified",
            )
        })?;
        let cidr_text = field("cidr").unwrap_or_default();
        let cidr: ipnet::Ipv4Net = cidr_text.parse().map_err(|_| {
            ApiError::neutron(
                400,
                "HTTPBadRequest",
                format!("Invalid input for cidr. Reason: '{cidr_text}' is not a valid IP subnet."),
            )
        })?;
        if !self.networks.contains_key(&network_id) {
            return Err(network_not_found(&network_id));
        }
        let id = self.uuid();
        let seq = self.next_seq();
        let now = self.now();
        self.subnets.insert(
            id.clone(),
            SubnetRec {
                seq,
                id: id.clone(),
                name: field("name").unwrap_or_default(),
                network_id: network_id.clone(),
                project_id: project,
                pool: super::super::net::AddressPool::new(cidr.trunc()),
                created: now,
            },
        );
        if let Some(n) = self.networks.get_mut(&network_id) {
            n.subnets.push(id.clone());
        }
        let s = self
            .subnets
            .get(&id)
            .ok_or_else(|| network_not_found(&network_id))?;
        Ok(json(
            StatusCode::CREATED,
            &SubnetRoot {
                subnet: self.render_subnet(s),
            },
        ))
    }

    /// `DELETE /v2.0/subnets/{id}`: 409 `SubnetInUse` while a port holds an address in it.
    fn subnet_delete(&mut self, ctx: &Ctx, id: &str) -> Resp {
        let s = self
            .subnets
            .get(id)
            .filter(|s| ctx.may_see(&s.project_id))
            .ok_or_else(|| {
                ApiError::neutron(
                    404,
                    "SubnetNotFound",
                    format!("Subnet {id} could not be found."),
                )
            })?;
        let network_id = s.network_id.clone();
        if self
            .ports
            .values()
            .any(|p| p.fixed_ips.iter().any(|(sub, _)| sub == id))
        {
            return Err(ApiError::neutron(
                409,
                "SubnetInUse",
                format!(
                    "Unable to complete operation on subnet {id}: One or more ports have an IP \
                     allocation from this subnet."
                ),
            ));
        }
        self.subnets.remove(id);
        if let Some(n) = self.networks.get_mut(&network_id) {
            n.subnets.retain(|s| s != id);
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}
