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
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use kks_lb_adapter::MemberState;
    use kks_lb_octavia_model::{HealthMonitor, Listener, LoadBalancer, Member, MonitorType, Pool};

    fn member(node: &str, address: &str, port: u16) -> Member {
        serde_json::from_value(serde_json::json!({
            "name": node, "address": address, "protocol_port": port}))
        .unwrap()
    }

    fn monitor() -> HealthMonitor {
        HealthMonitor {
            id: None,
            name: "m".into(),
            kind: MonitorType::Tcp,
            delay: 10,
            timeout: 5,
            max_retries: 3,
            max_retries_down: 3,
            http_method: None,
            url_path: None,
            expected_codes: None,
            tags: Vec::new(),
            provisioning_status: None,
            operating_status: None,
        }
    }

    /// Two ports; `nodes` on both; a monitor on the pools when `monitored`.
    fn topology(nodes: usize, monitored: bool) -> Topology {
        let listeners = [80u16, 443]
            .into_iter()
            .map(|port| {
                let mut pool: Pool = serde_json::from_value(serde_json::json!({
                    "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}))
                .unwrap();
                pool.members = (1..=nodes)
                    .map(|i| member(&format!("node-{i}"), &format!("10.0.0.{}", 10 + i), port))
                    .collect();
                pool.healthmonitor = monitored.then(monitor);
                let mut l: Listener = serde_json::from_value(serde_json::json!({
                    "protocol": "TCP", "protocol_port": port}))
                .unwrap();
                l.default_pool = Some(pool);
                l
            })
            .collect();
        Topology {
            loadbalancer: LoadBalancer {
                name: "lb".into(),
                listeners,
                ..LoadBalancer::default()
            },
            floatingip: None,
            keep_floatingip: false,
        }
    }

    fn state(address: &str, port: u16, s: OperatingStatus, monitored: bool) -> MemberState {
        MemberState {
            listener_id: format!("l{port}"),
            address: address.into(),
            protocol_port: port,
            operating: s,
            monitored,
        }
    }

    /// The status tree of `topology(5, true)` with `down` nodes (1-based) reporting `s`.
    fn tree(down: &[(usize, OperatingStatus)]) -> MemberStatuses {
        let mut members = Vec::new();
        for port in [80u16, 443] {
            for i in 1..=5usize {
                let s = down
                    .iter()
                    .find(|(n, _)| *n == i)
                    .map_or(OperatingStatus::Online, |(_, s)| *s);
                members.push(state(&format!("10.0.0.{}", 10 + i), port, s, true));
            }
        }
        MemberStatuses {
            loadbalancer: OperatingStatus::Degraded,
            members,
        }
    }

    fn cond(status: ConditionStatus, message: &str) -> Condition {
        Condition {
            type_: crate::status::MEMBERS_CONDITION_TYPE.into(),
            status: status.as_str().into(),
            reason: "x".into(),
            message: message.into(),
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
            observed_generation: None,
        }
    }

    #[test]
    fn a_healthy_load_balancer_needs_no_read_and_an_unhealthy_one_one_status_tree() {
        let t = topology(3, true);
        assert_eq!(source(Some("ONLINE"), &t), Source::Topology);
        assert_eq!(source(Some("DEGRADED"), &t), Source::StatusTree);
        assert_eq!(source(Some("ERROR"), &t), Source::StatusTree);
        assert_eq!(source(Some("OFFLINE"), &t), Source::NotReported);
        assert_eq!(source(None, &t), Source::Unknown);
        let bare = topology(3, false);
        assert_eq!(
            source(Some("OFFLINE"), &bare),
            Source::Topology,
            "nothing to learn without a monitor"
        );
        assert_eq!(source(None, &topology(0, true)), Source::Topology);
    }

    #[test]
    fn online_means_every_checked_member_is_up_and_counts_nodes_not_pool_members() {
        let h = MemberHealth::online(&topology(3, true));
        assert_eq!(h.count("ONLINE"), 3);
        let c = h.condition(false);
        assert_eq!(c.status, ConditionStatus::True);
        assert_eq!(c.reason, "MembersHealthy");
        assert_eq!(c.message, "all 3 members ONLINE");
    }

    #[test]
    fn down_members_are_named_by_node_with_their_count() {
        let t = topology(5, true);
        let h = MemberHealth::of(
            &t,
            &tree(&[(3, OperatingStatus::Offline), (4, OperatingStatus::Offline)]),
        );
        assert_eq!((h.count("ONLINE"), h.count("OFFLINE")), (3, 2));
        let c = h.condition(false);
        assert_eq!(c.status, ConditionStatus::False);
        assert_eq!(c.reason, "MembersDown");
        assert!(
            c.message
                .starts_with("2 of 5 members OFFLINE: node-3, node-4; traffic goes to the other"),
            "{}",
            c.message
        );
        let mixed = MemberHealth::of(
            &t,
            &tree(&[(2, OperatingStatus::Error), (5, OperatingStatus::Offline)]),
        )
        .condition(false);
        assert!(
            mixed
                .message
                .starts_with("2 of 5 members down: node-2 (ERROR), node-5 (OFFLINE)"),
            "{}",
            mixed.message
        );
        let all = MemberHealth::of(
            &t,
            &tree(&[1, 2, 3, 4, 5].map(|i| (i, OperatingStatus::Error))),
        )
        .condition(false);
        assert!(all.message.contains("serves nothing"), "{}", all.message);
    }

    #[test]
    fn a_node_down_on_one_port_only_is_down() {
        let t = topology(2, true);
        let statuses = MemberStatuses {
            loadbalancer: OperatingStatus::Degraded,
            members: vec![
                state("10.0.0.11", 80, OperatingStatus::Online, true),
                state("10.0.0.12", 80, OperatingStatus::Online, true),
                state("10.0.0.11", 443, OperatingStatus::Online, true),
                state("10.0.0.12", 443, OperatingStatus::Offline, true),
            ],
        };
        let c = MemberHealth::of(&t, &statuses).condition(false);
        assert!(
            c.message.starts_with("1 of 2 members OFFLINE: node-2"),
            "{}",
            c.message
        );
    }

    #[test]
    fn external_traffic_policy_local_says_down_members_are_expected() {
        let t = topology(5, true);
        let c = MemberHealth::of(&t, &tree(&[(3, OperatingStatus::Offline)])).condition(true);
        assert_eq!(c.status, ConditionStatus::False);
        assert!(
            c.message.starts_with("1 of 5 members OFFLINE: node-3"),
            "{}",
            c.message
        );
        assert!(
            c.message.contains("externalTrafficPolicy: Local")
                && c.message
                    .contains("expected on nodes without a ready endpoint"),
            "{}",
            c.message
        );
    }

    #[test]
    fn without_a_monitor_health_is_unknown() {
        let h = MemberHealth::online(&topology(3, false));
        assert_eq!(h, MemberHealth::Unmonitored { nodes: 3 });
        assert_eq!(h.count("NO_MONITOR"), 3);
        let c = h.condition(false);
        assert_eq!(
            (c.status, c.reason),
            (ConditionStatus::Unknown, "NoHealthMonitor")
        );
        assert!(c.message.contains("enable-health-monitor"), "{}", c.message);
        let t = topology(0, true);
        assert_eq!(
            MemberHealth::online(&t).condition(false).reason,
            "NoMembers"
        );
    }

    #[test]
    fn a_load_balancer_that_reports_no_health_gives_unknown_not_down() {
        let h = MemberHealth::NotReported {
            operating: "OFFLINE".into(),
            nodes: 3,
        };
        let c = h.condition(false);
        assert_eq!(
            (c.status, c.reason),
            (ConditionStatus::Unknown, "HealthNotReported")
        );
        assert!(
            c.message
                .starts_with("the load balancer's operating status is OFFLINE")
        );
        assert_eq!(h.count("OFFLINE"), 0, "members are not counted as down");
        let was_down = cond(ConditionStatus::False, "1 of 3 members OFFLINE: node-3");
        assert_eq!(note(Some(&was_down), &c), None, "no Event for Unknown");
    }

    #[test]
    fn draining_members_are_up_and_named() {
        let t = topology(5, true);
        let c = MemberHealth::of(&t, &tree(&[(2, OperatingStatus::Draining)])).condition(false);
        assert_eq!(c.status, ConditionStatus::True);
        assert_eq!(c.message, "4 of 5 members ONLINE, 1 DRAINING: node-2");
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let nodes: Vec<NodeHealth> = (1..=30)
            .map(|i| NodeHealth {
                node: format!("n{i:02}"),
                status: OperatingStatus::Offline,
            })
            .chain(std::iter::once(NodeHealth {
                node: "up".into(),
                status: OperatingStatus::Online,
            }))
            .collect();
        let c = MemberHealth::Checked(nodes).condition(false);
        assert!(c.message.contains("n20 and 10 more;"), "{}", c.message);
        assert!(!c.message.contains("n21"), "{}", c.message);
    }

    #[test]
    fn events_follow_changes_of_the_down_set_not_resyncs() {
        let t = topology(5, true);
        let down = MemberHealth::of(&t, &tree(&[(3, OperatingStatus::Offline)])).condition(false);
        let first = note(None, &down).unwrap();
        assert_eq!(first.reason, Reason::MembersDown);
        assert_eq!(first.message, down.message);
        let was_ok = cond(ConditionStatus::True, "all 5 members ONLINE");
        assert!(note(Some(&was_ok), &down).is_some());
        let same = cond(ConditionStatus::False, &down.message);
        assert_eq!(note(Some(&same), &down), None, "a resync publishes nothing");
        let more = MemberHealth::of(
            &t,
            &tree(&[(3, OperatingStatus::Offline), (4, OperatingStatus::Offline)]),
        )
        .condition(false);
        let n = note(Some(&same), &more).unwrap();
        assert!(n.message.contains("node-3, node-4"), "{}", n.message);

        let ok = MemberHealth::online(&t).condition(false);
        let back = note(Some(&same), &ok).unwrap();
        assert_eq!(back.reason, Reason::MembersRecovered);
        assert_eq!(
            back.message,
            "all 5 members ONLINE again (before: 1 of 5 members OFFLINE: node-3)"
        );
        assert_eq!(note(Some(&was_ok), &ok), None);
        assert_eq!(
            note(None, &ok),
            None,
            "a new Service starts healthy quietly"
        );
        let unknown = MemberHealth::Unmonitored { nodes: 2 }.condition(false);
        assert_eq!(note(Some(&same), &unknown), None);
    }
}
