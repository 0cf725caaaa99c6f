//! Validation of metadata common to all kinds: names, label keys and values, annotation size.

use serde_json::Value;

use crate::kube_api::resources::{ResourceInfo, ResourceType};

/// Validation failures, each `field: message` as in the API server's `Invalid` causes.
pub(crate) type Causes = Vec<String>;

/// The API server's limit on the total size of an object's annotations (keys and values).
pub(super) const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// Validates metadata common to all kinds.
pub(crate) fn validate_meta(info: &ResourceInfo, obj: &Value, causes: &mut Causes) {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let ok = if info.ty == ResourceType::SERVICES {
        is_dns1035_label(name)
    } else {
        is_dns_subdomain(name)
    };
    if !ok {
        causes.push(format!(
            "metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 name must consist of lower case alphanumeric characters, '-' or '.'"
        ));
    }
    if let Some(annotations) = obj["metadata"]["annotations"].as_object() {
        let total: usize = annotations
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        if total > ANNOTATIONS_MAX_BYTES {
            causes.push(format!(
                "metadata.annotations: Too long: may not be more than {ANNOTATIONS_MAX_BYTES} bytes"
            ));
        }
    }
    if let Some(labels) = obj["metadata"]["labels"].as_object() {
        for (key, value) in labels {
            let value = value.as_str().unwrap_or_default();
            if !is_qualified_name(key) {
                causes.push(format!(
                    "metadata.labels: Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.'"
                ));
            }
            if !is_label_value(value) {
                causes.push(format!(
                    "metadata.labels: Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63)"
                ));
            }
        }
    }
}

pub(super) fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

pub(super) fn is_dns1035_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub(super) fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
}

pub(super) fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}
