//! The protobuf wire format: varints, fields, and a builder that turns fields into the JSON
//! a JSON client would have sent.

use serde_json::{Map, Value};

pub(super) const MAGIC: &[u8] = b"k8s\0";

/// One protobuf field's value: a varint or length-delimited bytes (fixed-width values are not
/// used by the kinds decoded and are skipped).
pub(super) enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

pub(super) type Fields<'a> = Vec<(u64, Field<'a>)>;

pub(super) fn varint(buf: &[u8], at: &mut usize) -> Option<u64> {
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
pub(super) fn fields(buf: &[u8]) -> Option<Fields<'_>> {
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

pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(super) fn bytes_of<'a>(
    fields: &'a [(u64, Field<'a>)],
    number: u64,
) -> impl Iterator<Item = &'a [u8]> {
    fields.iter().filter_map(move |(n, v)| match v {
        Field::Bytes(b) if *n == number => Some(*b),
        _ => None,
    })
}

/// The last value of a scalar field (protobuf: the last one wins).
pub(super) fn last_bytes<'a>(fields: &'a [(u64, Field<'a>)], number: u64) -> Option<&'a [u8]> {
    bytes_of(fields, number).last()
}

pub(super) fn last_varint(fields: &[(u64, Field<'_>)], number: u64) -> Option<u64> {
    fields.iter().rev().find_map(|(n, v)| match v {
        Field::Varint(x) if *n == number => Some(*x),
        _ => None,
    })
}

/// An `int32`/`int64` varint: negative numbers are sent sign-extended to 64 bits.
pub(super) fn signed(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

pub(super) fn string_map(fields: &[(u64, Field<'_>)], number: u64) -> Option<Map<String, Value>> {
    let mut map = Map::new();
    for entry in bytes_of(fields, number) {
        let kv = fields_or_empty(entry);
        let key = last_bytes(&kv, 1).map(text).unwrap_or_default();
        let value = last_bytes(&kv, 2).map(text).unwrap_or_default();
        map.insert(key, value.into());
    }
    (!map.is_empty()).then_some(map)
}

pub(super) fn fields_or_empty(buf: &[u8]) -> Fields<'_> {
    fields(buf).unwrap_or_default()
}

/// A JSON object being built from one message.
pub(super) struct Out<'a, 'f> {
    pub(super) f: &'a [(u64, Field<'f>)],
    pub(super) map: Map<String, Value>,
}

impl<'a, 'f> Out<'a, 'f> {
    pub(super) fn new(f: &'a [(u64, Field<'f>)]) -> Self {
        Self { f, map: Map::new() }
    }

    /// A string field JSON omits when empty (`omitempty`, not a pointer).
    pub(super) fn string(mut self, number: u64, key: &str) -> Self {
        if let Some(v) = last_bytes(self.f, number)
            .map(text)
            .filter(|v| !v.is_empty())
        {
            self.map.insert(key.into(), v.into());
        }
        self
    }

    /// A `*string` field: present, even empty, when it was set.
    pub(super) fn optional_string(mut self, number: u64, key: &str) -> Self {
        if let Some(v) = last_bytes(self.f, number) {
            self.map.insert(key.into(), text(v).into());
        }
        self
    }

    /// A number field JSON omits when zero; `always` keeps a zero (a required number).
    pub(super) fn number(mut self, number: u64, key: &str, always: bool) -> Self {
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
    pub(super) fn boolean(mut self, number: u64, key: &str, pointer: bool) -> Self {
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

    pub(super) fn strings(mut self, number: u64, key: &str) -> Self {
        let list: Vec<Value> = bytes_of(self.f, number).map(|b| text(b).into()).collect();
        if !list.is_empty() {
            self.map.insert(key.into(), list.into());
        }
        self
    }

    pub(super) fn string_map(mut self, number: u64, key: &str) -> Self {
        if let Some(map) = string_map(self.f, number) {
            self.map.insert(key.into(), Value::Object(map));
        }
        self
    }

    /// A nested message, decoded by `decode`, kept when it has any field.
    pub(super) fn message(mut self, number: u64, key: &str, decode: fn(&[u8]) -> Value) -> Self {
        if let Some(v) = last_bytes(self.f, number).map(decode).filter(non_empty) {
            self.map.insert(key.into(), v);
        }
        self
    }

    /// A repeated message, kept when it has any element.
    pub(super) fn messages(mut self, number: u64, key: &str, decode: fn(&[u8]) -> Value) -> Self {
        let list: Vec<Value> = bytes_of(self.f, number).map(decode).collect();
        if !list.is_empty() {
            self.map.insert(key.into(), list.into());
        }
        self
    }

    pub(super) fn done(self) -> Value {
        Value::Object(self.map)
    }
}

pub(super) fn non_empty(v: &Value) -> bool {
    v.as_object().is_some_and(|o| !o.is_empty())
}
