//! Neutron v2.0 emulation under `/network`: networks and subnets (the fixture's, plus
//! IPv4 ones a caller creates and deletes), ports, floating IPs and their tags, and the
//! network IP availability API.
//!
//! `GET /v2.0/network-ip-availabilities[/{network_id}]` is admin (or service role) only by
//! Neutron's default policy: without the admin role (`EmulatorConfig::admin_role`; noauth
//! callers are admin) the list is empty and a single network answers 404 with the policy
//! hook's bare body `{"type": "HTTPNotFound", "message": "The resource could not be found.",
//! "detail": ""}` (neutron/pecan_wsgi/hooks/policy_enforcement.py). `used_ips` counts every
//! allocation in a subnet, `total_ips` its allocation pools.
//!
//! Error bodies are `{"NeutronError": {"type", "message", "detail"}}` with Neutron's exception
//! class names and messages (`neutron_lib/exceptions`). Lists accept attribute filters
//! (repeated keys are alternatives) and the tag filters; `limit`/`marker` are ignored.
//!
//! A floating IP `PUT` honours `If-Match: revision_number=N` (Neutron's `revision_if_match`):
//! on a stale revision it answers 412 `RevisionNumberConstraintFailed` and changes nothing.
//!
//! Floating IP tags follow Neutron 29: refused in the POST body (`Attribute 'tags' not allowed
//! in POST`) and in the PUT body, set with `PUT .../tags` or `PUT .../tags/{tag}`, kept as a
//! set and read back sorted.

use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::header::IF_MATCH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kks_lb_octavia_model::api::neutron::{
    AllocationPool, CreateFloatingIp, CreatePort, FixedIp, FloatingIp, FloatingIpList,
    FloatingIpRoot, IpAvailabilityDetails, Network, NetworkIpAvailability,
    NetworkIpAvailabilityList, NetworkIpAvailabilityRoot, NetworkList, NetworkRoot, Port,
    PortDetails, PortList, PortRoot, Subnet, SubnetIpAvailability, SubnetList, SubnetRoot, Tags,
    UpdateFloatingIp,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::net::TakeError;
use super::query::Query;
use super::server::{Ctx, json, read_state, with_state};
use super::state::{FipRec, NetworkRec, PortRec, Shared, State, SubnetRec, Urls};

type Resp = ApiResult<Response>;
type Sh = AxState<Arc<Shared>>;

/// The Neutron routes, relative to the server root.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    let v = "/network/v2.0";
    Router::new()
        .route("/network", get(versions))
        .route("/network/", get(versions))
        .route(v, get(resources))
        .route(&format!("{v}/"), get(resources))
        .route(
            &format!("{v}/networks"),
            get(list_networks).post(create_network),
        )
        .route(
            &format!("{v}/networks/{{id}}"),
            get(get_network).delete(delete_network),
        )
        .route(
            &format!("{v}/subnets"),
            get(list_subnets).post(create_subnet),
        )
        .route(
            &format!("{v}/subnets/{{id}}"),
            get(get_subnet).delete(delete_subnet),
        )
        .route(
            &format!("{v}/network-ip-availabilities"),
            get(list_availabilities),
        )
        .route(
            &format!("{v}/network-ip-availabilities/{{id}}"),
            get(get_availability),
        )
        .route(&format!("{v}/ports"), get(list_ports).post(create_port))
        .route(
            &format!("{v}/ports/{{id}}"),
            get(get_port).delete(delete_port),
        )
        .route(&format!("{v}/floatingips"), get(list_fips).post(create_fip))
        .route(
            &format!("{v}/floatingips/{{id}}"),
            get(get_fip).put(update_fip).delete(delete_fip),
        )
        .route(
            &format!("{v}/floatingips/{{id}}/tags"),
            get(get_tags).put(replace_tags).delete(clear_tags),
        )
        .route(
            &format!("{v}/floatingips/{{id}}/tags/{{tag}}"),
            get(has_tag).put(add_tag).delete(remove_tag),
        )
}

async fn versions(AxState(sh): Sh) -> Response {
    read_state(&sh, |_, urls: &Urls| {
        Ok(json(
            StatusCode::OK,
            &json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
                {"href": format!("{}/v2.0/", urls.neutron), "rel": "self"}
            ]}]}),
        ))
    })
}
async fn resources(AxState(sh): Sh) -> Response {
    read_state(&sh, |_, urls: &Urls| {
        let res = ["network", "subnet", "port", "floatingip"]
            .iter()
            .map(|r| {
                json!({"name": r, "collection": format!("{r}s"), "links": [
                    {"href": format!("{}/v2.0/{r}s", urls.neutron), "rel": "self"}
                ]})
            })
            .collect::<Vec<_>>();
        Ok(json(StatusCode::OK, &json!({ "resources": res })))
    })
}
async fn list_networks(
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
async fn get_network(
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
async fn list_subnets(
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
async fn get_subnet(
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
async fn create_network(AxState(sh): Sh, Extension(ctx): Extension<Ctx>, body: Bytes) -> Response {
    with_state(&sh, |st, _| st.network_create(&ctx, &body))
}
async fn delete_network(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| st.network_delete(&ctx, &id))
}
async fn create_subnet(AxState(sh): Sh, Extension(ctx): Extension<Ctx>, body: Bytes) -> Response {
    with_state(&sh, |st, _| st.subnet_create(&ctx, &body))
}
async fn delete_subnet(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| st.subnet_delete(&ctx, &id))
}
async fn list_availabilities(
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
async fn get_availability(
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
async fn list_ports(
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
async fn create_port(AxState(sh): Sh, Extension(ctx): Extension<Ctx>, body: Bytes) -> Response {
    with_state(&sh, |st, _| st.port_create(&ctx, &body))
}
async fn get_port(
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
async fn delete_port(
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
async fn list_fips(
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
async fn create_fip(AxState(sh): Sh, Extension(ctx): Extension<Ctx>, body: Bytes) -> Response {
    with_state(&sh, |st, _| st.fip_create(&ctx, &body))
}
async fn get_fip(
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
async fn update_fip(
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
async fn delete_fip(
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
async fn get_tags(
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
async fn replace_tags(
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
async fn clear_tags(
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
async fn has_tag(
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
async fn add_tag(
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
async fn remove_tag(
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

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn to_value<T: serde::Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

fn filtered<T: serde::Serialize>(
    items: impl Iterator<Item = T>,
    q: &Query,
    special: &dyn Fn(&str, &[&str]) -> Option<bool>,
) -> Vec<T> {
    items.filter(|x| q.matches(&to_value(x), special)).collect()
}

/// `?fixed_ips=ip_address=10.0.0.5` / `?fixed_ips=subnet_id=<id>`.
fn fixed_ips_filter(p: &PortRec) -> impl Fn(&str, &[&str]) -> Option<bool> + '_ {
    move |key, values| {
        (key == "fixed_ips").then(|| {
            values.iter().all(|v| match v.split_once('=') {
                Some(("ip_address", ip)) => p.fixed_ips.iter().any(|(_, a)| a.to_string() == ip),
                Some(("subnet_id", s)) => p.fixed_ips.iter().any(|(sub, _)| sub == s),
                _ => true,
            })
        })
    }
}

/// A `PUT .../tags` body, `{"tags": [...]}`, with Neutron's `InvalidInput` answers for a
/// missing list, a non-list and a repeated tag.
fn parse_tags_body(body: &[u8]) -> ApiResult<Vec<String>> {
    let invalid = |msg: String| {
        ApiError::neutron(
            400,
            "InvalidInput",
            format!("Invalid input for operation: {msg}"),
        )
    };
    let value: Value = parse(body)?;
    let Some(list) = value.get("tags") else {
        return Err(invalid("Invalid tags body.".to_owned()));
    };
    let Some(items) = list.as_array() else {
        return Err(invalid(format!("{} is not a list.", python_repr(list))));
    };
    let mut tags: Vec<String> = Vec::new();
    for item in items {
        let Some(t) = item.as_str() else {
            return Err(invalid(format!(
                "{} is not a valid string.",
                python_repr(item)
            )));
        };
        if tags.iter().any(|x| x == t) {
            return Err(invalid(format!("Duplicate items in the list: '{t}'.")));
        }
        tags.push(t.to_owned());
    }
    Ok(tags)
}

/// A JSON value as Neutron's validators quote it, `'%s'` of the Python value: `'x'`, `'5'`,
/// `'None'`, `'True'` (lists and objects in JSON form, close to Python's).
fn python_repr(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        other => other.to_string(),
    };
    format!("'{s}'")
}

/// Tags as Neutron stores them: a set, read back sorted.
fn tag_set(tags: Vec<String>) -> Vec<String> {
    let mut tags = tags;
    tags.sort();
    tags.dedup();
    tags
}

/// An attribute that is not `allow_post` in Neutron's resource map (`tags` on floating IPs:
/// the tag API sets them).
fn not_allowed_in_post(attr: &str) -> ApiError {
    ApiError::neutron(
        400,
        "HTTPBadRequest",
        format!("Attribute '{attr}' not allowed in POST"),
    )
}

/// Whether the JSON body's `root` object carries `attr` (even as `null`).
fn has_attribute(body: &[u8], root: &str, attr: &str) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get(root).and_then(|r| r.get(attr)).is_some())
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::neutron(
            400,
            "HTTPBadRequest",
            format!("Invalid input for operation: {e}."),
        )
    })
}

fn network_not_found(id: &str) -> ApiError {
    ApiError::neutron(
        404,
        "NetworkNotFound",
        format!("Network {id} could not be found."),
    )
}

fn port_not_found(id: &str) -> ApiError {
    ApiError::neutron(
        404,
        "PortNotFound",
        format!("Port {id} could not be found."),
    )
}

fn fip_not_found(id: &str) -> ApiError {
    ApiError::neutron(
        404,
        "FloatingIPNotFound",
        format!("Floating IP {id} could not be found"),
    )
}

fn tag_not_found(tag: &str) -> ApiError {
    ApiError::neutron(404, "TagNotFound", format!("Tag {tag} could not be found."))
}

impl State {
    fn subnet_visible(&self, ctx: &Ctx, s: &SubnetRec) -> bool {
        ctx.may_see(&s.project_id) || self.networks.get(&s.network_id).is_some_and(|n| n.external)
    }

    fn visible_port(&self, ctx: &Ctx, id: &str) -> ApiResult<&PortRec> {
        self.ports
            .get(id)
            .filter(|p| ctx.may_see(&p.project_id))
            .ok_or_else(|| port_not_found(id))
    }

    fn visible_fip(&self, ctx: &Ctx, id: &str) -> ApiResult<&FipRec> {
        self.fips
            .get(id)
            .filter(|f| ctx.may_see(&f.project_id))
            .ok_or_else(|| fip_not_found(id))
    }

    /// The project of a POST: the token's, or without Keystone the body's `project_id`
    /// (`tenant_id`), which Neutron noauth requires (real-octavia README quirk 9).
    fn post_project(&self, ctx: &Ctx, body_project: Option<String>) -> ApiResult<String> {
        if ctx.noauth {
            return body_project.ok_or_else(|| {
                ApiError::neutron(
                    400,
                    "HTTPBadRequest",
                    "Running without keystone AuthN requires that project_id is specified",
                )
            });
        }
        ctx.project_id
            .clone()
            .or(body_project)
            .ok_or_else(|| ApiError::neutron(400, "HTTPBadRequest", "project_id is required"))
    }

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
                pool: super::net::AddressPool::new(cidr.trunc()),
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
