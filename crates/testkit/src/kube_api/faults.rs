//! Fault injection (error responses, latency) and the request audit log.

use std::time::Duration;

/// What a fault does to a matching request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with a Kubernetes `Status` error of this HTTP code instead of handling the
    /// request. Note kube's client retries 429, 503 and 504 by itself.
    Error(u16),
    /// Handle the request after this delay.
    Delay(Duration),
}

/// A fault rule: requests whose method matches and whose `path?query` contains
/// `path_contains` get `action`, for the next `times` matches (or forever).
///
/// ```
/// # use kks_lb_testkit::kube_api::Fault;
/// // Fail the next two status writes with 409 Conflict.
/// let fault = Fault::error("PATCH", "/status", 409).times(2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// HTTP method to match (`GET`, `PATCH`, ...); `*` matches any.
    pub method: String,
    /// Substring of `path?query` to match; empty matches everything.
    pub path_contains: String,
    /// What to do.
    pub action: FaultAction,
    /// How many more requests this rule applies to; `None` is unlimited.
    pub remaining: Option<u32>,
}

impl Fault {
    /// Fail matching requests with `status` (e.g. 409, 500, 410).
    pub fn error(method: &str, path_contains: &str, status: u16) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_string(),
            action: FaultAction::Error(status),
            remaining: None,
        }
    }

    /// Delay matching requests by `delay`.
    pub fn latency(method: &str, path_contains: &str, delay: Duration) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_string(),
            action: FaultAction::Delay(delay),
            remaining: None,
        }
    }

    /// Apply to the next `n` matching requests only.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }

    fn matches(&self, method: &str, target: &str) -> bool {
        (self.method == "*" || self.method == method)
            && target.contains(&self.path_contains)
            && self.remaining != Some(0)
    }
}

/// The active fault rules.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<Fault>,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) {
        self.rules.push(fault);
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Consumes the first matching delay and the first matching error, if any.
    pub fn take(&mut self, method: &str, target: &str) -> (Option<Duration>, Option<u16>) {
        let mut delay = None;
        let mut error = None;
        for rule in &mut self.rules {
            if !rule.matches(method, target) {
                continue;
            }
            let used = match rule.action {
                FaultAction::Delay(d) if delay.is_none() => {
                    delay = Some(d);
                    true
                }
                FaultAction::Error(code) if error.is_none() => {
                    error = Some(code);
                    true
                }
                _ => false,
            };
            if used && let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
        }
        self.rules.retain(|r| r.remaining != Some(0));
        (delay, error)
    }
}

/// One request as seen by the emulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// HTTP method.
    pub method: String,
    /// URL path.
    pub path: String,
    /// Raw query string (may be empty).
    pub query: String,
    /// Response status code (200 for watches that started streaming).
    pub status: u16,
    /// Whether the response came from an injected fault.
    pub injected: bool,
}

impl AuditEntry {
    /// Whether this was a watch request.
    pub fn is_watch(&self) -> bool {
        self.query
            .split('&')
            .any(|kv| kv == "watch=true" || kv == "watch=1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_expire_after_their_matches() {
        let mut faults = Faults::default();
        faults.add(Fault::error("patch", "/status", 409).times(2));
        faults.add(Fault::latency("*", "services", Duration::from_millis(5)));
        assert_eq!(
            faults.take("GET", "/api/v1/services"),
            (Some(Duration::from_millis(5)), None)
        );
        let target = "/api/v1/namespaces/default/services/web/status";
        assert_eq!(faults.take("PATCH", target).1, Some(409));
        assert_eq!(faults.take("PATCH", target).1, Some(409));
        assert_eq!(faults.take("PATCH", target).1, None);
        assert_eq!(faults.take("PUT", target).1, None);
    }
}
