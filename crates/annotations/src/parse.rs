//! Service → [`LbSpec`]: [`parse`] and [`parse_report`].

use std::collections::BTreeMap;
use std::str::FromStr;

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use serde::Serialize;

use crate::error::{AnnotationError, Warning, WarningReason};
use crate::keys::{self, KeyKind};
use crate::spec::{
    Defaults, IpFamily, LbMethod, LbSpec, MonitorSpec, NodeSelector, PortProtocol, PortSpec,
    ProxyProtocol, Timeouts,
};
use crate::values::{
    Address, Cidr, ConnectionLimit, Flag, Hostname, InvalidValue, OpenStackName, Optional, Retries,
    Seconds, TimeoutMs, Uuid,
};

/// A valid Service: its [`LbSpec`] and the [`Warning`]s to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// The parsed Service.
    pub spec: LbSpec,
    /// Warnings (unknown keys, ignored platform-managed keys, ...), in a stable order.
    pub warnings: Vec<Warning>,
}

/// Everything [`parse_report`] found in a Service: the spec when valid, and every error and
/// warning (an invalid Service has warnings too, e.g. a misspelt key that explains an error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The parsed Service; `Some` exactly when `errors` is empty.
    pub spec: Option<LbSpec>,
    /// Every broken rule, in a stable order (metadata, spec fields, annotations in
    /// [`keys::TABLE`] order, then rules across keys).
    pub errors: Vec<AnnotationError>,
    /// Every warning, in a stable order.
    pub warnings: Vec<Warning>,
}

impl Report {
    /// `Ok(Parsed)` when valid, else every error (the warnings are dropped).
    pub fn into_result(self) -> Result<Parsed, Vec<AnnotationError>> {
        match self.spec {
            Some(spec) if self.errors.is_empty() => Ok(Parsed {
                spec,
                warnings: self.warnings,
            }),
            _ => Err(self.errors),
        }
    }
}

/// Parses a Service of type LoadBalancer into an [`LbSpec`], or reports every error at once.
///
/// Reads the annotations of [`keys::TABLE`] and the spec fields `type`, `loadBalancerClass`,
/// `ports`, `loadBalancerSourceRanges` (or the legacy annotation [`keys::SOURCE_RANGES`] when
/// the field is empty), `externalTrafficPolicy`, `healthCheckNodePort`, `sessionAffinity`,
/// `loadBalancerIP`, `ipFamilies` and `allocateLoadBalancerNodePorts`. Absent annotations take
/// their value from `defaults` (the cloud configuration) or the table's default.
///
/// # Errors
/// Every [`AnnotationError`] of the Service: a value that does not parse, a rule across keys
/// (timeout ≥ delay, X-Forwarded-For with PROXY, either on a UDP/SCTP port), a `spec.type`
/// other than LoadBalancer, no ports, duplicate ports, bad CIDRs. Never only the first.
///
/// Pure and total: it never panics, whatever the input.
pub fn parse(svc: &Service, defaults: &Defaults) -> Result<Parsed, Vec<AnnotationError>> {
    parse_report(svc, defaults).into_result()
}

/// Like [`parse`], but keeps the warnings of an invalid Service too.
pub fn parse_report(svc: &Service, defaults: &Defaults) -> Report {
    let empty = BTreeMap::new();
    let mut cx = Cx {
        ann: svc.metadata.annotations.as_ref().unwrap_or(&empty),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let spec = cx.service(svc, defaults);
    Report {
        spec: if cx.errors.is_empty() {
            Some(spec)
        } else {
            None
        },
        errors: cx.errors,
        warnings: cx.warnings,
    }
}

/// An annotation lookup: absent, present but invalid (the error is recorded), or a value.
enum Val<T> {
    Absent,
    Invalid,
    Given(T),
}

impl<T> Val<T> {
    /// The given value, else `default` (also when invalid: the Service is invalid anyway).
    fn or(self, default: T) -> T {
        match self {
            Val::Given(v) => v,
            Val::Absent | Val::Invalid => default,
        }
    }

    fn is_given(&self) -> bool {
        matches!(self, Val::Given(_))
    }
}

struct Cx<'a> {
    ann: &'a BTreeMap<String, String>,
    errors: Vec<AnnotationError>,
    warnings: Vec<Warning>,
}

/// A port as written, with its index in `spec.ports`, for messages.
struct IndexedPort {
    index: usize,
    spec: PortSpec,
}

fn int_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn int_u8(v: i64) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

fn port_u16(v: i32) -> Option<u16> {
    u16::try_from(v).ok().filter(|p| *p != 0)
}

impl Cx<'_> {
    fn err(&mut self, key: impl Into<String>, value: impl Into<String>, rule: impl Into<String>) {
        self.errors.push(AnnotationError::new(key, value, rule));
    }

    fn warn(&mut self, key: impl Into<String>, reason: WarningReason, message: impl Into<String>) {
        self.warnings.push(Warning::new(key, reason, message));
    }

    fn get<T: FromStr<Err = InvalidValue>>(&mut self, key: &str) -> Val<T> {
        let Some(raw) = self.ann.get(key) else {
            return Val::Absent;
        };
        match raw.parse() {
            Ok(v) => Val::Given(v),
            Err(InvalidValue(rule)) => {
                self.err(key, raw.as_str(), rule);
                Val::Invalid
            }
        }
    }

    fn raw(&self, key: &str) -> String {
        self.ann.get(key).cloned().unwrap_or_default()
    }

    fn service(&mut self, svc: &Service, defaults: &Defaults) -> LbSpec {
        let namespace = svc
            .metadata
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let name = svc.metadata.name.clone().unwrap_or_default();
        if name.is_empty() {
            self.err("metadata.name", "", "must be set");
        }
        let no_spec = ServiceSpec::default();
        let s = svc.spec.as_ref().unwrap_or(&no_spec);

        match s.type_.as_deref() {
            Some("LoadBalancer") => {}
            Some(other) => self.err("spec.type", other, "must be LoadBalancer"),
            None => self.err(
                "spec.type",
                "",
                "must be LoadBalancer (unset means ClusterIP)",
            ),
        }
        let ports = self.ports(s);
        let source_ranges = self.source_ranges(s);
        let local = match s.external_traffic_policy.as_deref() {
            None | Some("Cluster") => false,
            Some("Local") => true,
            Some(other) => {
                self.err(
                    "spec.externalTrafficPolicy",
                    other,
                    "must be Cluster or Local",
                );
                false
            }
        };
        let health_check_node_port = match s.health_check_node_port {
            None | Some(0) => None,
            Some(n) if !local => {
                self.err(
                    "spec.healthCheckNodePort",
                    n.to_string(),
                    "may be set only with externalTrafficPolicy: Local",
                );
                None
            }
            Some(n) => {
                let port = port_u16(n);
                if port.is_none() {
                    self.err(
                        "spec.healthCheckNodePort",
                        n.to_string(),
                        "must be from 1 to 65535",
                    );
                }
                port
            }
        };
        let session_affinity_client_ip = match s.session_affinity.as_deref() {
            None | Some("None") => false,
            Some("ClientIP") => true,
            Some(other) => {
                self.err("spec.sessionAffinity", other, "must be None or ClientIP");
                false
            }
        };
        let load_balancer_ip = match s.load_balancer_ip.as_deref() {
            None | Some("") => None,
            Some(ip) => match ip.parse::<Address>() {
                Ok(a) => Some(a.0),
                Err(InvalidValue(rule)) => {
                    self.err("spec.loadBalancerIP", ip, rule);
                    None
                }
            },
        };
        let mut ip_family = IpFamily::default();
        for (i, fam) in s.ip_families.iter().flatten().enumerate() {
            match fam.parse::<IpFamily>() {
                Ok(f) if i == 0 => ip_family = f,
                Ok(_) => {}
                Err(InvalidValue(rule)) => self.err(format!("spec.ipFamilies[{i}]"), fam, rule),
            }
        }

        // Annotations, in TABLE order.
        let internal = self
            .get::<Flag>(keys::INTERNAL)
            .or(Flag(defaults.internal_lb))
            .0;
        let connection_limit = self
            .get::<ConnectionLimit>(keys::CONNECTION_LIMIT)
            .map_get(-1);
        let d = Timeouts::default();
        let timeouts = Timeouts {
            client_data: int_u32(
                self.get::<TimeoutMs>(keys::TIMEOUT_CLIENT_DATA)
                    .map_get(d.client_data.into()),
            ),
            member_connect: int_u32(
                self.get::<TimeoutMs>(keys::TIMEOUT_MEMBER_CONNECT)
                    .map_get(d.member_connect.into()),
            ),
            member_data: int_u32(
                self.get::<TimeoutMs>(keys::TIMEOUT_MEMBER_DATA)
                    .map_get(d.member_data.into()),
            ),
            tcp_inspect: int_u32(
                self.get::<TimeoutMs>(keys::TIMEOUT_TCP_INSPECT)
                    .map_get(d.tcp_inspect.into()),
            ),
        };
        let lb_method = self.get::<LbMethod>(keys::LB_METHOD).or(defaults.lb_method);
        let health_monitor = self.monitor(local, defaults);
        let xff = self.get::<Flag>(keys::X_FORWARDED_FOR);
        let proxy = self.get::<ProxyProtocol>(keys::PROXY_PROTOCOL);
        let hostname = self
            .get::<Optional<Hostname>>(keys::HOSTNAME)
            .or(Optional(None))
            .0
            .map(Hostname::into_string);
        let node_selector: NodeSelector = self
            .get(keys::NODE_SELECTOR)
            .or_else(|| defaults.node_selector.clone());
        let keep_floating_ip = self.get::<Flag>(keys::KEEP_FLOATING_IP).or(Flag(false)).0;
        // Platform-managed (an OpenStack resource id, like subnet-id): a user value is
        // ignored with a Warning and the configured flavor is used.
        let flavor_id = defaults.flavor_id.clone();
        let availability_zone = match self.get::<Optional<OpenStackName>>(keys::AVAILABILITY_ZONE) {
            Val::Given(Optional(v)) => v.map(OpenStackName::into_string),
            Val::Absent | Val::Invalid => defaults.availability_zone.clone(),
        };
        let load_balancer_id = self
            .get::<Optional<Uuid>>(keys::LOAD_BALANCER_ID)
            .or(Optional(None))
            .0;
        let _address = self.get::<Optional<Address>>(keys::LOAD_BALANCER_ADDRESS);

        self.other_keys();

        // Rules across keys.
        let x_forwarded_for = self.client_address_rules(xff, proxy, &ports);

        let mut ports: Vec<PortSpec> = ports.into_iter().map(|p| p.spec).collect();
        ports.sort_by_key(|p| (p.protocol, p.port));
        LbSpec {
            namespace,
            name,
            uid: svc.metadata.uid.clone().filter(|u| !u.is_empty()),
            internal,
            ports,
            connection_limit,
            timeouts,
            lb_method,
            health_monitor,
            x_forwarded_for: x_forwarded_for.0,
            proxy_protocol: x_forwarded_for.1,
            hostname,
            node_selector,
            keep_floating_ip,
            flavor_id,
            availability_zone,
            source_ranges,
            session_affinity_client_ip,
            external_traffic_policy_local: local,
            health_check_node_port,
            load_balancer_ip,
            ip_family,
            load_balancer_class: s.load_balancer_class.clone().filter(|c| !c.is_empty()),
            load_balancer_id: load_balancer_id.map(Uuid::into_string),
        }
    }

    fn ports(&mut self, s: &ServiceSpec) -> Vec<IndexedPort> {
        let list = s.ports.as_deref().unwrap_or_default();
        if list.is_empty() {
            self.err("spec.ports", "", "must list at least one port");
        }
        let mut seen: BTreeMap<(PortProtocol, u16), usize> = BTreeMap::new();
        let mut out = Vec::new();
        let mut without_node_port = Vec::new();
        for (i, p) in list.iter().enumerate() {
            let protocol = match p.protocol.as_deref() {
                None => Some(PortProtocol::Tcp),
                Some(text) => match text.parse::<PortProtocol>() {
                    Ok(proto) => Some(proto),
                    Err(InvalidValue(rule)) => {
                        self.err(format!("spec.ports[{i}].protocol"), text, rule);
                        None
                    }
                },
            };
            let port = port_u16(p.port);
            if port.is_none() {
                self.err(
                    format!("spec.ports[{i}].port"),
                    p.port.to_string(),
                    "must be from 1 to 65535",
                );
            }
            let node_port = match p.node_port {
                None | Some(0) => None,
                Some(n) => {
                    let np = port_u16(n);
                    if np.is_none() {
                        self.err(
                            format!("spec.ports[{i}].nodePort"),
                            n.to_string(),
                            "must be from 1 to 65535",
                        );
                    }
                    np
                }
            };
            let (Some(protocol), Some(port)) = (protocol, port) else {
                continue;
            };
            if let Some(first) = seen.insert((protocol, port), i) {
                // Keep the first index for later duplicates too.
                seen.insert((protocol, port), first);
                self.err(
                    format!("spec.ports[{i}].port"),
                    port.to_string(),
                    format!(
                        "duplicates spec.ports[{first}] ({protocol}/{port}); each protocol and \
                         port pair may appear once"
                    ),
                );
                continue;
            }
            if node_port.is_none() && s.allocate_load_balancer_node_ports == Some(false) {
                without_node_port.push(format!("{protocol}/{port}"));
            }
            out.push(IndexedPort {
                index: i,
                spec: PortSpec {
                    name: p.name.clone().filter(|n| !n.is_empty()),
                    protocol,
                    port,
                    node_port,
                },
            });
        }
        if !without_node_port.is_empty() {
            self.warn(
                "spec.allocateLoadBalancerNodePorts",
                WarningReason::NoNodePorts,
                format!(
                    "node ports are not allocated, so the pools of {} get no members; set a \
                     nodePort or allocateLoadBalancerNodePorts: true",
                    without_node_port.join(", ")
                ),
            );
        }
        out
    }

    fn source_ranges(&mut self, s: &ServiceSpec) -> Vec<ipnet::IpNet> {
        let field = s.load_balancer_source_ranges.as_deref().unwrap_or_default();
        let mut out = Vec::new();
        if !field.is_empty() {
            for (i, text) in field.iter().enumerate() {
                match text.trim().parse::<Cidr>() {
                    Ok(c) => out.push(c.0),
                    Err(InvalidValue(rule)) => {
                        self.err(format!("spec.loadBalancerSourceRanges[{i}]"), text, rule);
                    }
                }
            }
            if self.ann.contains_key(keys::SOURCE_RANGES) {
                self.warn(
                    keys::SOURCE_RANGES,
                    WarningReason::AnnotationIgnored,
                    "ignored because spec.loadBalancerSourceRanges is set; remove the annotation",
                );
            }
            return out;
        }
        let Some(raw) = self.ann.get(keys::SOURCE_RANGES) else {
            return out;
        };
        if raw.trim().is_empty() {
            return out;
        }
        for (i, entry) in raw.split(',').enumerate() {
            let entry = entry.trim();
            match entry.parse::<Cidr>() {
                Ok(c) => out.push(c.0),
                Err(InvalidValue(rule)) => {
                    let n = i + 1;
                    self.err(
                        keys::SOURCE_RANGES,
                        raw.as_str(),
                        format!("entry {n} ({entry:?}) {rule}"),
                    );
                }
            }
        }
        out
    }

    fn monitor(&mut self, local: bool, defaults: &Defaults) -> Option<MonitorSpec> {
        let enable = self.get::<Flag>(keys::ENABLE_HEALTH_MONITOR);
        let delay = self.get::<Seconds>(keys::HEALTH_MONITOR_DELAY);
        let timeout = self.get::<Seconds>(keys::HEALTH_MONITOR_TIMEOUT);
        let retries = self.get::<Retries>(keys::HEALTH_MONITOR_MAX_RETRIES);
        let retries_down = self.get::<Retries>(keys::HEALTH_MONITOR_MAX_RETRIES_DOWN);
        let on = match (local, &enable) {
            (true, Val::Given(Flag(false))) => {
                self.warn(
                    keys::ENABLE_HEALTH_MONITOR,
                    WarningReason::HealthMonitorDisabled,
                    "health monitor disabled on a Service with externalTrafficPolicy: Local: \
                     traffic will be dropped on nodes without endpoints",
                );
                false
            }
            (true, _) => true,
            (false, Val::Given(Flag(on))) => *on,
            (false, Val::Absent | Val::Invalid) => defaults.create_monitor,
        };
        let m = defaults.monitor;
        let explicit = delay.is_given() || timeout.is_given();
        let delay_given = delay.is_given();
        let timeout_given = timeout.is_given();
        let delay = delay.map_known(m.delay.into());
        let timeout = timeout.map_known(m.timeout.into());
        if let (true, Some(d), Some(t)) = (explicit, delay, timeout)
            && t >= d
        {
            if timeout_given {
                let raw = self.raw(keys::HEALTH_MONITOR_TIMEOUT);
                self.err(
                    keys::HEALTH_MONITOR_TIMEOUT,
                    raw,
                    format!("must be less than health-monitor-delay ({d})"),
                );
            } else if delay_given {
                let raw = self.raw(keys::HEALTH_MONITOR_DELAY);
                self.err(
                    keys::HEALTH_MONITOR_DELAY,
                    raw,
                    format!("must be greater than health-monitor-timeout ({t})"),
                );
            }
        }
        on.then(|| MonitorSpec {
            delay: delay.map_or(m.delay, int_u32),
            timeout: timeout.map_or(m.timeout, int_u32),
            max_retries: int_u8(retries.map_get(m.max_retries.into())),
            max_retries_down: int_u8(retries_down.map_get(m.max_retries_down.into())),
        })
    }

    /// Warnings for platform-managed, unsupported and unknown keys, in key order.
    fn other_keys(&mut self) {
        let ann = self.ann;
        for (key, value) in ann {
            match keys::info(key).map(|k| k.kind) {
                Some(KeyKind::Platform) => self.warn(
                    key.as_str(),
                    WarningReason::PlatformManagedAnnotation,
                    format!(
                        "{} is managed by the platform: the value {:?} is ignored and the \
                         configured value is used; remove the annotation",
                        keys::short(key),
                        crate::error::shorten(value)
                    ),
                ),
                Some(KeyKind::Unsupported) => self.warn(
                    key.as_str(),
                    WarningReason::FeatureUnsupported,
                    format!(
                        "{} is not supported and is ignored: terminate TLS in an Ingress \
                         controller behind the load balancer",
                        keys::short(key)
                    ),
                ),
                Some(KeyKind::User | KeyKind::Controller) => {}
                None if key.starts_with(keys::PREFIX)
                    || key.starts_with("service.beta.kubernetes.io/openstack-") =>
                {
                    let message = match keys::closest(key) {
                        Some(k) => {
                            format!("unknown annotation, ignored; did you mean {}?", k.short())
                        }
                        None => "unknown annotation, ignored; `kks-lb docs annotations` lists the \
                                 known keys"
                            .to_owned(),
                    };
                    self.warn(key.as_str(), WarningReason::UnknownAnnotation, message);
                }
                None => {}
            }
        }
    }

    /// X-Forwarded-For and PROXY: not together, TCP ports only.
    fn client_address_rules(
        &mut self,
        xff: Val<Flag>,
        proxy: Val<ProxyProtocol>,
        ports: &[IndexedPort],
    ) -> (bool, ProxyProtocol) {
        let xff = xff.or(Flag(false)).0;
        let proxy = proxy.or(ProxyProtocol::Off);
        if xff && proxy != ProxyProtocol::Off {
            let raw = self.raw(keys::X_FORWARDED_FOR);
            let proxy_raw = self.raw(keys::PROXY_PROTOCOL);
            self.err(
                keys::X_FORWARDED_FOR,
                raw,
                format!(
                    "must not be combined with proxy-protocol ({proxy_raw}): choose one way to \
                     pass the client address"
                ),
            );
        }
        for (on, key) in [
            (xff, keys::X_FORWARDED_FOR),
            (proxy != ProxyProtocol::Off, keys::PROXY_PROTOCOL),
        ] {
            if !on {
                continue;
            }
            for p in ports
                .iter()
                .filter(|p| p.spec.protocol != PortProtocol::Tcp)
            {
                let raw = self.raw(key);
                let name = p
                    .spec
                    .name
                    .as_deref()
                    .map(|n| format!("{n}, "))
                    .unwrap_or_default();
                self.err(
                    key,
                    raw,
                    format!(
                        "applies to TCP ports only, but spec.ports[{}] ({name}{}/{}) is {}",
                        p.index, p.spec.protocol, p.spec.port, p.spec.protocol
                    ),
                );
            }
        }
        (xff, proxy)
    }
}

/// Helpers over the bounded integer types.
trait IntVal {
    fn map_get(self, default: i64) -> i64;
    fn map_known(self, default: i64) -> Option<i64>;
}

impl<const MIN: i64, const MAX: i64> IntVal for Val<crate::values::Bounded<MIN, MAX>> {
    fn map_get(self, default: i64) -> i64 {
        match self {
            Val::Given(v) => v.get(),
            Val::Absent | Val::Invalid => default,
        }
    }

    fn map_known(self, default: i64) -> Option<i64> {
        match self {
            Val::Given(v) => Some(v.get()),
            Val::Absent => Some(default),
            Val::Invalid => None,
        }
    }
}

impl<T> Val<T> {
    fn or_else(self, default: impl FnOnce() -> T) -> T {
        match self {
            Val::Given(v) => v,
            Val::Absent | Val::Invalid => default(),
        }
    }
}
