//! Typed annotation values: each parses with [`FromStr`] and prints with [`fmt::Display`] so that
//! `value.to_string().parse()` gives the value back.
//!
//! A failed parse is an [`InvalidValue`] carrying the rule the text broke, written for the user
//! ("must be a decimal integer from 1 to 10"); [`crate::parse`] adds the key and the value.
//!
//! Where things live (everything is re-exported here, so paths are `values::*`):
//!
//! - this module: [`InvalidValue`] and the [`Optional`] wrapper (empty means "none");
//! - `number`: [`Flag`] and the [`Bounded`] integers ([`ConnectionLimit`], [`TimeoutMs`],
//!   [`Seconds`], [`Retries`]);
//! - `choice`: parsing and printing the spec's enums ([`LbMethod`](crate::LbMethod),
//!   [`ProxyProtocol`](crate::ProxyProtocol), [`IpFamily`](crate::IpFamily), ...) and
//!   [`NodeSelector`](crate::NodeSelector);
//! - `name`: Kubernetes label and DNS name checks, [`Hostname`], [`Uuid`] and
//!   [`OpenStackName`];
//! - `net`: [`Address`] and [`Cidr`].

use std::fmt;
use std::str::FromStr;

mod choice;
mod name;
mod net;
mod number;

pub use name::{
    Hostname, OpenStackName, Uuid, check_dns_subdomain, check_label_key, check_label_value,
};
pub use net::{Address, Cidr};
pub use number::{Bounded, ConnectionLimit, Flag, INT32_MAX, Retries, Seconds, TimeoutMs};

/// The rule a value broke, as a sentence fragment for the user ("must be true or false").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    fn new(rule: impl Into<String>) -> Self {
        InvalidValue(rule.into())
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

#[cfg(test)]
mod tests;
