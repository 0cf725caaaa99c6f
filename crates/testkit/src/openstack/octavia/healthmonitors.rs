//! Health monitors: validation, records and the CRUD handlers.

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kks_lb_octavia_model::api::octavia::{
    CreateHealthMonitor, HealthMonitorList, HealthMonitorRoot, UpdateHealthMonitor,
};
use kks_lb_octavia_model::{MonitorType, OperatingStatus, Protocol, ProvisioningStatus};
use serde_json::Value;

use super::validate as v;
use super::{Counted, Resp, Sh, list_page, pool_filter};
use crate::openstack::error::{ApiError, ApiResult};
use crate::openstack::query::Query;
use crate::openstack::server::{Ctx, json, read_state, with_state};
use crate::openstack::state::{HmRec, Op, State, Urls};

pub(super) async fn list_hms(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, urls| {
        st.hm_list(&ctx, &Query::parse(q.as_deref()), urls)
    })
}
pub(super) async fn create_hm(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.hm_create(&ctx, &body))
}
pub(super) async fn get_hm(
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
pub(super) async fn update_hm(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.hm_update(&ctx, &id, &body))
}
pub(super) async fn delete_hm(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| st.hm_delete(&ctx, &id))
}

impl State {
    pub(super) fn validate_hm(
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
    pub(super) fn validate_hm_attributes(&self, h: &CreateHealthMonitor) -> ApiResult<()> {
        v::check_monitor_type(h.kind, self.version())?;
        v::check_range("delay", i64::from(h.delay), 0, i64::from(i32::MAX))?;
        v::check_range("timeout", i64::from(h.timeout), 0, i64::from(i32::MAX))?;
        v::check_range("max_retries", i64::from(h.max_retries), 1, 10)?;
        if let Some(d) = h.max_retries_down {
            v::check_range("max_retries_down", i64::from(d), 1, 10)?;
        }
        Ok(())
    }

    pub(super) fn insert_hm(
        &mut self,
        pool_id: &str,
        project: &str,
        h: &CreateHealthMonitor,
    ) -> String {
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

    pub(super) fn hm_list(&self, ctx: &Ctx, q: &Query, urls: &Urls) -> Resp {
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
        let base = format!("{}/v2/lbaas/healthmonitors", urls.octavia);
        let (healthmonitors, links) = list_page(
            ctx,
            q,
            candidates,
            &["pool_id"],
            |h| self.render_hm(h, true),
            |h, k, v| pool_filter(&h.pool_id)(k, v),
            &base,
        )?;
        Ok(json(
            StatusCode::OK,
            &HealthMonitorList {
                healthmonitors,
                healthmonitors_links: links,
            },
        ))
    }

    pub(super) fn hm_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
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

    pub(super) fn hm_update(&mut self, ctx: &Ctx, id: &str, body: &[u8]) -> Resp {
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

    pub(super) fn hm_delete(&mut self, ctx: &Ctx, id: &str) -> Resp {
        let pool_id = self.visible_hm(ctx, id)?.pool_id.clone();
        let lb_id = self.lb_of_pool(&pool_id);
        self.require_child_mutable(&lb_id)?;
        if let Some(h) = self.hms.get_mut(id) {
            h.prov = ProvisioningStatus::PendingDelete;
        }
        self.mark_pool_and_listeners(&pool_id);
        self.begin(&lb_id, Op::Update);
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}
