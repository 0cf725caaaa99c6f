//! The attributes each body kind accepts, with the API version that introduced each.

/// (field, version that introduced it).
pub(crate) type Fields = &'static [(&'static str, (u32, u32))];

const V0: (u32, u32) = (2, 0);

pub(crate) const LB_CREATE: Fields = &[
    ("name", V0),
    ("description", V0),
    ("admin_state_up", V0),
    ("project_id", V0),
    ("tenant_id", V0),
    ("vip_subnet_id", V0),
    ("vip_network_id", V0),
    ("vip_port_id", V0),
    ("vip_address", V0),
    ("vip_qos_policy_id", V0),
    ("provider", V0),
    ("listeners", V0),
    ("pools", V0),
    ("tags", (2, 5)),
    ("flavor_id", (2, 6)),
    ("availability_zone", (2, 14)),
    ("additional_vips", (2, 26)),
    ("vip_sg_ids", (2, 29)),
];

pub(crate) const LB_UPDATE: Fields = &[
    ("name", V0),
    ("description", V0),
    ("admin_state_up", V0),
    ("vip_qos_policy_id", V0),
    ("tags", (2, 5)),
    ("vip_sg_ids", (2, 29)),
];

pub(crate) const LISTENER_CREATE: Fields = &[
    ("name", V0),
    ("description", V0),
    ("admin_state_up", V0),
    ("protocol", V0),
    ("protocol_port", V0),
    ("loadbalancer_id", V0),
    ("project_id", V0),
    ("tenant_id", V0),
    ("connection_limit", V0),
    ("default_pool_id", V0),
    ("default_pool", V0),
    ("insert_headers", V0),
    ("default_tls_container_ref", V0),
    ("sni_container_refs", V0),
    ("l7policies", V0),
    ("timeout_client_data", (2, 1)),
    ("timeout_member_connect", (2, 1)),
    ("timeout_member_data", (2, 1)),
    ("timeout_tcp_inspect", (2, 1)),
    ("tags", (2, 5)),
    ("client_ca_tls_container_ref", (2, 8)),
    ("client_authentication", (2, 8)),
    ("client_crl_container_ref", (2, 8)),
    ("allowed_cidrs", (2, 12)),
    ("tls_ciphers", (2, 15)),
    ("tls_versions", (2, 17)),
    ("alpn_protocols", (2, 20)),
    ("hsts_max_age", (2, 27)),
    ("hsts_include_subdomains", (2, 27)),
    ("hsts_preload", (2, 27)),
];

pub(crate) const LISTENER_UPDATE: Fields = &[
    ("name", V0),
    ("description", V0),
    ("admin_state_up", V0),
    ("connection_limit", V0),
    ("default_pool_id", V0),
    ("insert_headers", V0),
    ("default_tls_container_ref", V0),
    ("sni_container_refs", V0),
    ("timeout_client_data", (2, 1)),
    ("timeout_member_connect", (2, 1)),
    ("timeout_member_data", (2, 1)),
    ("timeout_tcp_inspect", (2, 1)),
    ("tags", (2, 5)),
    ("client_ca_tls_container_ref", (2, 8)),
    ("client_authentication", (2, 8)),
    ("client_crl_container_ref", (2, 8)),
    ("allowed_cidrs", (2, 12)),
    ("tls_ciphers", (2, 15)),
    ("tls_versions", (2, 17)),
    ("alpn_protocols", (2, 20)),
    ("hsts_max_age", (2, 27)),
    ("hsts_include_subdomains", (2, 27)),
    ("hsts_preload", (2, 27)),
];

pub(crate) const POOL_CREATE: Fields = &[
    ("name", V0),
    ("description", V0),
    ("admin_state_up", V0),
    ("protocol", V0),
    ("lb_algorithm", V0),
    ("listener_id", V0),
    ("loadbalancer_id", V0),
    ("project_id", V0),
    ("tenant_id", V0),
    ("session_persistence", V0),
    // In the schema (`PoolPOST`), though the create then fails with a 500 (see
    // `check_pool_children`).
    ("members", V0),
    ("healthmonitor", V0),
    ("tags", (2, 5)),
    ("tls_container_ref", (2, 8)),
    ("ca_tls_container_ref", (2, 8)),
    ("crl_container_ref", (2, 8)),
    ("tls_enabled", (2, 8)),
    ("tls_ciphers", (2, 15)),
    ("tls_versions", (2, 17)),
    ("alpn_protocols", (2, 24)),
];

/// A pool inside a fully-populated create (or a listener's inline `default_pool`): members
/// and monitor nested.
pub(crate) const GRAPH_POOL: Fields = &[
    ("name", V0),
    ("description", V0),
    ("admin_state_up", V0),
    ("protocol", V0),
    ("lb_algorithm", V0),
    ("project_id", V0),
    ("tenant_id", V0),
    ("session_persistence", V0),
    ("members", V0),
    ("healthmonitor", V0),
    ("tags", (2, 5)),
    ("tls_container_ref", (2, 8)),
    ("ca_tls_container_ref", (2, 8)),
    ("crl_container_ref", (2, 8)),
    ("tls_enabled", (2, 8)),
    ("tls_ciphers", (2, 15)),
    ("tls_versions", (2, 17)),
    ("alpn_protocols", (2, 24)),
];

pub(crate) const POOL_UPDATE: Fields = &[
    ("name", V0),
    ("description", V0),
    ("admin_state_up", V0),
    ("lb_algorithm", V0),
    ("session_persistence", V0),
    ("tags", (2, 5)),
    ("tls_container_ref", (2, 8)),
    ("ca_tls_container_ref", (2, 8)),
    ("crl_container_ref", (2, 8)),
    ("tls_enabled", (2, 8)),
    ("tls_ciphers", (2, 15)),
    ("tls_versions", (2, 17)),
    ("alpn_protocols", (2, 24)),
];

pub(crate) const MEMBER_CREATE: Fields = &[
    ("name", V0),
    ("address", V0),
    ("protocol_port", V0),
    ("weight", V0),
    ("subnet_id", V0),
    ("monitor_address", V0),
    ("monitor_port", V0),
    ("admin_state_up", V0),
    ("project_id", V0),
    ("tenant_id", V0),
    ("backup", (2, 1)),
    ("tags", (2, 5)),
];

pub(crate) const MEMBER_UPDATE: Fields = &[
    ("name", V0),
    ("weight", V0),
    ("monitor_address", V0),
    ("monitor_port", V0),
    ("admin_state_up", V0),
    ("backup", (2, 1)),
    ("tags", (2, 5)),
];

pub(crate) const HM_CREATE: Fields = &[
    ("name", V0),
    ("type", V0),
    ("delay", V0),
    ("timeout", V0),
    ("max_retries", V0),
    ("max_retries_down", V0),
    ("http_method", V0),
    ("url_path", V0),
    ("expected_codes", V0),
    ("admin_state_up", V0),
    ("pool_id", V0),
    ("project_id", V0),
    ("tenant_id", V0),
    ("tags", (2, 5)),
    ("http_version", (2, 10)),
    ("domain_name", (2, 10)),
];

pub(crate) const HM_UPDATE: Fields = &[
    ("name", V0),
    ("delay", V0),
    ("timeout", V0),
    ("max_retries", V0),
    ("max_retries_down", V0),
    ("http_method", V0),
    ("url_path", V0),
    ("expected_codes", V0),
    ("admin_state_up", V0),
    ("tags", (2, 5)),
    ("http_version", (2, 10)),
    ("domain_name", (2, 10)),
];
