//! Names: Kubernetes label keys and values, DNS subdomains and hostnames, OpenStack UUIDs
//! and names.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::InvalidValue;

/// Checks a Kubernetes label key: an optional DNS subdomain prefix and `/`, then a name of at
/// most 63 characters from `[A-Za-z0-9-_.]` that starts and ends alphanumeric.
pub fn check_label_key(key: &str) -> Result<(), String> {
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty() {
                return Err(format!("{key:?} has an empty prefix before '/'"));
            }
            check_dns_subdomain(prefix).map_err(|why| format!("prefix {prefix:?} {why}"))?;
            name
        }
        None => key,
    };
    if name.is_empty() {
        return Err(format!("{key:?} must have a name"));
    }
    check_label_name(name).map_err(|why| format!("{key:?} {why}"))
}

/// Checks a Kubernetes label value: empty, or at most 63 characters from `[A-Za-z0-9-_.]` that
/// start and end alphanumeric.
pub fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    check_label_name(value).map_err(|why| format!("{value:?} {why}"))
}

fn check_label_name(name: &str) -> Result<(), String> {
    if name.len() > 63 {
        return Err("must be at most 63 characters".to_owned());
    }
    let ok_inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !name.chars().all(ok_inner) {
        return Err("may contain only letters, digits, '-', '_' and '.'".to_owned());
    }
    let alnum_ends = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum_ends {
        return Err("must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// Checks an RFC 1123 DNS subdomain as Kubernetes does: at most 253 characters, dot-separated
/// labels of 1–63 lower-case letters, digits and `-`, each starting and ending alphanumeric.
pub fn check_dns_subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if name.len() > 253 {
        return Err("must be at most 253 characters".to_owned());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(
                "must not have empty labels (\"..\", or a leading or trailing dot)".to_owned(),
            );
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} is longer than 63 characters"));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "label {label:?} may contain only lower-case letters, digits and '-'"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "label {label:?} must start and end with a letter or digit"
            ));
        }
    }
    Ok(())
}

/// A DNS name (RFC 1123 subdomain, lower case, as Kubernetes accepts in
/// `status.loadBalancer.ingress[].hostname`); an IP address is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hostname(String);

impl Hostname {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for Hostname {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.parse::<IpAddr>().is_ok() {
            return Err(InvalidValue::new("must be a DNS name, not an IP address"));
        }
        check_dns_subdomain(s)
            .map_err(|why| InvalidValue(format!("must be a DNS name (RFC 1123): {why}")))?;
        Ok(Hostname(s.to_owned()))
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OpenStack UUID in its hyphenated form, `8-4-4-4-12` hex digits (either case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uuid(String);

impl Uuid {
    /// The UUID as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The UUID, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for Uuid {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let groups: Vec<&str> = s.split('-').collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        let hex = groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
        if lens == [8, 4, 4, 4, 12] && hex {
            Ok(Uuid(s.to_owned()))
        } else {
            Err(InvalidValue::new(
                "must be a UUID such as 3f2a1c4e-9b7d-4e21-8c55-0a1b2c3d4e5f",
            ))
        }
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OpenStack name or ID (flavor, availability zone): 1–255 characters, no control
/// characters, no leading or trailing spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpenStackName(String);

impl OpenStackName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for OpenStackName {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.chars().count() > 255 {
            return Err(InvalidValue::new("must be 1 to 255 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        if s.trim() != s {
            return Err(InvalidValue::new("must not start or end with whitespace"));
        }
        Ok(OpenStackName(s.to_owned()))
    }
}

impl fmt::Display for OpenStackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
