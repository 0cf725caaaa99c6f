//! Member health on the Service: the `LoadBalancerMembersHealthy` condition, the
//! `MembersDown`/`MembersRecovered` Events and the `kks_lb_members` gauge, from the operating
//! statuses Octavia reports.
//!
//! # Where the statuses come from, and what they cost
//! - The load balancer's own `operating_status` is already known: the drift check's one list
//!   per resync interval shows it for every load balancer of the cluster, and so do the read
//!   and the last wait of a plan ([`kks_lb_adapter::LbState`]). Octavia rolls member health up
//!   into it (`DEGRADED` when some members are down, `ERROR` when all are).
//! - `ONLINE`: every health-checked member is up. The condition is computed from the
//!   observation alone, **with no OpenStack call**.
//! - `DEGRADED` or `ERROR`: one `GET /v2/lbaas/loadbalancers/{id}/status` (the status tree)
//!   gives every member's status with its address; the address names the node (members are
//!   named after their nodes, [`kks_lb_planner::desired()`]).
//! - `OFFLINE` (or anything else): the load balancer itself reports no health (a new amphora
//!   before its first heartbeat, a disabled load balancer, a cloud without a health manager);
//!   its members' statuses mean nothing then. The condition is `Unknown`, with no call.
//! - No pool has a health monitor: members are `NO_MONITOR` and the load balancer stays
//!   `ONLINE` whatever they do; the condition is `Unknown`, again without a call.
//!
//! A change of the load balancer's `operating_status` changes its [`kks_lb_adapter::LbState`],
//! so the drift check drops the cached observation and the Service is reconciled at once; a
//! load balancer that stays degraded is read again at each resync.
//!
//! # Events
//! A `MembersDown` Warning is published when the condition turns False or its message (which
//! names the down nodes) changes, and a `MembersRecovered` Normal Event when it turns True
//! from False. Both are decided against the condition the Service carries, so resyncs that
//! find the same members down publish nothing, and a restarted controller does not repeat
//! them. While the same members stay down, the Warning is published again every
//! [`REMIND_EVERY`] (30 min), so that `kubectl describe service` still shows it after the
//! first Event expired (Events live one hour by default).
//!
//! Everything but [`check`] is pure.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kks_lb_adapter::{LbState, MemberStatuses, OpenStackClient, member_statuses};
use kks_lb_octavia_model::{OperatingStatus, Topology};

use crate::events::{Note, Reason};
use crate::status::{ConditionStatus, MembersCondition};

/// Condition reason: every health-checked member is up.
pub const REASON_HEALTHY: &str = "MembersHealthy";
/// Condition reason: some members fail their health check (also the Event reason).
pub const REASON_DOWN: &str = Reason::MembersDown.as_str();
/// Condition reason (`Unknown`): no health monitor checks the members.
pub const REASON_NO_MONITOR: &str = "NoHealthMonitor";
/// Condition reason (`Unknown`): the load balancer reports no health (`OFFLINE`).
pub const REASON_NOT_REPORTED: &str = "HealthNotReported";
/// Condition reason (`Unknown`): the load balancer has no members.
pub const REASON_NO_MEMBERS: &str = "NoMembers";

/// At most this many node names in a message; the rest are counted.
const MAX_NAMES: usize = 20;

/// One member node and what Octavia reports for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHealth {
    /// The node's name (the member's name; its address when unnamed).
    pub node: String,
    /// The node's worst status over the pools that health-check it; `NO_MONITOR` when none
    /// does.
    pub status: OperatingStatus,
}

/// The members of one load balancer, by node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberHealth {
    /// No pool has a member.
    NoMembers,
    /// No health monitor checks any member: their health is not known.
    Unmonitored {
        /// How many member nodes there are.
        nodes: usize,
    },
    /// At least one member is health-checked; every node, sorted by name.
    Checked(Vec<NodeHealth>),
    /// The load balancer reports no health: its operating status is this one (`OFFLINE`).
    NotReported {
        /// The load balancer's operating status.
        operating: String,
        /// How many member nodes there are.
        nodes: usize,
    },
}

/// Whether a status counts as down: the health check fails.
fn is_down(s: OperatingStatus) -> bool {
    matches!(s, OperatingStatus::Offline | OperatingStatus::Error)
}

/// Ranks statuses so that a node's worst one over its pools wins; `NO_MONITOR` loses to any
/// checked status.
fn rank(s: OperatingStatus) -> u8 {
    match s {
        OperatingStatus::NoMonitor => 0,
        OperatingStatus::Online => 1,
        OperatingStatus::Draining => 2,
        OperatingStatus::Degraded => 3,
        OperatingStatus::Offline => 4,
        OperatingStatus::Error => 5,
    }
}

/// The member nodes of a topology: address → (name, health-checked in some pool).
fn nodes_of(topology: &Topology) -> BTreeMap<&str, (&str, bool)> {
    let mut out: BTreeMap<&str, (&str, bool)> = BTreeMap::new();
    for pool in topology
        .loadbalancer
        .listeners
        .iter()
        .filter_map(|l| l.default_pool.as_ref())
    {
        let monitored = pool.healthmonitor.is_some();
        for m in &pool.members {
            let name = if m.name.is_empty() {
                m.address.as_str()
            } else {
                m.name.as_str()
            };
            let e = out.entry(m.address.as_str()).or_insert((name, false));
            e.1 |= monitored;
        }
    }
    out
}

fn summarize(by_node: BTreeMap<String, OperatingStatus>) -> MemberHealth {
    if by_node.is_empty() {
        return MemberHealth::NoMembers;
    }
    if by_node.values().all(|s| *s == OperatingStatus::NoMonitor) {
        return MemberHealth::Unmonitored {
            nodes: by_node.len(),
        };
    }
    MemberHealth::Checked(
        by_node
            .into_iter()
            .map(|(node, status)| NodeHealth { node, status })
            .collect(),
    )
}

impl MemberHealth {
    /// The health of a load balancer whose `operating_status` is `ONLINE`: every
    /// health-checked member is up. Computed from the topology alone.
    pub fn online(topology: &Topology) -> Self {
        summarize(
            nodes_of(topology)
                .into_values()
                .map(|(name, monitored)| {
                    let status = if monitored {
                        OperatingStatus::Online
                    } else {
                        OperatingStatus::NoMonitor
                    };
                    (name.to_owned(), status)
                })
                .collect(),
        )
    }

    /// The health the status tree reports; `topology` names the nodes by address.
    pub fn of(topology: &Topology, statuses: &MemberStatuses) -> Self {
        let names = nodes_of(topology);
        let mut by_node: BTreeMap<String, OperatingStatus> = BTreeMap::new();
        for m in &statuses.members {
            let node = names
                .get(m.address.as_str())
                .map_or(m.address.as_str(), |(name, _)| *name);
            let status = if m.monitored {
                m.operating
            } else {
                OperatingStatus::NoMonitor
            };
            by_node
                .entry(node.to_owned())
                .and_modify(|s| {
                    if rank(status) > rank(*s) {
                        *s = status;
                    }
                })
                .or_insert(status);
        }
        summarize(by_node)
    }

    /// How many member nodes report `state` (Octavia's spelling), for `kks_lb_members`.
    pub fn count(&self, state: &str) -> usize {
        match self {
            MemberHealth::NoMembers | MemberHealth::NotReported { .. } => 0,
            MemberHealth::Unmonitored { nodes } => {
                if state == OperatingStatus::NoMonitor.as_str() {
                    *nodes
                } else {
                    0
                }
            }
            MemberHealth::Checked(nodes) => {
                nodes.iter().filter(|n| n.status.as_str() == state).count()
            }
        }
    }

    /// The condition for this health; `local` is `externalTrafficPolicy: Local`.
    pub fn condition(&self, local: bool) -> MembersCondition {
        let nodes = match self {
            MemberHealth::NoMembers => {
                return MembersCondition::new(
                    ConditionStatus::Unknown,
                    REASON_NO_MEMBERS,
                    "the load balancer has no members",
                );
            }
            MemberHealth::Unmonitored { nodes } => {
                return MembersCondition::new(
                    ConditionStatus::Unknown,
                    REASON_NO_MONITOR,
                    format!(
                        "no health monitor checks the {}, so their health is not known; set \
                         loadbalancer.openstack.org/enable-health-monitor: \"true\" to check it",
                        plural(*nodes)
                    ),
                );
            }
            MemberHealth::NotReported { operating, nodes } => {
                return MembersCondition::new(
                    ConditionStatus::Unknown,
                    REASON_NOT_REPORTED,
                    format!(
                        "the load balancer's operating status is {operating}: Octavia has no \
                         health data for its {} (a new load balancer reports within minutes; a \
                         disabled one never does)",
                        plural(*nodes)
                    ),
                );
            }
            MemberHealth::Checked(nodes) => nodes,
        };
        let total = nodes.len();
        let down: Vec<&NodeHealth> = nodes.iter().filter(|n| is_down(n.status)).collect();
        let draining: Vec<&NodeHealth> = nodes
            .iter()
            .filter(|n| n.status == OperatingStatus::Draining)
            .collect();
        if down.is_empty() {
            let online = self.count(OperatingStatus::Online.as_str());
            let mut message = if online == total {
                format!("all {} ONLINE", plural(total))
            } else {
                format!("{online} of {} ONLINE", plural(total))
            };
            if !draining.is_empty() {
                message.push_str(&format!(
                    ", {} DRAINING: {}",
                    draining.len(),
                    names(&draining)
                ));
            }
            let unchecked = self.count(OperatingStatus::NoMonitor.as_str());
            if unchecked > 0 {
                message.push_str(&format!(", {unchecked} not health-checked"));
            }
            return MembersCondition::new(ConditionStatus::True, REASON_HEALTHY, message);
        }
        let first = down[0].status;
        let mut message = if down.iter().all(|n| n.status == first) {
            format!(
                "{} of {} {first}: {}",
                down.len(),
                plural(total),
                names(&down)
            )
        } else {
            let listed: Vec<String> = down
                .iter()
                .take(MAX_NAMES)
                .map(|n| format!("{} ({})", n.node, n.status))
                .collect();
            format!(
                "{} of {} down: {}{}",
                down.len(),
                plural(total),
                listed.join(", "),
                more(down.len())
            )
        };
        let all = down.len() == total;
        message.push_str(match (local, all) {
            (true, false) => {
                "; with externalTrafficPolicy: Local this is expected on nodes without a ready \
                 endpoint of the Service: the health check on its healthCheckNodePort fails there \
                 by design and traffic goes to the nodes that run one"
            }
            (true, true) => {
                "; with externalTrafficPolicy: Local members are down on nodes without a ready \
                 endpoint of the Service, and here none has one: check that its Pods are ready"
            }
            (false, false) => {
                "; traffic goes to the other members: check these nodes and the Service's node \
                 port on them"
            }
            (false, true) => {
                "; no member passes the health check, so the load balancer serves nothing: check \
                 that the Service's Pods are ready and its node port answers"
            }
        });
        MembersCondition::new(ConditionStatus::False, REASON_DOWN, message)
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 member".to_owned()
    } else {
        format!("{n} members")
    }
}

fn more(n: usize) -> String {
    if n > MAX_NAMES {
        format!(" and {} more", n - MAX_NAMES)
    } else {
        String::new()
    }
}

fn names(nodes: &[&NodeHealth]) -> String {
    let listed: Vec<&str> = nodes
        .iter()
        .take(MAX_NAMES)
        .map(|n| n.node.as_str())
        .collect();
    format!("{}{}", listed.join(", "), more(nodes.len()))
}

/// The Event for a change of the condition from `previous` (what the Service carries) to
/// `next`: `MembersDown` when it turns False or names other members, `MembersRecovered`
/// when it turns True from False; `None` otherwise.
pub fn note(previous: Option<&Condition>, next: &MembersCondition) -> Option<Note> {
    let was_down = previous.is_some_and(|c| c.status == ConditionStatus::False.as_str());
    match next.status {
        ConditionStatus::False => {
            let same = was_down && previous.is_some_and(|c| c.message == next.message);
            (!same).then(|| Note::new(Reason::MembersDown, next.message.clone()))
        }
        ConditionStatus::True if was_down => {
            let before = previous.map(|c| c.message.as_str()).unwrap_or_default();
            let before = before.split("; ").next().unwrap_or_default();
            Some(Note::new(
                Reason::MembersRecovered,
                format!("{} again (before: {before})", next.message),
            ))
        }
        ConditionStatus::True | ConditionStatus::Unknown => None,
    }
}

/// How often a `MembersDown` Event is published again while the same members stay down, so
/// that `kubectl describe service` keeps showing it (Events expire after one hour by default).
pub const REMIND_EVERY: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Publishes the Events for the condition going from `previous` to `next` ([`note`]); while
/// members stay down, the `MembersDown` Event again every [`REMIND_EVERY`].
pub async fn publish(
    events: &crate::events::Publisher,
    svc: &k8s_openapi::api::core::v1::Service,
    previous: Option<&Condition>,
    next: &MembersCondition,
) {
    let key = kube::runtime::reflector::ObjectRef::from_obj(svc);
    match (note(previous, next), next.status) {
        (Some(n), ConditionStatus::False) => {
            events.publish_lasting(svc, &n, true, REMIND_EVERY).await;
        }
        (Some(n), _) => {
            events.end_lasting(&key);
            events.publish(svc, &n).await;
        }
        (None, ConditionStatus::False) => {
            let n = Note::new(Reason::MembersDown, next.message.clone());
            events.publish_lasting(svc, &n, false, REMIND_EVERY).await;
        }
        (None, _) => events.end_lasting(&key),
    }
}

/// How the members' health is found for a load balancer (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// From the topology alone: it is `ONLINE`, has no monitored member or no member.
    Topology,
    /// One status-tree read: it is `DEGRADED` or `ERROR` and some member is health-checked.
    StatusTree,
    /// It reports no health (`OFFLINE`): `Unknown`, no call.
    NotReported,
    /// Its operating status is not known: leave the condition as it is.
    Unknown,
}

/// Where the health of a load balancer with `operating` status (as the list, read or last
/// wait showed it) and the members of `topology` comes from.
pub fn source(operating: Option<&str>, topology: &Topology) -> Source {
    let monitored = nodes_of(topology).values().any(|(_, m)| *m);
    match operating.map(str::parse::<OperatingStatus>) {
        _ if !monitored => Source::Topology,
        Some(Ok(OperatingStatus::Online)) => Source::Topology,
        Some(Ok(OperatingStatus::Degraded | OperatingStatus::Error)) => Source::StatusTree,
        Some(_) => Source::NotReported,
        None => Source::Unknown,
    }
}

/// The health of load balancer `id` (see the module docs): no call unless [`source`] says
/// [`Source::StatusTree`]. `None` when it cannot be known now (no status, or the read
/// failed: logged, the condition stays as it is, the next resync tries again).
pub async fn check(
    client: &OpenStackClient,
    id: &str,
    operating: Option<&str>,
    topology: &Topology,
) -> Option<MemberHealth> {
    match source(operating, topology) {
        Source::Topology => Some(MemberHealth::online(topology)),
        Source::NotReported => Some(MemberHealth::NotReported {
            operating: operating.unwrap_or_default().to_owned(),
            nodes: nodes_of(topology).len(),
        }),
        Source::Unknown => None,
        Source::StatusTree => match member_statuses(client, id).await {
            Ok(statuses) => Some(MemberHealth::of(topology, &statuses)),
            Err(e) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    lb_id = %id,
                    "cannot read the members' health"
                );
                None
            }
        },
    }
}

/// The load balancer's operating status as last seen: after a plan that changed it, its last
/// wait (`planned`); else the read or the drift check's list (`stamp`); else the observed
/// topology.
pub fn last_operating(
    planned: Option<&LbState>,
    stamp: Option<&LbState>,
    observed: Option<&Topology>,
) -> Option<String> {
    planned.or(stamp).map(|s| s.operating.clone()).or_else(|| {
        observed
            .and_then(|o| o.loadbalancer.operating_status)
            .map(|s| s.as_str().to_owned())
    })
}

/// The `service` label of `kks_lb_members`.
pub fn service_label(namespace: Option<&str>, name: &str) -> String {
    format!("{}/{name}", namespace.unwrap_or_default())
}

#[cfg(test)]
mod tests;
