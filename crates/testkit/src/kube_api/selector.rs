//! Label and field selectors, as accepted by `labelSelector=` and `fieldSelector=`.

use serde_json::Value;

/// One label requirement.
#[derive(Clone, Debug, PartialEq)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    Gt(String, i64),
    Lt(String, i64),
}

/// A parsed label selector (`a=b,c!=d,e in (f,g),!h,i`). Empty matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct LabelSelector(Vec<LabelReq>);

impl LabelSelector {
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top_level(input) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_requirement(part)?);
        }
        Ok(Self(reqs))
    }

    pub fn matches(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|req| match req {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => get(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelReq::NotIn(k, vs) => get(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
            LabelReq::Gt(k, n) => get(k)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|l| l > *n),
            LabelReq::Lt(k, n) => get(k)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|l| l < *n),
        })
    }
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in input.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn parse_requirement(part: &str) -> Result<LabelReq, String> {
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        return if valid_key(key) {
            Ok(LabelReq::NotExists(key.to_string()))
        } else {
            Err(format!("invalid label selector requirement: {part:?}"))
        };
    }
    let key_end = part
        .find(|c: char| c.is_whitespace() || matches!(c, '=' | '!' | '<' | '>'))
        .unwrap_or(part.len());
    let key = &part[..key_end];
    if !valid_key(key) {
        return Err(format!("invalid label key in selector: {part:?}"));
    }
    let rest = part[key_end..].trim_start();
    if rest.is_empty() {
        return Ok(LabelReq::Exists(key.to_string()));
    }
    let key = key.to_string();
    for (word, is_in) in [("notin", false), ("in", true)] {
        if let Some(after) = rest.strip_prefix(word) {
            let after = after.trim_start();
            if let Some(set) = after.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
                let values: Vec<String> = set
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect();
                return Ok(if is_in {
                    LabelReq::In(key, values)
                } else {
                    LabelReq::NotIn(key, values)
                });
            }
            return Err(format!("invalid set in label selector: {part:?}"));
        }
    }
    let (op, value) = if let Some(v) = rest.strip_prefix("==") {
        ("=", v)
    } else if let Some(v) = rest.strip_prefix("!=") {
        ("!=", v)
    } else if let Some(v) = rest.strip_prefix('=') {
        ("=", v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (">", v)
    } else if let Some(v) = rest.strip_prefix('<') {
        ("<", v)
    } else {
        return Err(format!("invalid operator in label selector: {part:?}"));
    };
    let value = value.trim().to_string();
    let number = || {
        value
            .parse::<i64>()
            .map_err(|_| format!("label selector {part:?} needs an integer value"))
    };
    Ok(match op {
        "=" => LabelReq::Eq(key, value),
        "!=" => LabelReq::NotEq(key, value),
        ">" => LabelReq::Gt(key, number()?),
        _ => LabelReq::Lt(key, number()?),
    })
}

/// A parsed field selector (`metadata.name=web,spec.type!=ClusterIP`).
///
/// Any dotted path into the object is accepted (a superset of what the API server allows);
/// missing fields compare as the empty string.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct FieldSelector(Vec<(Vec<String>, bool, String)>);

impl FieldSelector {
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in input.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (path, equal, value) = if let Some((p, v)) = part.split_once("!=") {
                (p, false, v)
            } else if let Some((p, v)) = part.split_once("==") {
                (p, true, v)
            } else if let Some((p, v)) = part.split_once('=') {
                (p, true, v)
            } else {
                return Err(format!("invalid field selector: {part:?}"));
            };
            let path = path.trim();
            if path.is_empty() {
                return Err(format!("invalid field selector: {part:?}"));
            }
            reqs.push((
                path.split('.').map(str::to_string).collect(),
                equal,
                value.trim().to_string(),
            ));
        }
        Ok(Self(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, equal, value)| {
            let mut cur = Some(obj);
            for seg in path {
                cur = cur.and_then(|v| v.get(seg));
            }
            let actual = match cur {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (actual == *value) == *equal
        })
    }
}

/// Which objects a list or watch selects: namespace, labels and fields.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filter {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    /// Whether a served-form object is selected.
    pub fn matches(&self, obj: &Value) -> bool {
        if let Some(ns) = &self.namespace
            && obj["metadata"]["namespace"].as_str() != Some(ns.as_str())
        {
            return false;
        }
        self.labels.matches(obj["metadata"]["labels"].as_object()) && self.fields.matches(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn label_selector_supports_every_operator() {
        let l = labels(json!({"app": "web", "tier": "front", "n": "5"}));
        let yes = [
            "",
            "app=web",
            "app==web",
            "app!=db",
            "missing!=x",
            "app",
            "!missing",
            "tier in (front, back)",
            "tier notin (back)",
            "missing notin (x)",
            "app=web,tier in (front),!gone",
            "n>4",
            "n<6",
        ];
        for s in yes {
            assert!(LabelSelector::parse(s).unwrap().matches(Some(&l)), "{s}");
        }
        let no = [
            "app=db",
            "app!=web",
            "missing",
            "!app",
            "tier in (back)",
            "missing in (x)",
            "tier notin (front)",
            "n>5",
        ];
        for s in no {
            assert!(!LabelSelector::parse(s).unwrap().matches(Some(&l)), "{s}");
        }
    }

    #[test]
    fn malformed_label_selectors_are_rejected() {
        for s in ["=x", "a in x", "a ~ b", "n>x"] {
            assert!(LabelSelector::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn field_selector_matches_names_and_nested_paths() {
        let obj = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"type": "LoadBalancer"}});
        let yes = FieldSelector::parse(
            "metadata.name=web,spec.type==LoadBalancer,metadata.namespace!=kube-system",
        )
        .unwrap();
        assert!(yes.matches(&obj));
        let no = FieldSelector::parse("spec.type=ClusterIP").unwrap();
        assert!(!no.matches(&obj));
        assert!(FieldSelector::parse("spec.type").is_err());
    }
}
