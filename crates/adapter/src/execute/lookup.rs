//! Creates whose outcome is unknown: after a 5xx, a timeout or a dropped connection the
//! object may exist, so it is looked up (by name, parent or port, and owner) before the
//! `POST` is sent again.

use kks_lb_octavia_model::ListenerKey;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Run, str_at};
use crate::client::Reply;
use crate::error::{Error, Result, Service};

/// How to find what a create with an unknown outcome may have made.
pub(super) enum Find<'a> {
    /// A load balancer of this name carrying these (ownership) tags.
    Loadbalancer { name: &'a str, tags: &'a [String] },
    /// The listener on this (protocol, port) of the load balancer.
    Listener { lb: &'a str, key: ListenerKey },
    /// The pool of this name on the load balancer.
    Pool { lb: &'a str, name: &'a str },
    /// The monitor of this pool.
    Monitor { pool: &'a str },
    /// The floating IP bound to this port with this description (the owner marker).
    Floatingip { port: &'a str, description: &'a str },
}

impl Find<'_> {
    /// The root key of the object in an OpenStack answer.
    pub(super) fn root(&self) -> &'static str {
        match self {
            Find::Loadbalancer { .. } => "loadbalancer",
            Find::Listener { .. } => "listener",
            Find::Pool { .. } => "pool",
            Find::Monitor { .. } => "healthmonitor",
            Find::Floatingip { .. } => "floatingip",
        }
    }
}

impl Run<'_> {
    /// `POST` of a create whose outcome may be unknown: after a 5xx, a timeout or a dropped
    /// connection the object may exist, so before sending the `POST` again the executor looks
    /// it up by `find` (its name, parent or port, and owner) and takes it if it is there.
    pub(super) async fn create(
        &self,
        service: Service,
        path: &[&str],
        body: &Value,
        find: Find<'_>,
    ) -> Result<Reply> {
        let lb = self.lb_id();
        let mut attempt = 0;
        loop {
            let err = match self
                .ex
                .call(
                    service,
                    Method::POST,
                    path,
                    &[],
                    Some(body),
                    false,
                    lb.as_deref(),
                )
                .await
            {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            let unknown = match &err {
                // A provider's 500 saying the subnet is full is an answer: nothing was made.
                Error::Api { status, .. } => *status >= 500 && !err.is_subnet_exhausted(),
                Error::Transport { .. } | Error::Timeout { .. } => true,
                _ => false,
            };
            if !unknown || attempt + 1 >= self.ex.cfg.max_attempts {
                return Err(err);
            }
            tracing::debug!(
                error = &err as &dyn std::error::Error,
                attempt,
                "create outcome unknown; looking it up"
            );
            tokio::time::sleep(self.ex.cfg.backoff.delay(attempt)).await;
            if let Some(found) = self.find(&find).await? {
                tracing::info!(what = find.root(), "found what an unanswered create made");
                return Ok(Reply {
                    status: 201,
                    body: json!({ find.root(): found }),
                    request_id: None,
                });
            }
            attempt += 1;
        }
    }

    /// Looks up what a create may have made: one read.
    async fn find(&self, find: &Find<'_>) -> Result<Option<Value>> {
        let list = |service, path: &'static [&'static str], query: Vec<(&'static str, String)>| async move {
            let r = self
                .ex
                .call(service, Method::GET, path, &query, None, true, None)
                .await?;
            Ok::<_, Error>(r)
        };
        let items = |r: &Reply, key: &str| -> Vec<Value> {
            r.body
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        Ok(match find {
            Find::Loadbalancer { name, tags } => {
                let r = list(
                    Service::Octavia,
                    &["lbaas", "loadbalancers"],
                    vec![("name", (*name).to_owned())],
                )
                .await?;
                items(&r, "loadbalancers").into_iter().find(|lb| {
                    str_at(lb, "/name") == Some(name)
                        && str_at(lb, "/provisioning_status") != Some("DELETED")
                        && tags.iter().all(|t| {
                            lb.get("tags")
                                .and_then(Value::as_array)
                                .is_some_and(|have| have.iter().any(|h| h.as_str() == Some(t)))
                        })
                })
            }
            Find::Listener { lb, key } => {
                let r = list(
                    Service::Octavia,
                    &["lbaas", "listeners"],
                    vec![("loadbalancer_id", (*lb).to_owned())],
                )
                .await?;
                items(&r, "listeners").into_iter().find(|l| {
                    str_at(l, "/protocol") == Some(key.protocol.as_str())
                        && l.get("protocol_port").and_then(Value::as_u64)
                            == Some(u64::from(key.protocol_port))
                })
            }
            Find::Pool { lb, name } => {
                let r = list(
                    Service::Octavia,
                    &["lbaas", "pools"],
                    vec![("loadbalancer_id", (*lb).to_owned())],
                )
                .await?;
                items(&r, "pools")
                    .into_iter()
                    .find(|p| str_at(p, "/name") == Some(name))
            }
            Find::Monitor { pool } => {
                let r = self
                    .ex
                    .call(
                        Service::Octavia,
                        Method::GET,
                        &["lbaas", "pools", pool],
                        &[],
                        None,
                        true,
                        None,
                    )
                    .await?;
                str_at(&r.body, "/pool/healthmonitor_id").map(|id| json!({ "id": id }))
            }
            Find::Floatingip { port, description } => {
                let r = list(
                    Service::Neutron,
                    &["floatingips"],
                    vec![("port_id", (*port).to_owned())],
                )
                .await?;
                items(&r, "floatingips")
                    .into_iter()
                    .find(|f| str_at(f, "/description") == Some(description))
            }
        })
    }

    /// `POST /v2/lbaas/<collection>` of one child of the load balancer.
    pub(super) async fn create_child(
        &self,
        kind: &'static str,
        collection: &'static str,
        body: Value,
        find: Find<'_>,
    ) -> Result<Value> {
        let body = json!({ kind: body });
        let r = self
            .create(Service::Octavia, &["lbaas", collection], &body, find)
            .await?;
        Ok(r.body.get(kind).cloned().unwrap_or(Value::Null))
    }
}
