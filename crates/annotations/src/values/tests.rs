//! Round trips of every typed value, and the rules of each.

use std::fmt;
use std::str::FromStr;

use super::*;
use crate::spec::{IpFamily, LbMethod, NodeSelector, ProxyProtocol};

fn round_trip<T>(text: &str)
where
    T: FromStr<Err = InvalidValue> + fmt::Display + PartialEq + fmt::Debug,
{
    let value: T = text.parse().unwrap();
    let shown = value.to_string();
    assert_eq!(shown.parse::<T>().unwrap(), value, "{text} -> {shown}");
}

#[test]
fn every_typed_value_displays_as_text_that_parses_back() {
    for t in ["true", "false", "TRUE", "False"] {
        round_trip::<Flag>(t);
    }
    for t in ["-1", "0", "2147483647"] {
        round_trip::<ConnectionLimit>(t);
    }
    for t in [
        "ROUND_ROBIN",
        "LEAST_CONNECTIONS",
        "SOURCE_IP",
        "SOURCE_IP_PORT",
    ] {
        round_trip::<LbMethod>(t);
    }
    for t in ["true", "v1", "V2", "false", "FALSE"] {
        round_trip::<ProxyProtocol>(t);
    }
    for t in ["IPv4", "IPv6"] {
        round_trip::<IpFamily>(t);
    }
    for t in ["", "a=b", "a, b = c ,example.com/zone=x-1", "k="] {
        round_trip::<NodeSelector>(t);
    }
    round_trip::<Hostname>("lb.example.com");
    round_trip::<Uuid>("3F2A1C4E-9b7d-4e21-8c55-0a1b2c3d4e5f");
    round_trip::<OpenStackName>("m1.amphora large");
    round_trip::<Optional<OpenStackName>>("");
    round_trip::<Address>("2001:db8::1");
    round_trip::<Cidr>("10.0.0.0/8");
}

#[test]
fn integers_accept_only_plain_decimal() {
    for bad in ["+5", " 5", "5 ", "0x10", "1e3", "", "-", "--1", "5.0"] {
        assert!(Retries::from_str(bad).is_err(), "{bad:?} was accepted");
    }
    assert_eq!(ConnectionLimit::from_str("-1").unwrap().get(), -1);
    assert_eq!(
        ConnectionLimit::from_str("99999999999999999999999").unwrap_err(),
        InvalidValue("must be a decimal integer from -1 to 2147483647".to_owned())
    );
}

#[test]
fn proxy_protocol_true_means_v1() {
    assert_eq!("True".parse::<ProxyProtocol>().unwrap(), ProxyProtocol::V1);
}

#[test]
fn node_selector_key_alone_means_label_must_exist() {
    let s: NodeSelector = "role=lb,gpu".parse().unwrap();
    assert_eq!(s.0.get("gpu"), Some(&None));
    assert_eq!(s.0.get("role"), Some(&Some("lb".to_owned())));
}

#[test]
fn node_selector_errors_name_the_entry() {
    let e = "a=b,,c".parse::<NodeSelector>().unwrap_err();
    assert!(e.0.contains("entry 2 is empty"), "{e}");
    let e = "a=b,-bad=x".parse::<NodeSelector>().unwrap_err();
    assert!(e.0.contains("entry 2 (-bad=x): label key"), "{e}");
    let e = "a=b,a=c".parse::<NodeSelector>().unwrap_err();
    assert!(e.0.contains("given twice"), "{e}");
    let e = "a=has space".parse::<NodeSelector>().unwrap_err();
    assert!(e.0.contains("label value"), "{e}");
    let e = "Example.com/a=b".parse::<NodeSelector>().unwrap_err();
    assert!(e.0.contains("prefix"), "{e}");
}

#[test]
fn hostname_refuses_ip_addresses_and_upper_case() {
    assert!("10.0.0.1".parse::<Hostname>().is_err());
    assert!("LB.example.com".parse::<Hostname>().is_err());
    assert!("web_app.example.com".parse::<Hostname>().is_err());
    assert!("a.-b.com".parse::<Hostname>().is_err());
    assert!("example.com.".parse::<Hostname>().is_err());
}

#[test]
fn uuid_must_be_hyphenated() {
    assert!("3f2a1c4e9b7d4e218c550a1b2c3d4e5f".parse::<Uuid>().is_err());
    assert!(
        "3f2a1c4e-9b7d-4e21-8c55-0a1b2c3d4e5g"
            .parse::<Uuid>()
            .is_err()
    );
}

#[test]
fn lb_method_in_lower_case_suggests_the_upper_case_value() {
    let e = "least_connections".parse::<LbMethod>().unwrap_err();
    assert!(e.0.ends_with("; did you mean LEAST_CONNECTIONS?"), "{e}");
}

#[test]
fn cidr_with_a_too_long_prefix_says_so() {
    let e = "10.0.0.0/33".parse::<Cidr>().unwrap_err();
    assert_eq!(
        e.0,
        "must be a CIDR block: the prefix length /33 is longer than /32"
    );
}

#[test]
fn cidr_without_prefix_suggests_a_host_route() {
    let e = "10.1.2.3".parse::<Cidr>().unwrap_err();
    assert!(e.0.contains("10.1.2.3/32"), "{e}");
}
