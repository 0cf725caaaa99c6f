//! Server-side printing: the `meta.k8s.io/v1` `Table` kubectl asks for
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), with the API server's columns for
//! Services, Nodes, Namespaces and Events (`NAME`, `AGE` for other kinds).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::resources::{ResourceInfo, ResourceType};
use super::watch::partial_metadata;

/// Whether an `Accept` header asks for a Table.
pub(crate) fn wanted(accept: &str) -> bool {
    accept.contains("as=Table")
}

fn column(name: &str, kind: &str, priority: u8, description: &str) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({ "name": name, "type": kind, "format": format, "description": description, "priority": priority })
}

fn columns(info: &ResourceInfo) -> Vec<Value> {
    let name = column(
        "Name",
        "string",
        0,
        "Name must be unique within a namespace.",
    );
    let age = column("Age", "string", 0, "Time since the object was created.");
    match info.ty {
        ResourceType::SERVICES => vec![
            name,
            column("Type", "string", 0, "The type of the service."),
            column("Cluster-IP", "string", 0, "The cluster IP of the service."),
            column(
                "External-IP",
                "string",
                0,
                "The external IPs of the service.",
            ),
            column("Port(s)", "string", 0, "The ports of the service."),
            age,
            column("Selector", "string", 1, "The selector of the service."),
        ],
        ResourceType::NODES => vec![
            name,
            column("Status", "string", 0, "The status of the node."),
            column("Roles", "string", 0, "The roles of the node."),
            age,
            column("Version", "string", 0, "The kubelet version of the node."),
            column("Internal-IP", "string", 1, "The internal IP of the node."),
        ],
        ResourceType::NAMESPACES => vec![
            name,
            column("Status", "string", 0, "The phase of the namespace."),
            age,
        ],
        ResourceType::CORE_EVENTS | ResourceType::EVENTS_V1 => vec![
            column(
                "Last Seen",
                "string",
                0,
                "Time since the event was last seen.",
            ),
            column("Type", "string", 0, "Normal or Warning."),
            column("Reason", "string", 0, "Why the event was published."),
            column("Object", "string", 0, "The object the event is about."),
            column("Message", "string", 0, "What happened."),
            column("Name", "string", 1, "The name of the event."),
        ],
        _ => vec![name, age],
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn cells(info: &ResourceInfo, obj: &Value, now: u64) -> Vec<Value> {
    let name = str_of(&obj["metadata"]["name"]);
    let age = age(&obj["metadata"]["creationTimestamp"], now);
    match info.ty {
        ResourceType::SERVICES => {
            let spec = &obj["spec"];
            let ty = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
            let external = match ty.as_str() {
                "LoadBalancer" => {
                    let ingress: Vec<String> = obj["status"]["loadBalancer"]["ingress"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|i| i["ip"].as_str().or(i["hostname"].as_str()))
                        .map(str::to_string)
                        .collect();
                    if ingress.is_empty() {
                        "<pending>".to_string()
                    } else {
                        ingress.join(",")
                    }
                }
                "ExternalName" => str_of(&spec["externalName"]),
                _ => "<none>".to_string(),
            };
            let ports: Vec<String> = spec["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let proto = p["protocol"].as_str().unwrap_or("TCP");
                    match p["nodePort"].as_i64() {
                        Some(np) => format!("{}:{np}/{proto}", p["port"]),
                        None => format!("{}/{proto}", p["port"]),
                    }
                })
                .collect();
            let selector: Vec<String> = spec["selector"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            vec![
                name.into(),
                ty.into(),
                or_none(str_of(&spec["clusterIP"])).into(),
                external.into(),
                or_none(ports.join(",")).into(),
                age.into(),
                or_none(selector.join(",")).into(),
            ]
        }
        ResourceType::NODES => {
            let conditions = obj["status"]["conditions"].as_array();
            let ready = conditions
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "Ready");
            let mut status = match ready.and_then(|c| c["status"].as_str()) {
                Some("True") => "Ready".to_string(),
                Some(_) => "NotReady".to_string(),
                None => "Unknown".to_string(),
            };
            if obj["spec"]["unschedulable"] == true {
                status.push_str(",SchedulingDisabled");
            }
            let roles: Vec<&str> = obj["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
                .collect();
            let internal = obj["status"]["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["type"] == "InternalIP")
                .map(|a| str_of(&a["address"]))
                .unwrap_or_default();
            vec![
                name.into(),
                status.into(),
                or_none(roles.join(",")).into(),
                age.into(),
                str_of(&obj["status"]["nodeInfo"]["kubeletVersion"]).into(),
                or_none(internal).into(),
            ]
        }
        ResourceType::NAMESPACES => {
            vec![
                name.into(),
                str_of(&obj["status"]["phase"]).into(),
                age.into(),
            ]
        }
        ResourceType::CORE_EVENTS | ResourceType::EVENTS_V1 => {
            // Stored as core/v1; events.k8s.io/v1 names differ.
            let pick = |a: &str, b: &str| {
                if obj[a].is_null() {
                    obj[b].clone()
                } else {
                    obj[a].clone()
                }
            };
            let regarding = pick("involvedObject", "regarding");
            let last = [
                pick("lastTimestamp", "deprecatedLastTimestamp"),
                obj["eventTime"].clone(),
                obj["metadata"]["creationTimestamp"].clone(),
            ]
            .into_iter()
            .find(|t| t.as_str().is_some_and(|s| !s.is_empty()))
            .unwrap_or(Value::Null);
            vec![
                age_of(&last, now).into(),
                str_of(&obj["type"]).into(),
                str_of(&obj["reason"]).into(),
                format!(
                    "{}/{}",
                    regarding["kind"]
                        .as_str()
                        .unwrap_or_default()
                        .to_lowercase(),
                    str_of(&regarding["name"])
                )
                .into(),
                str_of(&pick("message", "note")).into(),
                name.into(),
            ]
        }
        _ => vec![name.into(), age.into()],
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A Table of `objects` (served form). `include_object`: `None`, `Metadata` (the default) or
/// `Object`.
pub(crate) fn table(
    info: &ResourceInfo,
    objects: &[Value],
    resource_version: Option<String>,
    include_object: Option<&str>,
    with_columns: bool,
) -> Value {
    let now = now_secs();
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let object = match include_object {
                Some("None") => Value::Null,
                Some("Object") => obj.clone(),
                _ => partial_metadata(obj),
            };
            json!({ "cells": cells(info, obj, now), "object": object })
        })
        .collect();
    let mut metadata = json!({});
    if let (Some(rv), Some(m)) = (resource_version, metadata.as_object_mut()) {
        m.insert("resourceVersion".into(), rv.into());
    }
    let mut t = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "rows": rows,
    });
    if with_columns && let Some(m) = t.as_object_mut() {
        m.insert("columnDefinitions".into(), Value::Array(columns(info)));
    }
    t
}

fn age(created: &Value, now: u64) -> String {
    age_of(created, now)
}

fn age_of(time: &Value, now: u64) -> String {
    match time.as_str().and_then(parse_rfc3339) {
        Some(t) => human(now.saturating_sub(t)),
        None => "<unknown>".into(),
    }
}

/// kubectl's short durations: `45s`, `3m20s`, `12m`, `5h3m`, `20h`, `3d4h`, `12d`.
fn human(secs: u64) -> String {
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    if secs < 120 {
        format!("{secs}s")
    } else if m < 10 {
        match secs % 60 {
            0 => format!("{m}m"),
            s => format!("{m}m{s}s"),
        }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        match m % 60 {
            0 => format!("{h}h"),
            rest => format!("{h}h{rest}m"),
        }
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        match h % 24 {
            0 => format!("{d}d"),
            rest => format!("{d}d{rest}h"),
        }
    } else {
        format!("{d}d")
    }
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.frac]Z`.
fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + se).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube_api::resources::info_for;

    #[test]
    fn services_print_like_kubectl_get_svc() {
        let info = info_for(ResourceType::SERVICES).unwrap();
        let svc = json!({
            "metadata": {"name": "web", "namespace": "web", "creationTimestamp": "2026-12-01T00:00:00Z"},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "selector": {"app": "web"},
                     "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 443, "protocol": "TCP", "nodePort": 30443}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}},
        });
        let t = table(
            info,
            std::slice::from_ref(&svc),
            Some("7".into()),
            None,
            true,
        );
        let now = parse_rfc3339("2026-12-01T00:05:30Z").unwrap();
        assert_eq!(
            cells(info, &svc, now),
            [
                json!("web"),
                json!("LoadBalancer"),
                json!("10.96.0.10"),
                json!("203.0.113.10"),
                json!("80:30080/TCP,443:30443/TCP"),
                json!("5m30s"),
                json!("app=web"),
            ]
        );
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 7);
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human(45), "45s");
        assert_eq!(human(200), "3m20s");
        assert_eq!(human(60 * 30), "30m");
        assert_eq!(human(3600 * 5 + 60 * 3), "5h3m");
        assert_eq!(human(86_400 * 3 + 3600 * 4), "3d4h");
        assert_eq!(parse_rfc3339("1970-01-02T00:00:01Z"), Some(86_401));
        assert_eq!(
            parse_rfc3339("2026-12-01T02:09:04.123456Z"),
            parse_rfc3339("2026-12-01T02:09:04Z")
        );
    }
}
