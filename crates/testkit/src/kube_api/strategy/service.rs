//! Service defaulting, ClusterIP/NodePort allocation and validation, with the API server's
//! field paths and messages.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::{Allocator, Causes, NODE_PORT_MAX, NODE_PORT_MIN};

pub(super) fn node_ports_wanted(spec: &Map<String, Value>) -> bool {
    match spec.get("type").and_then(Value::as_str) {
        Some("NodePort") => true,
        Some("LoadBalancer") => spec
            .get("allocateLoadBalancerNodePorts")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        _ => false,
    }
}

pub(super) fn port_key(port: &Value) -> (Option<i64>, String) {
    (
        port["port"].as_i64(),
        port["protocol"].as_str().unwrap_or("TCP").to_string(),
    )
}

pub(super) fn has_node_port(port: &Value) -> bool {
    port["nodePort"].as_i64().is_some_and(|p| p != 0)
}

/// A port as the API server prints a duplicate (its internal type, as JSON).
pub(super) fn go_service_port(p: &Map<String, Value>) -> String {
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
pub(super) fn prepare_service(
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
