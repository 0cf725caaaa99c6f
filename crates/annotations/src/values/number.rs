//! Booleans and bounded decimal integers.

use std::fmt;
use std::str::FromStr;

use super::InvalidValue;

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
