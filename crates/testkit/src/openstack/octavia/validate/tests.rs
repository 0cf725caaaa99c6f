//! Unit tests of the Octavia body validation (`super`).

use super::*;
use serde_json::json;

#[test]
fn fields_newer_than_the_version_are_unknown_attributes() {
    let obj = json!({"protocol": "TCP", "protocol_port": 80, "allowed_cidrs": ["10.0.0.0/8"]});
    assert!(check_fields("listener", &obj, LISTENER_CREATE, ApiVersion::new(2, 12)).is_ok());
    let err = check_fields("listener", &obj, LISTENER_CREATE, ApiVersion::new(2, 11)).unwrap_err();
    let ApiError::Octavia(status, fault) = err else {
        panic!("octavia fault expected")
    };
    assert_eq!(status.as_u16(), 400);
    assert!(
        fault
            .faultstring
            .ends_with("Unknown attribute for argument listener: allowed_cidrs")
    );
}

#[test]
fn listener_pool_protocol_map_allows_proxy_behind_tcp_and_refuses_udp_behind_tcp() {
    assert!(check_listener_pool_protocols(Protocol::Tcp, Protocol::Proxy).is_ok());
    assert!(check_listener_pool_protocols(Protocol::Tcp, Protocol::ProxyV2).is_ok());
    assert!(check_listener_pool_protocols(Protocol::Http, Protocol::Http).is_ok());
    let err = check_listener_pool_protocols(Protocol::Tcp, Protocol::Udp).unwrap_err();
    let ApiError::Octavia(_, fault) = err else {
        panic!()
    };
    assert_eq!(
        fault.faultstring,
        "Validation failure: The pool protocol 'UDP' is invalid while the listener protocol is 'TCP'."
    );
}

#[test]
fn sctp_needs_2_23_and_source_ip_port_needs_2_13() {
    assert!(check_listener_protocol(Protocol::Sctp, ApiVersion::new(2, 22)).is_err());
    assert!(check_listener_protocol(Protocol::Sctp, ApiVersion::new(2, 23)).is_ok());
    assert!(check_listener_protocol(Protocol::Proxy, ApiVersion::new(2, 30)).is_err());
    assert!(check_algorithm(LbAlgorithm::SourceIpPort, ApiVersion::new(2, 12)).is_err());
    assert!(check_algorithm(LbAlgorithm::SourceIpPort, ApiVersion::new(2, 13)).is_ok());
}
