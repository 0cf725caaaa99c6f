//! [`WorkSlots`]: how many reconciles work at once, where a reconcile that waits for the
//! cloud gives its slot back.
//!
//! A plan's waits for a load balancer to leave `PENDING_*` cost nothing but time: the shared
//! [`Poller`](crate::Poller) answers every waiter with one list call per tick. If a waiting
//! reconcile kept its slot, a controller with 16 slots could have at most 16 load balancers
//! waiting, so one tick would answer at most 16 waiters and a node add across 1,000 load
//! balancers would need at least 2 × 1,000 / 16 ticks. With work slots, the slot bounds the
//! reconciles that compute, read or write; the waiting ones hold only their plan.
//!
//! ```
//! # async fn demo() {
//! use kks_lb_adapter::WorkSlots;
//!
//! let slots = WorkSlots::new(16);
//! let answer = slots
//!     .run(async {
//!         // observe, plan, execute: every wait for ACTIVE inside gives the slot back.
//!         42
//!     })
//!     .await;
//! assert_eq!(answer, 42);
//! assert_eq!(slots.free(), 16);
//! # }
//! ```

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

tokio::task_local! {
    /// The slot of the reconcile being polled, when it runs under [`WorkSlots::run`].
    static HELD: RefCell<Held>;
}

struct Held {
    slots: WorkSlots,
    permit: Option<OwnedSemaphorePermit>,
}

/// A fixed number of slots for reconciles that work; cheap to clone (clones share the slots).
#[derive(Debug, Clone)]
pub struct WorkSlots {
    slots: Arc<Semaphore>,
}

impl WorkSlots {
    /// `n` slots (at least one).
    pub fn new(n: usize) -> Self {
        WorkSlots {
            slots: Arc::new(Semaphore::new(n.max(1))),
        }
    }

    /// How many slots are free now.
    pub fn free(&self) -> usize {
        self.slots.available_permits()
    }

    /// Runs `work` in a slot: waits for a free slot (first come, first served), then runs
    /// `work`, which gives the slot back while it waits for a load balancer to leave
    /// `PENDING_*` and takes a slot again (queueing behind the others) before it goes on.
    pub async fn run<F: Future>(&self, work: F) -> F::Output {
        let permit = self.take().await;
        let held = Held {
            slots: self.clone(),
            permit,
        };
        HELD.scope(RefCell::new(held), work).await
    }

    /// A slot (`None` only if the semaphore were closed, which it never is).
    async fn take(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.slots).acquire_owned().await.ok()
    }
}

/// Runs `wait` without the slot of the reconcile it belongs to, if it runs under
/// [`WorkSlots::run`]; takes a slot again before returning. Outside [`WorkSlots::run`] (an
/// embedder's own reconcile, a CLI, a test) it only awaits `wait`.
pub(crate) async fn given_back<F: Future>(wait: F) -> F::Output {
    let slots = HELD
        .try_with(|h| {
            let mut h = h.borrow_mut();
            h.permit.take().map(|_| h.slots.clone())
        })
        .ok()
        .flatten();
    let Some(slots) = slots else {
        return wait.await;
    };
    let out = wait.await;
    let permit = slots.take().await;
    let _ = HELD.try_with(|h| h.borrow_mut().permit = permit);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_waiting_reconcile_frees_its_slot_and_takes_one_again() {
        let slots = WorkSlots::new(1);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let slots = slots.clone();
            async move {
                slots
                    .run(async move {
                        given_back(async move { rx.await.ok() }).await;
                        "first done"
                    })
                    .await
            }
        });
        // The first waits without its slot, so a second reconcile runs to its end.
        let second = tokio::time::timeout(Duration::from_secs(5), slots.run(async { "second" }))
            .await
            .expect("the waiting reconcile gave its slot back");
        assert_eq!(second, "second");
        tx.send(()).ok();
        assert_eq!(first.await.ok(), Some("first done"));
        assert_eq!(slots.free(), 1);
    }

    #[tokio::test]
    async fn work_holds_its_slot_outside_waits() {
        let slots = WorkSlots::new(1);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let holder = tokio::spawn({
            let slots = slots.clone();
            async move { slots.run(async move { rx.await.ok() }).await }
        });
        tokio::task::yield_now().await;
        while slots.free() == 1 {
            tokio::task::yield_now().await;
        }
        let blocked = tokio::time::timeout(Duration::from_millis(200), slots.run(async {})).await;
        assert!(
            blocked.is_err(),
            "a second reconcile ran beside one that works"
        );
        tx.send(()).ok();
        holder.await.ok();
        assert_eq!(slots.free(), 1);
    }

    #[tokio::test]
    async fn outside_a_slot_a_wait_is_only_a_wait() {
        assert_eq!(given_back(async { 7 }).await, 7);
    }
}
