//! The operations endpoint over real HTTP on a free port.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kks_lb_controller::http::{Health, OPENMETRICS_CONTENT_TYPE, bind};
use kks_lb_controller::metrics::Metrics;
use prometheus_client::registry::Registry;
use reqwest::StatusCode;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Server {
    addr: SocketAddr,
    health: Health,
    metrics: Metrics,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    client: reqwest::Client,
}

impl Server {
    async fn start() -> Self {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        let health = Health::default();
        let shutdown = CancellationToken::new();
        let (addr, server) = bind(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Arc::new(registry),
            health.clone(),
            shutdown.clone(),
        )
        .await
        .unwrap();
        assert_ne!(addr.port(), 0);
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        Server {
            addr,
            health,
            metrics,
            shutdown,
            task: tokio::spawn(server),
            client,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, Option<String>, String) {
        let response = self
            .client
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        (status, content_type, response.text().await.unwrap())
    }
}

#[tokio::test]
async fn healthz_answers_ok_while_the_process_runs() {
    let server = Server::start().await;
    let (status, _, body) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok\n");
}

#[tokio::test]
async fn readyz_is_unavailable_until_ready_and_reports_leadership() {
    let server = Server::start().await;

    let (status, _, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "not ready\nleader: false\n");

    server.health.set_ready(true);
    let (status, _, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "a follower is ready too");
    assert_eq!(body, "ok\nleader: false\n");

    server.health.set_leader(true);
    let (status, _, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok\nleader: true\n");

    server.health.set_ready(false);
    let (status, _, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "not ready\nleader: true\n");
}

#[tokio::test]
async fn metrics_are_served_as_openmetrics_text() {
    let server = Server::start().await;
    drop(server.metrics.reconcile_timer());
    server.metrics.reconcile_error("OpenStackApi");
    server.metrics.set_load_balancers("ACTIVE", 2);

    let (status, content_type, body) = server.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some(OPENMETRICS_CONTENT_TYPE));
    assert_eq!(
        OPENMETRICS_CONTENT_TYPE,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let lines: Vec<&str> = body.lines().collect();
    assert!(lines.contains(&"kks_lb_reconciles_total 1"), "{body}");
    assert!(
        lines.contains(&"kks_lb_reconcile_errors_total{reason=\"OpenStackApi\"} 1"),
        "{body}"
    );
    assert!(
        lines.contains(&"kks_lb_load_balancers{status=\"ACTIVE\"} 2"),
        "{body}"
    );
    assert_eq!(lines.last(), Some(&"# EOF"));
}

#[tokio::test]
async fn unknown_paths_are_not_found() {
    let server = Server::start().await;
    for path in ["/", "/metric", "/healthz/extra", "/api/v1/metrics"] {
        let (status, _, body) = server.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, "not found\n");
    }
}

#[tokio::test]
async fn server_stops_when_shutdown_is_cancelled() {
    let server = Server::start().await;
    let (status, _, _) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);

    server.shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(30), server.task)
        .await
        .expect("server stopped")
        .unwrap();
    assert!(stopped.is_ok(), "{stopped:?}");
    let refused = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{}/healthz", server.addr))
        .send()
        .await;
    assert!(refused.is_err(), "still answering after shutdown");
}
