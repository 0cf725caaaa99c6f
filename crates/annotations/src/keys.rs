//! Annotation keys kks-lb reads, as constants, and [`TABLE`]: every key with its value type,
//! default, what it maps to and its rules. `docs/annotations.md` is generated from [`TABLE`]
//! (`kks-lb docs annotations`).
//!
//! The names are OpenStack Cloud Controller Manager's, so Services written for OCCM keep working.

/// The prefix of kks-lb's (and OCCM's) own annotations.
pub const PREFIX: &str = "loadbalancer.openstack.org/";

/// bool; default: config `internal-lb` (false). `true`: no floating IP, the ingress IP is the VIP.
pub const INTERNAL: &str = "service.beta.kubernetes.io/openstack-internal-load-balancer";
/// Comma-separated CIDRs; legacy form of `spec.loadBalancerSourceRanges`, read only when that
/// field is empty.
pub const SOURCE_RANGES: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";
/// Integer ≥ -1; default -1 (unlimited). Listener `connection_limit`.
pub const CONNECTION_LIMIT: &str = "loadbalancer.openstack.org/connection-limit";
/// Milliseconds, 0–86400000; default 50000. Listener `timeout_client_data`.
pub const TIMEOUT_CLIENT_DATA: &str = "loadbalancer.openstack.org/timeout-client-data";
/// Milliseconds, 0–86400000; default 5000. Listener `timeout_member_connect`.
pub const TIMEOUT_MEMBER_CONNECT: &str = "loadbalancer.openstack.org/timeout-member-connect";
/// Milliseconds, 0–86400000; default 50000. Listener `timeout_member_data`.
pub const TIMEOUT_MEMBER_DATA: &str = "loadbalancer.openstack.org/timeout-member-data";
/// Milliseconds, 0–86400000; default 0. Listener `timeout_tcp_inspect`.
pub const TIMEOUT_TCP_INSPECT: &str = "loadbalancer.openstack.org/timeout-tcp-inspect";
/// ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP or SOURCE_IP_PORT; default: config `lb-method`.
pub const LB_METHOD: &str = "loadbalancer.openstack.org/lb-method";
/// bool; default: config `create-monitor`; forced on for `externalTrafficPolicy: Local` unless
/// explicitly `false`.
pub const ENABLE_HEALTH_MONITOR: &str = "loadbalancer.openstack.org/enable-health-monitor";
/// Seconds ≥ 1; default 10 (config `monitor-delay`). Monitor `delay`.
pub const HEALTH_MONITOR_DELAY: &str = "loadbalancer.openstack.org/health-monitor-delay";
/// Seconds ≥ 1, less than the delay; default 5 (config `monitor-timeout`). Monitor `timeout`.
pub const HEALTH_MONITOR_TIMEOUT: &str = "loadbalancer.openstack.org/health-monitor-timeout";
/// 1–10; default 3. Monitor `max_retries` (successes to mark a member up).
pub const HEALTH_MONITOR_MAX_RETRIES: &str =
    "loadbalancer.openstack.org/health-monitor-max-retries";
/// 1–10; default 3. Monitor `max_retries_down` (failures to mark a member down).
pub const HEALTH_MONITOR_MAX_RETRIES_DOWN: &str =
    "loadbalancer.openstack.org/health-monitor-max-retries-down";
/// bool; default false. HTTP listener and pool inserting `X-Forwarded-For`; TCP ports only,
/// not with [`PROXY_PROTOCOL`].
pub const X_FORWARDED_FOR: &str = "loadbalancer.openstack.org/x-forwarded-for";
/// `true`/`v1`, `v2` or `false`; default false. Pool protocol PROXY / PROXYV2; TCP ports only,
/// not with [`X_FORWARDED_FOR`].
pub const PROXY_PROTOCOL: &str = "loadbalancer.openstack.org/proxy-protocol";
/// RFC 1123 DNS name; reported in the ingress status instead of the IP.
pub const HOSTNAME: &str = "loadbalancer.openstack.org/hostname";
/// `k=v,k2=v2,k3` (a key alone: the label must exist); default: config `node-selector`.
pub const NODE_SELECTOR: &str = "loadbalancer.openstack.org/node-selector";
/// bool; default false. Detach the floating IP instead of releasing it.
pub const KEEP_FLOATING_IP: &str = "loadbalancer.openstack.org/keep-floatingip";
/// Octavia flavor (an OpenStack resource id): platform-managed, the config `flavor-id` is
/// used and a user value is ignored with a Warning.
pub const FLAVOR_ID: &str = "loadbalancer.openstack.org/flavor-id";
/// Availability zone name; default: config `availability-zone`. Create-only.
pub const AVAILABILITY_ZONE: &str = "loadbalancer.openstack.org/availability-zone";
/// UUID of the Service's load balancer; written by the controller.
pub const LOAD_BALANCER_ID: &str = "loadbalancer.openstack.org/load-balancer-id";
/// IP address of the load balancer; written by the controller, informational.
pub const LOAD_BALANCER_ADDRESS: &str = "loadbalancer.openstack.org/load-balancer-address";

/// Platform-managed: ignored with a Warning, the configured value is used.
pub const FLOATING_NETWORK_ID: &str = "loadbalancer.openstack.org/floating-network-id";
/// Platform-managed: ignored with a Warning.
pub const FLOATING_SUBNET_ID: &str = "loadbalancer.openstack.org/floating-subnet-id";
/// Platform-managed: ignored with a Warning.
pub const FLOATING_SUBNET: &str = "loadbalancer.openstack.org/floating-subnet";
/// Platform-managed: ignored with a Warning.
pub const FLOATING_SUBNET_TAGS: &str = "loadbalancer.openstack.org/floating-subnet-tags";
/// Platform-managed: ignored with a Warning.
pub const SUBNET_ID: &str = "loadbalancer.openstack.org/subnet-id";
/// Platform-managed: ignored with a Warning.
pub const NETWORK_ID: &str = "loadbalancer.openstack.org/network-id";
/// Platform-managed: ignored with a Warning.
pub const MEMBER_SUBNET_ID: &str = "loadbalancer.openstack.org/member-subnet-id";
/// Platform-managed: ignored with a Warning.
pub const PORT_ID: &str = "loadbalancer.openstack.org/port-id";
/// Platform-managed: ignored with a Warning.
pub const CLASS: &str = "loadbalancer.openstack.org/class";

/// OCCM's TLS termination; not supported (use an Ingress controller), ignored with a Warning.
pub const DEFAULT_TLS_CONTAINER_REF: &str = "loadbalancer.openstack.org/default-tls-container-ref";
/// OCCM's TLS certificate store; not supported, ignored with a Warning.
pub const CONTAINER_STORE: &str = "loadbalancer.openstack.org/container-store";

/// Who sets a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Set by users on their Services.
    User,
    /// Written by the controller; users read it (and normally leave it alone).
    Controller,
    /// Carries OpenStack resource IDs the platform configures: a user value is ignored with a
    /// `PlatformManagedAnnotation` Warning.
    Platform,
    /// An OCCM key kks-lb does not support: ignored with a `FeatureUnsupported` Warning.
    Unsupported,
}

/// One row of the annotation reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The full annotation key.
    pub key: &'static str,
    /// Who sets it.
    pub kind: KeyKind,
    /// Accepted values.
    pub value_type: &'static str,
    /// Value used when the annotation is absent.
    pub default: &'static str,
    /// What it becomes in Octavia / Neutron / the Service status.
    pub maps_to: &'static str,
    /// Rules beyond the value type (conflicts, cloud requirements); may be empty.
    pub rule: &'static str,
}

impl KeyInfo {
    /// The key without [`PREFIX`] (`health-monitor-delay`); keys outside the prefix in full.
    pub fn short(&self) -> &'static str {
        short(self.key)
    }

    /// Whether a user may set the key.
    pub fn user_settable(&self) -> bool {
        self.kind == KeyKind::User
    }

    /// Whether the key is platform-managed (a user value is ignored).
    pub fn platform_managed(&self) -> bool {
        self.kind == KeyKind::Platform
    }
}

/// `key` without [`PREFIX`], or `key` itself when it lies outside the prefix.
pub fn short(key: &str) -> &str {
    key.strip_prefix(PREFIX).unwrap_or(key)
}

/// The row of `key` (a full key), if kks-lb knows it.
pub fn info(key: &str) -> Option<&'static KeyInfo> {
    TABLE.iter().find(|k| k.key == key)
}

const fn row(
    key: &'static str,
    kind: KeyKind,
    value_type: &'static str,
    default: &'static str,
    maps_to: &'static str,
    rule: &'static str,
) -> KeyInfo {
    KeyInfo {
        key,
        kind,
        value_type,
        default,
        maps_to,
        rule,
    }
}

const TIMEOUT_RULE: &str =
    "Octavia ≥ 2.1 and not the `ovn` provider; otherwise left out with a Warning";
const PLATFORM: &str = "platform-managed: a user value is ignored with a Warning";

/// Every annotation kks-lb knows, in documentation order: user keys, controller-written keys,
/// platform-managed keys, unsupported OCCM keys.
pub static TABLE: &[KeyInfo] = &[
    row(
        INTERNAL,
        KeyKind::User,
        "bool",
        "config `internal-lb` (false)",
        "no floating IP; the ingress IP is the VIP",
        "",
    ),
    row(
        SOURCE_RANGES,
        KeyKind::User,
        "comma-separated CIDRs",
        "none (all clients)",
        "every listener's `allowed_cidrs`",
        "legacy; read only when `spec.loadBalancerSourceRanges` is empty",
    ),
    row(
        CONNECTION_LIMIT,
        KeyKind::User,
        "integer, -1 to 2147483647",
        "-1 (unlimited)",
        "listener `connection_limit`",
        "",
    ),
    row(
        TIMEOUT_CLIENT_DATA,
        KeyKind::User,
        "milliseconds, 0 to 86400000",
        "50000",
        "listener `timeout_client_data`",
        TIMEOUT_RULE,
    ),
    row(
        TIMEOUT_MEMBER_CONNECT,
        KeyKind::User,
        "milliseconds, 0 to 86400000",
        "5000",
        "listener `timeout_member_connect`",
        TIMEOUT_RULE,
    ),
    row(
        TIMEOUT_MEMBER_DATA,
        KeyKind::User,
        "milliseconds, 0 to 86400000",
        "50000",
        "listener `timeout_member_data`",
        TIMEOUT_RULE,
    ),
    row(
        TIMEOUT_TCP_INSPECT,
        KeyKind::User,
        "milliseconds, 0 to 86400000",
        "0",
        "listener `timeout_tcp_inspect`",
        TIMEOUT_RULE,
    ),
    row(
        LB_METHOD,
        KeyKind::User,
        "ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP, SOURCE_IP_PORT",
        "config `lb-method` (ROUND_ROBIN)",
        "pool `lb_algorithm`",
        "the `ovn` provider accepts only SOURCE_IP_PORT and SOURCE_IP",
    ),
    row(
        ENABLE_HEALTH_MONITOR,
        KeyKind::User,
        "bool",
        "config `create-monitor` (false)",
        "one health monitor per pool",
        "forced on for `externalTrafficPolicy: Local` unless explicitly `false` (then a Warning: \
         traffic is dropped on nodes without endpoints)",
    ),
    row(
        HEALTH_MONITOR_DELAY,
        KeyKind::User,
        "seconds, 1 to 2147483647",
        "config `monitor-delay` (10)",
        "monitor `delay`",
        "",
    ),
    row(
        HEALTH_MONITOR_TIMEOUT,
        KeyKind::User,
        "seconds, 1 to 2147483647",
        "config `monitor-timeout` (5)",
        "monitor `timeout`",
        "must be less than `health-monitor-delay`",
    ),
    row(
        HEALTH_MONITOR_MAX_RETRIES,
        KeyKind::User,
        "integer, 1 to 10",
        "config `monitor-max-retries` (3)",
        "monitor `max_retries` (successes to mark a member up)",
        "",
    ),
    row(
        HEALTH_MONITOR_MAX_RETRIES_DOWN,
        KeyKind::User,
        "integer, 1 to 10",
        "config `monitor-max-retries-down` (3)",
        "monitor `max_retries_down` (failures to mark a member down)",
        "",
    ),
    row(
        X_FORWARDED_FOR,
        KeyKind::User,
        "bool",
        "false",
        "HTTP listener and pool, `insert_headers {\"X-Forwarded-For\": \"true\"}`, HTTP monitor \
         GET `/` expecting 200",
        "not with `proxy-protocol`; TCP ports only",
    ),
    row(
        PROXY_PROTOCOL,
        KeyKind::User,
        "`true` or `v1`, `v2`, `false`",
        "false",
        "pool protocol PROXY (v1) or PROXYV2 (v2); ingress `ipMode: Proxy`",
        "not with `x-forwarded-for`; TCP ports only",
    ),
    row(
        HOSTNAME,
        KeyKind::User,
        "DNS name (RFC 1123, lower case)",
        "none",
        "ingress `hostname` instead of `ip`",
        "`\"\"` means none",
    ),
    row(
        NODE_SELECTOR,
        KeyKind::User,
        "`k=v,k2=v2,k3` (a key alone: the label must exist)",
        "config `node-selector` (all nodes)",
        "member filter on node labels",
        "label keys and values in Kubernetes syntax; `\"\"` selects all nodes",
    ),
    row(
        KEEP_FLOATING_IP,
        KeyKind::User,
        "bool",
        "false",
        "on delete or switch to internal the floating IP is detached, not released",
        "",
    ),
    row(
        AVAILABILITY_ZONE,
        KeyKind::User,
        "availability zone name",
        "config `availability-zone`",
        "load balancer `availability_zone`",
        "Octavia ≥ 2.14, not `ovn`; `\"\"` means none; create-only: a change on a live load \
         balancer is a Warning (replace needed)",
    ),
    row(
        LOAD_BALANCER_ID,
        KeyKind::Controller,
        "UUID",
        "written by the controller",
        "the Service's load balancer",
        "only a load balancer carrying this cluster's and Service's tags is ever changed",
    ),
    row(
        LOAD_BALANCER_ADDRESS,
        KeyKind::Controller,
        "IP address",
        "written by the controller",
        "informational",
        "",
    ),
    row(
        FLOATING_NETWORK_ID,
        KeyKind::Platform,
        "network UUID",
        "config",
        "floating IP network",
        PLATFORM,
    ),
    row(
        FLOATING_SUBNET_ID,
        KeyKind::Platform,
        "subnet UUID",
        "config",
        "floating IP subnet",
        PLATFORM,
    ),
    row(
        FLOATING_SUBNET,
        KeyKind::Platform,
        "subnet name",
        "config",
        "floating IP subnet",
        PLATFORM,
    ),
    row(
        FLOATING_SUBNET_TAGS,
        KeyKind::Platform,
        "subnet tags",
        "config",
        "floating IP subnet",
        PLATFORM,
    ),
    row(
        SUBNET_ID,
        KeyKind::Platform,
        "subnet UUID",
        "config",
        "VIP subnet",
        PLATFORM,
    ),
    row(
        NETWORK_ID,
        KeyKind::Platform,
        "network UUID",
        "config",
        "VIP network",
        PLATFORM,
    ),
    row(
        MEMBER_SUBNET_ID,
        KeyKind::Platform,
        "subnet UUID",
        "config",
        "member subnet",
        PLATFORM,
    ),
    row(
        FLAVOR_ID,
        KeyKind::Platform,
        "flavor UUID or name",
        "config `flavor-id`",
        "load balancer `flavor_id` (Octavia ≥ 2.6, not `ovn`)",
        PLATFORM,
    ),
    row(
        PORT_ID,
        KeyKind::Platform,
        "port UUID",
        "config",
        "VIP port",
        PLATFORM,
    ),
    row(
        CLASS,
        KeyKind::Platform,
        "class name",
        "config",
        "`[LoadBalancerClass]` section",
        PLATFORM,
    ),
    row(
        DEFAULT_TLS_CONTAINER_REF,
        KeyKind::Unsupported,
        "Barbican container reference",
        "none",
        "nothing (OCCM: TERMINATED_HTTPS listener)",
        "not supported: terminate TLS in an Ingress controller behind the load balancer",
    ),
    row(
        CONTAINER_STORE,
        KeyKind::Unsupported,
        "`barbican` or `external`",
        "none",
        "nothing (OCCM: TLS certificate store)",
        "not supported: terminate TLS in an Ingress controller behind the load balancer",
    ),
];

/// A Service spec field [`crate::parse`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecField {
    /// The field path (`spec.ports[].protocol`).
    pub field: &'static str,
    /// Accepted values.
    pub value_type: &'static str,
    /// What it becomes.
    pub maps_to: &'static str,
}

/// The Service spec fields kks-lb reads besides the annotations, in documentation order.
pub static SPEC_FIELDS: &[SpecField] = &[
    SpecField {
        field: "spec.type",
        value_type: "LoadBalancer",
        maps_to: "anything else is an error (the controller deletes the load balancer of a \
                  Service that stops being one)",
    },
    SpecField {
        field: "spec.loadBalancerClass",
        value_type: "string",
        maps_to: "handled when unset or equal to the controller's `--load-balancer-class`",
    },
    SpecField {
        field: "spec.ports[]",
        value_type: "at least one; (protocol, port) unique",
        maps_to: "one listener and pool per port, named by protocol and port",
    },
    SpecField {
        field: "spec.ports[].protocol",
        value_type: "TCP (default), UDP, SCTP",
        maps_to: "listener and pool protocol (SCTP needs Octavia ≥ 2.23)",
    },
    SpecField {
        field: "spec.ports[].port",
        value_type: "1 to 65535",
        maps_to: "listener `protocol_port`",
    },
    SpecField {
        field: "spec.ports[].nodePort",
        value_type: "1 to 65535",
        maps_to: "member port on every eligible node",
    },
    SpecField {
        field: "spec.allocateLoadBalancerNodePorts",
        value_type: "bool",
        maps_to: "`false` and no nodePort: pools without members (Warning `NoNodePorts`)",
    },
    SpecField {
        field: "spec.loadBalancerSourceRanges[]",
        value_type: "CIDR blocks",
        maps_to: "every listener's `allowed_cidrs` (Octavia ≥ 2.12, not `ovn`; else not sent, \
                  Warning `SourceRangesIgnored`)",
    },
    SpecField {
        field: "spec.externalTrafficPolicy",
        value_type: "Cluster (default), Local",
        maps_to: "Local: health monitor forced on, HTTP GET `/healthz` on `healthCheckNodePort`",
    },
    SpecField {
        field: "spec.healthCheckNodePort",
        value_type: "1 to 65535, only with Local",
        maps_to: "health monitor port (member `monitor_port`)",
    },
    SpecField {
        field: "spec.sessionAffinity",
        value_type: "None (default), ClientIP",
        maps_to: "ClientIP: pool `session_persistence {type: SOURCE_IP}`",
    },
    SpecField {
        field: "spec.loadBalancerIP",
        value_type: "IP address",
        maps_to: "external: that existing floating IP; internal: the VIP address",
    },
    SpecField {
        field: "spec.ipFamilies[0]",
        value_type: "IPv4 (default), IPv6",
        maps_to: "the address family of members",
    },
];

/// The known key closest to `unknown` (a full key), if one is close enough to be a likely typo:
/// `loadbalancer.openstack.org/health-monitor-dealy` → `health-monitor-delay`'s row.
pub fn closest(unknown: &str) -> Option<&'static KeyInfo> {
    let wanted = short(unknown).to_ascii_lowercase();
    let in_prefix = unknown.starts_with(PREFIX);
    TABLE
        .iter()
        .filter(|k| k.key.starts_with(PREFIX) == in_prefix)
        .map(|k| (strsim::damerau_levenshtein(&wanted, k.short()), k))
        .filter(|(d, k)| *d <= (k.short().len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_each_key_once() {
        let mut keys: Vec<_> = TABLE.iter().map(|k| k.key).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn closest_finds_a_transposed_key() {
        let k = closest("loadbalancer.openstack.org/health-monitor-dealy").unwrap();
        assert_eq!(k.key, HEALTH_MONITOR_DELAY);
    }

    #[test]
    fn closest_finds_a_key_written_in_capitals() {
        let k = closest("loadbalancer.openstack.org/X-Forwarded-For").unwrap();
        assert_eq!(k.key, X_FORWARDED_FOR);
    }

    #[test]
    fn closest_gives_nothing_for_an_unrelated_key() {
        assert_eq!(closest("loadbalancer.openstack.org/banana"), None);
    }
}
