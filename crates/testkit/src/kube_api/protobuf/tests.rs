//! Unit tests of protobuf decoding, against hand-encoded bodies and one kubectl sent.

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
