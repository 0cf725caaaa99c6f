//! Every annotation key: valid, invalid and boundary values (table-driven), and the rules
//! across keys and spec fields.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{from_yaml, key, service};
use kks_lb_annotations::{
    AnnotationError, Defaults, LbMethod, LbSpec, NodeSelector, PortProtocol, ProxyProtocol,
    WarningReason, keys, parse, parse_report,
};

fn spec_with(k: &str, v: &str) -> LbSpec {
    match parse(&service(&[(k, v)]), &Defaults::default()) {
        Ok(p) => p.spec,
        Err(e) => panic!("{k}={v:?} was refused: {e:#?}"),
    }
}

fn only_error(k: &str, v: &str) -> AnnotationError {
    let errors = parse(&service(&[(k, v)]), &Defaults::default())
        .map(|p| p.spec)
        .expect_err(&format!("{k}={v:?} was accepted"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

type Check = fn(&LbSpec) -> bool;

/// (short key, value, what the spec must show).
const VALID: &[(&str, &str, Check)] = &[
    ("connection-limit", "-1", |s| s.connection_limit == -1),
    ("connection-limit", "0", |s| s.connection_limit == 0),
    ("connection-limit", "2147483647", |s| {
        s.connection_limit == 2_147_483_647
    }),
    ("timeout-client-data", "0", |s| s.timeouts.client_data == 0),
    ("timeout-client-data", "86400000", |s| {
        s.timeouts.client_data == 86_400_000
    }),
    ("timeout-member-connect", "3000", |s| {
        s.timeouts.member_connect == 3000
    }),
    ("timeout-member-data", "120000", |s| {
        s.timeouts.member_data == 120_000
    }),
    ("timeout-tcp-inspect", "10", |s| {
        s.timeouts.tcp_inspect == 10
    }),
    ("lb-method", "ROUND_ROBIN", |s| {
        s.lb_method == LbMethod::RoundRobin
    }),
    ("lb-method", "LEAST_CONNECTIONS", |s| {
        s.lb_method == LbMethod::LeastConnections
    }),
    ("lb-method", "SOURCE_IP", |s| {
        s.lb_method == LbMethod::SourceIp
    }),
    ("lb-method", "SOURCE_IP_PORT", |s| {
        s.lb_method == LbMethod::SourceIpPort
    }),
    ("enable-health-monitor", "true", |s| {
        s.health_monitor.is_some()
    }),
    ("enable-health-monitor", "TRUE", |s| {
        s.health_monitor.is_some()
    }),
    ("enable-health-monitor", "False", |s| {
        s.health_monitor.is_none()
    }),
    ("health-monitor-delay", "6", |s| s.health_monitor.is_none()),
    ("health-monitor-timeout", "9", |s| {
        s.health_monitor.is_none()
    }),
    ("health-monitor-max-retries", "1", |s| {
        s.health_monitor.is_none()
    }),
    ("health-monitor-max-retries", "10", |s| {
        s.health_monitor.is_none()
    }),
    ("health-monitor-max-retries-down", "1", |s| {
        s.health_monitor.is_none()
    }),
    ("x-forwarded-for", "true", |s| s.x_forwarded_for),
    ("x-forwarded-for", "false", |s| !s.x_forwarded_for),
    ("proxy-protocol", "true", |s| {
        s.proxy_protocol == ProxyProtocol::V1
    }),
    ("proxy-protocol", "v1", |s| {
        s.proxy_protocol == ProxyProtocol::V1
    }),
    ("proxy-protocol", "v2", |s| {
        s.proxy_protocol == ProxyProtocol::V2
    }),
    ("proxy-protocol", "false", |s| {
        s.proxy_protocol == ProxyProtocol::Off
    }),
    ("hostname", "lb.example.com", |s| {
        s.hostname.as_deref() == Some("lb.example.com")
    }),
    ("hostname", "", |s| s.hostname.is_none()),
    ("node-selector", "", |s| s.node_selector.is_empty()),
    ("node-selector", "zone=a, node.kubernetes.io/lb", |s| {
        s.node_selector.to_string() == "node.kubernetes.io/lb,zone=a"
    }),
    ("keep-floatingip", "true", |s| s.keep_floating_ip),
    ("availability-zone", "az-1", |s| {
        s.availability_zone.as_deref() == Some("az-1")
    }),
    (
        "load-balancer-id",
        "3f2a1c4e-9b7d-4e21-8c55-0a1b2c3d4e5f",
        |s| s.load_balancer_id.as_deref() == Some("3f2a1c4e-9b7d-4e21-8c55-0a1b2c3d4e5f"),
    ),
    ("load-balancer-address", "203.0.113.7", |_| true),
];

/// (short key, value, the exact rule of the one error).
const INVALID: &[(&str, &str, &str)] = &[
    (
        "connection-limit",
        "-2",
        "must be a decimal integer from -1 to 2147483647",
    ),
    (
        "connection-limit",
        "2147483648",
        "must be a decimal integer from -1 to 2147483647",
    ),
    (
        "connection-limit",
        "unlimited",
        "must be a decimal integer from -1 to 2147483647",
    ),
    (
        "connection-limit",
        "0x10",
        "must be a decimal integer from -1 to 2147483647",
    ),
    (
        "timeout-client-data",
        "-1",
        "must be a decimal integer from 0 to 86400000",
    ),
    (
        "timeout-client-data",
        "86400001",
        "must be a decimal integer from 0 to 86400000",
    ),
    (
        "timeout-member-connect",
        "5s",
        "must be a decimal integer from 0 to 86400000",
    ),
    (
        "timeout-member-data",
        "",
        "must be a decimal integer from 0 to 86400000",
    ),
    (
        "timeout-tcp-inspect",
        "1e3",
        "must be a decimal integer from 0 to 86400000",
    ),
    (
        "lb-method",
        "round_robin",
        "must be one of ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP, SOURCE_IP_PORT; did you mean \
         ROUND_ROBIN?",
    ),
    (
        "lb-method",
        "RANDOM",
        "must be one of ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP, SOURCE_IP_PORT",
    ),
    ("enable-health-monitor", "yes", "must be true or false"),
    (
        "health-monitor-delay",
        "0",
        "must be a decimal integer from 1 to 2147483647",
    ),
    (
        "health-monitor-timeout",
        "0",
        "must be a decimal integer from 1 to 2147483647",
    ),
    (
        "health-monitor-max-retries",
        "0",
        "must be a decimal integer from 1 to 10",
    ),
    (
        "health-monitor-max-retries",
        "11",
        "must be a decimal integer from 1 to 10",
    ),
    (
        "health-monitor-max-retries-down",
        "11",
        "must be a decimal integer from 1 to 10",
    ),
    ("x-forwarded-for", "1", "must be true or false"),
    ("proxy-protocol", "v3", "must be one of true, v1, v2, false"),
    (
        "hostname",
        "10.0.0.1",
        "must be a DNS name, not an IP address",
    ),
    (
        "hostname",
        "web_app.example.com",
        "must be a DNS name (RFC 1123): label \"web_app\" may contain only lower-case letters, \
         digits and '-'",
    ),
    (
        "node-selector",
        "zone=a,=b",
        "entry 2 (=b): label key \"\" must have a name",
    ),
    ("keep-floatingip", "keep", "must be true or false"),
    (
        "availability-zone",
        "az\n1",
        "must not contain control characters",
    ),
    (
        "load-balancer-id",
        "1234",
        "must be a UUID such as 3f2a1c4e-9b7d-4e21-8c55-0a1b2c3d4e5f",
    ),
    (
        "load-balancer-address",
        "lb.example.com",
        "must be an IPv4 or IPv6 address such as 203.0.113.10",
    ),
];

#[test]
fn every_valid_case_parses_into_the_expected_spec() {
    for (short, value, check) in VALID {
        let s = spec_with(&key(short), value);
        assert!(check(&s), "{short}={value:?} gave {s:#?}");
    }
}

#[test]
fn every_invalid_case_is_one_error_naming_key_value_and_rule() {
    for (short, value, rule) in INVALID {
        let e = only_error(&key(short), value);
        assert_eq!(
            e,
            AnnotationError::new(key(short), *value, *rule),
            "{short}={value:?}"
        );
    }
}

#[test]
fn every_user_key_of_the_table_has_valid_and_invalid_cases() {
    for info in keys::TABLE
        .iter()
        .filter(|k| k.key.starts_with(keys::PREFIX))
    {
        if !(info.user_settable() || info.kind == keys::KeyKind::Controller) {
            continue;
        }
        let short = info.short();
        assert!(
            VALID.iter().any(|c| c.0 == short),
            "no valid case for {short}"
        );
        assert!(
            INVALID.iter().any(|c| c.0 == short),
            "no invalid case for {short}"
        );
    }
}

#[test]
fn absent_annotations_take_the_table_defaults() {
    let s = parse(&service(&[]), &Defaults::default()).unwrap().spec;
    assert!(!s.internal);
    assert_eq!(s.connection_limit, -1);
    assert_eq!(
        (
            s.timeouts.client_data,
            s.timeouts.member_connect,
            s.timeouts.member_data
        ),
        (50_000, 5_000, 50_000)
    );
    assert_eq!(s.timeouts.tcp_inspect, 0);
    assert_eq!(s.lb_method, LbMethod::RoundRobin);
    assert_eq!(s.health_monitor, None);
    assert!(!s.x_forwarded_for);
    assert_eq!(s.proxy_protocol, ProxyProtocol::Off);
    assert!(s.node_selector.is_empty());
    assert_eq!((s.namespace.as_str(), s.name.as_str()), ("default", "web"));
}

#[test]
fn absent_annotations_take_the_cloud_config_defaults() {
    let d = Defaults {
        internal_lb: true,
        lb_method: LbMethod::SourceIpPort,
        create_monitor: true,
        node_selector: "pool=edge".parse().unwrap(),
        flavor_id: Some("small".to_owned()),
        availability_zone: Some("az-2".to_owned()),
        ..Defaults::default()
    };
    let s = parse(&service(&[]), &d).unwrap().spec;
    assert!(s.internal);
    assert_eq!(s.lb_method, LbMethod::SourceIpPort);
    assert_eq!(s.health_monitor, Some(d.monitor));
    assert_eq!(s.node_selector, d.node_selector);
    assert_eq!(s.flavor_id.as_deref(), Some("small"));
    assert_eq!(s.availability_zone.as_deref(), Some("az-2"));
}

#[test]
fn a_user_flavor_is_ignored_and_the_configured_flavor_used() {
    let d = Defaults {
        flavor_id: Some("small".to_owned()),
        ..Defaults::default()
    };
    for value in ["", "huge", " not valid "] {
        let p = parse(&service(&[(keys::FLAVOR_ID, value)]), &d).unwrap();
        assert_eq!(p.spec.flavor_id.as_deref(), Some("small"), "{value:?}");
        assert_eq!(p.warnings.len(), 1);
        assert_eq!(p.warnings[0].reason.as_str(), "PlatformManagedAnnotation");
    }
}

#[test]
fn internal_annotation_is_a_case_insensitive_bool() {
    assert!(spec_with(keys::INTERNAL, "True").internal);
    let e = only_error(keys::INTERNAL, "internal");
    assert_eq!(
        e,
        AnnotationError::new(keys::INTERNAL, "internal", "must be true or false")
    );
}

#[test]
fn monitor_parameters_override_the_defaults_when_enabled() {
    let svc = service(&[
        (&key("enable-health-monitor"), "true"),
        (&key("health-monitor-delay"), "7"),
        (&key("health-monitor-timeout"), "6"),
        (&key("health-monitor-max-retries"), "2"),
        (&key("health-monitor-max-retries-down"), "4"),
    ]);
    let m = parse(&svc, &Defaults::default())
        .unwrap()
        .spec
        .health_monitor
        .unwrap();
    assert_eq!(
        (m.delay, m.timeout, m.max_retries, m.max_retries_down),
        (7, 6, 2, 4)
    );
}

#[test]
fn timeout_not_below_the_default_delay_names_the_delay() {
    let e = only_error(&key("health-monitor-timeout"), "15");
    assert_eq!(e.rule, "must be less than health-monitor-delay (10)");
    assert_eq!(e.value, "15");
}

#[test]
fn timeout_equal_to_the_delay_is_refused() {
    let svc = service(&[
        (&key("health-monitor-delay"), "5"),
        (&key("health-monitor-timeout"), "5"),
    ]);
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    assert_eq!(
        errors,
        vec![AnnotationError::new(
            key("health-monitor-timeout"),
            "5",
            "must be less than health-monitor-delay (5)"
        )]
    );
}

#[test]
fn delay_below_the_default_timeout_names_the_timeout() {
    let e = only_error(&key("health-monitor-delay"), "3");
    assert_eq!(e.rule, "must be greater than health-monitor-timeout (5)");
}

#[test]
fn an_invalid_delay_is_not_compared_with_the_timeout() {
    let svc = service(&[
        (&key("health-monitor-delay"), "x"),
        (&key("health-monitor-timeout"), "50"),
    ]);
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, key("health-monitor-delay"));
}

#[test]
fn external_traffic_policy_local_forces_a_monitor() {
    let mut svc = service(&[]);
    svc.spec.as_mut().unwrap().external_traffic_policy = Some("Local".to_owned());
    svc.spec.as_mut().unwrap().health_check_node_port = Some(31000);
    let p = parse(&svc, &Defaults::default()).unwrap();
    assert!(p.spec.health_monitor.is_some());
    assert!(p.spec.external_traffic_policy_local);
    assert_eq!(p.spec.health_check_node_port, Some(31000));
    assert!(p.warnings.is_empty());
}

#[test]
fn disabling_the_monitor_with_local_policy_warns_that_traffic_is_dropped() {
    let mut svc = service(&[(keys::ENABLE_HEALTH_MONITOR, "false")]);
    svc.spec.as_mut().unwrap().external_traffic_policy = Some("Local".to_owned());
    let p = parse(&svc, &Defaults::default()).unwrap();
    assert_eq!(p.spec.health_monitor, None);
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].reason, WarningReason::HealthMonitorDisabled);
    assert!(
        p.warnings[0]
            .message
            .contains("dropped on nodes without endpoints")
    );
}

#[test]
fn x_forwarded_for_with_proxy_protocol_is_one_error() {
    let svc = service(&[
        (keys::X_FORWARDED_FOR, "true"),
        (keys::PROXY_PROTOCOL, "v2"),
    ]);
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, keys::X_FORWARDED_FOR);
    assert!(
        errors[0]
            .rule
            .contains("must not be combined with proxy-protocol (v2)")
    );
}

const TCP_AND_UDP: &str = "
metadata: {name: dns, namespace: infra}
spec:
  type: LoadBalancer
  ports:
  - {name: dns-tcp, protocol: TCP, port: 53, nodePort: 30053}
  - {name: dns-udp, protocol: UDP, port: 53, nodePort: 30054}
";

#[test]
fn x_forwarded_for_on_a_udp_port_names_the_port() {
    let mut svc = from_yaml(TCP_AND_UDP);
    svc.metadata.annotations = Some([(keys::X_FORWARDED_FOR.to_owned(), "true".to_owned())].into());
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    assert_eq!(
        errors,
        vec![AnnotationError::new(
            keys::X_FORWARDED_FOR,
            "true",
            "applies to TCP ports only, but spec.ports[1] (dns-udp, UDP/53) is UDP"
        )]
    );
}

#[test]
fn proxy_protocol_on_a_udp_port_names_the_port() {
    let mut svc = from_yaml(TCP_AND_UDP);
    svc.metadata.annotations = Some([(keys::PROXY_PROTOCOL.to_owned(), "v1".to_owned())].into());
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, keys::PROXY_PROTOCOL);
    assert!(
        errors[0].rule.contains("spec.ports[1] (dns-udp, UDP/53)"),
        "{}",
        errors[0]
    );
}

#[test]
fn tcp_and_udp_on_the_same_port_number_are_two_listeners_sorted_by_protocol() {
    let s = parse(&from_yaml(TCP_AND_UDP), &Defaults::default())
        .unwrap()
        .spec;
    let ids: Vec<_> = s
        .ports
        .iter()
        .map(|p| (p.protocol, p.port, p.node_port))
        .collect();
    assert_eq!(
        ids,
        vec![
            (PortProtocol::Tcp, 53, Some(30053)),
            (PortProtocol::Udp, 53, Some(30054))
        ]
    );
}

#[test]
fn ports_are_sorted_by_protocol_then_port() {
    let svc = from_yaml(
        "
metadata: {name: m}
spec:
  type: LoadBalancer
  ports:
  - {protocol: UDP, port: 9}
  - {port: 443}
  - {protocol: SCTP, port: 1}
  - {protocol: TCP, port: 80}
",
    );
    let s = parse(&svc, &Defaults::default()).unwrap().spec;
    let ids: Vec<_> = s.ports.iter().map(|p| (p.protocol, p.port)).collect();
    assert_eq!(
        ids,
        vec![
            (PortProtocol::Tcp, 80),
            (PortProtocol::Tcp, 443),
            (PortProtocol::Udp, 9),
            (PortProtocol::Sctp, 1)
        ]
    );
}

#[test]
fn duplicate_protocol_and_port_is_an_error_naming_both_ports() {
    let svc = from_yaml(
        "
metadata: {name: m}
spec:
  type: LoadBalancer
  ports: [{name: a, port: 80}, {name: b, protocol: TCP, port: 80}]
",
    );
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    assert_eq!(
        errors,
        vec![AnnotationError::new(
            "spec.ports[1].port",
            "80",
            "duplicates spec.ports[0] (TCP/80); each protocol and port pair may appear once"
        )]
    );
}

#[test]
fn bad_port_fields_are_errors_with_field_paths() {
    let svc = from_yaml(
        "
metadata: {name: m}
spec:
  type: LoadBalancer
  ports: [{protocol: tcp, port: 80}, {port: 70000, nodePort: -3}]
",
    );
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("spec.ports[0].protocol", "tcp"),
            ("spec.ports[1].port", "70000"),
            ("spec.ports[1].nodePort", "-3")
        ]
    );
    assert_eq!(errors[0].rule, "must be TCP, UDP or SCTP");
}

#[test]
fn a_service_without_ports_is_invalid() {
    let svc = from_yaml("metadata: {name: m}\nspec: {type: LoadBalancer}");
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    assert_eq!(
        errors,
        vec![AnnotationError::new(
            "spec.ports",
            "",
            "must list at least one port"
        )]
    );
}

#[test]
fn a_service_that_is_not_a_load_balancer_is_an_error_on_spec_type() {
    let mut svc = service(&[]);
    svc.spec.as_mut().unwrap().type_ = Some("NodePort".to_owned());
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    assert_eq!(
        errors,
        vec![AnnotationError::new(
            "spec.type",
            "NodePort",
            "must be LoadBalancer"
        )]
    );
    svc.spec.as_mut().unwrap().type_ = None;
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    assert_eq!(
        errors[0].rule,
        "must be LoadBalancer (unset means ClusterIP)"
    );
}

#[test]
fn unallocated_node_ports_leave_the_port_without_members_and_warn() {
    let svc = from_yaml(
        "
metadata: {name: m}
spec:
  type: LoadBalancer
  allocateLoadBalancerNodePorts: false
  ports: [{port: 80}]
",
    );
    let p = parse(&svc, &Defaults::default()).unwrap();
    assert_eq!(p.spec.ports[0].node_port, None);
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].reason, WarningReason::NoNodePorts);
    assert!(
        p.warnings[0].message.contains("TCP/80"),
        "{}",
        p.warnings[0].message
    );
}

#[test]
fn a_manifest_without_node_ports_is_valid_without_warnings() {
    let svc = from_yaml("metadata: {name: m}\nspec: {type: LoadBalancer, ports: [{port: 80}]}");
    let p = parse(&svc, &Defaults::default()).unwrap();
    assert_eq!(p.spec.ports[0].node_port, None);
    assert!(p.warnings.is_empty());
}

#[test]
fn source_range_errors_name_the_index() {
    let svc = from_yaml(
        "
metadata: {name: m}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
  loadBalancerSourceRanges: [10.0.0.0/8, 10.0.0.0/33, 192.168.1.1, ' 172.16.0.0/12 ']
",
    );
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "spec.loadBalancerSourceRanges[1]",
            "spec.loadBalancerSourceRanges[2]"
        ]
    );
    assert!(errors[1].rule.contains("192.168.1.1/32"), "{}", errors[1]);
}

#[test]
fn the_legacy_source_range_annotation_is_read_when_the_field_is_empty() {
    let s = spec_with(keys::SOURCE_RANGES, "10.0.0.0/8, 2001:db8::/32");
    let got: Vec<String> = s.source_ranges.iter().map(ToString::to_string).collect();
    assert_eq!(got, vec!["10.0.0.0/8", "2001:db8::/32"]);
    let e = only_error(keys::SOURCE_RANGES, "10.0.0.0/8,nope");
    assert!(
        e.rule
            .starts_with("entry 2 (\"nope\") must be a CIDR block"),
        "{e}"
    );
}

#[test]
fn the_legacy_source_range_annotation_is_ignored_with_a_warning_when_the_field_is_set() {
    let mut svc = service(&[(keys::SOURCE_RANGES, "not even a cidr")]);
    svc.spec.as_mut().unwrap().load_balancer_source_ranges = Some(vec!["10.0.0.0/8".to_owned()]);
    let p = parse(&svc, &Defaults::default()).unwrap();
    assert_eq!(p.spec.source_ranges.len(), 1);
    assert_eq!(p.warnings[0].reason, WarningReason::AnnotationIgnored);
}

#[test]
fn spec_fields_map_into_the_spec() {
    let svc = from_yaml(
        "
metadata: {name: m, namespace: prod, uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427}
spec:
  type: LoadBalancer
  loadBalancerClass: kks.example/lb
  ports: [{port: 80, nodePort: 30080}]
  externalTrafficPolicy: Local
  healthCheckNodePort: 32100
  sessionAffinity: ClientIP
  loadBalancerIP: 2001:db8::10
  ipFamilies: [IPv6, IPv4]
",
    );
    let s = parse(&svc, &Defaults::default()).unwrap().spec;
    assert_eq!(s.namespace, "prod");
    assert_eq!(
        s.uid.as_deref(),
        Some("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
    );
    assert_eq!(s.load_balancer_class.as_deref(), Some("kks.example/lb"));
    assert!(s.session_affinity_client_ip);
    assert_eq!(s.load_balancer_ip.unwrap().to_string(), "2001:db8::10");
    assert_eq!(s.ip_family, kks_lb_annotations::IpFamily::IPv6);
    assert_eq!(s.health_check_node_port, Some(32100));
}

#[test]
fn bad_spec_fields_are_all_reported() {
    let svc = from_yaml(
        "
metadata: {name: m}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
  externalTrafficPolicy: Global
  healthCheckNodePort: 32100
  sessionAffinity: Sticky
  loadBalancerIP: 10.0.0.256
  ipFamilies: [IPv5]
",
    );
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "spec.externalTrafficPolicy",
            "spec.healthCheckNodePort",
            "spec.sessionAffinity",
            "spec.loadBalancerIP",
            "spec.ipFamilies[0]"
        ]
    );
}

#[test]
fn a_missing_name_is_an_error() {
    let svc = from_yaml("metadata: {}\nspec: {type: LoadBalancer, ports: [{port: 80}]}");
    let errors = parse(&svc, &Defaults::default()).unwrap_err();
    assert_eq!(
        errors,
        vec![AnnotationError::new("metadata.name", "", "must be set")]
    );
}

#[test]
fn platform_managed_keys_are_ignored_with_a_warning_naming_the_key() {
    let platform = [
        "floating-network-id",
        "floating-subnet-id",
        "floating-subnet",
        "floating-subnet-tags",
        "subnet-id",
        "network-id",
        "member-subnet-id",
        "port-id",
        "class",
        "flavor-id",
    ];
    for short in platform {
        let p = parse(&service(&[(&key(short), "anything")]), &Defaults::default()).unwrap();
        assert_eq!(p.warnings.len(), 1, "{short}");
        let w = &p.warnings[0];
        assert_eq!(w.key, key(short));
        assert_eq!(w.reason.as_str(), "PlatformManagedAnnotation");
        assert!(
            w.message
                .starts_with(&format!("{short} is managed by the platform"))
        );
    }
}

#[test]
fn an_unknown_key_suggests_the_closest_known_key() {
    let p = parse(
        &service(&[(&key("health-monitor-dealy"), "5")]),
        &Defaults::default(),
    )
    .unwrap();
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].reason.as_str(), "UnknownAnnotation");
    assert_eq!(
        p.warnings[0].message,
        "unknown annotation, ignored; did you mean health-monitor-delay?"
    );
}

#[test]
fn an_unknown_key_far_from_every_known_key_points_at_the_docs() {
    let p = parse(&service(&[(&key("banana"), "5")]), &Defaults::default()).unwrap();
    assert!(p.warnings[0].message.contains("kks-lb docs annotations"));
}

#[test]
fn a_misspelt_internal_annotation_is_an_unknown_key() {
    let k = "service.beta.kubernetes.io/openstack-internal-loadbalancer";
    let p = parse(&service(&[(k, "true")]), &Defaults::default()).unwrap();
    assert!(!p.spec.internal);
    assert_eq!(p.warnings[0].reason, WarningReason::UnknownAnnotation);
    assert!(
        p.warnings[0]
            .message
            .ends_with(&format!("did you mean {}?", keys::INTERNAL))
    );
}

#[test]
fn foreign_annotations_are_not_our_business() {
    let p = parse(
        &service(&[
            ("kubectl.kubernetes.io/last-applied-configuration", "{}"),
            ("service.beta.kubernetes.io/aws-load-balancer-type", "nlb"),
        ]),
        &Defaults::default(),
    )
    .unwrap();
    assert!(p.warnings.is_empty());
}

#[test]
fn tls_annotations_are_unsupported_features() {
    let p = parse(
        &service(&[(keys::DEFAULT_TLS_CONTAINER_REF, "x")]),
        &Defaults::default(),
    )
    .unwrap();
    assert_eq!(p.warnings[0].reason, WarningReason::FeatureUnsupported);
}

#[test]
fn an_invalid_service_keeps_its_warnings_in_the_report() {
    let report = parse_report(
        &service(&[
            (&key("lb-metod"), "SOURCE_IP"),
            (keys::LB_METHOD, "FASTEST"),
        ]),
        &Defaults::default(),
    );
    assert!(report.spec.is_none());
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0]
            .message
            .contains("did you mean lb-method?")
    );
}

#[test]
fn node_selector_keeps_key_only_entries() {
    let s = spec_with(&key("node-selector"), "role=ingress,gpu");
    let want: NodeSelector = "gpu,role=ingress".parse().unwrap();
    assert_eq!(s.node_selector, want);
}
