//! Octavia emulation: the provisioning state machine, 409s while locked, response shapes,
//! batch member update, cascade delete, ERROR and stuck faults.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "openstack_support/mod.rs"]
mod support;

use std::time::Duration;

use kks_lb_octavia_model::ProvisioningStatus;
use kks_lb_octavia_model::api::octavia::{
    LoadBalancerFullResponse, LoadBalancerResponse, LoadBalancerRoot, MemberList, PoolResponse,
    PoolRoot, StatusRoot,
};
use kks_lb_testkit::openstack::{MemberHealth, OpenStackEmulator, ProvisioningDelays};
use reqwest::StatusCode;
use serde_json::json;
use support::{Client, advance, cloud_with, full_lb_body, simple_lb_body};

const DELAYS: ProvisioningDelays = ProvisioningDelays {
    create: Duration::from_secs(10),
    update: Duration::from_secs(2),
    delete: Duration::from_secs(3),
};

async fn setup() -> (OpenStackEmulator, Client, String) {
    let cloud = cloud_with(|c| c.delays = DELAYS).await;
    let c = Client::login(&cloud).await;
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    (cloud, c, subnet)
}

async fn lb_status(c: &Client, id: &str) -> (StatusCode, String) {
    let r = c.get(&Client::lbaas(&format!("/loadbalancers/{id}"))).await;
    let s = r.body["loadbalancer"]["provisioning_status"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    (r.status, s)
}

#[tokio::test(start_paused = true)]
async fn a_new_lb_is_pending_create_until_the_delay_passes_then_active() {
    let (cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb1", &subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let lb: LoadBalancerRoot<LoadBalancerFullResponse> = serde_json::from_value(r.body).unwrap();
    let id = lb.loadbalancer.id;
    assert_eq!(
        lb.loadbalancer.provisioning_status,
        ProvisioningStatus::PendingCreate
    );
    assert_eq!(lb.loadbalancer.updated_at, None);
    assert_eq!(lb.loadbalancer.vip_address.as_deref(), Some("10.0.0.2"));
    advance(9_999).await;
    assert_eq!(lb_status(&c, &id).await.1, "PENDING_CREATE");
    advance(1).await;
    assert_eq!(lb_status(&c, &id).await.1, "ACTIVE");
    let got = c.get(&Client::lbaas(&format!("/loadbalancers/{id}"))).await;
    assert_eq!(got.body["loadbalancer"]["operating_status"], "ONLINE");
    assert!(got.body["loadbalancer"]["updated_at"].is_string());
    assert_eq!(
        cloud.provisioning_status(&id),
        Some(ProvisioningStatus::Active)
    );
}

#[tokio::test(start_paused = true)]
async fn mutations_on_a_locked_lb_get_409_with_octavias_two_texts() {
    let (_cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("lb", &subnet),
        )
        .await;
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    let pool_id = r.body["loadbalancer"]["pools"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // LB PUT/DELETE: LBPendingStateError (real-octavia README quirk 3).
    let put = c
        .put(
            &Client::lbaas(&format!("/loadbalancers/{id}")),
            json!({"loadbalancer": {"description": "x"}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::CONFLICT);
    assert_eq!(
        put.fault(),
        format!("Invalid state PENDING_CREATE of loadbalancer resource {id}")
    );
    assert_eq!(put.body["faultcode"], "Client");
    assert!(put.body["debuginfo"].is_null());
    let del = c
        .delete(&Client::lbaas(&format!("/loadbalancers/{id}?cascade=true")))
        .await;
    assert_eq!(del.status, StatusCode::CONFLICT);

    // Child mutations: ImmutableObject.
    let member = c
        .post(
            &Client::lbaas(&format!("/pools/{pool_id}/members")),
            json!({"member": {"address": "192.0.2.99", "protocol_port": 80}}),
        )
        .await;
    assert_eq!(member.status, StatusCode::CONFLICT);
    assert_eq!(
        member.fault(),
        format!("Load Balancer {id} is immutable and cannot be updated.")
    );

    advance(10_000).await;
    let put = c
        .put(
            &Client::lbaas(&format!("/loadbalancers/{id}")),
            json!({"loadbalancer": {"name": "renamed"}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(
        put.body["loadbalancer"]["provisioning_status"],
        "PENDING_UPDATE"
    );
    assert_eq!(put.body["loadbalancer"]["name"], "renamed");
    let again = c
        .put(
            &Client::lbaas(&format!("/loadbalancers/{id}")),
            json!({"loadbalancer": {"name": "x"}}),
        )
        .await;
    assert_eq!(
        again.fault(),
        format!("Invalid state PENDING_UPDATE of loadbalancer resource {id}")
    );
    advance(2_000).await;
    assert_eq!(lb_status(&c, &id).await.1, "ACTIVE");
}

#[tokio::test(start_paused = true)]
async fn fully_populated_create_embeds_children_and_get_references_them() {
    let (_cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("full", &subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    let full: LoadBalancerRoot<LoadBalancerFullResponse> =
        serde_json::from_value(r.body.clone()).unwrap();
    let lb = full.loadbalancer;
    assert_eq!(lb.listeners.len(), 2);
    assert!(
        r.body["loadbalancer"]["listeners"][0]
            .get("loadbalancers")
            .is_none()
    );
    assert_eq!(
        r.body["loadbalancer"]["listeners"][0]["l7policies"],
        json!([])
    );
    let tcp_pool = lb.pools.iter().find(|p| p.name == "pool_TCP_80").unwrap();
    assert_eq!(tcp_pool.members.len(), 2);
    assert_eq!(
        tcp_pool
            .links
            .healthmonitor
            .as_ref()
            .unwrap()
            .provisioning_status,
        ProvisioningStatus::PendingCreate
    );
    assert!(
        r.body["loadbalancer"]["pools"][0]
            .get("healthmonitor_id")
            .is_none()
    );
    let udp = lb.listeners.iter().find(|l| l.protocol_port == 53).unwrap();
    assert_eq!(udp.allowed_cidrs, None, "unset allowed_cidrs is null");
    assert_eq!(
        r.body["loadbalancer"]["listeners"][1]["allowed_cidrs"],
        serde_json::Value::Null
    );

    advance(10_000).await;
    let got = c
        .get(&Client::lbaas(&format!("/loadbalancers/{}", lb.id)))
        .await;
    let get: LoadBalancerRoot<LoadBalancerResponse> =
        serde_json::from_value(got.body.clone()).unwrap();
    assert_eq!(get.loadbalancer.listeners.len(), 2);
    assert_eq!(
        got.body["loadbalancer"]["listeners"][0],
        json!({"id": lb.listeners[0].id})
    );
    let pool = c
        .get(&Client::lbaas(&format!("/pools/{}", tcp_pool.id)))
        .await;
    let pool: PoolRoot<PoolResponse> = serde_json::from_value(pool.body).unwrap();
    assert_eq!(
        pool.pool.links.healthmonitor_id,
        tcp_pool.links.healthmonitor.as_ref().map(|h| h.id.clone())
    );
    assert_eq!(pool.pool.members.len(), 2);
    assert_eq!(pool.pool.links.loadbalancers[0].id, lb.id);
    let listener = c
        .get(&Client::lbaas(&format!(
            "/listeners/{}",
            lb.listeners[0].id
        )))
        .await;
    assert_eq!(
        listener.body["listener"]["loadbalancers"][0]["id"],
        lb.id.as_str()
    );
    assert_eq!(
        listener.body["listener"]["allowed_cidrs"],
        json!(["10.0.0.0/8"])
    );

    let status = c
        .get(&Client::lbaas(&format!("/loadbalancers/{}/status", lb.id)))
        .await;
    let tree: StatusRoot = serde_json::from_value(status.body.clone()).unwrap();
    let tcp = tree
        .statuses
        .loadbalancer
        .listeners
        .iter()
        .find(|l| l.name == "listener_TCP_80")
        .unwrap();
    assert_eq!(
        tcp.pools[0]
            .health_monitor
            .as_ref()
            .unwrap()
            .provisioning_status,
        ProvisioningStatus::Active
    );
    assert_eq!(tcp.pools[0].members[0].address, "192.0.2.10");
    let udp = tree
        .statuses
        .loadbalancer
        .listeners
        .iter()
        .find(|l| l.name == "listener_UDP_53")
        .unwrap();
    assert!(udp.pools[0].health_monitor.is_none());
    assert_eq!(
        udp.pools[0].members[0].operating_status.as_str(),
        "NO_MONITOR"
    );
}

#[tokio::test(start_paused = true)]
async fn batch_member_put_answers_202_with_an_empty_body_and_replaces_the_set() {
    let (cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("lb", &subnet),
        )
        .await;
    let lb_id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    let pool = r.body["loadbalancer"]["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "pool_TCP_80")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(10_000).await;
    let batch = c
        .put(
            &Client::lbaas(&format!("/pools/{pool}/members")),
            json!({"members": [
                {"address": "192.0.2.10", "protocol_port": 30080, "weight": 3},
                {"address": "192.0.2.40", "protocol_port": 30080, "name": "node-new"}]}),
        )
        .await;
    assert_eq!(batch.status, StatusCode::ACCEPTED);
    assert!(
        batch.raw.is_empty(),
        "batch PUT body must be empty, got {:?}",
        batch.raw
    );
    assert_eq!(lb_status(&c, &lb_id).await.1, "PENDING_UPDATE");
    let pending: MemberList = serde_json::from_value(
        c.get(&Client::lbaas(&format!("/pools/{pool}/members")))
            .await
            .body,
    )
    .unwrap();
    let removed = pending
        .members
        .iter()
        .find(|m| m.address == "192.0.2.11")
        .unwrap();
    assert_eq!(
        removed.provisioning_status,
        ProvisioningStatus::PendingDelete
    );
    advance(2_000).await;
    let after: MemberList = serde_json::from_value(
        c.get(&Client::lbaas(&format!("/pools/{pool}/members")))
            .await
            .body,
    )
    .unwrap();
    let mut got: Vec<_> = after
        .members
        .iter()
        .map(|m| (m.address.as_str(), m.weight, m.provisioning_status))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("192.0.2.10", 3, ProvisioningStatus::Active),
            ("192.0.2.40", 1, ProvisioningStatus::Active)
        ]
    );
    assert_eq!(
        cloud.call_count_with_status("PUT", "/v2/lbaas/pools/{id}/members", 202),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn delete_with_children_needs_cascade_and_cascade_removes_everything() {
    let (cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("lb", &subnet),
        )
        .await;
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    let listener = r.body["loadbalancer"]["listeners"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let vip_port = r.body["loadbalancer"]["vip_port_id"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(10_000).await;
    let plain = c
        .delete(&Client::lbaas(&format!("/loadbalancers/{id}")))
        .await;
    assert_eq!(plain.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        plain.fault(),
        format!("Validation failure: Cannot delete Load Balancer {id} - it has children")
    );
    let cascade = c
        .delete(&Client::lbaas(&format!("/loadbalancers/{id}?cascade=true")))
        .await;
    assert_eq!(cascade.status, StatusCode::NO_CONTENT);
    assert!(cascade.raw.is_empty());
    assert_eq!(lb_status(&c, &id).await.1, "PENDING_DELETE");
    let l = c
        .get(&Client::lbaas(&format!("/listeners/{listener}")))
        .await;
    assert_eq!(l.body["listener"]["provisioning_status"], "PENDING_DELETE");
    advance(3_000).await;
    let gone = c.get(&Client::lbaas(&format!("/loadbalancers/{id}"))).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.fault(), format!("Load Balancer {id} not found."));
    assert_eq!(
        c.get(&Client::lbaas(&format!("/listeners/{listener}")))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let snap = cloud.snapshot();
    assert!(snap.loadbalancers.is_empty());
    assert!(
        snap.ports.iter().all(|p| p.id != vip_port),
        "the VIP port goes with the LB"
    );
    assert_eq!(snap.subnet(&subnet).unwrap().used, 0);
}

#[tokio::test(start_paused = true)]
async fn child_crud_moves_the_lb_through_pending_update() {
    let (_cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", &subnet),
        )
        .await;
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    advance(10_000).await;
    let l = c
        .post(&Client::lbaas("/listeners"), json!({"listener": {"loadbalancer_id": id, "protocol": "TCP", "protocol_port": 443, "name": "l"}}))
        .await;
    assert_eq!(l.status, StatusCode::CREATED, "{}", l.raw);
    assert_eq!(l.body["listener"]["provisioning_status"], "PENDING_CREATE");
    assert_eq!(lb_status(&c, &id).await.1, "PENDING_UPDATE");
    advance(2_000).await;
    let lid = l.body["listener"]["id"].as_str().unwrap().to_owned();
    let p = c
        .post(&Client::lbaas("/pools"), json!({"pool": {"listener_id": lid, "protocol": "PROXY", "lb_algorithm": "LEAST_CONNECTIONS", "name": "p"}}))
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
    let pid = p.body["pool"]["id"].as_str().unwrap().to_owned();
    assert_eq!(p.body["pool"]["listeners"][0]["id"], lid.as_str());
    advance(2_000).await;
    let hm = c
        .post(&Client::lbaas("/healthmonitors"), json!({"healthmonitor": {"pool_id": pid, "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 2}}))
        .await;
    assert_eq!(hm.status, StatusCode::CREATED, "{}", hm.raw);
    assert_eq!(hm.body["healthmonitor"]["url_path"], "/");
    assert_eq!(hm.body["healthmonitor"]["expected_codes"], "200");
    assert_eq!(hm.body["healthmonitor"]["max_retries_down"], 3);
    let pool = c.get(&Client::lbaas(&format!("/pools/{pid}"))).await;
    assert_eq!(pool.body["pool"]["provisioning_status"], "PENDING_UPDATE");
    advance(2_000).await;
    let second = c
        .post(&Client::lbaas("/healthmonitors"), json!({"healthmonitor": {"pool_id": pid, "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 2}}))
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.fault(), "This pool already has a health monitor");
    let sp = c
        .put(
            &Client::lbaas(&format!("/pools/{pid}")),
            json!({"pool": {"session_persistence": {"type": "SOURCE_IP"}}}),
        )
        .await;
    assert_eq!(sp.body["pool"]["session_persistence"]["type"], "SOURCE_IP");
    assert!(sp.body["pool"]["session_persistence"]["cookie_name"].is_null());
    advance(2_000).await;
    let cleared = c
        .put(
            &Client::lbaas(&format!("/pools/{pid}")),
            json!({"pool": {"session_persistence": null}}),
        )
        .await;
    assert!(cleared.body["pool"]["session_persistence"].is_null());
    advance(2_000).await;
    let del = c.delete(&Client::lbaas(&format!("/pools/{pid}"))).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    advance(2_000).await;
    assert_eq!(
        c.get(&Client::lbaas(&format!("/pools/{pid}"))).await.status,
        StatusCode::NOT_FOUND
    );
    let listener = c.get(&Client::lbaas(&format!("/listeners/{lid}"))).await;
    assert!(
        listener.body["listener"]["default_pool_id"].is_null(),
        "deleting a pool detaches it"
    );
    assert_eq!(lb_status(&c, &id).await.1, "ACTIVE");
}

#[tokio::test(start_paused = true)]
async fn failed_creates_end_in_error_and_such_an_lb_can_be_deleted_but_not_updated() {
    let (cloud, c, subnet) = setup().await;
    cloud.fail_next_creates(1);
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("doomed", &subnet),
        )
        .await;
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    advance(10_000).await;
    assert_eq!(lb_status(&c, &id).await.1, "ERROR");
    let snap = cloud.snapshot();
    let t = snap.loadbalancer("doomed").unwrap();
    assert!(
        t.loadbalancer
            .listeners
            .iter()
            .all(|l| l.provisioning_status == Some(ProvisioningStatus::Error))
    );
    let put = c
        .put(
            &Client::lbaas(&format!("/loadbalancers/{id}")),
            json!({"loadbalancer": {"name": "x"}}),
        )
        .await;
    assert_eq!(
        put.fault(),
        format!("Invalid state ERROR of loadbalancer resource {id}")
    );
    let del = c
        .delete(&Client::lbaas(&format!("/loadbalancers/{id}?cascade=true")))
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    advance(3_000).await;
    assert_eq!(lb_status(&c, &id).await.0, StatusCode::NOT_FOUND);
    let next = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("fine", &subnet),
        )
        .await;
    let next_id = next.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    advance(10_000).await;
    assert_eq!(
        lb_status(&c, &next_id).await.1,
        "ACTIVE",
        "only the next create fails"
    );
}

#[tokio::test(start_paused = true)]
async fn failed_updates_end_in_error() {
    let (cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", &subnet),
        )
        .await;
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    advance(10_000).await;
    cloud.fail_next_updates(1);
    c.put(
        &Client::lbaas(&format!("/loadbalancers/{id}")),
        json!({"loadbalancer": {"name": "x"}}),
    )
    .await;
    advance(2_000).await;
    assert_eq!(lb_status(&c, &id).await.1, "ERROR");
}

#[tokio::test(start_paused = true)]
async fn stuck_lbs_stay_pending_until_released() {
    let (cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", &subnet),
        )
        .await;
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    cloud.stick_load_balancer(&id, true);
    advance(60_000).await;
    assert_eq!(lb_status(&c, &id).await.1, "PENDING_CREATE");
    cloud.set_stuck_pending(true);
    cloud.stick_load_balancer(&id, false);
    assert_eq!(lb_status(&c, &id).await.1, "PENDING_CREATE");
    cloud.set_stuck_pending(false);
    assert_eq!(
        lb_status(&c, &id).await.1,
        "ACTIVE",
        "a released, overdue LB completes at once"
    );
}

#[tokio::test(start_paused = true)]
async fn zero_delays_show_pending_in_the_response_and_active_on_the_next_read() {
    let cloud = cloud_with(|c| c.delays = ProvisioningDelays::ZERO).await;
    let c = Client::login(&cloud).await;
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", &subnet),
        )
        .await;
    assert_eq!(
        r.body["loadbalancer"]["provisioning_status"],
        "PENDING_CREATE"
    );
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    assert_eq!(lb_status(&c, &id).await.1, "ACTIVE");
}

#[tokio::test(start_paused = true)]
async fn the_v2_0_alias_serves_the_same_api_and_counts_under_v2() {
    let (cloud, c, subnet) = setup().await;
    let r = c
        .post(
            "/load-balancer/v2.0/lbaas/loadbalancers",
            simple_lb_body("lb", &subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let list = c.get("/load-balancer/v2/lbaas/loadbalancers?name=lb").await;
    assert_eq!(list.body["loadbalancers"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["loadbalancers_links"], json!([]));
    assert_eq!(cloud.call_count("POST", "/v2/lbaas/loadbalancers"), 1);
}

#[tokio::test(start_paused = true)]
async fn snapshot_gives_topologies_with_ids_statuses_and_the_vip_floating_ip() {
    let (cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("snap", &subnet),
        )
        .await;
    let port = r.body["loadbalancer"]["vip_port_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ext = cloud.fixture().external_network_id.clone();
    let fip = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext, "port_id": port}}),
        )
        .await;
    assert_eq!(fip.status, StatusCode::CREATED, "{}", fip.raw);
    advance(10_000).await;
    let snap = cloud.snapshot();
    let t = snap.loadbalancer("snap").unwrap();
    assert_eq!(
        t.loadbalancer.provisioning_status,
        Some(ProvisioningStatus::Active)
    );
    assert_eq!(t.member_count(), 3);
    let keys: Vec<_> = t
        .loadbalancer
        .listeners
        .iter()
        .map(|l| l.key().to_string())
        .collect();
    assert_eq!(keys, vec!["TCP/80", "UDP/53"], "normalized order");
    let fip = t.floatingip.as_ref().unwrap();
    assert_eq!(fip.port_id.as_deref(), Some(port.as_str()));
    assert_eq!(snap.subnet(&subnet).unwrap().used, 1);
}

#[tokio::test(start_paused = true)]
async fn a_desired_topology_posts_as_a_fully_populated_create_and_comes_back_equal() {
    use std::collections::BTreeMap;

    use kks_lb_octavia_model::topology::{
        HealthMonitor, Listener, LoadBalancer, Member, Pool, SessionPersistence,
    };
    use kks_lb_octavia_model::{
        LbAlgorithm, MonitorType, Protocol, SessionPersistenceType, Topology,
    };

    let (cloud, c, subnet) = setup().await;
    let member = |address: &str| Member {
        id: None,
        name: format!("node-{address}"),
        address: address.to_owned(),
        protocol_port: 31000,
        subnet_id: None,
        weight: 1,
        monitor_port: None,
        provisioning_status: None,
        operating_status: None,
    };
    let desired = Topology {
        loadbalancer: LoadBalancer {
            name: "kube_service_c1_default_web".into(),
            description: "Kubernetes Service default/web of cluster c1".into(),
            vip_subnet_id: Some(subnet.clone()),
            provider: Some("amphora".into()),
            tags: vec![
                "kube_service_c1_default_web".into(),
                "kks-lb-cluster:c1".into(),
            ],
            listeners: vec![Listener {
                id: None,
                name: "listener_TCP_80_kube_service_c1_default_web".into(),
                protocol: Protocol::Tcp,
                protocol_port: 80,
                connection_limit: -1,
                timeout_client_data: Some(50000),
                timeout_member_connect: Some(5000),
                timeout_member_data: Some(50000),
                timeout_tcp_inspect: Some(0),
                allowed_cidrs: Some(vec!["10.0.0.0/8".into()]),
                insert_headers: BTreeMap::new(),
                tags: vec![],
                default_pool: Some(Pool {
                    id: None,
                    name: "pool_TCP_80_kube_service_c1_default_web".into(),
                    protocol: Protocol::Tcp,
                    lb_algorithm: LbAlgorithm::RoundRobin,
                    session_persistence: Some(SessionPersistence {
                        kind: SessionPersistenceType::SourceIp,
                        cookie_name: None,
                    }),
                    tags: vec![],
                    members: vec![member("192.0.2.2"), member("192.0.2.1")],
                    healthmonitor: Some(HealthMonitor {
                        id: None,
                        name: "monitor_TCP_80_kube_service_c1_default_web".into(),
                        kind: MonitorType::Tcp,
                        delay: 10,
                        timeout: 5,
                        max_retries: 3,
                        max_retries_down: 3,
                        http_method: None,
                        url_path: None,
                        expected_codes: None,
                        tags: vec![],
                        provisioning_status: None,
                        operating_status: None,
                    }),
                    provisioning_status: None,
                    operating_status: None,
                }),
                provisioning_status: None,
                operating_status: None,
            }],
            ..LoadBalancer::default()
        },
        floatingip: None,
        keep_floatingip: false,
    };
    let body = serde_json::to_value(LoadBalancerRoot {
        loadbalancer: &desired.loadbalancer,
    })
    .unwrap();
    let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    advance(10_000).await;
    let snap = cloud.snapshot();
    let observed = snap.loadbalancer(&desired.loadbalancer.name).unwrap();
    assert_eq!(
        observed.loadbalancer.provisioning_status,
        Some(ProvisioningStatus::Active)
    );
    let mut observed = observed.without_observed_fields();
    // Allocated by the cloud, not part of the desired state.
    observed.loadbalancer.vip_address = None;
    observed.loadbalancer.vip_network_id = None;
    let mut expected = desired.clone();
    expected.normalize();
    assert_eq!(observed, expected);
}

#[tokio::test(start_paused = true)]
async fn listener_member_and_monitor_updates_apply_and_deletes_remove() {
    let (cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("lb", &subnet),
        )
        .await;
    let lb = r.body["loadbalancer"].clone();
    let listener = lb["listeners"][0]["id"].as_str().unwrap().to_owned();
    let pool = &lb["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "pool_TCP_80")
        .unwrap()
        .clone();
    let pool_id = pool["id"].as_str().unwrap().to_owned();
    let member = pool["members"][0]["id"].as_str().unwrap().to_owned();
    let hm = pool["healthmonitor"]["id"].as_str().unwrap().to_owned();
    advance(10_000).await;

    let l = c
        .put(
            &Client::lbaas(&format!("/listeners/{listener}")),
            json!({"listener": {"connection_limit": 1000, "allowed_cidrs": null, "timeout_client_data": null}}),
        )
        .await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.raw);
    assert_eq!(l.body["listener"]["provisioning_status"], "PENDING_UPDATE");
    assert_eq!(l.body["listener"]["connection_limit"], 1000);
    assert!(
        l.body["listener"]["allowed_cidrs"].is_null(),
        "null clears the CIDRs"
    );
    assert_eq!(
        l.body["listener"]["timeout_client_data"], 50000,
        "null resets to the default"
    );
    advance(2_000).await;

    let m = c
        .put(
            &Client::lbaas(&format!("/pools/{pool_id}/members/{member}")),
            json!({"member": {"weight": 5}}),
        )
        .await;
    assert_eq!(m.body["member"]["weight"], 5);
    assert_eq!(m.body["member"]["provisioning_status"], "PENDING_UPDATE");
    let p = c.get(&Client::lbaas(&format!("/pools/{pool_id}"))).await;
    assert_eq!(
        p.body["pool"]["provisioning_status"], "PENDING_UPDATE",
        "the parent pool follows"
    );
    advance(2_000).await;

    let h = c
        .put(
            &Client::lbaas(&format!("/healthmonitors/{hm}")),
            json!({"healthmonitor": {"delay": 7, "timeout": 9}}),
        )
        .await;
    assert_eq!(
        h.status,
        StatusCode::BAD_REQUEST,
        "timeout above the merged delay"
    );
    let h = c
        .put(
            &Client::lbaas(&format!("/healthmonitors/{hm}")),
            json!({"healthmonitor": {"delay": 7}}),
        )
        .await;
    assert_eq!(h.body["healthmonitor"]["delay"], 7);
    assert_eq!(h.body["healthmonitor"]["pools"][0]["id"], pool_id.as_str());
    advance(2_000).await;

    assert_eq!(
        c.delete(&Client::lbaas(&format!("/healthmonitors/{hm}")))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    advance(2_000).await;
    assert_eq!(
        c.delete(&Client::lbaas(&format!(
            "/pools/{pool_id}/members/{member}"
        )))
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    advance(2_000).await;
    let p = c.get(&Client::lbaas(&format!("/pools/{pool_id}"))).await;
    assert!(p.body["pool"]["healthmonitor_id"].is_null());
    assert_eq!(p.body["pool"]["members"].as_array().unwrap().len(), 1);
    let members = c
        .get(&Client::lbaas(&format!("/pools/{pool_id}/members")))
        .await;
    assert_eq!(
        members.body["members"][0]["operating_status"], "NO_MONITOR",
        "no monitor any more"
    );
    assert_eq!(
        c.get(&Client::lbaas(&format!("/healthmonitors/{hm}")))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        c.delete(&Client::lbaas(&format!("/listeners/{listener}")))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    advance(2_000).await;
    let snap = cloud.snapshot();
    assert_eq!(
        snap.loadbalancer("lb")
            .unwrap()
            .loadbalancer
            .listeners
            .len(),
        1
    );
    assert_eq!(
        snap.detached_pools.len(),
        1,
        "the pool survives its listener"
    );
    assert_eq!(snap.detached_pools[0].pool.members.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_batch_entry_for_an_existing_member_keeps_its_id_name_and_tags_and_resets_defaults() {
    let (_cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            json!({"loadbalancer": {"name": "lb", "vip_subnet_id": subnet, "pools": [
                {"name": "p", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN", "members": [
                    {"address": "10.0.0.30", "protocol_port": 80, "name": "keep", "weight": 5,
                     "backup": true, "admin_state_up": false, "monitor_address": "10.0.0.31",
                     "monitor_port": 8080, "tags": ["t1"]}]}]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    let lb_id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    let pool = r.body["loadbalancer"]["pools"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let member_id = r.body["loadbalancer"]["pools"][0]["members"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let members_path = Client::lbaas(&format!("/pools/{pool}/members"));
    let member = || {
        let c = &c;
        let path = Client::lbaas(&format!("/pools/{pool}/members/{member_id}"));
        async move { c.get(&path).await.body["member"].clone() }
    };
    advance(10_000).await;

    // Only address and port: what has a schema default is reset, the rest stays.
    let batch = c
        .put(
            &members_path,
            json!({"members": [{"address": "10.0.0.30", "protocol_port": 80}]}),
        )
        .await;
    assert_eq!(batch.status, StatusCode::ACCEPTED, "{}", batch.raw);
    assert_eq!(member().await["provisioning_status"], "PENDING_UPDATE");
    advance(2_000).await;
    let m = member().await;
    assert_eq!(m["id"], member_id.as_str());
    assert_eq!(m["name"], "keep");
    assert_eq!(m["tags"], json!(["t1"]));
    assert_eq!(m["weight"], 1);
    assert_eq!(m["backup"], false);
    assert_eq!(m["admin_state_up"], true);
    assert!(m["monitor_address"].is_null());
    assert!(m["monitor_port"].is_null());
    assert!(m["subnet_id"].is_null());
    assert_eq!(m["provisioning_status"], "ACTIVE");

    // Given attributes are written, an empty name and empty tags included.
    let batch = c
        .put(
            &members_path,
            json!({"members": [{"address": "10.0.0.30", "protocol_port": 80, "name": "renamed",
                "tags": ["t2"], "subnet_id": subnet, "weight": 7}]}),
        )
        .await;
    assert_eq!(batch.status, StatusCode::ACCEPTED, "{}", batch.raw);
    advance(2_000).await;
    let m = member().await;
    assert_eq!(
        (
            &m["id"],
            &m["name"],
            &m["tags"],
            &m["subnet_id"],
            &m["weight"]
        ),
        (
            &json!(member_id),
            &json!("renamed"),
            &json!(["t2"]),
            &json!(subnet),
            &json!(7)
        )
    );
    let batch = c
        .put(
            &members_path,
            json!({"members": [{"address": "10.0.0.30", "protocol_port": 80, "name": "",
                "tags": []}]}),
        )
        .await;
    assert_eq!(batch.status, StatusCode::ACCEPTED, "{}", batch.raw);
    advance(2_000).await;
    let m = member().await;
    assert_eq!((&m["name"], &m["tags"]), (&json!(""), &json!([])));

    // An existing member twice is a validation error, a new one twice a duplicate.
    let twice = c
        .put(
            &members_path,
            json!({"members": [{"address": "10.0.0.30", "protocol_port": 80},
                               {"address": "10.0.0.30", "protocol_port": 80}]}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST, "{}", twice.raw);
    assert_eq!(
        twice.fault(),
        "Validation failure: Member must be updated only once in the same request."
    );
    let twice = c
        .put(
            &members_path,
            json!({"members": [{"address": "10.0.0.40", "protocol_port": 80},
                               {"address": "10.0.0.40", "protocol_port": 80}]}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.raw);
    assert_eq!(
        twice.fault(),
        "Another member on this pool is already using ip 10.0.0.40 on protocol_port 80"
    );
    assert_eq!(lb_status(&c, &lb_id).await.1, "ACTIVE");
    let members = c.get(&members_path).await;
    assert_eq!(members.body["members"].as_array().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn pools_listed_by_load_balancer_include_pools_no_listener_uses() {
    let (cloud, c, subnet) = setup().await;
    let mut lbs = Vec::new();
    for name in ["a", "b"] {
        let r = c
            .post(
                &Client::lbaas("/loadbalancers"),
                simple_lb_body(name, &subnet),
            )
            .await;
        lbs.push(r.body["loadbalancer"]["id"].as_str().unwrap().to_owned());
    }
    advance(10_000).await;
    // A pool on the LB only, one on a listener, and one on the other LB.
    let mut pools = Vec::new();
    for (lb, name) in [(&lbs[0], "detached"), (&lbs[1], "other")] {
        let p = c
            .post(
                &Client::lbaas("/pools"),
                json!({"pool": {"loadbalancer_id": lb, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN", "name": name}}),
            )
            .await;
        assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
        assert_eq!(p.body["pool"]["listeners"], json!([]));
        pools.push(p.body["pool"]["id"].as_str().unwrap().to_owned());
        advance(2_000).await;
    }
    let l = c
        .post(
            &Client::lbaas("/listeners"),
            json!({"listener": {"loadbalancer_id": lbs[0], "protocol": "TCP", "protocol_port": 80}}),
        )
        .await;
    let lid = l.body["listener"]["id"].as_str().unwrap().to_owned();
    advance(2_000).await;
    let used = c
        .post(
            &Client::lbaas("/pools"),
            json!({"pool": {"listener_id": lid, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN", "name": "used"}}),
        )
        .await;
    assert_eq!(used.status, StatusCode::CREATED, "{}", used.raw);
    let listed = c
        .get(&Client::lbaas(&format!(
            "/pools?loadbalancer_id={}",
            lbs[0]
        )))
        .await;
    let names: Vec<&str> = listed.body["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["detached", "used"]);
    assert_eq!(
        listed.body["pools"][0]["loadbalancers"],
        json!([{"id": lbs[0]}])
    );
    let detached: Vec<String> = cloud
        .snapshot()
        .detached_pools
        .iter()
        .map(|p| p.pool.name.clone())
        .collect();
    assert_eq!(detached, vec!["detached", "other"]);
}

fn lb_updated_at(body: &serde_json::Value) -> Option<String> {
    body["loadbalancer"]["updated_at"]
        .as_str()
        .map(str::to_owned)
}

/// Octavia 19 moves a load balancer's `updated_at` on every mutation of its children (the
/// list-based drift check relies on it): a batch member PUT included.
#[tokio::test(start_paused = true)]
async fn a_batch_member_put_moves_the_parent_lbs_updated_at() {
    let (_cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("lb", &subnet),
        )
        .await;
    let lb_id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    let pool = r.body["loadbalancer"]["pools"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    advance(10_000).await;
    let url = Client::lbaas(&format!("/loadbalancers/{lb_id}"));
    let before = lb_updated_at(&c.get(&url).await.body);
    assert!(before.is_some(), "ACTIVE after create has an updated_at");
    // The emulator's clock resolves to seconds, like Octavia's.
    advance(5_000).await;
    assert_eq!(
        lb_updated_at(&c.get(&url).await.body),
        before,
        "no change, same stamp"
    );
    let batch = c
        .put(
            &Client::lbaas(&format!("/pools/{pool}/members")),
            json!({"members": [{"address": "192.0.2.77", "protocol_port": 30080}]}),
        )
        .await;
    assert_eq!(batch.status, StatusCode::ACCEPTED);
    advance(2_000).await;
    let after = c.get(&url).await.body;
    assert_eq!(after["loadbalancer"]["provisioning_status"], "ACTIVE");
    assert_ne!(lb_updated_at(&after), before, "the child mutation moved it");
}

/// The tag-filtered list the shared poller and the drift check use pages with `limit` and
/// `marker`, a `next` link while more remain, and shows only the tagged load balancers.
#[tokio::test(start_paused = true)]
async fn tag_filtered_lists_page_with_limit_and_marker() {
    let (_cloud, c, subnet) = setup().await;
    let mut tagged = Vec::new();
    for i in 0..5 {
        let mut body = simple_lb_body(&format!("lb{i}"), &subnet);
        if i != 2 {
            body["loadbalancer"]["tags"] = json!(["kks-lb-cluster:x"]);
        }
        let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        if i != 2 {
            tagged.push(r.body["loadbalancer"]["id"].as_str().unwrap().to_owned());
        }
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = Client::lbaas("/loadbalancers?tags=kks-lb-cluster:x&limit=3");
        if let Some(m) = &marker {
            url.push_str(&format!("&marker={m}"));
        }
        let page = c.get(&url).await.body;
        pages += 1;
        let ids: Vec<String> = page["loadbalancers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|lb| lb["id"].as_str().unwrap().to_owned())
            .collect();
        marker = ids.last().cloned();
        seen.extend(ids);
        let next = page["loadbalancers_links"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["rel"] == "next"));
        if !next {
            break;
        }
    }
    assert_eq!(seen, tagged);
    assert_eq!(pages, 2);
}

/// The operating statuses a status tree shows: the load balancer's, then per listener name
/// the pool's and its members' (address, status).
/// A listener's name, its pool's status and the pool's members (address, status).
type ListenerHealth = (String, String, Vec<(String, String)>);

fn statuses(tree: &StatusRoot) -> (String, Vec<ListenerHealth>) {
    let lb = &tree.statuses.loadbalancer;
    let listeners = lb
        .listeners
        .iter()
        .map(|l| {
            let pool = &l.pools[0];
            (
                l.name.clone(),
                pool.operating_status.to_string(),
                pool.members
                    .iter()
                    .map(|m| (m.address.clone(), m.operating_status.to_string()))
                    .collect(),
            )
        })
        .collect();
    (lb.operating_status.to_string(), listeners)
}

#[tokio::test(start_paused = true)]
async fn member_health_set_by_address_rolls_up_to_pool_and_load_balancer() {
    let (cloud, c, subnet) = setup().await;
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            full_lb_body("health", &subnet),
        )
        .await;
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    advance(10_000).await;
    let healthy = statuses(&tree(&c, &id).await);
    assert_eq!(healthy.0, "ONLINE");
    assert_eq!(
        healthy.1[0],
        (
            "listener_TCP_80".into(),
            "ONLINE".into(),
            vec![
                ("192.0.2.10".into(), "ONLINE".into()),
                ("192.0.2.11".into(), "ONLINE".into())
            ]
        )
    );
    let before = updated_at(&c, &id).await;

    // One of two monitored members down: the pool and the load balancer are DEGRADED; the
    // pool without a monitor keeps NO_MONITOR for the same address.
    cloud.set_member_health("192.0.2.10", Some(MemberHealth::Offline));
    let (lb, listeners) = statuses(&tree(&c, &id).await);
    assert_eq!(lb, "DEGRADED");
    assert_eq!(listeners[0].1, "DEGRADED");
    assert_eq!(listeners[0].2[0], ("192.0.2.10".into(), "OFFLINE".into()));
    assert_eq!(
        listeners[1],
        (
            "listener_UDP_53".into(),
            "ONLINE".into(),
            vec![("192.0.2.10".into(), "NO_MONITOR".into())]
        )
    );
    let listed = c.get(&Client::lbaas("/loadbalancers")).await;
    assert_eq!(
        listed.body["loadbalancers"][0]["operating_status"], "DEGRADED",
        "the list shows the rolled-up status"
    );
    assert_eq!(
        updated_at(&c, &id).await,
        before,
        "health does not move updated_at"
    );

    // Both down: the monitored pool is ERROR; the load balancer, still serving UDP, DEGRADED.
    cloud.set_member_health("192.0.2.11", Some(MemberHealth::Error));
    let (lb, listeners) = statuses(&tree(&c, &id).await);
    assert_eq!(
        (lb.as_str(), listeners[0].1.as_str()),
        ("DEGRADED", "ERROR")
    );

    // Up again.
    cloud.set_member_health("192.0.2.10", None);
    cloud.set_member_health("192.0.2.11", None);
    let (lb, listeners) = statuses(&tree(&c, &id).await);
    assert_eq!((lb.as_str(), listeners[0].1.as_str()), ("ONLINE", "ONLINE"));
}

#[tokio::test(start_paused = true)]
async fn a_load_balancer_whose_only_pool_has_every_member_down_is_error() {
    let (cloud, c, subnet) = setup().await;
    let body = json!({"loadbalancer": {"name": "one", "vip_subnet_id": subnet,
        "listeners": [{"name": "l", "protocol": "TCP", "protocol_port": 80,
            "default_pool": {"name": "p", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
                "healthmonitor": {"type": "TCP", "delay": 10, "timeout": 5, "max_retries": 3},
                "members": [{"address": "192.0.2.20", "protocol_port": 30080}]}}]}});
    let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
    let id = r.body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    advance(10_000).await;
    cloud.set_member_health("192.0.2.20", Some(MemberHealth::Offline));
    let r = c
        .get(&Client::lbaas(&format!("/loadbalancers/{id}/status")))
        .await;
    let (lb, listeners) = statuses(&serde_json::from_value(r.body).unwrap());
    assert_eq!(lb, "ERROR");
    assert_eq!(listeners[0].1, "ERROR");
    // A member added later to a monitored pool reports what its address reports.
    cloud.set_member_health("192.0.2.21", Some(MemberHealth::Draining));
    let pool = r_pool_id(&c, &id).await;
    let put = c
        .put(
            &Client::lbaas(&format!("/pools/{pool}/members")),
            json!({"members": [{"address": "192.0.2.20", "protocol_port": 30080},
                               {"address": "192.0.2.21", "protocol_port": 30080}]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::ACCEPTED, "{}", put.raw);
    advance(10_000).await;
    let r = c
        .get(&Client::lbaas(&format!("/loadbalancers/{id}/status")))
        .await;
    let (lb, listeners) = statuses(&serde_json::from_value(r.body).unwrap());
    assert_eq!(lb, "DEGRADED", "draining counts as up");
    assert_eq!(
        listeners[0].2,
        vec![
            ("192.0.2.20".into(), "OFFLINE".into()),
            ("192.0.2.21".into(), "DRAINING".into())
        ]
    );
}

async fn tree(c: &Client, id: &str) -> StatusRoot {
    let r = c
        .get(&Client::lbaas(&format!("/loadbalancers/{id}/status")))
        .await;
    serde_json::from_value(r.body).unwrap()
}

async fn updated_at(c: &Client, id: &str) -> serde_json::Value {
    c.get(&Client::lbaas(&format!("/loadbalancers/{id}")))
        .await
        .body["loadbalancer"]["updated_at"]
        .clone()
}

async fn r_pool_id(c: &Client, lb: &str) -> String {
    let r = c
        .get(&Client::lbaas(&format!("/pools?loadbalancer_id={lb}")))
        .await;
    r.body["pools"][0]["id"].as_str().unwrap().to_owned()
}

/// The names of the load balancers a `?tags=` list answers, sorted.
async fn names_tagged(c: &Client, query: &str) -> Vec<String> {
    let r = c
        .get(&Client::lbaas(&format!("/loadbalancers?{query}")))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{query}");
    let mut names: Vec<String> = r.body["loadbalancers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lb| lb["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(start_paused = true)]
async fn tag_filtered_lists_follow_tags_set_at_create_changed_by_put_and_gone_with_the_lb() {
    let (_cloud, c, subnet) = setup().await;
    let mut ids = Vec::new();
    for (name, tags) in [("a", json!(["c1", "s1"])), ("b", json!(["c1", "s2"]))] {
        let mut body = simple_lb_body(name, &subnet);
        body["loadbalancer"]["tags"] = tags;
        let r = c.post(&Client::lbaas("/loadbalancers"), body).await;
        assert_eq!(r.status, StatusCode::CREATED);
        ids.push(r.body["loadbalancer"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(names_tagged(&c, "tags=c1").await, ["a", "b"]);
    assert_eq!(names_tagged(&c, "tags=s1").await, ["a"]);
    assert_eq!(names_tagged(&c, "tags=c1,s2").await, ["b"]);
    assert_eq!(names_tagged(&c, "tags=c1&tags=s2").await, ["b"]);
    assert!(names_tagged(&c, "tags=s1,s2").await.is_empty());
    assert!(names_tagged(&c, "tags=nobody").await.is_empty());
    assert_eq!(names_tagged(&c, "tags=c1&not-tags=s1").await, ["b"]);

    advance(10_000).await;
    let r = c
        .put(
            &Client::lbaas(&format!("/loadbalancers/{}", ids[0])),
            json!({"loadbalancer": {"tags": ["c2", "s1"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(names_tagged(&c, "tags=c1").await, ["b"]);
    assert_eq!(names_tagged(&c, "tags=c2").await, ["a"]);
    assert_eq!(names_tagged(&c, "tags=s1").await, ["a"]);

    let r = c
        .delete(&Client::lbaas(&format!("/loadbalancers/{}", ids[1])))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        names_tagged(&c, "tags=c1").await,
        ["b"],
        "listed while PENDING_DELETE"
    );
    advance(3_000).await;
    assert!(names_tagged(&c, "tags=c1").await.is_empty());
    assert!(names_tagged(&c, "tags=s2").await.is_empty());
}
