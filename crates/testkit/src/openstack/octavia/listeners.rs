//! Listeners: the timeout defaults, validation, records, the CRUD handlers and the
//! one-port-per-L4-protocol rule.

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kks_lb_octavia_model::api::octavia::{
    CreateListener, ListenerList, ListenerRoot, UpdateListener,
};
use kks_lb_octavia_model::{OperatingStatus, Protocol, ProvisioningStatus};
use serde_json::Value;

use super::validate as v;
use super::{Counted, Resp, Sh, lb_filter, list_page, nested_object_fault};
use crate::openstack::error::{ApiError, ApiResult};
use crate::openstack::query::Query;
use crate::openstack::server::{Ctx, json, read_state, with_state};
use crate::openstack::state::{ListenerRec, Op, State, Urls};

/// Listener timeout defaults (Octavia `constants.DEFAULT_TIMEOUT_*`), also what a `null` in a
/// PUT resets to.
pub(super) const DEFAULT_TIMEOUT_CLIENT_DATA: u32 = 50_000;
pub(super) const DEFAULT_TIMEOUT_MEMBER_CONNECT: u32 = 5_000;
pub(super) const DEFAULT_TIMEOUT_MEMBER_DATA: u32 = 50_000;
pub(super) const DEFAULT_TIMEOUT_TCP_INSPECT: u32 = 0;
/// Octavia's upper bound of the listener timeouts (one year, ms).
pub(super) const MAX_TIMEOUT: i64 = 31_536_000_000;

pub(super) async fn list_listeners(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
) -> Response {
    read_state(&sh, |st, urls| {
        st.listener_list(&ctx, &Query::parse(q.as_deref()), urls)
    })
}
pub(super) async fn create_listener(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.listener_create(&ctx, &body))
}
pub(super) async fn get_listener(
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
pub(super) async fn update_listener(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_state(&sh, |st, _| st.listener_update(&ctx, &id, &body))
}
pub(super) async fn delete_listener(
    AxState(sh): Sh,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    with_state(&sh, |st, _| st.listener_delete(&ctx, &id))
}

pub(super) fn non_empty(cidrs: Option<Vec<String>>) -> Option<Vec<String>> {
    cidrs.filter(|c| !c.is_empty())
}

impl State {
    pub(super) fn validate_listener(&self, l: &CreateListener, provider: &str) -> ApiResult<()> {
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

    pub(super) fn insert_listener(
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

    pub(super) fn listener_list(&self, ctx: &Ctx, q: &Query, urls: &Urls) -> Resp {
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
        let base = format!("{}/v2/lbaas/listeners", urls.octavia);
        let (listeners, links) = list_page(
            ctx,
            q,
            candidates,
            &["loadbalancer_id"],
            |l| self.render_listener(l, true),
            |l, k, v| lb_filter(&l.lb_id)(k, v),
            &base,
        )?;
        Ok(json(
            StatusCode::OK,
            &ListenerList {
                listeners,
                listeners_links: links,
            },
        ))
    }

    pub(super) fn listener_create(&mut self, ctx: &Ctx, body: &[u8]) -> Resp {
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

    pub(super) fn listener_update(&mut self, ctx: &Ctx, id: &str, body: &[u8]) -> Resp {
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

    pub(super) fn listener_delete(&mut self, ctx: &Ctx, id: &str) -> Resp {
        let lb_id = self.visible_listener(ctx, id)?.lb_id.clone();
        self.require_child_mutable(&lb_id)?;
        if let Some(l) = self.listeners.get_mut(id) {
            l.prov = ProvisioningStatus::PendingDelete;
        }
        self.begin(&lb_id, Op::Update);
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}

/// Octavia `DuplicateListenerEntry` (`octavia/common/exceptions.py`), 409: a listener of the
/// same L4 protocol already uses the port. `taken` is that listener's protocol, as the real
/// message names it (`... using protocol TCP and protocol_port 53` for an HTTP:53 next to a
/// TCP:53).
pub(super) fn duplicate_listener(taken: Protocol, port: u16) -> ApiError {
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
pub(super) fn l4_protocol(p: Protocol) -> Protocol {
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
