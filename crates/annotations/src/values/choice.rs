//! `FromStr`/`Display` for the spec's enums and the node selector.

use std::fmt;
use std::str::FromStr;

use super::InvalidValue;
use super::name::{check_label_key, check_label_value};
use crate::spec::{IpFamily, LbMethod, NodeSelector, PortProtocol, ProxyProtocol};

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
