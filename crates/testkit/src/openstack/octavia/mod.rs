//! Octavia v2 emulation: `/load-balancer/` (version document) and
//! `/load-balancer/v2/lbaas/...` (also under `/v2.0`, the documented alias).
//!
//! Behaviour follows the real Octavia 19.0.0 observed in `shared/real-octavia/README.md`
//! (quirk numbers cited below) and the Octavia v2 API reference:
//! - POST 201 with the object `PENDING_CREATE`; PUT 200 with `PENDING_UPDATE`; DELETE 204;
//!   batch member PUT 202 with an empty body (quirk 8).
//! - While the LB is not ACTIVE, LB PUT/DELETE answer 409 `Invalid state <S> of loadbalancer
//!   resource <id>` and child mutations 409 `Load Balancer <id> is immutable and cannot be
//!   updated.` (quirk 3). An LB in ERROR may be deleted but not updated.
//! - DELETE without `cascade=true` on an LB with children is 400 (quirk 4), checked before
//!   the state.
//! - Single-object creates with nested children (a listener's `default_pool`, a pool's
//!   `members`/`healthmonitor`) pass the schema, then fail with Octavia 19's 500
//!   `'dict' object has no attribute '_sa_instance_state'`; only the fully-populated LB POST
//!   takes a graph (`docs/real-openstack.md`).
//! - Listeners of one L4 protocol (`L4_PROTOCOL_MAP`: HTTP is TCP) may not share a port.

mod render;
pub(crate) mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kks_lb_octavia_model::api::octavia::{
    CreateHealthMonitor, CreateListener, CreateLoadBalancer, CreateMember, CreatePool,
    HealthMonitorList, HealthMonitorRoot, Link, ListenerList, ListenerRoot, LoadBalancerList,
    LoadBalancerRoot, MemberList, MemberRoot, MembersBatchUpdate, PoolList, PoolRoot, Provider,
    ProviderList, Quota, QuotaRoot, UpdateHealthMonitor, UpdateListener, UpdateLoadBalancer,
    UpdateMember, UpdatePool, Version, VersionList,
};
use kks_lb_octavia_model::{MonitorType, OperatingStatus, Protocol, ProvisioningStatus};
use serde::Serialize;
use serde_json::Value;

use self::validate as v;
use super::error::{ApiError, ApiResult};
use super::query::Query;
use super::server::{Ctx, json, read_state, with_state};
use super::state::{
    HmRec, LbRec, ListenerRec, MemberRec, Op, PoolRec, PortRec, Shared, State, Urls,
};

type Resp = ApiResult<Response>;
type Sh = AxState<Arc<Shared>>;

/// Listener timeout defaults (Octavia `constants.DEFAULT_TIMEOUT_*`), also what a `null` in a
/// PUT resets to.
const DEFAULT_TIMEOUT_CLIENT_DATA: u32 = 50_000;
const DEFAULT_TIMEOUT_MEMBER_CONNECT: u32 = 5_000;
const DEFAULT_TIMEOUT_MEMBER_DATA: u32 = 50_000;
const DEFAULT_TIMEOUT_TCP_INSPECT: u32 = 0;
/// Octavia's upper bound of the listener timeouts (one year, ms).
const MAX_TIMEOUT: i64 = 31_536_000_000;

/// The Octavia routes, relative to the server root.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    let mut router = Router::new()
        .route("/load-balancer", get(versions))
        .route("/load-balancer/", get(versions));
    for v in ["/load-balancer/v2", "/load-balancer/v2.0"] {
        router = router
            .route(
                &format!("{v}/lbaas/loadbalancers"),
                get(list_lbs).post(create_lb),
            )
            .route(
                &format!("{v}/lbaas/loadbalancers/{{id}}"),
                get(get_lb).put(update_lb).delete(delete_lb),
            )
            .route(
                &format!("{v}/lbaas/loadbalancers/{{id}}/status"),
                get(lb_status),
            )
            .route(
                &format!("{v}/lbaas/loadbalancers/{{id}}/statuses"),
                get(lb_status),
            )
            .route(
                &format!("{v}/lbaas/listeners"),
                get(list_listeners).post(create_listener),
            )
            .route(
                &format!("{v}/lbaas/listeners/{{id}}"),
                get(get_listener)
                    .put(update_listener)
                    .delete(delete_listener),
            )
            .route(
                &format!("{v}/lbaas/pools"),
                get(list_pools).post(create_pool),
            )
            .route(
                &format!("{v}/lbaas/pools/{{id}}"),
                get(get_pool).put(update_pool).delete(delete_pool),
            )
            .route(
                &format!("{v}/lbaas/pools/{{id}}/members"),
                get(list_members).post(create_member).put(batch_members),
            )
            .route(
                &format!("{v}/lbaas/pools/{{id}}/members/{{member_id}}"),
                get(get_member).put(update_member).delete(delete_member),
            )
            .route(
                &format!("{v}/lbaas/healthmonitors"),
                get(list_hms).post(create_hm),
            )
            .route(
                &format!("{v}/lbaas/healthmonitors/{{id}}"),
                get(get_hm).put(update_hm).delete(delete_hm),
            )
            .route(&format!("{v}/lbaas/providers"), get(providers))
            .route(&format!("{v}/lbaas/quotas/{{project}}"), get(quota))
    }
    router
}

// ---------------------------------------------------------------------------------------------
// Axum handlers (thin: lock, call the State method, render)
// ---------------------------------------------------------------------------------------------

async fn versions(AxState(sh): Sh) -> Response {
    read_state(&sh, |st, urls| {
        Ok(json(StatusCode::OK, &st.version_list(urls)))
    })
}
async fn list_lbs(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, urls| {
        st.lb_list(&ctx, &Query::parse(q.as_deref()), urls)
    })
}
async fn create_lb(AxState(sh): Sh, Extension(ctx): Extension<Ctx>, body: Bytes) -> Response {
    with_state(&sh, |st, _| st.lb_create(&ctx, &body))
}
async fn get_lb(
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
async fn update_lb(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.lb_update(&ctx, &id, &body))
}
async fn delete_lb(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    with_state(&sh, |st, _| {
        st.lb_delete(&ctx, &id, &Query::parse(q.as_deref()))
    })
}
async fn lb_status(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let lb = st.visible_lb(&ctx, &id)?;
        Ok(json(StatusCode::OK, &st.render_status(lb)))
    })
}
async fn list_listeners(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, urls| {
        st.listener_list(&ctx, &Query::parse(q.as_deref()), urls)
    })
}
async fn create_listener(AxState(sh): Sh, Extension(ctx): Extension<Ctx>, body: Bytes) -> Response {
    with_state(&sh, |st, _| st.listener_create(&ctx, &body))
}
async fn get_listener(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let l = st.visible_listener(&ctx, &id)?;
        Ok(json(
            StatusCode::OK,
            &ListenerRoot {
                listener: st.render_listener(l, true),
            },
        ))
    })
}
async fn update_listener(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.listener_update(&ctx, &id, &body))
}
async fn delete_listener(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| st.listener_delete(&ctx, &id))
}
async fn list_pools(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, urls| {
        st.pool_list(&ctx, &Query::parse(q.as_deref()), urls)
    })
}
async fn create_pool(AxState(sh): Sh, Extension(ctx): Extension<Ctx>, body: Bytes) -> Response {
    with_state(&sh, |st, _| st.pool_create(&ctx, &body))
}
async fn get_pool(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let p = st.visible_pool(&ctx, &id)?;
        Ok(json(
            StatusCode::OK,
            &PoolRoot {
                pool: st.render_pool(p),
            },
        ))
    })
}
async fn update_pool(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.pool_update(&ctx, &id, &body))
}
async fn delete_pool(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| st.pool_delete(&ctx, &id))
}
async fn list_members(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, urls| {
        st.member_list(&ctx, &id, &Query::parse(q.as_deref()), urls)
    })
}
async fn create_member(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.member_create(&ctx, &id, &body))
}
async fn batch_members(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.member_batch(&ctx, &id, &body))
}
async fn get_member(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path((pool_id, id)): Path<(String, String)>,
) -> Response {
    read_state(&sh, |st, _| {
        let m = st.visible_member(&ctx, &pool_id, &id)?;
        Ok(json(
            StatusCode::OK,
            &MemberRoot {
                member: st.render_member(m),
            },
        ))
    })
}
async fn update_member(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path((pool_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.member_update(&ctx, &pool_id, &id, &body))
}
async fn delete_member(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path((pool_id, id)): Path<(String, String)>,
) -> Response {
    with_state(&sh, |st, _| st.member_delete(&ctx, &pool_id, &id))
}
async fn list_hms(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, urls| {
        st.hm_list(&ctx, &Query::parse(q.as_deref()), urls)
    })
}
async fn create_hm(AxState(sh): Sh, Extension(ctx): Extension<Ctx>, body: Bytes) -> Response {
    with_state(&sh, |st, _| st.hm_create(&ctx, &body))
}
async fn get_hm(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    read_state(&sh, |st, _| {
        let h = st.visible_hm(&ctx, &id)?;
        Ok(json(
            StatusCode::OK,
            &HealthMonitorRoot {
                healthmonitor: st.render_hm(h, true),
            },
        ))
    })
}
async fn update_hm(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.hm_update(&ctx, &id, &body))
}
async fn delete_hm(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| st.hm_delete(&ctx, &id))
}
async fn providers(AxState(sh): Sh) -> Response {
    read_state(&sh, |st, _| {
        let providers = st
            .cfg
            .providers
            .iter()
            .map(|p| Provider {
                name: p.name.clone(),
                description: p.description.clone(),
            })
            .collect();
        Ok(json(StatusCode::OK, &ProviderList { providers }))
    })
}
async fn quota(AxState(sh): Sh, Path(project): Path<String>) -> Response {
    read_state(&sh, |st, _| {
        let q = st.quota(&project);
        let quota = Quota {
            load_balancer: Some(q.load_balancer),
            loadbalancer: Some(q.load_balancer),
            listener: Some(q.listener),
            member: Some(q.member),
            pool: Some(q.pool),
            health_monitor: Some(q.health_monitor),
            healthmonitor: Some(q.health_monitor),
            l7policy: Some(-1),
            l7rule: Some(-1),
        };
        Ok(json(StatusCode::OK, &QuotaRoot { quota }))
    })
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Quota-counted resources with Octavia's display names (`data_models.X._name()`).
#[derive(Debug, Clone, Copy)]
enum Counted {
    LoadBalancer,
    Listener,
    Pool,
    HealthMonitor,
    Member,
}

impl Counted {
    fn name(self) -> &'static str {
        match self {
            Counted::LoadBalancer => "Load Balancer",
            Counted::Listener => "Listener",
            Counted::Pool => "Pool",
            Counted::HealthMonitor => "Health Monitor",
            Counted::Member => "Member",
        }
    }
}

/// Where the VIP comes from.
struct VipPlan {
    network_id: String,
    subnet_id: String,
    port_id: Option<String>,
    address: Option<String>,
}

/// Pagination: `limit` and `marker` (an id), with a `next` link while more remain.
fn paginate<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> &str,
    q: &Query,
    base: &str,
) -> ApiResult<(Vec<T>, Vec<Link>)> {
    let mut items = items;
    if let Some(marker) = q.first("marker") {
        let pos = items.iter().position(|x| id(x) == marker).ok_or_else(|| {
            ApiError::octavia(
                400,
                format!("Supplied pagination marker '{marker}' is not valid."),
            )
        })?;
        items.drain(..=pos);
    }
    let Some(limit) = q.first("limit") else {
        return Ok((items, Vec::new()));
    };
    let limit: usize = limit.parse().map_err(|_| {
        ApiError::octavia(
            400,
            format!("Supplied pagination limit '{limit}' is not valid."),
        )
    })?;
    let mut links = Vec::new();
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        if let Some(last) = items.last() {
            links.push(Link {
                href: format!("{base}?limit={limit}&marker={}", id(last)),
                rel: "next".to_owned(),
            });
        }
    }
    Ok((items, links))
}

fn to_value<T: Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

/// A `loadbalancer_id` filter on objects that list their load balancers.
fn lb_filter(lb_id: &str) -> impl Fn(&str, &[&str]) -> Option<bool> + '_ {
    move |key, values| (key == "loadbalancer_id").then(|| values.contains(&lb_id))
}

/// A `pool_id` filter on monitors, which list their pool under `pools`.
fn pool_filter(pool_id: &str) -> impl Fn(&str, &[&str]) -> Option<bool> + '_ {
    move |key, values| (key == "pool_id").then(|| values.contains(&pool_id))
}

fn is_full_pool(p: &CreatePool) -> bool {
    p.protocol.is_some()
        || p.lb_algorithm.is_some()
        || p.members.is_some()
        || p.healthmonitor.is_some()
        || p.session_persistence.is_some()
        || p.description.is_some()
        || p.tags.is_some()
        || p.admin_state_up.is_some()
}

fn non_empty(cidrs: Option<Vec<String>>) -> Option<Vec<String>> {
    cidrs.filter(|c| !c.is_empty())
}

impl State {
    fn version(&self) -> kks_lb_octavia_model::api::octavia::ApiVersion {
        self.cfg.max_api_version
    }

    fn strict_monitor(&self) -> bool {
        self.cfg.reject_monitor_timeout_over_delay
    }

    pub(crate) fn version_list(&self, urls: &Urls) -> VersionList {
        // The real document lists every minor version from 2.0, the newest CURRENT
        // (samples/octavia/versions.json); release dates are not modelled.
        let max = self.version();
        let versions = (0..=max.minor)
            .map(|minor| Version {
                id: format!("v{}.{minor}", max.major),
                status: if minor == max.minor {
                    "CURRENT"
                } else {
                    "SUPPORTED"
                }
                .to_owned(),
                updated: Some("2016-12-11T00:00:00Z".to_owned()),
                links: vec![Link {
                    href: format!("{}/v2", urls.octavia),
                    rel: "self".to_owned(),
                }],
            })
            .collect();
        VersionList { versions }
    }

    fn visible_lb(&self, ctx: &Ctx, id: &str) -> ApiResult<&LbRec> {
        let lb = self
            .lbs
            .get(id)
            .ok_or_else(|| ApiError::not_found("Load Balancer", id))?;
        if ctx.may_see(&lb.project_id) {
            Ok(lb)
        } else {
            Err(ApiError::forbidden())
        }
    }

    fn visible_listener(&self, ctx: &Ctx, id: &str) -> ApiResult<&ListenerRec> {
        let l = self
            .listeners
            .get(id)
            .ok_or_else(|| ApiError::not_found("Listener", id))?;
        if ctx.may_see(&l.project_id) {
            Ok(l)
        } else {
            Err(ApiError::forbidden())
        }
    }

    fn visible_pool(&self, ctx: &Ctx, id: &str) -> ApiResult<&PoolRec> {
        let p = self
            .pools
            .get(id)
            .ok_or_else(|| ApiError::not_found("Pool", id))?;
        if ctx.may_see(&p.project_id) {
            Ok(p)
        } else {
            Err(ApiError::forbidden())
        }
    }

    fn visible_member(&self, ctx: &Ctx, pool_id: &str, id: &str) -> ApiResult<&MemberRec> {
        self.visible_pool(ctx, pool_id)?;
        self.members
            .get(id)
            .filter(|m| m.pool_id == pool_id)
            .ok_or_else(|| ApiError::not_found("Member", id))
    }

    fn visible_hm(&self, ctx: &Ctx, id: &str) -> ApiResult<&HmRec> {
        let h = self
            .hms
            .get(id)
            .ok_or_else(|| ApiError::not_found("Health Monitor", id))?;
        if ctx.may_see(&h.project_id) {
            Ok(h)
        } else {
            Err(ApiError::forbidden())
        }
    }

    fn provider_of(&self, lb_id: &str) -> String {
        self.lbs
            .get(lb_id)
            .map(|lb| lb.provider.clone())
            .unwrap_or_default()
    }

    /// Child mutations need an ACTIVE load balancer (quirk 3, `ImmutableObject`).
    fn require_child_mutable(&self, lb_id: &str) -> ApiResult<()> {
        match self.lbs.get(lb_id) {
            Some(lb) if lb.prov == ProvisioningStatus::Active => Ok(()),
            _ => Err(ApiError::immutable(lb_id)),
        }
    }

    fn used(&self, project: &str, what: Counted) -> usize {
        match what {
            Counted::LoadBalancer => self
                .lbs
                .values()
                .filter(|x| x.project_id == project)
                .count(),
            Counted::Listener => self
                .listeners
                .values()
                .filter(|x| x.project_id == project)
                .count(),
            Counted::Pool => self
                .pools
                .values()
                .filter(|x| x.project_id == project)
                .count(),
            Counted::HealthMonitor => self
                .hms
                .values()
                .filter(|x| x.project_id == project)
                .count(),
            Counted::Member => self
                .members
                .values()
                .filter(|x| x.project_id == project)
                .count(),
        }
    }

    fn check_quota(&self, project: &str, what: Counted, adding: usize) -> ApiResult<()> {
        if adding == 0 {
            return Ok(());
        }
        let q = self.quota(project);
        let limit = match what {
            Counted::LoadBalancer => q.load_balancer,
            Counted::Listener => q.listener,
            Counted::Pool => q.pool,
            Counted::HealthMonitor => q.health_monitor,
            Counted::Member => q.member,
        };
        if limit >= 0 && self.used(project, what) + adding > usize::try_from(limit).unwrap_or(0) {
            return Err(ApiError::quota(what.name()));
        }
        Ok(())
    }

    fn mark_listeners_of_pool(&mut self, pool_id: &str) {
        for l in self.listeners.values_mut() {
            if l.default_pool_id.as_deref() == Some(pool_id) && l.prov == ProvisioningStatus::Active
            {
                l.prov = ProvisioningStatus::PendingUpdate;
            }
        }
    }

    fn mark_pool_and_listeners(&mut self, pool_id: &str) {
        if let Some(p) = self.pools.get_mut(pool_id)
            && p.prov == ProvisioningStatus::Active
        {
            p.prov = ProvisioningStatus::PendingUpdate;
        }
        self.mark_listeners_of_pool(pool_id);
    }

    // -----------------------------------------------------------------------------------------
    // Validation of bodies (shared by the fully-populated and the single-object creates)
    // -----------------------------------------------------------------------------------------

    fn validate_listener(&self, l: &CreateListener, provider: &str) -> ApiResult<()> {
        let version = self.version();
        v::check_listener_protocol(l.protocol, version)?;
        v::check_range("protocol_port", i64::from(l.protocol_port), 1, 65535)?;
        if let Some(c) = l.connection_limit {
            v::check_range("connection_limit", c, -1, i64::MAX)?;
        }
        for (name, t) in [
            ("timeout_client_data", l.timeout_client_data),
            ("timeout_member_connect", l.timeout_member_connect),
            ("timeout_member_data", l.timeout_member_data),
            ("timeout_tcp_inspect", l.timeout_tcp_inspect),
        ] {
            if let Some(t) = t {
                v::check_range(name, i64::from(t), 0, MAX_TIMEOUT)?;
            }
        }
        if let Some(h) = &l.insert_headers {
            v::check_insert_headers(l.protocol, h)?;
        }
        if let Some(c) = &l.allowed_cidrs {
            v::check_allowed_cidrs(c)?;
        }
        if provider == v::OVN {
            v::ovn_protocol(l.protocol)?;
            v::ovn_allowed_cidrs(l.allowed_cidrs.as_deref())?;
            for (name, t) in [
                ("timeout_client_data", l.timeout_client_data),
                ("timeout_member_connect", l.timeout_member_connect),
                ("timeout_member_data", l.timeout_member_data),
                ("timeout_tcp_inspect", l.timeout_tcp_inspect),
            ] {
                v::ovn_option(t.is_some(), name)?;
            }
        }
        Ok(())
    }

    /// A complete pool definition with its monitor and members.
    fn validate_pool(&self, p: &CreatePool, provider: &str) -> ApiResult<()> {
        let protocol = self.validate_pool_attributes(p, provider)?;
        if let Some(hm) = &p.healthmonitor {
            self.validate_hm(hm, protocol, provider)?;
        }
        let mut seen = BTreeSet::new();
        for m in p.members.iter().flatten() {
            self.validate_member(m, provider)?;
            if !seen.insert((m.address.clone(), m.protocol_port)) {
                return Err(duplicate_member(&m.address, m.protocol_port));
            }
        }
        Ok(())
    }

    /// The pool's own attributes (not its children); returns its protocol.
    fn validate_pool_attributes(&self, p: &CreatePool, provider: &str) -> ApiResult<Protocol> {
        let version = self.version();
        let name = p.name.clone().unwrap_or_else(|| "None".to_owned());
        let missing = |attr: &str| {
            ApiError::validation(format!(
                "Pool definition for '{name}' missing required attribute: {attr}"
            ))
        };
        let protocol = p.protocol.ok_or_else(|| missing("protocol"))?;
        let algorithm = p.lb_algorithm.ok_or_else(|| missing("lb_algorithm"))?;
        v::check_pool_protocol(protocol, version)?;
        v::check_algorithm(algorithm, version)?;
        if let Some(sp) = &p.session_persistence {
            v::check_session_persistence(protocol, sp)?;
        }
        if provider == v::OVN {
            v::ovn_protocol(protocol)?;
            v::ovn_algorithm(algorithm)?;
        }
        Ok(protocol)
    }

    fn validate_member(&self, m: &CreateMember, provider: &str) -> ApiResult<()> {
        m.address.parse::<std::net::IpAddr>().map_err(|_| {
            ApiError::octavia(
                400,
                format!(
                    "Invalid input for field/attribute address. Value: '{}'. Value should be IPv4 \
                     or IPv6 format",
                    m.address
                ),
            )
        })?;
        v::check_range("protocol_port", i64::from(m.protocol_port), 1, 65535)?;
        if let Some(w) = m.weight {
            v::check_range("weight", i64::from(w), 0, 256)?;
        }
        if let Some(p) = m.monitor_port {
            v::check_range("monitor_port", i64::from(p), 1, 65535)?;
        }
        if provider == v::OVN {
            v::ovn_member_monitor(m.monitor_address.as_deref(), m.monitor_port)?;
        }
        Ok(())
    }

    fn validate_hm(
        &self,
        h: &CreateHealthMonitor,
        pool_protocol: Protocol,
        provider: &str,
    ) -> ApiResult<()> {
        self.validate_hm_attributes(h)?;
        let http_fields =
            h.http_method.is_some() || h.url_path.is_some() || h.expected_codes.is_some();
        v::check_monitor(
            h.kind,
            pool_protocol,
            h.delay,
            h.timeout,
            http_fields,
            self.strict_monitor(),
        )?;
        if provider == v::OVN {
            v::ovn_monitor_type(h.kind)?;
        }
        Ok(())
    }

    /// What the API schema (WSME) checks of a monitor: its type and the integer ranges.
    fn validate_hm_attributes(&self, h: &CreateHealthMonitor) -> ApiResult<()> {
        v::check_monitor_type(h.kind, self.version())?;
        v::check_range("delay", i64::from(h.delay), 0, i64::from(i32::MAX))?;
        v::check_range("timeout", i64::from(h.timeout), 0, i64::from(i32::MAX))?;
        v::check_range("max_retries", i64::from(h.max_retries), 1, 10)?;
        if let Some(d) = h.max_retries_down {
            v::check_range("max_retries_down", i64::from(d), 1, 10)?;
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Record creation
    // -----------------------------------------------------------------------------------------

    fn insert_member(
        &mut self,
        pool_id: &str,
        project: &str,
        m: &CreateMember,
        pool_has_hm: bool,
    ) -> String {
        let id = self.uuid();
        let now = self.now();
        self.members.insert(
            id.clone(),
            MemberRec {
                id: id.clone(),
                pool_id: pool_id.to_owned(),
                project_id: project.to_owned(),
                name: m.name.clone().unwrap_or_default(),
                admin_state_up: m.admin_state_up.unwrap_or(true),
                address: m.address.clone(),
                protocol_port: m.protocol_port,
                weight: m.weight.unwrap_or(1),
                backup: m.backup.unwrap_or(false),
                subnet_id: m.subnet_id.clone(),
                monitor_address: m.monitor_address.clone(),
                monitor_port: m.monitor_port,
                tags: m.tags.clone().unwrap_or_default(),
                prov: ProvisioningStatus::PendingCreate,
                // A member created while its pool has a monitor starts OFFLINE, otherwise
                // NO_MONITOR (quirk 1).
                oper: if pool_has_hm {
                    OperatingStatus::Offline
                } else {
                    OperatingStatus::NoMonitor
                },
                created: now,
                updated: None,
            },
        );
        id
    }

    fn insert_hm(&mut self, pool_id: &str, project: &str, h: &CreateHealthMonitor) -> String {
        let id = self.uuid();
        let seq = self.next_seq();
        let now = self.now();
        let http = matches!(h.kind, MonitorType::Http | MonitorType::Https);
        let http_default = |given: &Option<String>, default: &str| {
            given.clone().or_else(|| http.then(|| default.to_owned()))
        };
        self.hms.insert(
            id.clone(),
            HmRec {
                seq,
                id: id.clone(),
                pool_id: pool_id.to_owned(),
                project_id: project.to_owned(),
                name: h.name.clone().unwrap_or_default(),
                kind: h.kind,
                delay: h.delay,
                timeout: h.timeout,
                max_retries: h.max_retries,
                max_retries_down: h.max_retries_down.unwrap_or(3),
                http_method: http_default(&h.http_method, "GET"),
                url_path: http_default(&h.url_path, "/"),
                expected_codes: http_default(&h.expected_codes, "200"),
                http_version: h.http_version.clone(),
                domain_name: h.domain_name.clone(),
                admin_state_up: h.admin_state_up.unwrap_or(true),
                tags: h.tags.clone().unwrap_or_default(),
                prov: ProvisioningStatus::PendingCreate,
                oper: OperatingStatus::Offline,
                created: now,
                updated: None,
            },
        );
        id
    }

    /// Inserts a validated pool with its monitor and members; returns its id.
    fn insert_pool(&mut self, lb_id: &str, project: &str, p: &CreatePool) -> String {
        let id = self.uuid();
        let seq = self.next_seq();
        let now = self.now();
        let hm_id = p
            .healthmonitor
            .as_ref()
            .map(|h| self.insert_hm(&id, project, h));
        let members = p
            .members
            .iter()
            .flatten()
            .map(|m| self.insert_member(&id, project, m, hm_id.is_some()))
            .collect();
        self.pools.insert(
            id.clone(),
            PoolRec {
                seq,
                id: id.clone(),
                lb_id: lb_id.to_owned(),
                project_id: project.to_owned(),
                name: p.name.clone().unwrap_or_default(),
                description: p.description.clone().unwrap_or_default(),
                admin_state_up: p.admin_state_up.unwrap_or(true),
                protocol: p.protocol.unwrap_or(Protocol::Tcp),
                lb_algorithm: p
                    .lb_algorithm
                    .unwrap_or(kks_lb_octavia_model::LbAlgorithm::RoundRobin),
                session_persistence: p.session_persistence.clone(),
                tags: p.tags.clone().unwrap_or_default(),
                tls_enabled: p.tls_enabled.unwrap_or(false),
                members,
                hm_id,
                prov: ProvisioningStatus::PendingCreate,
                oper: OperatingStatus::Offline,
                created: now,
                updated: None,
            },
        );
        if let Some(lb) = self.lbs.get_mut(lb_id) {
            lb.pools.push(id.clone());
        }
        id
    }

    fn insert_listener(
        &mut self,
        lb_id: &str,
        project: &str,
        l: &CreateListener,
        default_pool_id: Option<String>,
    ) -> String {
        let id = self.uuid();
        let seq = self.next_seq();
        let now = self.now();
        self.listeners.insert(
            id.clone(),
            ListenerRec {
                seq,
                id: id.clone(),
                lb_id: lb_id.to_owned(),
                project_id: project.to_owned(),
                name: l.name.clone().unwrap_or_default(),
                description: l.description.clone().unwrap_or_default(),
                admin_state_up: l.admin_state_up.unwrap_or(true),
                protocol: l.protocol,
                protocol_port: l.protocol_port,
                connection_limit: l.connection_limit.unwrap_or(-1),
                default_pool_id,
                insert_headers: l.insert_headers.clone().unwrap_or_default(),
                timeout_client_data: l.timeout_client_data.unwrap_or(DEFAULT_TIMEOUT_CLIENT_DATA),
                timeout_member_connect: l
                    .timeout_member_connect
                    .unwrap_or(DEFAULT_TIMEOUT_MEMBER_CONNECT),
                timeout_member_data: l.timeout_member_data.unwrap_or(DEFAULT_TIMEOUT_MEMBER_DATA),
                timeout_tcp_inspect: l.timeout_tcp_inspect.unwrap_or(DEFAULT_TIMEOUT_TCP_INSPECT),
                // Octavia answers `null`, not `[]`, when no CIDR is set (README, JSON shapes).
                allowed_cidrs: non_empty(l.allowed_cidrs.clone()),
                tags: l.tags.clone().unwrap_or_default(),
                prov: ProvisioningStatus::PendingCreate,
                oper: OperatingStatus::Offline,
                created: now,
                updated: None,
            },
        );
        if let Some(lb) = self.lbs.get_mut(lb_id) {
            lb.listeners.push(id.clone());
        }
        id
    }

    // -----------------------------------------------------------------------------------------
    // Load balancers
    // -----------------------------------------------------------------------------------------

    fn lb_list(&self, ctx: &Ctx, q: &Query, urls: &Urls) -> Resp {
        let ids = q.all("id");
        // One tag the load balancers must all carry (`tags=a,b`: `a`), answered from the tag
        // index; `may_match` below checks every tag filter.
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
        let mut lbs: Vec<&LbRec> = candidates
            .into_iter()
            .filter(|lb| ctx.may_see(&lb.project_id))
            .filter(|lb| q.may_match(&lb.tags, &lb.name))
            .collect();
        lbs.sort_by_key(|lb| lb.seq);
        lbs.dedup_by_key(|lb| lb.seq);
        let rematch = q.needs_render_match(&["id"]);
        let items = lbs
            .into_iter()
            .map(|lb| self.render_lb(lb))
            .filter(|r| !rematch || q.matches(&to_value(r), &|_, _| None))
            .collect();
        let base = format!("{}/v2/lbaas/loadbalancers", urls.octavia);
        let (loadbalancers, links) = paginate(items, |x| x.id.as_str(), q, &base)?;
        Ok(json(
            StatusCode::OK,
            &LoadBalancerList {
                loadbalancers,
                loadbalancers_links: links,
            },
        ))
    }

    fn resolve_vip(&self, req: &CreateLoadBalancer) -> ApiResult<VipPlan> {
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
    fn allocate_vip(
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
                    Err(super::net::TakeError::InUse) => {
                        return Err(ApiError::octavia(
                            409,
                            format!(
                                "IP address {ip} already allocated in subnet {}",
                                plan.subnet_id
                            ),
                        ));
                    }
                    Err(super::net::TakeError::NotInPool) => {
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

    fn lb_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
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

    fn lb_update(&mut self, ctx: &Ctx, id: &str, body: &[u8]) -> Resp {
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

    fn lb_delete(&mut self, ctx: &Ctx, id: &str, q: &Query) -> Resp {
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

    // -----------------------------------------------------------------------------------------
    // Listeners
    // -----------------------------------------------------------------------------------------

    fn listener_list(&self, ctx: &Ctx, q: &Query, urls: &Urls) -> Resp {
        let by_lb = q.all("loadbalancer_id");
        let candidates: Vec<&ListenerRec> = if by_lb.is_empty() {
            self.listeners.values().collect()
        } else {
            by_lb
                .iter()
                .filter_map(|id| self.lbs.get(*id))
                .flat_map(|lb| lb.listeners.iter().filter_map(|l| self.listeners.get(l)))
                .collect()
        };
        let mut ls: Vec<&ListenerRec> = candidates
            .into_iter()
            .filter(|l| ctx.may_see(&l.project_id))
            .filter(|l| q.may_match(&l.tags, &l.name))
            .collect();
        ls.sort_by_key(|l| l.seq);
        ls.dedup_by_key(|l| l.seq);
        let rematch = q.needs_render_match(&["loadbalancer_id"]);
        let items = ls
            .into_iter()
            .filter_map(|l| {
                let r = self.render_listener(l, true);
                (!rematch || q.matches(&to_value(&r), &lb_filter(&l.lb_id))).then_some(r)
            })
            .collect();
        let base = format!("{}/v2/lbaas/listeners", urls.octavia);
        let (listeners, links) = paginate(items, |x| x.id.as_str(), q, &base)?;
        Ok(json(
            StatusCode::OK,
            &ListenerList {
                listeners,
                listeners_links: links,
            },
        ))
    }

    fn listener_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
        let (req, raw): (CreateListener, Value) = v::parse_root(body, "listener")?;
        let version = self.version();
        v::check_fields("listener", &raw, v::LISTENER_CREATE, version)?;
        if let Some(dp) = raw.get("default_pool").filter(|p| !p.is_null()) {
            v::check_pool_graph(dp, version)?;
        }
        let lb_id = req.loadbalancer_id.clone().ok_or_else(|| {
            ApiError::octavia(
                400,
                format!("Invalid input for field/attribute loadbalancer_id. Value: '{raw}'. Mandatory field missing."),
            )
        })?;
        let lb = self.visible_lb(ctx, &lb_id)?;
        let (project, provider) = (lb.project_id.clone(), lb.provider.clone());
        self.validate_listener(&req, &provider)?;
        self.check_quota(&project, Counted::Listener, 1)?;
        if let Some(pid) = &req.default_pool_id {
            let pool = self
                .pools
                .get(pid)
                .filter(|p| p.lb_id == lb_id)
                .ok_or_else(|| ApiError::not_found("Pool", pid))?;
            v::check_listener_pool_protocols(req.protocol, pool.protocol)?;
        }
        self.require_child_mutable(&lb_id)?;
        // `_validate_create_listener`: a listener of the same L4 protocol on the port; the
        // message names the protocol of the listener already there.
        let taken = self
            .listeners
            .values()
            .filter(|l| l.lb_id == lb_id && l.protocol_port == req.protocol_port)
            .filter(|l| l4_protocol(l.protocol) == l4_protocol(req.protocol))
            .min_by_key(|l| l.seq);
        if let Some(l) = taken {
            return Err(duplicate_listener(l.protocol, req.protocol_port));
        }
        // The schema accepts a nested `default_pool`, but the controller hands the dict to
        // SQLAlchemy: 500, nothing created (docs/real-openstack.md).
        if raw.get("default_pool").is_some_and(|p| !p.is_null()) {
            return Err(nested_object_fault());
        }
        let id = self.insert_listener(&lb_id, &project, &req, req.default_pool_id.clone());
        self.begin(&lb_id, Op::Update);
        let l = self
            .listeners
            .get(&id)
            .ok_or_else(|| ApiError::not_found("Listener", &id))?;
        Ok(json(
            StatusCode::CREATED,
            &ListenerRoot {
                listener: self.render_listener(l, true),
            },
        ))
    }

    fn listener_update(&mut self, ctx: &Ctx, id: &str, body: &[u8]) -> Resp {
        let l = self.visible_listener(ctx, id)?;
        let (lb_id, protocol) = (l.lb_id.clone(), l.protocol);
        let (req, raw): (UpdateListener, Value) = v::parse_root(body, "listener")?;
        v::check_fields("listener", &raw, v::LISTENER_UPDATE, self.version())?;
        self.require_child_mutable(&lb_id)?;
        let provider = self.provider_of(&lb_id);
        if let Some(c) = req.connection_limit {
            v::check_range("connection_limit", c, -1, i64::MAX)?;
        }
        if let Some(h) = &req.insert_headers {
            v::check_insert_headers(protocol, h)?;
        }
        if let Some(Some(c)) = &req.allowed_cidrs {
            v::check_allowed_cidrs(c)?;
        }
        if let Some(Some(pid)) = &req.default_pool_id {
            let pool = self
                .pools
                .get(pid)
                .filter(|p| p.lb_id == lb_id)
                .ok_or_else(|| ApiError::not_found("Pool", pid))?;
            v::check_listener_pool_protocols(protocol, pool.protocol)?;
        }
        let timeouts = [
            ("timeout_client_data", req.timeout_client_data),
            ("timeout_member_connect", req.timeout_member_connect),
            ("timeout_member_data", req.timeout_member_data),
            ("timeout_tcp_inspect", req.timeout_tcp_inspect),
        ];
        for (name, t) in timeouts {
            if let Some(Some(t)) = t {
                v::check_range(name, i64::from(t), 0, MAX_TIMEOUT)?;
            }
        }
        if provider == v::OVN {
            v::ovn_allowed_cidrs(req.allowed_cidrs.clone().flatten().as_deref())?;
            for (name, t) in timeouts {
                v::ovn_option(matches!(t, Some(Some(_))), name)?;
            }
        }
        if let Some(l) = self.listeners.get_mut(id) {
            if let Some(n) = req.name {
                l.name = n;
            }
            if let Some(d) = req.description {
                l.description = d;
            }
            if let Some(a) = req.admin_state_up {
                l.admin_state_up = a;
            }
            if let Some(c) = req.connection_limit {
                l.connection_limit = c;
            }
            if let Some(p) = req.default_pool_id {
                l.default_pool_id = p;
            }
            if let Some(h) = req.insert_headers {
                l.insert_headers = h;
            }
            if let Some(t) = req.timeout_client_data {
                l.timeout_client_data = t.unwrap_or(DEFAULT_TIMEOUT_CLIENT_DATA);
            }
            if let Some(t) = req.timeout_member_connect {
                l.timeout_member_connect = t.unwrap_or(DEFAULT_TIMEOUT_MEMBER_CONNECT);
            }
            if let Some(t) = req.timeout_member_data {
                l.timeout_member_data = t.unwrap_or(DEFAULT_TIMEOUT_MEMBER_DATA);
            }
            if let Some(t) = req.timeout_tcp_inspect {
                l.timeout_tcp_inspect = t.unwrap_or(DEFAULT_TIMEOUT_TCP_INSPECT);
            }
            if let Some(c) = req.allowed_cidrs {
                l.allowed_cidrs = non_empty(c);
            }
            if let Some(t) = req.tags {
                l.tags = t;
            }
            l.prov = ProvisioningStatus::PendingUpdate;
            l.updated = Some(self.clock.now());
        }
        self.begin(&lb_id, Op::Update);
        let l = self
            .listeners
            .get(id)
            .ok_or_else(|| ApiError::not_found("Listener", id))?;
        Ok(json(
            StatusCode::OK,
            &ListenerRoot {
                listener: self.render_listener(l, true),
            },
        ))
    }

    fn listener_delete(&mut self, ctx: &Ctx, id: &str) -> Resp {
        let lb_id = self.visible_listener(ctx, id)?.lb_id.clone();
        self.require_child_mutable(&lb_id)?;
        if let Some(l) = self.listeners.get_mut(id) {
            l.prov = ProvisioningStatus::PendingDelete;
        }
        self.begin(&lb_id, Op::Update);
        Ok(StatusCode::NO_CONTENT.into_response())
    }

    // -----------------------------------------------------------------------------------------
    // Pools
    // -----------------------------------------------------------------------------------------

    fn pool_list(&self, ctx: &Ctx, q: &Query, urls: &Urls) -> Resp {
        let by_lb = q.all("loadbalancer_id");
        let candidates: Vec<&PoolRec> = if by_lb.is_empty() {
            self.pools.values().collect()
        } else {
            by_lb
                .iter()
                .filter_map(|id| self.lbs.get(*id))
                .flat_map(|lb| lb.pools.iter().filter_map(|p| self.pools.get(p)))
                .collect()
        };
        let mut ps: Vec<&PoolRec> = candidates
            .into_iter()
            .filter(|p| ctx.may_see(&p.project_id))
            .filter(|p| q.may_match(&p.tags, &p.name))
            .collect();
        ps.sort_by_key(|p| p.seq);
        ps.dedup_by_key(|p| p.seq);
        let rematch = q.needs_render_match(&["loadbalancer_id"]);
        let items = ps
            .into_iter()
            .filter_map(|p| {
                let r = self.render_pool(p);
                (!rematch || q.matches(&to_value(&r), &lb_filter(&p.lb_id))).then_some(r)
            })
            .collect();
        let base = format!("{}/v2/lbaas/pools", urls.octavia);
        let (pools, links) = paginate(items, |x| x.id.as_str(), q, &base)?;
        Ok(json(
            StatusCode::OK,
            &PoolList {
                pools,
                pools_links: links,
            },
        ))
    }

    fn pool_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
        let (req, raw): (CreatePool, Value) = v::parse_root(body, "pool")?;
        v::check_fields("pool", &raw, v::POOL_CREATE, self.version())?;
        v::check_pool_children(&raw, self.version())?;
        let lb_id = match (&req.loadbalancer_id, &req.listener_id) {
            (Some(lb), _) => lb.clone(),
            (None, Some(l)) => self
                .listeners
                .get(l)
                .map(|l| l.lb_id.clone())
                .ok_or_else(|| ApiError::not_found("Listener", l))?,
            (None, None) => {
                return Err(ApiError::validation(
                    "Must provide at least one of: loadbalancer_id, listener_id",
                ));
            }
        };
        let lb = self.visible_lb(ctx, &lb_id)?;
        let (project, provider) = (lb.project_id.clone(), lb.provider.clone());
        self.validate_pool_attributes(&req, &provider)?;
        for m in req.members.iter().flatten() {
            self.validate_member(m, &provider)?;
        }
        if let Some(hm) = &req.healthmonitor {
            self.validate_hm_attributes(hm)?;
        }
        self.check_quota(&project, Counted::Pool, 1)?;
        if let Some(lid) = &req.listener_id {
            let l = self
                .listeners
                .get(lid)
                .filter(|l| l.lb_id == lb_id)
                .ok_or_else(|| ApiError::not_found("Listener", lid))?;
            if l.default_pool_id.is_some() {
                return Err(ApiError::octavia(
                    409,
                    "This listener already has a default pool",
                ));
            }
            if let Some(pp) = req.protocol {
                v::check_listener_pool_protocols(l.protocol, pp)?;
            }
        }
        self.require_child_mutable(&lb_id)?;
        // Nested children reach SQLAlchemy as dicts (an empty `members` list is dropped
        // first, a `null` monitor is no monitor): 500, nothing created.
        if req.members.as_ref().is_some_and(|m| !m.is_empty()) || req.healthmonitor.is_some() {
            return Err(nested_object_fault());
        }
        let id = self.insert_pool(&lb_id, &project, &req);
        if let Some(lid) = &req.listener_id
            && let Some(l) = self.listeners.get_mut(lid)
        {
            l.default_pool_id = Some(id.clone());
            l.prov = ProvisioningStatus::PendingUpdate;
        }
        self.begin(&lb_id, Op::Update);
        let p = self
            .pools
            .get(&id)
            .ok_or_else(|| ApiError::not_found("Pool", &id))?;
        Ok(json(
            StatusCode::CREATED,
            &PoolRoot {
                pool: self.render_pool(p),
            },
        ))
    }

    fn pool_update(&mut self, ctx: &Ctx, id: &str, body: &[u8]) -> Resp {
        let p = self.visible_pool(ctx, id)?;
        let (lb_id, protocol) = (p.lb_id.clone(), p.protocol);
        let (req, raw): (UpdatePool, Value) = v::parse_root(body, "pool")?;
        v::check_fields("pool", &raw, v::POOL_UPDATE, self.version())?;
        self.require_child_mutable(&lb_id)?;
        let provider = self.provider_of(&lb_id);
        if let Some(a) = req.lb_algorithm {
            v::check_algorithm(a, self.version())?;
            if provider == v::OVN {
                v::ovn_algorithm(a)?;
            }
        }
        if let Some(Some(sp)) = &req.session_persistence {
            v::check_session_persistence(protocol, sp)?;
        }
        if let Some(p) = self.pools.get_mut(id) {
            if let Some(n) = req.name {
                p.name = n;
            }
            if let Some(d) = req.description {
                p.description = d;
            }
            if let Some(a) = req.admin_state_up {
                p.admin_state_up = a;
            }
            if let Some(a) = req.lb_algorithm {
                p.lb_algorithm = a;
            }
            if let Some(sp) = req.session_persistence {
                p.session_persistence = sp;
            }
            if let Some(t) = req.tags {
                p.tags = t;
            }
            if let Some(t) = req.tls_enabled {
                p.tls_enabled = t;
            }
            p.prov = ProvisioningStatus::PendingUpdate;
            p.updated = Some(self.clock.now());
        }
        self.mark_listeners_of_pool(id);
        self.begin(&lb_id, Op::Update);
        let p = self
            .pools
            .get(id)
            .ok_or_else(|| ApiError::not_found("Pool", id))?;
        Ok(json(
            StatusCode::OK,
            &PoolRoot {
                pool: self.render_pool(p),
            },
        ))
    }

    fn pool_delete(&mut self, ctx: &Ctx, id: &str) -> Resp {
        let p = self.visible_pool(ctx, id)?;
        let (lb_id, members, hm) = (p.lb_id.clone(), p.members.clone(), p.hm_id.clone());
        self.require_child_mutable(&lb_id)?;
        for m in members {
            if let Some(m) = self.members.get_mut(&m) {
                m.prov = ProvisioningStatus::PendingDelete;
            }
        }
        if let Some(h) = hm.and_then(|h| self.hms.get_mut(&h)) {
            h.prov = ProvisioningStatus::PendingDelete;
        }
        if let Some(p) = self.pools.get_mut(id) {
            p.prov = ProvisioningStatus::PendingDelete;
        }
        self.mark_listeners_of_pool(id);
        self.begin(&lb_id, Op::Update);
        Ok(StatusCode::NO_CONTENT.into_response())
    }

    // -----------------------------------------------------------------------------------------
    // Members
    // -----------------------------------------------------------------------------------------

    fn member_list(&self, ctx: &Ctx, pool_id: &str, q: &Query, urls: &Urls) -> Resp {
        let pool = self.visible_pool(ctx, pool_id)?;
        let items = pool
            .members
            .iter()
            .filter_map(|id| self.members.get(id))
            .map(|m| self.render_member(m))
            .filter(|r| q.matches(&to_value(r), &|_, _| None))
            .collect();
        let base = format!("{}/v2/lbaas/pools/{pool_id}/members", urls.octavia);
        let (members, links) = paginate(items, |x| x.id.as_str(), q, &base)?;
        Ok(json(
            StatusCode::OK,
            &MemberList {
                members,
                members_links: links,
            },
        ))
    }

    fn member_create(&mut self, ctx: &Ctx, pool_id: &str, body: &[u8]) -> Resp {
        let p = self.visible_pool(ctx, pool_id)?;
        let (lb_id, project, has_hm) = (p.lb_id.clone(), p.project_id.clone(), p.hm_id.is_some());
        let (req, raw): (CreateMember, Value) = v::parse_root(body, "member")?;
        v::check_fields("member", &raw, v::MEMBER_CREATE, self.version())?;
        let provider = self.provider_of(&lb_id);
        self.validate_member(&req, &provider)?;
        self.check_quota(&project, Counted::Member, 1)?;
        self.require_child_mutable(&lb_id)?;
        let duplicate = self.members.values().any(|m| {
            m.pool_id == pool_id && m.address == req.address && m.protocol_port == req.protocol_port
        });
        if duplicate {
            return Err(duplicate_member(&req.address, req.protocol_port));
        }
        let id = self.insert_member(pool_id, &project, &req, has_hm);
        if let Some(p) = self.pools.get_mut(pool_id) {
            p.members.push(id.clone());
        }
        self.mark_pool_and_listeners(pool_id);
        self.begin(&lb_id, Op::Update);
        let m = self
            .members
            .get(&id)
            .ok_or_else(|| ApiError::not_found("Member", &id))?;
        Ok(json(
            StatusCode::CREATED,
            &MemberRoot {
                member: self.render_member(m),
            },
        ))
    }

    /// `PUT /pools/{id}/members`: replaces the member set, matching by (address, port);
    /// 202 with an empty body (quirk 8).
    fn member_batch(&mut self, ctx: &Ctx, pool_id: &str, body: &[u8]) -> Resp {
        let p = self.visible_pool(ctx, pool_id)?;
        let (lb_id, project, has_hm, old) = (
            p.lb_id.clone(),
            p.project_id.clone(),
            p.hm_id.is_some(),
            p.members.clone(),
        );
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::octavia(
                400,
                format!("Invalid input for field/attribute members. {e}"),
            )
        })?;
        for m in value
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            v::check_fields("members", m, v::MEMBER_CREATE, self.version())?;
        }
        let req: MembersBatchUpdate = serde_json::from_value(value.clone()).map_err(|e| {
            ApiError::octavia(
                400,
                format!("Invalid input for field/attribute members. Value: '{value}'. {e}"),
            )
        })?;
        let provider = self.provider_of(&lb_id);
        for m in &req.members {
            self.validate_member(m, &provider)?;
        }
        self.require_child_mutable(&lb_id)?;
        let existing: BTreeMap<(String, u16), String> = old
            .iter()
            .filter_map(|id| self.members.get(id))
            .map(|m| ((m.address.clone(), m.protocol_port), m.id.clone()))
            .collect();
        // `MembersController.put`: an existing member named twice is a validation error, a
        // new one twice fails its second insert (`DuplicateMemberEntry`).
        let mut seen = BTreeSet::new();
        for m in &req.members {
            let key = (m.address.clone(), m.protocol_port);
            if seen.insert(key.clone()) {
                continue;
            }
            return Err(if existing.contains_key(&key) {
                ApiError::validation("Member must be updated only once in the same request.")
            } else {
                duplicate_member(&m.address, m.protocol_port)
            });
        }
        if req.members.is_empty() && existing.is_empty() {
            // Octavia returns early on a no-op batch, without touching the LB.
            return Ok(StatusCode::ACCEPTED.into_response());
        }
        let new_count = req
            .members
            .iter()
            .filter(|m| !existing.contains_key(&(m.address.clone(), m.protocol_port)))
            .count();
        self.check_quota(&project, Counted::Member, new_count)?;
        let now = self.now();
        let mut kept = BTreeSet::new();
        for m in &req.members {
            let key = (m.address.clone(), m.protocol_port);
            if let Some(id) = existing.get(&key) {
                kept.insert(id.clone());
                if let Some(rec) = self.members.get_mut(id) {
                    update_from_batch(rec, m);
                    rec.updated = Some(now);
                }
            } else {
                let id = self.insert_member(pool_id, &project, m, has_hm);
                if let Some(p) = self.pools.get_mut(pool_id) {
                    p.members.push(id);
                }
            }
        }
        for id in existing.values().filter(|id| !kept.contains(*id)) {
            if let Some(rec) = self.members.get_mut(id) {
                rec.prov = ProvisioningStatus::PendingDelete;
            }
        }
        self.mark_pool_and_listeners(pool_id);
        self.begin(&lb_id, Op::Update);
        Ok(StatusCode::ACCEPTED.into_response())
    }

    fn member_update(&mut self, ctx: &Ctx, pool_id: &str, id: &str, body: &[u8]) -> Resp {
        self.visible_member(ctx, pool_id, id)?;
        let lb_id = self
            .pools
            .get(pool_id)
            .map(|p| p.lb_id.clone())
            .unwrap_or_default();
        let (req, raw): (UpdateMember, Value) = v::parse_root(body, "member")?;
        v::check_fields("member", &raw, v::MEMBER_UPDATE, self.version())?;
        self.require_child_mutable(&lb_id)?;
        if let Some(w) = req.weight {
            v::check_range("weight", i64::from(w), 0, 256)?;
        }
        if self.provider_of(&lb_id) == v::OVN {
            v::ovn_member_monitor(
                req.monitor_address.clone().flatten().as_deref(),
                req.monitor_port.flatten(),
            )?;
        }
        let now = self.now();
        if let Some(m) = self.members.get_mut(id) {
            if let Some(n) = req.name {
                m.name = n;
            }
            if let Some(w) = req.weight {
                m.weight = w;
            }
            if let Some(b) = req.backup {
                m.backup = b;
            }
            if let Some(a) = req.admin_state_up {
                m.admin_state_up = a;
            }
            if let Some(a) = req.monitor_address {
                m.monitor_address = a;
            }
            if let Some(p) = req.monitor_port {
                m.monitor_port = p;
            }
            if let Some(t) = req.tags {
                m.tags = t;
            }
            m.prov = ProvisioningStatus::PendingUpdate;
            m.updated = Some(now);
        }
        self.mark_pool_and_listeners(pool_id);
        self.begin(&lb_id, Op::Update);
        let m = self
            .members
            .get(id)
            .ok_or_else(|| ApiError::not_found("Member", id))?;
        Ok(json(
            StatusCode::OK,
            &MemberRoot {
                member: self.render_member(m),
            },
        ))
    }

    fn member_delete(&mut self, ctx: &Ctx, pool_id: &str, id: &str) -> Resp {
        self.visible_member(ctx, pool_id, id)?;
        let lb_id = self
            .pools
            .get(pool_id)
            .map(|p| p.lb_id.clone())
            .unwrap_or_default();
        self.require_child_mutable(&lb_id)?;
        if let Some(m) = self.members.get_mut(id) {
            m.prov = ProvisioningStatus::PendingDelete;
        }
        self.mark_pool_and_listeners(pool_id);
        self.begin(&lb_id, Op::Update);
        Ok(StatusCode::NO_CONTENT.into_response())
    }

    // -----------------------------------------------------------------------------------------
    // Health monitors
    // -----------------------------------------------------------------------------------------

    fn hm_list(&self, ctx: &Ctx, q: &Query, urls: &Urls) -> Resp {
        let by_pool = q.all("pool_id");
        let candidates: Vec<&HmRec> = if by_pool.is_empty() {
            self.hms.values().collect()
        } else {
            by_pool
                .iter()
                .filter_map(|id| self.pools.get(*id))
                .filter_map(|p| p.hm_id.as_ref().and_then(|h| self.hms.get(h)))
                .collect()
        };
        let mut hs: Vec<&HmRec> = candidates
            .into_iter()
            .filter(|h| ctx.may_see(&h.project_id))
            .filter(|h| q.may_match(&h.tags, &h.name))
            .collect();
        hs.sort_by_key(|h| h.seq);
        hs.dedup_by_key(|h| h.seq);
        let rematch = q.needs_render_match(&["pool_id"]);
        let items = hs
            .into_iter()
            .filter_map(|h| {
                let r = self.render_hm(h, true);
                (!rematch || q.matches(&to_value(&r), &pool_filter(&h.pool_id))).then_some(r)
            })
            .collect();
        let base = format!("{}/v2/lbaas/healthmonitors", urls.octavia);
        let (healthmonitors, links) = paginate(items, |x| x.id.as_str(), q, &base)?;
        Ok(json(
            StatusCode::OK,
            &HealthMonitorList {
                healthmonitors,
                healthmonitors_links: links,
            },
        ))
    }

    fn hm_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
        let (req, raw): (CreateHealthMonitor, Value) = v::parse_root(body, "healthmonitor")?;
        v::check_fields("healthmonitor", &raw, v::HM_CREATE, self.version())?;
        let pool_id = req.pool_id.clone().ok_or_else(|| {
            ApiError::octavia(
                400,
                format!("Invalid input for field/attribute pool_id. Value: '{raw}'. Mandatory field missing."),
            )
        })?;
        let p = self.visible_pool(ctx, &pool_id)?;
        let (lb_id, project, protocol, has_hm) = (
            p.lb_id.clone(),
            p.project_id.clone(),
            p.protocol,
            p.hm_id.is_some(),
        );
        let provider = self.provider_of(&lb_id);
        self.validate_hm(&req, protocol, &provider)?;
        self.check_quota(&project, Counted::HealthMonitor, 1)?;
        self.require_child_mutable(&lb_id)?;
        if has_hm {
            return Err(ApiError::octavia(
                409,
                "This pool already has a health monitor",
            ));
        }
        let id = self.insert_hm(&pool_id, &project, &req);
        if let Some(p) = self.pools.get_mut(&pool_id) {
            p.hm_id = Some(id.clone());
        }
        self.mark_pool_and_listeners(&pool_id);
        self.begin(&lb_id, Op::Update);
        let h = self
            .hms
            .get(&id)
            .ok_or_else(|| ApiError::not_found("Health Monitor", &id))?;
        Ok(json(
            StatusCode::CREATED,
            &HealthMonitorRoot {
                healthmonitor: self.render_hm(h, true),
            },
        ))
    }

    fn hm_update(&mut self, ctx: &Ctx, id: &str, body: &[u8]) -> Resp {
        let h = self.visible_hm(ctx, id)?;
        let (pool_id, kind, delay, timeout) = (h.pool_id.clone(), h.kind, h.delay, h.timeout);
        let (lb_id, protocol) = self
            .pools
            .get(&pool_id)
            .map(|p| (p.lb_id.clone(), p.protocol))
            .ok_or_else(|| ApiError::not_found("Pool", &pool_id))?;
        let (req, raw): (UpdateHealthMonitor, Value) = v::parse_root(body, "healthmonitor")?;
        v::check_fields("healthmonitor", &raw, v::HM_UPDATE, self.version())?;
        self.require_child_mutable(&lb_id)?;
        if let Some(r) = req.max_retries {
            v::check_range("max_retries", i64::from(r), 1, 10)?;
        }
        if let Some(r) = req.max_retries_down {
            v::check_range("max_retries_down", i64::from(r), 1, 10)?;
        }
        let http_fields =
            req.http_method.is_some() || req.url_path.is_some() || req.expected_codes.is_some();
        v::check_monitor(
            kind,
            protocol,
            req.delay.unwrap_or(delay),
            req.timeout.unwrap_or(timeout),
            http_fields,
            self.strict_monitor(),
        )?;
        let now = self.now();
        if let Some(h) = self.hms.get_mut(id) {
            if let Some(n) = req.name {
                h.name = n;
            }
            if let Some(d) = req.delay {
                h.delay = d;
            }
            if let Some(t) = req.timeout {
                h.timeout = t;
            }
            if let Some(r) = req.max_retries {
                h.max_retries = r;
            }
            if let Some(r) = req.max_retries_down {
                h.max_retries_down = r;
            }
            if let Some(m) = req.http_method {
                h.http_method = Some(m);
            }
            if let Some(u) = req.url_path {
                h.url_path = Some(u);
            }
            if let Some(c) = req.expected_codes {
                h.expected_codes = Some(c);
            }
            if let Some(a) = req.admin_state_up {
                h.admin_state_up = a;
            }
            if let Some(t) = req.tags {
                h.tags = t;
            }
            h.prov = ProvisioningStatus::PendingUpdate;
            h.updated = Some(now);
        }
        self.mark_pool_and_listeners(&pool_id);
        self.begin(&lb_id, Op::Update);
        let h = self
            .hms
            .get(id)
            .ok_or_else(|| ApiError::not_found("Health Monitor", id))?;
        Ok(json(
            StatusCode::OK,
            &HealthMonitorRoot {
                healthmonitor: self.render_hm(h, true),
            },
        ))
    }

    fn hm_delete(&mut self, ctx: &Ctx, id: &str) -> Resp {
        let pool_id = self.visible_hm(ctx, id)?.pool_id.clone();
        let lb_id = self
            .pools
            .get(&pool_id)
            .map(|p| p.lb_id.clone())
            .unwrap_or_default();
        self.require_child_mutable(&lb_id)?;
        if let Some(h) = self.hms.get_mut(id) {
            h.prov = ProvisioningStatus::PendingDelete;
        }
        self.mark_pool_and_listeners(&pool_id);
        self.begin(&lb_id, Op::Update);
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}

/// Octavia `DuplicateListenerEntry` (`octavia/common/exceptions.py`), 409: a listener of the
/// same L4 protocol already uses the port. `taken` is that listener's protocol, as the real
/// message names it (`... using protocol TCP and protocol_port 53` for an HTTP:53 next to a
/// TCP:53).
fn duplicate_listener(taken: Protocol, port: u16) -> ApiError {
    ApiError::octavia(
        409,
        format!(
            "Another Listener on this Load Balancer is already using protocol {taken} and \
             protocol_port {port}"
        ),
    )
}

/// Octavia's `L4_PROTOCOL_MAP` (`octavia/common/constants.py`): listeners whose protocols map
/// to the same L4 protocol may not share a port; TCP and UDP may.
fn l4_protocol(p: Protocol) -> Protocol {
    match p {
        Protocol::Udp => Protocol::Udp,
        Protocol::Sctp => Protocol::Sctp,
        Protocol::Tcp
        | Protocol::Http
        | Protocol::Https
        | Protocol::TerminatedHttps
        | Protocol::Proxy
        | Protocol::ProxyV2
        | Protocol::Prometheus => Protocol::Tcp,
    }
}

/// What Octavia 19 answers to a single-object create with nested children (a listener's
/// `default_pool`, a pool's `members` or `healthmonitor`): the ORM is handed a dict.
fn nested_object_fault() -> ApiError {
    ApiError::octavia(500, "'dict' object has no attribute '_sa_instance_state'")
}

/// An existing member's update from its batch entry. The entry is a `MemberPOST` rendered
/// without unset attributes, so the attributes with schema defaults are always written
/// (`weight` 1, `backup` false, `admin_state_up` true, `monitor_address`/`monitor_port`
/// null) while `name`, `tags` and `subnet_id` change only when given. The id stays.
fn update_from_batch(rec: &mut MemberRec, m: &CreateMember) {
    if let Some(n) = &m.name {
        rec.name.clone_from(n);
    }
    rec.weight = m.weight.unwrap_or(1);
    rec.backup = m.backup.unwrap_or(false);
    rec.admin_state_up = m.admin_state_up.unwrap_or(true);
    rec.monitor_address.clone_from(&m.monitor_address);
    rec.monitor_port = m.monitor_port;
    if let Some(t) = &m.tags {
        rec.tags.clone_from(t);
    }
    if let Some(s) = &m.subnet_id {
        rec.subnet_id = Some(s.clone());
    }
    rec.prov = ProvisioningStatus::PendingUpdate;
}

/// Octavia `DuplicateMemberEntry`, 409.
fn duplicate_member(address: &str, port: u16) -> ApiError {
    ApiError::octavia(
        409,
        format!(
            "Another member on this pool is already using ip {address} on protocol_port {port}"
        ),
    )
}
