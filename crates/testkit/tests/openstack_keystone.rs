//! Keystone emulation: tokens, catalog, expiry and re-authentication, noauth mode.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "openstack_support/mod.rs"]
mod support;

use std::time::Duration;

use kks_lb_octavia_model::api::keystone::TokenResponse;
use kks_lb_testkit::openstack::AuthMode;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Client, advance, cloud_with, simple_lb_body};

#[tokio::test(start_paused = true)]
async fn password_token_carries_a_catalog_pointing_at_the_emulator() {
    let cloud = cloud_with(|_| {}).await;
    let c = Client::anonymous(&cloud);
    let fx = cloud.fixture();
    let r = c
        .post(
            "/v3/auth/tokens",
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": fx.user_name, "domain": {"name": "Default"}, "password": fx.password}}}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.headers.contains_key("x-subject-token"));
    let token: TokenResponse = serde_json::from_value(r.body).unwrap();
    assert_eq!(token.token.methods, vec!["password"]);
    assert_eq!(
        token.token.project.as_ref().unwrap().id,
        fx.project_id,
        "default project scope"
    );
    assert_eq!(
        token.token.endpoint("load-balancer", "public"),
        Some(cloud.octavia_url())
    );
    assert_eq!(
        token.token.endpoint("network", "internal"),
        Some(cloud.neutron_url())
    );
    assert!(token.token.expires_at.ends_with('Z'));
}

#[tokio::test(start_paused = true)]
async fn application_credential_authenticates_and_bad_secrets_get_401() {
    let cloud = cloud_with(|_| {}).await;
    let c = Client::anonymous(&cloud);
    let fx = cloud.fixture();
    let body = |secret: &str| {
        json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": fx.application_credential_id, "secret": secret}}}})
    };
    let ok = c
        .post("/v3/auth/tokens", body(&fx.application_credential_secret))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    assert_eq!(
        ok.body["token"]["application_credential"]["id"],
        fx.application_credential_id.as_str()
    );
    let bad = c.post("/v3/auth/tokens", body("wrong")).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad.body["error"]["message"],
        "The request you have made requires authentication."
    );
    let wrong_password = c
        .post(
            "/v3/auth/tokens",
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": fx.user_name, "domain": {"name": "Default"}, "password": "nope"}}}}}),
        )
        .await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(start_paused = true)]
async fn discovery_documents_are_served_without_a_token() {
    let cloud = cloud_with(|_| {}).await;
    let c = Client::anonymous(&cloud);
    let root = c.get("/").await;
    assert_eq!(root.status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(root.body["versions"]["values"][0]["id"], "v3.14");
    assert_eq!(c.get("/v3").await.body["version"]["status"], "stable");
    let octavia = c.get("/load-balancer/").await;
    assert_eq!(octavia.status, StatusCode::OK);
    let neutron = c.get("/network/").await;
    assert_eq!(neutron.body["versions"][0]["id"], "v2.0");
}

#[tokio::test(start_paused = true)]
async fn calls_without_or_with_an_unknown_token_get_keystonemiddleware_401() {
    let cloud = cloud_with(|_| {}).await;
    let mut c = Client::anonymous(&cloud);
    let r = c.get(&Client::lbaas("/loadbalancers")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"]["code"], 401);
    let www = r.headers["www-authenticate"].to_str().unwrap();
    assert_eq!(www, format!("Keystone uri=\"{}\"", cloud.auth_url()));
    c.token = Some("gAAAAAforged".into());
    assert_eq!(
        c.get(&Client::neutron("/floatingips")).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(start_paused = true)]
async fn expired_tokens_get_401_and_reauthentication_works() {
    let cloud = cloud_with(|c| c.token_ttl = Duration::from_secs(60)).await;
    let mut c = Client::login(&cloud).await;
    let path = Client::lbaas("/loadbalancers");
    assert_eq!(c.get(&path).await.status, StatusCode::OK);
    advance(59_000).await;
    assert_eq!(
        c.get(&path).await.status,
        StatusCode::OK,
        "still valid one second before expiry"
    );
    advance(1_000).await;
    assert_eq!(c.get(&path).await.status, StatusCode::UNAUTHORIZED);
    c.token = Some(c.password_token(&cloud).await);
    assert_eq!(c.get(&path).await.status, StatusCode::OK);
    assert_eq!(
        cloud.call_count_with_status("GET", "/v2/lbaas/loadbalancers", 401),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn revoked_tokens_are_refused_and_validation_endpoint_agrees() {
    let cloud = cloud_with(|_| {}).await;
    let c = Client::login(&cloud).await;
    let token = c.token.clone().unwrap();
    let check = c
        .http
        .get(format!("{}/v3/auth/tokens", cloud.url()))
        .header("X-Auth-Token", &token)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(check.status(), StatusCode::OK);
    cloud.revoke_tokens();
    assert_eq!(
        c.get(&Client::lbaas("/loadbalancers")).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(start_paused = true)]
async fn noauth_mode_takes_the_project_from_x_project_id_and_requires_one_for_creates() {
    let cloud = cloud_with(|c| c.auth = AuthMode::NoAuth).await;
    let subnet = cloud.fixture().cluster_subnet_id.clone();
    let anonymous = Client::anonymous(&cloud);
    let r = anonymous
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", &subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.fault(),
        "Validation failure: Missing project ID in request where one is required. An \
         administrator should check the keystone settings in the Octavia configuration."
    );

    let c = Client::noauth(&cloud, "p1");
    let r = c
        .post(
            &Client::lbaas("/loadbalancers"),
            simple_lb_body("lb", &subnet),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["loadbalancer"]["project_id"], "p1");
    assert_eq!(r.body["loadbalancer"]["tenant_id"], "p1");

    // Neutron without Keystone ignores the header on POST (real-octavia README quirk 9).
    let ext = cloud.fixture().external_network_id.clone();
    let fip = c
        .send(
            Method::POST,
            &Client::neutron("/floatingips"),
            Some(json!({"floatingip": {"floating_network_id": ext}})),
        )
        .await;
    assert_eq!(fip.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        fip.neutron_error(),
        (
            "HTTPBadRequest",
            "Running without keystone AuthN requires that project_id is specified"
        )
    );
    let fip = c
        .post(
            &Client::neutron("/floatingips"),
            json!({"floatingip": {"floating_network_id": ext, "project_id": "p1"}}),
        )
        .await;
    assert_eq!(fip.status, StatusCode::CREATED);
}
