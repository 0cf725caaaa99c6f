//! Helpers shared by the `openstack_*` integration tests: a tiny JSON client for the emulator.
//!
//! The reqwest client keeps no idle connections, so it arms no pool timers: under
//! `tokio::time::pause` the clock then only moves when a test advances it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use kks_lb_testkit::openstack::{EmulatorConfig, OpenStackEmulator};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A JSON response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub raw: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// `faultstring` of an Octavia error.
    pub fn fault(&self) -> &str {
        self.body["faultstring"]
            .as_str()
            .unwrap_or_else(|| panic!("not a fault: {}", self.raw))
    }

    /// `NeutronError.type` and `.message`.
    pub fn neutron_error(&self) -> (&str, &str) {
        let e = &self.body["NeutronError"];
        (e["type"].as_str().unwrap(), e["message"].as_str().unwrap())
    }
}

/// A client for one emulator, optionally with a token.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
    pub project: Option<String>,
}

impl Client {
    /// A client without credentials.
    pub fn anonymous(cloud: &OpenStackEmulator) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        Client {
            http,
            base: cloud.url().to_owned(),
            token: None,
            project: None,
        }
    }

    /// A client with a password token of the fixture user.
    pub async fn login(cloud: &OpenStackEmulator) -> Self {
        let mut c = Client::anonymous(cloud);
        c.token = Some(c.password_token(cloud).await);
        c
    }

    /// A noauth client acting for `project` via `X-Project-Id`.
    pub fn noauth(cloud: &OpenStackEmulator, project: &str) -> Self {
        let mut c = Client::anonymous(cloud);
        c.project = Some(project.to_owned());
        c
    }

    /// Issues a password token and returns it.
    pub async fn password_token(&self, cloud: &OpenStackEmulator) -> String {
        let fx = cloud.fixture();
        let r = self
            .send(
                Method::POST,
                "/v3/auth/tokens",
                Some(json!({"auth": {
                    "identity": {"methods": ["password"], "password": {"user": {
                        "name": fx.user_name, "domain": {"name": fx.domain_name}, "password": fx.password}}},
                    "scope": {"project": {"name": fx.project_name, "domain": {"name": fx.domain_name}}}
                }})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        r.headers["x-subject-token"].to_str().unwrap().to_owned()
    }

    /// Any request; `path` is relative to the server root.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.try_send(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Any request, transport errors returned.
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Reply, reqwest::Error> {
        self.try_send_with(method, path, body, &[]).await
    }

    /// Any request with extra headers, transport errors returned.
    pub async fn try_send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, reqwest::Error> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(t) = &self.token {
            req = req.header("X-Auth-Token", t);
        }
        if let Some(p) = &self.project {
            req = req.header("X-Project-Id", p);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let raw = resp.text().await?;
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap_or(Value::Null)
        };
        Ok(Reply {
            status,
            body,
            raw,
            headers,
        })
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Octavia resource path.
    pub fn lbaas(path: &str) -> String {
        format!("/load-balancer/v2/lbaas{path}")
    }

    /// Neutron resource path.
    pub fn neutron(path: &str) -> String {
        format!("/network/v2.0{path}")
    }
}

/// An emulator with the given tweaks on top of the defaults.
pub async fn cloud_with(f: impl FnOnce(&mut EmulatorConfig)) -> OpenStackEmulator {
    let mut cfg = EmulatorConfig::default();
    f(&mut cfg);
    OpenStackEmulator::start(cfg).await.unwrap()
}

/// A fully-populated LB body: listeners TCP/80 (pool with HTTP-less TCP monitor and two
/// members) and UDP/53 (pool without monitor), tagged.
pub fn full_lb_body(name: &str, subnet: &str) -> Value {
    json!({"loadbalancer": {
    "name": name, "description": "fully populated", "vip_subnet_id": subnet,
    "tags": ["kks-lb-cluster:c1", "kks-lb-service:s1"],
    "listeners": [
        {"name": "listener_TCP_80", "protocol": "TCP", "protocol_port": 80,
         "allowed_cidrs": ["10.0.0.0/8"],
         "default_pool": {"name": "pool_TCP_80", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN",
             "healthmonitor": {"type": "TCP", "delay": 10, "timeout": 5, "max_retries": 3},
             "members": [
                 {"address": "192.0.2.10", "protocol_port": 30080, "name": "node-a"},
                 {"address": "192.0.2.11", "protocol_port": 30080, "name": "node-b", "weight": 2}]}},
        {"name": "listener_UDP_53", "protocol": "UDP", "protocol_port": 53,
         "default_pool": {"name": "pool_UDP_53", "protocol": "UDP", "lb_algorithm": "SOURCE_IP_PORT",
             "members": [{"address": "192.0.2.10", "protocol_port": 30053}]}}
    ]}})
}

/// A load balancer body without children.
pub fn simple_lb_body(name: &str, subnet: &str) -> Value {
    json!({"loadbalancer": {"name": name, "vip_subnet_id": subnet}})
}

/// Advances tokio time (the test runs with a paused clock).
pub async fn advance(ms: u64) {
    tokio::time::advance(Duration::from_millis(ms)).await;
}
