//! [`Step`]: exactly one OpenStack mutation each, with typed references ([`ObjKey`],
//! [`ObjRef`]) to the objects it touches.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use kks_lb_octavia_model::{
    FloatingIp, HealthMonitor, Listener, ListenerKey, LoadBalancer, Member, Pool,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The stable identity of an object within one load balancer's plan.
///
/// Serialized as a string: `loadbalancer`, `vip_port`, `listener/TCP/80`, `pool/TCP/80`,
/// `healthmonitor/TCP/80`, `floatingip`, `pool/detached/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjKey {
    /// The load balancer.
    Loadbalancer,
    /// Its VIP port (created with it).
    VipPort,
    /// The listener on a (protocol, port).
    Listener(ListenerKey),
    /// The default pool of that listener (also while it is being created, before the
    /// listener that will name it exists).
    Pool(ListenerKey),
    /// The health monitor of that pool.
    Healthmonitor(ListenerKey),
    /// The floating IP of the VIP.
    Floatingip,
    /// A pool of the load balancer that no listener names (left by an interrupted create),
    /// by its id.
    DetachedPool(String),
}

impl fmt::Display for ObjKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjKey::Loadbalancer => f.write_str("loadbalancer"),
            ObjKey::VipPort => f.write_str("vip_port"),
            ObjKey::Listener(k) => write!(f, "listener/{k}"),
            ObjKey::Pool(k) => write!(f, "pool/{k}"),
            ObjKey::Healthmonitor(k) => write!(f, "healthmonitor/{k}"),
            ObjKey::Floatingip => f.write_str("floatingip"),
            ObjKey::DetachedPool(id) => write!(f, "pool/detached/{id}"),
        }
    }
}

/// A string that is not an [`ObjKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an object key (loadbalancer, vip_port, floatingip, listener/<PROTOCOL>/<port>, pool/<PROTOCOL>/<port>, healthmonitor/<PROTOCOL>/<port>, pool/detached/<id>)"
)]
pub struct BadObjKey(pub String);

impl FromStr for ObjKey {
    type Err = BadObjKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadObjKey(s.to_owned());
        match s {
            "loadbalancer" => return Ok(ObjKey::Loadbalancer),
            "vip_port" => return Ok(ObjKey::VipPort),
            "floatingip" => return Ok(ObjKey::Floatingip),
            _ => {}
        }
        if let Some(id) = s.strip_prefix("pool/detached/") {
            return Ok(ObjKey::DetachedPool(id.to_owned()));
        }
        let (kind, rest) = s.split_once('/').ok_or_else(bad)?;
        let (protocol, port) = rest.split_once('/').ok_or_else(bad)?;
        let key = ListenerKey {
            protocol: protocol.parse().map_err(|_| bad())?,
            protocol_port: port.parse().map_err(|_| bad())?,
        };
        match kind {
            "listener" => Ok(ObjKey::Listener(key)),
            "pool" => Ok(ObjKey::Pool(key)),
            "healthmonitor" => Ok(ObjKey::Healthmonitor(key)),
            _ => Err(bad()),
        }
    }
}

impl Serialize for ObjKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ObjKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl ObjKey {
    /// The listener key of a listener, pool or monitor key.
    pub fn listener_key(&self) -> Option<ListenerKey> {
        match self {
            ObjKey::Listener(k) | ObjKey::Pool(k) | ObjKey::Healthmonitor(k) => Some(*k),
            _ => None,
        }
    }
}

/// A reference from a step to an Octavia or Neutron object: its key, and the cloud id when
/// the object already exists. `None` means an earlier step of the same plan creates it and
/// the executor resolves the id from that step's response.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjRef {
    /// Symbolic key.
    #[serde(rename = "ref")]
    pub key: ObjKey,
    /// Cloud id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ObjRef {
    /// A reference to `key` with a known (or, with `None`, planned) id.
    pub fn new(key: ObjKey, id: Option<&String>) -> Self {
        ObjRef {
            key,
            id: id.cloned(),
        }
    }
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{} ({id})", self.key),
            None => write!(f, "{}", self.key),
        }
    }
}

/// One changed field: Octavia's field name maps to the old and new JSON values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The observed value.
    pub from: Value,
    /// The desired value.
    pub to: Value,
}

/// The fields an update step changes, by Octavia field name, sorted.
pub type Changes = BTreeMap<String, Change>;

/// Exactly one OpenStack mutation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Step {
    /// `POST /v2/lbaas/loadbalancers`, fully populated; creates the LB, its VIP port and every
    /// listener, pool, member and monitor inside it, with its ownership tags.
    CreateLoadbalancer {
        /// The whole tree.
        loadbalancer: LoadBalancer,
    },
    /// `PUT /v2/lbaas/loadbalancers/{id}`.
    UpdateLoadbalancer {
        /// The load balancer.
        loadbalancer: ObjRef,
        /// Changed fields.
        changes: Changes,
    },
    /// `DELETE /v2/lbaas/loadbalancers/{id}[?cascade=true]`.
    DeleteLoadbalancer {
        /// The load balancer.
        loadbalancer: ObjRef,
        /// Delete every child with it.
        cascade: bool,
    },
    /// `POST /v2/lbaas/listeners` naming its default pool (created by earlier steps).
    CreateListener {
        /// Parent load balancer.
        loadbalancer: ObjRef,
        /// The listener (its `default_pool` is not sent; see `default_pool`).
        listener: Listener,
        /// The pool sent as `default_pool_id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_pool: Option<ObjRef>,
    },
    /// `PUT /v2/lbaas/listeners/{id}`.
    UpdateListener {
        /// The listener.
        listener: ObjRef,
        /// Changed fields.
        changes: Changes,
    },
    /// `DELETE /v2/lbaas/listeners/{id}`.
    DeleteListener {
        /// The listener.
        listener: ObjRef,
    },
    /// `POST /v2/lbaas/pools` on `parent`: the load balancer (`loadbalancer_id`, for a listener
    /// created later) or a listener (`listener_id`, becoming its default pool). Members and
    /// the monitor are separate steps.
    CreatePool {
        /// The load balancer or the listener.
        parent: ObjRef,
        /// The listener the pool serves (its key is the pool's key).
        key: ListenerKey,
        /// The pool; its members and monitor are not sent.
        pool: Pool,
    },
    /// `PUT /v2/lbaas/pools/{id}`.
    UpdatePool {
        /// The pool.
        pool: ObjRef,
        /// Changed fields.
        changes: Changes,
    },
    /// `DELETE /v2/lbaas/pools/{id}`; Octavia deletes the pool's members and monitor with it.
    DeletePool {
        /// The pool.
        pool: ObjRef,
    },
    /// `PUT /v2/lbaas/pools/{id}/members`: one batch call that replaces the member set.
    ReplaceMembers {
        /// The pool.
        pool: ObjRef,
        /// The complete new member set.
        members: Vec<Member>,
    },
    /// `POST /v2/lbaas/healthmonitors`.
    CreateHealthmonitor {
        /// The pool.
        pool: ObjRef,
        /// The monitor.
        healthmonitor: HealthMonitor,
    },
    /// `PUT /v2/lbaas/healthmonitors/{id}`.
    UpdateHealthmonitor {
        /// The monitor.
        healthmonitor: ObjRef,
        /// Changed fields.
        changes: Changes,
    },
    /// `DELETE /v2/lbaas/healthmonitors/{id}`.
    DeleteHealthmonitor {
        /// The monitor.
        healthmonitor: ObjRef,
    },
    /// `POST /v2.0/floatingips` bound to the VIP port in the same call, with the owner marker
    /// in its `description` (Neutron 29 refuses `tags` here; [`Step::TagFloatingip`] follows).
    CreateFloatingip {
        /// The VIP port.
        port: ObjRef,
        /// Network and description.
        floatingip: FloatingIp,
    },
    /// `PUT /v2.0/floatingips/{id}/tags`: replaces the floating IP's tags.
    TagFloatingip {
        /// The floating IP.
        floatingip: ObjRef,
        /// The complete tag set.
        tags: Vec<String>,
    },
    /// `PUT /v2.0/floatingips/{id}` with `port_id`: bind an existing, unattached address. With
    /// an id it is bound directly (a detached address of ours); without one the executor
    /// finds the project's address `floating_ip_address` (the Service's `loadBalancerIP`) and
    /// refuses one that is bound elsewhere.
    AssociateFloatingip {
        /// The address to bind.
        floatingip: FloatingIp,
        /// The VIP port.
        port: ObjRef,
    },
    /// `PUT /v2.0/floatingips/{id}` with `port_id: null`: keep the address, unbind it.
    DisassociateFloatingip {
        /// The floating IP.
        floatingip: ObjRef,
    },
    /// `DELETE /v2.0/floatingips/{id}`: release the address.
    DeleteFloatingip {
        /// The floating IP.
        floatingip: ObjRef,
    },
}

impl Step {
    /// The step's name as serialized in `op`.
    pub fn op(&self) -> &'static str {
        match self {
            Step::CreateLoadbalancer { .. } => "create_loadbalancer",
            Step::UpdateLoadbalancer { .. } => "update_loadbalancer",
            Step::DeleteLoadbalancer { .. } => "delete_loadbalancer",
            Step::CreateListener { .. } => "create_listener",
            Step::UpdateListener { .. } => "update_listener",
            Step::DeleteListener { .. } => "delete_listener",
            Step::CreatePool { .. } => "create_pool",
            Step::UpdatePool { .. } => "update_pool",
            Step::DeletePool { .. } => "delete_pool",
            Step::ReplaceMembers { .. } => "replace_members",
            Step::CreateHealthmonitor { .. } => "create_healthmonitor",
            Step::UpdateHealthmonitor { .. } => "update_healthmonitor",
            Step::DeleteHealthmonitor { .. } => "delete_healthmonitor",
            Step::CreateFloatingip { .. } => "create_floatingip",
            Step::TagFloatingip { .. } => "tag_floatingip",
            Step::AssociateFloatingip { .. } => "associate_floatingip",
            Step::DisassociateFloatingip { .. } => "disassociate_floatingip",
            Step::DeleteFloatingip { .. } => "delete_floatingip",
        }
    }

    /// The OpenStack call the step makes: method and path template.
    pub fn call(&self) -> (&'static str, &'static str) {
        match self {
            Step::CreateLoadbalancer { .. } => ("POST", "/v2/lbaas/loadbalancers"),
            Step::UpdateLoadbalancer { .. } => ("PUT", "/v2/lbaas/loadbalancers/{id}"),
            Step::DeleteLoadbalancer { .. } => ("DELETE", "/v2/lbaas/loadbalancers/{id}"),
            Step::CreateListener { .. } => ("POST", "/v2/lbaas/listeners"),
            Step::UpdateListener { .. } => ("PUT", "/v2/lbaas/listeners/{id}"),
            Step::DeleteListener { .. } => ("DELETE", "/v2/lbaas/listeners/{id}"),
            Step::CreatePool { .. } => ("POST", "/v2/lbaas/pools"),
            Step::UpdatePool { .. } => ("PUT", "/v2/lbaas/pools/{id}"),
            Step::DeletePool { .. } => ("DELETE", "/v2/lbaas/pools/{id}"),
            Step::ReplaceMembers { .. } => ("PUT", "/v2/lbaas/pools/{id}/members"),
            Step::CreateHealthmonitor { .. } => ("POST", "/v2/lbaas/healthmonitors"),
            Step::UpdateHealthmonitor { .. } => ("PUT", "/v2/lbaas/healthmonitors/{id}"),
            Step::DeleteHealthmonitor { .. } => ("DELETE", "/v2/lbaas/healthmonitors/{id}"),
            Step::CreateFloatingip { .. } => ("POST", "/v2.0/floatingips"),
            Step::TagFloatingip { .. } => ("PUT", "/v2.0/floatingips/{id}/tags"),
            Step::AssociateFloatingip { .. } | Step::DisassociateFloatingip { .. } => {
                ("PUT", "/v2.0/floatingips/{id}")
            }
            Step::DeleteFloatingip { .. } => ("DELETE", "/v2.0/floatingips/{id}"),
        }
    }

    /// Whether the step mutates the Octavia load balancer (which then is locked in
    /// `PENDING_*` until it is `ACTIVE` again), as opposed to a Neutron floating IP.
    pub fn locks_loadbalancer(&self) -> bool {
        !matches!(
            self,
            Step::CreateFloatingip { .. }
                | Step::TagFloatingip { .. }
                | Step::AssociateFloatingip { .. }
                | Step::DisassociateFloatingip { .. }
                | Step::DeleteFloatingip { .. }
        )
    }

    /// The objects this step refers to and that must exist when it runs.
    pub fn references(&self) -> Vec<&ObjRef> {
        match self {
            Step::CreateLoadbalancer { .. } => vec![],
            Step::UpdateLoadbalancer { loadbalancer, .. }
            | Step::DeleteLoadbalancer { loadbalancer, .. } => vec![loadbalancer],
            Step::CreateListener {
                loadbalancer,
                default_pool,
                ..
            } => std::iter::once(loadbalancer)
                .chain(default_pool.as_ref())
                .collect(),
            Step::UpdateListener { listener, .. } | Step::DeleteListener { listener } => {
                vec![listener]
            }
            Step::CreatePool { parent, .. } => vec![parent],
            Step::UpdatePool { pool, .. }
            | Step::DeletePool { pool }
            | Step::ReplaceMembers { pool, .. }
            | Step::CreateHealthmonitor { pool, .. } => vec![pool],
            Step::UpdateHealthmonitor { healthmonitor, .. }
            | Step::DeleteHealthmonitor { healthmonitor } => vec![healthmonitor],
            Step::CreateFloatingip { port, .. } | Step::AssociateFloatingip { port, .. } => {
                vec![port]
            }
            Step::TagFloatingip { floatingip, .. }
            | Step::DisassociateFloatingip { floatingip }
            | Step::DeleteFloatingip { floatingip } => vec![floatingip],
        }
    }

    /// The keys of the objects this step creates.
    pub fn creates(&self) -> Vec<ObjKey> {
        match self {
            Step::CreateLoadbalancer { loadbalancer } => {
                let mut keys = vec![ObjKey::Loadbalancer, ObjKey::VipPort];
                for l in &loadbalancer.listeners {
                    let k = l.key();
                    keys.push(ObjKey::Listener(k));
                    if let Some(p) = &l.default_pool {
                        keys.push(ObjKey::Pool(k));
                        if p.healthmonitor.is_some() {
                            keys.push(ObjKey::Healthmonitor(k));
                        }
                    }
                }
                keys
            }
            Step::CreateListener { listener, .. } => vec![ObjKey::Listener(listener.key())],
            Step::CreatePool { key, .. } => vec![ObjKey::Pool(*key)],
            Step::CreateHealthmonitor { pool, .. } => pool
                .key
                .listener_key()
                .map(ObjKey::Healthmonitor)
                .into_iter()
                .collect(),
            Step::CreateFloatingip { .. } | Step::AssociateFloatingip { .. } => {
                vec![ObjKey::Floatingip]
            }
            _ => vec![],
        }
    }

    /// The keys of the objects this step removes (children included).
    pub fn removes(&self) -> Vec<ObjKey> {
        match self {
            Step::DeleteLoadbalancer { .. } => vec![ObjKey::Loadbalancer],
            Step::DeleteListener { listener } => vec![listener.key.clone()],
            Step::DeletePool { pool } => {
                let mut keys = vec![pool.key.clone()];
                keys.extend(pool.key.listener_key().map(ObjKey::Healthmonitor));
                keys
            }
            Step::DeleteHealthmonitor { healthmonitor } => vec![healthmonitor.key.clone()],
            Step::DisassociateFloatingip { floatingip } | Step::DeleteFloatingip { floatingip } => {
                vec![floatingip.key.clone()]
            }
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kks_lb_octavia_model::Protocol;

    #[test]
    fn object_keys_print_and_parse_back() {
        let k = ListenerKey {
            protocol: Protocol::Tcp,
            protocol_port: 80,
        };
        for key in [
            ObjKey::Loadbalancer,
            ObjKey::VipPort,
            ObjKey::Listener(k),
            ObjKey::Pool(k),
            ObjKey::Healthmonitor(k),
            ObjKey::Floatingip,
            ObjKey::DetachedPool("p-1".into()),
        ] {
            let s = key.to_string();
            assert_eq!(s.parse::<ObjKey>(), Ok(key), "{s}");
        }
        assert_eq!(ObjKey::Pool(k).to_string(), "pool/TCP/80");
        assert!("pool/TCP/x".parse::<ObjKey>().is_err());
        assert!("gateway".parse::<ObjKey>().is_err());
    }
}
