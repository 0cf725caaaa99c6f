//! Unit tests of [`super`].

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
