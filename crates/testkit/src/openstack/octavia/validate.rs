//! Request validation with Octavia's own fault texts.
//!
//! Field lists per body kind carry the API version that introduced each field (the "New in
//! version 2.x" notes of the Octavia v2 API reference). A field the emulated version does not
//! know is refused like WSME refuses an unknown attribute, so a client that sends
//! `allowed_cidrs` to an Octavia 2.11 gets the 400 it would get from the real one.

use kks_lb_octavia_model::api::octavia::{ApiVersion, SessionPersistence};
use kks_lb_octavia_model::{LbAlgorithm, MonitorType, Protocol, SessionPersistenceType};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::openstack::error::{ApiError, ApiResult};

mod fields;

pub(crate) use self::fields::*;

/// Refuses attributes `obj` carries that `fields` does not list for `version`.
pub(crate) fn check_fields(
    root: &str,
    obj: &Value,
    fields: Fields,
    version: ApiVersion,
) -> ApiResult<()> {
    let Some(map) = obj.as_object() else {
        return Err(ApiError::octavia(
            400,
            format!("Invalid input for field/attribute {root}. Value: '{obj}'. Invalid data type"),
        ));
    };
    for key in map.keys() {
        let known = fields
            .iter()
            .any(|(name, (maj, min))| name == key && version >= ApiVersion::new(*maj, *min));
        if !known {
            return Err(ApiError::unknown_attribute(root, obj, key));
        }
    }
    Ok(())
}

/// Checks the nested objects of a fully-populated load balancer create.
pub(crate) fn check_graph_fields(obj: &Value, version: ApiVersion) -> ApiResult<()> {
    check_fields("loadbalancer", obj, LB_CREATE, version)?;
    for listener in obj
        .get("listeners")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check_fields("listeners", listener, LISTENER_CREATE, version)?;
        if let Some(pool) = listener.get("default_pool").filter(|p| !p.is_null()) {
            check_pool_graph(pool, version)?;
        }
    }
    for pool in obj
        .get("pools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check_pool_graph(pool, version)?;
    }
    Ok(())
}

/// Checks a pool with nested members and monitor.
pub(crate) fn check_pool_graph(pool: &Value, version: ApiVersion) -> ApiResult<()> {
    check_fields("default_pool", pool, GRAPH_POOL, version)?;
    check_pool_children(pool, version)
}

/// Checks the attributes of a pool's nested members and monitor.
pub(crate) fn check_pool_children(pool: &Value, version: ApiVersion) -> ApiResult<()> {
    for m in pool
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check_fields("members", m, MEMBER_CREATE, version)?;
    }
    if let Some(hm) = pool.get("healthmonitor").filter(|h| !h.is_null()) {
        check_fields("healthmonitor", hm, HM_CREATE, version)?;
    }
    Ok(())
}

/// Parses `{"<root>": {...}}` into the inner JSON object and its typed form.
pub(crate) fn parse_root<T: DeserializeOwned>(body: &[u8], root: &str) -> ApiResult<(T, Value)> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::octavia(
            400,
            format!("Invalid input for field/attribute {root}. {e}"),
        )
    })?;
    let inner = value.get(root).cloned().ok_or_else(|| {
        ApiError::octavia(
            400,
            format!("Invalid input for field/attribute {root}. Value: '{value}'. Mandatory field missing."),
        )
    })?;
    let typed = serde_json::from_value(inner.clone()).map_err(|e| {
        ApiError::octavia(
            400,
            format!("Invalid input for field/attribute {root}. Value: '{inner}'. {e}"),
        )
    })?;
    Ok((typed, inner))
}

/// Listener protocols accepted at `version` (SCTP from 2.23, PROMETHEUS from 2.25).
pub(crate) fn check_listener_protocol(p: Protocol, version: ApiVersion) -> ApiResult<()> {
    let mut allowed = vec!["HTTP", "HTTPS", "TCP", "TERMINATED_HTTPS", "UDP"];
    if version.at_least(2, 23) {
        allowed.push("SCTP");
    }
    if version.at_least(2, 25) {
        allowed.push("PROMETHEUS");
    }
    allowed.sort_unstable();
    if allowed.contains(&p.as_str()) {
        Ok(())
    } else {
        Err(ApiError::invalid_value("protocol", p.as_str(), &allowed))
    }
}

/// Pool protocols accepted at `version` (PROXYV2 from 2.22, SCTP from 2.23).
pub(crate) fn check_pool_protocol(p: Protocol, version: ApiVersion) -> ApiResult<()> {
    let mut allowed = vec!["HTTP", "HTTPS", "PROXY", "TCP", "UDP"];
    if version.at_least(2, 22) {
        allowed.push("PROXYV2");
    }
    if version.at_least(2, 23) {
        allowed.push("SCTP");
    }
    allowed.sort_unstable();
    if allowed.contains(&p.as_str()) {
        Ok(())
    } else {
        Err(ApiError::invalid_value("protocol", p.as_str(), &allowed))
    }
}

/// Algorithms accepted at `version` (`SOURCE_IP_PORT` from 2.13, per the pool API reference).
pub(crate) fn check_algorithm(a: LbAlgorithm, version: ApiVersion) -> ApiResult<()> {
    if a == LbAlgorithm::SourceIpPort && !version.at_least(2, 13) {
        return Err(ApiError::invalid_value(
            "lb_algorithm",
            a.as_str(),
            &["LEAST_CONNECTIONS", "ROUND_ROBIN", "SOURCE_IP"],
        ));
    }
    Ok(())
}

/// Monitor types accepted at `version` (SCTP from 2.23).
pub(crate) fn check_monitor_type(t: MonitorType, version: ApiVersion) -> ApiResult<()> {
    if t == MonitorType::Sctp && !version.at_least(2, 23) {
        return Err(ApiError::invalid_value(
            "type",
            t.as_str(),
            &["HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT"],
        ));
    }
    Ok(())
}

/// Octavia's `VALID_LISTENER_POOL_PROTOCOL_MAP` (`octavia/common/constants.py`): which pool
/// protocols a listener protocol may use, checked by the base controller's
/// `_validate_protocol`.
pub(crate) fn check_listener_pool_protocols(listener: Protocol, pool: Protocol) -> ApiResult<()> {
    use Protocol::*;
    let valid: &[Protocol] = match listener {
        Tcp => &[Http, Https, Proxy, ProxyV2, Tcp],
        Http => &[Http, Proxy, ProxyV2],
        Https => &[Https, Proxy, ProxyV2, Tcp],
        TerminatedHttps => &[Http, Proxy, ProxyV2],
        Udp => &[Udp],
        Sctp => &[Sctp],
        Prometheus | Proxy | ProxyV2 => &[],
    };
    if valid.contains(&pool) {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "The pool protocol '{pool}' is invalid while the listener protocol is '{listener}'."
        )))
    }
}

/// `insert_headers` rules: only HTTP and TERMINATED_HTTPS listeners insert headers, and only
/// the supported names.
pub(crate) fn check_insert_headers(
    protocol: Protocol,
    headers: &std::collections::BTreeMap<String, String>,
) -> ApiResult<()> {
    if headers.is_empty() {
        return Ok(());
    }
    if matches!(protocol, Protocol::Udp | Protocol::Sctp) {
        return Err(ApiError::validation(format!(
            "{protocol} protocol listener does not support TLS or header insertion."
        )));
    }
    if !matches!(protocol, Protocol::Http | Protocol::TerminatedHttps) {
        return Err(ApiError::octavia(
            400,
            format!("insert-headers is not a valid option for a {protocol} protocol listener."),
        ));
    }
    const SUPPORTED: &[&str] = &[
        "X-Forwarded-For",
        "X-Forwarded-Port",
        "X-Forwarded-Proto",
        "X-SSL-Client-Verify",
        "X-SSL-Client-Has-Cert",
        "X-SSL-Client-DN",
        "X-SSL-Client-CN",
        "X-SSL-Issuer",
        "X-SSL-Client-SHA1",
        "X-SSL-Client-Not-Before",
        "X-SSL-Client-Not-After",
    ];
    if let Some(bad) = headers.keys().find(|k| !SUPPORTED.contains(&k.as_str())) {
        return Err(ApiError::octavia(
            400,
            format!("{bad} is not a valid option for insert_headers"),
        ));
    }
    Ok(())
}

/// `allowed_cidrs`: each a CIDR of the VIP's IP version (the VIPs here are IPv4).
pub(crate) fn check_allowed_cidrs(cidrs: &[String]) -> ApiResult<()> {
    for c in cidrs {
        match c.parse::<ipnet::IpNet>() {
            Ok(ipnet::IpNet::V4(_)) => {}
            Ok(ipnet::IpNet::V6(_)) => {
                return Err(ApiError::validation(format!(
                    "CIDR {c} IP version incompatible with VIP IP version."
                )));
            }
            Err(_) => {
                return Err(ApiError::octavia(
                    400,
                    format!(
                        "Invalid input for field/attribute allowed_cidrs. Value: '{c}'. Value \
                         should be IPv4 or IPv6 CIDR format"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// WSME integer bounds.
pub(crate) fn check_range(field: &str, value: i64, min: i64, max: i64) -> ApiResult<()> {
    if value < min {
        return Err(ApiError::octavia(
            400,
            format!(
                "Invalid input for field/attribute {field}. Value: '{value}'. Value should be \
                 greater or equal to {min}"
            ),
        ));
    }
    if value > max {
        return Err(ApiError::octavia(
            400,
            format!(
                "Invalid input for field/attribute {field}. Value: '{value}'. Value should be \
                 lower or equal to {max}"
            ),
        ));
    }
    Ok(())
}

/// Session persistence rules (`octavia/common/validate.py` `check_session_persistence` and
/// the pool controller's UDP checks).
pub(crate) fn check_session_persistence(
    protocol: Protocol,
    sp: &SessionPersistence,
) -> ApiResult<()> {
    let udp = matches!(protocol, Protocol::Udp | Protocol::Sctp);
    if udp {
        if sp.cookie_name.is_some() {
            return Err(ApiError::validation(format!(
                "Cookie names are not supported for {protocol} pools."
            )));
        }
        if sp.kind != SessionPersistenceType::SourceIp {
            return Err(ApiError::validation(format!(
                "Session persistence of type {} is not supported for {protocol} protocol pools.",
                sp.kind
            )));
        }
        return Ok(());
    }
    if sp.persistence_timeout.is_some() || sp.persistence_granularity.is_some() {
        return Err(ApiError::validation(
            "persistence_timeout and persistence_granularity is only for UDP protocol pools.",
        ));
    }
    match (sp.kind, &sp.cookie_name) {
        (SessionPersistenceType::AppCookie, None) => Err(ApiError::validation(
            "Field \"cookie_name\" must be specified when using the \"APP_COOKIE\" session \
             persistence type.",
        )),
        (SessionPersistenceType::AppCookie, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(ApiError::validation(
            "Field \"cookie_name\" can only be specified with session persistence of type \
             \"APP_COOKIE\".",
        )),
    }
}

/// Monitor rules: HTTP fields only on HTTP(S) monitors; UDP pools take UDP-CONNECT, SCTP,
/// TCP or HTTP monitors; UDP-CONNECT only on UDP pools; the emulator's optional
/// timeout <= delay rule.
pub(crate) fn check_monitor(
    kind: MonitorType,
    pool_protocol: Protocol,
    delay: u32,
    timeout: u32,
    has_http_fields: bool,
    strict_timeout: bool,
) -> ApiResult<()> {
    if has_http_fields && !matches!(kind, MonitorType::Http | MonitorType::Https) {
        return Err(ApiError::octavia(
            400,
            format!("http_method is not a valid option for health monitors of type {kind}"),
        ));
    }
    if pool_protocol == Protocol::Udp
        && !matches!(
            kind,
            MonitorType::UdpConnect | MonitorType::Sctp | MonitorType::Tcp | MonitorType::Http
        )
    {
        return Err(ApiError::validation(
            "The associated pool protocol is UDP, so only a UDP-CONNECT, SCTP, TCP, HTTP \
             health monitor is supported.",
        ));
    }
    if kind == MonitorType::UdpConnect && pool_protocol != Protocol::Udp {
        return Err(ApiError::validation(
            "The UDP-CONNECT type is only supported for pools of type UDP.",
        ));
    }
    if strict_timeout && timeout > delay {
        // The API reference: "This value must be less than the delay value."
        return Err(ApiError::validation(format!(
            "The health monitor timeout ({timeout}) must be less than or equal to its delay \
             ({delay})."
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The OVN provider driver's restrictions (ovn-octavia-provider `driver.py`: L4 protocols only,
// SOURCE_IP_PORT/SOURCE_IP algorithms, no allowed_cidrs, no member monitor address/port).
// Refusals are `UnsupportedOptionError`s, answered 501 by the API.
// ---------------------------------------------------------------------------------------------

pub(crate) const OVN: &str = "ovn";

pub(crate) fn ovn_protocol(p: Protocol) -> ApiResult<()> {
    if matches!(p, Protocol::Tcp | Protocol::Udp | Protocol::Sctp) {
        Ok(())
    } else {
        Err(ApiError::provider_unsupported(
            OVN,
            format!("OVN provider does not support {p} protocol"),
        ))
    }
}

/// SPEC.md §4: `ovn` accepts SOURCE_IP_PORT and SOURCE_IP only.
pub(crate) fn ovn_algorithm(a: LbAlgorithm) -> ApiResult<()> {
    if matches!(a, LbAlgorithm::SourceIpPort | LbAlgorithm::SourceIp) {
        Ok(())
    } else {
        Err(ApiError::provider_unsupported(
            OVN,
            format!("OVN provider does not support {a} algorithm"),
        ))
    }
}

pub(crate) fn ovn_allowed_cidrs(cidrs: Option<&[String]>) -> ApiResult<()> {
    match cidrs {
        Some(c) if !c.is_empty() => Err(ApiError::provider_unsupported(
            OVN,
            "OVN provider does not support allowed_cidrs option",
        )),
        _ => Ok(()),
    }
}

/// The listener timeouts are not honoured by OVN (SPEC.md §4); the emulator refuses them with
/// the driver's message pattern so a client that sends them is caught.
pub(crate) fn ovn_option(set: bool, option: &str) -> ApiResult<()> {
    if set {
        Err(ApiError::provider_unsupported(
            OVN,
            format!("OVN provider does not support {option} option"),
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn ovn_member_monitor(address: Option<&str>, port: Option<u16>) -> ApiResult<()> {
    if address.is_some() || port.is_some() {
        Err(ApiError::provider_unsupported(
            OVN,
            "OVN Load Balancer does not support different member monitor address or port.",
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn ovn_monitor_type(t: MonitorType) -> ApiResult<()> {
    if matches!(
        t,
        MonitorType::Tcp | MonitorType::UdpConnect | MonitorType::Sctp
    ) {
        Ok(())
    } else {
        Err(ApiError::provider_unsupported(
            OVN,
            format!("OVN provider does not support {t} health monitor type"),
        ))
    }
}

#[cfg(test)]
mod tests;
