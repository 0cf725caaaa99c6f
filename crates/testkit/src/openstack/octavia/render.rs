//! State records to Octavia response bodies, in the shapes of the real samples.

use kks_lb_octavia_model::api::octavia::{
    HealthMonitorResponse, HealthMonitorStatus, IdRef, ListenerResponse, ListenerStatus,
    LoadBalancerFullResponse, LoadBalancerResponse, LoadBalancerStatus, MemberResponse,
    MemberStatus, PoolFullResponse, PoolMonitor, PoolRefs, PoolResponse, PoolStatus, StatusRoot,
    Statuses,
};

use crate::openstack::state::{HmRec, LbRec, ListenerRec, MemberRec, PoolRec, State};

impl State {
    fn stamp(&self, at: tokio::time::Instant) -> String {
        self.clock.octavia(at)
    }

    fn stamp_opt(&self, at: Option<tokio::time::Instant>) -> Option<String> {
        at.map(|t| self.clock.octavia(t))
    }

    fn lb_common<L, P>(
        &self,
        lb: &LbRec,
        listeners: Vec<L>,
        pools: Vec<P>,
    ) -> LoadBalancerResponse<L, P> {
        LoadBalancerResponse {
            id: lb.id.clone(),
            name: lb.name.clone(),
            description: lb.description.clone(),
            provisioning_status: lb.prov,
            operating_status: lb.oper,
            admin_state_up: lb.admin_state_up,
            project_id: lb.project_id.clone(),
            created_at: self.stamp(lb.created),
            updated_at: self.stamp_opt(lb.updated),
            vip_address: Some(lb.vip_address.clone()),
            vip_port_id: Some(lb.vip_port_id.clone()),
            vip_subnet_id: Some(lb.vip_subnet_id.clone()),
            vip_network_id: Some(lb.vip_network_id.clone()),
            vip_sg_ids: Some(Vec::new()),
            additional_vips: Some(Vec::new()),
            listeners,
            pools,
            provider: Some(lb.provider.clone()),
            flavor_id: lb.flavor_id.clone(),
            vip_qos_policy_id: lb.vip_qos_policy_id.clone(),
            tags: lb.tags.clone(),
            availability_zone: lb.availability_zone.clone(),
            vip_vnic_type: Some("normal".to_owned()),
            tenant_id: Some(lb.project_id.clone()),
        }
    }

    /// GET/PUT/list form: children by id.
    pub(crate) fn render_lb(&self, lb: &LbRec) -> LoadBalancerResponse {
        let listeners = lb.listeners.iter().map(IdRef::new).collect();
        let pools = lb.pools.iter().map(IdRef::new).collect();
        self.lb_common(lb, listeners, pools)
    }

    /// Create response: children embedded.
    pub(crate) fn render_lb_full(&self, lb: &LbRec) -> LoadBalancerFullResponse {
        let listeners = lb
            .listeners
            .iter()
            .filter_map(|id| self.listeners.get(id))
            .map(|l| self.render_listener(l, false))
            .collect();
        let pools = lb
            .pools
            .iter()
            .filter_map(|id| self.pools.get(id))
            .map(|p| self.render_pool_full(p))
            .collect();
        self.lb_common(lb, listeners, pools)
    }

    /// A listener; `with_lbs` adds the `loadbalancers` references of GET responses.
    pub(crate) fn render_listener(&self, l: &ListenerRec, with_lbs: bool) -> ListenerResponse {
        ListenerResponse {
            id: l.id.clone(),
            name: l.name.clone(),
            description: l.description.clone(),
            provisioning_status: l.prov,
            operating_status: l.oper,
            admin_state_up: l.admin_state_up,
            protocol: l.protocol,
            protocol_port: l.protocol_port,
            connection_limit: l.connection_limit,
            default_tls_container_ref: None,
            sni_container_refs: Vec::new(),
            project_id: l.project_id.clone(),
            default_pool_id: l.default_pool_id.clone(),
            l7policies: Vec::new(),
            insert_headers: l.insert_headers.clone(),
            created_at: self.stamp(l.created),
            updated_at: self.stamp_opt(l.updated),
            loadbalancers: with_lbs.then(|| vec![IdRef::new(&l.lb_id)]),
            timeout_client_data: Some(l.timeout_client_data),
            timeout_member_connect: Some(l.timeout_member_connect),
            timeout_member_data: Some(l.timeout_member_data),
            timeout_tcp_inspect: Some(l.timeout_tcp_inspect),
            tags: l.tags.clone(),
            client_ca_tls_container_ref: None,
            client_authentication: Some("NONE".to_owned()),
            client_crl_container_ref: None,
            allowed_cidrs: l.allowed_cidrs.clone(),
            tls_ciphers: None,
            tls_versions: None,
            alpn_protocols: None,
            hsts_max_age: None,
            hsts_include_subdomains: Some(false),
            hsts_preload: Some(false),
            tenant_id: Some(l.project_id.clone()),
        }
    }

    /// Listeners whose default pool is `pool_id`.
    pub(crate) fn pool_listeners(&self, pool_id: &str) -> Vec<IdRef> {
        let mut ls: Vec<&ListenerRec> = self
            .listeners
            .values()
            .filter(|l| l.default_pool_id.as_deref() == Some(pool_id))
            .collect();
        ls.sort_by_key(|l| l.seq);
        ls.into_iter().map(|l| IdRef::new(&l.id)).collect()
    }

    /// GET/PUT/list form of a pool.
    pub(crate) fn render_pool(&self, p: &PoolRec) -> PoolResponse {
        let members = p.members.iter().map(IdRef::new).collect();
        let links = PoolRefs {
            loadbalancers: vec![IdRef::new(&p.lb_id)],
            healthmonitor_id: p.hm_id.clone(),
        };
        self.render_pool_as(p, members, links)
    }

    /// Create-response form of a pool: full members and monitor.
    pub(crate) fn render_pool_full(&self, p: &PoolRec) -> PoolFullResponse {
        let members = p
            .members
            .iter()
            .filter_map(|id| self.members.get(id))
            .map(|m| self.render_member(m))
            .collect();
        let links = PoolMonitor {
            healthmonitor: p
                .hm_id
                .as_ref()
                .and_then(|id| self.hms.get(id))
                .map(|h| self.render_hm(h, false)),
        };
        self.render_pool_as(p, members, links)
    }

    /// A pool with the given member representation and shape-specific links.
    fn render_pool_as<M, X>(&self, p: &PoolRec, members: Vec<M>, links: X) -> PoolResponse<M, X> {
        PoolResponse {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            provisioning_status: p.prov,
            operating_status: p.oper,
            admin_state_up: p.admin_state_up,
            protocol: p.protocol,
            lb_algorithm: p.lb_algorithm,
            session_persistence: p.session_persistence.clone(),
            project_id: p.project_id.clone(),
            listeners: self.pool_listeners(&p.id),
            created_at: self.stamp(p.created),
            updated_at: self.stamp_opt(p.updated),
            members,
            links,
            tags: p.tags.clone(),
            tls_container_ref: None,
            ca_tls_container_ref: None,
            crl_container_ref: None,
            tls_enabled: p.tls_enabled,
            tls_ciphers: None,
            tls_versions: None,
            alpn_protocols: None,
            tenant_id: Some(p.project_id.clone()),
        }
    }

    /// A member.
    pub(crate) fn render_member(&self, m: &MemberRec) -> MemberResponse {
        MemberResponse {
            id: m.id.clone(),
            name: m.name.clone(),
            operating_status: m.oper,
            provisioning_status: m.prov,
            admin_state_up: m.admin_state_up,
            address: m.address.clone(),
            protocol_port: m.protocol_port,
            weight: m.weight,
            backup: m.backup,
            subnet_id: m.subnet_id.clone(),
            project_id: m.project_id.clone(),
            created_at: self.stamp(m.created),
            updated_at: self.stamp_opt(m.updated),
            monitor_address: m.monitor_address.clone(),
            monitor_port: m.monitor_port,
            tags: m.tags.clone(),
            vnic_type: Some("normal".to_owned()),
            tenant_id: Some(m.project_id.clone()),
        }
    }

    /// A monitor; `with_pools` adds the `pools` references of GET responses.
    pub(crate) fn render_hm(&self, h: &HmRec, with_pools: bool) -> HealthMonitorResponse {
        HealthMonitorResponse {
            id: h.id.clone(),
            name: h.name.clone(),
            kind: h.kind,
            delay: h.delay,
            timeout: h.timeout,
            max_retries: h.max_retries,
            max_retries_down: h.max_retries_down,
            http_method: h.http_method.clone(),
            url_path: h.url_path.clone(),
            expected_codes: h.expected_codes.clone(),
            admin_state_up: h.admin_state_up,
            project_id: h.project_id.clone(),
            pools: with_pools.then(|| vec![IdRef::new(&h.pool_id)]),
            provisioning_status: h.prov,
            operating_status: h.oper,
            created_at: self.stamp(h.created),
            updated_at: self.stamp_opt(h.updated),
            tags: h.tags.clone(),
            http_version: h.http_version.clone(),
            domain_name: h.domain_name.clone(),
            tenant_id: Some(h.project_id.clone()),
        }
    }

    /// The `/status` tree: listeners with their default pool, monitor (`health_monitor`) and
    /// members.
    pub(crate) fn render_status(&self, lb: &LbRec) -> StatusRoot {
        let listeners = lb
            .listeners
            .iter()
            .filter_map(|id| self.listeners.get(id))
            .map(|l| ListenerStatus {
                id: l.id.clone(),
                name: l.name.clone(),
                operating_status: l.oper,
                provisioning_status: l.prov,
                pools: l
                    .default_pool_id
                    .as_ref()
                    .and_then(|pid| self.pools.get(pid))
                    .map(|p| self.pool_status(p))
                    .into_iter()
                    .collect(),
            })
            .collect();
        StatusRoot {
            statuses: Statuses {
                loadbalancer: LoadBalancerStatus {
                    id: lb.id.clone(),
                    name: lb.name.clone(),
                    operating_status: lb.oper,
                    provisioning_status: lb.prov,
                    listeners,
                },
            },
        }
    }

    fn pool_status(&self, p: &PoolRec) -> PoolStatus {
        PoolStatus {
            id: p.id.clone(),
            name: p.name.clone(),
            provisioning_status: p.prov,
            operating_status: p.oper,
            health_monitor: p.hm_id.as_ref().and_then(|id| self.hms.get(id)).map(|h| {
                HealthMonitorStatus {
                    id: h.id.clone(),
                    name: h.name.clone(),
                    kind: h.kind,
                    provisioning_status: h.prov,
                    operating_status: h.oper,
                }
            }),
            members: p
                .members
                .iter()
                .filter_map(|id| self.members.get(id))
                .map(|m| MemberStatus {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    operating_status: m.oper,
                    provisioning_status: m.prov,
                    address: m.address.clone(),
                    protocol_port: m.protocol_port,
                })
                .collect(),
        }
    }
}
