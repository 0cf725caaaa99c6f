//! The node cache the reconciles read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Node;
use kube::runtime::reflector::Store;
use tokio::sync::watch;

use super::lock;

/// A snapshot of the node cache, rebuilt when a node changes in a way that matters.
#[derive(Debug, Default)]
struct NodeSnapshot {
    epoch: u64,
    nodes: Arc<Vec<Node>>,
}

/// The node cache the reconcile reads: a reflector's store plus two signals from the stream
/// that feeds it ([`NodeSignals`]): listed (the first complete list is in) and changed.
///
/// kube-runtime's `Store::wait_until_ready` wakes only one of several concurrent waiters, so
/// readiness comes from our own `watch` channel instead.
#[derive(Debug, Clone)]
pub struct NodeCache {
    store: Store<Node>,
    epoch: Arc<AtomicU64>,
    listed: watch::Receiver<bool>,
    snapshot: Arc<Mutex<Option<NodeSnapshot>>>,
}

/// The feeding side of a [`NodeCache`]; call it after the reflector applied each event.
#[derive(Debug)]
pub struct NodeSignals {
    epoch: Arc<AtomicU64>,
    listed: watch::Sender<bool>,
}

impl NodeCache {
    /// A cache over a reflector store, and the signals its feeding stream raises.
    pub fn new(store: Store<Node>) -> (NodeCache, NodeSignals) {
        let epoch = Arc::new(AtomicU64::new(0));
        let (tx, rx) = watch::channel(false);
        (
            NodeCache {
                store,
                epoch: Arc::clone(&epoch),
                listed: rx,
                snapshot: Arc::default(),
            },
            NodeSignals { epoch, listed: tx },
        )
    }
}

impl NodeCache {
    /// How many member-relevant node changes were signalled.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Whether a complete list of nodes is in.
    pub fn is_listed(&self) -> bool {
        *self.listed.borrow()
    }

    /// The nodes, once the cache has its first complete list; `None` when the feeding
    /// stream stopped first. Copies are shared until a node changes in a way that matters.
    pub async fn current(&self) -> Option<Arc<Vec<Node>>> {
        self.listed.clone().wait_for(|listed| *listed).await.ok()?;
        // Read the epoch before the store: a snapshot is never older than its epoch.
        let epoch = self.epoch.load(Ordering::SeqCst);
        let mut snap = lock(&self.snapshot);
        if let Some(s) = snap.as_ref()
            && s.epoch == epoch
        {
            return Some(Arc::clone(&s.nodes));
        }
        let nodes: Arc<Vec<Node>> =
            Arc::new(self.store.state().iter().map(|n| (**n).clone()).collect());
        *snap = Some(NodeSnapshot {
            epoch,
            nodes: Arc::clone(&nodes),
        });
        Some(nodes)
    }
}

impl NodeSignals {
    /// A complete list of nodes is in the store.
    pub fn listed(&self) {
        self.listed.send_replace(true);
    }

    /// Nodes changed in a way that can change members.
    pub fn changed(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}
