//! Typed annotation values: each parses with [`FromStr`] and prints with [`fmt::Display`] so that
//! `value.to_string().parse()` gives the value back.
//!
//! A failed parse is an [`InvalidValue`] carrying the rule the text broke, written for the user
//! ("must be a decimal integer from 1 to 10"); [`crate::parse`] adds the key and the value.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::spec::{IpFamily, LbMethod, NodeSelector, PortProtocol, ProxyProtocol};

/// The rule a value broke, as a sentence fragment for the user ("must be true or false").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    fn new(rule: impl Into<String>) -> Self {
        InvalidValue(rule.into())
    }
}

/// A boolean annotation value: `true` or `false`, case-insensitive. Displays in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flag(pub bool);

impl FromStr for Flag {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("true") {
            Ok(Flag(true))
        } else if s.eq_ignore_ascii_case("false") {
            Ok(Flag(false))
        } else {
            Err(InvalidValue::new("must be true or false"))
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "true" } else { "false" })
    }
}

/// A decimal integer in `MIN..=MAX`: an optional `-` and ASCII digits, nothing else
/// (no `+`, spaces, `0x` or exponent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bounded<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Bounded<MIN, MAX> {
    /// The smallest accepted value.
    pub const MIN: i64 = MIN;
    /// The largest accepted value.
    pub const MAX: i64 = MAX;

    /// The value.
    pub fn get(self) -> i64 {
        self.0
    }

    /// The value if it is in range.
    pub fn new(value: i64) -> Option<Self> {
        (MIN..=MAX).contains(&value).then_some(Bounded(value))
    }

    /// The rule this type enforces, as shown in error messages.
    pub fn rule() -> String {
        format!("must be a decimal integer from {MIN} to {MAX}")
    }
}

impl<const MIN: i64, const MAX: i64> FromStr for Bounded<MIN, MAX> {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix('-').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new(Self::rule()));
        }
        s.parse::<i64>()
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| InvalidValue::new(Self::rule()))
    }
}

impl<const MIN: i64, const MAX: i64> fmt::Display for Bounded<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Octavia's largest integer field (a signed 32-bit integer).
pub const INT32_MAX: i64 = 2_147_483_647;

/// `connection-limit`: -1 (unlimited) or a number of connections.
pub type ConnectionLimit = Bounded<{ -1 }, INT32_MAX>;
/// A listener timeout in milliseconds: 0 to 24 hours (Octavia's range).
pub type TimeoutMs = Bounded<0, 86_400_000>;
/// Health monitor delay or timeout in seconds.
pub type Seconds = Bounded<1, INT32_MAX>;
/// Health monitor retries: 1 to 10.
pub type Retries = Bounded<1, 10>;

impl LbMethod {
    /// Every method, in documentation order.
    pub const ALL: [LbMethod; 4] = [
        LbMethod::RoundRobin,
        LbMethod::LeastConnections,
        LbMethod::SourceIp,
        LbMethod::SourceIpPort,
    ];
}

impl FromStr for LbMethod {
    type Err = InvalidValue;

    /// The Octavia name, exactly (`ROUND_ROBIN`); a lower-case spelling is refused with a
    /// suggestion.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(m) = LbMethod::ALL.into_iter().find(|m| m.to_string() == s) {
            return Ok(m);
        }
        let rule = "must be one of ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP, SOURCE_IP_PORT";
        let upper = s.trim().to_ascii_uppercase();
        Err(InvalidValue(
            match LbMethod::ALL.into_iter().find(|m| m.to_string() == upper) {
                Some(m) => format!("{rule}; did you mean {m}?"),
                None => rule.to_owned(),
            },
        ))
    }
}

impl fmt::Display for LbMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LbMethod::RoundRobin => "ROUND_ROBIN",
            LbMethod::LeastConnections => "LEAST_CONNECTIONS",
            LbMethod::SourceIp => "SOURCE_IP",
            LbMethod::SourceIpPort => "SOURCE_IP_PORT",
        })
    }
}

impl FromStr for ProxyProtocol {
    type Err = InvalidValue;

    /// `true` or `v1` → [`ProxyProtocol::V1`], `v2` → [`ProxyProtocol::V2`], `false` →
    /// [`ProxyProtocol::Off`]; case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "true" | "v1" => Ok(ProxyProtocol::V1),
            "v2" => Ok(ProxyProtocol::V2),
            "false" => Ok(ProxyProtocol::Off),
            _ => Err(InvalidValue::new("must be one of true, v1, v2, false")),
        }
    }
}

impl fmt::Display for ProxyProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyProtocol::Off => "false",
            ProxyProtocol::V1 => "v1",
            ProxyProtocol::V2 => "v2",
        })
    }
}

impl FromStr for PortProtocol {
    type Err = InvalidValue;

    /// `TCP`, `UDP` or `SCTP`, exactly as Kubernetes spells them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "TCP" => Ok(PortProtocol::Tcp),
            "UDP" => Ok(PortProtocol::Udp),
            "SCTP" => Ok(PortProtocol::Sctp),
            _ => Err(InvalidValue::new("must be TCP, UDP or SCTP")),
        }
    }
}

impl FromStr for IpFamily {
    type Err = InvalidValue;

    /// `IPv4` or `IPv6`, exactly as Kubernetes spells them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "IPv4" => Ok(IpFamily::IPv4),
            "IPv6" => Ok(IpFamily::IPv6),
            _ => Err(InvalidValue::new("must be IPv4 or IPv6")),
        }
    }
}

impl fmt::Display for IpFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IpFamily::IPv4 => "IPv4",
            IpFamily::IPv6 => "IPv6",
        })
    }
}

impl FromStr for NodeSelector {
    type Err = InvalidValue;

    /// `k=v,k2=v2,k3`: comma-separated entries, spaces around entries, keys and values
    /// ignored; `k` alone means the label must exist. Keys are Kubernetes label keys
    /// (`[prefix/]name`), values label values. The empty string is the empty selector.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut selector = NodeSelector::default();
        if s.trim().is_empty() {
            return Ok(selector);
        }
        for (i, entry) in s.split(',').enumerate() {
            let n = i + 1;
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(InvalidValue(format!(
                    "entry {n} is empty; write key=value or key, separated by commas"
                )));
            }
            let (key, value) = match entry.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (entry, None),
            };
            check_label_key(key)
                .map_err(|why| InvalidValue(format!("entry {n} ({entry}): label key {why}")))?;
            if let Some(v) = value {
                check_label_value(v).map_err(|why| {
                    InvalidValue(format!("entry {n} ({entry}): label value {why}"))
                })?;
            }
            if selector.0.contains_key(key) {
                return Err(InvalidValue(format!(
                    "entry {n}: label key {key} is given twice"
                )));
            }
            selector.0.insert(key.to_owned(), value.map(str::to_owned));
        }
        Ok(selector)
    }
}

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

/// An annotation value whose empty string means "none, even if the cloud configuration sets
/// one" (as in OCCM): `""` → `Optional(None)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Optional<T>(pub Option<T>);

impl<T: FromStr<Err = InvalidValue>> FromStr for Optional<T> {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            Ok(Optional(None))
        } else {
            s.parse().map(|v| Optional(Some(v)))
        }
    }
}

impl<T: fmt::Display> fmt::Display for Optional<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => Ok(()),
        }
    }
}

/// An IP address (`load-balancer-address`, `spec.loadBalancerIP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address(pub IpAddr);

impl FromStr for Address {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse()
            .map(Address)
            .map_err(|_| InvalidValue::new("must be an IPv4 or IPv6 address such as 203.0.113.10"))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A CIDR block such as `203.0.113.0/24` or `2001:db8::/32`; a bare address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr(pub ipnet::IpNet);

impl FromStr for Cidr {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            return Err(InvalidValue(format!(
                "must be a CIDR block; for this single address write {ip}/{bits}"
            )));
        }
        s.parse().map(Cidr).map_err(|_| {
            if let Some((addr, len)) = s.split_once('/')
                && let (Ok(ip), Ok(len)) = (addr.parse::<IpAddr>(), len.parse::<u32>())
            {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                if len > max {
                    return InvalidValue(format!(
                        "must be a CIDR block: the prefix length /{len} is longer than /{max}"
                    ));
                }
            }
            InvalidValue::new("must be a CIDR block such as 203.0.113.0/24 or 2001:db8::/32")
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T>(text: &str)
    where
        T: FromStr<Err = InvalidValue> + fmt::Display + PartialEq + fmt::Debug,
    {
        let value: T = text.parse().unwrap();
        let shown = value.to_string();
        assert_eq!(shown.parse::<T>().unwrap(), value, "{text} -> {shown}");
    }

    #[test]
    fn every_typed_value_displays_as_text_that_parses_back() {
        for t in ["true", "false", "TRUE", "False"] {
            round_trip::<Flag>(t);
        }
        for t in ["-1", "0", "2147483647"] {
            round_trip::<ConnectionLimit>(t);
        }
        for t in [
            "ROUND_ROBIN",
            "LEAST_CONNECTIONS",
            "SOURCE_IP",
            "SOURCE_IP_PORT",
        ] {
            round_trip::<LbMethod>(t);
        }
        for t in ["true", "v1", "V2", "false", "FALSE"] {
            round_trip::<ProxyProtocol>(t);
        }
        for t in ["IPv4", "IPv6"] {
            round_trip::<IpFamily>(t);
        }
        for t in ["", "a=b", "a, b = c ,example.com/zone=x-1", "k="] {
            round_trip::<NodeSelector>(t);
        }
        round_trip::<Hostname>("lb.example.com");
        round_trip::<Uuid>("3F2A1C4E-9b7d-4e21-8c55-0a1b2c3d4e5f");
        round_trip::<OpenStackName>("m1.amphora large");
        round_trip::<Optional<OpenStackName>>("");
        round_trip::<Address>("2001:db8::1");
        round_trip::<Cidr>("10.0.0.0/8");
    }

    #[test]
    fn integers_accept_only_plain_decimal() {
        for bad in ["+5", " 5", "5 ", "0x10", "1e3", "", "-", "--1", "5.0"] {
            assert!(Retries::from_str(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(ConnectionLimit::from_str("-1").unwrap().get(), -1);
        assert_eq!(
            ConnectionLimit::from_str("99999999999999999999999").unwrap_err(),
            InvalidValue("must be a decimal integer from -1 to 2147483647".to_owned())
        );
    }

    #[test]
    fn proxy_protocol_true_means_v1() {
        assert_eq!("True".parse::<ProxyProtocol>().unwrap(), ProxyProtocol::V1);
    }

    #[test]
    fn node_selector_key_alone_means_label_must_exist() {
        let s: NodeSelector = "role=lb,gpu".parse().unwrap();
        assert_eq!(s.0.get("gpu"), Some(&None));
        assert_eq!(s.0.get("role"), Some(&Some("lb".to_owned())));
    }

    #[test]
    fn node_selector_errors_name_the_entry() {
        let e = "a=b,,c".parse::<NodeSelector>().unwrap_err();
        assert!(e.0.contains("entry 2 is empty"), "{e}");
        let e = "a=b,-bad=x".parse::<NodeSelector>().unwrap_err();
        assert!(e.0.contains("entry 2 (-bad=x): label key"), "{e}");
        let e = "a=b,a=c".parse::<NodeSelector>().unwrap_err();
        assert!(e.0.contains("given twice"), "{e}");
        let e = "a=has space".parse::<NodeSelector>().unwrap_err();
        assert!(e.0.contains("label value"), "{e}");
        let e = "Example.com/a=b".parse::<NodeSelector>().unwrap_err();
        assert!(e.0.contains("prefix"), "{e}");
    }

    #[test]
    fn hostname_refuses_ip_addresses_and_upper_case() {
        assert!("10.0.0.1".parse::<Hostname>().is_err());
        assert!("LB.example.com".parse::<Hostname>().is_err());
        assert!("web_app.example.com".parse::<Hostname>().is_err());
        assert!("a.-b.com".parse::<Hostname>().is_err());
        assert!("example.com.".parse::<Hostname>().is_err());
    }

    #[test]
    fn uuid_must_be_hyphenated() {
        assert!("3f2a1c4e9b7d4e218c550a1b2c3d4e5f".parse::<Uuid>().is_err());
        assert!(
            "3f2a1c4e-9b7d-4e21-8c55-0a1b2c3d4e5g"
                .parse::<Uuid>()
                .is_err()
        );
    }

    #[test]
    fn lb_method_in_lower_case_suggests_the_upper_case_value() {
        let e = "least_connections".parse::<LbMethod>().unwrap_err();
        assert!(e.0.ends_with("; did you mean LEAST_CONNECTIONS?"), "{e}");
    }

    #[test]
    fn cidr_with_a_too_long_prefix_says_so() {
        let e = "10.0.0.0/33".parse::<Cidr>().unwrap_err();
        assert_eq!(
            e.0,
            "must be a CIDR block: the prefix length /33 is longer than /32"
        );
    }

    #[test]
    fn cidr_without_prefix_suggests_a_host_route() {
        let e = "10.1.2.3".parse::<Cidr>().unwrap_err();
        assert!(e.0.contains("10.1.2.3/32"), "{e}");
    }
}
