//! Round-trips of the response bodies a real Octavia 19.0.0 / Neutron 29.0.0 returned
//! (copied from `shared/real-octavia/samples/octavia/` into `tests/data/`).
//!
//! Each body is deserialized into its wire type, serialized again and compared with the
//! original JSON value: equal values prove the types model every field the service sent,
//! `null`s included, with the service's spelling.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kks_lb_octavia_model::api::neutron::{
    FloatingIp, FloatingIpRoot, NetworkIpAvailability, NetworkIpAvailabilityRoot, NeutronErrorBody,
};
use kks_lb_octavia_model::api::octavia::{
    ApiVersion, Fault, HealthMonitorResponse, HealthMonitorRoot, ListenerResponse, ListenerRoot,
    LoadBalancerFullResponse, LoadBalancerList, LoadBalancerResponse, LoadBalancerRoot, MemberList,
    MemberResponse, MemberRoot, PoolResponse, PoolRoot, StatusRoot, VersionList,
};
use kks_lb_octavia_model::{
    LbAlgorithm, MonitorType, OperatingStatus, Protocol, ProvisioningStatus, SessionPersistenceType,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn sample(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Deserializes `name` as `T`, checks that serializing gives back the exact original JSON
/// value and that deserializing that again gives an equal `T`.
fn round_trip<T>(name: &str) -> T
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let text = sample(name);
    let original: serde_json::Value = serde_json::from_str(&text).unwrap();
    let typed: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        again, original,
        "{name}: re-serialized JSON differs from the real body"
    );
    let typed_again: T = serde_json::from_value(again).unwrap();
    assert_eq!(typed_again, typed, "{name}: second deserialize differs");
    typed
}

#[test]
fn lb_get_references_children_by_id_and_keeps_timestamps_without_timezone() {
    let lb = round_trip::<LoadBalancerRoot<LoadBalancerResponse>>("lb_get.json").loadbalancer;
    assert_eq!(lb.provisioning_status, ProvisioningStatus::Active);
    assert_eq!(lb.operating_status, OperatingStatus::Offline);
    assert_eq!(lb.created_at, "2026-11-26T14:38:10");
    assert_eq!(lb.updated_at.as_deref(), Some("2026-11-26T14:38:12"));
    assert_eq!(lb.listeners.len(), 2);
    assert_eq!(lb.pools[1].id, "b7126091-669c-43ba-98a9-4a5a107b3fe4");
    assert_eq!(lb.tags, vec!["smoke"]);
    assert_eq!(lb.flavor_id, None);
    assert_eq!(lb.tenant_id.as_deref(), Some(lb.project_id.as_str()));
    assert_eq!(lb.vip_sg_ids, Some(vec![]));
}

#[test]
fn lb_create_responses_embed_full_children_and_have_null_updated_at() {
    let simple = round_trip::<LoadBalancerRoot<LoadBalancerFullResponse>>("lb_create_simple.json")
        .loadbalancer;
    assert_eq!(
        simple.provisioning_status,
        ProvisioningStatus::PendingCreate
    );
    assert_eq!(simple.updated_at, None);
    assert!(simple.listeners.is_empty() && simple.pools.is_empty());

    let full = round_trip::<LoadBalancerRoot<LoadBalancerFullResponse>>("lb_create_full.json")
        .loadbalancer;
    let http = full.listeners.iter().find(|l| l.name == "http").unwrap();
    assert_eq!(http.protocol, Protocol::Http);
    assert_eq!(
        http.loadbalancers, None,
        "embedded listeners carry no loadbalancers key"
    );
    assert_eq!(
        http.allowed_cidrs.as_deref(),
        Some(&["10.0.0.0/8".to_owned(), "192.168.0.0/16".to_owned()][..])
    );
    let tcp = full.listeners.iter().find(|l| l.name == "tcp").unwrap();
    assert_eq!(
        tcp.allowed_cidrs, None,
        "unset allowed_cidrs is null, not []"
    );

    let pool = full.pools.iter().find(|p| p.name == "pool-http").unwrap();
    assert_eq!(pool.members.len(), 2);
    assert_eq!(pool.members[0].operating_status, OperatingStatus::NoMonitor);
    let hm = pool.links.healthmonitor.as_ref().unwrap();
    assert_eq!(hm.kind, MonitorType::Http);
    assert_eq!(hm.pools, None, "embedded monitors carry no pools key");
    assert_eq!(
        pool.session_persistence.as_ref().unwrap().kind,
        SessionPersistenceType::HttpCookie
    );
    let tcp_pool = full.pools.iter().find(|p| p.name == "pool-tcp").unwrap();
    assert_eq!(tcp_pool.lb_algorithm, LbAlgorithm::LeastConnections);
    assert_eq!(tcp_pool.session_persistence, None);
    assert_eq!(
        tcp_pool.links.healthmonitor.as_ref().unwrap().http_method,
        None
    );
}

#[test]
fn lb_list_and_put_round_trip() {
    let list = round_trip::<LoadBalancerList>("lb_list.json");
    assert_eq!(list.loadbalancers.len(), 1);
    assert!(list.loadbalancers_links.is_empty());
    let put = round_trip::<LoadBalancerRoot<LoadBalancerResponse>>("lb_put.json").loadbalancer;
    assert_eq!(put.provisioning_status, ProvisioningStatus::PendingUpdate);
    assert_eq!(put.name, "smoke-simple-renamed");
}

#[test]
fn listener_get_and_put_keep_allowed_cidrs_and_timeouts() {
    let get = round_trip::<ListenerRoot<ListenerResponse>>("listener_get.json").listener;
    assert_eq!(get.protocol_port, 80);
    assert_eq!(get.connection_limit, -1);
    assert_eq!(get.timeout_client_data, Some(50000));
    assert_eq!(get.timeout_tcp_inspect, Some(0));
    assert_eq!(
        get.loadbalancers.as_ref().unwrap()[0].id,
        "e9fb533a-f12f-4d9a-abf3-3c9dfe49e8f7"
    );
    assert_eq!(get.client_authentication.as_deref(), Some("NONE"));
    let put = round_trip::<ListenerRoot<ListenerResponse>>("listener_put.json").listener;
    assert_eq!(put.connection_limit, 1000);
    assert_eq!(put.allowed_cidrs, Some(vec!["10.1.0.0/16".to_owned()]));
}

#[test]
fn pool_get_references_monitor_and_members_and_put_clears_persistence() {
    let get = round_trip::<PoolRoot<PoolResponse>>("pool_get.json").pool;
    assert_eq!(
        get.links.healthmonitor_id.as_deref(),
        Some("8d2ddcb5-ca82-4305-ac44-39e811e7cc43")
    );
    assert_eq!(get.members.len(), 2);
    assert_eq!(get.session_persistence.as_ref().unwrap().cookie_name, None);
    let put = round_trip::<PoolRoot<PoolResponse>>("pool_put.json").pool;
    assert_eq!(put.session_persistence, None);
    assert_eq!(put.lb_algorithm, LbAlgorithm::LeastConnections);
}

#[test]
fn member_bodies_round_trip() {
    let get = round_trip::<MemberRoot<MemberResponse>>("member_get.json").member;
    assert_eq!(
        (get.address.as_str(), get.protocol_port, get.weight),
        ("192.0.2.10", 8080, 1)
    );
    assert_eq!(get.subnet_id, None);
    let post = round_trip::<MemberRoot<MemberResponse>>("member_post.json").member;
    assert_eq!(post.provisioning_status, ProvisioningStatus::PendingCreate);
    assert_eq!(post.operating_status, OperatingStatus::Offline);
    let put = round_trip::<MemberRoot<MemberResponse>>("member_put.json").member;
    assert_eq!(put.weight, 5);
    let list = round_trip::<MemberList>("members_list.json");
    assert_eq!(list.members.len(), 2);
    let after = round_trip::<MemberList>("members_after_batch.json");
    let mut got: Vec<_> = after
        .members
        .iter()
        .map(|m| (m.address.clone(), m.protocol_port, m.weight))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("192.0.2.10".into(), 8080, 3),
            ("192.0.2.40".into(), 8080, 1)
        ]
    );
}

#[test]
fn batch_member_put_answer_is_an_empty_body() {
    assert!(sample("members_batch_put.json").is_empty());
}

#[test]
fn health_monitor_bodies_round_trip() {
    let get = round_trip::<HealthMonitorRoot<HealthMonitorResponse>>("hm_get.json").healthmonitor;
    assert_eq!(get.kind, MonitorType::Http);
    assert_eq!(
        (
            get.delay,
            get.timeout,
            get.max_retries,
            get.max_retries_down
        ),
        (5, 3, 3, 3)
    );
    assert_eq!(get.url_path.as_deref(), Some("/healthz"));
    assert_eq!(get.pools.as_ref().unwrap().len(), 1);
    assert_eq!(get.http_version, None);
    let put = round_trip::<HealthMonitorRoot<HealthMonitorResponse>>("hm_put.json").healthmonitor;
    assert_eq!((put.delay, put.url_path.as_deref()), (7, Some("/ready")));
}

#[test]
fn status_tree_uses_health_monitor_with_underscore_and_member_addresses() {
    let tree = round_trip::<StatusRoot>("lb_status_tree.json");
    let lb = &tree.statuses.loadbalancer;
    assert_eq!(lb.listeners.len(), 2);
    let pool = &lb.listeners[0].pools[0];
    assert_eq!(
        pool.health_monitor.as_ref().unwrap().kind,
        MonitorType::Http
    );
    assert_eq!(pool.members[0].address, "192.0.2.10");
    assert_eq!(pool.members[0].protocol_port, 8080);
    let text = sample("lb_status_tree.json");
    assert!(text.contains("\"health_monitor\""));
}

#[test]
fn version_document_reports_2_30_as_maximum() {
    let versions = round_trip::<VersionList>("versions.json");
    assert_eq!(versions.versions.len(), 31);
    assert_eq!(versions.max_version(), Some(ApiVersion::new(2, 30)));
    assert_eq!(versions.max_version().unwrap().as_tuple(), (2, 30));
    let current: Vec<_> = versions
        .versions
        .iter()
        .filter(|v| v.status == "CURRENT")
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].links[0].href, "http://127.0.0.1:9876/v2");
}

#[test]
fn fault_bodies_round_trip_with_null_debuginfo() {
    let children = round_trip::<Fault>("lb_delete_children.json");
    assert_eq!(children.faultcode, "Client");
    assert!(
        children
            .faultstring
            .starts_with("Validation failure: Cannot delete Load Balancer")
    );
    assert_eq!(children.debuginfo, None);
    let locked = round_trip::<Fault>("lb_put_conflict.json");
    assert_eq!(
        locked.faultstring,
        "Invalid state PENDING_UPDATE of loadbalancer resource f4c1ffa9-ff46-4cc3-8a88-e736a87e0fa4"
    );
    let immutable = round_trip::<Fault>("member_post_conflict.json");
    assert!(
        immutable
            .faultstring
            .ends_with("is immutable and cannot be updated.")
    );
}

#[test]
fn neutron_floating_ip_create_round_trips_with_port_details() {
    let fip = round_trip::<FloatingIpRoot<FloatingIp>>("neutron_fip_create.json").floatingip;
    assert_eq!(fip.floating_ip_address, "203.0.113.114");
    assert_eq!(fip.fixed_ip_address.as_deref(), Some("10.0.0.161"));
    assert_eq!(fip.status, "DOWN");
    assert_eq!(fip.created_at.as_deref(), Some("2026-11-26T14:38:21Z"));
    assert_eq!(fip.port_details.as_ref().unwrap().name, "vip-8664");
    assert_eq!(fip.revision_number, Some(0));
}

#[test]
fn network_ip_availability_of_a_full_slash_29_round_trips_with_its_details() {
    let a = round_trip::<NetworkIpAvailabilityRoot<NetworkIpAvailability>>(
        "neutron_ip_availability.json",
    )
    .network_ip_availability;
    assert_eq!((a.used_ips, a.total_ips), (5, 5));
    let s = &a.subnet_ip_availability[0];
    assert_eq!(s.cidr, "10.99.0.0/29");
    let d = s.ip_availability_details.unwrap();
    assert_eq!(
        (d.total_ips_in_subnet, d.total_ips_in_allocation_pool),
        (6, 5)
    );
}

#[test]
fn a_port_on_a_full_subnet_answers_ip_address_generation_failure() {
    let e = round_trip::<NeutronErrorBody>("neutron_port_exhausted.json").error;
    assert_eq!(e.kind, "IpAddressGenerationFailure");
    assert!(
        e.message
            .starts_with("No more IP addresses available on network ")
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let mut v: serde_json::Value = serde_json::from_str(&sample("member_get.json")).unwrap();
    v["member"]["some_future_field"] = serde_json::json!({"nested": true});
    let m: MemberRoot<MemberResponse> = serde_json::from_value(v).unwrap();
    assert_eq!(m.member.name, "m1");
    let e: Result<NeutronErrorBody, _> = serde_json::from_str(
        r#"{"NeutronError":{"type":"IpAddressGenerationFailure","message":"No more IP addresses available on network n.","detail":"","extra":1}}"#,
    );
    assert_eq!(e.unwrap().error.kind, "IpAddressGenerationFailure");
}
