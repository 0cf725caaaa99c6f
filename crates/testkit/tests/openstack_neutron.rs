//! Neutron emulation: floating IPs bound to VIP ports, tags, filters, conflicts and subnet
//! exhaustion.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "openstack_support/mod.rs"]
mod support;

use kks_lb_octavia_model::api::neutron::{FloatingIp, FloatingIpRoot, Port, PortList};
use kks_lb_testkit::openstack::{AuthMode, OpenStackEmulator, ProvisioningDelays};
use reqwest::StatusCode;
use serde_json::json;
use support::{Client, cloud_with, simple_lb_body};

async fn setup(cluster_cidr: &str) -> (OpenStackEmulator, Client) {
    let cidr = cluster_cidr.to_owned();
    let cloud = cloud_with(move |c| {
        c.delays = ProvisioningDelays::ZERO;
        c.cluster_cidr = cidr;
    })
    .await;
    let c = Client::login(&cloud).await;
    (cloud, c)
}

/// A noauth cloud (every caller admin, as the real services run locally) and its client.
async fn noauth_setup(cluster_cidr: &str) -> (OpenStackEmulator, Client) {
    let cidr = cluster_cidr.to_owned();
    let cloud = cloud_with(move |c| {
        c.delays = ProvisioningDelays::ZERO;
        c.auth = AuthMode::NoAuth;
        c.cluster_cidr = cidr;
    })
    .await;
    let c = Client::noauth(&cloud, &cloud.fixture().project_id);
    (cloud, c)
}

/// Creates an LB and returns (lb id, vip port id, vip address).
async fn lb(c: &Client, cloud: &OpenStackEmulator, name: &str) -> (String, String, String) {
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body(name, &cloud.fixture().cluster_subnet_id),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    let lb = &r.body["loadbalancer"];
    (
        lb["id"].as_str().unwrap().to_owned(),
        lb["vip_port_id"].as_str().unwrap().to_owned(),
        lb["vip_address"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(start_paused = true)]
async fn the_vip_port_is_a_real_neutron_port_owned_by_octavia() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let (lb_id, port_id, vip) = lb(&c, &cloud, "lb").await;
    let port: Port = serde_json::from_value(
        c.get(&Client::neutron(&format!("/ports/{port_id}")))
            .await
            .body["port"]
            .clone(),
    )
    .unwrap();
    assert_eq!(port.device_owner, "Octavia");
    assert_eq!(port.device_id, format!("lb-{lb_id}"));
    assert_eq!(port.name, format!("octavia-lb-{lb_id}"));
    assert_eq!(port.fixed_ips[0].ip_address, vip);
    assert_eq!(
        port.fixed_ips[0].subnet_id,
        cloud.fixture().cluster_subnet_id
    );
    let by_device: PortList = serde_json::from_value(
        c.get(&Client::neutron(&format!("/ports?device_id=lb-{lb_id}")))
            .await
            .body,
    )
    .unwrap();
    assert_eq!(by_device.ports.len(), 1);
    let by_ip: PortList = serde_json::from_value(
        c.get(&Client::neutron(&format!(
            "/ports?fixed_ips=ip_address={vip}"
        )))
        .await
        .body,
    )
    .unwrap();
    assert_eq!(by_ip.ports[0].id, port_id);
    let other_net = c
        .get(&Client::neutron(&format!(
            "/ports?network_id={}",
            cloud.fixture().external_network_id
        )))
        .await;
    assert!(other_net.body["ports"].as_array().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_floating_ip_is_created_bound_then_moved_detached_and_released() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let (_, port_a, vip_a) = lb(&c, &cloud, "a").await;
    let (_, port_b, vip_b) = lb(&c, &cloud, "b").await;
    let ext = cloud.fixture().external_network_id.clone();
    let r = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext, "port_id": port_a, "description": "svc a"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    let fip: FloatingIpRoot<FloatingIp> = serde_json::from_value(r.body).unwrap();
    let fip = fip.floatingip;
    assert_eq!(fip.port_id.as_deref(), Some(port_a.as_str()));
    assert_eq!(fip.fixed_ip_address.as_deref(), Some(vip_a.as_str()));
    assert_eq!(fip.status, "ACTIVE");
    assert_eq!(
        fip.router_id.as_deref(),
        Some(cloud.fixture().router_id.as_str())
    );
    assert_eq!(fip.port_details.as_ref().unwrap().device_owner, "Octavia");
    assert!(fip.floating_ip_address.starts_with("203.0.113."));
    assert!(fip.created_at.as_deref().unwrap().ends_with('Z'));

    let path = Client::neutron(&format!("/floatingips/{}", fip.id));
    let moved = c
        .put(&path, json!({"floatingip": {"port_id": port_b}}))
        .await;
    assert_eq!(moved.body["floatingip"]["fixed_ip_address"], vip_b.as_str());
    assert_eq!(moved.body["floatingip"]["revision_number"], 1);
    let detached = c.put(&path, json!({"floatingip": {"port_id": null}})).await;
    assert_eq!(detached.status, StatusCode::OK);
    assert!(detached.body["floatingip"]["port_id"].is_null());
    assert!(detached.body["floatingip"]["port_details"].is_null());
    assert_eq!(detached.body["floatingip"]["status"], "DOWN");
    assert_eq!(c.delete(&path).await.status, StatusCode::NO_CONTENT);
    let gone = c.get(&path).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.neutron_error(),
        (
            "FloatingIPNotFound",
            format!("Floating IP {} could not be found", fip.id).as_str()
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_floating_ip_put_on_a_stale_revision_is_a_412_and_changes_nothing() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let (_, port_a, _) = lb(&c, &cloud, "a").await;
    let (_, port_b, _) = lb(&c, &cloud, "b").await;
    let ext = cloud.fixture().external_network_id.clone();
    let r = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext}}),
        )
        .await;
    let id = r.body["floatingip"]["id"].as_str().unwrap().to_owned();
    let rev = r.body["floatingip"]["revision_number"].as_u64().unwrap();
    let path = Client::neutron(&format!("/floatingips/{id}"));
    let if_match = |n: u64| format!("revision_number={n}");
    // Two claims read revision `rev`; the first binds, the second is refused.
    let first = c
        .try_send_with(
            reqwest::Method::PUT,
            &path,
            Some(json!({"floatingip": {"port_id": port_a}})),
            &[("If-Match", &if_match(rev))],
        )
        .await
        .unwrap();
    assert_eq!(first.status, StatusCode::OK, "{}", first.raw);
    let second = c
        .try_send_with(
            reqwest::Method::PUT,
            &path,
            Some(json!({"floatingip": {"port_id": port_b}})),
            &[("If-Match", &if_match(rev))],
        )
        .await
        .unwrap();
    assert_eq!(
        second.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        second.raw
    );
    assert_eq!(
        second.neutron_error(),
        (
            "RevisionNumberConstraintFailed",
            format!("Constrained to {rev}, but current revision is {}", rev + 1).as_str()
        )
    );
    let now = c.get(&path).await;
    assert_eq!(now.body["floatingip"]["port_id"], port_a.as_str());
    let bad = c
        .try_send_with(
            reqwest::Method::PUT,
            &path,
            Some(json!({"floatingip": {"port_id": null}})),
            &[("If-Match", "revision_number=x")],
        )
        .await
        .unwrap();
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(start_paused = true)]
async fn floating_ips_filter_by_port_address_network_and_tags() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let (_, port, _) = lb(&c, &cloud, "lb").await;
    let ext = cloud.fixture().external_network_id.clone();
    let bound = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext, "port_id": port}}),
        )
        .await;
    let bound_id = bound.body["floatingip"]["id"].as_str().unwrap().to_owned();
    let addr = bound.body["floatingip"]["floating_ip_address"]
        .as_str()
        .unwrap()
        .to_owned();
    let spare = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext}}),
        )
        .await;
    let spare_id = spare.body["floatingip"]["id"].as_str().unwrap().to_owned();
    // Tags set with the tags extension after creation.
    let tags = c
        .put(
            &Client::neutron(&format!("/floatingips/{bound_id}/tags")),
            json!({"tags": ["kks-lb-cluster:c1", "b"]}),
        )
        .await;
    assert_eq!(tags.body, json!({"tags": ["kks-lb-cluster:c1", "b"]}));
    assert_eq!(
        c.send(
            reqwest::Method::PUT,
            &Client::neutron(&format!("/floatingips/{spare_id}/tags/solo")),
            None
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let ids = |path: &str| {
        let c = &c;
        let path = Client::neutron(path);
        async move {
            c.get(&path).await.body["floatingips"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(&format!("/floatingips?port_id={port}")).await,
        vec![bound_id.clone()]
    );
    assert_eq!(
        ids(&format!("/floatingips?floating_ip_address={addr}")).await,
        vec![bound_id.clone()]
    );
    assert_eq!(
        ids(&format!("/floatingips?floating_network_id={ext}"))
            .await
            .len(),
        2
    );
    assert_eq!(
        ids("/floatingips?tags=kks-lb-cluster:c1").await,
        vec![bound_id.clone()]
    );
    assert_eq!(ids("/floatingips?tags-any=solo,b").await.len(), 2);
    assert_eq!(ids("/floatingips?not-tags=b").await, vec![spare_id.clone()]);
    let removed = c
        .delete(&Client::neutron(&format!(
            "/floatingips/{spare_id}/tags/solo"
        )))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let missing = c
        .delete(&Client::neutron(&format!(
            "/floatingips/{spare_id}/tags/solo"
        )))
        .await;
    assert_eq!(missing.neutron_error().0, "TagNotFound");
}

#[tokio::test(start_paused = true)]
async fn floating_ips_keep_their_description_and_filter_on_it_with_tags() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let ext = cloud.fixture().external_network_id.clone();
    let mut ids = Vec::new();
    for desc in ["kks-lb svc a/b", "kks-lb svc c/d", ""] {
        let r = c
            .post(
                &Client::neutron("/floatingips"),
                json!({"floatingip": {"floating_network_id": ext, "description": desc}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        assert_eq!(r.body["floatingip"]["description"], desc);
        ids.push(r.body["floatingip"]["id"].as_str().unwrap().to_owned());
    }
    let got = c
        .get(&Client::neutron(&format!("/floatingips/{}", ids[0])))
        .await;
    assert_eq!(got.body["floatingip"]["description"], "kks-lb svc a/b");
    c.put(
        &Client::neutron(&format!("/floatingips/{}/tags", ids[1])),
        json!({"tags": ["kks-lb-cluster:c1"]}),
    )
    .await;
    let listed = |query: &str| {
        let c = &c;
        let path = Client::neutron(&format!("/floatingips?{query}"));
        async move {
            c.get(&path).await.body["floatingips"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed("description=kks-lb%20svc%20a%2Fb").await,
        vec![ids[0].clone()],
        "exact match on the decoded description"
    );
    assert_eq!(listed("description=kks-lb+svc").await, Vec::<String>::new());
    assert_eq!(
        listed("description=kks-lb%20svc%20a%2Fb&description=kks-lb%20svc%20c%2Fd")
            .await
            .len(),
        2,
        "repeated keys are alternatives"
    );
    assert_eq!(
        listed("description=kks-lb%20svc%20c%2Fd&tags=kks-lb-cluster:c1").await,
        vec![ids[1].clone()]
    );
    assert_eq!(
        listed("description=kks-lb%20svc%20a%2Fb&tags-any=kks-lb-cluster:c1").await,
        Vec::<String>::new()
    );
    assert_eq!(listed("description=").await, vec![ids[2].clone()]);
}

#[tokio::test(start_paused = true)]
async fn a_specific_floating_address_in_use_and_a_port_already_bound_are_409s() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let (_, port, vip) = lb(&c, &cloud, "lb").await;
    let ext = cloud.fixture().external_network_id.clone();
    let first = c
        .post(&Client::neutron("/floatingips"), json!({"floatingip": {"floating_network_id": ext, "floating_ip_address": "203.0.113.50", "port_id": port}}))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(
        first.body["floatingip"]["floating_ip_address"],
        "203.0.113.50"
    );
    let same_addr = c
        .post(&Client::neutron("/floatingips"), json!({"floatingip": {"floating_network_id": ext, "floating_ip_address": "203.0.113.50"}}))
        .await;
    assert_eq!(same_addr.status, StatusCode::CONFLICT);
    assert_eq!(
        same_addr.neutron_error(),
        ("IpAddressInUse", format!("Unable to complete operation for network {ext}. The IP address 203.0.113.50 is in use.").as_str())
    );
    let same_port = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext, "port_id": port}}),
        )
        .await;
    assert_eq!(same_port.status, StatusCode::CONFLICT);
    let (kind, msg) = same_port.neutron_error();
    assert_eq!(kind, "FloatingIPPortAlreadyAssociated");
    assert!(msg.contains(&format!("using fixed IP {vip}")), "{msg}");
    let internal = cloud.fixture().cluster_network_id.clone();
    let not_external = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": internal}}),
        )
        .await;
    assert_eq!(not_external.status, StatusCode::BAD_REQUEST);
    let unknown_port = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext, "port_id": "nope"}}),
        )
        .await;
    assert_eq!(
        unknown_port.neutron_error(),
        ("PortNotFound", "Port nope could not be found.")
    );
}

#[tokio::test(start_paused = true)]
async fn each_vip_takes_a_subnet_address_until_the_subnet_is_exhausted() {
    // A /29: gateway .1, pool .2-.6, five addresses.
    let (cloud, c) = setup("10.9.0.0/29").await;
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    let network = cloud.fixture().cluster_network_id.clone();
    let mut vips = Vec::new();
    for i in 0..5 {
        vips.push(lb(&c, &cloud, &format!("lb{i}")).await.2);
    }
    assert_eq!(
        vips,
        vec!["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]
    );
    assert_eq!(cloud.snapshot().subnet(&subnet).unwrap().used, 5);
    let full = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("one-too-many", &subnet),
        )
        .await;
    assert_eq!(full.status, StatusCode::CONFLICT);
    assert_eq!(
        full.fault(),
        format!(
            "The VIP IP address is already in use: No more IP addresses available on network \
             {network}."
        ),
        "Octavia 19's VIPAddressConflict wrapping Neutron's message"
    );
    assert_eq!(
        cloud.snapshot().loadbalancers.len(),
        5,
        "the refused create left no load balancer"
    );
    let port = c
        .post(
            &Client::neutron("/ports"),
            json!({"port": {"network_id": network}}),
        )
        .await;
    assert_eq!(port.status, StatusCode::CONFLICT);
    assert_eq!(
        port.neutron_error(),
        (
            "IpAddressGenerationFailure",
            format!("No more IP addresses available on network {network}.").as_str()
        )
    );
    assert_eq!(port.body["NeutronError"]["detail"], "");

    // Deleting an LB gives its address back.
    let first =
        c.get(&Client::lbaas("/loadbalancers?name=lb0")).await.body["loadbalancers"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(
        c.delete(&Client::lbaas(&format!("/loadbalancers/{first}")))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let again = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("again", &subnet),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.raw);
    assert_eq!(again.body["loadbalancer"]["vip_address"], "10.9.0.2");
}

#[tokio::test(start_paused = true)]
async fn network_ip_availability_counts_the_pool_and_every_allocation_for_an_admin() {
    let (cloud, c) = noauth_setup("10.9.0.0/29").await;
    let (network, subnet) = (
        cloud.fixture().cluster_network_id.clone(),
        cloud.fixture().cluster_subnet_id.clone(),
    );
    for _ in 0..2 {
        let p = c
            .post(
                &Client::neutron("/ports"),
                json!({"port": {"network_id": network, "project_id": cloud.fixture().project_id}}),
            )
            .await;
        assert_eq!(p.status, StatusCode::CREATED, "{}", p.raw);
    }
    let r = c
        .get(&Client::neutron(&format!(
            "/network-ip-availabilities/{network}"
        )))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let a = &r.body["network_ip_availability"];
    assert_eq!(
        (a["used_ips"].as_u64(), a["total_ips"].as_u64()),
        (Some(2), Some(5))
    );
    let s = &a["subnet_ip_availability"][0];
    assert_eq!(s["subnet_id"], subnet.as_str());
    assert_eq!(s["cidr"], "10.9.0.0/29");
    assert_eq!(s["ip_availability_details"]["total_ips_in_subnet"], 6);
    let list = c
        .get(&Client::neutron(&format!(
            "/network-ip-availabilities?network_id={network}"
        )))
        .await;
    assert_eq!(
        list.body["network_ip_availabilities"][0]["used_ips"], 2,
        "{}",
        list.raw
    );
}

#[tokio::test(start_paused = true)]
async fn network_ip_availability_is_hidden_from_a_project_member() {
    let (cloud, c) = setup("10.9.0.0/29").await;
    let network = cloud.fixture().cluster_network_id.clone();
    let r = c
        .get(&Client::neutron(&format!(
            "/network-ip-availabilities/{network}"
        )))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.body,
        json!({"type": "HTTPNotFound", "message": "The resource could not be found.", "detail": ""})
    );
    let list = c.get(&Client::neutron("/network-ip-availabilities")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body, json!({"network_ip_availabilities": []}));

    let admin = cloud_with(|c| c.admin_role = true).await;
    let c = Client::login(&admin).await;
    let network = admin.fixture().cluster_network_id.clone();
    let r = c
        .get(&Client::neutron(&format!(
            "/network-ip-availabilities/{network}"
        )))
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "an admin token reads it: {}",
        r.raw
    );
}

#[tokio::test(start_paused = true)]
async fn a_created_slash_29_fills_up_refuses_deletion_while_used_and_goes_away_empty() {
    let (cloud, c) = noauth_setup("10.0.0.0/24").await;
    let project = cloud.fixture().project_id.clone();
    let net = c
        .post(
            &Client::neutron("/networks"),
            json!({"network": {"name": "tiny", "project_id": project}}),
        )
        .await;
    assert_eq!(net.status, StatusCode::CREATED, "{}", net.raw);
    let net_id = net.body["network"]["id"].as_str().unwrap().to_owned();
    let sub = c
        .post(
            &Client::neutron("/subnets"),
            json!({"subnet": {"name": "tiny", "project_id": project, "network_id": net_id,
                              "cidr": "10.99.0.0/29", "ip_version": 4}}),
        )
        .await;
    assert_eq!(sub.status, StatusCode::CREATED, "{}", sub.raw);
    assert_eq!(
        sub.body["subnet"]["allocation_pools"],
        json!([{"start": "10.99.0.2", "end": "10.99.0.6"}])
    );
    let sub_id = sub.body["subnet"]["id"].as_str().unwrap().to_owned();
    let mut ports = Vec::new();
    for _ in 0..5 {
        let p = c
            .post(
                &Client::neutron("/ports"),
                json!({"port": {"network_id": net_id, "project_id": project}}),
            )
            .await;
        assert_eq!(p.status, StatusCode::CREATED);
        ports.push(p.body["port"]["id"].as_str().unwrap().to_owned());
    }
    let full = c
        .post(
            &Client::neutron("/ports"),
            json!({"port": {"network_id": net_id, "project_id": project}}),
        )
        .await;
    assert_eq!(full.neutron_error().0, "IpAddressGenerationFailure");
    let busy = c
        .delete(&Client::neutron(&format!("/subnets/{sub_id}")))
        .await;
    assert_eq!(busy.neutron_error().0, "SubnetInUse");
    for p in &ports {
        c.delete(&Client::neutron(&format!("/ports/{p}"))).await;
    }
    let gone = c
        .delete(&Client::neutron(&format!("/subnets/{sub_id}")))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let gone = c
        .delete(&Client::neutron(&format!("/networks/{net_id}")))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        c.get(&Client::neutron(&format!("/networks/{net_id}")))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(start_paused = true)]
async fn deleting_the_lb_disassociates_its_floating_ip() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let (lb_id, port, _) = lb(&c, &cloud, "lb").await;
    let ext = cloud.fixture().external_network_id.clone();
    let fip = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext, "port_id": port}}),
        )
        .await;
    let fip_id = fip.body["floatingip"]["id"].as_str().unwrap().to_owned();
    c.delete(&Client::lbaas(&format!("/loadbalancers/{lb_id}")))
        .await;
    let after = c
        .get(&Client::neutron(&format!("/floatingips/{fip_id}")))
        .await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "the floating IP outlives the port"
    );
    assert!(after.body["floatingip"]["port_id"].is_null());
    assert_eq!(
        c.get(&Client::neutron(&format!("/ports/{port}")))
            .await
            .neutron_error()
            .0,
        "PortNotFound"
    );
}

#[tokio::test(start_paused = true)]
async fn networks_and_subnets_of_the_fixture_are_listed() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let ext = c
        .get(&Client::neutron("/networks?router:external=true"))
        .await;
    let nets = ext.body["networks"].as_array().unwrap();
    assert_eq!(nets.len(), 1);
    assert_eq!(nets[0]["id"], cloud.fixture().external_network_id.as_str());
    let sub = c
        .get(&Client::neutron(&format!(
            "/subnets/{}",
            cloud.fixture().cluster_subnet_id
        )))
        .await;
    assert_eq!(sub.body["subnet"]["cidr"], "10.0.0.0/24");
    assert_eq!(sub.body["subnet"]["gateway_ip"], "10.0.0.1");
    assert_eq!(
        sub.body["subnet"]["allocation_pools"],
        json!([{"start": "10.0.0.2", "end": "10.0.0.254"}])
    );
}

#[tokio::test(start_paused = true)]
async fn a_floating_ip_post_with_tags_is_refused_and_creates_nothing() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let ext = cloud.fixture().external_network_id.clone();
    for tags in [json!(["kks-lb-cluster:c1"]), json!([]), json!(null)] {
        let r = c
            .post(
                &Client::neutron("/floatingips"),
                json!({"floatingip": {"floating_network_id": ext, "tags": tags}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.raw);
        assert_eq!(
            r.body,
            json!({"NeutronError": {"type": "HTTPBadRequest",
                "message": "Attribute 'tags' not allowed in POST", "detail": ""}})
        );
    }
    // Checked before the project, as on Neutron 29 without Keystone.
    let noauth = cloud_with(|c| c.auth = AuthMode::NoAuth).await;
    let anonymous = Client::anonymous(&noauth);
    let r = anonymous
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": noauth.fixture().external_network_id,
                "tags": ["a"]}}),
        )
        .await;
    assert_eq!(
        r.neutron_error(),
        ("HTTPBadRequest", "Attribute 'tags' not allowed in POST")
    );
    assert!(cloud.snapshot().floating_ips.is_empty());
    assert!(noauth.snapshot().floating_ips.is_empty());
}

#[tokio::test(start_paused = true)]
async fn floating_ip_tags_are_set_with_the_tags_api_and_read_back_sorted() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let ext = cloud.fixture().external_network_id.clone();
    let r = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext}}),
        )
        .await;
    let id = r.body["floatingip"]["id"].as_str().unwrap().to_owned();
    let tags_path = Client::neutron(&format!("/floatingips/{id}/tags"));
    let fip_path = Client::neutron(&format!("/floatingips/{id}"));

    // The PUT echoes the body's order; every read is sorted.
    let put = c
        .put(&tags_path, json!({"tags": ["zeta", "alpha", "mid"]}))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.raw);
    assert_eq!(put.body, json!({"tags": ["zeta", "alpha", "mid"]}));
    assert_eq!(
        c.get(&tags_path).await.body,
        json!({"tags": ["alpha", "mid", "zeta"]})
    );
    let one = c
        .send(
            reqwest::Method::PUT,
            &Client::neutron(&format!("/floatingips/{id}/tags/beta")),
            None,
        )
        .await;
    assert_eq!(one.status, StatusCode::CREATED);
    assert!(one.raw.is_empty(), "{}", one.raw);
    let again = c
        .send(
            reqwest::Method::PUT,
            &Client::neutron(&format!("/floatingips/{id}/tags/beta")),
            None,
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::CREATED,
        "adding a present tag is fine"
    );
    let fip = c.get(&fip_path).await;
    assert_eq!(
        fip.body["floatingip"]["tags"],
        json!(["alpha", "beta", "mid", "zeta"])
    );
    let listed = c.get(&Client::neutron("/floatingips?tags=beta")).await;
    assert_eq!(
        listed.body["floatingips"][0]["tags"],
        json!(["alpha", "beta", "mid", "zeta"])
    );
    assert_eq!(
        c.get(&Client::neutron(&format!("/floatingips/{id}/tags/beta")))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let removed = c
        .delete(&Client::neutron(&format!("/floatingips/{id}/tags/beta")))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        c.get(&tags_path).await.body,
        json!({"tags": ["alpha", "mid", "zeta"]})
    );
    assert_eq!(c.delete(&tags_path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(c.get(&tags_path).await.body, json!({"tags": []}));

    assert_eq!(
        cloud.call_count_with_status("PUT", "/v2.0/floatingips/{id}/tags", 200),
        1
    );
    assert_eq!(
        cloud.call_count_with_status("PUT", "/v2.0/floatingips/{id}/tags/{tag}", 201),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn bad_tag_bodies_and_tags_in_a_floating_ip_put_are_400s() {
    let (cloud, c) = setup("10.0.0.0/24").await;
    let ext = cloud.fixture().external_network_id.clone();
    let r = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext}}),
        )
        .await;
    let id = r.body["floatingip"]["id"].as_str().unwrap().to_owned();
    let tags_path = Client::neutron(&format!("/floatingips/{id}/tags"));
    for (body, message) in [
        (
            json!({"tags": ["b", "a", "b"]}),
            "Invalid input for operation: Duplicate items in the list: 'b'.",
        ),
        (
            json!({"tags": "x"}),
            "Invalid input for operation: 'x' is not a list.",
        ),
        (
            json!({"tags": [5]}),
            "Invalid input for operation: '5' is not a valid string.",
        ),
        (json!({}), "Invalid input for operation: Invalid tags body."),
    ] {
        let r = c.put(&tags_path, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.raw);
        assert_eq!(r.neutron_error(), ("InvalidInput", message));
    }
    assert_eq!(c.get(&tags_path).await.body, json!({"tags": []}));
    let r = c
        .put(
            &Client::neutron(&format!("/floatingips/{id}")),
            json!({"floatingip": {"tags": ["q"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.neutron_error(),
        ("HTTPBadRequest", "Cannot update read-only attribute tags")
    );
}
