//! Request bodies in `application/vnd.kubernetes.protobuf`, which kubectl's typed commands
//! send (`kubectl create namespace`).
//!
//! The envelope (`k8s\0` + `runtime.Unknown` with `typeMeta` and `raw`) is decoded, and the
//! kinds kubectl creates this way here, Namespaces, are turned into JSON (`metadata.name`,
//! `generateName`, `labels`, `annotations`, `spec.finalizers`). Other kinds are answered with
//! `415 Unsupported Media Type` naming the kind, like a server that does not speak protobuf for
//! it; `kubectl apply -f` and `kubectl create -f` send JSON and are unaffected.

use serde_json::{Map, Value, json};

use super::error::ApiError;

/// The content type kubectl uses for built-in kinds.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

/// One protobuf field's value: a varint (not needed by the kinds decoded) or length-delimited
/// bytes.
enum Field<'a> {
    Varint,
    Bytes(&'a [u8]),
}

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
fn fields(buf: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let key = varint(buf, &mut at)?;
        let (number, wire) = (key >> 3, key & 7);
        let value = match wire {
            0 => {
                varint(buf, &mut at)?;
                Field::Varint
            }
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

fn string_map(fields: &[(u64, Field<'_>)], number: u64) -> Option<Map<String, Value>> {
    let mut map = Map::new();
    for entry in bytes_of(fields, number) {
        let kv = fields_or_empty(entry);
        let key = bytes_of(&kv, 1).next().map(text).unwrap_or_default();
        let value = bytes_of(&kv, 2).next().map(text).unwrap_or_default();
        map.insert(key, value.into());
    }
    (!map.is_empty()).then_some(map)
}

fn fields_or_empty(buf: &[u8]) -> Vec<(u64, Field<'_>)> {
    fields(buf).unwrap_or_default()
}

/// `ObjectMeta` as written by a client: name (1), generateName (2), namespace (3),
/// labels (11), annotations (12).
fn object_meta(buf: &[u8]) -> Value {
    let f = fields_or_empty(buf);
    let mut meta = Map::new();
    for (number, key) in [(1, "name"), (2, "generateName"), (3, "namespace")] {
        if let Some(v) = bytes_of(&f, number).next() {
            meta.insert(key.into(), text(v).into());
        }
    }
    for (number, key) in [(11, "labels"), (12, "annotations")] {
        if let Some(map) = string_map(&f, number) {
            meta.insert(key.into(), Value::Object(map));
        }
    }
    Value::Object(meta)
}

fn unsupported(what: &str) -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format ({CONTENT_TYPE} for {what}) - accepted media types include: application/json, application/yaml (the emulator decodes protobuf for Namespaces only; use kubectl apply -f or create -f)"
        ),
    )
}

/// The JSON object of a protobuf request body.
///
/// # Errors
/// `415` for a kind other than a Namespace, `400` for bytes that are not a protobuf envelope.
pub(crate) fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let bad = || ApiError::bad_request("couldn't decode the protobuf request body");
    let inner = body.strip_prefix(MAGIC).ok_or_else(bad)?;
    let unknown = fields(inner).ok_or_else(bad)?;
    let type_meta = fields_or_empty(bytes_of(&unknown, 1).next().unwrap_or_default());
    let api_version = bytes_of(&type_meta, 1).next().map(text).unwrap_or_default();
    let kind = bytes_of(&type_meta, 2).next().map(text).unwrap_or_default();
    let raw = bytes_of(&unknown, 2).next().unwrap_or_default();
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") => {
            let f = fields(raw).ok_or_else(bad)?;
            let metadata = bytes_of(&f, 1).next().map(object_meta).unwrap_or(json!({}));
            let mut ns = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": metadata });
            let spec = fields_or_empty(bytes_of(&f, 2).next().unwrap_or_default());
            let finalizers: Vec<Value> = bytes_of(&spec, 1).map(|b| text(b).into()).collect();
            if !finalizers.is_empty()
                && let Some(o) = ns.as_object_mut()
            {
                o.insert("spec".into(), json!({ "finalizers": finalizers }));
            }
            Ok(ns)
        }
        _ => Err(unsupported(&format!("{api_version} {kind}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, u8::try_from(bytes.len()).unwrap()];
        out.extend_from_slice(bytes);
        out
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
        let label = [field(1, b"team"), field(2, b"web")].concat();
        let meta = [field(1, b"web"), field(11, &label)].concat();
        let raw = [field(1, &meta), field(2, &[]), field(3, &[])].concat();
        let ns = decode(&envelope("v1", "Namespace", &raw)).unwrap();
        assert_eq!(
            ns,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web", "labels": {"team": "web"}}})
        );
    }

    #[test]
    fn other_kinds_are_unsupported_and_garbage_is_a_bad_request() {
        let err = decode(&envelope("v1", "Service", &[])).unwrap_err();
        assert_eq!(err.code, 415);
        assert!(err.message.contains("v1 Service"), "{}", err.message);
        assert_eq!(decode(b"{}").unwrap_err().code, 400);
        assert_eq!(decode(b"k8s\0\xff\xff").unwrap_err().code, 400);
    }
}
