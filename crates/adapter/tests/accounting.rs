//! OpenStack calls per operation: the counts are deterministic, so they are asserted here;
//! `cargo bench -p kks-lb-adapter --bench calls` prints the table of `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Harness, accounting_scenarios};

#[tokio::test]
async fn each_operation_stays_within_its_call_budget() {
    let h = Harness::start().await;
    let results = accounting_scenarios(&h).await;
    let ports = 2;
    let get = |name: &str| {
        results
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c.clone())
            .unwrap()
    };

    let create = get("create");
    assert_eq!(
        create.writes(),
        3,
        "one fully-populated POST, the floating IP and its tags (Neutron 29 refuses tags in the POST): {create:?}"
    );
    assert_eq!(create.reads(), 1, "one lookup by name: {create:?}");
    assert!(create.total() <= 12, "{create:?}");

    let drift = get("drift check, nothing changed");
    assert_eq!(drift.writes(), 0, "{drift:?}");
    assert_eq!(drift.discovery() + drift.polls(), 0, "{drift:?}");
    assert!(
        drift.total() <= 4 + ports,
        "drift check reads {} > 4 + P: {drift:?}",
        drift.total()
    );

    let add = get("add a fourth node");
    let batch = add
        .by_endpoint
        .get(&("PUT".to_owned(), "/v2/lbaas/pools/{id}/members".to_owned()));
    assert_eq!(
        batch,
        Some(&ports),
        "one batch member update per pool: {add:?}"
    );
    assert_eq!(add.writes(), ports, "{add:?}");
    assert_eq!(
        add.reads(),
        0,
        "from the last observation: the batch PUTs and polls only: {add:?}"
    );

    let edit = get("edit connection-limit");
    assert_eq!(edit.writes(), ports, "one listener PUT per port: {edit:?}");
    assert_eq!(edit.reads(), 0, "the PUTs and polls only: {edit:?}");

    let delete = get("delete");
    assert_eq!(
        delete.writes(),
        2,
        "release the floating IP, one cascade delete: {delete:?}"
    );
    assert!(
        delete.reads() <= 2,
        "the load balancer and its floating IP: {delete:?}"
    );
    assert_eq!(
        delete
            .by_endpoint
            .get(&("GET".to_owned(), "/v2/lbaas/loadbalancers/{id}".to_owned())),
        None,
        "the poller's list shows it gone: no GET of its own: {delete:?}"
    );
}
