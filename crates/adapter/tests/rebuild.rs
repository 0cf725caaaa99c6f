//! The cluster's observations rebuilt from list calls ([`kks_lb_adapter::rebuild`]) equal what
//! `observe` reads of each load balancer, for every example Service, at N + 5 calls; and the
//! names it lists let a Service with no load balancer skip the lookup by name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Harness, parse_file};
use k8s_openapi::api::core::v1::Service;
use kks_lb_adapter::{Lookup, Observation, observe_stamped, observe_stamped_with, rebuild};
use kks_lb_annotations::{Defaults, LbSpec, parse};
use kks_lb_planner::{cluster_tag, desired};
use kks_lb_testkit::fixtures::nodes;

fn examples() -> Vec<LbSpec> {
    let mut specs = Vec::new();
    for f in [
        "01-public-web-app.yaml",
        "02-internal-microservice.yaml",
        "03-session-app.yaml",
        "04-high-performance-api.yaml",
        "05-http-xff.yaml",
    ] {
        specs.extend(parse_file(&format!("../../examples/{f}")));
    }
    // Members with a monitor port (externalTrafficPolicy: Local).
    let local: Service = serde_yaml_ng::from_str(
        "apiVersion: v1\nkind: Service\nmetadata: {name: local, namespace: shop, uid: u-local}\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: Local\n  healthCheckNodePort: 32000\n  ports:\n  - {name: http, port: 80, nodePort: 30080}\n",
    )
    .unwrap();
    specs.push(parse(&local, &Defaults::default()).unwrap().spec);
    for s in &mut specs {
        s.uid.get_or_insert_with(|| format!("uid-{}", s.name));
    }
    specs
}

fn fip_description(h: &Harness, s: &LbSpec) -> Option<String> {
    desired(s, &nodes(3), &h.cluster)
        .floatingip
        .filter(|f| f.floating_ip_address.is_none())
        .map(|f| f.description)
}

#[tokio::test]
async fn rebuilt_observations_equal_observe_for_every_example() {
    let h = Harness::start().await;
    let three = nodes(3);
    let specs = examples();
    for s in &specs {
        h.converge(s, &three, 4).await;
    }
    let client = h.executor.client();
    let tag = cluster_tag(&h.cluster.cluster_id);
    h.cloud.reset_calls();
    let mut rebuilt = rebuild(client, &tag).await.unwrap();
    let calls: u64 = h
        .cloud
        .calls()
        .iter()
        .filter(|(c, _)| c.service.as_str() != "keystone")
        .map(|(_, n)| n)
        .sum();
    let n = specs.len() as u64;
    assert_eq!(
        h.cloud
            .call_count("GET", "/v2/lbaas/loadbalancers/{id}/status"),
        n,
        "one status tree per load balancer"
    );
    assert_eq!(
        calls,
        n + 5,
        "five lists and one status tree per load balancer"
    );
    assert_eq!(rebuilt.trees(), specs.len());
    for s in &specs {
        let owner = h.ownership(s);
        let fip = fip_description(&h, s);
        let (seen, state) = observe_stamped(client, &owner, fip.as_deref())
            .await
            .unwrap();
        let Observation::Owned(seen) = seen else {
            panic!("{} has no load balancer", s.name);
        };
        let want = desired(s, &three, &h.cluster);
        let (got, got_state) = rebuilt
            .take(&owner, fip.as_deref(), &want)
            .unwrap_or_else(|| panic!("{} was not rebuilt", s.name));
        assert_eq!(got, *seen, "{}: rebuilt ≠ observed", s.name);
        assert_eq!(Some(got_state), state, "{}: state", s.name);
        assert!(rebuilt.has_name(&owner.name));
        assert!(
            rebuilt.take(&owner, fip.as_deref(), &want).is_none(),
            "each tree is taken once"
        );
    }
}

#[tokio::test]
async fn a_name_the_inventory_did_not_list_skips_the_lookup() {
    let h = Harness::start().await;
    let specs = examples();
    h.converge(&specs[0], &nodes(3), 4).await;
    let tag = cluster_tag(&h.cluster.cluster_id);
    let rebuilt = rebuild(h.executor.client(), &tag).await.unwrap();
    let new = &specs[1];
    let owner = h.ownership(new);
    assert!(!rebuilt.has_name(&owner.name));
    assert!(rebuilt.has_name(&h.ownership(&specs[0]).name));
    h.cloud.reset_calls();
    let (o, _) = observe_stamped_with(h.executor.client(), &owner, None, Lookup::KnownAbsent)
        .await
        .unwrap();
    assert_eq!(o, Observation::Missing { stale_id: None });
    assert_eq!(
        h.cloud.call_count("GET", "/v2/lbaas/loadbalancers"),
        0,
        "no lookup by name"
    );
}
