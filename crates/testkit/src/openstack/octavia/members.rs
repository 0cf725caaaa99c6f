//! Members of a pool: validation, records, the CRUD handlers and the batch update
//! (`PUT /pools/{id}/members`).

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kks_lb_octavia_model::api::octavia::{
    CreateMember, MemberList, MemberRoot, MembersBatchUpdate, UpdateMember,
};
use kks_lb_octavia_model::{OperatingStatus, ProvisioningStatus};
use serde_json::Value;

use super::validate as v;
use super::{Counted, Resp, Sh, paginate, to_value};
use crate::openstack::error::{ApiError, ApiResult};
use crate::openstack::query::Query;
use crate::openstack::server::{Ctx, json, read_state, with_state};
use crate::openstack::state::{MemberRec, Op, State, Urls};

pub(super) async fn list_members(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, urls| {
        st.member_list(&ctx, &id, &Query::parse(q.as_deref()), urls)
    })
}
pub(super) async fn create_member(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.member_create(&ctx, &id, &body))
}
pub(super) async fn batch_members(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.member_batch(&ctx, &id, &body))
}
pub(super) async fn get_member(
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
pub(super) async fn update_member(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path((pool_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.member_update(&ctx, &pool_id, &id, &body))
}
pub(super) async fn delete_member(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path((pool_id, id)): Path<(String, String)>,
) -> Response {
    with_state(&sh, |st, _| st.member_delete(&ctx, &pool_id, &id))
}

impl State {
    pub(super) fn validate_member(&self, m: &CreateMember, provider: &str) -> ApiResult<()> {
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

    pub(super) fn insert_member(
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

    pub(super) fn member_list(&self, ctx: &Ctx, pool_id: &str, q: &Query, urls: &Urls) -> Resp {
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

    pub(super) fn member_create(&mut self, ctx: &Ctx, pool_id: &str, body: &[u8]) -> Resp {
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
    pub(super) fn member_batch(&mut self, ctx: &Ctx, pool_id: &str, body: &[u8]) -> Resp {
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

    pub(super) fn member_update(
        &mut self,
        ctx: &Ctx,
        pool_id: &str,
        id: &str,
        body: &[u8],
    ) -> Resp {
        self.visible_member(ctx, pool_id, id)?;
        let lb_id = self.lb_of_pool(pool_id);
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

    pub(super) fn member_delete(&mut self, ctx: &Ctx, pool_id: &str, id: &str) -> Resp {
        self.visible_member(ctx, pool_id, id)?;
        let lb_id = self.lb_of_pool(pool_id);
        self.require_child_mutable(&lb_id)?;
        if let Some(m) = self.members.get_mut(id) {
            m.prov = ProvisioningStatus::PendingDelete;
        }
        self.mark_pool_and_listeners(pool_id);
        self.begin(&lb_id, Op::Update);
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}

/// An existing member's update from its batch entry. The entry is a `MemberPOST` rendered
/// without unset attributes, so the attributes with schema defaults are always written
/// (`weight` 1, `backup` false, `admin_state_up` true, `monitor_address`/`monitor_port`
/// null) while `name`, `tags` and `subnet_id` change only when given. The id stays.
pub(super) fn update_from_batch(rec: &mut MemberRec, m: &CreateMember) {
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
pub(super) fn duplicate_member(address: &str, port: u16) -> ApiError {
    ApiError::octavia(
        409,
        format!(
            "Another member on this pool is already using ip {address} on protocol_port {port}"
        ),
    )
}
