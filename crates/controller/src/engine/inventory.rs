//! The term's first inventory: what the cloud held when this leadership term began, before
//! any pass ran (see [`Engine::set_inventory`]).

use std::collections::HashSet;

use kks_lb_adapter::{LbState, Lookup, Ownership, Rebuilt};
use kks_lb_octavia_model::Topology;
use tokio::time::Instant;

use super::{Engine, lock};

/// The rebuilt observations, when they were listed, and the names a create was sent for
/// since.
#[derive(Debug)]
pub(super) struct Inventory {
    rebuilt: Rebuilt,
    taken: Instant,
    created: HashSet<String>,
}

impl Engine {
    /// Records the term's first inventory ([`kks_lb_adapter::rebuild`]), listed after
    /// leadership was gained and before any pass ran, while this process is the only writer
    /// (`taken`: when it was sent).
    ///
    /// - Its trees are each Service's first observation (taken once, stamped with the load
    ///   balancer's state as listed, so the drift check keeps verifying it).
    /// - A name it did not list, and no create was sent for since, has no load balancer:
    ///   that Service's observe skips the lookup by name. Any create step marks the name
    ///   first, so the executor's lookup after an unknown outcome and every later observe
    ///   look it up again.
    pub fn set_inventory(&self, rebuilt: Rebuilt, taken: Instant) {
        *lock(&self.inventory) = Some(Inventory {
            rebuilt,
            taken,
            created: HashSet::new(),
        });
    }

    /// How observe may find the load balancer named `name` (see
    /// [`Engine::set_inventory`]).
    pub(super) fn lookup(&self, name: &str) -> Lookup {
        match lock(&self.inventory).as_ref() {
            Some(i) if !i.rebuilt.has_name(name) && !i.created.contains(name) => {
                Lookup::KnownAbsent
            }
            _ => Lookup::ByName,
        }
    }

    /// The inventory's observation of a Service's load balancer, once: the tree, its state
    /// and when it was listed.
    pub(super) fn seeded(
        &self,
        owner: &Ownership,
        fip_description: Option<&str>,
        desired: &Topology,
    ) -> Option<(Topology, LbState, Instant)> {
        let mut inv = lock(&self.inventory);
        let i = inv.as_mut()?;
        let (t, state) = i.rebuilt.take(owner, fip_description, desired)?;
        Some((t, state, i.taken))
    }

    /// A create is about to be sent for `name`: from now on it is looked up by name.
    pub(super) fn creating(&self, name: &str) {
        if let Some(i) = lock(&self.inventory).as_mut() {
            i.created.insert(name.to_owned());
        }
    }
}
