//! Properties of `parse` and `render` over generated input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{annotation_map, defaults, valid_spec};
use k8s_openapi::api::core::v1::Service;
use kks_lb_annotations::{Defaults, LbSpec, keys, parse, parse_report, render};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_arbitrary_annotations_never_panics(map in annotation_map()) {
        let mut svc = common::service(&[]);
        svc.metadata.annotations = Some(map);
        let report = parse_report(&svc, &Defaults::default());
        prop_assert_eq!(report.spec.is_some(), report.errors.is_empty());
    }

    #[test]
    fn parsing_an_arbitrary_service_object_never_panics(json in arbitrary_service_json()) {
        if let Ok(svc) = serde_json::from_value::<Service>(json) {
            let _ = parse(&svc, &Defaults::default());
        }
    }

    #[test]
    fn render_then_parse_gives_the_spec_back(spec in valid_spec(), d in defaults()) {
        let svc = render(&spec);
        // The flavor is platform-managed: always the configured one.
        let spec = LbSpec { flavor_id: d.flavor_id.clone(), ..spec };
        match parse(&svc, &d) {
            Ok(parsed) => prop_assert_eq!(parsed.spec, spec),
            Err(errors) => prop_assert!(false, "rendered spec is invalid: {errors:#?}\n{spec:#?}"),
        }
    }

    #[test]
    fn every_error_names_a_key_the_service_has(map in annotation_map()) {
        let mut svc = common::service(&[]);
        svc.metadata.annotations = Some(map.clone());
        if let Err(errors) = parse(&svc, &Defaults::default()) {
            for e in errors {
                prop_assert!(map.contains_key(&e.key), "{e} names no annotation of {map:?}");
                prop_assert_eq!(&map[&e.key], &e.value);
            }
        }
    }

    #[test]
    fn n_bad_values_give_n_errors(picks in proptest::sample::subsequence(BAD.to_vec(), 0..=BAD.len())) {
        let pairs: Vec<(String, &str)> = picks.iter().map(|(k, v)| (common::key(k), *v)).collect();
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let result = parse(&common::service(&refs), &Defaults::default());
        let n = match &result { Ok(_) => 0, Err(e) => e.len() };
        prop_assert_eq!(n, picks.len(), "{:?}", result);
    }
}

/// One bad value per independent key (no rule links two of them).
const BAD: &[(&str, &str)] = &[
    ("connection-limit", "-2"),
    ("timeout-client-data", "soon"),
    ("timeout-member-connect", "-1"),
    ("timeout-member-data", "86400001"),
    ("timeout-tcp-inspect", "1.5"),
    ("lb-method", "RANDOM"),
    ("enable-health-monitor", "yes"),
    ("health-monitor-max-retries", "0"),
    ("health-monitor-max-retries-down", "11"),
    ("x-forwarded-for", "on"),
    ("proxy-protocol", "v3"),
    ("hostname", "Not A Host"),
    ("node-selector", "a=b,,c"),
    ("keep-floatingip", "1"),
    ("load-balancer-id", "not-a-uuid"),
    ("load-balancer-address", "10.0.0.300"),
];

#[test]
fn all_bad_keys_at_once_give_one_error_each() {
    let pairs: Vec<(String, &str)> = BAD.iter().map(|(k, v)| (common::key(k), *v)).collect();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let errors = parse(&common::service(&refs), &Defaults::default()).unwrap_err();
    let mut keys: Vec<&str> = errors.iter().map(|e| keys::short(&e.key)).collect();
    keys.sort_unstable();
    let mut want: Vec<&str> = BAD.iter().map(|(k, _)| *k).collect();
    want.sort_unstable();
    assert_eq!(keys, want);
}

fn arbitrary_service_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    let port = (
        proptest::option::of("(TCP|UDP|SCTP|tcp|HTTP)"),
        any::<i32>(),
        proptest::option::of(any::<i32>()),
    )
        .prop_map(|(protocol, port, node_port)| {
            json!({"protocol": protocol, "port": port, "nodePort": node_port})
        });
    (
        proptest::option::of("(LoadBalancer|NodePort|ClusterIP|)"),
        proptest::collection::vec(port, 0..4),
        proptest::option::of(proptest::collection::vec(".{0,20}", 0..3)),
        proptest::option::of("(Local|Cluster|Global)"),
        proptest::option::of(any::<i32>()),
        proptest::option::of("(ClientIP|None|Sticky)"),
        proptest::option::of(".{0,20}"),
        proptest::option::of(proptest::collection::vec("(IPv4|IPv6|IPv5)", 0..3)),
        proptest::option::of(any::<bool>()),
        annotation_map(),
    )
        .prop_map(|(ty, ports, ranges, etp, hc, aff, ip, fams, alloc, ann)| {
            json!({
                "metadata": {"name": "x", "annotations": ann},
                "spec": {
                    "type": ty, "ports": ports, "loadBalancerSourceRanges": ranges,
                    "externalTrafficPolicy": etp, "healthCheckNodePort": hc,
                    "sessionAffinity": aff, "loadBalancerIP": ip, "ipFamilies": fams,
                    "allocateLoadBalancerNodePorts": alloc,
                }
            })
        })
}
