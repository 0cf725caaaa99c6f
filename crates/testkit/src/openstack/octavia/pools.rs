//! Pools: validation (with their monitor and members), records and the CRUD handlers.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kks_lb_octavia_model::api::octavia::{CreatePool, PoolList, PoolRoot, UpdatePool};
use kks_lb_octavia_model::{OperatingStatus, Protocol, ProvisioningStatus};
use serde_json::Value;

use super::members::duplicate_member;
use super::validate as v;
use super::{Counted, Resp, Sh, lb_filter, list_page, nested_object_fault};
use crate::openstack::error::{ApiError, ApiResult};
use crate::openstack::query::Query;
use crate::openstack::server::{Ctx, json, read_state, with_state};
use crate::openstack::state::{Op, PoolRec, State, Urls};

pub(super) async fn list_pools(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, urls| {
        st.pool_list(&ctx, &Query::parse(q.as_deref()), urls)
    })
}
pub(super) async fn create_pool(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.pool_create(&ctx, &body))
}
pub(super) async fn get_pool(
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
pub(super) async fn update_pool(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.pool_update(&ctx, &id, &body))
}
pub(super) async fn delete_pool(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| st.pool_delete(&ctx, &id))
}

pub(super) fn is_full_pool(p: &CreatePool) -> bool {
    p.protocol.is_some()
        || p.lb_algorithm.is_some()
        || p.members.is_some()
        || p.healthmonitor.is_some()
        || p.session_persistence.is_some()
        || p.description.is_some()
        || p.tags.is_some()
        || p.admin_state_up.is_some()
}

impl State {
    /// A complete pool definition with its monitor and members.
    pub(super) fn validate_pool(&self, p: &CreatePool, provider: &str) -> ApiResult<()> {
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
    pub(super) fn validate_pool_attributes(
        &self,
        p: &CreatePool,
        provider: &str,
    ) -> ApiResult<Protocol> {
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

    /// Inserts a validated pool with its monitor and members; returns its id.
    pub(super) fn insert_pool(&mut self, lb_id: &str, project: &str, p: &CreatePool) -> String {
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

    pub(super) fn pool_list(&self, ctx: &Ctx, q: &Query, urls: &Urls) -> Resp {
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
        let base = format!("{}/v2/lbaas/pools", urls.octavia);
        let (pools, links) = list_page(
            ctx,
            q,
            candidates,
            &["loadbalancer_id"],
            |p| self.render_pool(p),
            |p, k, v| lb_filter(&p.lb_id)(k, v),
            &base,
        )?;
        Ok(json(
            StatusCode::OK,
            &PoolList {
                pools,
                pools_links: links,
            },
        ))
    }

    pub(super) fn pool_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
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

    pub(super) fn pool_update(&mut self, ctx: &Ctx, id: &str, body: &[u8]) -> Resp {
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

    pub(super) fn pool_delete(&mut self, ctx: &Ctx, id: &str) -> Resp {
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
}
