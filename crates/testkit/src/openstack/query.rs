//! Query strings and list filters shared by the Octavia and Neutron emulators.
//!
//! Both services filter lists by any attribute (`?name=x`, repeated keys are alternatives:
//! `?id=a&id=b`) and by tags with the four tag filters of the Octavia and Neutron API
//! references: `tags` (all of), `tags-any` (any of), `not-tags` (not all of) and
//! `not-tags-any` (none of), each a comma-separated list.

use serde_json::Value;

/// Parameters that are not attribute filters.
const RESERVED: &[&str] = &[
    "limit",
    "marker",
    "page_reverse",
    "sort",
    "sort_key",
    "sort_dir",
    "fields",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
    "cascade",
];

/// A decoded query string, keys in order, repeats kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `a=1&b=x%20y`.
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        Query(pairs)
    }

    /// Every value of `key`.
    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of `key`.
    pub(crate) fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `object` (a rendered resource) passes every attribute and tag filter. A filter on
    /// an attribute the object does not have is ignored, except the ones `special` handles:
    /// it receives (key, values) and returns `Some(matched)` to take over.
    pub(crate) fn matches(
        &self,
        object: &Value,
        special: &dyn Fn(&str, &[&str]) -> Option<bool>,
    ) -> bool {
        let mut keys: Vec<&str> = self.0.iter().map(|(k, _)| k.as_str()).collect();
        keys.dedup();
        for key in keys {
            if RESERVED.contains(&key) {
                continue;
            }
            let values = self.all(key);
            if let Some(result) = special(key, &values) {
                if !result {
                    return false;
                }
                continue;
            }
            let Some(field) = object.get(key) else {
                continue;
            };
            if !values.iter().any(|v| value_matches(field, v)) {
                return false;
            }
        }
        self.tags_match(object.get("tags"))
    }

    fn tags_match(&self, tags: Option<&Value>) -> bool {
        let have: Vec<&str> = tags
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        self.tags_match_list(&have)
    }

    /// Whether an object with `tags` and `name` can pass the filters: the tag filters and any
    /// `name` filter, checked on the stored record before it is rendered (an index, so a
    /// filtered list does not render every object).
    pub(crate) fn may_match(&self, tags: &[String], name: &str) -> bool {
        let names = self.all("name");
        if !names.is_empty() && !names.contains(&name) {
            return false;
        }
        let have: Vec<&str> = tags.iter().map(String::as_str).collect();
        self.tags_match_list(&have)
    }

    /// Whether objects that passed [`Query::may_match`] (name and tag filters) and came from
    /// the indexes of the keys in `indexed` must still be rendered and checked with
    /// [`Query::matches`]: only when another attribute filter is present.
    pub(crate) fn needs_render_match(&self, indexed: &[&str]) -> bool {
        self.0.iter().any(|(k, _)| {
            let k = k.as_str();
            !RESERVED.contains(&k) && k != "name" && !indexed.contains(&k)
        })
    }

    fn tags_match_list(&self, have: &[&str]) -> bool {
        let list = |key: &str| -> Option<Vec<String>> {
            let vals = self.all(key);
            if vals.is_empty() {
                return None;
            }
            Some(
                vals.iter()
                    .flat_map(|v| v.split(','))
                    .map(str::to_owned)
                    .collect(),
            )
        };
        let has = |t: &String| have.contains(&t.as_str());
        list("tags").is_none_or(|want| want.iter().all(has))
            && list("tags-any").is_none_or(|want| want.iter().any(has))
            && list("not-tags").is_none_or(|not| !not.iter().all(has))
            && list("not-tags-any").is_none_or(|not| !not.iter().any(has))
    }
}

fn value_matches(field: &Value, wanted: &str) -> bool {
    match field {
        Value::String(s) => s == wanted,
        Value::Bool(b) => wanted.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(n) => n.to_string() == wanted,
        Value::Null => wanted.is_empty() || wanted == "null",
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// Percent-decoding with `+` as space.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decoding_handles_percent_plus_and_repeats() {
        let q = Query::parse(Some("name=a%20b+c&id=1&id=2&x=%zz&y=%41"));
        assert_eq!(q.first("name"), Some("a b c"));
        assert_eq!(q.all("id"), vec!["1", "2"]);
        assert_eq!(q.first("x"), Some("%zz"));
        assert_eq!(q.first("y"), Some("A"));
    }

    #[test]
    fn attribute_filters_are_alternatives_and_tag_filters_follow_the_api_reference() {
        let obj = json!({"id": "2", "name": "lb", "admin_state_up": true, "tags": ["a", "b"]});
        let none = |_: &str, _: &[&str]| None;
        assert!(Query::parse(Some("id=1&id=2")).matches(&obj, &none));
        assert!(!Query::parse(Some("name=other")).matches(&obj, &none));
        assert!(Query::parse(Some("admin_state_up=True")).matches(&obj, &none));
        assert!(Query::parse(Some("unknown=1")).matches(&obj, &none));
        assert!(Query::parse(Some("tags=a,b")).matches(&obj, &none));
        assert!(!Query::parse(Some("tags=a,c")).matches(&obj, &none));
        assert!(Query::parse(Some("tags-any=c,b")).matches(&obj, &none));
        assert!(!Query::parse(Some("not-tags=a,b")).matches(&obj, &none));
        assert!(Query::parse(Some("not-tags=a,c")).matches(&obj, &none));
        assert!(!Query::parse(Some("not-tags-any=c,a")).matches(&obj, &none));
        let special = |k: &str, v: &[&str]| (k == "loadbalancer_id").then(|| v.contains(&"lb1"));
        let q = Query::parse(Some("loadbalancer_id=lb1&name=x&tags=a&limit=1"));
        assert!(!q.needs_render_match(&["loadbalancer_id"]));
        assert!(q.needs_render_match(&[]));
        assert!(Query::parse(Some("admin_state_up=true")).needs_render_match(&["id"]));
        assert!(Query::parse(Some("loadbalancer_id=lb1")).matches(&obj, &special));
        assert!(!Query::parse(Some("loadbalancer_id=lb2")).matches(&obj, &special));
    }
}
