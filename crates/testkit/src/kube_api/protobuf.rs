//! Request bodies in `application/vnd.kubernetes.protobuf`, which kubectl's typed commands
//! send (`kubectl create namespace`, `kubectl create service clusterip|nodeport|loadbalancer`).
//!
//! The envelope (`k8s\0` + `runtime.Unknown` with `typeMeta` and `raw`) is decoded, and the
//! kinds the emulator serves that a client can write this way, Namespaces, Services and Nodes,
//! are turned into the JSON a JSON client would have sent, following the field numbers of
//! `k8s.io/api/core/v1/generated.proto`: empty strings and zero numbers of fields that JSON
//! omits when empty are left out, fields the emulator does not know are ignored, and the
//! result takes the normal path (defaulting, validation, webhooks). Status is not decoded (a
//! create or update never sets it). Other kinds are answered with
//! `415 Unsupported Media Type` naming the kind, like a server that does not speak protobuf for
//! it; `kubectl apply -f`, `kubectl create -f` and every patch send JSON and are unaffected.

use serde_json::{Map, Value, json};

use super::error::ApiError;

/// The content type kubectl uses for built-in kinds.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

/// One protobuf field's value: a varint or length-delimited bytes (fixed-width values are not
/// used by the kinds decoded and are skipped).
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

type Fields<'a> = Vec<(u64, Field<'a>)>;

fn varint(buf: &[u8], at: &mut usize) -> Option<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*at)?;
        *at += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(out);
        }
    }
    None
}

/// The fields of one message, in order; `None` when the bytes are not a protobuf message.
fn fields(buf: &[u8]) -> Option<Fields<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let key = varint(buf, &mut at)?;
        let (number, wire) = (key >> 3, key & 7);
        let value = match wire {
            0 => Field::Varint(varint(buf, &mut at)?),
            1 => {
                at = at.checked_add(8).filter(|e| *e <= buf.len())?;
                continue;
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut at)?).ok()?;
                let end = at.checked_add(len).filter(|e| *e <= buf.len())?;
                let bytes = &buf[at..end];
                at = end;
                Field::Bytes(bytes)
            }
            5 => {
                at = at.checked_add(4).filter(|e| *e <= buf.len())?;
                continue;
            }
            _ => return None,
        };
        out.push((number, value));
    }
    Some(out)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn bytes_of<'a>(fields: &'a [(u64, Field<'a>)], number: u64) -> impl Iterator<Item = &'a [u8]> {
    fields.iter().filter_map(move |(n, v)| match v {
        Field::Bytes(b) if *n == number => Some(*b),
        _ => None,
    })
}

/// The last value of a scalar field (protobuf: the last one wins).
fn last_bytes<'a>(fields: &'a [(u64, Field<'a>)], number: u64) -> Option<&'a [u8]> {
    bytes_of(fields, number).last()
}

fn last_varint(fields: &[(u64, Field<'_>)], number: u64) -> Option<u64> {
    fields.iter().rev().find_map(|(n, v)| match v {
        Field::Varint(x) if *n == number => Some(*x),
        _ => None,
    })
}

/// An `int32`/`int64` varint: negative numbers are sent sign-extended to 64 bits.
fn signed(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

fn string_map(fields: &[(u64, Field<'_>)], number: u64) -> Option<Map<String, Value>> {
    let mut map = Map::new();
    for entry in bytes_of(fields, number) {
        let kv = fields_or_empty(entry);
        let key = last_bytes(&kv, 1).map(text).unwrap_or_default();
        let value = last_bytes(&kv, 2).map(text).unwrap_or_default();
        map.insert(key, value.into());
    }
    (!map.is_empty()).then_some(map)
}

fn fields_or_empty(buf: &[u8]) -> Fields<'_> {
    fields(buf).unwrap_or_default()
}

/// A JSON object being built from one message.
struct Out<'a, 'f> {
    f: &'a [(u64, Field<'f>)],
    map: Map<String, Value>,
}

impl<'a, 'f> Out<'a, 'f> {
    fn new(f: &'a [(u64, Field<'f>)]) -> Self {
        Self { f, map: Map::new() }
    }

    /// A string field JSON omits when empty (`omitempty`, not a pointer).
    fn string(mut self, number: u64, key: &str) -> Self {
        if let Some(v) = last_bytes(self.f, number)
            .map(text)
            .filter(|v| !v.is_empty())
        {
            self.map.insert(key.into(), v.into());
        }
        self
    }

    /// A `*string` field: present, even empty, when it was set.
    fn optional_string(mut self, number: u64, key: &str) -> Self {
        if let Some(v) = last_bytes(self.f, number) {
            self.map.insert(key.into(), text(v).into());
        }
        self
    }

    /// A number field JSON omits when zero; `always` keeps a zero (a required number).
    fn number(mut self, number: u64, key: &str, always: bool) -> Self {
        match last_varint(self.f, number).map(signed) {
            Some(v) if v != 0 || always => {
                self.map.insert(key.into(), v.into());
            }
            None if always => {
                self.map.insert(key.into(), 0.into());
            }
            _ => {}
        }
        self
    }

    /// A bool field; `pointer` keeps a `false` that was set (`*bool`), otherwise JSON omits it.
    fn boolean(mut self, number: u64, key: &str, pointer: bool) -> Self {
        match last_varint(self.f, number) {
            Some(v) if v != 0 => {
                self.map.insert(key.into(), true.into());
            }
            Some(_) if pointer => {
                self.map.insert(key.into(), false.into());
            }
            _ => {}
        }
        self
    }

    fn strings(mut self, number: u64, key: &str) -> Self {
        let list: Vec<Value> = bytes_of(self.f, number).map(|b| text(b).into()).collect();
        if !list.is_empty() {
            self.map.insert(key.into(), list.into());
        }
        self
    }

    fn string_map(mut self, number: u64, key: &str) -> Self {
        if let Some(map) = string_map(self.f, number) {
            self.map.insert(key.into(), Value::Object(map));
        }
        self
    }

    /// A nested message, decoded by `decode`, kept when it has any field.
    fn message(mut self, number: u64, key: &str, decode: fn(&[u8]) -> Value) -> Self {
        if let Some(v) = last_bytes(self.f, number).map(decode).filter(non_empty) {
            self.map.insert(key.into(), v);
        }
        self
    }

    /// A repeated message, kept when it has any element.
    fn messages(mut self, number: u64, key: &str, decode: fn(&[u8]) -> Value) -> Self {
        let list: Vec<Value> = bytes_of(self.f, number).map(decode).collect();
        if !list.is_empty() {
            self.map.insert(key.into(), list.into());
        }
        self
    }

    fn done(self) -> Value {
        Value::Object(self.map)
    }
}

fn non_empty(v: &Value) -> bool {
    v.as_object().is_some_and(|o| !o.is_empty())
}

/// `ObjectMeta` as written by a client: name (1), generateName (2), namespace (3), uid (5),
/// resourceVersion (6), labels (11), annotations (12), finalizers (14).
fn object_meta(buf: &[u8]) -> Value {
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
fn int_or_string(buf: &[u8]) -> Option<Value> {
    let f = fields_or_empty(buf);
    if last_varint(&f, 1) == Some(1) {
        return Some(last_bytes(&f, 3).map(text).unwrap_or_default().into());
    }
    let v = last_varint(&f, 2).map(signed).unwrap_or_default();
    (v != 0).then(|| v.into())
}

/// `ServicePort`: name (1), protocol (2), port (3), targetPort (4), nodePort (5),
/// appProtocol (6).
fn service_port(buf: &[u8]) -> Value {
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
fn client_ip_config(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f).number(1, "timeoutSeconds", false).done()
}

/// `SessionAffinityConfig`: clientIP (1).
fn session_affinity_config(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f).message(1, "clientIP", client_ip_config).done()
}

/// `ServiceSpec`, by the field numbers of `generated.proto`.
fn service_spec(buf: &[u8]) -> Value {
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
fn taint(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f)
        .string(1, "key")
        .string(2, "value")
        .string(3, "effect")
        .done()
}

/// `NodeSpec`: podCIDR (1), providerID (3), unschedulable (4), taints (5), podCIDRs (7).
fn node_spec(buf: &[u8]) -> Value {
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
fn namespace_spec(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    Out::new(&f).strings(1, "finalizers").done()
}

fn unsupported(what: &str) -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format ({CONTENT_TYPE} for {what}) - accepted media types include: application/json, application/yaml (the emulator decodes protobuf for Namespaces, Services and Nodes only; use kubectl apply -f or create -f)"
        ),
    )
}

/// The JSON object of a protobuf request body.
///
/// # Errors
/// `415` for a kind other than a Namespace, Service or Node, `400` for bytes that are not a
/// protobuf envelope or object.
pub(crate) fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let bad = || ApiError::bad_request("couldn't decode the protobuf request body");
    let inner = body.strip_prefix(MAGIC).ok_or_else(bad)?;
    let unknown = fields(inner).ok_or_else(bad)?;
    let type_meta = fields_or_empty(last_bytes(&unknown, 1).unwrap_or_default());
    let api_version = last_bytes(&type_meta, 1).map(text).unwrap_or_default();
    let kind = last_bytes(&type_meta, 2).map(text).unwrap_or_default();
    let raw = last_bytes(&unknown, 2).unwrap_or_default();
    let spec: fn(&[u8]) -> Value = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") => namespace_spec,
        ("v1", "Service") => service_spec,
        ("v1", "Node") => node_spec,
        _ => return Err(unsupported(&format!("{api_version} {kind}"))),
    };
    // Namespace, Service and Node all carry metadata (1), spec (2) and status (3).
    let f = fields(raw).ok_or_else(bad)?;
    let metadata = last_bytes(&f, 1).map(object_meta).unwrap_or(json!({}));
    let mut object = json!({ "apiVersion": api_version, "kind": kind, "metadata": metadata });
    // A JSON client always sends a Service's spec (a struct, never omitted), even empty.
    let spec = last_bytes(&f, 2).map(spec).unwrap_or(json!({}));
    if (kind == "Service" || non_empty(&spec))
        && let Some(o) = object.as_object_mut()
    {
        o.insert("spec".into(), spec);
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(number: u64, wire: u64) -> Vec<u8> {
        encode_varint((number << 3) | wire)
    }

    fn encode_varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = u8::try_from(v & 0x7f).unwrap();
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn field(number: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = key(number, 2);
        out.extend(encode_varint(u64::try_from(bytes.len()).unwrap()));
        out.extend_from_slice(bytes);
        out
    }

    fn int(number: u64, v: i64) -> Vec<u8> {
        let mut out = key(number, 0);
        out.extend(encode_varint(u64::from_ne_bytes(v.to_ne_bytes())));
        out
    }

    fn entry(number: u64, k: &str, v: &str) -> Vec<u8> {
        field(
            number,
            &[field(1, k.as_bytes()), field(2, v.as_bytes())].concat(),
        )
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [field(1, api_version.as_bytes()), field(2, kind.as_bytes())].concat();
        let unknown = [
            field(1, &type_meta),
            field(2, raw),
            field(4, CONTENT_TYPE.as_bytes()),
        ]
        .concat();
        [MAGIC, &unknown].concat()
    }

    #[test]
    fn a_namespace_from_kubectl_create_namespace_decodes() {
        let meta = [field(1, b"web"), entry(11, "team", "web")].concat();
        let raw = [field(1, &meta), field(2, &[]), field(3, &[])].concat();
        let ns = decode(&envelope("v1", "Namespace", &raw)).unwrap();
        assert_eq!(
            ns,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web", "labels": {"team": "web"}}})
        );
    }

    /// What `kubectl create service loadbalancer web --tcp=80:8080` sends: gogo-protobuf writes
    /// every non-pointer string, even empty, and the zero numbers.
    fn kubectl_service(spec_extra: &[u8]) -> Vec<u8> {
        let target = [int(1, 0), int(2, 8080), field(3, b"")].concat();
        let port = [
            field(1, b"80-8080"),
            field(2, b"TCP"),
            int(3, 80),
            field(4, &target),
            int(5, 0),
        ]
        .concat();
        let spec = [
            field(1, &port),
            entry(2, "app", "web"),
            field(3, b""),
            field(4, b"LoadBalancer"),
            field(7, b""),
            field(8, b""),
            field(10, b""),
            field(11, b""),
            int(12, 0),
            int(13, 0),
            spec_extra.to_vec(),
        ]
        .concat();
        let meta = [
            field(1, b"web"),
            field(2, b""),
            field(3, b""),
            field(6, b""),
            entry(11, "app", "web"),
        ]
        .concat();
        let raw = [field(1, &meta), field(2, &spec), field(3, &field(1, &[]))].concat();
        envelope("v1", "Service", &raw)
    }

    #[test]
    fn a_service_from_kubectl_create_service_decodes_like_its_json() {
        let svc = decode(&kubectl_service(&[])).unwrap();
        assert_eq!(
            svc,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {
                    "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                    "selector": {"app": "web"},
                    "type": "LoadBalancer"
                }
            })
        );
    }

    #[test]
    fn the_body_kubectl_sends_for_create_service_decodes() {
        let body = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/kubectl-create-service-loadbalancer.pb"
        ));
        assert_eq!(
            decode(body).unwrap(),
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
                "spec": {
                    "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                    "selector": {"app": "web"},
                    "type": "LoadBalancer"
                }
            })
        );
    }

    #[test]
    fn service_spec_fields_follow_the_generated_proto_numbers() {
        let named = [int(1, 1), field(3, b"http")].concat();
        let port = [
            int(3, 443),
            field(4, &named),
            int(5, 30443),
            field(6, b"h2c"),
        ]
        .concat();
        let affinity = field(1, &int(1, 600));
        let extra = [
            field(1, &port),
            field(5, b"192.0.2.1"),
            field(7, b"ClientIP"),
            field(8, b"203.0.113.7"),
            field(9, b"10.0.0.0/8"),
            field(9, b"192.168.0.0/16"),
            field(11, b"Local"),
            int(12, 31000),
            int(13, 1),
            field(14, &affinity),
            field(17, b"SingleStack"),
            field(18, b"10.96.0.10"),
            field(19, b"IPv4"),
            int(20, 0),
            field(21, b"openstack"),
            field(22, b"Cluster"),
            field(99, b"a field from a newer release"),
        ]
        .concat();
        let svc = decode(&kubectl_service(&extra)).unwrap();
        let spec = &svc["spec"];
        assert_eq!(
            spec["ports"][1],
            json!({"port": 443, "targetPort": "http", "nodePort": 30443, "appProtocol": "h2c"})
        );
        assert_eq!(spec["externalIPs"], json!(["192.0.2.1"]));
        assert_eq!(spec["sessionAffinity"], "ClientIP");
        assert_eq!(spec["loadBalancerIP"], "203.0.113.7");
        assert_eq!(
            spec["loadBalancerSourceRanges"],
            json!(["10.0.0.0/8", "192.168.0.0/16"])
        );
        assert_eq!(spec["externalTrafficPolicy"], "Local");
        assert_eq!(spec["healthCheckNodePort"], 31000);
        assert_eq!(spec["publishNotReadyAddresses"], true);
        assert_eq!(
            spec["sessionAffinityConfig"],
            json!({"clientIP": {"timeoutSeconds": 600}})
        );
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(spec["clusterIPs"], json!(["10.96.0.10"]));
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["allocateLoadBalancerNodePorts"], false);
        assert_eq!(spec["loadBalancerClass"], "openstack");
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert_eq!(spec.as_object().unwrap().len(), 17, "{spec}");
    }

    #[test]
    fn negative_and_large_varints_decode() {
        let port = [int(3, -1), int(5, 70000)].concat();
        let raw = [field(1, &field(1, b"x")), field(2, &field(1, &port))].concat();
        let svc = decode(&envelope("v1", "Service", &raw)).unwrap();
        assert_eq!(
            svc["spec"]["ports"][0],
            json!({"port": -1, "nodePort": 70000})
        );
    }

    #[test]
    fn a_service_without_a_spec_still_has_one() {
        let raw = field(1, &field(1, b"bare"));
        let svc = decode(&envelope("v1", "Service", &raw)).unwrap();
        assert_eq!(svc["spec"], json!({}));
    }

    #[test]
    fn a_node_decodes_its_metadata_and_spec() {
        let meta = [
            field(1, b"worker-9"),
            entry(11, "pool", "extra"),
            entry(12, "note", "x"),
            field(14, b"example.com/keep"),
        ]
        .concat();
        let taint = [
            field(1, b"dedicated"),
            field(2, b"lb"),
            field(3, b"NoSchedule"),
        ]
        .concat();
        let spec = [
            field(1, b"10.244.1.0/24"),
            field(3, b"openstack:///0b7c"),
            int(4, 1),
            field(5, &taint),
            field(7, b"10.244.1.0/24"),
        ]
        .concat();
        let raw = [
            field(1, &meta),
            field(2, &spec),
            field(3, &field(5, b"ignored")),
        ]
        .concat();
        let node = decode(&envelope("v1", "Node", &raw)).unwrap();
        assert_eq!(
            node,
            json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {
                    "name": "worker-9", "labels": {"pool": "extra"}, "annotations": {"note": "x"},
                    "finalizers": ["example.com/keep"]
                },
                "spec": {
                    "podCIDR": "10.244.1.0/24", "providerID": "openstack:///0b7c",
                    "unschedulable": true,
                    "taints": [{"key": "dedicated", "value": "lb", "effect": "NoSchedule"}],
                    "podCIDRs": ["10.244.1.0/24"]
                }
            })
        );
    }

    #[test]
    fn other_kinds_are_unsupported_and_garbage_is_a_bad_request() {
        let err = decode(&envelope("v1", "Pod", &[])).unwrap_err();
        assert_eq!(err.code, 415);
        assert!(err.message.contains("v1 Pod"), "{}", err.message);
        assert_eq!(decode(b"{}").unwrap_err().code, 400);
        assert_eq!(decode(b"k8s\0\xff\xff").unwrap_err().code, 400);
        let truncated = [field(1, &[]), vec![0x12, 0x05, 0x0a]].concat();
        assert_eq!(decode(&[MAGIC, &truncated].concat()).unwrap_err().code, 400);
        let bad_raw = field(2, &[0x0a, 0x09]);
        let bad_service = [
            field(1, &[field(1, b"v1"), field(2, b"Service")].concat()),
            bad_raw,
        ]
        .concat();
        assert_eq!(
            decode(&[MAGIC, &bad_service].concat()).unwrap_err().code,
            400
        );
    }
}
