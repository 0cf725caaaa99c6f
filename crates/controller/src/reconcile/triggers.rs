//! Which triggers a reconcile can skip: the memo of each Service's last reconcile, and the
//! trigger keys of one pass (see the module docs of [`super`], "The finalizer flow").

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::runtime::reflector::ObjectRef;
use tokio::time::Instant;

use super::lock;
use crate::status::{MembersKey, TriggerKey};

/// What the last reconcile of a Service saw and when it wants to run again.
#[derive(Debug, Clone, Copy)]
pub(super) struct Memo {
    /// The Service as the reconcile read it, and as its own writes left it.
    pub(super) keys: [TriggerKey; 2],
    pub(super) members: MembersKey,
    /// `None`: only a change brings it back.
    pub(super) due: Option<Instant>,
    pub(super) failures: u32,
}

/// The outcome of one pass of Apply or Cleanup.
#[derive(Debug, Clone, Copy)]
pub(super) struct Done {
    /// Requeue after this long; `None` waits for a change.
    pub(super) requeue: Option<Duration>,
    /// The members the load balancer got.
    pub(super) members: MembersKey,
    /// The Service is no longer ours to remember (deleted or released).
    pub(super) forget: bool,
}

/// One reconcile pass: the trigger keys of the Service as the pass found it and as our own
/// writes leave it, so that the watch events of our writes, and stale cached copies of what
/// the pass already handled, are recognised.
#[derive(Debug)]
pub(super) struct Pass {
    started: TriggerKey,
    after: Mutex<TriggerKey>,
}

impl Pass {
    pub(super) fn new(svc: &Service) -> Self {
        let key = TriggerKey::of(svc);
        Pass {
            started: key,
            after: Mutex::new(key),
        }
    }

    /// Records the Service as our write leaves it: the object this pass read with our change
    /// applied locally. (Not the API's answer, which may carry someone else's newer change
    /// that this pass has not handled.)
    pub(super) fn wrote(&self, svc: &Service) {
        *lock(&self.after) = TriggerKey::of(svc);
    }

    pub(super) fn keys(&self) -> [TriggerKey; 2] {
        [self.started, *lock(&self.after)]
    }
}

/// The memo of every Service's last reconcile.
#[derive(Debug, Default)]
pub(super) struct Memos {
    memo: Mutex<HashMap<ObjectRef<Service>, Memo>>,
}

impl Memos {
    /// Whether the last reconcile already covered this trigger; then how long until it is
    /// due.
    pub(super) fn unchanged(
        &self,
        oref: &ObjectRef<Service>,
        key: TriggerKey,
        members: MembersKey,
    ) -> Option<Option<Duration>> {
        let memo = lock(&self.memo).get(oref).copied()?;
        if !memo.keys.contains(&key) || memo.members != members {
            return None;
        }
        let now = Instant::now();
        match memo.due {
            None => Some(None),
            Some(due) if now < due => Some(Some(due - now)),
            Some(_) => None,
        }
    }

    pub(super) fn remember(&self, oref: ObjectRef<Service>, memo: Memo) {
        lock(&self.memo).insert(oref, memo);
    }

    pub(super) fn remove(&self, oref: &ObjectRef<Service>) {
        lock(&self.memo).remove(oref);
    }

    /// Consecutive failures of the Service's reconciles.
    pub(super) fn failures(&self, oref: &ObjectRef<Service>) -> u32 {
        lock(&self.memo).get(oref).map_or(0, |m| m.failures)
    }

    /// When the Service is due again.
    pub(super) fn due(&self, oref: &ObjectRef<Service>) -> Option<Instant> {
        lock(&self.memo).get(oref).and_then(|m| m.due)
    }

    /// The drift check found the load balancer changed: the next reconcile of the Service
    /// runs in full (its memo is due now).
    pub(super) fn due_now(&self, oref: &ObjectRef<Service>) {
        if let Some(m) = lock(&self.memo).get_mut(oref) {
            m.due = Some(Instant::now());
        }
    }
}
