//! The resources the emulator serves, and the discovery documents describing them.
//!
//! Adding a kind is one entry in [`RESOURCES`]; objects are stored generically as JSON.

use serde_json::{Map, Value, json};

/// Identifies a served resource by API group, version and plural name, as in a URL path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceType {
    /// API group; empty for the core group (`/api/v1`).
    pub group: &'static str,
    /// API version, e.g. `v1`.
    pub version: &'static str,
    /// Plural resource name used in paths, e.g. `services`.
    pub plural: &'static str,
}

impl ResourceType {
    /// core/v1 Services.
    pub const SERVICES: Self = Self::new("", "v1", "services");
    /// core/v1 Nodes.
    pub const NODES: Self = Self::new("", "v1", "nodes");
    /// core/v1 Namespaces.
    pub const NAMESPACES: Self = Self::new("", "v1", "namespaces");
    /// core/v1 Events (same storage as [`Self::EVENTS_V1`], another representation).
    pub const CORE_EVENTS: Self = Self::new("", "v1", "events");
    /// events.k8s.io/v1 Events, as published by kube-runtime's `Recorder`.
    pub const EVENTS_V1: Self = Self::new("events.k8s.io", "v1", "events");
    /// coordination.k8s.io/v1 Leases.
    pub const LEASES: Self = Self::new("coordination.k8s.io", "v1", "leases");
    /// admissionregistration.k8s.io/v1 ValidatingWebhookConfigurations.
    pub const VALIDATING_WEBHOOKS: Self = Self::new(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
    );
    /// discovery.k8s.io/v1 EndpointSlices.
    pub const ENDPOINT_SLICES: Self = Self::new("discovery.k8s.io", "v1", "endpointslices");

    /// A resource type from its parts.
    pub const fn new(group: &'static str, version: &'static str, plural: &'static str) -> Self {
        Self {
            group,
            version,
            plural,
        }
    }

    /// The resource type of a k8s-openapi type.
    pub fn of<K: k8s_openapi::Resource>() -> Self {
        Self::new(K::GROUP, K::VERSION, K::URL_PATH_SEGMENT)
    }

    /// `apiVersion` of objects of this type (`v1`, `coordination.k8s.io/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// How the served representation maps onto the stored one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    /// Stored as served.
    Identity,
    /// events.k8s.io/v1 Event served from core/v1 Event storage.
    EventsV1,
}

/// Static description of one served resource.
#[derive(Debug)]
pub(crate) struct ResourceInfo {
    pub ty: ResourceType,
    pub kind: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    /// Has a `/status` subresource (spec and status are written separately).
    pub status: bool,
    /// Storage bucket; two served resources may share one (core and events.k8s.io Events).
    pub storage: &'static str,
    pub codec: Codec,
    pub short_names: &'static [&'static str],
}

impl ResourceInfo {
    /// `services` or `leases.coordination.k8s.io`, as used in error messages.
    pub fn group_resource(&self) -> String {
        if self.ty.group.is_empty() {
            self.ty.plural.to_string()
        } else {
            format!("{}.{}", self.ty.plural, self.ty.group)
        }
    }

    pub fn api_version(&self) -> String {
        self.ty.api_version()
    }

    /// Stored form to served form.
    pub fn encode(&self, stored: &Value) -> Value {
        match self.codec {
            Codec::Identity => stored.clone(),
            Codec::EventsV1 => convert_event(stored, &CORE_TO_V1, "events.k8s.io/v1"),
        }
    }

    /// Served form to stored form.
    pub fn decode(&self, served: Value) -> Value {
        match self.codec {
            Codec::Identity => served,
            Codec::EventsV1 => convert_event(&served, &V1_TO_CORE, "v1"),
        }
    }
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Every resource the emulator serves.
pub(crate) static RESOURCES: &[ResourceInfo] = &[
    ResourceInfo {
        ty: ResourceType::SERVICES,
        kind: "Service",
        singular: "service",
        namespaced: true,
        status: true,
        storage: "services",
        codec: Codec::Identity,
        short_names: &["svc"],
    },
    ResourceInfo {
        ty: ResourceType::NODES,
        kind: "Node",
        singular: "node",
        namespaced: false,
        status: true,
        storage: "nodes",
        codec: Codec::Identity,
        short_names: &["no"],
    },
    ResourceInfo {
        ty: ResourceType::NAMESPACES,
        kind: "Namespace",
        singular: "namespace",
        namespaced: false,
        status: true,
        storage: "namespaces",
        codec: Codec::Identity,
        short_names: &["ns"],
    },
    ResourceInfo {
        ty: ResourceType::CORE_EVENTS,
        kind: "Event",
        singular: "event",
        namespaced: true,
        status: false,
        storage: "events",
        codec: Codec::Identity,
        short_names: &["ev"],
    },
    ResourceInfo {
        ty: ResourceType::EVENTS_V1,
        kind: "Event",
        singular: "event",
        namespaced: true,
        status: false,
        storage: "events",
        codec: Codec::EventsV1,
        short_names: &["ev"],
    },
    ResourceInfo {
        ty: ResourceType::LEASES,
        kind: "Lease",
        singular: "lease",
        namespaced: true,
        status: false,
        storage: "leases",
        codec: Codec::Identity,
        short_names: &[],
    },
    ResourceInfo {
        ty: ResourceType::ENDPOINT_SLICES,
        kind: "EndpointSlice",
        singular: "endpointslice",
        namespaced: true,
        status: false,
        storage: "endpointslices",
        codec: Codec::Identity,
        short_names: &[],
    },
    ResourceInfo {
        ty: ResourceType::VALIDATING_WEBHOOKS,
        kind: "ValidatingWebhookConfiguration",
        singular: "validatingwebhookconfiguration",
        namespaced: false,
        status: false,
        storage: "validatingwebhookconfigurations",
        codec: Codec::Identity,
        short_names: &[],
    },
];

/// The resource served at `group/version/plural`.
pub(crate) fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.ty.group == group && r.ty.version == version && r.ty.plural == plural)
}

/// The description of a resource type, if served.
pub(crate) fn info_for(ty: ResourceType) -> Option<&'static ResourceInfo> {
    RESOURCES.iter().find(|r| r.ty == ty)
}

/// Served `(group, version)` pairs, core first.
fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.ty.group, r.ty.version)) {
            out.push((r.ty.group, r.ty.version));
        }
    }
    out
}

/// `GET /api`.
pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": server_address }],
    })
}

/// `GET /apis`.
pub(crate) fn group_list() -> Value {
    let groups: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| group_doc(g, v))
        .collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

/// `GET /apis/<group>`, if the group is served.
pub(crate) fn group(group: &str) -> Option<Value> {
    group_versions()
        .into_iter()
        .find(|(g, _)| !g.is_empty() && *g == group)
        .map(|(g, v)| {
            let mut doc = group_doc(g, v);
            if let Some(obj) = doc.as_object_mut() {
                obj.insert("kind".into(), "APIGroup".into());
                obj.insert("apiVersion".into(), "v1".into());
            }
            doc
        })
}

fn group_doc(group: &str, version: &str) -> Value {
    let gv = json!({ "groupVersion": format!("{group}/{version}"), "version": version });
    json!({ "name": group, "versions": [gv.clone()], "preferredVersion": gv })
}

/// `GET /api/v1` or `GET /apis/<group>/<version>`, if served.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<Value> {
    let served: Vec<&ResourceInfo> = RESOURCES
        .iter()
        .filter(|r| r.ty.group == group && r.ty.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for r in served {
        resources.push(json!({
            "name": r.ty.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": VERBS,
            "shortNames": r.short_names,
        }));
        if r.status {
            resources.push(json!({
                "name": format!("{}/status", r.ty.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

/// `GET /version`.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-kks-lb-emulator",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Field renames between core/v1 Event and events.k8s.io/v1 Event, `(from, to)`.
static CORE_TO_V1: [(&str, &str); 7] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];
static V1_TO_CORE: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn convert_event(from: &Value, renames: &[(&str, &str)], api_version: &str) -> Value {
    let Some(obj) = from.as_object() else {
        return from.clone();
    };
    let mut out = Map::new();
    for (key, value) in obj {
        let renamed = renames
            .iter()
            .find(|(f, _)| f == key)
            .map_or(key.as_str(), |(_, t)| *t);
        out.insert(renamed.to_string(), value.clone());
    }
    out.insert("apiVersion".into(), api_version.into());
    out.insert("kind".into(), "Event".into());
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_between_core_and_events_v1() {
        let info = info_for(ResourceType::EVENTS_V1).unwrap();
        let v1 = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "a", "namespace": "default"},
            "regarding": {"kind": "Service", "name": "web"},
            "note": "hello", "reason": "Ensured", "reportingController": "kks-lb",
        });
        let core = info.decode(v1.clone());
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["name"], "web");
        assert_eq!(core["message"], "hello");
        assert_eq!(core["reportingComponent"], "kks-lb");
        assert_eq!(info.encode(&core), v1);
    }

    #[test]
    fn discovery_lists_status_subresources_and_groups() {
        let core = resource_list("", "v1").unwrap();
        let names: Vec<&str> = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(names.contains(&"services/status"));
        assert!(names.contains(&"nodes"));
        let groups = group_list();
        assert_eq!(groups["groups"].as_array().unwrap().len(), 4);
        assert!(resource_list("apps", "v1").is_none());
    }
}
