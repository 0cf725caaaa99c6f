//! Load balancers: list, the (fully-populated) create with its VIP, update, (cascade)
//! delete, and the status tree.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kks_lb_octavia_model::api::octavia::{
    CreateListener, CreateLoadBalancer, CreatePool, LoadBalancerList, LoadBalancerRoot,
    UpdateLoadBalancer,
};
use kks_lb_octavia_model::{OperatingStatus, Protocol, ProvisioningStatus};
use serde_json::Value;

use super::listeners::{duplicate_listener, l4_protocol};
use super::pools::is_full_pool;
use super::validate as v;
use super::{Counted, Resp, Sh, list_page};
use crate::openstack::error::{ApiError, ApiResult};
use crate::openstack::query::Query;
use crate::openstack::server::{Ctx, json, read_state, with_state};
use crate::openstack::state::{LbRec, Op, PortRec, State, Urls};

pub(super) async fn list_lbs(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, urls| {
        st.lb_list(&ctx, &Query::parse(q.as_deref()), urls)
    })
}
pub(super) async fn create_lb(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.lb_create(&ctx, &body))
}
pub(super) async fn get_lb(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let lb = st.visible_lb(&ctx, &id)?;
        Ok(json(
            StatusCode::OK,
            &LoadBalancerRoot {
                loadbalancer: st.render_lb(lb),
            },
        ))
    })
}
pub(super) async fn update_lb(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.lb_update(&ctx, &id, &body))
}
pub(super) async fn delete_lb(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    with_state(&sh, |st, _| {
        st.lb_delete(&ctx, &id, &Query::parse(q.as_deref()))
    })
}
pub(super) async fn lb_status(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let lb = st.visible_lb(&ctx, &id)?;
        Ok(json(StatusCode::OK, &st.render_status(lb)))
    })
}

/// Where the VIP comes from.
pub(super) struct VipPlan {
    network_id: String,
    subnet_id: String,
    port_id: Option<String>,
    address: Option<String>,
}

impl State {
    pub(super) fn lb_list(&self, ctx: &Ctx, q: &Query, urls: &Urls) -> Resp {
        let ids = q.all("id");
        // One tag the load balancers must all carry (`tags=a,b`: `a`), answered from the tag
        // index; `may_match` in `list_page` checks every tag filter.
        let tag = q
            .first("tags")
            .and_then(|v| v.split(',').next())
            .filter(|t| !t.is_empty());
        let candidates: Vec<&LbRec> = if !ids.is_empty() {
            ids.iter().filter_map(|id| self.lbs.get(*id)).collect()
        } else if let Some(tag) = tag {
            self.lb_tags
                .get(tag)
                .into_iter()
                .flatten()
                .filter_map(|id| self.lbs.get(id))
                .collect()
        } else {
            self.lbs.values().collect()
        };
        let base = format!("{}/v2/lbaas/loadbalancers", urls.octavia);
        let (loadbalancers, links) = list_page(
            ctx,
            q,
            candidates,
            &["id"],
            |lb| self.render_lb(lb),
            |_, _, _| None,
            &base,
        )?;
        Ok(json(
            StatusCode::OK,
            &LoadBalancerList {
                loadbalancers,
                loadbalancers_links: links,
            },
        ))
    }

    pub(super) fn resolve_vip(&self, req: &CreateLoadBalancer) -> ApiResult<VipPlan> {
        // LoadBalancersController._validate_vip_request_object: port, else network (+subnet),
        // else subnet.
        if let Some(port_id) = &req.vip_port_id {
            let port = self
                .ports
                .get(port_id)
                .ok_or_else(|| ApiError::invalid_subresource("Port", port_id))?;
            if !port.device_id.is_empty() {
                return Err(ApiError::validation(format!(
                    "Port {port_id} is already used by device {} ",
                    port.device_id
                )));
            }
            let subnet_id = match &req.vip_subnet_id {
                Some(s) => s.clone(),
                None => port.fixed_ips.first().map(|(s, _)| s.clone()).ok_or_else(|| {
                    ApiError::validation(
                        "VIP port's subnet could not be determined. Please specify either a VIP \
                         subnet or address.",
                    )
                })?,
            };
            return Ok(VipPlan {
                network_id: port.network_id.clone(),
                subnet_id,
                port_id: Some(port_id.clone()),
                address: req.vip_address.clone(),
            });
        }
        if let Some(net_id) = &req.vip_network_id {
            let net = self
                .networks
                .get(net_id)
                .ok_or_else(|| ApiError::invalid_subresource("Network", net_id))?;
            let subnet_id = match &req.vip_subnet_id {
                Some(s) if net.subnets.contains(s) => s.clone(),
                Some(s) => return Err(ApiError::invalid_subresource("Subnet", s)),
                None => net.subnets.first().cloned().ok_or_else(|| {
                    ApiError::validation("Supplied network does not contain a subnet.")
                })?,
            };
            return Ok(VipPlan {
                network_id: net_id.clone(),
                subnet_id,
                port_id: None,
                address: req.vip_address.clone(),
            });
        }
        if let Some(subnet_id) = &req.vip_subnet_id {
            let subnet = self
                .subnets
                .get(subnet_id)
                .ok_or_else(|| ApiError::invalid_subresource("Subnet", subnet_id))?;
            return Ok(VipPlan {
                network_id: subnet.network_id.clone(),
                subnet_id: subnet_id.clone(),
                port_id: None,
                address: req.vip_address.clone(),
            });
        }
        Err(ApiError::validation(
            "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
        ))
    }

    /// Creates (or adopts) the VIP port. Neutron failures are relayed with Neutron's status
    /// and message, as Octavia's `_create_vip_port_if_not_exist` does with `orig_code` /
    /// `orig_msg`.
    pub(super) fn allocate_vip(
        &mut self,
        plan: &VipPlan,
        lb_id: &str,
        project: &str,
    ) -> ApiResult<(String, String, bool)> {
        if let Some(port_id) = &plan.port_id {
            let port = self
                .ports
                .get_mut(port_id)
                .ok_or_else(|| ApiError::invalid_subresource("Port", port_id))?;
            let address = match &plan.address {
                Some(a) => port
                    .fixed_ips
                    .iter()
                    .find(|(_, ip)| ip.to_string() == *a)
                    .map(|(_, ip)| ip.to_string())
                    .ok_or_else(|| {
                        ApiError::validation(
                            "Specified VIP address not found on the specified VIP port.",
                        )
                    })?,
                None => port
                    .fixed_ips
                    .first()
                    .map(|(_, ip)| ip.to_string())
                    .unwrap_or_default(),
            };
            port.device_id = format!("lb-{lb_id}");
            port.device_owner = "Octavia".to_owned();
            return Ok((port_id.clone(), address, false));
        }
        let subnet = self
            .subnets
            .get_mut(&plan.subnet_id)
            .ok_or_else(|| ApiError::invalid_subresource("Subnet", &plan.subnet_id))?;
        let ip = match &plan.address {
            Some(a) => {
                let ip: Ipv4Addr = a.parse().map_err(|_| {
                    ApiError::octavia(
                        400,
                        format!(
                            "Invalid input for field/attribute vip_address. Value: '{a}'. Value \
                             should be IPv4 or IPv6 format"
                        ),
                    )
                })?;
                match subnet.pool.take(ip) {
                    Ok(()) => ip,
                    Err(crate::openstack::net::TakeError::InUse) => {
                        return Err(ApiError::octavia(
                            409,
                            format!(
                                "IP address {ip} already allocated in subnet {}",
                                plan.subnet_id
                            ),
                        ));
                    }
                    Err(crate::openstack::net::TakeError::NotInPool) => {
                        return Err(ApiError::octavia(
                            400,
                            format!("IP address {ip} is not a valid IP for the specified subnet."),
                        ));
                    }
                }
            }
            // Octavia 19's amphora driver creates the VIP port in the API: Neutron's 409
            // `IpAddressGenerationFailure` becomes `VIPInUseException`, then the provider's
            // `Conflict`, then `VIPAddressConflict` (409) wrapping Neutron's message, and the
            // load balancer is rolled back (nothing is created).
            None => subnet.pool.allocate().ok_or_else(|| {
                ApiError::octavia(
                    409,
                    format!(
                        "The VIP IP address is already in use: No more IP addresses available \
                         on network {}.",
                        plan.network_id
                    ),
                )
            })?,
        };
        let port_id = self.uuid();
        let mac = self.mac();
        let seq = self.next_seq();
        let now = self.now();
        self.ports.insert(
            port_id.clone(),
            PortRec {
                seq,
                id: port_id.clone(),
                // Octavia's allowed-address-pairs driver names the VIP port after the LB.
                name: format!("octavia-lb-{lb_id}"),
                network_id: plan.network_id.clone(),
                project_id: project.to_owned(),
                mac,
                device_id: format!("lb-{lb_id}"),
                device_owner: "Octavia".to_owned(),
                description: String::new(),
                fixed_ips: vec![(plan.subnet_id.clone(), ip)],
                tags: Vec::new(),
                created: now,
                updated: now,
                revision: 0,
            },
        );
        Ok((port_id, ip.to_string(), true))
    }

    pub(super) fn lb_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
        let (req, raw): (CreateLoadBalancer, Value) = v::parse_root(body, "loadbalancer")?;
        v::check_graph_fields(&raw, self.version())?;
        let project = req
            .project_id
            .clone()
            .or_else(|| ctx.project_id.clone())
            .ok_or_else(|| {
                ApiError::validation(
                    "Missing project ID in request where one is required. An administrator \
                     should check the keystone settings in the Octavia configuration.",
                )
            })?;
        if !ctx.may_see(&project) {
            return Err(ApiError::forbidden());
        }
        let vip = self.resolve_vip(&req)?;
        let flavor_provider = match &req.flavor_id {
            Some(f) => Some(
                self.cfg
                    .flavors
                    .iter()
                    .find(|x| x.id == *f)
                    .ok_or_else(|| ApiError::validation("Invalid flavor_id."))?
                    .provider
                    .clone(),
            ),
            None => None,
        };
        let provider = match (&req.provider, flavor_provider) {
            (Some(p), Some(fp)) if *p != fp => {
                return Err(ApiError::octavia(
                    400,
                    format!(
                        "Flavor '{}' is not compatible with provider '{p}'",
                        req.flavor_id.clone().unwrap_or_default()
                    ),
                ));
            }
            (Some(p), _) => p.clone(),
            (None, Some(fp)) => fp,
            (None, None) => self.cfg.default_provider.clone(),
        };
        if !self.cfg.providers.iter().any(|p| p.name == provider) {
            return Err(ApiError::octavia(
                400,
                format!("Provider '{provider}' is not enabled."),
            ));
        }
        if let Some(az) = &req.availability_zone {
            if !self.cfg.availability_zones.contains(az) {
                return Err(ApiError::validation("Invalid availability_zone."));
            }
            if provider == v::OVN {
                v::ovn_option(true, "availability_zone")?;
            }
        }
        self.check_quota(&project, Counted::LoadBalancer, 1)?;

        // LoadBalancersController._graph_create: listeners' full default pools move to the
        // pool list; name-only default pools are references to it.
        let listeners: &[CreateListener] = req.listeners.as_deref().unwrap_or(&[]);
        let mut pools: Vec<&CreatePool> = req.pools.iter().flatten().collect();
        let mut refs: Vec<String> = Vec::new();
        let mut default_names: Vec<Option<String>> = Vec::new();
        for l in listeners {
            if l.default_pool_id.is_some() {
                return Err(ApiError::validation(
                    "default_pool_id cannot be used when creating a fully populated loadbalancer.",
                ));
            }
            let Some(dp) = &l.default_pool else {
                default_names.push(None);
                continue;
            };
            let name = dp.name.clone().filter(|n| !n.is_empty()).ok_or_else(|| {
                // Real-octavia README quirk 5.
                ApiError::validation(
                    "Pools must be named when creating a fully populated loadbalancer.",
                )
            })?;
            if is_full_pool(dp) {
                pools.push(dp);
            } else {
                refs.push(name.clone());
            }
            default_names.push(Some(name));
        }
        let names: Vec<Option<&String>> = pools.iter().map(|p| p.name.as_ref()).collect();
        if names.iter().collect::<BTreeSet<_>>().len() != names.len() {
            return Err(ApiError::validation(
                "Pool names must be unique when creating a fully populated loadbalancer.",
            ));
        }
        for r in &refs {
            if !names.contains(&Some(r)) {
                return Err(ApiError::validation(format!(
                    "Pool '{r}' was referenced but no full definition was found."
                )));
            }
        }
        self.check_quota(&project, Counted::Pool, pools.len())?;
        for p in &pools {
            self.validate_pool(p, &provider)?;
        }
        let hm_count = pools.iter().filter(|p| p.healthmonitor.is_some()).count();
        self.check_quota(&project, Counted::HealthMonitor, hm_count)?;
        let member_count = pools
            .iter()
            .map(|p| p.members.as_ref().map_or(0, Vec::len))
            .sum();
        self.check_quota(&project, Counted::Member, member_count)?;
        self.check_quota(&project, Counted::Listener, listeners.len())?;
        // Listeners are created in order, each checked against the ones before it.
        let mut earlier: Vec<(Protocol, u16)> = Vec::new();
        for (l, dp) in listeners.iter().zip(&default_names) {
            self.validate_listener(l, &provider)?;
            if let Some((taken, _)) = earlier.iter().find(|(p, port)| {
                *port == l.protocol_port && l4_protocol(*p) == l4_protocol(l.protocol)
            }) {
                return Err(duplicate_listener(*taken, l.protocol_port));
            }
            earlier.push((l.protocol, l.protocol_port));
            if let Some(name) = dp {
                let pool_protocol = pools
                    .iter()
                    .find(|p| p.name.as_ref() == Some(name))
                    .and_then(|p| p.protocol);
                if let Some(pp) = pool_protocol {
                    v::check_listener_pool_protocols(l.protocol, pp)?;
                }
            }
        }

        let lb_id = self.uuid();
        let (vip_port_id, vip_address, owns) = self.allocate_vip(&vip, &lb_id, &project)?;
        let seq = self.next_seq();
        let now = self.now();
        self.lbs.insert(
            lb_id.clone(),
            LbRec {
                seq,
                id: lb_id.clone(),
                project_id: project.clone(),
                name: req.name.clone().unwrap_or_default(),
                description: req.description.clone().unwrap_or_default(),
                admin_state_up: req.admin_state_up.unwrap_or(true),
                provider: provider.clone(),
                flavor_id: req.flavor_id.clone(),
                availability_zone: req.availability_zone.clone(),
                tags: req.tags.clone().unwrap_or_default(),
                vip_address,
                vip_port_id,
                vip_subnet_id: vip.subnet_id.clone(),
                vip_network_id: vip.network_id.clone(),
                vip_qos_policy_id: req.vip_qos_policy_id.clone(),
                owns_vip_port: owns,
                prov: ProvisioningStatus::PendingCreate,
                oper: OperatingStatus::Offline,
                created: now,
                updated: None,
                pending: None,
                listeners: Vec::new(),
                pools: Vec::new(),
            },
        );
        let mut by_name: BTreeMap<String, String> = BTreeMap::new();
        for p in &pools {
            let id = self.insert_pool(&lb_id, &project, p);
            if let Some(n) = &p.name {
                by_name.insert(n.clone(), id);
            }
        }
        for (l, dp) in listeners.iter().zip(default_names) {
            let pool_id = dp.and_then(|n| by_name.get(&n).cloned());
            self.insert_listener(&lb_id, &project, l, pool_id);
        }
        self.reindex_lb_tags(&lb_id, &[], &req.tags.clone().unwrap_or_default());
        self.begin(&lb_id, Op::Create);
        let lb = self
            .lbs
            .get(&lb_id)
            .ok_or_else(|| ApiError::not_found("Load Balancer", &lb_id))?;
        Ok(json(
            StatusCode::CREATED,
            &LoadBalancerRoot {
                loadbalancer: self.render_lb_full(lb),
            },
        ))
    }

    pub(super) fn lb_update(&mut self, ctx: &Ctx, id: &str, body: &[u8]) -> Resp {
        self.visible_lb(ctx, id)?;
        let (req, raw): (UpdateLoadBalancer, Value) = v::parse_root(body, "loadbalancer")?;
        v::check_fields("loadbalancer", &raw, v::LB_UPDATE, self.version())?;
        let lb = self
            .lbs
            .get(id)
            .ok_or_else(|| ApiError::not_found("Load Balancer", id))?;
        if lb.prov != ProvisioningStatus::Active {
            return Err(ApiError::pending_state(lb.prov, id));
        }
        let mut retagged = None;
        if let Some(lb) = self.lbs.get_mut(id) {
            if let Some(n) = req.name {
                lb.name = n;
            }
            if let Some(d) = req.description {
                lb.description = d;
            }
            if let Some(a) = req.admin_state_up {
                lb.admin_state_up = a;
            }
            if let Some(q) = req.vip_qos_policy_id {
                lb.vip_qos_policy_id = q;
            }
            if let Some(t) = req.tags {
                retagged = Some((std::mem::replace(&mut lb.tags, t.clone()), t));
            }
        }
        if let Some((old, new)) = retagged {
            self.reindex_lb_tags(id, &old, &new);
        }
        self.begin(id, Op::Update);
        let lb = self
            .lbs
            .get(id)
            .ok_or_else(|| ApiError::not_found("Load Balancer", id))?;
        Ok(json(
            StatusCode::OK,
            &LoadBalancerRoot {
                loadbalancer: self.render_lb(lb),
            },
        ))
    }

    pub(super) fn lb_delete(&mut self, ctx: &Ctx, id: &str, q: &Query) -> Resp {
        let lb = self.visible_lb(ctx, id)?;
        let cascade = q.first("cascade").is_some_and(|c| {
            matches!(
                c.to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on" | "t" | "y"
            )
        });
        // The children check comes before the state check (load_balancer.py `delete`).
        if !cascade && (!lb.listeners.is_empty() || !lb.pools.is_empty()) {
            return Err(ApiError::validation(format!(
                "Cannot delete Load Balancer {id} - it has children"
            )));
        }
        // DELETABLE_STATUSES = (ACTIVE, ERROR).
        if !matches!(
            lb.prov,
            ProvisioningStatus::Active | ProvisioningStatus::Error
        ) {
            return Err(ApiError::pending_state(lb.prov, id));
        }
        let (listeners, pools, members, hms) = self.children(id);
        for l in listeners {
            if let Some(x) = self.listeners.get_mut(&l) {
                x.prov = ProvisioningStatus::PendingDelete;
            }
        }
        for p in pools {
            if let Some(x) = self.pools.get_mut(&p) {
                x.prov = ProvisioningStatus::PendingDelete;
            }
        }
        for m in members {
            if let Some(x) = self.members.get_mut(&m) {
                x.prov = ProvisioningStatus::PendingDelete;
            }
        }
        for h in hms {
            if let Some(x) = self.hms.get_mut(&h) {
                x.prov = ProvisioningStatus::PendingDelete;
            }
        }
        self.begin(id, Op::Delete);
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}
