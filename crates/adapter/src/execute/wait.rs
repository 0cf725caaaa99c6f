//! Waiting for a load balancer to leave PENDING_*: the shared [`Poller`] or, when it cannot
//! answer, a poll of the load balancer on its own; ERROR after a create deletes it.

use kks_lb_octavia_model::ProvisioningStatus;
use reqwest::Method;
use tokio::time::Instant;

use super::{Executor, Run};
use crate::error::{Error, Result, Service};
#[cfg(doc)]
use crate::poller::Poller;
use crate::poller::{LbState, Sighting, status_of};
#[cfg(doc)]
use crate::slots::WorkSlots;

impl Executor {
    /// Waits until the load balancer leaves PENDING_*; returns the final status, or `None`
    /// when it is gone; [`Error::WaitTimeout`] after the wait limit. The shared [`Poller`]
    /// answers (one list call per tick for every waiter); when it cannot, this load
    /// balancer is polled on its own. `listed`: it is known to carry the poller's tag
    /// ([`Poller::would_list`]), so a list without it means gone. Under [`WorkSlots::run`]
    /// the wait gives its slot back.
    pub(super) async fn wait_for(
        &self,
        id: &str,
        started: Instant,
        listed: bool,
    ) -> Result<Option<LbState>> {
        crate::slots::given_back(async {
            let result = self.wait_unslotted(id, started, listed).await;
            // The wait itself, not the queue for a slot that follows it.
            if let Some(r) = self.poller.recorder() {
                r.waited(started.elapsed());
            }
            result
        })
        .await
    }

    async fn wait_unslotted(
        &self,
        id: &str,
        started: Instant,
        listed: bool,
    ) -> Result<Option<LbState>> {
        match self.poller.join(id, listed) {
            Some(mut waiter) => {
                let mut last: Option<LbState> = None;
                loop {
                    let left = self.cfg.wait_limit.saturating_sub(started.elapsed());
                    let Ok(seen) = tokio::time::timeout(left, waiter.next()).await else {
                        break Err(self.wait_timeout(id, last.as_ref(), started));
                    };
                    let state = match seen {
                        Sighting::Gone => break Ok(None),
                        Sighting::None => last.take(),
                        Sighting::Status(s) => s,
                        Sighting::PollYourself => match Box::pin(self.read_status(id)).await {
                            Ok(Some(s)) => s,
                            Ok(None) => break Ok(None),
                            Err(e) => break Err(e),
                        },
                    };
                    match state {
                        Some(s) if !s.provisioning.is_pending() => break Ok(Some(s)),
                        other => last = other,
                    }
                    if started.elapsed() >= self.cfg.wait_limit {
                        break Err(self.wait_timeout(id, last.as_ref(), started));
                    }
                }
            }
            None => self.poll_alone(id, started).await,
        }
    }

    fn wait_timeout(&self, id: &str, status: Option<&LbState>, started: Instant) -> Error {
        Error::WaitTimeout {
            lb_id: id.to_owned(),
            status: status.map_or_else(|| "unknown".to_owned(), |s| s.provisioning.to_string()),
            waited: started.elapsed(),
        }
    }

    /// One `GET` of the load balancer: `Ok(None)` when it is gone, `Ok(Some(None))` when the
    /// status could not be read (a retryable error).
    async fn read_status(&self, id: &str) -> Result<Option<Option<LbState>>> {
        match self
            .client
            .call(
                Service::Octavia,
                Method::GET,
                &["lbaas", "loadbalancers", id],
                &[],
                None,
            )
            .await
        {
            Ok(r) => Ok(Some(status_of(&r.body))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) if e.is_retryable() => Ok(Some(None)),
            Err(e) => Err(e),
        }
    }

    /// Polls one load balancer on its own (clouds whose list refuses the tag filter).
    async fn poll_alone(&self, id: &str, started: Instant) -> Result<Option<LbState>> {
        let mut n = 0;
        loop {
            let Some(status) = Box::pin(self.read_status(id)).await? else {
                return Ok(None);
            };
            match status {
                Some(s) if !s.provisioning.is_pending() => return Ok(Some(s)),
                _ => {}
            }
            if started.elapsed() >= self.cfg.wait_limit {
                return Err(self.wait_timeout(id, status.as_ref(), started));
            }
            tokio::time::sleep(self.cfg.backoff.delay(n)).await;
            n += 1;
        }
    }
}

impl Run<'_> {
    pub(super) async fn wait_active(
        &mut self,
        n: usize,
        op: &'static str,
        created: bool,
    ) -> Result<()> {
        let Some(id) = self.lb_id() else {
            return Ok(());
        };
        let seen = self.ex.wait_for(&id, Instant::now(), false).await?;
        let status = seen.as_ref().map(|s| s.provisioning);
        self.state = seen;
        match status {
            Some(ProvisioningStatus::Error) => {
                if created {
                    // SPEC.md §8: an LB that ends in ERROR on create is deleted and recreated on
                    // the next reconcile.
                    let _ = Box::pin(self.ex.call(
                        Service::Octavia,
                        Method::DELETE,
                        &["lbaas", "loadbalancers", &id],
                        &[("cascade", "true".into())],
                        None,
                        true,
                        None,
                    ))
                    .await;
                }
                Err(Error::LoadBalancerFailed {
                    lb_id: id,
                    step: n,
                    op,
                })
            }
            _ => Ok(()),
        }
    }
}
