//! The kinds a client can write in protobuf, by the field numbers of
//! `k8s.io/api/core/v1/generated.proto`: `ObjectMeta`, Namespaces, Services and Nodes.

use serde_json::Value;

use super::wire::{Out, fields_or_empty, last_bytes, last_varint, signed, text};

/// `ObjectMeta` as written by a client: name (1), generateName (2), namespace (3), uid (5),
/// resourceVersion (6), labels (11), annotations (12), finalizers (14).
pub(super) fn object_meta(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f)
        .string(1, "name")
        .string(2, "generateName")
        .string(3, "namespace")
        .string(5, "uid")
        .string(6, "resourceVersion")
        .string_map(11, "labels")
        .string_map(12, "annotations")
        .strings(14, "finalizers")
        .done()
}

/// `IntOrString`: type (1: 0 int, 1 string), intVal (2), strVal (3); `None` for the zero int
/// (which JSON clients leave for defaulting to fill).
pub(super) fn int_or_string(buf: &[u8]) -> Option<Value> {
    let f = fields_or_empty(buf);
    if last_varint(&f, 1) == Some(1) {
        return Some(last_bytes(&f, 3).map(text).unwrap_or_default().into());
    }
    let v = last_varint(&f, 2).map(signed).unwrap_or_default();
    (v != 0).then(|| v.into())
}

/// `ServicePort`: name (1), protocol (2), port (3), targetPort (4), nodePort (5),
/// appProtocol (6).
pub(super) fn service_port(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    let mut port = Out::new(&f)
        .string(1, "name")
        .string(2, "protocol")
        .number(3, "port", true)
        .number(5, "nodePort", false)
        .optional_string(6, "appProtocol");
    if let Some(target) = last_bytes(&f, 4).and_then(int_or_string) {
        port.map.insert("targetPort".into(), target);
    }
    port.done()
}

/// `ClientIPConfig`: timeoutSeconds (1).
pub(super) fn client_ip_config(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f).number(1, "timeoutSeconds", false).done()
}

/// `SessionAffinityConfig`: clientIP (1).
pub(super) fn session_affinity_config(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f).message(1, "clientIP", client_ip_config).done()
}

/// `ServiceSpec`, by the field numbers of `generated.proto`.
pub(super) fn service_spec(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f)
        .messages(1, "ports", service_port)
        .string_map(2, "selector")
        .string(3, "clusterIP")
        .string(4, "type")
        .strings(5, "externalIPs")
        .string(7, "sessionAffinity")
        .string(8, "loadBalancerIP")
        .strings(9, "loadBalancerSourceRanges")
        .string(10, "externalName")
        .string(11, "externalTrafficPolicy")
        .number(12, "healthCheckNodePort", false)
        .boolean(13, "publishNotReadyAddresses", false)
        .message(14, "sessionAffinityConfig", session_affinity_config)
        .optional_string(17, "ipFamilyPolicy")
        .strings(18, "clusterIPs")
        .strings(19, "ipFamilies")
        .boolean(20, "allocateLoadBalancerNodePorts", true)
        .optional_string(21, "loadBalancerClass")
        .optional_string(22, "internalTrafficPolicy")
        .optional_string(23, "trafficDistribution")
        .done()
}

/// `Taint`: key (1), value (2), effect (3).
pub(super) fn taint(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f)
        .string(1, "key")
        .string(2, "value")
        .string(3, "effect")
        .done()
}

/// `NodeSpec`: podCIDR (1), providerID (3), unschedulable (4), taints (5), podCIDRs (7).
pub(super) fn node_spec(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f)
        .string(1, "podCIDR")
        .string(3, "providerID")
        .boolean(4, "unschedulable", false)
        .messages(5, "taints", taint)
        .strings(7, "podCIDRs")
        .done()
}

/// `NamespaceSpec`: finalizers (1).
pub(super) fn namespace_spec(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f).strings(1, "finalizers").done()
}
