//! The list-based drift check: once per resync interval, one paginated
//! `GET /v2/lbaas/loadbalancers?tags=<cluster tag>` instead of re-reading every tree.
//!
//! Each cached observation carries its load balancer's [`LbState`] (`updated_at`,
//! provisioning and operating status) as the read that filled it, the last wait of the plan
//! that filled it, or the last list showed it. Octavia moves a load balancer's `updated_at`
//! on every mutation of its children too (a member batch `PUT` included), so an unchanged
//! state means an unchanged tree.
//!
//! # Guarantees
//! - A Service whose load balancer shows the same stamp keeps its observation, now counted
//!   as read at the list's time (`kks_lb_drift_checks_total{result="skipped"}`).
//! - A Service whose load balancer changed or is missing from the list loses its observation
//!   and is due at once: the next pass re-reads the tree and repairs any drift
//!   (`result="changed"`). [`Engine::sweep`] names those Services; the caller runs them.
//! - An observation made after the list was sent is left alone (the list may predate it).
//!
//! An observation without a state (a plan that ended without a wait) adopts the one the
//! list shows but is not refreshed: the next resync reads its tree once, as without the list.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Service;
use kks_lb_adapter::{LbState, list_loadbalancers};
use kube::runtime::reflector::ObjectRef;
use tokio::time::Instant;

use super::{Engine, lock};

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Observations kept (the load balancer did not change).
    pub skipped: usize,
    /// Observations dropped (changed or missing): those Services re-read their tree.
    pub changed: usize,
    /// Observations whose first stamp was taken from this list.
    pub adopted: usize,
}

impl Engine {
    /// One drift check: lists the cluster's load balancers (those tagged `tag`) and keeps or
    /// drops every cached observation; returns what it did and the Services whose load
    /// balancer changed (their next pass re-reads the cloud: run them now). See the module docs.
    ///
    /// # Errors
    /// The list failed; nothing was changed (the observations age out and are re-read at the
    /// next resync, as without the list).
    pub async fn sweep(
        &self,
        tag: &str,
    ) -> Result<(Sweep, Vec<ObjectRef<Service>>), kks_lb_adapter::Error> {
        let sent = Instant::now();
        let listed = list_loadbalancers(self.executor.client(), Some(tag)).await?;
        let seen: HashMap<String, LbState> = listed
            .iter()
            .map(|lb| (lb.id.clone(), LbState::of(lb)))
            .collect();
        let mut out = Sweep::default();
        let mut changed: Vec<ObjectRef<Service>> = Vec::new();
        {
            let mut observed = lock(&self.observed);
            for (oref, o) in observed.iter_mut() {
                if o.read_at > sent {
                    continue;
                }
                let Some(id) = o.topology.loadbalancer.id.as_ref() else {
                    continue;
                };
                match (seen.get(id), &o.stamp) {
                    (Some(now), Some(before)) if now == before => {
                        o.read_at = sent;
                        out.skipped += 1;
                    }
                    (Some(now), None) => {
                        // Nothing to compare with: adopt what the list shows, but trust the
                        // tree only as long as the read or plan itself made it trusted.
                        o.stamp = Some(now.clone());
                        out.adopted += 1;
                    }
                    _ => changed.push(oref.clone()),
                }
            }
            for oref in &changed {
                observed.remove(oref);
            }
        }
        out.changed = changed.len();
        self.metrics
            .drift_checks(out.skipped + out.adopted, out.changed);
        Ok((out, changed))
    }
}
