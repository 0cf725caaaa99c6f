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
//!
//! Where things live:
//! - this file: [`routes`] (the URL map) and the shared handler shape: [`visible`] (find by
//!   id in the caller's project, else 404/403), [`list_page`] (visibility, tag/name filters,
//!   creation order, rendered-object filters, pagination), `require_child_mutable` (409
//!   while the parent LB is not ACTIVE), quotas and status marking;
//! - `loadbalancers`: LB list/create (with the VIP and the fully-populated graph)/update/
//!   delete and the status tree;
//! - `listeners`, `pools`, `members` (with the batch update), `healthmonitors`: each
//!   resource's handlers, body validation, record insertion and CRUD;
//! - `versions`: the version document, providers and quotas;
//! - `validate`: schema checks of the bodies (ranges, protocols, providers), with the
//!   accepted fields per API version in `validate/fields.rs`;
//! - `render`: records to response bodies.

mod healthmonitors;
mod listeners;
mod loadbalancers;
mod members;
mod pools;
mod render;
pub(crate) mod validate;
mod versions;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State as AxState;
use axum::response::Response;
use axum::routing::get;
use kks_lb_octavia_model::ProvisioningStatus;
use kks_lb_octavia_model::api::octavia::Link;
use serde::Serialize;
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::query::Query;
use super::server::Ctx;
use super::state::{HmRec, LbRec, ListenerRec, MemberRec, PoolRec, Shared, State};

type Resp = ApiResult<Response>;
type Sh = AxState<Arc<Shared>>;

/// The Octavia routes, relative to the server root.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    let mut router = Router::new()
        .route("/load-balancer", get(versions::versions))
        .route("/load-balancer/", get(versions::versions));
    for v in ["/load-balancer/v2", "/load-balancer/v2.0"] {
        router = router
            .route(
                &format!("{v}/lbaas/loadbalancers"),
                get(loadbalancers::list_lbs).post(loadbalancers::create_lb),
            )
            .route(
                &format!("{v}/lbaas/loadbalancers/{{id}}"),
                get(loadbalancers::get_lb)
                    .put(loadbalancers::update_lb)
                    .delete(loadbalancers::delete_lb),
            )
            .route(
                &format!("{v}/lbaas/loadbalancers/{{id}}/status"),
                get(loadbalancers::lb_status),
            )
            .route(
                &format!("{v}/lbaas/loadbalancers/{{id}}/statuses"),
                get(loadbalancers::lb_status),
            )
            .route(
                &format!("{v}/lbaas/listeners"),
                get(listeners::list_listeners).post(listeners::create_listener),
            )
            .route(
                &format!("{v}/lbaas/listeners/{{id}}"),
                get(listeners::get_listener)
                    .put(listeners::update_listener)
                    .delete(listeners::delete_listener),
            )
            .route(
                &format!("{v}/lbaas/pools"),
                get(pools::list_pools).post(pools::create_pool),
            )
            .route(
                &format!("{v}/lbaas/pools/{{id}}"),
                get(pools::get_pool)
                    .put(pools::update_pool)
                    .delete(pools::delete_pool),
            )
            .route(
                &format!("{v}/lbaas/pools/{{id}}/members"),
                get(members::list_members)
                    .post(members::create_member)
                    .put(members::batch_members),
            )
            .route(
                &format!("{v}/lbaas/pools/{{id}}/members/{{member_id}}"),
                get(members::get_member)
                    .put(members::update_member)
                    .delete(members::delete_member),
            )
            .route(
                &format!("{v}/lbaas/healthmonitors"),
                get(healthmonitors::list_hms).post(healthmonitors::create_hm),
            )
            .route(
                &format!("{v}/lbaas/healthmonitors/{{id}}"),
                get(healthmonitors::get_hm)
                    .put(healthmonitors::update_hm)
                    .delete(healthmonitors::delete_hm),
            )
            .route(&format!("{v}/lbaas/providers"), get(versions::providers))
            .route(
                &format!("{v}/lbaas/quotas/{{project}}"),
                get(versions::quota),
            )
    }
    router
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

/// What the shared lookup ([`visible`]) and list page ([`list_page`]) need of a top-level
/// record.
trait Listed {
    /// Octavia's display name of the kind, as 404s name it.
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn project_id(&self) -> &str;
    fn tags(&self) -> &[String];
    fn name(&self) -> &str;
    /// Creation order, the order of list answers.
    fn seq(&self) -> u64;
}

macro_rules! listed {
    ($($rec:ty => $kind:literal),* $(,)?) => {$(
        impl Listed for $rec {
            const KIND: &'static str = $kind;
            fn id(&self) -> &str {
                &self.id
            }
            fn project_id(&self) -> &str {
                &self.project_id
            }
            fn tags(&self) -> &[String] {
                &self.tags
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn seq(&self) -> u64 {
                self.seq
            }
        }
    )*};
}

listed!(
    LbRec => "Load Balancer",
    ListenerRec => "Listener",
    PoolRec => "Pool",
    HmRec => "Health Monitor",
);

/// Finds a record by id in the caller's view: 404 when there is none, 403 when it belongs to
/// another project.
fn visible<'a, R: Listed>(ctx: &Ctx, map: &'a BTreeMap<String, R>, id: &str) -> ApiResult<&'a R> {
    let rec = map
        .get(id)
        .ok_or_else(|| ApiError::not_found(R::KIND, id))?;
    if ctx.may_see(rec.project_id()) {
        Ok(rec)
    } else {
        Err(ApiError::forbidden())
    }
}

/// One list page: the `candidates` (possibly narrowed by an index, possibly repeated) the
/// caller may see and whose tags/name may match, in creation order, rendered, re-filtered
/// on the rendered object when the query asks more than `indexed` answers (`special` takes
/// the keys the rendered object does not carry), then paginated (by record id) under `base`.
fn list_page<'a, R: Listed + 'a, T: Serialize>(
    ctx: &Ctx,
    q: &Query,
    candidates: impl IntoIterator<Item = &'a R>,
    indexed: &[&str],
    render: impl Fn(&R) -> T,
    special: impl Fn(&R, &str, &[&str]) -> Option<bool>,
    base: &str,
) -> ApiResult<(Vec<T>, Vec<Link>)> {
    let mut recs: Vec<&R> = candidates
        .into_iter()
        .filter(|r| ctx.may_see(r.project_id()))
        .filter(|r| q.may_match(r.tags(), r.name()))
        .collect();
    recs.sort_by_key(|r| r.seq());
    recs.dedup_by_key(|r| r.seq());
    let rematch = q.needs_render_match(indexed);
    let items: Vec<(&R, T)> = recs
        .into_iter()
        .filter_map(|rec| {
            let r = render(rec);
            (!rematch || q.matches(&to_value(&r), &|k, v| special(rec, k, v))).then_some((rec, r))
        })
        .collect();
    let (page, links) = paginate(items, |(rec, _)| rec.id(), q, base)?;
    Ok((page.into_iter().map(|(_, r)| r).collect(), links))
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

impl State {
    fn version(&self) -> kks_lb_octavia_model::api::octavia::ApiVersion {
        self.cfg.max_api_version
    }

    fn strict_monitor(&self) -> bool {
        self.cfg.reject_monitor_timeout_over_delay
    }

    fn visible_lb(&self, ctx: &Ctx, id: &str) -> ApiResult<&LbRec> {
        visible(ctx, &self.lbs, id)
    }

    fn visible_listener(&self, ctx: &Ctx, id: &str) -> ApiResult<&ListenerRec> {
        visible(ctx, &self.listeners, id)
    }

    fn visible_pool(&self, ctx: &Ctx, id: &str) -> ApiResult<&PoolRec> {
        visible(ctx, &self.pools, id)
    }

    fn visible_member(&self, ctx: &Ctx, pool_id: &str, id: &str) -> ApiResult<&MemberRec> {
        self.visible_pool(ctx, pool_id)?;
        self.members
            .get(id)
            .filter(|m| m.pool_id == pool_id)
            .ok_or_else(|| ApiError::not_found("Member", id))
    }

    fn visible_hm(&self, ctx: &Ctx, id: &str) -> ApiResult<&HmRec> {
        visible(ctx, &self.hms, id)
    }

    /// The load balancer a pool belongs to (empty when the pool is gone).
    fn lb_of_pool(&self, pool_id: &str) -> String {
        self.pools
            .get(pool_id)
            .map(|p| p.lb_id.clone())
            .unwrap_or_default()
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
}

/// What Octavia 19 answers to a single-object create with nested children (a listener's
/// `default_pool`, a pool's `members` or `healthmonitor`): the ORM is handed a dict.
fn nested_object_fault() -> ApiError {
    ApiError::octavia(500, "'dict' object has no attribute '_sa_instance_state'")
}
