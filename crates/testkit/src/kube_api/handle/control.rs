//! Test controls: faults, dropped watches, history compaction and the audit log.

use std::sync::atomic::Ordering;

use super::KubeEmulator;
use crate::kube_api::faults::{AuditEntry, Fault};
use crate::kube_api::server::lock;

impl KubeEmulator {
    /// Adds a fault rule (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared().faults).add(fault);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.shared().faults).clear();
    }

    /// Aborts every open watch connection (clients see the connection break and re-watch
    /// from their last resourceVersion).
    pub fn drop_watches(&self) {
        self.shared().kill.send_modify(|g| *g += 1);
    }

    /// Number of watch streams currently open.
    pub fn active_watches(&self) -> usize {
        self.shared().active_watches.load(Ordering::SeqCst)
    }

    /// Forgets the event history: later watches from any earlier resourceVersion get
    /// `410 Expired` and must re-list.
    pub fn compact_history(&self) {
        lock(&self.shared().store).compact();
    }

    /// Every request served so far, oldest first.
    pub fn audit_log(&self) -> Vec<AuditEntry> {
        lock(&self.shared().audit).clone()
    }

    /// Clears the audit log.
    pub fn clear_audit_log(&self) {
        lock(&self.shared().audit).clear();
    }

    /// Number of logged requests with this method (`*` for any) whose `path?query`
    /// contains `path_contains`.
    pub fn count_requests(&self, method: &str, path_contains: &str) -> usize {
        lock(&self.shared().audit)
            .iter()
            .filter(|e| method == "*" || e.method.eq_ignore_ascii_case(method))
            .filter(|e| {
                let target = if e.query.is_empty() {
                    e.path.clone()
                } else {
                    format!("{}?{}", e.path, e.query)
                };
                target.contains(path_contains)
            })
            .count()
    }
}
