//! Per-kind behaviour on create and update: defaulting, allocation and validation,
//! following the API server's registry strategies for the fields kks-lb relies on.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::resources::{ResourceInfo, ResourceType};

/// First and last NodePort of the default service-node-port-range.
pub(crate) const NODE_PORT_MIN: u16 = 30000;
/// Last NodePort of the default service-node-port-range.
pub(crate) const NODE_PORT_MAX: u16 = 32767;
const SERVICE_CIDR_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const SERVICE_CIDR_SIZE: u32 = 1 << 20;

/// Cluster-wide allocations a Service write must respect.
#[derive(Debug)]
pub(crate) struct Allocator {
    /// NodePorts (incl. health-check NodePorts) used by other Services.
    pub used_ports: BTreeSet<i64>,
    /// ClusterIPs used by other Services.
    pub used_ips: BTreeSet<String>,
    /// Rotating cursors, kept by the store so freed values are not reused at once.
    pub next_port: u16,
    pub next_ip: u32,
}

impl Allocator {
    fn node_port(&mut self) -> Option<i64> {
        let span = u32::from(NODE_PORT_MAX - NODE_PORT_MIN) + 1;
        for _ in 0..span {
            let candidate = i64::from(self.next_port);
            self.next_port = if self.next_port >= NODE_PORT_MAX {
                NODE_PORT_MIN
            } else {
                self.next_port + 1
            };
            if self.used_ports.insert(candidate) {
                return Some(candidate);
            }
        }
        None
    }

    fn cluster_ip(&mut self) -> Option<String> {
        for _ in 0..SERVICE_CIDR_SIZE {
            let offset = self.next_ip;
            self.next_ip = if offset + 2 >= SERVICE_CIDR_SIZE {
                10
            } else {
                offset + 1
            };
            let ip = Ipv4Addr::from(SERVICE_CIDR_BASE + offset).to_string();
            if self.used_ips.insert(ip.clone()) {
                return Some(ip);
            }
        }
        None
    }
}

/// Validation failures, each `field: message` as in the API server's `Invalid` causes.
pub(crate) type Causes = Vec<String>;

/// The API server's limit on the total size of an object's annotations (keys and values).
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// Validates metadata common to all kinds.
pub(crate) fn validate_meta(info: &ResourceInfo, obj: &Value, causes: &mut Causes) {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let ok = if info.ty == ResourceType::SERVICES {
        is_dns1035_label(name)
    } else {
        is_dns_subdomain(name)
    };
    if !ok {
        causes.push(format!(
            "metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 name must consist of lower case alphanumeric characters, '-' or '.'"
        ));
    }
    if let Some(annotations) = obj["metadata"]["annotations"].as_object() {
        let total: usize = annotations
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        if total > ANNOTATIONS_MAX_BYTES {
            causes.push(format!(
                "metadata.annotations: Too long: may not be more than {ANNOTATIONS_MAX_BYTES} bytes"
            ));
        }
    }
    if let Some(labels) = obj["metadata"]["labels"].as_object() {
        for (key, value) in labels {
            let value = value.as_str().unwrap_or_default();
            if !is_qualified_name(key) {
                causes.push(format!(
                    "metadata.labels: Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.'"
                ));
            }
            if !is_label_value(value) {
                causes.push(format!(
                    "metadata.labels: Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63)"
                ));
            }
        }
    }
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

fn is_dns1035_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
}

fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

/// Prepares a new object of `info`'s kind (defaults, allocation, status reset).
pub(crate) fn prepare_create(
    info: &ResourceInfo,
    obj: &mut Value,
    keep_status: bool,
    alloc: &mut Allocator,
) -> Causes {
    let mut causes = Causes::new();
    validate_meta(info, obj, &mut causes);
    match info.ty {
        ResourceType::SERVICES => {
            prepare_service(None, obj, alloc, &mut causes);
            if !keep_status {
                set(obj, "status", json!({ "loadBalancer": {} }));
            }
        }
        ResourceType::NAMESPACES => {
            let name = obj["metadata"]["name"].clone();
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                let labels = meta
                    .entry("labels")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(labels) = labels.as_object_mut() {
                    labels.insert("kubernetes.io/metadata.name".into(), name);
                }
            }
            if !keep_status {
                set(obj, "status", json!({ "phase": "Active" }));
            }
        }
        ResourceType::EVENTS_V1 => validate_event_v1(obj, &mut causes),
        ResourceType::ENDPOINT_SLICES => validate_endpoint_slice(obj, &mut causes),
        _ => {}
    }
    causes
}

/// Prepares an update of an existing object (`new` already carries the old status or
/// spec as the subresource requires).
pub(crate) fn prepare_update(
    info: &ResourceInfo,
    old: &Value,
    new: &mut Value,
    alloc: &mut Allocator,
) -> Causes {
    let mut causes = Causes::new();
    validate_meta(info, new, &mut causes);
    match info.ty {
        ResourceType::SERVICES => prepare_service(Some(old), new, alloc, &mut causes),
        ResourceType::EVENTS_V1 => validate_event_v1(new, &mut causes),
        ResourceType::ENDPOINT_SLICES => validate_endpoint_slice(new, &mut causes),
        _ => {}
    }
    causes
}

fn set(obj: &mut Value, key: &str, value: Value) {
    if let Some(map) = obj.as_object_mut() {
        map.insert(key.into(), value);
    }
}

fn validate_event_v1(ev: &Value, causes: &mut Causes) {
    for field in [
        "reportingController",
        "reportingInstance",
        "action",
        "reason",
    ] {
        if ev[field].as_str().is_none_or(str::is_empty) {
            causes.push(format!("{field}: Required value"));
        }
    }
    for field in ["action", "reason"] {
        if ev[field].as_str().is_some_and(|s| s.len() > 128) {
            causes.push(format!("{field}: Too long: may not be more than 128 bytes"));
        }
    }
    if ev["eventTime"].is_null() {
        causes.push("eventTime: Required value".into());
    }
    match ev["type"].as_str() {
        Some("Normal" | "Warning") => {}
        other => causes.push(format!(
            "type: Unsupported value: {:?}: supported values: \"Normal\", \"Warning\"",
            other.unwrap_or_default()
        )),
    }
    if ev["note"].as_str().is_some_and(|n| n.len() > 1024) {
        causes.push("note: Too long: may not be more than 1024 bytes".into());
    }
}

fn validate_endpoint_slice(slice: &Value, causes: &mut Causes) {
    match slice["addressType"].as_str() {
        Some("IPv4" | "IPv6" | "FQDN") => {}
        None => causes.push("addressType: Required value".into()),
        Some(other) => causes.push(format!(
            "addressType: Unsupported value: \"{other}\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""
        )),
    }
}

fn node_ports_wanted(spec: &Map<String, Value>) -> bool {
    match spec.get("type").and_then(Value::as_str) {
        Some("NodePort") => true,
        Some("LoadBalancer") => spec
            .get("allocateLoadBalancerNodePorts")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        _ => false,
    }
}

fn port_key(port: &Value) -> (Option<i64>, String) {
    (
        port["port"].as_i64(),
        port["protocol"].as_str().unwrap_or("TCP").to_string(),
    )
}

fn has_node_port(port: &Value) -> bool {
    port["nodePort"].as_i64().is_some_and(|p| p != 0)
}

/// A port as the API server prints a duplicate (its internal type, as JSON).
fn go_service_port(p: &Map<String, Value>) -> String {
    let field = |key: &str, default: Value| p.get(key).cloned().unwrap_or(default).to_string();
    format!(
        "{{\"Name\":{},\"Protocol\":{},\"AppProtocol\":{},\"Port\":{},\"TargetPort\":{},\"NodePort\":{}}}",
        field("name", "".into()),
        field("protocol", "TCP".into()),
        field("appProtocol", Value::Null),
        field("port", 0.into()),
        field("targetPort", 0.into()),
        field("nodePort", 0.into()),
    )
}

/// Service defaulting, ClusterIP/NodePort allocation and validation.
fn prepare_service(
    old: Option<&Value>,
    svc: &mut Value,
    alloc: &mut Allocator,
    causes: &mut Causes,
) {
    let old_spec = old
        .and_then(|o| o.get("spec"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(obj) = svc.as_object_mut() else {
        return;
    };
    let spec_value = obj
        .entry("spec")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(spec) = spec_value.as_object_mut() else {
        causes.push("spec: Invalid value: must be an object".into());
        return;
    };
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    if !matches!(
        ty.as_str(),
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName"
    ) {
        causes.push(format!(
            "spec.type: Unsupported value: \"{ty}\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
        ));
        return;
    }
    spec.insert("type".into(), ty.clone().into());
    let external_name = ty == "ExternalName";
    let old_type = old_spec.get("type").and_then(Value::as_str).unwrap_or("");

    // Carry allocated values over from the old object when the writer left them out.
    if old.is_some() && !external_name && old_type != "ExternalName" {
        let missing_ip = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if missing_ip {
            for key in ["clusterIP", "clusterIPs"] {
                if let Some(v) = old_spec.get(key) {
                    spec.insert(key.into(), v.clone());
                }
            }
        }
        for key in ["ipFamilies", "ipFamilyPolicy"] {
            if !spec.contains_key(key)
                && let Some(v) = old_spec.get(key)
            {
                spec.insert(key.into(), v.clone());
            }
        }
        let old_ip = old_spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("");
        let new_ip = spec.get("clusterIP").and_then(Value::as_str).unwrap_or("");
        if !old_ip.is_empty() && new_ip != old_ip {
            causes.push(format!(
                "spec.clusterIPs[0]: Invalid value: \"{new_ip}\": may not change once set"
            ));
        }
        if node_ports_wanted(spec) {
            let old_ports = old_spec
                .get("ports")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for port in ports.iter_mut().filter(|p| !has_node_port(p)) {
                    let carried = old_ports
                        .iter()
                        .find(|o| port_key(o) == port_key(port) && has_node_port(o))
                        .map(|o| o["nodePort"].clone());
                    if let (Some(np), Some(map)) = (carried, port.as_object_mut()) {
                        map.insert("nodePort".into(), np);
                    }
                }
            }
            if !spec.contains_key("healthCheckNodePort")
                && let Some(h) = old_spec.get("healthCheckNodePort")
            {
                spec.insert("healthCheckNodePort".into(), h.clone());
            }
        }
    }

    // Drop fields that the type does not allow (releases their allocations).
    if !matches!(ty.as_str(), "NodePort" | "LoadBalancer") {
        for key in [
            "externalTrafficPolicy",
            "healthCheckNodePort",
            "allocateLoadBalancerNodePorts",
        ] {
            spec.remove(key);
        }
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                port.remove("nodePort");
            }
        }
    }
    if ty == "NodePort" {
        spec.remove("allocateLoadBalancerNodePorts");
    }
    if external_name {
        for key in [
            "clusterIP",
            "clusterIPs",
            "ipFamilies",
            "ipFamilyPolicy",
            "internalTrafficPolicy",
        ] {
            spec.remove(key);
        }
        if spec
            .get("externalName")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            causes.push("spec.externalName: Required value".into());
        }
    }

    // Defaults.
    spec.entry("sessionAffinity")
        .or_insert_with(|| "None".into());
    if !external_name {
        spec.entry("internalTrafficPolicy")
            .or_insert_with(|| "Cluster".into());
    }
    if matches!(ty.as_str(), "NodePort" | "LoadBalancer") {
        let etp = spec
            .entry("externalTrafficPolicy")
            .or_insert_with(|| "Cluster".into());
        if !matches!(etp.as_str(), Some("Cluster" | "Local")) {
            causes.push(format!(
                "spec.externalTrafficPolicy: Unsupported value: {etp}: supported values: \"Cluster\", \"Local\""
            ));
        }
    }
    if ty == "LoadBalancer" {
        spec.entry("allocateLoadBalancerNodePorts")
            .or_insert(Value::Bool(true));
        if spec.get("externalTrafficPolicy").and_then(Value::as_str) != Some("Local") {
            spec.remove("healthCheckNodePort");
        }
    }

    // Source ranges.
    if let Some(ranges) = spec
        .get("loadBalancerSourceRanges")
        .and_then(Value::as_array)
        && !ranges.is_empty()
    {
        if ty != "LoadBalancer" {
            causes.push(
                "spec.loadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"
                    .into(),
            );
        }
        for (i, range) in ranges.iter().enumerate() {
            let text = range.as_str().unwrap_or_default();
            if text.trim().parse::<ipnet::IpNet>().is_err() {
                causes.push(format!(
                    "spec.LoadBalancerSourceRanges[{i}]: Invalid value: \"{text}\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
                ));
            }
        }
    }
    // The class is chosen once, at creation or when becoming a load balancer.
    let old_class = old_spec
        .get("loadBalancerClass")
        .and_then(Value::as_str)
        .filter(|_| old_type == "LoadBalancer");
    let new_class = spec.get("loadBalancerClass").and_then(Value::as_str);
    if ty == "LoadBalancer"
        && let Some(old_class) = old_class
        && new_class != Some(old_class)
    {
        let shown = new_class.unwrap_or_default();
        causes.push(format!(
            "spec.loadBalancerClass: Invalid value: \"{shown}\": may not change once set"
        ));
    }

    // Ports.
    let ports_len = spec
        .get("ports")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if ports_len == 0
        && !external_name
        && spec.get("clusterIP").and_then(Value::as_str) != Some("None")
    {
        causes.push("spec.ports: Required value".into());
    }
    let mut names = BTreeSet::new();
    let mut own_node_ports = BTreeSet::new();
    let mut node_port_keys = BTreeSet::new();
    let mut port_keys = BTreeSet::new();
    let wants_node_ports = node_ports_wanted(spec);
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for (i, port) in ports.iter_mut().enumerate() {
            let Some(p) = port.as_object_mut() else {
                causes.push(format!("spec.ports[{i}]: Invalid value: must be an object"));
                continue;
            };
            p.entry("protocol").or_insert_with(|| "TCP".into());
            if !matches!(
                p.get("protocol").and_then(Value::as_str),
                Some("TCP" | "UDP" | "SCTP")
            ) {
                causes.push(format!(
                    "spec.ports[{i}].protocol: Unsupported value: supported values: \"SCTP\", \"TCP\", \"UDP\""
                ));
            }
            let number = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            if !(1..=65535).contains(&number) {
                causes.push(format!(
                    "spec.ports[{i}].port: Invalid value: {number}: must be between 1 and 65535, inclusive"
                ));
            }
            if !p.contains_key("targetPort") {
                p.insert("targetPort".into(), number.into());
            }
            if let Some(target) = p.get("targetPort").and_then(Value::as_i64)
                && !(1..=65535).contains(&target)
            {
                causes.push(format!(
                    "spec.ports[{i}].targetPort: Invalid value: {target}: must be between 1 and 65535, inclusive"
                ));
            }
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if ports_len > 1 && name.is_empty() {
                causes.push(format!("spec.ports[{i}].name: Required value"));
            } else if !name.is_empty() && !names.insert(name.clone()) {
                causes.push(format!("spec.ports[{i}].name: Duplicate value: \"{name}\""));
            }
            let protocol = p
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP")
                .to_string();
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) if np != 0 => {
                    if !node_port_keys.insert((np, protocol.clone())) {
                        causes.push(format!("spec.ports[{i}].nodePort: Duplicate value: {np}"));
                    } else if !(i64::from(NODE_PORT_MIN)..=i64::from(NODE_PORT_MAX)).contains(&np) {
                        causes.push(format!(
                            "spec.ports[{i}].nodePort: Invalid value: {np}: provided port is not in the valid range. The range of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}"
                        ));
                    } else if alloc.used_ports.contains(&np) && !own_node_ports.contains(&np) {
                        causes.push(format!(
                            "spec.ports[{i}].nodePort: Invalid value: {np}: provided port is already allocated"
                        ));
                    } else {
                        alloc.used_ports.insert(np);
                        own_node_ports.insert(np);
                    }
                }
                _ => {
                    p.remove("nodePort");
                }
            }
            if !port_keys.insert((number, protocol)) {
                causes.push(format!(
                    "spec.ports[{i}]: Duplicate value: {}",
                    go_service_port(p)
                ));
            }
        }
        if wants_node_ports {
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                if port.contains_key("nodePort") {
                    continue;
                }
                match alloc.node_port() {
                    Some(np) => {
                        port.insert("nodePort".into(), np.into());
                    }
                    None => {
                        causes.push("spec.ports: Internal error: range of NodePorts is full".into())
                    }
                }
            }
        }
    }
    if ty == "LoadBalancer"
        && spec.get("externalTrafficPolicy").and_then(Value::as_str) == Some("Local")
    {
        match spec.get("healthCheckNodePort").and_then(Value::as_i64) {
            Some(h) if h != 0 => {
                if alloc.used_ports.contains(&h) && !own_node_ports.contains(&h) {
                    causes.push(format!(
                        "spec.healthCheckNodePort: Invalid value: {h}: provided port is already allocated"
                    ));
                } else {
                    alloc.used_ports.insert(h);
                }
            }
            _ => match alloc.node_port() {
                Some(h) => {
                    spec.insert("healthCheckNodePort".into(), h.into());
                }
                None => causes.push(
                    "spec.healthCheckNodePort: Internal error: range of NodePorts is full".into(),
                ),
            },
        }
    }

    // ClusterIP.
    if !external_name {
        let requested = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let ip = if requested.is_empty() {
            alloc.cluster_ip()
        } else if requested == "None" {
            Some(requested)
        } else if requested.parse::<Ipv4Addr>().is_err() {
            causes.push(format!(
                "spec.clusterIPs[0]: Invalid value: \"{requested}\": must be a valid IP address"
            ));
            None
        } else if old.is_none() && alloc.used_ips.contains(&requested) {
            causes.push(format!(
                "spec.clusterIPs: Invalid value: [\"{requested}\"]: failed to allocate IP {requested}: provided IP is already allocated"
            ));
            None
        } else {
            Some(requested)
        };
        if let Some(ip) = ip {
            spec.insert("clusterIP".into(), ip.clone().into());
            spec.insert("clusterIPs".into(), json!([ip]));
        }
        spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
        spec.entry("ipFamilyPolicy")
            .or_insert_with(|| "SingleStack".into());
    }
}

#[cfg(test)]
mod tests {
    use super::super::resources::info_for;
    use super::*;

    fn alloc() -> Allocator {
        Allocator {
            used_ports: BTreeSet::new(),
            used_ips: BTreeSet::new(),
            next_port: NODE_PORT_MIN,
            next_ip: 10,
        }
    }

    fn svc(spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
    }

    fn services() -> &'static ResourceInfo {
        info_for(ResourceType::SERVICES).unwrap()
    }

    #[test]
    fn load_balancer_service_gets_defaults_and_node_ports() {
        let mut a = alloc();
        let mut s = svc(
            json!({"type": "LoadBalancer", "externalTrafficPolicy": "Local", "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]}),
        );
        let causes = prepare_create(services(), &mut s, false, &mut a);
        assert!(causes.is_empty(), "{causes:?}");
        let spec = &s["spec"];
        assert_eq!(spec["clusterIP"], "10.96.0.10");
        assert_eq!(spec["clusterIPs"], json!(["10.96.0.10"]));
        assert_eq!(spec["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["ports"][0]["targetPort"], 80);
        assert_eq!(spec["ports"][0]["nodePort"], 30000);
        assert_eq!(spec["ports"][1]["nodePort"], 30001);
        assert_eq!(spec["healthCheckNodePort"], 30002);
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["allocateLoadBalancerNodePorts"], true);
        assert_eq!(s["status"], json!({"loadBalancer": {}}));
    }

    #[test]
    fn switching_to_cluster_ip_releases_node_ports_and_keeps_cluster_ip() {
        let mut a = alloc();
        let mut old = svc(json!({"type": "LoadBalancer", "ports": [{"port": 80}]}));
        assert!(prepare_create(services(), &mut old, false, &mut a).is_empty());
        let mut new = svc(json!({"type": "ClusterIP", "ports": [{"port": 80, "nodePort": 30000}]}));
        let causes = prepare_update(services(), &old, &mut new, &mut a);
        assert!(causes.is_empty(), "{causes:?}");
        assert!(new["spec"]["ports"][0].get("nodePort").is_none());
        assert!(new["spec"].get("externalTrafficPolicy").is_none());
        assert_eq!(new["spec"]["clusterIP"], old["spec"]["clusterIP"]);
    }

    #[test]
    fn update_keeps_allocated_node_ports_when_omitted() {
        let mut a = alloc();
        let mut old = svc(json!({"type": "NodePort", "ports": [{"port": 80}]}));
        assert!(prepare_create(services(), &mut old, false, &mut a).is_empty());
        let mut new = svc(json!({"type": "NodePort", "ports": [{"port": 80}]}));
        let mut a2 = alloc();
        assert!(prepare_update(services(), &old, &mut new, &mut a2).is_empty());
        assert_eq!(
            new["spec"]["ports"][0]["nodePort"],
            old["spec"]["ports"][0]["nodePort"]
        );
    }

    #[test]
    fn invalid_services_name_the_field_and_rule() {
        let mut a = alloc();
        a.used_ports.insert(30080);
        let mut s = svc(
            json!({"type": "NodePort", "ports": [{"port": 0}, {"port": 81, "nodePort": 30080}]}),
        );
        let causes = prepare_create(services(), &mut s, false, &mut a);
        let text = causes.join("\n");
        assert!(
            text.contains("spec.ports[0].port: Invalid value: 0"),
            "{text}"
        );
        assert!(
            text.contains("spec.ports[0].name: Required value"),
            "{text}"
        );
        assert!(
            text.contains("30080: provided port is already allocated"),
            "{text}"
        );
        let mut bad_ip = svc(json!({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}));
        a.used_ips.insert("10.96.0.10".into());
        let causes = prepare_create(services(), &mut bad_ip, false, &mut a);
        assert!(causes.join("").contains("provided IP is already allocated"));
    }

    #[test]
    fn changing_cluster_ip_is_refused() {
        let mut a = alloc();
        let mut old = svc(json!({"ports": [{"port": 80}]}));
        assert!(prepare_create(services(), &mut old, false, &mut a).is_empty());
        let mut new = svc(json!({"clusterIP": "10.96.9.9", "ports": [{"port": 80}]}));
        let causes = prepare_update(services(), &old, &mut new, &mut a);
        assert!(causes.join("").contains("may not change once set"));
    }
}
