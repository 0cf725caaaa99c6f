//! Network values: IP addresses and CIDRs.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::InvalidValue;

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
