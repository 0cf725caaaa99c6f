//! The parse context: the Service's annotations, the errors and warnings collected so far,
//! typed lookups of one key, and the integer helpers.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::error::{AnnotationError, Warning, WarningReason};
use crate::spec::PortSpec;
use crate::values::InvalidValue;

/// An annotation lookup: absent, present but invalid (the error is recorded), or a value.
pub(super) enum Val<T> {
    Absent,
    Invalid,
    Given(T),
}

impl<T> Val<T> {
    /// The given value, else `default` (also when invalid: the Service is invalid anyway).
    pub(super) fn or(self, default: T) -> T {
        match self {
            Val::Given(v) => v,
            Val::Absent | Val::Invalid => default,
        }
    }

    pub(super) fn is_given(&self) -> bool {
        matches!(self, Val::Given(_))
    }
}

pub(super) struct Cx<'a> {
    pub(super) ann: &'a BTreeMap<String, String>,
    pub(super) errors: Vec<AnnotationError>,
    pub(super) warnings: Vec<Warning>,
}

/// A port as written, with its index in `spec.ports`, for messages.
pub(super) struct IndexedPort {
    pub(super) index: usize,
    pub(super) spec: PortSpec,
}

pub(super) fn int_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

pub(super) fn int_u8(v: i64) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

pub(super) fn port_u16(v: i32) -> Option<u16> {
    u16::try_from(v).ok().filter(|p| *p != 0)
}

impl Cx<'_> {
    pub(super) fn err(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
        rule: impl Into<String>,
    ) {
        self.errors.push(AnnotationError::new(key, value, rule));
    }

    pub(super) fn warn(
        &mut self,
        key: impl Into<String>,
        reason: WarningReason,
        message: impl Into<String>,
    ) {
        self.warnings.push(Warning::new(key, reason, message));
    }

    pub(super) fn get<T: FromStr<Err = InvalidValue>>(&mut self, key: &str) -> Val<T> {
        let Some(raw) = self.ann.get(key) else {
            return Val::Absent;
        };
        match raw.parse() {
            Ok(v) => Val::Given(v),
            Err(InvalidValue(rule)) => {
                self.err(key, raw.as_str(), rule);
                Val::Invalid
            }
        }
    }

    pub(super) fn raw(&self, key: &str) -> String {
        self.ann.get(key).cloned().unwrap_or_default()
    }
}

/// Helpers over the bounded integer types.
pub(super) trait IntVal {
    fn map_get(self, default: i64) -> i64;
    fn map_known(self, default: i64) -> Option<i64>;
}

impl<const MIN: i64, const MAX: i64> IntVal for Val<crate::values::Bounded<MIN, MAX>> {
    fn map_get(self, default: i64) -> i64 {
        match self {
            Val::Given(v) => v.get(),
            Val::Absent | Val::Invalid => default,
        }
    }

    fn map_known(self, default: i64) -> Option<i64> {
        match self {
            Val::Given(v) => Some(v.get()),
            Val::Absent => Some(default),
            Val::Invalid => None,
        }
    }
}

impl<T> Val<T> {
    pub(super) fn or_else(self, default: impl FnOnce() -> T) -> T {
        match self {
            Val::Given(v) => v,
            Val::Absent | Val::Invalid => default(),
        }
    }
}
